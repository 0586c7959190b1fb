"""The generating runner: a budgeted machine that writes a trace after its input and may query the retrieval
environment (PAPER.md, in-context retrieval; Theorems 5.2 and 5.3).

A generating machine is a budgeted algorithm (``plan``, ``step``, ``used_bits``: the budget contract of
``streaming.engine``) with one more numba-compiled pure function, ``emit(state, t, params, coins) -> token``. It
keeps b bits as always. The run of one stream:

1. the input, through the engine's own compiled, budget-enforcing ``cut_states`` (every token of the stream);
2. ``</s>`` at position t = task.length, through ``step``;
3. then, position by position: ``token = emit(copy of the state, t)``; the token goes to the environment
   (``Environment.write``) and back through ``step(state, token, t)`` (the machine reads its own output, as an RNN
   with chain of thought does); when the token is ``<EndSearch>`` the environment's reply is read through ``step``
   at the next position. After every step the bits past b are cleared, exactly as the compiled runners do, and
   nothing else survives from one position to the next: the state copy handed to ``emit`` dies with the call.

The answer is the token the machine emits right after it emits ``</s>`` (or the first YES / NO it emits); it is
right when it equals ``task.answer_tokens(answer)``. A machine that has not answered after twice the task's
longest retrieval trace (``task.max_trace("retrieval")``) is stopped: a missing answer, scored 1/2 in the rows.

The environment holds the context outside the b bits: that is the point. A machine that queries it is no
streaming algorithm, and the one-way bounds do not apply to its rows (their audit is ``not-streaming``).
The generation phase is a per-stream Python loop calling the compiled ``step`` and ``emit``: meant for the small
cells the retrieval series needs, not for the engine's G tokens/s.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .engine import (GUARD_WORDS, BudgetViolation, _compile_guard, _sealed_params, check_budget,
                     check_seed_value, coins_for, cut_states, run_tokens, state_words, tail_mask)
from .environment import Environment
from .seal import check_compiled
from .tasks.base import MAX_OPTION, Task
from .tokens import EOS, NO, YES

#: the format and decoding a generating machine's rows are written with (``streaming.results``)
FORMAT, DECODE = "retrieval", "free"


@dataclass(frozen=True)
class Generation:
    """What one stream's run wrote after its input: the trace (the machine's tokens and the environment's
    replies, as the environment holds them), which tokens the environment wrote, the answer token (None: missing)
    and the number of queries."""

    trace: list
    written_by_environment: list
    answer: int | None
    queries: int


@dataclass(frozen=True)
class GenerationResult:
    successes: int  # right answers
    trials: int  # streams
    missing: int  # streams without an answer
    queries: float  # mean environment queries per stream
    seconds: float

    @property
    def scored(self) -> int:
        return self.trials


def check_generating(algorithm, task: Task) -> None:
    """Refuse (one line) a record that is no generating machine, an unsealed emit or step, or a task without the
    retrieval format."""
    if getattr(algorithm, "emit", None) is None:
        raise ValueError(f"algorithm {algorithm.name!r} has no emit: it is a streaming algorithm, run by the engine")
    check_compiled(algorithm.step, "step", algorithm.name)
    check_compiled(algorithm.emit, "emit", algorithm.name)
    if FORMAT not in task.formats:
        raise ValueError(f"{task.name} ({task.label()}) has no {FORMAT} format (it offers "
                         f"{', '.join(task.formats)}): {algorithm.name!r} cannot run on it")


def _top_bit(state) -> int:
    """The highest set bit plus one (0 for an empty state)."""
    for w in range(state.shape[0] - 1, -1, -1):
        if state[w]:
            return 64 * w + int(state[w]).bit_length()
    return 0


class _Machine:
    """One stream's state, stepped and masked as the compiled runners do (debug: guard words after the state,
    bits past b and the highest bit set checked after every step)."""

    def __init__(self, algorithm, budget, params, coins, start, debug, declared):
        self.algorithm, self.params, self.coins = algorithm, params, np.uint64(coins)
        self.step_fn, self.emit_fn = algorithm.step, algorithm.emit
        nwords = state_words(budget)
        self.buffer = np.zeros(nwords + (GUARD_WORDS if debug else 0), dtype=np.uint64)
        self.state = self.buffer[:nwords]
        self.state[:] = start
        self.mask = tail_mask(budget)
        self.last = nwords - 1
        self.budget, self.debug, self.declared = budget, debug, declared
        self.top = _top_bit(self.state)

    def step(self, token: int, t: int) -> None:
        self.step_fn(self.state, np.int32(token), np.int64(t), self.params, self.coins)
        if self.debug:
            name = self.algorithm.name
            if np.any(self.buffer[self.state.shape[0]:]) or self.state[self.last] & ~self.mask:
                raise BudgetViolation(f"algorithm {name!r} set bits past its budget of {self.budget} bits (or past "
                                      f"the state array) at position {t} of its trace")
            self.state[self.last] &= self.mask
            self.top = max(self.top, _top_bit(self.state))
            if self.top > self.declared:
                raise BudgetViolation(f"algorithm {name!r} set state bit {self.top - 1} at b = {self.budget}: it "
                                      f"holds more than the {self.declared} bits its used_bits declares")
        else:
            self.state[self.last] &= self.mask

    def emit(self, t: int) -> int:
        token = self.emit_fn(self.state.copy(), np.int64(t), self.params, self.coins)
        if isinstance(token, (bool, np.bool_)) or not isinstance(token, (int, np.integer)) or \
                not 0 <= int(token) <= MAX_OPTION:
            raise ValueError(f"algorithm {self.algorithm.name!r}: its emit wrote {token!r} at position {t}, not a "
                             f"token id in 0..{MAX_OPTION}")
        return int(token)


def generate(algorithm, task: Task, stream, start, budget: int, params, coins, debug: bool = False,
             declared: int | None = None) -> Generation:
    """Continue one stream from `start`, the state words after its input (``cut_states``): `</s>`, then the trace
    the machine writes with the environment's replies, up to its answer (module docstring). `params` must be the
    sealed (read-only) params."""
    declared = budget if declared is None else declared
    machine = _Machine(algorithm, budget, params, coins, start, debug, declared)
    env = Environment(task, stream)
    flags: list = []
    limit = 2 * task.max_trace(FORMAT)
    t = task.length
    machine.step(EOS, t)
    previous, answer = None, None
    while len(env.trace) < limit:
        t += 1
        token = machine.emit(t)
        reply = env.write(token)
        flags.append(False)
        if reply is not None:
            flags.append(True)
        if previous == EOS or token in (YES, NO):
            answer = token
            break
        previous = token
        machine.step(token, t)
        if reply is not None:
            t += 1
            machine.step(reply, t)
    return Generation(trace=list(env.trace), written_by_environment=flags, answer=answer, queries=env.queries)


def run_streams(algorithm, task: Task, tokens: np.ndarray, budget: int, coins, params=None,
                debug: bool = False) -> list:
    """Run a generating machine over explicit streams of a task's layout: one ``Generation`` per stream. The input
    runs through the engine's compiled ``cut_states`` (in debug mode first through its checked runner too)."""
    check_generating(algorithm, task)
    budget = check_budget(budget)
    tokens = np.ascontiguousarray(tokens, dtype=np.int32)
    if tokens.ndim != 2 or tokens.shape[1] != task.length:
        raise ValueError(f"streams of {task.name} at {task.size_name} = {task.n} have {task.length} tokens, "
                         f"got shape {tokens.shape}")
    if params is None:
        params = algorithm.make_params(task, budget, coins)
    sealed = _sealed_params(params)
    declared = int(algorithm.used_bits(task, budget))
    if debug:
        run_tokens(algorithm, task, tokens, budget, coins, params=params, debug=True)
    states = cut_states(algorithm, task, tokens, budget, coins, params=params)
    return _compile_guard(algorithm, lambda: [
        generate(algorithm, task, tokens[i], states[i], budget, sealed, coins, debug=debug, declared=declared)
        for i in range(tokens.shape[0])])


