"""The budget-enforcing runner: the one place a budgeted algorithm meets a stream.

The budget contract (DESIGN.md). An algorithm is ``plan`` (plain Python, run once per cell before any stream
exists: it sees only the task's description, b and the public coins, so it cannot see the input), and two
numba-compiled pure functions ``step(state, token, t, params, coins)`` and ``output(state, params, coins) ->
answer``, which the engine calls after each of the task's query positions (one, at the end, for most tasks). The
engine owns the state: exactly b bits, held in ceil(b/64) uint64 words (one word when b = 0), and it clears every
bit past b after every step. Nothing else survives from one token to the next: temporaries made inside ``step``
die when it returns. Free by convention: the position t, the public coins and the params.

Sealed (see ``seal.py`` for the static half):
- the public coins come from their own seed (``coins_for(coin_seed)``, a hash in a domain of its own), never from
  the stream seed, so they reveal nothing about the streams; with ``sealed_seeds`` both seeds come from the
  operating system's entropy at run time;
- ``params`` reach ``step`` and ``output`` read-only: a write fails to compile (and is refused in one line);
- ``step`` and ``output`` must be compiled code without object mode, foreign calls or writable globals, checked
  before a runner is built; runners are cached by the compiled functions themselves, never by name;
- in debug mode the state is followed by guard words (a write past the state array is caught), every step is
  checked for bits past b, and the highest bit ever set is measured and held against the declared ``used_bits``.

A run is therefore a valid one-way protocol with a b-bit message at every cut, and the bounds apply to it.
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import numpy as np
from numba import njit, prange
from numba.core.errors import NumbaError

from .rng import mix64
from .seal import check_compiled
from .tasks.base import Task

#: the coins' own key domain (a coin seed is hashed with it; no stream is ever drawn from it)
COINS_DOMAIN = 0xC0175EA1ED5EED05
#: seeds given on the command line lie below this; training streams use seeds at or above it (their own domain)
SEED_LIMIT = 1 << 62
#: guard words after the state in debug mode: a write into them is a write past the state array
GUARD_WORDS = 4


def state_words(budget: int) -> int:
    return max(1, (int(budget) + 63) // 64)


def tail_mask(budget: int) -> np.uint64:
    """Mask of the bits of the last word that lie inside the budget."""
    used = int(budget) - 64 * (state_words(budget) - 1)
    if used <= 0:
        return np.uint64(0)
    return np.uint64((1 << used) - 1)


def _make_runner(step, output, several: bool):
    """One specialised loop per (algorithm, several queries). With one query the loop reads the whole stream and
    asks once at the end (the tight loop the engine's speed is measured on); with several it reads up to each
    query position and asks there."""
    @njit(parallel=True, error_model="numpy")
    def runner(tokens, nwords, mask, params, coins, queries, outputs):
        trials, length = tokens.shape
        last = nwords - 1
        for i in prange(trials):
            state = np.zeros(nwords, np.uint64)
            row = tokens[i]
            if several:
                t0 = 0
                for j in range(queries.shape[0]):
                    for t in range(t0, queries[j] + 1):
                        step(state, row[t], t, params, coins)
                        state[last] &= mask
                    t0 = queries[j] + 1
                    outputs[i, j] = output(state, params, coins)
            else:
                for t in range(length):
                    step(state, row[t], t, params, coins)
                    state[last] &= mask
                outputs[i, 0] = output(state, params, coins)

    return runner


@njit(inline="always")
def _bit_length(word):
    """Position of the highest set bit plus one (binary search over shifts)."""
    n = 0
    for shift in (32, 16, 8, 4, 2, 1):
        if word >> np.uint64(shift):
            word >>= np.uint64(shift)
            n += shift
    return n + (1 if word else 0)


def _make_debug_runner(step, output):
    """The checked loop: guard words after the state, bits past b counted, the highest bit ever set measured."""
    @njit(parallel=True, error_model="numpy")
    def runner(tokens, nwords, mask, params, coins, queries, outputs, violations, top_bits):
        trials = tokens.shape[0]
        last = nwords - 1
        for i in prange(trials):
            buffer = np.zeros(nwords + GUARD_WORDS, np.uint64)
            state = buffer[:nwords]
            row = tokens[i]
            bad = 0
            top = 0
            t0 = 0
            for j in range(queries.shape[0]):
                for t in range(t0, queries[j] + 1):
                    step(state, row[t], t, params, coins)
                    for g in range(nwords, nwords + GUARD_WORDS):
                        if buffer[g] != 0:
                            bad += 1
                            buffer[g] = 0
                    if state[last] & ~mask:
                        bad += 1
                    state[last] &= mask
                    # only bits at or above the highest one seen so far can raise it: look at those words alone
                    for w in range(nwords - 1, (top >> 6) - 1, -1):
                        word = state[w]
                        if w == top >> 6:
                            word >>= np.uint64(top & 63)
                        if word != 0:
                            top = 64 * w + _bit_length(state[w])
                            break
                t0 = queries[j] + 1
                outputs[i, j] = output(state, params, coins)
            violations[i] = bad
            top_bits[i] = top

    return runner


#: compiled runners by the compiled functions themselves (two algorithms under one name never share one)
_RUNNERS: dict = {}


def _runner(algorithm, debug: bool, several: bool):
    key = (algorithm.step, algorithm.output, debug, several)
    if key not in _RUNNERS:
        check_compiled(algorithm.step, "step", algorithm.name)
        check_compiled(algorithm.output, "output", algorithm.name)
        _RUNNERS[key] = _make_debug_runner(algorithm.step, algorithm.output) if debug else \
            _make_runner(algorithm.step, algorithm.output, several)
    return _RUNNERS[key]


def coins_for(coin_seed: int) -> np.uint64:
    """The public coins of a cell: a hash of its own coin seed in the coins' key domain (independent of the
    streams, which are drawn from the stream seed)."""
    h = int(mix64(np.uint64(check_seed_value(coin_seed, "coin seed") ^ COINS_DOMAIN)))
    return np.uint64(mix64(np.uint64((h + COINS_DOMAIN) % (1 << 64))))


def check_seed_value(seed, what: str = "seed") -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < SEED_LIMIT:
        raise ValueError(f"{what} must be an integer in 0..2^62 - 1, got {seed!r}")
    return int(seed)


def sealed_seed() -> int:
    """A seed from the operating system's entropy: unknown to any code before it is drawn."""
    return secrets.randbelow(SEED_LIMIT)


