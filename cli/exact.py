"""`streambound exact` and figures/exact.png: the true limit at small sizes, by enumeration and integer programs."""
from __future__ import annotations

from pathlib import Path

import numpy as np

EXACT_COLUMNS = ("task", "m", "bits", "reader", "success", "status", "seconds")
PALETTE = ("C0", "C1", "C2", "C4", "C5", "C6", "C7", "C8", "C9")  # red is the optimum's
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def exact_rows(m: int, bits_list, seed: int = 0, time_limit: float = 60.0, algorithms=None, progress=None,
               task_name: str = "index", c: int = 3):
    """Rows for every b: the optimum (with its status), the sphere and Fano bounds, each algorithm's exact success
    on the task's hard distribution (every x, every k, through the reduction)."""
    from commcomplexity.reductions import size_for_index_size
    from streaming.tasks import make_task
    from commcomplexity.bounds import fano_success, sphere_success
    from commcomplexity.protocols import exact_success, optimal_protocol
    from streaming.algorithms import algorithms_for
    from streaming.engine import coins_for

    if m < 1 or m > 16:
        raise ValueError(f"exact analysis needs 1 <= m <= 16, got {m}")
    algs = algorithms if algorithms is not None else algorithms_for(task_name)
    coins = coins_for(seed)
    options = {"c": c} if task_name == "cgram" else {}
    task = make_task(task_name, size_for_index_size(task_name, m, c), **options)
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
            rows.append(dict(reader=alg.name, success=float(exact_success(alg, m, b, coins, task=task)),
                             status="exact", seconds=0.0))
        for r in rows:
            r.update(task=task_name, m=m, bits=b)
            yield r
        if progress is not None:
            progress()


def write_exact_csv(rows, path) -> Path:
    from streaming.results import write_table

    return write_table(rows, path, EXACT_COLUMNS, floats=("success", "seconds"))


def plot_exact(csv_path, out) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from streaming.results import read_table

    from .plotting import check_output_path

    out = check_output_path(out)
    rows = read_table(csv_path, EXACT_COLUMNS, "exact-analysis")
    ms = sorted({int(r["m"]) for r in rows})
    fig, axes = plt.subplots(1, len(ms), figsize=(3.6 * len(ms), 4.2), squeeze=False, sharey=True)
    readers = [r for r in dict.fromkeys(r["reader"] for r in rows) if r not in ("optimum", "optimum-upper",
                                                                                 "sphere", "fano")]
    for ax, m in zip(axes[0], ms):
        mine = [r for r in rows if int(r["m"]) == m]

        def series(name):
            pts = sorted((int(r["bits"]), float(r["success"]), r["status"]) for r in mine if r["reader"] == name)
            return pts

        sphere = series("sphere")
        ax.fill_between([p[0] for p in sphere], [p[1] for p in sphere], 1.02, color="#d62728", alpha=0.08, lw=0,
                        label="impossible")
        ax.plot([p[0] for p in sphere], [p[1] for p in sphere], color="black", lw=1.5, label="sphere bound")
        fano = series("fano")
        ax.plot([p[0] for p in fano], [p[1] for p in fano], color="black", ls="--", lw=1, label="Fano bound")
        for i, name in enumerate(readers):
            pts = series(name)
            ax.plot([p[0] for p in pts], [p[1] for p in pts], color=PALETTE[i % len(PALETTE)],
                    marker=MARKERS[i % len(MARKERS)], ms=4, mfc="none", lw=0.9, alpha=0.9, label=name)
        opt = series("optimum")
        proven = [p for p in opt if p[2] in ("optimal", "trivial")]
        other = [p for p in opt if p[2] not in ("optimal", "trivial")]
        ax.plot([p[0] for p in opt], [p[1] for p in opt], color="#d62728", lw=1.2, zorder=4)
        ax.scatter([p[0] for p in proven], [p[1] for p in proven], color="#d62728", s=28, zorder=5,
                   label="optimal protocol (proven)")
        if other:
            ax.scatter([p[0] for p in other], [p[1] for p in other], facecolor="white", edgecolor="#d62728",
                       s=28, zorder=5, label="best found (time limit)")
        upper = series("optimum-upper")
        if upper:
            ax.scatter([p[0] for p in upper], [p[1] for p in upper], marker="v", color="#d62728", s=22, zorder=5,
                       label="optimum's proven upper bound")
        ax.axhline(0.5, color="0.4", ls=":", lw=0.9)
        ax.set_title(f"m = {m}")
        ax.set_xlabel("message bits b")
        ax.set_xticks(range(0, m + 1))
        ax.set_ylim(0.45, 1.02)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("exact success (every x, every k)")
    handles, labels = axes[0][-1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(6, len(labels)), fontsize=8, frameon=False)
    fig.suptitle("Index at small m, exact over every input: the optimal one-way protocol (k-median integer "
                 "program) against the bounds and the registered streaming algorithms (coinciding lines overlap)",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0.1, 1, 0.95))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130)
    plt.close(fig)
    return out
