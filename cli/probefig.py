"""figures/probe.png: trained readers' success against their state bits as the precision drops, beside the budgeted
algorithms and the exact bound on the same Index streams, and the linear capacity C of their states.

The pipeline trains the runs it lacks (resuming unfinished ones), probes every run at every precision, sweeps the
algorithms at the same n and seed, and draws the figure. Everything is kept: runs in `runs/`, rows in `results/`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

PRECISIONS = (1, 2, 3, 4, 6, 8, 12, 16, 32)
ALGORITHMS = "prefix,blockcode,trellis"
CAPACITY_COLUMNS = ("task", "n", "m", "reader", "family", "precision", "state_bits", "success", "capacity_bits",
                    "trials", "seed", "version")


@dataclass(frozen=True)
class ProbeRun:
    family: str
    size: str
    n: int
    steps: int
    lr: float

    @property
    def name(self) -> str:
        return f"probe-{self.family}-n{self.n}"


#: the runs behind figures/probe.png (CPU: about half an hour of training on 2 cores, done once; see the README)
PROBE_RUNS = (
    ProbeRun("lstm", "small", 32, 20000, 3e-3),
    ProbeRun("lstm", "small", 64, 30000, 3e-3),
    ProbeRun("mamba2", "tiny", 32, 6000, 2e-3),
    ProbeRun("mamba2", "tiny", 64, 8000, 2e-3),
    ProbeRun("llama", "tiny", 32, 4000, 1e-3),
    ProbeRun("llama", "tiny", 64, 4000, 1e-3),
)


def run_complete(path: Path, steps: int) -> bool:
    import json

    try:
        return json.loads((path / "config.json").read_text()).get("steps_done", 0) >= steps
    except (OSError, ValueError):
        return False


def probe_rows(model, meta: dict, run_dir, task, precisions, trials: int, seed: int):
    """(ordinary result row, capacity row) of a loaded run at each precision, yielded as each is measured."""
    from streaming import __version__
    from streaming.neural.train import probe_model, reader_name
    from streaming.sweep import make_row

    for p, ok, bits, c in probe_model(model, task, precisions, trials, seed):
        reader = reader_name(meta, run_dir, p)
        yield (make_row(task, reader, bits, bits, ok, trials, seed, 0.0, cells=len(precisions)),
               dict(task=task.name, n=task.n, m=task.index_size, reader=reader, family=meta["model"]["family"],
                    precision=p, state_bits=bits, success=f"{ok / trials:.6f}", capacity_bits=f"{c:.4f}",
                    trials=trials, seed=seed, version=__version__))


def _model_label(reader: str) -> tuple[str, str]:
    """('lstm:probe-lstm-n32', '8') from 'lstm:probe-lstm-n32@8'."""
    run, _, precision = reader.rpartition("@")
    return run, precision


def plot_probe(results_csv, capacity_csv, out) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from streaming.results import read_rows, read_table
    from streaming.tasks import make_task

    from .plotting import check_output_path

    out = check_output_path(out)
    rows = read_rows(results_csv)
    capacity = read_table(capacity_csv, CAPACITY_COLUMNS, "capacity")
    sizes = sorted({int(r["n"]) for r in rows})
    if not sizes:
        raise ValueError(f"{results_csv} holds no rows to plot")
    fig, axes = plt.subplots(2, len(sizes), figsize=(7.2 * len(sizes), 11.5), squeeze=False)
    families = sorted({_model_label(r["reader"])[0].split(":")[0] for r in rows if "@" in r["reader"]})
    family_color = {f: c for f, c in zip(families, ("C0", "C2", "C4", "C5", "C6", "C9"))}
    algorithm_color = {"prefix": "0.45", "blockcode": "C1", "trellis": "C8"}
    for col, n in enumerate(sizes):
        task = make_task("index", n)
        m = task.index_size
        mine = [r for r in rows if int(r["n"]) == n]
        top = max(int(r["budget_bits"]) for r in mine)
        grid = np.unique(np.concatenate([np.arange(0, m + 1), np.geomspace(1, max(top, 2 * m) * 1.5, 200)]))
        bounds = task.bounds(grid)
        ax = axes[0, col]
        xs = np.maximum(grid, 0.5)
        ax.fill_between(xs, bounds["bound"], 1.02, color="#d62728", alpha=0.08, lw=0,
                        label="impossible (above the exact bound)")
        ax.plot(xs, bounds["sphere"], color="black", lw=1.6, label="sphere-covering bound (exact)")
        ax.plot(xs, bounds["fano"], color="black", lw=1.0, ls="--", label="Fano bound")
        ax.axhline(task.chance, color="0.4", lw=0.9, ls=":", label="guessing floor 1/2")
        ax.axvline(m, color="#9467bd", lw=1.0, ls="-.", label=f"b = m = {m} bits (enough to be exact)")
        for reader in sorted({r["reader"] for r in mine if "@" not in r["reader"]}):  # the algorithms
            rs = sorted((r for r in mine if r["reader"] == reader), key=lambda r: int(r["budget_bits"]))
            b = np.maximum(np.array([int(r["budget_bits"]) for r in rs], dtype=float), 0.5)
            s = np.array([float(r["success"]) for r in rs])
            lo = np.array([float(r["ci_low"]) for r in rs])
            hi = np.array([float(r["ci_high"]) for r in rs])
            color = algorithm_color.get(reader, "C7")
            ax.plot(b, s, marker="o", ms=3, lw=1.2, color=color, label=f"algorithm: {reader}")
            ax.fill_between(b, lo, hi, color=color, alpha=0.25, lw=0)
        runs = sorted({_model_label(r["reader"])[0] for r in mine if "@" in r["reader"]})
        for run in runs:
            family = run.split(":")[0]
            rs = sorted((r for r in mine if _model_label(r["reader"])[0] == run), key=lambda r: int(r["budget_bits"]))
            b = np.array([int(r["budget_bits"]) for r in rs], dtype=float)
            s = np.array([float(r["success"]) for r in rs])
            lo = np.array([float(r["ci_low"]) for r in rs])
            hi = np.array([float(r["ci_high"]) for r in rs])
            color = family_color[family]
            kind = "KV cache" if family in ("llama", "hybrid") else "state"
            ax.errorbar(b, s, yerr=[s - lo, hi - s], color=color, marker="s" if kind == "state" else "D", ms=4,
                        lw=1.3, capsize=2, label=f"{family} ({kind}), p = {_model_label(rs[0]['reader'])[1]}"
                                                 f"..{_model_label(rs[-1]['reader'])[1]} bits per number")
            for bits, succ, r in zip(b, s, rs):
                p = _model_label(r["reader"])[1]
                if p in ("1", "2", "4", "8", "32"):
                    ax.annotate(p, (bits, succ), textcoords="offset points", xytext=(0, 5), fontsize=6,
                                color=color, ha="center")
        ax.set_xscale("log", base=2)
        ax.set_xlim(0.5, max(top, 2 * m) * 1.5)
        ax.set_ylim(min(0.4, min(float(r['ci_low']) for r in mine) - 0.03), 1.03)
        ax.set_xlabel("state bits b (log scale; a model's bits = p x numbers in its state at the cut)")
        ax.set_ylabel("success probability (95% Clopper-Pearson)")
        ax.set_title(f"Index, n = {n}: models resumed from their state rounded to p bits per number\n"
                     f"(labels: p), algorithms at budget b, on the same streams", fontsize=10)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7, loc="lower right")

        cx = axes[1, col]
        caps = [r for r in capacity if int(r["n"]) == n]
        for run in sorted({_model_label(r["reader"])[0] for r in caps}):
            rs = sorted((r for r in caps if _model_label(r["reader"])[0] == run), key=lambda r: int(r["state_bits"]))
            family = run.split(":")[0]
            cx.plot([int(r["state_bits"]) for r in rs], [float(r["capacity_bits"]) for r in rs],
                    marker="s" if family not in ("llama", "hybrid") else "D", ms=4, lw=1.3,
                    color=family_color[family], label=f"{family}: linear capacity C of its rounded state")
        span = np.geomspace(1, max(top, 2 * m) * 1.5, 50)
        cx.plot(span, np.minimum(span, m), color="black", lw=1.2, ls="--",
                label="the most a b-bit state can hold about x: min(b, m)")
        cx.set_xscale("log", base=2)
        cx.set_xlim(0.5, max(top, 2 * m) * 1.5)
        cx.set_ylim(0, m * 1.08)
        cx.set_xlabel("state bits b (log scale)")
        cx.set_ylabel("C = sum_i (1 - H(e_i)) bits (probe error e_i on bit x_i)")
        cx.set_title(f"How many of the {m} input bits a linear probe reads from the state", fontsize=10)
        cx.grid(alpha=0.3, which="both")
        cx.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