def sealed_seeds() -> tuple:
    """(stream seed, coin seed), each from the operating system's entropy."""
    return sealed_seed(), sealed_seed()


class BudgetViolation(RuntimeError):
    """An algorithm wrote past its budget or its declared memory (debug mode), or broke the sealed contract."""


#: the largest state the engine holds: 2^24 bits (2 MiB a stream), far above any task's m at the sizes it runs
MAX_BUDGET = 1 << 24


def check_budget(budget) -> int:
    if isinstance(budget, bool) or int(budget) != budget or not 0 <= budget <= MAX_BUDGET:
        raise ValueError(f"budget must be an integer in 0..{MAX_BUDGET} bits, got {budget!r}")
    return int(budget)


def _sealed_params(params: np.ndarray) -> np.ndarray:
    """A read-only view of the params: a step or output that writes them fails to compile."""
    view = np.ascontiguousarray(params, dtype=np.int64).view()
    view.setflags(write=False)
    return view


def _compile_guard(algorithm, call):
    try:
        return call()
    except NumbaError as exc:
        first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
        raise BudgetViolation(f"algorithm {algorithm.name!r} does not compile against the sealed contract "
                              f"(params and coins are read-only): {first[:200]}") from None


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
    params = _sealed_params(params)
    outputs = np.empty((tokens.shape[0], queries.shape[0]), dtype=np.int64)
    violations = np.zeros(tokens.shape[0], dtype=np.int64)
    args = (tokens, state_words(budget), tail_mask(budget), params, np.uint64(coins), queries, outputs)
    if debug:
        top_bits = np.zeros(tokens.shape[0], dtype=np.int64)
        _compile_guard(algorithm, lambda: _runner(algorithm, True, True)(*args, violations, top_bits))
        if violations.any():
            raise BudgetViolation(f"algorithm {algorithm.name!r} set bits past its budget of {budget} bits (or past "
                                  f"the state array) after {int(violations.sum())} steps")
        declared = int(algorithm.used_bits(task, budget))
        if tokens.shape[0] and int(top_bits.max()) > declared:
            raise BudgetViolation(f"algorithm {algorithm.name!r} set state bit {int(top_bits.max()) - 1} at b = "
                                  f"{budget}: it holds more than the {declared} bits its used_bits declares")
    else:
        _compile_guard(algorithm, lambda: _runner(algorithm, False, task.queries > 1)(*args))
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


def run_cell(algorithm, task: Task, budget: int, trials: int, seed: int, debug: bool = False,
             coin_seed: int = 0, params=None, start: int = 0) -> CellResult:
    """Right answers of an algorithm at a budget on `trials` streams of a task drawn with the stream seed (trials
    start .. start + trials - 1: a part of a larger cell, as the fan-out runs it; the streams are the same bytes
    however a cell is split), the public coins drawn from the coin seed (chunked). `params` planned beforehand may
    be passed (a sealed sweep plans every cell before it draws its stream seed)."""
    t0 = time.perf_counter()
    coins = coins_for(coin_seed)
    if params is None:
        params = algorithm.make_params(task, check_budget(budget), coins)
    if isinstance(trials, bool) or int(trials) != trials or trials < 1:
        raise ValueError(f"trials must be a positive integer, got {trials!r}")
    seed, step = check_seed_value(seed), task.chunk_trials()
    successes = 0
    for lo in range(int(start), int(start) + int(trials), step):
        batch = task.batch(seed, lo, min(step, int(start) + int(trials) - lo))
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
        check_compiled(algorithm.step, "step", algorithm.name)
        _STATE_RUNNERS[algorithm.step] = _make_state_runner(algorithm.step)
    prefixes = np.ascontiguousarray(prefixes, dtype=np.int32)
    if params is None:
        params = algorithm.make_params(task, check_budget(budget), coins)
    states = np.empty((prefixes.shape[0], state_words(budget)), dtype=np.uint64)
    _compile_guard(algorithm, lambda: _STATE_RUNNERS[algorithm.step](prefixes, tail_mask(budget),
                                                                     _sealed_params(params), np.uint64(coins), states))
    return states
