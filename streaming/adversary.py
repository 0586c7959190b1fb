"""Certified fooling pairs: the lower-bound proof run as a search.

A b-bit streaming algorithm with fixed public coins maps Alice's part x to a b-bit state. Two parts x != x'
with the same state give the same answer on both full streams with any Bob part, so for a query k with
x_k != x'_k one of the two is answered wrongly. Search, cheapest first:
1. single-bit flips of a random x: a bit the state ignores;
2. certified (b + 1 <= 27): vary the last b + 1 positions of Alice's part over all 2^(b+1) settings, the rest
   fixed; by pigeonhole two settings share a state, so for a deterministic algorithm the search cannot fail;
3. birthday (larger b): random parts until two share a state (about sqrt(pi/2 * 2^b) tries), within a time
   limit, saying so honestly when it gives up.
Every witness is checked by re-running both full streams before it is reported. Every task works through its
reduction: the search runs over the m Index bits and builds Alice's part of the task's hard stream from them (an
IsTree witness is two edge lists, and Bob's edge).
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass

import numpy as np

from .algorithms import get_algorithm
from .engine import check_budget, coins_for, cut_states, run_tokens
from .tasks import make_task
from .tokens import render

FORMAT = "streambound-witness"
FORMAT_VERSION = 2  # 2: coins drawn from their own seed (version 1 files derived them from the stream seed)
CERTIFIED_MAX_BITS = 26
CHUNK = 1 << 20


class WitnessError(ValueError):
    """A witness file that is unreadable, tampered with, or does not hold."""


@dataclass
class SearchResult:
    witness: dict | None
    method: str
    tries: int
    seconds: float
    message: str


def _alice_tokens(task, x: np.ndarray) -> np.ndarray:
    """Alice's part of the task's hard stream for each row of x (it does not depend on the query)."""
    x = np.atleast_2d(x)
    tokens, _, cut = task.reduce(x, np.ones(x.shape[0], dtype=np.int64))
    return np.ascontiguousarray(tokens[:, :cut])


def _keys(states: np.ndarray) -> np.ndarray:
    """One uint64 per state row (the row itself when it is one word; a mix of the words otherwise)."""
    if states.shape[1] == 1:
        return states[:, 0].copy()
    key = np.zeros(states.shape[0], dtype=np.uint64)
    with np.errstate(over="ignore"):
        for w in range(states.shape[1]):
            key = (key ^ states[:, w]) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(w + 1)
    return key


def _first_collision(keys: np.ndarray, states: np.ndarray):
    """Indices (i, j) of two rows with equal states, or None."""
    order = np.argsort(keys, kind="stable")
    sk = keys[order]
    same = np.flatnonzero(sk[1:] == sk[:-1])
    for p in same:
        i, j = int(order[p]), int(order[p + 1])
        if np.array_equal(states[i], states[j]):
            return i, j
    return None


def _both_streams(algorithm, task, budget, coins, params, x, xp, k):
    """(states at the cut, full streams, answers, outputs) of the two Alice parts with Bob's query k (with several
    queries, every one asks k; the first answer is the one compared)."""
    states = cut_states(algorithm, task, _alice_tokens(task, np.stack([x, xp])), budget, coins, params=params)
    streams, answers, _ = task.reduce(np.stack([x, xp]), np.array([k, k]))
    outputs, _ = run_tokens(algorithm, task, streams, budget, coins, params=params)
    first = (slice(None), 0) if task.queries > 1 else slice(None)
    return states, streams, answers[first], outputs[first]


def _make_witness(algorithm, task, budget, seed, coins, params, x, xp, method, tries, seconds) -> dict:
    n = task.n
    diff = np.flatnonzero(x != xp)
    k = int(diff[0]) + 1
    states, streams, answers, outputs = _both_streams(algorithm, task, budget, coins, params, x, xp, k)
    if not np.array_equal(states[0], states[1]) or outputs[0] != outputs[1] or answers[0] == answers[1]:
        raise RuntimeError("internal error: a reported collision does not hold")
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "task": algorithm.task,
        "task_options": task.options(),
        "algorithm": algorithm.name,
        "n": int(n),
        "budget": int(budget),
        "seed": int(seed),
        "coins": str(int(coins)),
        "x": "".join(map(str, x.tolist())),
        "x_prime": "".join(map(str, xp.tolist())),
        "k": k,
        "state": "".join(f"{int(w):016x}" for w in states[0][::-1]),
        "answer": int(outputs[0]),
        "correct": [int(answers[0]), int(answers[1])],
        "stream": render(streams[0]),
        "stream_prime": render(streams[1]),
        "method": method,
        "tries": int(tries),
        "seconds": round(float(seconds), 3),
    }


def _single_bit(algorithm, task, budget, coins, params, x0):
    """x0 with one Index bit flipped that leaves the state unchanged, or None."""
    m = x0.shape[0]
    flips = np.repeat(x0[None], m + 1, axis=0)
    flips[np.arange(1, m + 1), np.arange(m)] ^= 1
    states = cut_states(algorithm, task, _alice_tokens(task, flips), budget, coins, params=params)
    same = np.flatnonzero((states[1:] == states[0]).all(axis=1))
    return flips[same[0] + 1] if same.size else None


def find_witness(algorithm, task, budget: int, seed: int = 0, time_limit: float = 10.0,
                 certified_max_bits: int = CERTIFIED_MAX_BITS, single_bit: bool = True) -> SearchResult:
    """Search two Alice parts that the algorithm (public coins fixed by the seed) cannot tell apart.

    `task` is a task with its hard distribution; the search runs over the m embedded Index bits and builds the
    streams through the task's reduction."""
    check_budget(budget)
    if getattr(algorithm, "generating", False):
        raise ValueError(f"{algorithm.name!r} reads the context through the retrieval environment: it is no "
                         f"streaming algorithm, and fooling pairs at the cut do not bind it")
    if time_limit <= 0:
        raise ValueError(f"time limit must be positive, got {time_limit}")
    if not task.hard:
        raise ValueError(f"the witness search runs on the hard distribution of {task.name}, not {task.distribution}")
    m = task.index_size
    t0 = time.perf_counter()
    coins = coins_for(seed)
    params = algorithm.make_params(task, budget, coins)
    rng = np.random.default_rng(seed)
    x0 = rng.integers(0, 2, size=m).astype(np.int64)

    def done(x, xp, method, tries):
        w = _make_witness(algorithm, task, budget, seed, coins, params, x, xp, method, tries,
                          time.perf_counter() - t0)
        return SearchResult(w, method, tries, time.perf_counter() - t0, f"witness found by {method} search")

    def states_of(xs):
        return cut_states(algorithm, task, _alice_tokens(task, xs), budget, coins, params=params)

    tries = 0
    # 1. single-bit flips
    if single_bit:
        result = _single_bit(algorithm, task, budget, coins, params, x0)
        if result is not None:
            return done(x0, result, "single-bit", m + 1)
        tries = m + 1

    # 2. certified: all settings of the last v Index bits (v = b + 1 when b < m; every x when m is small)
    v = budget + 1 if budget < m else m
    if v <= certified_max_bits + 1 and v <= m:
        fixed = m - v
        all_keys, all_states = [], []
        total = 1 << v
        lo, chunk = 0, 1 << 12  # chunks grow: a collision usually shows up after about 2^(b/2) settings
        while lo < total:
            hi = min(total, lo + chunk)
            chunk = min(2 * chunk, CHUNK)
            settings = np.arange(lo, hi, dtype=np.int64)
            xs = np.repeat(x0[None], hi - lo, axis=0)
            xs[:, fixed:] = (settings[:, None] >> np.arange(v)) & 1
            st = states_of(xs)
            tries += hi - lo
            all_keys.append(_keys(st))
            all_states.append(st)
            keys = np.concatenate(all_keys)
            states_all = np.concatenate(all_states)
            hit = _first_collision(keys, states_all)
            if hit is not None:
                i, j = hit
                x, xp = x0.copy(), x0.copy()
                x[fixed:] = (i >> np.arange(v)) & 1
                xp[fixed:] = (j >> np.arange(v)) & 1
                return done(x, xp, "certified", tries)
            lo = hi
        seconds = time.perf_counter() - t0
        if budget >= m:
            return SearchResult(None, "certified", tries, seconds,
                                f"no witness exists: all 2^{m} Alice parts leave distinct states "
                                f"(the algorithm can be exact with b = {budget} >= m = {m})")
        raise RuntimeError("pigeonhole violated: 2^(b+1) parts in distinct b-bit states")

    if budget >= m:  # too many parts to enumerate, and no pigeonhole: a fooling pair need not exist at all
        return SearchResult(None, "skipped", tries, time.perf_counter() - t0,
                            f"b = {budget} >= m = {m}: the state can hold all of x, so a fooling pair need not "
                            f"exist, and 2^{m} parts are too many to enumerate (use b < m)")

    # 3. birthday search over random parts
    expected = math.sqrt(math.pi / 2 * 2.0 ** min(budget, m))
    all_keys, all_states, all_x = [], [], []
    chunk = 1 << 14
    while time.perf_counter() - t0 < time_limit:
        xs = rng.integers(0, 2, size=(chunk, m)).astype(np.int64)
        st = states_of(xs)
        tries += chunk
        all_keys.append(_keys(st))
        all_states.append(st)
        all_x.append(xs)
        hit = _first_collision(np.concatenate(all_keys), np.concatenate(all_states))
        if hit is not None:
            xall = np.concatenate(all_x)
            i, j = hit
            if not np.array_equal(xall[i], xall[j]):
                return done(xall[i], xall[j], "birthday", tries)
        chunk = min(chunk * 2, CHUNK)
    seconds = time.perf_counter() - t0
    return SearchResult(None, "birthday", tries, seconds,
                        f"gave up after {tries} tries in {seconds:.1f} s (a birthday search expects about "
                        f"{expected:.3g} tries at b = {budget}); raise --time-limit")