def run_generating(algorithm, task: Task, budget: int, trials: int, seed: int, coin_seed: int = 0, params=None,
                   debug: bool = False, start: int = 0) -> GenerationResult:
    """Right answers, missing answers and mean queries of a generating machine at a budget on `trials` streams of
    a task drawn with the stream seed, its public coins drawn from the coin seed (as ``engine.run_cell``; `params`
    planned beforehand may be passed, as a sealed sweep does; `start`: the first trial, for a part of a cell)."""
    t0 = time.perf_counter()
    check_generating(algorithm, task)
    budget = check_budget(budget)
    coins = coins_for(coin_seed)
    if params is None:
        params = algorithm.make_params(task, budget, coins)
    successes = missing = queries = 0
    seed, step = check_seed_value(seed), task.chunk_trials()
    for lo in range(int(start), int(start) + int(trials), step):
        batch = task.batch(seed, lo, min(step, int(start) + int(trials) - lo))
        expected = np.asarray(task.answer_tokens(batch.answers)).reshape(-1)
        for g, want in zip(run_streams(algorithm, task, batch.tokens, budget, coins, params=params, debug=debug),
                           expected):
            queries += g.queries
            if g.answer is None:
                missing += 1
            elif g.answer == int(want):
                successes += 1
    return GenerationResult(successes=successes, trials=int(trials), missing=missing,
                            queries=queries / int(trials), seconds=time.perf_counter() - t0)
