"""What a task is: a frozen, validated dataclass that owns its streams, its tokenization and its reduction.

A task is its size ``n``, its ``distribution`` and its options, every one a typed dataclass field made with
``option(...)`` (a default, the short name written in result rows, a help line, the distributions that read it).
Everything else is derived from those fields: the label in result rows (``label``), the spec in a training config
(``spec``), the command-line options (``cli.options``), the witness options. A task also owns its reduction from
Index: ``index_size`` (m(n)), ``size_for(m)`` (its inverse), ``reduce(x, k)`` (the hard stream of explicit Index
instances), and ``translate`` (a numba function that reads a hard stream back as Index tokens: what the adapters
of the Index coders need). A new task is one module with one such class and one line in ``tasks/__init__.py``.

A stream may ask several questions: ``query_positions`` are the positions after which an answer is read (the
engine calls an algorithm's ``output`` there; a model is scored there). Single-question tasks ask at the last
token, and their answers are one number per stream; a task with Q questions has answers of shape (trials, Q).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar, Iterator

import numpy as np

from commcomplexity.bounds import fano_alphabet_success, index_bounds

from ..tokens import END_SEARCH, EOS, NUM0, START_SEARCH
from .index_stream import index_streams

#: the most tokens one chunk of a batch holds (64 MiB of int32), so large n never materialises whole
CHUNK_TOKENS = 1 << 24
#: the longest stream a task may have (one stream is one chunk at least: 128 MiB of int32, plus its Index bits)
MAX_STREAM = 1 << 25
#: the largest option value (alphabets, thresholds, queries), so every token fits an int32
MAX_OPTION = (1 << 31) - 1


def option(default, *, short: str, help: str, kind=int, used_by: tuple | None = None):
    """A task option: a dataclass field with its default, the short name its label uses ('' writes the value
    alone), the command-line help line, its type, and the distributions that read it (None: all of them)."""
    return dataclasses.field(default=default, metadata={"short": short, "help": help, "kind": kind,
                                                        "used_by": used_by})


@dataclass(frozen=True)
class Batch:
    """Streams for trials start .. start+len-1: tokens (int32, trials x length), answers (int64: one per stream,
    or trials x Q for a task with Q questions), the cut (Bob's first position) and the query positions."""

    start: int
    tokens: np.ndarray
    answers: np.ndarray
    cut: int
    queries: tuple = ()

    def __post_init__(self):
        if not self.queries:
            object.__setattr__(self, "queries", (self.tokens.shape[1] - 1,))

    def __len__(self) -> int:
        return self.tokens.shape[0]


@dataclass(frozen=True)
class Task:
    """A task of a given size and distribution. Subclasses add their options (``option``) and define the
    stream layout (length, cut, vocab), ``batch`` for the non-hard distributions, ``bounds`` and the reduction."""

    n: int
    distribution: str | None = None

    name: ClassVar[str] = "task"
    distributions: ClassVar[tuple] = ()
    #: the size's name in messages ("n" tokens, or "N" nodes)
    size_name: ClassVar[str] = "n"
    #: the adapters of the Index coders this task gets through its reduction: registered name -> Index coder
    adapters: ClassVar[dict] = {"prefix": "prefix", "blockcode": "blockcode", "trellis": "trellis"}
    #: state bits an adapter keeps for the task's own bookkeeping beside the Index coder (IsTree: one parity bit)
    adapter_reserve: ClassVar[int] = 0
    #: the stream is blocks of c - 1 key tokens and a value, then queries of c - 1 tokens (``kv_block`` = c tokens
    #: a block, ``kv_blocks`` blocks): the table algorithm reads such streams
    key_value: ClassVar[bool] = False

    def __post_init__(self):
        n = self.n
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"{self.size_name} must be a positive integer, got {n!r}")
        self._set("n", int(n))
        distribution = self.distribution if self.distribution is not None else self.distributions[0]
        if distribution not in self.distributions:
            raise ValueError(f"unknown distribution {distribution!r} for task {self.name}; "
                             f"known: {', '.join(self.distributions)}")
        self._set("distribution", distribution)
        if self.n > MAX_STREAM:
            raise ValueError(f"{self.size_name} = {self.n} is too large: streams hold at most {MAX_STREAM} tokens")
        for f in self.option_fields():
            value = getattr(self, f.name)
            if value is None:
                continue
            kind = f.metadata["kind"]
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or \
                    not np.isfinite(value) or (kind is int and int(value) != value):
                raise ValueError(f"{f.name} must be {'an integer' if kind is int else 'a number'}, got {value!r}")
            if abs(value) > MAX_OPTION:
                raise ValueError(f"{f.name} = {value!r} is too large (at most {MAX_OPTION})")
            self._set(f.name, kind(value))
        self.validate()
        if self.length > MAX_STREAM:
            raise ValueError(f"{self.name} at {self.size_name} = {self.n} has {self.length}-token streams; at most "
                             f"{MAX_STREAM} fit")
        if NUM0 + self.vocab > MAX_OPTION:
            raise ValueError(f"{self.name}: {self.vocab} numbers do not fit the int32 tokens")

    def _set(self, name: str, value) -> None:
        object.__setattr__(self, name, value)

    def validate(self) -> None:
        """Check the options together (and fill the defaults that depend on n); raise ValueError naming them."""

    # --- derived from the fields ----------------------------------------------------------------------------
    @classmethod
    def option_fields(cls) -> list:
        return [f for f in dataclasses.fields(cls) if f.name not in ("n", "distribution")]

    def options(self) -> dict:
        """Every option's value (defaults filled in)."""
        return {f.name: getattr(self, f.name) for f in self.option_fields()}

    def _labelled(self) -> list:
        return [f for f in self.option_fields()
                if f.metadata["used_by"] is None or self.distribution in f.metadata["used_by"]]

    def label(self) -> str:
        """The distribution as written in result rows, with the options it reads: 'natural:K=8,V=4'."""
        parts = []
        for f in self._labelled():
            value = getattr(self, f.name)
            text = f"{value:g}" if isinstance(value, float) else str(value)
            parts.append(f"{f.metadata['short']}={text}" if f.metadata["short"] else text)
        return self.distribution + (":" + ",".join(parts) if parts else "")

    @classmethod
    def from_label(cls, n: int, label: str) -> "Task":
        """The task a result row's n and distribution label describe (the inverse of ``label``)."""
        distribution, _, parameters = label.partition(":")
        by_short = {f.metadata["short"]: f for f in cls.option_fields()}
        options = {}
        for part in filter(None, parameters.split(",")):
            short, eq, text = part.rpartition("=")
            f = by_short.get(short if eq else "")
            if f is None:
                raise ValueError(f"bad distribution label {label!r} for task {cls.name}")
            try:
                options[f.name] = f.metadata["kind"](text)
            except ValueError:
                raise ValueError(f"bad distribution label {label!r}") from None
        return cls(n, distribution, **options)

    def spec(self) -> dict:
        """The task in a training config: name, n, distribution and every option (JSON data)."""
        return {"name": self.name, "n": self.n, "distribution": self.distribution, "options": self.options()}

    def with_size(self, n: int) -> "Task":
        """The same task (distribution and options) at another size."""
        return dataclasses.replace(self, n=n)

    # --- what each task defines -----------------------------------------------------------------------------
    @property
    def length(self) -> int:
        """Tokens in one stream."""
        raise NotImplementedError

    @property
    def cut(self) -> int:
        """The first position that belongs to Bob."""
        raise NotImplementedError

    @property
    def vocab(self) -> int:
        """Every number in a stream lies in 0..vocab-1 (token ids below NUM0 + vocab)."""
        raise NotImplementedError

    @property
    def index_size(self) -> int:
        """m(n): the Index size the task's hard stream embeds (the bound's m)."""
        raise NotImplementedError

    @classmethod
    def size_for(cls, m: int, **options) -> int:
        """The task size whose hard stream embeds exactly m Index bits (the inverse of index_size)."""
        raise NotImplementedError

    def reduce(self, x, k):
        """The hard stream of explicit Index instances: x (trials x m bits), k (trials,) in 1..m ->
        (tokens, answers, cut), every token of Bob's after every token of Alice's."""
        raise NotImplementedError

    #: numba function (state, token, t, params) -> (Index position, Index token) or (-1, 0): the hard stream read
    #: back as Index (params[2] = m, params[3] = ``adapter_aux``, params[5] = the first of the task's reserved
    #: state bits); None when the task has no adapters
    translate: ClassVar = None

    @property
    def kv_block(self) -> int:
        return 2

    @property
    def kv_blocks(self) -> int:
        return 0

    @property
    def adapter_aux(self) -> int:
        """One task constant the translate function reads (c for c-gram)."""
        return 0

    @staticmethod
    def answer_value(bit: int, m: int) -> int:
        """The task's answer on its hard stream when the embedded Index answer is `bit` (a fixed map)."""
        return bit

    def generate(self, seed: int, start: int, count: int) -> Batch:
        """The non-hard distributions (each task its own)."""
        raise NotImplementedError

    def bounds(self, budgets) -> dict:
        raise NotImplementedError

    @property
    def queries(self) -> int:
        """Questions per stream."""
        return len(self.query_positions)

    @property
    def query_positions(self) -> tuple:
        """Positions after which an answer is read."""
        return (self.length - 1,)

    @property
    def chance(self) -> float:
        """Success of the best answer without any state (the plots' guessing floor)."""
        return 0.5

    def markers(self) -> list:
        """Vertical reference lines for plots: (bits, label)."""
        return []

    @property
    def fano_name(self) -> str:
        """What the 'fano' bound of this distribution is called in plots and `bound`."""
        return "Fano bound"

    def extra_curves(self, budgets) -> list:
        """Further bounds worth drawing beside the task's own: (label, success at each budget)."""
        return []

    def answer_tokens(self, answers: np.ndarray) -> np.ndarray:
        """The token a model must predict for each answer (the number's token; IsTree: YES / NO)."""
        return NUM0 + np.asarray(answers)

    # --- reasoning formats and the retrieval environment (``streaming.formats``, ``streaming.environment``) ---
    #: the trace formats a single-question task offers beside ``vanilla`` (a task with a ``search_pattern`` offers
    #: ``retrieval``: one query naming Bob's tokens, its reply, then the answer)
    trace_formats: ClassVar[tuple] = ()

    @property
    def formats(self) -> tuple:
        """The formats a reader may be trained and evaluated in on this task and distribution."""
        return ("vanilla",) + (self.trace_formats if self.queries == 1 else ())

    @property
    def searched_input(self) -> int:
        """The stream's tokens the environment's "input" searches (Alice's part: Bob's query is not the data)."""
        return self.cut

    def search_pattern(self, words: list):
        """(regular expression, "input" or "trace") for a query of these words, or None (answered FAILED)."""
        return None

    def lookup_reply(self, stream, answer: int) -> int:
        """The environment's reply to the one query of the retrieval format (the answer's token by default)."""
        return int(self.answer_tokens(answer))

    def trace(self, stream, answer: int, fmt: str) -> tuple:
        """(trace tokens, written-by-the-environment flags, answer token) of one stream in a trace format; the
        default is the retrieval format of Theorem 5.2: `<StartSearch> Bob's tokens <EndSearch> R </s> ANSWER`."""
        bob = [int(t) for t in np.asarray(stream)[self.cut :]]
        reply = self.lookup_reply(stream, answer)
        tokens = [START_SEARCH, *bob, END_SEARCH, reply, EOS, int(self.answer_tokens(answer))]
        env = [False] * len(tokens)
        env[len(bob) + 2] = True
        return tokens, env, tokens[-1]

    def max_trace(self, fmt: str) -> int:
        """The most tokens a trace of this format has (a decoding reader is stopped past twice as many)."""
        return 6 + self.length - self.cut

    # --- shared ---------------------------------------------------------------------------------------------
    @property
    def hard(self) -> bool:
        """Whether the distribution is the reduction's image of uniform Index (the first one listed)."""
        return self.distribution == self.distributions[0]

    def batch(self, seed: int, start: int, count: int) -> Batch:
        """Streams of trials start..start+count-1: the hard distribution is the reduction applied to uniform
        Index of size m(n) drawn with the same seed; the others are the task's own."""
        if not self.hard:
            return self.generate(seed, start, count)
        x, k = index_streams(check_seed(seed), start, count, self.index_size)
        tokens, answers, cut = self.reduce(x, k)
        return Batch(start=start, tokens=tokens, answers=np.asarray(answers, dtype=np.int64), cut=cut,
                     queries=self.query_positions)

    def generated_batch(self, seed: int, start: int, count: int, draw_one) -> Batch:
        """Natural distributions: trial i drawn by draw_one(np.random.Generator seeded with (seed, i))."""
        seed = check_seed(seed)
        tokens = np.empty((count, self.length), dtype=np.int32)
        answers = np.empty((count,) if self.queries == 1 else (count, self.queries), dtype=np.int64)
        for i in range(count):
            rng = np.random.default_rng([seed, start + i, 0x5EED])
            tokens[i], answers[i] = draw_one(rng)
        return Batch(start=start, tokens=tokens, answers=answers, cut=self.cut, queries=self.query_positions)

    def chunk_trials(self, max_tokens: int = CHUNK_TOKENS) -> int:
        return max(1, max_tokens // self.length)

    def chunks(self, seed: int, trials: int, max_tokens: int = CHUNK_TOKENS) -> Iterator[Batch]:
        """The batch for trials 0..trials-1 in chunks; identical bytes however it is chunked."""
        if isinstance(trials, bool) or int(trials) != trials or trials < 1:
            raise ValueError(f"trials must be a positive integer, got {trials!r}")
        step = self.chunk_trials(max_tokens)
        for start in range(0, int(trials), step):
            yield self.batch(seed, start, min(step, int(trials) - start))


def check_seed(seed) -> int:
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def check_instances(x, k):
    """Validated Index instances: x (trials x m bits) and k (trials,) in 1..m, as int64 arrays."""
    x = np.atleast_2d(np.asarray(x, dtype=np.int64))
    k = np.atleast_1d(np.asarray(k, dtype=np.int64))
    trials, m = x.shape
    if k.shape != (trials,) or np.any((k < 1) | (k > m)):
        raise ValueError("k must hold one query in 1..m per instance")
    if np.any((x != 0) & (x != 1)):
        raise ValueError("x must be bits")
    return x, k, trials, m


def value_bounds(task, m: int, budgets, values: int) -> dict:
    """Recall, c-gram, MQAR: Index's bounds at m on the hard stream; Fano's alphabet version for V-ary values."""
    b = np.atleast_1d(np.asarray(budgets, dtype=float))
    if task.hard:
        return index_bounds(m, b)
    fano = np.asarray(fano_alphabet_success(m, b, values), dtype=float)
    nan = np.full(b.shape, np.nan)
    return {"bound": fano, "fano": fano, "sphere": nan, "achievable": nan}


def no_bounds(budgets) -> dict:
    nan = np.full(np.atleast_1d(np.asarray(budgets, dtype=float)).shape, np.nan)
    return {"bound": nan, "fano": nan, "sphere": nan.copy(), "achievable": nan.copy()}
