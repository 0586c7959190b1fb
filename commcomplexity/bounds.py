"""Exact success bounds for one-way protocols (so for streaming algorithms and RNN states) with b bits.

Index on m uniform bits with a uniform query is the core; every other task inherits these bounds through its
reduction with its own m. All functions are vectorised over b and work in log space, so m = 10^6 is fine.

Three curves, from the top:
- ``fano_success``: 1 - H^{-1}(1 - b/m), Fano on each bit plus concavity of H (PAPER.md).
- ``sphere_success``: the sphere-covering bound. With N = 2^(m-b) inputs per state on average, a state's best
  answers are right no more often than for a Hamming ball of N points, so success <= 1 - f(N)/(m N) with
  f(N) = sum_{j<r*} j C(m,j) + r* (N - V(m, r*-1)). Exact for every finite m and never above Fano.
- ``random_code_success``: some b-bit protocol reaches 1 - E[distance to the nearest of 2^b random words]/m.
  The true optimum lies between it and the sphere bound.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.special import gammaln

from .info import binary_entropy, fano_min_error, inverse_binary_entropy

_LN2 = float(np.log(2.0))


def _check_m(m) -> int:
    if int(m) != m or m < 1:
        raise ValueError(f"the Index size m must be a positive integer, got {m!r}")
    return int(m)


def _bits(b) -> np.ndarray:
    arr = np.asarray(b, dtype=float)
    if np.any(arr < 0):
        raise ValueError(f"budgets must be non-negative, got {b!r}")
    return arr


def _shape_like(values: np.ndarray, b):
    return values if np.ndim(b) else float(values.reshape(-1)[0])


@lru_cache(maxsize=16)
def _log_tables(m: int):
    """ln C(m, j), ln V(m, r) = ln sum_{j<=r} C(m, j) and ln U(m, r) = ln sum_{j>=r} C(m, j), j, r = 0..m."""
    j = np.arange(m + 1, dtype=float)
    log_c = gammaln(m + 1.0) - gammaln(j + 1.0) - gammaln(m - j + 1.0)
    log_v = np.logaddexp.accumulate(log_c)
    log_u = np.logaddexp.accumulate(log_c[::-1])[::-1]
    for arr in (log_c, log_v, log_u):
        arr.setflags(write=False)
    return log_c, log_v, log_u


def fano_success(m, b, entropy_per_bit: float = 1.0):
    """Highest average success of any b-bit one-way protocol for Index on m bits, by Fano.

    ``entropy_per_bit`` is H(q) for i.i.d. Bernoulli(q) bits (1 for the uniform, hard distribution).
    """
    m = _check_m(m)
    bb = _bits(b)
    residual = np.clip(entropy_per_bit - bb / m, 0.0, 1.0)
    out = 1.0 - np.asarray(inverse_binary_entropy(residual))
    return _shape_like(np.asarray(out, dtype=float), b)


def fano_bits(m, success, entropy_per_bit: float = 1.0):
    """Fewest bits Fano allows for average success p: ceil(m (h - H(1 - p))), and 0 for p <= max guess."""
    m = _check_m(m)
    p = np.asarray(success, dtype=float)
    if np.any((p < 0) | (p > 1)):
        raise ValueError(f"success must lie in [0, 1], got {success!r}")
    need = m * (entropy_per_bit - np.asarray(binary_entropy(np.minimum(1 - p, 0.5))))
    out = np.ceil(np.maximum(need, 0.0) - 1e-9).astype(int)
    return out if out.ndim else int(out)


def fano_alphabet_success(m, b, alphabet: int):
    """Fano for m uniform values from an alphabet of size V: log2 V - b/m <= H(d) + d log2(V - 1)."""
    m = _check_m(m)
    bb = _bits(b)
    d = np.asarray(fano_min_error(np.log2(alphabet) - bb / m, alphabet))
    return _shape_like(1.0 - d, b)


def sphere_success(m, b):
    """The sphere-covering bound on the average success of any b-bit protocol for Index on m bits."""
    m = _check_m(m)
    bb = np.atleast_1d(_bits(b))
    _, log_v, _ = _log_tables(m)
    _, log_v1, _ = _log_tables(m - 1) if m > 1 else (None, np.array([0.0]), None)
    out = np.ones(bb.shape, dtype=float)
    for i, bi in enumerate(bb):
        if bi >= m:
            continue
        if bi == 0:  # one cell holding every input: each query answered by its majority, exactly 1/2
            out[i] = 0.5
            continue
        log_n = (m - bi) * _LN2
        # r* = min{r : V(m, r) >= N}; rounding at an exact tie picks r*+1, which gives the same f(N).
        r = int(np.searchsorted(log_v, log_n - 1e-12 * max(1.0, log_n)))
        r = min(r, m)
        a = np.exp(log_v1[r - 2] - log_n) if r >= 2 else 0.0  # m V(m-1, r-2) / (m N)
        v = np.exp(log_v[r - 1] - log_n) if r >= 1 else 0.0  # V(m, r-1) / N
        out[i] = 1.0 - a - r * (1.0 - v) / m
    return _shape_like(out, b)


def random_code_success(m, b):
    """Success some b-bit protocol reaches: nearest of 2^b random words, 1 - E[distance]/m (exact expectation)."""
    m = _check_m(m)
    bb = np.atleast_1d(_bits(b))
    _, log_v, log_u = _log_tables(m)
    r = np.arange(1, m + 1)
    log_q = log_v[r - 1] - m * _LN2  # P(a random word lies within distance r-1)
    q = np.exp(log_q)
    # ln(-ln(1 - q)): from ln q when q is small (q may underflow), else from the upper tail without cancellation.
    small = q < 1e-3
    ratio = np.where(q > 0, -np.log1p(-np.where(small, q, 0.0)) / np.where(q > 0, q, 1.0), 1.0)
    with np.errstate(divide="ignore"):
        big = np.log(np.maximum(m * _LN2 - log_u[r], 1e-300))
    ln_neg_log_tail = np.where(small, log_q + np.log(np.where(small, ratio, 1.0)), big)
    out = np.ones(bb.shape, dtype=float)
    for i, bi in enumerate(bb):
        if bi >= m:
            continue
        if bi == 0:  # one random word: every bit right with probability 1/2, exactly
            out[i] = 0.5
            continue
        expo = np.clip(bi * _LN2 + ln_neg_log_tail, -745.0, 700.0)
        tail = np.exp(-np.exp(expo))  # P(distance >= r) = (1 - q_r)^(2^b)
        out[i] = 1.0 - tail.sum() / m
    return _shape_like(out, b)


def index_bounds(m, b, entropy_per_bit: float = 1.0) -> dict:
    """All bounds for Index on m bits at budgets b: the upper bounds and the tightest one, plus achievability.

    For the uniform distribution: fano, sphere, bound = min of them, achievable = random_code_success.
    For biased bits (entropy_per_bit < 1) only Fano applies; achievable is not computed (NaN).
    """
    fano = np.asarray(fano_success(m, b, entropy_per_bit), dtype=float)
    if entropy_per_bit >= 1.0:
        sphere = np.asarray(sphere_success(m, b), dtype=float)
        achievable = np.asarray(random_code_success(m, b), dtype=float)
    else:
        sphere = np.full_like(fano, np.nan)
        achievable = np.full_like(fano, np.nan)
    bound = np.fmin(fano, sphere)
    return {"bound": bound, "fano": fano, "sphere": sphere, "achievable": achievable}


def fewest_bits(curve, m, success) -> int:
    """Fewest integer b >= 0 with curve(m, b) >= success, for a curve that increases in b and reaches 1.

    The search starts at [0, m] and doubles its top while the curve is still short of the target there: Index's
    curves reach 1 at b = m, but others (the IsTree permutation bound) need more than m bits."""
    m = _check_m(m)
    if not 0.0 <= success <= 1.0:
        raise ValueError(f"success must lie in [0, 1], got {success!r}")
    if curve(m, 0) >= success:
        return 0
    lo, hi = 0, m
    while curve(m, hi) < success - 1e-12:
        lo, hi = hi, 2 * hi
        if hi > 1 << 50:
            raise ValueError(f"no budget up to 2^50 bits reaches success {success}")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if curve(m, mid) >= success - 1e-12:
            hi = mid
        else:
            lo = mid
    return hi


def permutation_success(n: int, b):
    """IsTree on the permutation distribution (N = 2n): success <= 1 - H^{-1}((log2 n! - b) / (n L)), L the
    bits per value (Fano over the n L queried bits of a uniform permutation of [n])."""
    if int(n) != n or n < 2:
        raise ValueError(f"the permutation size n must be an integer >= 2, got {n!r}")
    bb = _bits(b)
    width = max(1, int(n - 1).bit_length())
    log_fact = float(gammaln(n + 1.0)) / _LN2
    residual = np.clip((log_fact - bb) / (n * width), 0.0, 1.0)
    out = 1.0 - np.asarray(inverse_binary_entropy(residual))
    return _shape_like(np.asarray(out, dtype=float), b)
