"""The one-way view at small sizes: exact success by enumeration, and optimal protocols.

A b-bit one-way protocol for Index on m bits is a partition of {0,1}^m into 2^b cells (Alice sends her cell);
Bob answers query k by the majority of bit k in the cell. The best such partition is an optimal Hamming
k-median of the cube with K = 2^b centres: success = 1 - (total distance to the nearest centre) / (m 2^m).
We solve it exactly as an integer program with scipy's HiGHS, in the radius form: z[a, r] = 1 when some open
centre lies within distance r of a, so dist(a) = sum_{r < m} (1 - z[a, r]) and z[a, r] <= sum_{d(a,c) <= r} y[c].
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix, vstack


def cube(m: int) -> np.ndarray:
    """All 2^m words as rows of bits (word v has bit i = (v >> i) & 1)."""
    v = np.arange(1 << m)
    return ((v[:, None] >> np.arange(m)) & 1).astype(np.int8)


def hamming_table(m: int) -> np.ndarray:
    v = np.arange(1 << m, dtype=np.int64)
    x = v[:, None] ^ v[None, :]
    count = np.zeros_like(x)
    for i in range(m):
        count += (x >> i) & 1
    return count


def success_of_centres(m: int, centres) -> float:
    """1 - mean distance to the nearest centre / m, for every word of the cube."""
    d = hamming_table(m)[:, np.asarray(centres, dtype=np.int64)]
    return 1.0 - d.min(axis=1).sum() / (m * (1 << m))


@dataclass(frozen=True)
class Optimum:
    m: int
    bits: int
    success: float
    status: str  # 'optimal', 'time limit (best found)', 'local search (lower estimate)', 'trivial'
    centres: tuple
    seconds: float
    upper: float = float("nan")  # a proven upper bound on the optimum (= success when optimal)

    @property
    def proven(self) -> bool:
        return self.status in ("optimal", "trivial")


def optimal_protocol(m: int, bits: int, time_limit: float = 60.0) -> Optimum:
    """The best b-bit one-way protocol for Index on m bits, by the k-median integer program."""
    if m < 1 or bits < 0:
        raise ValueError(f"need m >= 1 and bits >= 0, got m = {m}, bits = {bits}")
    t0 = time.perf_counter()
    size = 1 << m
    k = 1 << bits if bits < 62 else size
    if k >= size:
        return Optimum(m, bits, 1.0, "trivial", tuple(range(size)), time.perf_counter() - t0, 1.0)
    if bits == 0:
        # one cell: every query answered by its majority; any word is a median of the whole cube
        return Optimum(m, bits, 0.5, "trivial", (0,), time.perf_counter() - t0, 0.5)
    dist = hamming_table(m)
    # variables: y[c] (size), z[a, r] (size * m), r = 0..m-1
    ny, nz = size, size * m
    cost = np.concatenate([np.zeros(ny), -np.ones(nz)])  # minimise sum (1 - z) = size*m - sum z
    rows, cols, vals = [], [], []
    row = 0
    for a in range(size):
        for r in range(m):
            ball = np.flatnonzero(dist[a] <= r)
            rows.extend([row] * (len(ball) + 1))
            cols.extend(ball.tolist() + [ny + a * m + r])
            vals.extend([-1.0] * len(ball) + [1.0])
            row += 1
    cover = coo_matrix((vals, (rows, cols)), shape=(row, ny + nz))
    count = coo_matrix((np.ones(ny), (np.zeros(ny), np.arange(ny))), shape=(1, ny + nz))
    # symmetry: the cube is vertex-transitive, so some optimal centre set contains word 0
    fix = coo_matrix(([1.0], ([0], [0])), shape=(1, ny + nz))
    a_mat = vstack([cover, count, fix]).tocsr()
    lower = np.concatenate([np.full(row, -np.inf), [k], [1.0]])
    upper = np.concatenate([np.zeros(row), [k], [1.0]])
    integrality = np.concatenate([np.ones(ny), np.zeros(nz)])
    res = milp(cost, constraints=LinearConstraint(a_mat, lower, upper), integrality=integrality,
               bounds=Bounds(0, 1), options={"time_limit": float(time_limit), "disp": False})
    seconds = time.perf_counter() - t0
    if res.x is None:
        local = local_search(m, bits, seed=0)
        return Optimum(m, bits, local.success, "local search (lower estimate)", local.centres, seconds)
    centres = tuple(int(c) for c in np.flatnonzero(res.x[:ny] > 0.5))
    success = success_of_centres(m, centres)
    status = "optimal" if res.status == 0 else "time limit (best found)"
    if res.status != 0:  # the solver's incumbent can be poor: keep the better of it and a local search
        local = local_search(m, bits, seed=0)
        if local.success > success:
            success, centres = local.success, local.centres
    dual = getattr(res, "mip_dual_bound", None)
    upper = success if res.status == 0 else (
        1.0 - (size * m + dual) / (m * size) if dual is not None and np.isfinite(dual) else float("nan"))
    return Optimum(m, bits, success, status, centres, seconds, upper)


def local_search(m: int, bits: int, seed: int = 0, restarts: int = 20) -> Optimum:
    """Lloyd-style k-median on the cube (assign to nearest, move each centre to its cell's majority word):
    a LOWER estimate of the optimum, never a proof."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    size = 1 << m
    k = min(1 << bits, size)
    words = cube(m)
    dist = hamming_table(m)
    best, best_centres = -1.0, ()
    for _ in range(restarts):
        centres = rng.choice(size, size=k, replace=False)
        for _ in range(100):
            assign = dist[:, centres].argmin(axis=1)
            new = centres.copy()
            for j in range(k):
                members = words[assign == j]
                if len(members):
                    maj = (2 * members.sum(0) >= len(members)).astype(np.int64)
                    new[j] = int((maj << np.arange(m)).sum())
            if np.array_equal(np.sort(new), np.sort(centres)):
                break
            centres = new
        s = success_of_centres(m, centres)
        if s > best:
            best, best_centres = s, tuple(int(c) for c in np.unique(centres))
    return Optimum(m, bits, best, "local search (lower estimate)", best_centres, time.perf_counter() - t0)


def _partitions(items):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for smaller in _partitions(rest):
        for i in range(len(smaller)):
            yield smaller[:i] + [[first] + smaller[i]] + smaller[i + 1:]
        yield [[first]] + smaller


def brute_force_optimum(m: int, bits: int) -> Fraction:
    """The best success over every partition of the cube into at most 2^b cells (m <= 3: Bell(8) = 4140)."""
    if m > 3:
        raise ValueError("brute force over partitions is for m <= 3")
    words = cube(m)
    best = Fraction(0)
    for part in _partitions(list(range(1 << m))):
        if len(part) > (1 << bits):
            continue
        right = 0
        for cell in part:
            ones = words[cell].sum(axis=0)
            right += int(np.maximum(ones, len(cell) - ones).sum())
        best = max(best, Fraction(right, m * (1 << m)))
    return best
