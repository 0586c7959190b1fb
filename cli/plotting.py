"""Lower-bound figures drawn from result rows: success against b/m per reader, bounds, bands, the floor."""
from __future__ import annotations

import zlib
from collections import defaultdict
from pathlib import Path

import numpy as np

from commcomplexity.info import binary_entropy
from streaming.algorithms import REGISTRY, reference_lines
from streaming.experiments import SCALING_COLUMNS
from streaming.results import ResultsError, cell_key, duplicated_cells, read_rows, read_table
from streaming.tasks import task_from_label

FORMATS = (".png", ".svg", ".pdf")


def check_output_path(out) -> Path:
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise ValueError(f"figure format {out.suffix or '(none)'} not supported; use one of {', '.join(FORMATS)}")
    return out


def _panel_order(item):
    (name, label, n), _ = item
    return (name, n, label)


def _panels(rows):
    groups = defaultdict(list)
    for row in rows:
        groups[(row["task"], row["distribution"], int(row["n"]))].append(row)
    return groups


#: reader colours: none of the bounds' red and black, nor the reference lines' purple and brown
READER_COLORS = ("C0", "C1", "C2", "C6", "C7", "C8", "C9", "#1f3b73", "#e6a100", "#2ca089", "#a05195")
READER_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
#: rows in the retrieval format (a reader that queries the environment after its input, ``streaming.generate``):
#: drawn dashed with a large outlined star, and said so in the legend
RETRIEVAL = "retrieval"
RETRIEVAL_MARKER = "*"
RETRIEVAL_LABEL = "with retrieval\n(not a streaming algorithm: the bound does not apply)"
#: their colours, by a hash of the name (the same in every figure), none of the streaming readers' greys
RETRIEVAL_COLORS = ("#e6007e", "#6a3d9a", "#00a5cf")  # magenta first: no algorithm colour comes near it


def _builtin_names() -> list:
    return sorted({a.name for a in REGISTRY.values()
                   if getattr(a.step, "py_func", a.step).__module__.startswith("streaming.")})


