"""Binary entropy, its inverse on [0, 1/2], and Fano's inequality for larger alphabets.

All functions are vectorised over numpy arrays and accurate to about 1e-12.
"""
from __future__ import annotations

import numpy as np

_LN2 = np.log(2.0)


def binary_entropy(p):
    """H(p) = -p log2 p - (1-p) log2 (1-p), with H(0) = H(1) = 0."""
    p = np.asarray(p, dtype=float)
    if np.any((p < 0) | (p > 1)):
        raise ValueError(f"binary_entropy needs probabilities in [0, 1], got {p!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(p * np.log2(p) + (1 - p) * np.log2(1 - p))
    h = np.where((p == 0) | (p == 1), 0.0, h)
    return h if h.ndim else float(h)


def inverse_binary_entropy(y, tol: float = 1e-13):
    """The p in [0, 1/2] with H(p) = y, for y in [0, 1], by vectorised bisection to `tol`."""
    y = np.asarray(y, dtype=float)
    if np.any((y < -1e-15) | (y > 1 + 1e-15)):
        raise ValueError(f"inverse_binary_entropy needs values in [0, 1], got {y!r}")
    y = np.clip(y, 0.0, 1.0)
    lo = np.zeros_like(y)
    hi = np.full_like(y, 0.5)
    # H is increasing on [0, 1/2]; 60 halvings take the bracket below 1e-18.
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        below = binary_entropy(mid) < y
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
        if np.all(hi - lo < tol):
            break
    p = 0.5 * (lo + hi)
    p = np.where(y == 0, 0.0, np.where(y == 1, 0.5, p))
    return p if p.ndim else float(p)


def fano_entropy(d, alphabet: int):
    """The right side of Fano for an alphabet of size V: H(d) + d log2(V - 1)."""
    if alphabet < 2:
        raise ValueError(f"alphabet must be at least 2, got {alphabet}")
    d = np.asarray(d, dtype=float)
    return binary_entropy(d) + d * np.log2(alphabet - 1)


def fano_min_error(residual_bits, alphabet: int = 2, tol: float = 1e-13):
    """Smallest average error d allowed by Fano when each symbol keeps `residual_bits` bits of uncertainty.

    Solves H(d) + d log2(V-1) = residual for d in [0, 1 - 1/V] (the left side increases there).
    """
    r = np.asarray(residual_bits, dtype=float)
    top = 1.0 - 1.0 / alphabet
    r = np.clip(r, 0.0, np.log2(alphabet))
    lo = np.zeros_like(r)
    hi = np.full_like(r, top)
    for _ in range(64):
        mid = 0.5 * (lo + hi)
        below = fano_entropy(mid, alphabet) < r
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
        if np.all(hi - lo < tol):
            break
    d = np.where(r <= 0, 0.0, 0.5 * (lo + hi))
    return d if d.ndim else float(d)
