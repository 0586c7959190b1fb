"""figures/exact.png (the true limit at small sizes) and figures/probe.png (trained readers' state against the
algorithms and the bound), drawn from the CSVs their pipelines write."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from streaming.exact import EXACT_COLUMNS
from streaming.results import CAPACITY_COLUMNS, read_rows, read_table
from streaming.tasks import task_from_label

from .plotting import check_output_path, pyplot

PALETTE = ("C0", "C1", "C2", "C4", "C5", "C6", "C7", "C8", "C9")  # red is the optimum's
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def plot_exact(csv_path, out) -> Path:
    plt = pyplot()
    out = check_output_path(out)
    rows = read_table(csv_path, EXACT_COLUMNS, "exact-analysis")
    ms = sorted({int(r["m"]) for r in rows})
    fig, axes = plt.subplots(1, len(ms), figsize=(3.6 * len(ms), 4.2), squeeze=False, sharey=True)
    readers = [r for r in dict.fromkeys(r["reader"] for r in rows) if r not in ("optimum", "optimum-upper",
                                                                                 "sphere", "fano", "every-step")]
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
        every = series("every-step")  # the third curve: the best machine with b bits after every step
        if every:  # not known at every b: a gap in b breaks the line
            known = {p[0]: p[1] for p in every}
            ax.plot(range(m + 1), [known.get(b, np.nan) for b in range(m + 1)], color="#5b2a86", lw=2.2,
                    marker="D", ms=5, zorder=6, label="every-step optimum (b bits at every step, proven; "
                                                      "gaps: not computed)")
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
                 "program), the every-step optimum (branch and bound), the bounds and the registered streaming "
                 "algorithms\n(coinciding lines overlap)", fontsize=10)
    fig.tight_layout(rect=(0, 0.1, 1, 0.95))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130)
    plt.close(fig)
    return out


def _model_label(reader: str) -> tuple[str, str]:
    """('lstm:probe-lstm-n32', '8') from 'lstm:probe-lstm-n32@8'."""
    run, _, precision = reader.rpartition("@")
    return run, precision


def plot_probe(results_csv, capacity_csv, out) -> Path:
    """Models resumed from their state at the cut rounded to p bits, beside the algorithms and the exact bound, on
    the same streams (a panel per size; with `capacity_csv`, a second row with each state's linear capacity).
    Models in the retrieval format are drawn hollow: they read the context, so the bound does not bind them."""
    plt = pyplot()
    out = check_output_path(out)
    rows = [r for r in read_rows(results_csv) if r.get("decode", "stream") in ("stream", "free")]
    capacity = read_table(capacity_csv, CAPACITY_COLUMNS, "capacity") if capacity_csv is not None else []
    sizes = sorted({int(r["n"]) for r in rows})
    if not sizes:
        raise ValueError(f"{results_csv} holds no rows to plot")
    panels = 2 if capacity_csv is not None else 1
    legend_below = capacity_csv is None  # a panel of many readers: the legend goes under it, off the points
    fig, axes = plt.subplots(panels, len(sizes), squeeze=False,
                             figsize=(7.2 * len(sizes), 5.9 * panels + (3.2 if legend_below else 0.6)))
    all_runs = sorted({_model_label(r["reader"])[0] for r in rows if "@" in r["reader"]})
    # the models from tab20's blues, greens, purples, browns, pinks and cyans; the algorithms keep orange, red, olive
    tab20 = plt.get_cmap("tab20").colors
    run_color = {run: tab20[i] for run, i in zip(all_runs, [0, 4, 8, 10, 12, 18, 1, 5, 9, 11, 13, 19] * 4)}
    algorithm_color = {"prefix": "0.45", "blockcode": "C1", "trellis": "C8", "star-coder": "C8",
                       "retrieval-dfs": "C3", "retrieval-lookup": "C3"}
    for col, n in enumerate(sizes):
        mine = [r for r in rows if int(r["n"]) == n]
        task = task_from_label(mine[0]["task"], n, mine[0]["distribution"])
        m = task.index_size
        top = max(int(r["budget_bits"]) for r in mine)
        grid = np.unique(np.concatenate([np.arange(0, m + 1), np.geomspace(1, max(top, 2 * m) * 1.5, 200)]))
        bounds = task.bounds(grid)
        ax = axes[0, col]
        xs = np.maximum(grid, 0.5)
        ax.fill_between(xs, bounds["bound"], 1.02, color="#d62728", alpha=0.08, lw=0,
                        label="impossible for a streaming reader (above the exact bound)")
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
            retrieval = rs[0].get("format") == "retrieval"
            ax.plot(b, s, marker="*" if retrieval else "o", ms=6 if retrieval else 3, lw=1.2, color=color,
                    ls="--" if retrieval else "-",
                    label=f"algorithm: {reader}" + (" (with retrieval: no streaming algorithm, the bound does "
                                                    "not apply)" if retrieval else ""))
            ax.fill_between(b, lo, hi, color=color, alpha=0.25, lw=0)
        runs = sorted({_model_label(r["reader"])[0] for r in mine if "@" in r["reader"]})
        for run in runs:
            family = run.split(":")[0]
            rs = sorted((r for r in mine if _model_label(r["reader"])[0] == run), key=lambda r: int(r["budget_bits"]))
            b = np.array([int(r["budget_bits"]) for r in rs], dtype=float)
            s = np.array([float(r["success"]) for r in rs])
            lo = np.array([float(r["ci_low"]) for r in rs])
            hi = np.array([float(r["ci_high"]) for r in rs])
            color = run_color[run]
            kind = "KV cache" if family in ("llama", "hybrid", "hybrid2") else "state"
            fmt = rs[0].get("format", "vanilla")
            name = run if fmt == "vanilla" else f"{run} [{fmt}" + (": reads the context, not bounded]"
                                                                   if fmt == "retrieval" else "]")
            ax.errorbar(b, s, yerr=[s - lo, hi - s], color=color, marker="s" if kind == "state" else "D", ms=4,
                        lw=1.3, capsize=2, mfc="none" if fmt == "retrieval" else color,
                        label=f"{name} ({kind}), p = {_model_label(rs[0]['reader'])[1]}"
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
        ax.set_title(f"{task.name}, {task.label()}, {task.size_name} = {n}: models resumed from their state "
                     f"rounded to p bits per number\n(labels: p), algorithms at budget b, on the same streams",
                     fontsize=10)
        ax.grid(alpha=0.3, which="both")
        if legend_below:
            ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=1, frameon=False)
            continue
        ax.legend(fontsize=7, loc="lower right")

        cx = axes[1, col]
        caps = [r for r in capacity if int(r["n"]) == n]
        for run in sorted({_model_label(r["reader"])[0] for r in caps}):
            rs = sorted((r for r in caps if _model_label(r["reader"])[0] == run), key=lambda r: int(r["state_bits"]))
            family = run.split(":")[0]
            cx.plot([int(r["state_bits"]) for r in rs], [float(r["capacity_bits"]) for r in rs],
                    marker="s" if family not in ("llama", "hybrid", "hybrid2") else "D", ms=4, lw=1.3,
                    color=run_color.get(run, "C7"), label=f"{family}: linear capacity C of its rounded state")
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


def plot_figure2(results_csv, out) -> Path:
    """The paper's Figure 2 layout: accuracy against N, a panel per format, a line per model and size, 95% bands,
    chance at 1/2 (free decoding; teacher-forced exact match dotted beside it)."""
    from streaming.formats import FORMATS

    plt = pyplot()
    out = check_output_path(out)
    rows = [r for r in read_rows(results_csv) if r["task"] == "istree"]
    if not rows:
        raise ValueError(f"{results_csv} holds no IsTree rows to plot")
    fig, axes = plt.subplots(1, len(FORMATS), figsize=(5.6 * len(FORMATS), 5.4), squeeze=False, sharey=True)
    models = sorted({_model_label(r["reader"])[0].split(":")[1].rsplit("-", 2)[0] for r in rows})
    color = {m: f"C{i}" for i, m in enumerate(models)}
    titles = {"vanilla": "Vanilla (answer after the edges)", "cot": "Chain of thought (DFS walk)",
              "retrieval": "In-context retrieval (live regex environment)"}
    for ax, fmt in zip(axes[0], FORMATS):
        mine = [r for r in rows if r["format"] == fmt]
        for model in models:
            for decode, style in (("stream", "-"), ("free", "-"), ("teacher", ":")):
                rs = sorted((r for r in mine if r["decode"] == decode and
                             _model_label(r["reader"])[0].split(":")[1].rsplit("-", 2)[0] == model),
                            key=lambda r: int(r["n"]))
                if not rs:
                    continue
                n = np.array([int(r["n"]) for r in rs])
                s = np.array([float(r["success"]) for r in rs])
                lo = np.array([float(r["ci_low"]) for r in rs])
                hi = np.array([float(r["ci_high"]) for r in rs])
                label = model + (" (teacher-forced exact match)" if decode == "teacher" else "")
                ax.plot(n, s, ls=style, marker="o" if decode != "teacher" else ".", ms=4, lw=1.4,
                        color=color[model], label=label)
                if decode != "teacher":
                    ax.fill_between(n, lo, hi, color=color[model], alpha=0.18, lw=0)
        ax.axhline(0.5, color="0.4", lw=0.9, ls="--", label="chance 1/2")
        ax.set_xscale("log", base=2)
        sizes = sorted({int(r["n"]) for r in rows})
        ax.set_xticks(sizes)
        ax.set_xticklabels([str(s) for s in sizes])
        ax.set_ylim(-0.02, 1.04)
        ax.set_xlabel("N (nodes)")
        ax.set_title(titles[fmt], fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper right")
    axes[0][0].set_ylabel("accuracy (free decoding, a missing answer = 1/2; 95% bands)")
    trials = sorted({r["trials"] for r in rows})
    fig.suptitle(f"IsTree on the authors' graphs (two stars plus a leaf-leaf edge, P(tree) = 1/2), "
                 f"{'/'.join(trials)} graphs per point", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