def reader_style(name: str) -> tuple:
    """(colour, marker) of a reader, the same in every figure: the built-in algorithms take distinct pairs in the
    order of their sorted names; any other reader (a plugin, a trained model) a pair hashed from its name."""
    builtin = _builtin_names()
    slots = len(READER_COLORS) * len(READER_MARKERS)
    i = builtin.index(name) if name in builtin else len(builtin) + zlib.crc32(name.encode()) % (slots - len(builtin))
    return READER_COLORS[i % len(READER_COLORS)], READER_MARKERS[(i // len(READER_COLORS)) % len(READER_MARKERS)]


def draw_panel(ax, task, rows, title: str | None = None) -> None:
    """One panel: every reader's success with its 95% band, the bounds, the impossible region, the floor."""
    m = task.index_size
    top_bits = max([m] + [int(r["budget_bits"]) for r in rows])
    grid = np.unique(np.linspace(0, top_bits, 401).round().astype(int))
    bounds = task.bounds(grid)
    x = grid / m
    top = bounds["bound"]
    if np.any(np.isfinite(top)):
        ax.fill_between(x, top, 1.02, color="#d62728", alpha=0.08, lw=0,
                        label="impossible (above the tightest bound)")
    if np.all(np.isfinite(bounds["sphere"])):
        ax.plot(x, bounds["sphere"], color="black", lw=1.6, label="sphere-covering bound (exact)")
        ax.fill_between(x, bounds["achievable"], bounds["sphere"], color="0.55", alpha=0.35, lw=0,
                        label="optimum lies here (random code .. sphere)")
    if np.any(np.isfinite(bounds["fano"])):
        ax.plot(x, bounds["fano"], color="black", lw=1.1, ls="--", label=task.fano_name)
    for label, curve in task.extra_curves(grid):
        ax.plot(x, curve, color="0.35", lw=1.0, ls=(0, (1, 1)), label=label)
    ax.axhline(task.chance, color="0.4", lw=0.9, ls=":", label=f"guessing floor {task.chance:g}")
    for j, (bits, text) in enumerate(reference_lines(task)):
        ax.axvline(bits / m, color=("#9467bd", "#8c564b")[j % 2], lw=1.1, ls="-.", label=text)

    readers = defaultdict(list)
    for row in rows:
        readers[(row["reader"], row.get("format", "vanilla") == RETRIEVAL)].append(row)
    for (reader, retrieval), rs in sorted(readers.items()):
        rs.sort(key=lambda r: int(r["budget_bits"]))
        b = np.array([int(r["budget_bits"]) for r in rs]) / m
        s = np.array([float(r["success"]) for r in rs])
        lo = np.array([float(r["ci_low"]) for r in rs])
        hi = np.array([float(r["ci_high"]) for r in rs])
        color, marker = reader_style(reader)
        if retrieval:  # a separate, marked series: the environment holds the context, the bound does not bind it
            color = RETRIEVAL_COLORS[sorted(r for r, ret in readers if ret).index(reader) % len(RETRIEVAL_COLORS)]
            ax.plot(b, s, marker=RETRIEVAL_MARKER, ms=9, lw=1.6, ls="--", color=color, markeredgecolor="black",
                    markeredgewidth=0.6, zorder=4, label=f"{reader}: {RETRIEVAL_LABEL}")
            ax.fill_between(b, lo, hi, color=color, alpha=0.12, lw=0, hatch="//")
        else:
            ax.plot(b, s, marker=marker, ms=3.5, lw=1.2, color=color, label=reader)
            ax.fill_between(b, lo, hi, color=color, alpha=0.25, lw=0)
        bad = [r for r in rs if r.get("audit") == "VIOLATION"]
        if bad:
            ax.scatter([int(r["budget_bits"]) / m for r in bad], [float(r["success"]) for r in bad], marker="x",
                       s=60, color="red", zorder=5, label=f"{reader}: audit VIOLATION")
    ax.set_xlim(0, top_bits / m * 1.02)
    lowest = min([task.chance] + [float(r["success"]) for r in rows])
    ax.set_ylim(max(0.0, min(0.45, lowest - 0.05)), 1.02)
    ax.set_xlabel(f"state bits b / m   (m = {m} Index bits)")
    ax.set_ylabel("success probability")
    bands = "95% Clopper-Pearson bands" if task.queries == 1 else "95% Hoeffding bands over streams"
    ax.set_title(title or f"{task.name}, {task.label()}, {task.size_name} = {task.n}  ({bands})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False)


def pyplot():
    """matplotlib's pyplot on the Agg backend (imported only when a figure is drawn)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_results(paths, out, keys=None) -> Path:
    """Draw every (task, distribution, n) found in the results files into one figure (only the cells in `keys`
    when given: a figure pipeline draws its own cells, whatever else its file holds). Duplicated cells (two runs
    wrote the same cell) are refused."""
    plt = pyplot()
    out = check_output_path(out)
    rows = [r for p in paths for r in read_rows(p)]
    if keys is not None:
        rows = [r for r in rows if cell_key(r) in keys]
    # the answers a reader gives (teacher-forced rows score whole traces, not answers: `eval` prints them)
    rows = [r for r in rows if r.get("decode", "stream") in ("stream", "free")]
    twice = duplicated_cells(rows)
    if twice:
        raise ResultsError(f"{', '.join(map(str, paths))}: {twice} rows repeat a cell another row holds (two runs "
                           f"wrote the same cells?); keep one of each before plotting")
    if not rows:
        raise ValueError("the results files hold no rows to plot")
    points = [(r["task"], r["distribution"], r["n"], r["reader"], r["budget_bits"], r.get("format", "vanilla"))
              for r in rows]
    if len(points) != len(set(points)):
        raise ResultsError(f"{', '.join(map(str, paths))}: {len(points) - len(set(points))} points are drawn twice "
                           f"(the same reader and budget with other trials or seeds); plot one run at a time")
    panels = _panels(rows)
    cols = min(2, len(panels))
    nrows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(7.0 * cols, 7.0 * nrows), squeeze=False)
    for ax, ((name, label, n), rs) in zip(axes.flat, sorted(panels.items(), key=_panel_order)):
        draw_panel(ax, task_from_label(name, n, label), rs)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130)
    plt.close(fig)
    return out


def plot_scaling(csv_path, out) -> Path:
    plt = pyplot()
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
