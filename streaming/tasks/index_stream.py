"""Uniform (and biased) Index streams drawn inside numba from a counter-based hash of (seed, trial, position), so
the bytes are the same for any thread count and chunking. Every hard distribution is built from these."""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..rng import draw, uniform_below, unit
from ..tokens import BOS, NUM0

SALT_X, SALT_K = 1, 2


@njit(cache=True, parallel=True)
def _fill(tokens, answers, seed, start, n, bias):
    for i in prange(tokens.shape[0]):
        trial = start + i
        tokens[i, 0] = BOS
        for j in range(n):
            if bias < 0:
                bit = np.int32(draw(seed, trial, j, SALT_X) & np.uint64(1))
            else:
                bit = np.int32(unit(seed, trial, j, SALT_X) < bias)
            tokens[i, 1 + j] = NUM0 + bit
        k = uniform_below(seed, trial, 0, SALT_K, n) + 1
        tokens[i, n + 1] = NUM0 + k
        answers[i] = tokens[i, k] - NUM0


def index_tokens(seed: int, start: int, count: int, m: int, bias: float = -1.0):
    """Index streams `<s> x_1 .. x_m k` (int32, count x (m + 2)) and their answers x_k; bias < 0: uniform bits."""
    tokens = np.empty((count, m + 2), dtype=np.int32)
    answers = np.empty(count, dtype=np.int64)
    _fill(tokens, answers, np.uint64(seed), np.int64(start), m, float(bias))
    return tokens, answers


def index_streams(seed: int, start: int, count: int, m: int):
    """Uniform Index instances (x: count x m bits, k: count queries in 1..m), the same draws as index_tokens."""
    tokens, _ = index_tokens(seed, start, count, m)
    return tokens[:, 1 : m + 1] - NUM0, tokens[:, m + 1] - NUM0
