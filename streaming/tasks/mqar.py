"""Multi-query associative recall (MQAR, after HazyResearch's zoology): key-value pairs, then Q query keys, each
answered by its value and each scored; accuracy is the average over the queries, as zoology reports it.

Stream: `<s> k_1 v_1 .. k_P v_P q_1 .. q_Q` (P = n // 2 pairs); the answer to q_j is read right after q_j.
- ``hard``: associative recall's hard stream with Q queries: keys 1..m in order (m = P), values x_i + m + 1,
  queries k_1..k_Q each uniform on 1..m (k_1 is Index's query, drawn with the same seed); answer x_(k_j) + m + 1;
- ``natural``: zoology's draws: P distinct random keys from 1..K, i.i.d. values from K+1..K+V, and Q distinct
  queries drawn from the keys present.
It is associative recall with Q queries (a subclass: pairs, vocabulary, reduction read back, bounds are recall's).
The bound: Bob holds all Q queries, so each answer is a one-query protocol from the same b-bit cut state (the
other queries are randomness independent of x), and each query's k_j is uniform: the per-query accuracy obeys
associative recall's bound at the same m.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numba import njit, prange

from ..rng import uniform_below
from ..tokens import BOS, NUM0
from .base import Batch, check_seed, option
from .index_stream import index_streams
from .recall import RecallTask, pairs_stream

SALT_QUERIES = 31


@njit(cache=True, parallel=True)
def _more_queries(queries, seed, start, m):
    for i in prange(queries.shape[0]):
        for j in range(1, queries.shape[1]):
            queries[i, j] = uniform_below(seed, start + i, j, SALT_QUERIES, m) + 1


@dataclass(frozen=True)
class MQARTask(RecallTask):
    """Associative recall with Q queries: its pairs, vocabulary, reduction read back and bounds are recall's."""

    keys: int | None = option(None, short="K", used_by=("natural",), help="key alphabet size K (default n)")
    values: int = option(16, short="V", used_by=("natural",), help="value alphabet size V (default 16)")
    queries: int = option(4, short="Q", help="queries per stream Q (default 4)")

    name: ClassVar[str] = "mqar"

    def validate(self) -> None:
        if self.keys is None:
            self._set("keys", self.n)
        if self.queries < 1:
            raise ValueError(f"MQAR needs at least one query, got {self.queries}")
        super().validate()
        if self.distribution == "natural" and self.queries > self.pairs:
            raise ValueError(f"{self.queries} distinct queries cannot come from {self.pairs} keys")

    @property
    def length(self) -> int:
        return 2 * self.pairs + 1 + self.queries

    @property
    def query_positions(self) -> tuple:
        return tuple(range(self.cut, self.cut + self.queries))

    def reduce(self, x, k):
        """k: one query per stream (every question asks it) or Q queries per stream."""
        k = np.asarray(k, dtype=np.int64)
        if k.ndim == 1:
            k = np.repeat(k[:, None], self.queries, axis=1)
        return pairs_stream(x, k)

    def batch(self, seed: int, start: int, count: int) -> Batch:
        if not self.hard:
            return self.generated_batch(seed, start, count, self._draw)
        x, k = index_streams(check_seed(seed), start, count, self.pairs)
        queries = np.empty((count, self.queries), dtype=np.int64)
        queries[:, 0] = k
        _more_queries(queries, np.uint64(seed), np.int64(start), self.pairs)
        tokens, answers, cut = pairs_stream(x, queries)
        return Batch(start=start, tokens=tokens, answers=answers, cut=cut, queries=self.query_positions)

    def _draw(self, rng):
        keys = rng.choice(self.keys, size=self.pairs, replace=False) + 1
        vals = rng.integers(0, self.values, size=self.pairs) + self.keys + 1
        asked = rng.choice(self.pairs, size=self.queries, replace=False)
        tokens = np.empty(self.length, dtype=np.int32)
        tokens[0] = BOS
        tokens[1 : 2 * self.pairs + 1 : 2] = NUM0 + keys
        tokens[2 : 2 * self.pairs + 2 : 2] = NUM0 + vals
        tokens[self.cut :] = NUM0 + keys[asked]
        return tokens, vals[asked]
