"""c-gram retrieval: blocks of a (c-1)-gram key and a value, then a query (c-1)-gram; the answer is the value.

- ``hard``: the Index reduction: block i is i repeated c-1 times then v_i = x_i + m + 1 (m = n // c); the query
  is k repeated c-1 times; the answer v_k;
- ``natural``: m distinct random (c-1)-grams over 1..K, values K+1..K+V, query a stored (c-1)-gram.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numba import njit

from ..environment import number
from ..tokens import BOS, NUM0
from .base import MAX_OPTION, Task, check_instances, option, value_bounds


@njit(cache=True)
def translate_grams(state, token, t, params):
    m, c = params[2], params[3]
    if 1 <= t <= c * m and t % c == 0:
        return t // c, NUM0 + (token - NUM0 - m - 1)
    if t == c * m + 1:
        return m + 1, token
    return -1, 0


@dataclass(frozen=True)
class CgramTask(Task):
    c: int = option(3, short="c", help="the gram length c (default 3)")
    keys: int = option(8, short="K", used_by=("natural",), help="key alphabet size K (default 8)")
    values: int = option(4, short="V", used_by=("natural",), help="value alphabet size V (default 4)")

    name: ClassVar[str] = "cgram"
    distributions: ClassVar[tuple] = ("hard", "natural")
    key_value: ClassVar[bool] = True
    translate: ClassVar = staticmethod(translate_grams)
    trace_formats: ClassVar[tuple] = ("retrieval",)

    def search_pattern(self, words):
        """`q_1 .. q_(c-1)`: the token after that (c-1)-gram (Theorem 5.2; keys and values are disjoint)."""
        keys = [number(w, 0, MAX_OPTION) for w in words]
        if len(keys) != self.c - 1 or None in keys:
            return None
        return rf"(?<!\S){' '.join(map(str, keys))} (\S+)", "input"

    def validate(self) -> None:
        if self.c < 2:
            raise ValueError(f"c must be an integer >= 2, got {self.c!r}")
        if self.keys < 1 or self.values < 2:
            raise ValueError(f"the key alphabet needs at least 1 key and the value alphabet 2 values, got "
                             f"K = {self.keys}, V = {self.values}")
        if self.n < self.c:
            raise ValueError(f"c-gram retrieval needs n >= c tokens, got n = {self.n}, c = {self.c}")
        if self.distribution == "natural":
            if self.keys ** (self.c - 1) < self.blocks:
                raise ValueError(f"{self.keys}^{self.c - 1} distinct keys cannot fill {self.blocks} blocks")
            if self.values < 2:
                raise ValueError(f"the value alphabet needs at least 2 values, got {self.values}")

    @property
    def kv_block(self) -> int:
        return self.c

    @property
    def blocks(self) -> int:
        return self.n // self.c

    @property
    def kv_blocks(self) -> int:
        return self.blocks

    @property
    def length(self) -> int:
        return 1 + self.c * self.blocks + self.c - 1

    @property
    def cut(self) -> int:
        return 1 + self.c * self.blocks

    @property
    def vocab(self) -> int:
        return (2 * self.blocks + 3) if self.hard else self.keys + self.values + 1

    @property
    def index_size(self) -> int:
        return self.blocks

    @classmethod
    def size_for(cls, m: int, c: int = 3, **options) -> int:
        return c * m

    @property
    def adapter_aux(self) -> int:
        return self.c

    def reduce(self, x, k):
        x, k, trials, m = check_instances(x, k)
        c = self.c
        tokens = np.empty((trials, 1 + c * m + (c - 1)), dtype=np.int32)
        tokens[:, 0] = BOS
        body = np.empty((trials, m, c), dtype=np.int32)
        body[:, :, : c - 1] = (NUM0 + np.arange(1, m + 1))[None, :, None]
        body[:, :, c - 1] = NUM0 + x + m + 1
        tokens[:, 1 : 1 + c * m] = body.reshape(trials, c * m)
        tokens[:, 1 + c * m :] = (NUM0 + k)[:, None]
        return tokens, x[np.arange(trials), k - 1] + m + 1, 1 + c * m

    @staticmethod
    def answer_value(bit, m):
        return bit + m + 1

    def generate(self, seed, start, count):
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
        return 0.5 if self.hard else 1.0 / self.values

    def bounds(self, budgets) -> dict:
        return value_bounds(self, self.blocks, budgets, self.values)
