"""Benchmarks that print ratios measured in one run (never timed unit tests); `streambound bench` calls them."""
from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numba
import numpy as np
from numba import njit

from commcomplexity.bounds import random_code_success, sphere_success
from commcomplexity.stats import clopper_pearson

from .adversary import find_witness
from .algorithms import algorithms_for, get_algorithm
from .algorithms.registry import Algorithm
from .bits import get_bits, read_answer, set_bits
from .engine import coins_for, run_cell, run_tokens
from .results import read_rows
from .rng import mix64
from .sweep import plan_cells, run_sweep
from .tasks import make_task
from .tokens import NUM0


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
            params = alg.make_params(task, b, coins)
            run_tokens(alg, task, tokens[:2], b, coins, params=params)  # compile outside the timing
            secs, numpy_secs = _best_pair(lambda: run_tokens(alg, task, tokens, b, coins, params=params),
                                          lambda: tokens.sum(), repeats)
            rate, numpy_rate = count / secs, count / numpy_secs
            out[name] = rate / numpy_rate
            echo(f"  engine {name:10s} b = {b:5d}: {rate / 1e9:6.3f} G tokens/s; numpy sum of the same tokens "
                 f"{numpy_rate / 1e9:6.3f} G tokens/s; ratio {rate / numpy_rate:.2f}")
    _seal_costs(task, tokens, repeats, echo, out)
    return out


def _seal_costs(task, tokens, repeats: int, echo, out: dict) -> None:
    """What the seal costs, measured in the same run: debug mode against normal mode (prefix), and a sealed sweep
    (seeds from the OS, every cell planned before the stream seed is drawn) against a normal one."""
    alg, b, coins = get_algorithm("index", "prefix"), task.n // 2, coins_for(0)
    run_tokens(alg, task, tokens[:2], b, coins, debug=True)  # compile outside the timing
    debug, normal = _best_pair(lambda: run_tokens(alg, task, tokens, b, coins, debug=True),
                               lambda: run_tokens(alg, task, tokens, b, coins), repeats)
    out["debug_slowdown"] = debug / normal
    echo(f"  debug mode (guard words, bits past b, highest bit) prefix: {tokens.size / debug / 1e9:6.3f} G tokens/s, "
         f"{debug / normal:.2f} x the time of normal mode")
    cells = plan_cells("index", [1024], "prefix,subset,blockcode", 2000, 0, budgets=list(range(0, 1025, 128)))
    with tempfile.TemporaryDirectory() as tmp:
        run_sweep(cells[:1], Path(tmp) / "warm.csv")
        sealed, plain = _best_pair(lambda: run_sweep(cells, Path(tmp) / f"s{time.perf_counter()}.csv", sealed=True),
                                   lambda: run_sweep(cells, Path(tmp) / f"n{time.perf_counter()}.csv"), repeats)
    out["sealed_ratio"] = sealed / plain
    echo(f"  sealed sweep of {len(cells)} cells (index n = 1024, 2,000 streams each): {sealed:.3f} s; normal: "
         f"{plain:.3f} s; ratio {sealed / plain:.3f}")


def coder_benchmark(n: int, trials: int, algorithm: str, seed: int, echo=print) -> list:
    """The trellis coder against the bounds at b/n = 0.1 .. 0.9: success, interval, gap, tokens per second."""
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
             f"{rate / 1e6:8.2f}  {alg.settings(task, b)}")
    echo(f"largest gap to the sphere bound: {max(r[6] for r in rows):.4f}")
    return rows


def _hash_algorithm():
    """A stress test for the search, not a registered algorithm: the state is a b-bit hash of everything read,
    so states look uniform and a collision needs about 2^(b/2) parts (the hardest case short of pigeonhole)."""
    @njit
    def step(state, token, t, params, coins):
        width = min(params[1], 64)
        h = mix64(get_bits(state, 0, width) ^ (np.uint64(token) << np.uint64(32)) ^ np.uint64(t))
        set_bits(state, 0, width, h)

    return Algorithm(name="uniform-hash", task="index", summary="", memory="b",
                     plan=lambda task, b, c: np.array([task.n, b]), step=step, output=read_answer,
                     used_bits=lambda task, b: b)


