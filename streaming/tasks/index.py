"""Index: n bits x_1..x_n, then a query position k; the answer is x_k.

Stream: ``<s> x_1 ... x_n k`` (length n + 2); Alice holds positions 0..n, Bob the query at position n + 1.
Distributions: ``uniform`` (the hard one: x uniform, k uniform) and ``biased`` (x_i i.i.d. Bernoulli(bias)).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from commcomplexity.bounds import index_bounds
from commcomplexity.info import binary_entropy

from ..rng import draw, uniform_below, unit
from ..tokens import BOS, NUM0
from .base import Batch, Task, check_seed, empty_tokens

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


def encode(x, k) -> np.ndarray:
    """Streams for explicit instances: x (trials x n bits) and k (trials,) in 1..n."""
    x = np.atleast_2d(np.asarray(x))
    k = np.atleast_1d(np.asarray(k))
    trials, n = x.shape
    if k.shape != (trials,) or np.any((k < 1) | (k > n)):
        raise ValueError("k must hold one query in 1..n per instance")
    if np.any((x != 0) & (x != 1)):
        raise ValueError("x must be bits")
    tokens = np.empty((trials, n + 2), dtype=np.int32)
    tokens[:, 0] = BOS
    tokens[:, 1 : n + 1] = NUM0 + x
    tokens[:, n + 1] = NUM0 + k
    return tokens


def solve(tokens: np.ndarray) -> np.ndarray:
    """Reference answers read off the streams: x_k."""
    tokens = np.atleast_2d(tokens)
    k = tokens[:, -1] - NUM0
    return (tokens[np.arange(tokens.shape[0]), k] - NUM0).astype(np.int64)


class IndexTask(Task):
    name = "index"
    distributions = ("uniform", "biased")
    default_distribution = "uniform"

    def __init__(self, n: int, distribution: str = "uniform", bias: float = 0.25):
        super().__init__(n, distribution)
        if not 0.0 < bias < 1.0:
            raise ValueError(f"bias must lie strictly between 0 and 1, got {bias!r}")
        self.bias = float(bias)

    @property
    def length(self) -> int:
        return self.n + 2

    @property
    def cut(self) -> int:
        return self.n + 1

    @property
    def vocab(self) -> int:
        return self.n + 1

    @property
    def index_size(self) -> int:
        return self.n

    def label(self) -> str:
        return "uniform" if self.distribution == "uniform" else f"biased:{self.bias:g}"

    def batch(self, seed: int, start: int, count: int) -> Batch:
        seed = check_seed(seed)
        tokens = empty_tokens(count, self.length)
        answers = np.empty(count, dtype=np.int64)
        bias = -1.0 if self.distribution == "uniform" else self.bias
        _fill(tokens, answers, np.uint64(seed), np.int64(start), self.n, bias)
        return Batch(start=start, tokens=tokens, answers=answers, cut=self.cut)

    def bounds(self, budgets) -> dict:
        h = 1.0 if self.distribution == "uniform" else float(binary_entropy(self.bias))
        return index_bounds(self.n, budgets, entropy_per_bit=h)
