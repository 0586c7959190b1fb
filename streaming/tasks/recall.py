"""Associative recall: n tokens of key-value pairs, then a query key; the answer is the key's value.

Keys are the numbers 1..K and values the numbers K+1..K+V (disjoint, so "the token after q" is unambiguous).
- ``hard``: the Index reduction: keys 1..m in order (m = n/2), binary values x_i + m + 1, query k;
- ``natural``: m distinct random keys from 1..K (K >= m), i.i.d. values from V, query a random stored key.
"""
from __future__ import annotations

import numpy as np

from commcomplexity import reductions as red

from ..tokens import BOS, NUM0
from .base import Batch, Task, value_bounds


class RecallTask(Task):
    name = "recall"
    distributions = ("hard", "natural")
    default_distribution = "hard"

    def __init__(self, n: int, distribution: str = "hard", keys: int | None = None, values: int = 4):
        super().__init__(n, distribution)
        if self.n < 2:
            raise ValueError(f"associative recall needs n >= 2 tokens (one pair), got {self.n}")
        self.pairs = self.n // 2
        self.keys = int(keys) if keys is not None else self.pairs
        self.values = int(values)
        if distribution == "natural":
            if self.keys < self.pairs:
                raise ValueError(f"the key alphabet ({self.keys}) is smaller than the number of pairs ({self.pairs})")
            if self.values < 2:
                raise ValueError(f"the value alphabet needs at least 2 values, got {self.values}")

    @property
    def length(self) -> int:
        return 2 * self.pairs + 2

    @property
    def cut(self) -> int:
        return 2 * self.pairs + 1

    @property
    def vocab(self) -> int:
        return (2 * self.pairs + 3) if self.distribution == "hard" else self.keys + self.values + 1

    @property
    def index_size(self) -> int:
        return self.pairs

    def label(self) -> str:
        return "hard" if self.distribution == "hard" else f"natural:K={self.keys},V={self.values}"

    def batch(self, seed: int, start: int, count: int) -> Batch:
        if self.distribution == "hard":
            return self.hard_batch(seed, start, count, red.index_to_recall)
        return self.generated_batch(seed, start, count, self._draw)

    def _draw(self, rng):
        keys = rng.choice(self.keys, size=self.pairs, replace=False) + 1
        vals = rng.integers(0, self.values, size=self.pairs) + self.keys + 1
        tokens = np.empty(self.length, dtype=np.int32)
        tokens[0] = BOS
        tokens[1 : 2 * self.pairs + 1 : 2] = NUM0 + keys
        tokens[2 : 2 * self.pairs + 2 : 2] = NUM0 + vals
        q = int(rng.integers(self.pairs))
        tokens[-1] = NUM0 + keys[q]
        return tokens, int(vals[q])

    @property
    def chance(self) -> float:
        return 0.5 if self.distribution == "hard" else 1.0 / self.values

    def bounds(self, budgets) -> dict:
        return value_bounds(self.distribution, self.pairs, budgets, self.values)