def adversary_benchmark(n: int, budgets=(16, 20, 24), echo=print) -> dict:
    """Seconds for a certified witness (the single-bit pass skipped) for every registered Index algorithm."""
    task = make_task("index", n)
    echo(f"certified witness search, index, n = {n} (single-bit pass skipped; seconds, parts tried)")
    echo(f"{'algorithm':14s}" + "".join(f"{'b = ' + str(b):>22s}" for b in budgets))
    out = {}
    for alg in algorithms_for("index") + [_hash_algorithm()]:
        find_witness(alg, task, 4, seed=0, single_bit=False)  # compile outside the timing
        cells = []
        for b in budgets:
            r = find_witness(alg, task, b, seed=0, single_bit=False)
            out[(alg.name, b)] = r.seconds
            cells.append(f"{r.seconds:8.2f} s {r.tries:>10d}")
        echo(f"{alg.name:14s}" + "".join(f"{c:>22s}" for c in cells))
    return out


def train_benchmark(n: int, steps: int, batch: int, device: str, families, echo=print, scans: bool = True) -> dict:
    """Training tokens per second (forward, backward, clipping, AdamW step: `train`'s own step) of each family's `tiny`
    reader on Index streams of size n, timed after two warm-up steps; ratios to the first family, measured in the same
    run. With `scans`, also Mamba's `mambapy` parallel scan against transformers' sequential reference scan (same
    weights, same batches, steps timed alternately so both see the same machine): out["mambapy_ratio"]."""
    import torch

    from .neural.train import pick_device, quiet_numba

    if n < 1 or steps < 1 or batch < 1:
        raise ValueError("n, steps and batch must be positive")
    dev = pick_device(device)
    if dev.type == "cpu":
        torch.set_flush_denormal(True)
    with quiet_numba():
        out = _time_families(n, steps, batch, dev, families, echo)
        if scans:
            out.update(_time_mamba_scans(n, steps, batch, dev, families[0], out[families[0]], echo))
        return out


def _trainer(family, task, dev, use_mambapy=None):
    """A tiny reader, its optimizer, and a function running `train`'s own step i on it: (loss, seconds)."""
    import torch

    from .neural.models import build_model, config_for, set_mamba_scan
    from .neural.train import training_seed, training_step

    torch.manual_seed(0)
    model = build_model(config_for(family, "tiny", NUM0 + task.vocab, task.length)).to(dev).train()
    if use_mambapy is not None:
        set_mamba_scan(model, use_mambapy)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)

    def step(i, batch):
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        t0 = time.perf_counter()
        loss, _ = training_step(model, optimizer, task, training_seed(0, i), batch, dev)  # what `train` runs
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        return loss, time.perf_counter() - t0

    return model, step


def _rate_line(label, model, seconds, steps, rate, first, first_rate) -> str:
    from .neural.models import trainable_parameters

    return (f"  {label:>9}: {trainable_parameters(model):>7} parameters, {seconds / steps * 1e3:8.1f} ms a step, "
            f"{rate / 1e3:9.1f} k tokens/s, {rate / first_rate:6.3f} x {first}")


def _time_families(n, steps, batch, dev, families, echo) -> dict:
    import torch

    task = make_task("index", n)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    echo(f"training speed, index n = {n} ({task.length} tokens a stream), batch {batch}, {steps} timed steps, "
         f"size tiny, device {name}")
    out = {}
    for family in families:
        model, step = _trainer(family, task, dev)
        for i in range(2):
            step(i, batch)
        seconds = sum(step(2 + i, batch)[1] for i in range(steps))
        rate = steps * batch * task.length / seconds
        out[family] = rate
        echo(_rate_line(family, model, seconds, steps, rate, families[0], out[families[0]]))
    return out


