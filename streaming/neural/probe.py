"""How many bits of the input does a state hold? A linear probe per input bit, and its capacity estimate.

From the probe's per-bit test error e_i, C = sum_i (1 - H(e_i)) bits: by Fano on each bit this lower-bounds the
information the state holds about x under the uniform distribution (an error above 1/2 counts as 1/2). Numpy
only, so it probes any state: an RNN's, a budgeted algorithm's, or a synthetic one.
"""
from __future__ import annotations

import numpy as np

from commcomplexity.info import binary_entropy


def _design(states: np.ndarray) -> np.ndarray:
    states = np.asarray(states, dtype=np.float64)
    return np.concatenate([states, np.ones((states.shape[0], 1))], axis=1)


def fit_probe(states, bits, ridge: float = 1e-3) -> np.ndarray:
    """Least-squares linear probes (one column per input bit) from states (N x D) to bits (N x m)."""
    a = _design(states)
    y = np.asarray(bits, dtype=np.float64)
    if a.shape[0] != y.shape[0]:
        raise ValueError("states and bits need the same number of rows")
    scale = np.maximum(np.abs(a).max(axis=0), 1e-12)
    a = a / scale
    rows, cols = a.shape
    if cols <= rows:  # primal ridge: (A'A + lambda N I) w = A'y
        w = np.linalg.solve(a.T @ a + ridge * rows * np.eye(cols), a.T @ y)
    else:  # more coordinates than states (a KV cache): the same ridge solution in its dual form
        w = a.T @ np.linalg.solve(a @ a.T + ridge * rows * np.eye(rows), y)
    return w / scale[:, None]


def probe_errors(weights: np.ndarray, states, bits) -> np.ndarray:
    """Per-bit error rate of the probes on held-out states."""
    predicted = (_design(states) @ weights) >= 0.5
    return np.mean(predicted != np.asarray(bits, dtype=bool), axis=0)


def capacity(errors) -> float:
    """C = sum_i (1 - H(min(e_i, 1/2))) bits."""
    e = np.minimum(np.asarray(errors, dtype=np.float64), 0.5)
    return float(np.sum(1.0 - binary_entropy(e)))


def probe_capacity(train_states, train_bits, test_states, test_bits, ridge: float = 1e-3):
    """(capacity in bits, per-bit errors) of linear probes fitted on one set of states and tested on another."""
    w = fit_probe(train_states, train_bits, ridge)
    errors = probe_errors(w, test_states, test_bits)
    return capacity(errors), errors
