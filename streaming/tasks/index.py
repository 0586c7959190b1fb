"""Index: n bits x_1..x_n, then a query position k; the answer is x_k.

Stream: ``<s> x_1 ... x_n k`` (length n + 2); Alice holds positions 0..n, Bob the query at position n + 1.
Distributions: ``uniform`` (the hard one: x uniform, k uniform) and ``biased`` (x_i i.i.d. Bernoulli(bias)).
Index is its own reduction (m = n), so the Index coders need no adapter here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from commcomplexity.bounds import index_bounds
from commcomplexity.info import binary_entropy

from ..environment import number
from ..tokens import BOS, NUM0
from .base import Batch, Task, check_instances, check_seed, option
from .index_stream import index_tokens


def encode(x, k) -> np.ndarray:
    """Streams for explicit instances: x (trials x n bits) and k (trials,) in 1..n."""
    x, k, trials, n = check_instances(x, k)
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


@dataclass(frozen=True)
class IndexTask(Task):
    bias: float = option(0.25, short="", kind=float, used_by=("biased",),
                         help="P(x_i = 1) (default 0.25)")

    name: ClassVar[str] = "index"
    distributions: ClassVar[tuple] = ("uniform", "biased")
    adapters: ClassVar[dict] = {}

    trace_formats: ClassVar[tuple] = ("retrieval",)

    def search_pattern(self, words):
        """`k`: the k-th bit (Theorem 5.2's `^(?:\\S\\s*){k-1}(\\S)`, after `<s>`)."""
        k = number(words[0], 1, self.n) if len(words) == 1 else None
        return None if k is None else (rf"^<s>(?: \S+){{{k - 1}}} (\S+)", "input")

    def validate(self) -> None:
        if not 0.0 < self.bias < 1.0:
            raise ValueError(f"bias must lie strictly between 0 and 1, got {self.bias!r}")

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

    @classmethod
    def size_for(cls, m: int, **options) -> int:
        return m

    def reduce(self, x, k):
        tokens = encode(x, k)
        return tokens, solve(tokens), self.n + 1

    def batch(self, seed: int, start: int, count: int) -> Batch:
        bias = -1.0 if self.distribution == "uniform" else self.bias
        tokens, answers = index_tokens(check_seed(seed), start, count, self.n, bias)
        return Batch(start=start, tokens=tokens, answers=answers, cut=self.cut)

    def bounds(self, budgets) -> dict:
        h = 1.0 if self.distribution == "uniform" else float(binary_entropy(self.bias))
        return index_bounds(self.n, budgets, entropy_per_bit=h)