def _time_mamba_scans(n, steps, batch, dev, first, first_rate, echo) -> dict:
    """Mamba (tiny) with the mambapy parallel scan and with the sequential reference scan, steps alternated."""
    from .neural.models import mambapy_available

    task = make_task("index", n)
    if not mambapy_available():
        echo("  mamba scans: mambapy is not installed (pip install mambapy, or the models extra), so only the "
             "reference scan runs; no ratio")
        return {}
    parallel, step_parallel = _trainer("mamba", task, dev, use_mambapy=True)
    reference, step_reference = _trainer("mamba", task, dev, use_mambapy=False)
    for i in range(2):
        step_parallel(i, batch)
        step_reference(i, batch)
    seconds = {"mambapy": 0.0, "reference": 0.0}
    gap = 0.0  # the two scans train the same model on the same batches: their losses agree
    for i in range(steps):
        loss_p, sec_p = step_parallel(2 + i, batch)
        loss_r, sec_r = step_reference(2 + i, batch)
        seconds["mambapy"] += sec_p
        seconds["reference"] += sec_r
        gap = max(gap, abs(loss_p - loss_r))
    tokens = steps * batch * task.length
    rates = {k: tokens / v for k, v in seconds.items()}
    echo("mamba's training scan, tiny (steps alternated between the two scans; same weights, same batches):")
    for label, model in (("mambapy", parallel), ("reference", reference)):
        echo(_rate_line(label, model, seconds[label], steps, rates[label], first, first_rate) +
             ("  (mambapy parallel scan)" if label == "mambapy" else "  (sequential reference scan)"))
    ratio = rates["mambapy"] / rates["reference"]
    echo(f"  mambapy scan: {ratio:.2f} x the reference scan's tokens/s (target >= 3); losses agree to {gap:.1e}")
    return {"mamba_mambapy": rates["mambapy"], "mamba_reference": rates["reference"], "mambapy_ratio": ratio}


def format_benchmark(n: int, steps: int, batch: int, device: str, families, echo=print) -> dict:
    """Training tokens per second of each family's `tiny` reader in each IsTree format (authors' graphs at N = n;
    `train`'s own steps: the answer-token step for vanilla, the masked trace step for cot and retrieval), counting
    the tokens of the sequences (padding left out), timed after one warm-up step. Returns {(family, fmt): rate}."""
    import torch

    from .formats import FORMATS, build, sequence_length
    from .neural.models import build_model, config_for
    from .neural.train import pick_device, quiet_numba, trace_step, training_seed, training_step

    if n < 4 or steps < 1 or batch < 1:
        raise ValueError("N >= 4, steps and batch must be positive")
    dev = pick_device(device)
    task = make_task("istree", n, "authors")
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    echo(f"training speed by format, istree N = {n} (authors' graphs), batch {batch}, {steps} timed steps, size "
         f"tiny, device {name}")
    out = {}
    with quiet_numba():
        for family in families:
            for fmt in FORMATS:
                torch.manual_seed(0)
                model = build_model(config_for(family, "tiny", NUM0 + task.vocab, sequence_length(task, fmt)))
                model = model.to(dev).train()
                optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
                seconds = tokens = 0.0
                for i in range(steps + 1):
                    seed = training_seed(0, i)
                    if dev.type == "cuda":
                        torch.cuda.synchronize(dev)
                    t0 = time.perf_counter()
                    if fmt == "vanilla":
                        training_step(model, optimizer, task, seed, batch, dev)
                    else:
                        trace_step(model, optimizer, task, fmt, seed, batch, dev)
                    if dev.type == "cuda":
                        torch.cuda.synchronize(dev)
                    if i:  # the first step warms up
                        seconds += time.perf_counter() - t0
                        tokens += batch * task.length if fmt == "vanilla" else \
                            float(build(task, task.batch(seed, 0, batch), fmt).lengths.sum())
                out[(family, fmt)] = tokens / seconds
                echo(f"  {family:>8} {fmt:>9}: {tokens / (steps * batch):7.1f} tokens a sequence, "
                     f"{seconds / steps * 1e3:8.1f} ms a step, {tokens / seconds / 1e3:8.1f} k tokens/s")
    return out


