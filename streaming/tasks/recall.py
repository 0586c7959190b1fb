"""Associative recall: n tokens of key-value pairs, then a query key; the answer is the key's value.

Keys are the numbers 1..K and values the numbers K+1..K+V (disjoint, so "the token after q" is unambiguous).
- ``hard``: the Index reduction: `<s> 1 v_1 2 v_2 ... m v_m  k` with m = n/2 and v_i = x_i + m + 1 (PAPER.md's
  x_i + m collides with key m), answer v_k;
- ``natural``: m distinct random keys from 1..K (K >= m), i.i.d. values from V, query a random stored key.
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
def translate_pairs(state, token, t, params):
    """Value i sits at position 2i; the query key follows the m pairs (every position after them is a query)."""
    m = params[2]
    if 1 <= t <= 2 * m and t % 2 == 0:
        return t // 2, NUM0 + (token - NUM0 - m - 1)
    if t > 2 * m:
        return m + 1, token
    return -1, 0


def pairs_stream(x, k):
    """`<s> 1 v_1 .. m v_m` followed by the queries k (trials x Q, or one per trial), v_i = x_i + m + 1;
    the answers v_k (same shape as k)."""
    k = np.asarray(k, dtype=np.int64)
    queries = k.reshape(k.shape[0], -1)
    x, _, trials, m = check_instances(x, queries[:, 0])
    if np.any((queries < 1) | (queries > m)):
        raise ValueError("every query must lie in 1..m")
    tokens = np.empty((trials, 2 * m + 1 + queries.shape[1]), dtype=np.int32)
    tokens[:, 0] = BOS
    tokens[:, 1 : 2 * m + 1 : 2] = NUM0 + np.arange(1, m + 1)
    tokens[:, 2 : 2 * m + 2 : 2] = NUM0 + x + m + 1
    tokens[:, 2 * m + 1 :] = NUM0 + queries
    answers = np.take_along_axis(x, queries - 1, axis=1) + m + 1
    return tokens, answers.reshape(k.shape), 2 * m + 1


@dataclass(frozen=True)
class RecallTask(Task):
    keys: int | None = option(None, short="K", used_by=("natural",),
                              help="key alphabet size K (default n/2)")
    values: int = option(4, short="V", used_by=("natural",),
                         help="value alphabet size V (default 4)")

    name: ClassVar[str] = "recall"
    distributions: ClassVar[tuple] = ("hard", "natural")
    key_value: ClassVar[bool] = True
    translate: ClassVar = staticmethod(translate_pairs)
    trace_formats: ClassVar[tuple] = ("retrieval",)

    def search_pattern(self, words):
        """`q`: the token after key q (Theorem 5.2's `\\b q \\b(\\S+)\\b`; keys and values are disjoint)."""
        q = number(words[0], 0, MAX_OPTION) if len(words) == 1 else None
        return None if q is None else (rf"(?<!\S){q} (\S+)", "input")

    def validate(self) -> None:
        if self.n < 2:
            raise ValueError(f"{self.name} needs n >= 2 tokens (one pair), got {self.n}")
        if self.keys is None:
            self._set("keys", self.pairs)
        if self.keys < 1 or self.values < 2:
            raise ValueError(f"the key alphabet needs at least 1 key and the value alphabet 2 values, got "
                             f"K = {self.keys}, V = {self.values}")
        if self.distribution == "natural":
            if self.keys < self.pairs:
                raise ValueError(f"the key alphabet ({self.keys}) is smaller than the number of pairs ({self.pairs})")
            if self.values < 2:
                raise ValueError(f"the value alphabet needs at least 2 values, got {self.values}")

    @property
    def pairs(self) -> int:
        return self.n // 2

    @property
    def kv_blocks(self) -> int:
        return self.pairs

    @property
    def length(self) -> int:
        return 2 * self.pairs + 2

    @property
    def cut(self) -> int:
        return 2 * self.pairs + 1

    @property
    def vocab(self) -> int:
        return (2 * self.pairs + 3) if self.hard else self.keys + self.values + 1

    @property
    def index_size(self) -> int:
        return self.pairs

    @classmethod
    def size_for(cls, m: int, **options) -> int:
        return 2 * m

    def reduce(self, x, k):
        return pairs_stream(x, k)

    @staticmethod
    def answer_value(bit, m):
        return bit + m + 1

    def generate(self, seed, start, count):
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
        return 0.5 if self.hard else 1.0 / self.values

    def bounds(self, budgets) -> dict:
        return value_bounds(self, self.pairs, budgets, self.values)
