"""Counting: n tokens, a query q and a threshold t; the answer is 1 iff q occurs more than t times.

Stream: `<s> a_1 .. a_n q t`.
- ``hard``: the Index reduction: a_j = j if x_j = 1 else 0, q = k, t = 0 (PAPER.md's fix: t = 0, not 1);
- ``natural``: a_j uniform over 1..A (default A = n/4), q uniform over 1..A, threshold t (default n/A - 1, so
  that about half the queries are above it).
"""
from __future__ import annotations

import numpy as np

from commcomplexity import reductions as red
from commcomplexity.bounds import index_bounds

from ..tokens import BOS, NUM0
from .base import Batch, Task


class CountingTask(Task):
    name = "counting"
    distributions = ("hard", "natural")
    default_distribution = "hard"

    def __init__(self, n: int, distribution: str = "hard", alphabet: int | None = None,
                 threshold: int | None = None):
        super().__init__(n, distribution)
        self.alphabet = int(alphabet) if alphabet is not None else max(2, self.n // 4)
        if self.alphabet < 1:
            raise ValueError(f"the alphabet needs at least one symbol, got {alphabet}")
        self.threshold = int(threshold) if threshold is not None else max(0, self.n // self.alphabet - 1)
        if self.threshold < 0:
            raise ValueError(f"the threshold t must be >= 0, got {threshold}")

    @property
    def length(self) -> int:
        return self.n + 3

    @property
    def cut(self) -> int:
        return self.n + 1

    @property
    def vocab(self) -> int:
        return self.n + 1 if self.distribution == "hard" else max(self.alphabet, self.threshold) + 1

    @property
    def index_size(self) -> int:
        return self.n

    def label(self) -> str:
        return "hard" if self.distribution == "hard" else f"natural:A={self.alphabet},t={self.threshold}"

    def batch(self, seed: int, start: int, count: int) -> Batch:
        if self.distribution == "hard":
            return self.hard_batch(seed, start, count, red.index_to_counting)
        return self.generated_batch(seed, start, count, self._draw)

    def _draw(self, rng):
        a = rng.integers(1, self.alphabet + 1, size=self.n)
        q = int(rng.integers(1, self.alphabet + 1))
        tokens = np.empty(self.length, dtype=np.int32)
        tokens[0] = BOS
        tokens[1 : self.n + 1] = NUM0 + a
        tokens[self.n + 1] = NUM0 + q
        tokens[self.n + 2] = NUM0 + self.threshold
        return tokens, int(np.count_nonzero(a == q) > self.threshold)

    def bounds(self, budgets) -> dict:
        b = np.atleast_1d(np.asarray(budgets, dtype=float))
        if self.distribution == "hard":
            return index_bounds(self.n, b)
        nan = np.full(b.shape, np.nan)
        return {"bound": nan, "fano": nan, "sphere": nan, "achievable": nan}
