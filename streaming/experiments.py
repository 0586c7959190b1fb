"""The figure pipelines as library code: the sweeps behind every committed figure, the exact analysis grid, and the
scaling measurement (the fewest bits for success 0.9, by bisection on the budget). The CLI only calls these and
draws; the probe figure's pipeline lives in ``streaming.neural.pipeline`` (it needs torch)."""
from __future__ import annotations

import numpy as np

from commcomplexity.bounds import fewest_bits, sphere_success
from commcomplexity.everystep import every_step_optimum, every_step_success, searchable
from commcomplexity.stats import clopper_pearson

from . import __version__
from .algorithms import get_algorithm
from .algorithms.istree import unionfind_bits
from .engine import run_cell
from .exact import exact_rows
from .sweep import plan_cells
from .tasks import make_task
from .tasks.istree import bell_bits

#: the figures `streambound figures all` draws (probe is apart: it trains neural runs)
FIGURES = ("index", "exact", "istree", "recall", "counting", "scaling")

#: the readers on figures/index.png (trellis-best is left out: at n = 1024 it costs minutes per budget)
INDEX_ALGORITHMS = "prefix,majority,subset,blockcode,trellis-fast,trellis"
#: streams per cell of each sweep figure
FIGURE_TRIALS = {"index": 4000}
DEFAULT_FIGURE_TRIALS = 2000


def figure_sweeps(name: str):
    """(task, n, distribution, options, algorithms, budgets) for each sweep behind a figure."""
    if name == "index":
        return [("index", 1024, "uniform", {}, INDEX_ALGORITHMS, list(range(0, 1025, 64)))]
    if name == "istree":
        out = []
        for n_nodes, step in ((64, 25), (256, 125)):
            top = unionfind_bits(n_nodes)
            budgets = sorted(set(range(0, top + step, step)) | {bell_bits(n_nodes), top})
            out.append(("istree", n_nodes, "hard", {}, "unionfind,partial-unionfind,star-coder", budgets))
            out.append(("istree", n_nodes, "permutation", {}, "unionfind,partial-unionfind", budgets))
        return out
    if name == "recall":
        return [("recall", 256, "hard", {}, "prefix,blockcode,trellis,table", list(range(0, 257, 16))),
                ("recall", 256, "natural", {"keys": 256, "values": 4}, "table", list(range(0, 1025, 64)))]
    if name == "counting":
        return [("counting", 256, "hard", {}, "counters,countmin,blockcode,trellis", list(range(0, 257, 16))),
                ("counting", 256, "natural", {"alphabet": 32, "threshold": 7}, "counters,countmin",
                 list(range(0, 161, 10)))]
    raise ValueError(f"no sweep for figure {name!r}")


#: streams per cell of the retrieval readers' series (their traces are decoded one stream at a time in Python)
RETRIEVAL_TRIALS = 400


def retrieval_sweeps(name: str):
    """The retrieval readers drawn beside each sweep's algorithms (a separate series: Theorems 5.2 and 5.3): at no
    bits, one bit short of what the machine needs, what it needs, and twice that."""
    out = []
    for task_name, n, distribution, options, _, _ in figure_sweeps(name):
        task = make_task(task_name, n, distribution, **options)
        if "retrieval" not in task.formats:
            continue
        reader = "retrieval-dfs" if task_name == "istree" else "retrieval-lookup"
        need = get_algorithm(task_name, reader).used_bits(task, 1 << 12)
        out.append((task_name, n, distribution, options, reader, [0, need - 1, need, 2 * need]))
    return out


def figure_cells(name: str, trials: int | None, seed: int, coin_seed: int = 0) -> list:
    """The cells behind a sweep figure: one list per sweep (each sweep audits its cells together), the retrieval
    readers' series last (at most RETRIEVAL_TRIALS streams a cell)."""
    trials = trials or FIGURE_TRIALS.get(name, DEFAULT_FIGURE_TRIALS)
    return [plan_cells(task, [n], algorithms, trials if i < len(figure_sweeps(name)) else
                       min(trials, RETRIEVAL_TRIALS), seed, budgets=budgets, distribution=distribution,
                       coin_seed=coin_seed, **options)
            for i, (task, n, distribution, options, algorithms, budgets)
            in enumerate(figure_sweeps(name) + retrieval_sweeps(name))]


# --- exact analysis at small m ------------------------------------------------------------------------------------
EXACT_SIZES = range(4, 9)


def exact_figure_rows(seed: int, progress=None, time_limit: float = 30.0, client=None, failures=None) -> list:
    """Index at m = 4..8, every budget 0..m: the rows behind figures/exact.png. `seed` is the algorithms' coin
    seed (the analysis enumerates every input: there is no stream seed). `progress()` is told of each (m, b).
    With a Dask `client` each (m, b) is a unit of work on the cluster (rows in the serial order all the same);
    a unit that failed there goes to `failures` as ((m, b), error) and its rows are left out."""
    units = [(m, b) for m in EXACT_SIZES for b in range(0, m + 1)]
    if client is None:
        rows = []
        for m, b in units:
            rows.extend(exact_unit(m, b, seed, time_limit))
            if progress is not None:
                progress()
        return rows
    from .cluster import fan_out, loaded_plugins

    found, plugins = {}, loaded_plugins()
    for i, rows, error in fan_out(client, _exact_on_worker, [(m, b, seed, time_limit, plugins) for m, b in units]):
        if progress is not None:
            progress()
        if error is not None:
            if failures is not None:
                failures.append((units[i], error))
            continue
        found[i] = rows
    return [row for i in sorted(found) for row in found[i]]


