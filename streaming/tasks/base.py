"""The task interface every reader relies on."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ..tokens import NUM0

#: the most tokens one chunk of a batch holds (64 MiB of int32), so large n never materialises whole
CHUNK_TOKENS = 1 << 24


@dataclass(frozen=True)
class Batch:
    """Streams for trials start .. start+len-1: tokens (int32, trials x length), answers (int64), the cut."""

    start: int
    tokens: np.ndarray
    answers: np.ndarray
    cut: int

    def __len__(self) -> int:
        return self.tokens.shape[0]


class Task:
    """A task of a given size and distribution. Subclasses set name, distributions and the methods below."""

    name = "task"
    distributions: tuple = ()
    #: the size's name in messages ("n" tokens, or "N" nodes)
    size_name = "n"

    def __init__(self, n: int, distribution: str):
        if isinstance(n, bool) or int(n) != n or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        if distribution not in self.distributions:
            raise ValueError(
                f"unknown distribution {distribution!r} for task {self.name}; "
                f"known: {', '.join(self.distributions)}"
            )
        self.n = int(n)
        self.distribution = distribution

    # --- what each task defines -------------------------------------------------------------------------
    @property
    def length(self) -> int:
        """Tokens in one stream."""
        raise NotImplementedError

    @property
    def cut(self) -> int:
        """The first position that belongs to Bob."""
        raise NotImplementedError

    @property
    def index_size(self) -> int:
        """m(n): the Index size the task's hard stream embeds (the bound's m)."""
        raise NotImplementedError

    @property
    def vocab(self) -> int:
        """Every number in a stream lies in 0..vocab-1 (token ids below NUM0 + vocab)."""
        raise NotImplementedError

    def label(self) -> str:
        """The distribution as written in result rows (with its parameters)."""
        return self.distribution

    def batch(self, seed: int, start: int, count: int) -> Batch:
        raise NotImplementedError

    def bounds(self, budgets) -> dict:
        raise NotImplementedError

    @property
    def chance(self) -> float:
        """Success of the best answer without any state (the plots' guessing floor)."""
        return 0.5

    def markers(self) -> list:
        """Vertical reference lines for plots: (bits, label)."""
        return []

    def hard_batch(self, seed: int, start: int, count: int, reduction) -> Batch:
        """The reduction applied to uniform Index of size m(n), drawn with the same seed."""
        from .index import IndexTask

        inner = IndexTask(self.index_size).batch(seed, start, count)
        x = inner.tokens[:, 1 : self.index_size + 1] - NUM0
        k = inner.tokens[:, self.index_size + 1] - NUM0
        tokens, answers, cut = reduction(x, k)
        return Batch(start=start, tokens=tokens, answers=np.asarray(answers, dtype=np.int64), cut=cut)

    def generated_batch(self, seed: int, start: int, count: int, draw_one) -> Batch:
        """Natural distributions: trial i drawn by draw_one(np.random.Generator seeded with (seed, i))."""
        seed = check_seed(seed)
        tokens = np.empty((count, self.length), dtype=np.int32)
        answers = np.empty(count, dtype=np.int64)
        for i in range(count):
            rng = np.random.default_rng([seed, start + i, 0x5EED])
            tokens[i], answers[i] = draw_one(rng)
        return Batch(start=start, tokens=tokens, answers=answers, cut=self.cut)

    # --- shared -------------------------------------------------------------------------------------------
    def chunk_trials(self, max_tokens: int = CHUNK_TOKENS) -> int:
        return max(1, max_tokens // self.length)

    def chunks(self, seed: int, trials: int, max_tokens: int = CHUNK_TOKENS) -> Iterator[Batch]:
        """The batch for trials 0..trials-1 in chunks; identical bytes however it is chunked."""
        if int(trials) != trials or trials < 1:
            raise ValueError(f"trials must be a positive integer, got {trials!r}")
        step = self.chunk_trials(max_tokens)
        for start in range(0, int(trials), step):
            yield self.batch(seed, start, min(step, int(trials) - start))


def check_seed(seed) -> int:
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def empty_tokens(count: int, length: int) -> np.ndarray:
    return np.empty((count, length), dtype=np.int32)


def value_bounds(distribution: str, m: int, budgets, values: int) -> dict:
    """Recall and c-gram: Index's bounds at m on the hard stream; Fano's alphabet version for V-ary values."""
    from commcomplexity.bounds import fano_alphabet_success, index_bounds

    b = np.atleast_1d(np.asarray(budgets, dtype=float))
    if distribution == "hard":
        return index_bounds(m, b)
    fano = np.asarray(fano_alphabet_success(m, b, values), dtype=float)
    nan = np.full(b.shape, np.nan)
    return {"bound": fano, "fano": fano, "sphere": nan, "achievable": nan}
