"""Benchmarks that print ratios measured in one run (never timed unit tests)."""
from __future__ import annotations

import time

import numpy as np


def _best_pair(fn, reference, repeats: int):
    """Best-of-`repeats` seconds of fn and of reference, timed alternately so both see the same machine."""
    best, best_ref = float("inf"), float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        t1 = time.perf_counter()
        reference()
        t2 = time.perf_counter()
        best, best_ref = min(best, t1 - t0), min(best_ref, t2 - t1)
    return best, best_ref


def engine_benchmark(n: int, trials: int, repeats: int, echo=print, algorithms=("prefix", "blockcode")) -> dict:
    import numba

    from streaming.algorithms import get_algorithm
    from streaming.engine import coins_for, run_tokens
    from streaming.tasks import make_task

    if n < 1 or trials < 1 or repeats < 1:
        raise ValueError("n, trials and repeats must be positive")
    task = make_task("index", n)
    batch = task.batch(0, 0, trials)
    tokens = batch.tokens
    count = tokens.size
    echo(f"index, n = {n}, {trials} trials = {count / 1e6:.1f} M tokens; numba threads: {numba.get_num_threads()}")
    out = {}
    coins = coins_for(0)
    for name in algorithms:
        alg = get_algorithm("index", name)
        for b in (n // 2,):
            params = alg.make_params(n, b, coins)
            run_tokens(alg, tokens[:2], n, b, coins, params=params)  # compile outside the timing
            secs, numpy_secs = _best_pair(lambda: run_tokens(alg, tokens, n, b, coins, params=params),
                                          lambda: tokens.sum(), repeats)
            rate, numpy_rate = count / secs, count / numpy_secs
            out[name] = rate / numpy_rate
            echo(f"  engine {name:10s} b = {b:5d}: {rate / 1e9:6.3f} G tokens/s; numpy sum of the same tokens "
                 f"{numpy_rate / 1e9:6.3f} G tokens/s; ratio {rate / numpy_rate:.2f}")
    return out
