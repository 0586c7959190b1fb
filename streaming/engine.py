"""The budget-enforcing runner: the one place a budgeted algorithm meets a stream.

The budget contract (DESIGN.md). An algorithm is ``plan`` (plain Python, run once per cell before any stream
exists: it sees only the task's description, b and the public coins, so it cannot see the input), and two
numba-compiled pure functions ``step(state, token, t, params, coins)`` and ``output(state, params, coins) ->
answer``, which the engine calls after each of the task's query positions (one, at the end, for most tasks). The engine
owns the state: exactly b bits, held in ceil(b/64) uint64 words (one word when b = 0), and it clears every bit
past b after every step. Nothing else survives from one token to the next: temporaries made inside ``step`` die
when it returns. Free by convention: the position t, the public coins and the params (checked unchanged after
every run, so they cannot smuggle input across trials).

A run is therefore a valid one-way protocol with a b-bit message at every cut, and the bounds apply to it.
In debug mode the engine also counts the steps after which an algorithm had set a bit past b (a memory
accounting bug in the algorithm: in normal mode those bits are silently lost).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from .tasks.base import Task


def state_words(budget: int) -> int:
    return max(1, (int(budget) + 63) // 64)


def tail_mask(budget: int) -> np.uint64:
    """Mask of the bits of the last word that lie inside the budget."""
    used = int(budget) - 64 * (state_words(budget) - 1)
    if used <= 0:
        return np.uint64(0)
    return np.uint64((1 << used) - 1)


def _make_runner(step, output, debug: bool, several: bool):
    """One specialised loop per (algorithm, debug, several queries). With one query the loop reads the whole
    stream and asks once at the end (the tight loop the engine's speed is measured on); with several it reads up
    to each query position and asks there."""
    @njit(parallel=True, error_model="numpy")
    def runner(tokens, nwords, mask, params, coins, queries, outputs, violations):
        trials, length = tokens.shape
        last = nwords - 1
        for i in prange(trials):
            state = np.zeros(nwords, np.uint64)
            row = tokens[i]
            bad = 0
            if several:
                t0 = 0
                for j in range(queries.shape[0]):
                    for t in range(t0, queries[j] + 1):
                        step(state, row[t], t, params, coins)
                        if debug:
                            if state[last] & ~mask:
                                bad += 1
                        state[last] &= mask
                    t0 = queries[j] + 1
                    outputs[i, j] = output(state, params, coins)
            else:
                for t in range(length):
                    step(state, row[t], t, params, coins)
                    if debug:
                        if state[last] & ~mask:
                            bad += 1
                    state[last] &= mask
                outputs[i, 0] = output(state, params, coins)
            violations[i] = bad

    return runner


#: compiled runners by the compiled functions themselves (two algorithms under one name never share one)
_RUNNERS: dict = {}


def _runner(algorithm, debug: bool, several: bool):
    key = (algorithm.step, algorithm.output, debug, several)
    if key not in _RUNNERS:
        _RUNNERS[key] = _make_runner(algorithm.step, algorithm.output, debug, several)
    return _RUNNERS[key]


def coins_for(seed: int) -> np.uint64:
    """The public coins of a cell, derived from its seed (distinct from the stream's own randomness)."""
    return np.uint64((int(seed) * 0x9E3779B97F4A7C15 + 0x5851F42D4C957F2D) % (1 << 64))


class BudgetViolation(RuntimeError):
    """An algorithm wrote past its budget (debug mode) or changed its params during a run."""


def check_budget(budget) -> int:
    if isinstance(budget, bool) or int(budget) != budget or budget < 0:
        raise ValueError(f"budget must be a non-negative integer, got {budget!r}")
    return int(budget)


def run_tokens(algorithm, task: Task, tokens: np.ndarray, budget: int, coins, params=None, debug: bool = False):
    """Run an algorithm over explicit streams of a task's layout; returns (outputs, violating steps per trial).

    The outputs have the answers' shape: one per stream, or streams x Q for a task with Q queries (the engine
    calls ``output`` after each of the task's query positions)."""
    budget = check_budget(budget)
    tokens = np.ascontiguousarray(tokens, dtype=np.int32)
    queries = np.asarray(task.query_positions, dtype=np.int64)
    if tokens.ndim != 2 or tokens.shape[1] != queries[-1] + 1:
        raise ValueError(f"streams of {task.name} at {task.size_name} = {task.n} have {task.length} tokens, "
                         f"got shape {tokens.shape}")
    if params is None:
        params = algorithm.make_params(task, budget, coins)
    frozen = params.copy()
    outputs = np.empty((tokens.shape[0], queries.shape[0]), dtype=np.int64)
    violations = np.empty(tokens.shape[0], dtype=np.int64)
    _runner(algorithm, debug, task.queries > 1)(
        tokens, state_words(budget), tail_mask(budget), params, np.uint64(coins), queries, outputs, violations
    )
    if not np.array_equal(params, frozen):
        raise BudgetViolation(f"algorithm {algorithm.name!r} changed its params during a run")
    if debug and violations.any():
        raise BudgetViolation(
            f"algorithm {algorithm.name!r} set bits past its budget of {budget} bits "
            f"after {int(violations.sum())} steps"
        )
    return (outputs[:, 0] if task.queries == 1 else outputs), violations


@dataclass(frozen=True)
class CellResult:
    successes: int  # answers right (over every query of every stream)
    trials: int  # streams
    seconds: float
    queries: int = 1  # answers scored per stream

    @property
    def scored(self) -> int:
        return self.trials * self.queries


def run_cell(algorithm, task: Task, budget: int, trials: int, seed: int, debug: bool = False) -> CellResult:
    """Right answers of an algorithm at a budget on `trials` streams of a task with a seed (chunked)."""
    t0 = time.perf_counter()
    coins = coins_for(seed)
    params = algorithm.make_params(task, check_budget(budget), coins)
    successes = 0
    for batch in task.chunks(seed, trials):
        outputs, _ = run_tokens(algorithm, task, batch.tokens, budget, coins, params=params, debug=debug)
        successes += int(np.count_nonzero(outputs == batch.answers))
    return CellResult(successes=successes, trials=int(trials), seconds=time.perf_counter() - t0,
                      queries=task.queries)


def _make_state_runner(step):
    @njit(parallel=True, error_model="numpy")
    def state_runner(tokens, mask, params, coins, states):
        trials, length = tokens.shape
        last = states.shape[1] - 1
        for i in prange(trials):
            state = states[i]
            state[:] = 0
            row = tokens[i]
            for t in range(length):
                step(state, row[t], t, params, coins)
                state[last] &= mask

    return state_runner


_STATE_RUNNERS: dict = {}


def cut_states(algorithm, task: Task, prefixes: np.ndarray, budget: int, coins, params=None) -> np.ndarray:
    """The b-bit states an algorithm holds after reading each of Alice's parts (one row of uint64 words each).

    Equal rows mean the algorithm cannot tell the two parts apart: Bob's part then gets the same answer.
    """
    if algorithm.step not in _STATE_RUNNERS:
        _STATE_RUNNERS[algorithm.step] = _make_state_runner(algorithm.step)
    prefixes = np.ascontiguousarray(prefixes, dtype=np.int32)
    if params is None:
        params = algorithm.make_params(task, check_budget(budget), coins)
    states = np.empty((prefixes.shape[0], state_words(budget)), dtype=np.uint64)
    _STATE_RUNNERS[algorithm.step](prefixes, tail_mask(budget), params, np.uint64(coins), states)
    return states
