"""Counting: n tokens, a query q and a threshold t; the answer is 1 iff q occurs more than t times.

Stream: `<s> a_1 .. a_n q t`.
- ``hard``: the Index reduction: a_j = j if x_j = 1 else 0 (a stream of fixed length with the same counts as
  PAPER.md's list of all j with x_j = 1), q = k, t = 0 (PAPER.md's fix: t = 0, not 1); answer x_k;
- ``natural``: a_j uniform over 1..A (default A = n/4), q uniform over 1..A, threshold t (default n/A - 1, so
  that about half the queries are above it).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numba import njit

from commcomplexity.bounds import index_bounds

from ..environment import number
from ..tokens import BOS, FAILED, NUM0
from .base import MAX_OPTION, Task, check_instances, no_bounds, option


@njit(cache=True)
def translate_positions(state, token, t, params):
    """Position j holds j or 0: the Index bit is whether it is non-zero; the query follows."""
    m = params[2]
    if 1 <= t <= m:
        return t, NUM0 + (1 if token != NUM0 else 0)
    if t == m + 1:
        return m + 1, token
    return -1, 0


@dataclass(frozen=True)
class CountingTask(Task):
    alphabet: int | None = option(None, short="A", used_by=("natural",), help="alphabet size A (default n/4)")
    threshold: int | None = option(None, short="t", used_by=("natural",),
                                   help="threshold t (default n/A - 1; the hard stream's is 0)")

    name: ClassVar[str] = "counting"
    distributions: ClassVar[tuple] = ("hard", "natural")
    translate: ClassVar = staticmethod(translate_positions)
    trace_formats: ClassVar[tuple] = ("retrieval",)

    def search_pattern(self, words):
        """`q t`: q's (t+1)-th occurrence (Theorem 5.2's `(\\b q \\b){t+1}`; FAILED means at most t). Each
        repetition stops at the next q (a tempered dot), so a miss costs one linear scan, never backtracking."""
        q, t = (number(w, 0, MAX_OPTION) for w in words) if len(words) == 2 else (None, None)
        if q is None or t is None or t >= self.n:  # more occurrences than tokens: no match
            return None
        one = rf"(?<!\S){q}(?!\S)"
        return rf"^<s>(?:(?:(?!{one}).)*({one})){{{t + 1}}}", "input"

    def lookup_reply(self, stream, answer):
        return int(stream[self.cut]) if answer else FAILED

    def validate(self) -> None:
        if self.alphabet is None:
            self._set("alphabet", max(2, self.n // 4))
        if self.alphabet < 1:
            raise ValueError(f"the alphabet needs at least one symbol, got {self.alphabet}")
        if self.threshold is None:
            self._set("threshold", max(0, self.n // self.alphabet - 1))
        if self.threshold < 0:
            raise ValueError(f"the threshold t must be >= 0, got {self.threshold}")

    @property
    def length(self) -> int:
        return self.n + 3

    @property
    def cut(self) -> int:
        return self.n + 1

    @property
    def vocab(self) -> int:
        return self.n + 1 if self.hard else max(self.alphabet, self.threshold) + 1

    @property
    def index_size(self) -> int:
        return self.n

    @classmethod
    def size_for(cls, m: int, **options) -> int:
        return m

    def reduce(self, x, k):
        x, k, trials, m = check_instances(x, k)
        tokens = np.empty((trials, m + 3), dtype=np.int32)
        tokens[:, 0] = BOS
        tokens[:, 1 : m + 1] = NUM0 + x * np.arange(1, m + 1)
        tokens[:, m + 1] = NUM0 + k
        tokens[:, m + 2] = NUM0 + 0
        return tokens, x[np.arange(trials), k - 1].copy(), m + 1

    def generate(self, seed, start, count):
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
        return index_bounds(self.n, np.atleast_1d(np.asarray(budgets, dtype=float))) if self.hard \
            else no_bounds(budgets)