_FIELDS = {"format": str, "version": int, "task": str, "task_options": dict, "algorithm": str, "n": int,
           "budget": int, "seed": int, "coins": str, "x": str, "x_prime": str, "k": int, "state": str, "answer": int,
           "correct": list, "stream": str, "stream_prime": str, "method": str}


def load_witness(path) -> dict:
    try:
        with open(path) as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise WitnessError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WitnessError(f"{path}: not a readable witness file ({exc.__class__.__name__})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise WitnessError(f"{path}: not a streambound witness file")
    for key, kind in _FIELDS.items():
        if not isinstance(data.get(key), kind) or (kind is int and isinstance(data.get(key), bool)):
            raise WitnessError(f"{path}: field {key!r} is missing or not a {kind.__name__}")
    if data["version"] != FORMAT_VERSION:
        raise WitnessError(f"{path}: witness format version {data['version']} is not supported")
    try:
        task = make_task(data["task"], data["n"], **data["task_options"])
    except (ValueError, TypeError) as exc:
        raise WitnessError(f"{path}: {exc}") from None
    m = task.index_size
    for key in ("x", "x_prime"):
        if len(data[key]) != m or set(data[key]) - {"0", "1"}:
            raise WitnessError(f"{path}: field {key!r} must be {m} bits")
    try:
        check_budget(data["budget"])
    except ValueError as exc:
        raise WitnessError(f"{path}: {exc}") from None
    if not 1 <= data["k"] <= m:
        raise WitnessError(f"{path}: k out of range")
    data["_task"] = task
    return data


def _could_come_from(method: str, x, xp, m: int, budget: int, seed: int) -> bool:
    """Whether the search `method` with this seed could have produced the pair: its random start x0 is a function
    of the seed; the single-bit pass returns x0 and one flip of it; the certified search varies only the last
    v = min(b + 1, m) positions of x0; the birthday search draws fresh parts."""
    x0 = np.random.default_rng(seed).integers(0, 2, size=m).astype(np.int64)
    if method == "single-bit":
        return bool(np.array_equal(x, x0) and np.count_nonzero(x != xp) == 1)
    if method == "certified":
        fixed = m - (budget + 1 if budget < m else m)
        return bool(np.array_equal(x[:fixed], x0[:fixed]) and np.array_equal(xp[:fixed], x0[:fixed]))
    return method == "birthday"


def replay(path) -> dict:
    """Re-run both streams from scratch; return a summary, or raise WitnessError when the witness fails."""
    data = load_witness(path)
    task = data["_task"]
    try:
        algorithm = get_algorithm(data["task"], data["algorithm"])
    except ValueError as exc:
        raise WitnessError(f"{path}: {exc}") from None
    if algorithm.generating:
        raise WitnessError(f"{path}: {algorithm.name!r} reads the context through the retrieval environment; a "
                           f"witness at the cut says nothing about it")
    n, budget, k = data["n"], data["budget"], data["k"]
    try:
        coins = coins_for(data["seed"])
    except ValueError as exc:
        raise WitnessError(f"{path}: {exc}") from None
    if data["coins"] != str(int(coins)):
        raise WitnessError(f"{path}: the recorded coins are not those of seed {data['seed']}")
    x = np.array([int(c) for c in data["x"]], dtype=np.int64)
    xp = np.array([int(c) for c in data["x_prime"]], dtype=np.int64)
    diff = np.flatnonzero(x != xp)
    if x[k - 1] == xp[k - 1]:
        raise WitnessError(f"{path}: x and x' agree at k = {k}, so the pair proves nothing")
    if k != int(diff[0]) + 1:
        raise WitnessError(f"{path}: k is not the first position where x and x' differ")
    if not _could_come_from(data["method"], x, xp, task.index_size, budget, data["seed"]):
        raise WitnessError(f"{path}: the pair could not have come from a {data['method']!r} search with seed "
                           f"{data['seed']}")
    params = algorithm.make_params(task, budget, coins)
    states, streams, answers, outputs = _both_streams(algorithm, task, budget, coins, params, x, xp, k)
    if not np.array_equal(states[0], states[1]):
        raise WitnessError(f"{path}: the witness does not hold: the two parts leave different states")
    state_hex = "".join(f"{int(w):016x}" for w in states[0][::-1])
    if state_hex != data["state"]:
        raise WitnessError(f"{path}: the recorded state does not match the re-run")
    if outputs[0] != outputs[1] or int(outputs[0]) != data["answer"]:
        raise WitnessError(f"{path}: the recorded answer does not match the re-run")
    correct = [int(answers[0]), int(answers[1])]
    if data["correct"] != correct:
        raise WitnessError(f"{path}: the recorded correct answers do not match the re-run")
    if data.get("stream") != render(streams[0]) or data.get("stream_prime") != render(streams[1]):
        raise WitnessError(f"{path}: the recorded streams do not match the re-run")
    wrong = 0 if outputs[0] != correct[0] else 1
    return {"algorithm": algorithm.name, "n": n, "budget": budget, "k": k, "state": state_hex,
            "answer": int(outputs[0]), "correct": correct, "wrong_stream": wrong}
