"""c-gram retrieval: blocks of a (c-1)-gram key and a value, then a query (c-1)-gram; the answer is the value.

- ``hard``: the Index reduction: block i is i repeated c-1 times then x_i + m + 1 (m = n // c); query k repeated;
- ``natural``: m distinct random (c-1)-grams over 1..K, values K+1..K+V, query a stored (c-1)-gram.
"""
from __future__ import annotations

import numpy as np

from commcomplexity import reductions as red

from ..tokens import BOS, NUM0
from .base import Batch, Task, value_bounds


class CgramTask(Task):
    name = "cgram"
    distributions = ("hard", "natural")
    default_distribution = "hard"

    def __init__(self, n: int, distribution: str = "hard", c: int = 3, keys: int = 8, values: int = 4):
        super().__init__(n, distribution)
        if int(c) != c or c < 2:
            raise ValueError(f"c must be an integer >= 2, got {c!r}")
        self.c = int(c)
        if self.n < self.c:
            raise ValueError(f"c-gram retrieval needs n >= c tokens, got n = {self.n}, c = {self.c}")
        self.blocks = self.n // self.c
        self.keys, self.values = int(keys), int(values)
        if distribution == "natural":
            if self.keys ** (self.c - 1) < self.blocks:
                raise ValueError(f"{self.keys}^{self.c - 1} distinct keys cannot fill {self.blocks} blocks")
            if self.values < 2:
                raise ValueError(f"the value alphabet needs at least 2 values, got {self.values}")

    @property
    def length(self) -> int:
        return 1 + self.c * self.blocks + self.c - 1

    @property
    def cut(self) -> int:
        return 1 + self.c * self.blocks

    @property
    def vocab(self) -> int:
        return (2 * self.blocks + 3) if self.distribution == "hard" else self.keys + self.values + 1

    @property
    def index_size(self) -> int:
        return self.blocks

    def label(self) -> str:
        base = f"hard:c={self.c}" if self.distribution == "hard" else \
            f"natural:c={self.c},K={self.keys},V={self.values}"
        return base

    def batch(self, seed: int, start: int, count: int) -> Batch:
        if self.distribution == "hard":
            return self.hard_batch(seed, start, count, lambda x, k: red.index_to_cgram(x, k, self.c))
        return self.generated_batch(seed, start, count, self._draw)

    def _draw(self, rng):
        grams = set()
        while len(grams) < self.blocks:
            grams.add(tuple(int(v) for v in rng.integers(1, self.keys + 1, size=self.c - 1)))
        grams = list(grams)
        order = rng.permutation(len(grams))
        grams = [grams[i] for i in order]
        vals = rng.integers(0, self.values, size=self.blocks) + self.keys + 1
        tokens = np.empty(self.length, dtype=np.int32)
        tokens[0] = BOS
        pos = 1
        for g, v in zip(grams, vals):
            tokens[pos : pos + self.c - 1] = NUM0 + np.array(g)
            tokens[pos + self.c - 1] = NUM0 + v
            pos += self.c
        q = int(rng.integers(self.blocks))
        tokens[pos:] = NUM0 + np.array(grams[q])
        return tokens, int(vals[q])

    @property
    def chance(self) -> float:
        return 0.5 if self.distribution == "hard" else 1.0 / self.values

    def bounds(self, budgets) -> dict:
        return value_bounds(self.distribution, self.blocks, budgets, self.values)