def _warm(cells) -> None:
    """Compile every cell's algorithm in this process (one stream each)."""
    work = Path(tempfile.mkdtemp())
    for i, cell in enumerate({(c.task, c.algorithm): c for c in cells}.values()):
        run_sweep([replace(cell, trials=1)], work / f"warm{i}.csv")


def _comparable(path) -> list:
    return sorted(tuple((k, v) for k, v in r.items() if k != "seconds") for r in read_rows(path))


def cluster_benchmark(workers: int, n: int, algorithm: str, trials: int, budgets, echo=print,
                      tiny_cells: int = 200) -> dict:
    """The same sweep in process and on a local Dask cluster of `workers` processes, in one run: the speed-up as
    a ratio (against the in-process run with numba's threads on every core, as a sweep runs by default, and
    against one thread), whether the rows are the same, and the cluster's overhead per cell (tiny cells)."""
    from .cluster import Fanout, connect

    cells = plan_cells("index", [n], algorithm, trials, 0, budgets=list(budgets))
    tiny = plan_cells("index", [64], "prefix", 1, 0, budgets=list(range(tiny_cells)))
    out, work = {}, Path(tempfile.mkdtemp())
    _warm(cells + tiny)

    def timed(grid, path, **kw):
        t0 = time.perf_counter()
        run_sweep(grid, path, **kw)
        return time.perf_counter() - t0

    threads = numba.get_num_threads()
    out["serial_s"] = timed(cells, work / "serial.csv")
    numba.set_num_threads(1)
    try:
        out["one_thread_s"] = timed(cells, work / "one.csv")
        out["tiny_serial_s"] = timed(tiny, work / "tiny-serial.csv")
    finally:
        numba.set_num_threads(threads)
    t0 = time.perf_counter()
    with connect(Fanout(workers)) as client:
        out["start_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        client.run(_warm_worker, cells[:1] + tiny[:1])  # every worker compiles before the timing
        out["warm_s"] = time.perf_counter() - t0
        out["cluster_s"] = timed(cells, work / "cluster.csv", client=client)
        out["tiny_cluster_s"] = timed(tiny, work / "tiny-cluster.csv", client=client)
    out["same_rows"] = _comparable(work / "serial.csv") == _comparable(work / "cluster.csv")
    out["speedup"] = out["serial_s"] / out["cluster_s"]
    out["speedup_one_thread"] = out["one_thread_s"] / out["cluster_s"]
    out["overhead_ms"] = 1000 * (out["tiny_cluster_s"] - out["tiny_serial_s"]) / tiny_cells
    echo(f"Index n = {n}, {algorithm}, {len(cells)} cells of {trials} streams; a local cluster of {workers} "
         f"worker processes (one thread each) against the same sweep in this process:")
    echo(f"  {f'in process (numba on {threads} threads)':36s}{out['serial_s']:8.2f} s")
    echo(f"  {'in process (one numba thread)':36s}{out['one_thread_s']:8.2f} s")
    echo(f"  {'on the cluster':36s}{out['cluster_s']:8.2f} s   (start {out['start_s']:.1f} s, "
         f"first compile in each worker {out['warm_s']:.1f} s, not counted)")
    echo(f"  speed-up {out['speedup']:.2f}x over the in-process sweep, {out['speedup_one_thread']:.2f}x over one "
         f"thread; the same rows: {'yes' if out['same_rows'] else 'NO'}")
    echo(f"  overhead per cell on the cluster: {out['overhead_ms']:.1f} ms ({tiny_cells} one-stream cells: "
         f"{out['tiny_cluster_s']:.2f} s there, {out['tiny_serial_s']:.2f} s in process)")
    return out


def _warm_worker(cells) -> None:
    from .cluster import worker_setup

    worker_setup()
    _warm(cells)
