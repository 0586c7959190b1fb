"""The sweeps behind every committed figure, and the scaling measurement (fewest bits for success 0.9)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

FIGURES = ("index", "exact", "istree", "recall", "counting", "scaling")

#: the readers on figures/index.png (trellis-best is left out: at n = 1024 it costs minutes per budget)
INDEX_ALGORITHMS = "prefix,majority,subset,blockcode,trellis-fast,trellis"


def figure_sweeps(name: str):
    """(task, n, distribution, options, algorithms, budgets) for each sweep behind a figure."""
    from streaming.algorithms.istree import unionfind_bits
    from streaming.tasks.istree import bell_bits

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


# --- scaling: the fewest bits for success 0.9, by bisection on the budget ------------------------------------------
SCALING = [("index", "prefix"), ("index", "blockcode"), ("recall", "blockcode"), ("cgram", "blockcode"),
           ("counting", "blockcode"), ("istree", "star-blockcode"), ("istree", "unionfind")]
SCALING_SIZES = (64, 256, 1024, 4096, 16384)
SCALING_COLUMNS = ("task", "n", "m", "reader", "target", "bits", "bits_low", "bits_high", "bound_bits", "trials",
                   "seed", "version")


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


def scaling_row(task_name: str, n: int, reader: str, trials: int, seed: int, target: float = 0.9) -> dict:
    from commcomplexity.bounds import fewest_bits, sphere_success
    from commcomplexity.stats import clopper_pearson
    from streaming import __version__
    from streaming.algorithms import get_algorithm
    from streaming.algorithms.istree import unionfind_bits
    from streaming.engine import run_cell
    from streaming.tasks import make_task

    task = make_task(task_name, n)
    alg = get_algorithm(task_name, reader)
    top = unionfind_bits(n) if reader == "unionfind" else task.index_size + 1
    cache = {}

    def success_at(b):
        if b not in cache:
            res = run_cell(alg, task, b, trials, seed)
            cache[b] = (res.successes / trials, *clopper_pearson(res.successes, trials))
        return cache[b]

    bits = _fewest(success_at, top, lambda s: s[0] >= target)
    low = _fewest(success_at, top, lambda s: s[2] >= target)  # optimistic end: upper limit reaches the target
    high = _fewest(success_at, top, lambda s: s[1] >= target)  # pessimistic end: lower limit reaches it
    m = task.index_size
    return dict(task=task_name, n=n, m=m, reader=reader, target=target, bits=bits, bits_low=low, bits_high=high,
                bound_bits=fewest_bits(sphere_success, m, target), trials=trials, seed=seed, version=__version__)


def scaling_cells(max_n: int = SCALING_SIZES[-1]):
    for task_name, reader in SCALING:
        for n in SCALING_SIZES:
            if n > max_n or (reader == "unionfind" and n > 1024):
                continue  # union-find without path compression costs O(N^2) per stream
            yield task_name, n, reader


def write_scaling(rows, path) -> Path:
    from streaming.results import write_table

    return write_table(rows, path, SCALING_COLUMNS)


def plot_scaling(csv_path, out) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from commcomplexity.info import binary_entropy
    from streaming.results import read_table

    from .plotting import check_output_path

    out = check_output_path(out)
    rows = read_table(csv_path, SCALING_COLUMNS, "scaling")
    fig, ax = plt.subplots(figsize=(8.5, 6.5))
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    palette = {t: f"C{i}" for i, t in enumerate(tasks)}
    markers = ("o", "s", "^", "D")
    for t in tasks:
        mine = sorted((r for r in rows if r["task"] == t), key=lambda r: int(r["n"]))
        sizes = sorted({int(r["n"]) for r in mine})
        m = np.array([int(next(r["m"] for r in mine if int(r["n"]) == s)) for s in sizes])
        target = float(mine[0]["target"])
        ax.plot(sizes, m * (1 - binary_entropy(1 - target)), color=palette[t], ls="--", lw=1,
                label=f"{t}: bound m(n) (1 - H({1 - target:.1f}))")
        for j, reader in enumerate(dict.fromkeys(r["reader"] for r in mine)):
            rs = [r for r in mine if r["reader"] == reader]
            n = np.array([int(r["n"]) for r in rs])
            b = np.array([int(r["bits"]) for r in rs], dtype=float)
            lo = np.array([int(r["bits_low"]) for r in rs], dtype=float)
            hi = np.array([int(r["bits_high"]) for r in rs], dtype=float)
            ax.errorbar(n, b, yerr=[b - lo, hi - b], color=palette[t], marker=markers[j % len(markers)], ms=5,
                        lw=1.2, capsize=3, label=f"{t}: {reader}")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xlabel("task size n (tokens; nodes N for istree)")
    ax.set_ylabel(f"fewest state bits for success {float(rows[0]['target']):g} (bisection, 95% interval)")
    ax.set_title("The Omega(n) lower bounds, measured: slope one on log-log axes\n"
                 "(union-find's N log N memory is the steeper line)", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="upper left", ncol=2)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130)
    plt.close(fig)
    return out
