"""Benchmarks that print ratios measured in one run (never timed unit tests)."""
from __future__ import annotations

import time

import numpy as np


def _best(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


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
    numpy_s = _best(lambda: tokens.sum(), repeats)
    echo(f"index, n = {n}, {trials} trials = {count / 1e6:.1f} M tokens; numba threads: {numba.get_num_threads()}")
    echo(f"  numpy sum of the same int32 tokens: {count / numpy_s / 1e9:6.3f} G tokens/s")
    out = {"numpy": count / numpy_s}
    coins = coins_for(0)
    for name in algorithms:
        alg = get_algorithm("index", name)
        for b in (n // 2,):
            params = alg.make_params(n, b, coins)
            run_tokens(alg, tokens[:2], n, b, coins, params=params)  # compile outside the timing
            secs = _best(lambda: run_tokens(alg, tokens, n, b, coins, params=params), repeats)
            rate = count / secs
            out[name] = rate
            echo(f"  engine {name:10s} b = {b:5d}:       {rate / 1e9:6.3f} G tokens/s   "
                 f"ratio to numpy {rate / out['numpy']:.2f}")
    return out
