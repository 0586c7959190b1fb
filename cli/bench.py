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


def coder_benchmark(n: int, trials: int, algorithm: str, seed: int, echo=print) -> list:
    """The trellis coder against the bounds at b/n = 0.1 .. 0.9: success, interval, gap, tokens per second."""
    from commcomplexity.bounds import random_code_success, sphere_success
    from commcomplexity.stats import clopper_pearson
    from streaming.algorithms import get_algorithm
    from streaming.engine import run_cell
    from streaming.tasks import make_task

    alg = get_algorithm("index", algorithm)
    task = make_task("index", n)
    run_cell(alg, make_task("index", 64), 32, 4, seed)  # compile outside the timing
    echo(f"{algorithm} on index, n = {n}, {trials} streams per row (the peak state is the budget at every step)")
    echo(f"{'b/n':>4} {'b':>6} {'success':>8} {'95% interval':>17} {'sphere':>8} {'random':>8} {'gap':>7} "
         f"{'M tok/s':>8}  settings")
    rows = []
    for tenth in range(1, 10):
        b = round(tenth * n / 10)
        res = run_cell(alg, task, b, trials, seed)
        p = res.successes / res.trials
        low, high = clopper_pearson(res.successes, res.trials)
        sphere = float(sphere_success(n, b))
        rand = float(random_code_success(n, b))
        rate = trials * task.length / res.seconds
        rows.append((b, p, low, high, sphere, rand, sphere - p, rate))
        echo(f"{tenth / 10:4.1f} {b:6d} {p:8.4f} [{low:.4f}, {high:.4f}] {sphere:8.4f} {rand:8.4f} {sphere - p:7.4f} "
             f"{rate / 1e6:8.2f}  {alg.settings(n, b)}")
    echo(f"largest gap to the sphere bound: {max(r[6] for r in rows):.4f}")
    return rows