def exact_unit(m: int, b: int, seed: int, time_limit: float) -> list:
    """The exact figure's rows at one (m, b): the one-way optimum, the bounds, every Index algorithm, and the
    every-step optimum wherever it is known (searched, under a second at these sizes, or a closed form)."""
    rows = list(exact_rows(make_task("index", m), [b], seed=seed, time_limit=time_limit))
    if searchable(m, b) or every_step_success(m, b) is not None:
        if searchable(m, b):
            found = every_step_optimum(m, b)
            value, status, seconds = found.success, found.status, found.seconds
        else:
            value, status, seconds = every_step_success(m, b), "optimal (table)", 0.0
        rows.append(dict(task="index", m=m, bits=b, reader="every-step", success=float(value), status=status,
                         seconds=seconds))
    return rows


def _exact_on_worker(m: int, b: int, seed: int, time_limit: float, plugins: tuple) -> list:
    from .cluster import worker_setup

    worker_setup(plugins)  # every registered Index algorithm is drawn: the driver's plugins too
    return exact_unit(m, b, seed, time_limit)


def exact_figure_steps() -> int:
    return sum(m + 1 for m in EXACT_SIZES)


# --- scaling: the fewest bits for success 0.9, by bisection on the budget ------------------------------------------
SCALING = [("index", "prefix"), ("index", "blockcode"), ("index", "trellis"), ("recall", "blockcode"), ("cgram", "blockcode"),
           ("counting", "blockcode"), ("istree", "star-blockcode"), ("istree", "unionfind")]
SCALING_SIZES = (64, 256, 1024, 4096, 16384)
#: the largest IsTree N union-find is run at on the scaling figure
UNIONFIND_MAX = 4096
SCALING_COLUMNS = ("task", "n", "m", "reader", "target", "bits", "bits_low", "bits_high", "bound_bits", "trials",
                   "seed", "coin_seed", "version")


def _fewest(success_at, top: int, ok) -> int:
    """Smallest b in [0, top] with ok(success_at(b)), assuming monotone success (top when none)."""
    lo, hi = -1, top
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(success_at(mid)):
            hi = mid
        else:
            lo = mid
    return hi


def scaling_row(task_name: str, n: int, reader: str, trials: int, seed: int, target: float = 0.9,
                coin_seed: int = 0) -> dict:
    task = make_task(task_name, n)
    alg = get_algorithm(task_name, reader)
    top = unionfind_bits(n) if reader == "unionfind" else task.index_size + 1
    cache = {}

    def success_at(b):
        if b not in cache:
            res = run_cell(alg, task, b, trials, seed, coin_seed=coin_seed)
            cache[b] = (res.successes / trials, *clopper_pearson(res.successes, trials))
        return cache[b]

    bits = _fewest(success_at, top, lambda s: s[0] >= target)
    low = _fewest(success_at, top, lambda s: s[2] >= target)  # optimistic end: upper limit reaches the target
    high = _fewest(success_at, top, lambda s: s[1] >= target)  # pessimistic end: lower limit reaches it
    m = task.index_size
    return dict(task=task_name, n=n, m=m, reader=reader, target=target, bits=bits, bits_low=low, bits_high=high,
                bound_bits=fewest_bits(sphere_success, m, target), trials=trials, seed=seed, coin_seed=coin_seed,
                version=__version__)


def scaling_cells(max_n: int = SCALING_SIZES[-1]):
    for task_name, reader in SCALING:
        for n in SCALING_SIZES:
            if n > max_n or (reader == "unionfind" and n > UNIONFIND_MAX):
                continue  # union-find without path compression costs O(N^2) per stream (worst case)
            yield task_name, n, reader


def _scaling_unit(task_name: str, n: int, reader: str, trials: int, seed: int, coin_seed: int,
                  plugins: tuple) -> dict:
    from .cluster import worker_setup

    worker_setup(plugins)
    return scaling_row(task_name, n, reader, trials, seed, coin_seed=coin_seed)


def scaling_rows(cells, trials: int, seed: int, coin_seed: int, client=None, progress=None, failures=None):
    """Yield a scaling row per (task, n, reader) as each finishes: in process one after another, or each as a unit
    of work on a Dask client (a bisection is sequential: the cells are what spreads). Cells that failed on the
    cluster go to `failures` as (cell, error)."""
    cells = list(cells)
    if client is None:
        for cell in cells:
            row = scaling_row(*cell, trials, seed, coin_seed=coin_seed)
            if progress is not None:
                progress(1)
            yield row
        return
    from .cluster import fan_out, loaded_plugins

    # the longest cells first (the largest n), so that the short ones fill in around them
    order = sorted(range(len(cells)), key=lambda i: -cells[i][1])
    jobs = [(*cells[i], trials, seed, coin_seed, loaded_plugins()) for i in order]
    for j, row, error in fan_out(client, _scaling_unit, jobs):
        if progress is not None:
            progress(1)
        if error is not None:
            if failures is not None:
                failures.append((cells[order[j]], error))
            continue
        yield row


def fewest_bits_for(task, key: str, success: float):
    """Fewest b with task.bounds(b)[key] >= success, or None when the task has no such curve."""
    def value(_m, b):
        return float(np.asarray(task.bounds([b])[key]).reshape(-1)[0])

    if not np.isfinite(value(None, 0)):
        return None
    return fewest_bits(value, task.index_size, success)
