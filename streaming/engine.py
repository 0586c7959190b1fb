"""The budget-enforcing runner: the one place a budgeted algorithm meets a stream.

The budget contract (DESIGN.md). An algorithm is ``plan`` (plain Python, run once per cell before any stream
exists: it sees only n, b and the public coins, so it cannot see the input), and two numba-compiled pure
functions ``step(state, token, t, params, coins)`` and ``output(state, params, coins) -> answer``. The engine
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


def _make_runner(step, output, debug: bool):
    @njit(parallel=True, error_model="numpy")
    def runner(tokens, nwords, mask, params, coins, outputs, violations):
        trials, length = tokens.shape
        last = nwords - 1
        for i in prange(trials):
            state = np.zeros(nwords, np.uint64)
            row = tokens[i]
            bad = 0
            for t in range(length):
                step(state, row[t], t, params, coins)
                if debug:
                    if state[last] & ~mask:
                        bad += 1
                state[last] &= mask
            outputs[i] = output(state, params, coins)
            violations[i] = bad

    return runner


_RUNNERS: dict = {}


def _runner(algorithm, debug: bool):
    key = (algorithm.task, algorithm.name, debug)
    if key not in _RUNNERS:
        _RUNNERS[key] = _make_runner(algorithm.step, algorithm.output, debug)
    return _RUNNERS[key]


def coins_for(seed: int) -> np.uint64:
    """The public coins of a cell, derived from its seed (distinct from the stream's own randomness)."""
    return np.uint64((int(seed) * 0x9E3779B97F4A7C15 + 0x5851F42D4C957F2D) % (1 << 64))


class BudgetViolation(RuntimeError):
    """An algorithm wrote past its budget (debug mode) or changed its params during a run."""


def run_tokens(algorithm, tokens: np.ndarray, n: int, budget: int, coins, params=None, debug: bool = False,
               task=None):
    """Run an algorithm over explicit streams; returns (outputs int64 per trial, violating steps per trial)."""
    if int(budget) != budget or budget < 0:
        raise ValueError(f"budget must be a non-negative integer, got {budget!r}")
    tokens = np.ascontiguousarray(tokens, dtype=np.int32)
    if params is None:
        params = algorithm.make_params(n, int(budget), coins, task=task)
    frozen = params.copy()
    outputs = np.empty(tokens.shape[0], dtype=np.int64)
    violations = np.empty(tokens.shape[0], dtype=np.int64)
    _runner(algorithm, debug)(
        tokens, state_words(budget), tail_mask(budget), params, np.uint64(coins), outputs, violations
    )
    if not np.array_equal(params, frozen):
        raise BudgetViolation(f"algorithm {algorithm.name!r} changed its params during a run")
    if debug and violations.any():
        raise BudgetViolation(
            f"algorithm {algorithm.name!r} set bits past its budget of {budget} bits "
            f"after {int(violations.sum())} steps"
        )
    return outputs, violations


@dataclass(frozen=True)
class CellResult:
    successes: int
    trials: int
    seconds: float


def run_cell(algorithm, task: Task, budget: int, trials: int, seed: int, debug: bool = False) -> CellResult:
    """Success count of an algorithm at a budget on `trials` streams of a task with a seed (chunked)."""
    t0 = time.perf_counter()
    coins = coins_for(seed)
    params = algorithm.make_params(task.n, int(budget), coins, task=task)
    successes = 0
    for batch in task.chunks(seed, trials):
        outputs, _ = run_tokens(algorithm, batch.tokens, task.n, budget, coins, params=params, debug=debug)
        successes += int(np.count_nonzero(outputs == batch.answers))
    return CellResult(successes=successes, trials=int(trials), seconds=time.perf_counter() - t0)


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


def cut_states(algorithm, prefixes: np.ndarray, budget: int, coins, n: int, params=None) -> np.ndarray:
    """The b-bit states an algorithm holds after reading each of Alice's parts (one row of uint64 words each).

    Equal rows mean the algorithm cannot tell the two parts apart: Bob's part then gets the same answer.
    """
    key = (algorithm.task, algorithm.name)
    if key not in _STATE_RUNNERS:
        _STATE_RUNNERS[key] = _make_state_runner(algorithm.step)
    prefixes = np.ascontiguousarray(prefixes, dtype=np.int32)
    if params is None:
        params = algorithm.make_params(n, int(budget), coins)
    states = np.empty((prefixes.shape[0], state_words(budget)), dtype=np.uint64)
    _STATE_RUNNERS[key](prefixes, tail_mask(budget), params, np.uint64(coins), states)
    return states
