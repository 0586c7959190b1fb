"""Exact success at small sizes: every x in {0,1}^m and every query k, through a task's reduction.

``exact_success`` enumerates an algorithm's success on a task's hard distribution; ``exact_rows`` lays out, for
each budget, the optimal one-way protocol (commcomplexity.protocols), the sphere and Fano bounds, and every
registered algorithm's exact success: the rows behind `streambound exact` and figures/exact.png.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from commcomplexity.bounds import fano_success, sphere_success
from commcomplexity.protocols import cube, optimal_protocol

from .algorithms import algorithms_for
from .engine import coins_for, run_tokens
from .tasks import make_task, task_class

EXACT_COLUMNS = ("task", "m", "bits", "reader", "success", "status", "seconds")
MAX_M = 16


def exact_success(algorithm, task, bits: int, coins) -> Fraction:
    """An algorithm's exact success on a task's hard distribution: every x in {0,1}^m and every k, through the
    task's reduction (with several queries per stream, every one asks k)."""
    m = task.index_size
    if m > MAX_M:
        raise ValueError(f"exact enumeration is for m <= {MAX_M}, got {m}")
    words = cube(m).astype(np.int64)
    right = 0
    for lo in range(0, len(words), 4096):  # chunks keep the streams of large tasks small
        chunk = words[lo : lo + 4096]
        x = np.repeat(chunk, m, axis=0)
        k = np.tile(np.arange(1, m + 1), len(chunk))
        tokens, answers, _ = task.reduce(x, k)
        outputs, _ = run_tokens(algorithm, task, tokens, bits, coins)
        right += int(np.count_nonzero(outputs == answers))
    return Fraction(right, len(words) * m * task.queries)


def task_for_index_size(name: str, m: int, **options):
    """The task (hard distribution) whose hard stream embeds exactly m Index bits."""
    cls = task_class(name)
    return make_task(name, cls.size_for(m, **options), **options)


def exact_rows(task, bits_list, seed: int = 0, time_limit: float = 60.0, algorithms=None, progress=None):
    """Rows for every b: the optimum (with its status), the sphere and Fano bounds, each algorithm's exact success
    on the task's hard distribution (every x, every k, through the reduction); `seed` is the coin seed."""
    m = task.index_size
    if not 1 <= m <= MAX_M:
        raise ValueError(f"exact analysis needs 1 <= m <= {MAX_M}, got {m}")
    algs = algorithms if algorithms is not None else algorithms_for(task.name)
    coins = coins_for(seed)
    for b in bits_list:
        opt = optimal_protocol(m, b, time_limit=time_limit) if m <= 10 else None
        rows = []
        if opt is not None:
            rows.append(dict(reader="optimum", success=opt.success, status=opt.status, seconds=opt.seconds))
            if not opt.proven and np.isfinite(opt.upper):
                rows.append(dict(reader="optimum-upper", success=opt.upper, status="dual bound", seconds=0.0))
        rows.append(dict(reader="sphere", success=float(sphere_success(m, b)), status="bound", seconds=0.0))
        rows.append(dict(reader="fano", success=float(fano_success(m, b)), status="bound", seconds=0.0))
        for alg in algs:
            rows.append(dict(reader=alg.name, success=float(exact_success(alg, task, b, coins)),
                             status="exact", seconds=0.0))
        for r in rows:
            r.update(task=task.name, m=m, bits=b)
            yield r
        if progress is not None:
            progress()
