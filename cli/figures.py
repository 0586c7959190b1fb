"""`streambound figures`: regenerate the committed figures, one subcommand each (`figures` alone: the main job)."""
from __future__ import annotations

from pathlib import Path

import click

from streaming import __version__
from streaming.engine import check_seed_value, sealed_seeds
from streaming.exact import EXACT_COLUMNS
from streaming.experiments import (FIGURES, SCALING_COLUMNS, exact_figure_rows, exact_figure_steps, figure_cells,
                                   scaling_cells, scaling_rows)
from streaming.results import read_table, write_table
from streaming.sweep import plan_cells

from .main import UserError, cli, ensure_writable, fanout_client, progress
from .options import cluster_options
from .plotfigs import plot_exact, plot_figure2, plot_probe
from .plotting import check_output_path, plot_results, plot_scaling
from .sweep import sweep_into


def _common(fn):
    fn = click.option("--figures", "figures_dir", default="figures", show_default=True,
                      type=click.Path(file_okay=False), help="where the figures go")(fn)
    fn = click.option("--results", "results_dir", default="results", show_default=True,
                      type=click.Path(file_okay=False), help="where the CSVs go")(fn)
    fn = click.option("--sealed", is_flag=True, help="draw the stream and coin seeds from the operating system's "
                      "entropy at run time and write them into the rows (a sweep figure's CSV is replaced)")(fn)
    fn = click.option("--seed", default=0, show_default=True, type=int, help="seed of the streams and coins")(fn)
    fn = cluster_options(fn)
    return click.option("--trials", default=None, type=int, help="streams per cell (default: the figure's own)")(fn)


def _seeds(trials, seed, sealed) -> tuple:
    """(stream seed, coin seed): --seed for both, or both from the operating system with --sealed."""
    if trials is not None and trials < 1:
        raise UserError("--trials must be positive")
    check_seed_value(seed)
    return sealed_seeds() if sealed else (seed, seed)


def _failed(failures) -> None:
    """Exit 1 after the figure when cells failed on the cluster (each was printed with its error)."""
    if failures:
        click.echo(f"streambound: {len(failures)} cells failed on the cluster (their errors above); the figure "
                   f"leaves them out; rerun the command to try them again", err=True)
        raise SystemExit(1)


def sweep_figure(name, trials, seed, results_dir, figures_dir, sealed=False, workers=1, scheduler=None) -> Path:
    """A figure drawn from budget sweeps (resumed: finished cells are kept; sealed: the CSV is replaced and the
    sweeps draw their own seeds at run time); the cells on a Dask cluster with --workers / --scheduler."""
    _seeds(trials, seed, False)
    csv_path = Path(results_dir) / f"{name}.csv"
    out = check_output_path(Path(figures_dir) / f"{name}.png")
    groups = figure_cells(name, trials, seed, coin_seed=seed)
    failures = []
    with fanout_client(workers, scheduler) as client:
        ensure_writable(csv_path, out)
        for i, cells in enumerate(groups):
            sweep_into(cells, csv_path, f"{name} sweep", resume=not sealed, overwrite=sealed and i == 0,
                       sealed=sealed, client=client, failures=failures)
    keys = None if sealed else {c.key() for cells in groups for c in cells}  # the figure draws its own cells only
    out = plot_results([csv_path], out, keys=keys)
    click.echo(f"figure written to {out}")
    _failed(failures)
    return out


@cli.group(invoke_without_command=True)
@click.pass_context
def figures(ctx):
    """Regenerate figures. With no subcommand: the main job (`figures index`: the Index budget sweep, resumed,
    and its figure). `figures all` draws index, exact, istree, recall, counting and scaling; `figures probe`
    trains six neural runs first when runs/ lacks them (about half an hour on 2 CPU cores; the models extra)."""
    if ctx.invoked_subcommand is None:
        sweep_figure("index", None, 0, "results", "figures")


def _sweep_command(name, doc):
    @figures.command(name, help=doc)
    @_common
    def command(trials, seed, sealed, results_dir, figures_dir, workers, scheduler):
        sweep_figure(name, trials, seed, results_dir, figures_dir, sealed, workers, scheduler)

    return command


_sweep_command("index", "Index at n = 1024: every Index algorithm against the bounds (4,000 streams a cell).")
_sweep_command("istree", "IsTree at N = 64 and 256, hard and permutation distributions.")
_sweep_command("recall", "Associative recall at n = 256, hard and natural distributions.")
_sweep_command("counting", "Counting at n = 256, hard and natural distributions.")


@figures.command("exact")
@_common
def exact_figure(trials, seed, sealed, results_dir, figures_dir, workers, scheduler):
    """Index at m = 4..8, exact over every input: the optimal one-way protocol (an integer program per (m, b)),
    the every-step optimum, the bounds and every Index algorithm (about a minute; each (m, b) a unit of work
    with --workers / --scheduler)."""
    _, coin_seed = _seeds(trials, seed, sealed)
    failures = []
    with fanout_client(workers, scheduler) as client:
        ensure_writable(Path(results_dir) / "exact.csv", Path(figures_dir) / "exact.png")
        with progress(exact_figure_steps(), "exact analysis m = 4..8") as bar:
            rows = exact_figure_rows(coin_seed, progress=lambda: bar.update(1), client=client, failures=failures)
    for unit, error in failures:
        click.echo(f"error: the exact analysis at (m, b) = {unit} failed on the cluster: {error}", err=True)
    csv_path = write_table(rows, Path(results_dir) / "exact.csv", EXACT_COLUMNS, floats=("success", "seconds"))
    click.echo(f"figure written to {plot_exact(csv_path, Path(figures_dir) / 'exact.png')}")
    _failed(failures)


@figures.command("scaling")
@_common
def scaling_figure(trials, seed, sealed, results_dir, figures_dir, workers, scheduler):
    """For n from 2^6 to 2^14, the fewest state bits at which each algorithm reaches success 0.9 (bisection on the
    budget, 800 streams per step by default; union-find to N = 4096). Rows already in results/scaling.csv with the
    same trials and seeds are kept; each cell is one unit of work with --workers / --scheduler."""
    seed, coin_seed = _seeds(trials, seed, sealed)
    trials = trials or 800
    csv_path, out = Path(results_dir) / "scaling.csv", Path(figures_dir) / "scaling.png"
    cells = list(scaling_cells())
    failures = []
    with fanout_client(workers, scheduler) as client:
        ensure_writable(csv_path, out)
        kept = _kept_scaling(csv_path, cells, trials, seed, coin_seed)
        todo = [c for c in cells if c not in kept]
        rows = list(kept.values())
        try:
            with progress(len(todo), "scaling (bisection per cell)") as bar:
                for row in scaling_rows(todo, trials, seed, coin_seed, client, lambda k: bar.update(k), failures):
                    rows.append(row)
        finally:  # interrupted or not, the finished cells are written (in the cells' order)
            order = {c: i for i, c in enumerate(cells)}
            rows.sort(key=lambda r: order[(r["task"], int(r["n"]), r["reader"])])
            write_table(rows, csv_path, SCALING_COLUMNS)
    for cell, error in failures:
        click.echo(f"error: scaling cell {cell} failed on the cluster: {error}", err=True)
    click.echo(f"figure written to {plot_scaling(csv_path, out)}")
    _failed(failures)


def _kept_scaling(csv_path: Path, cells, trials: int, seed: int, coin_seed: int) -> dict:
    """The rows of an earlier run with the same trials, seeds and version, by cell (none for a foreign or missing file)."""
    if not csv_path.is_file():
        return {}
    try:
        rows = read_table(csv_path, SCALING_COLUMNS, "scaling")
    except ValueError:
        return {}
    same = (str(trials), str(seed), str(coin_seed), __version__)
    return {(r["task"], int(r["n"]), r["reader"]): r for r in rows
            if (r["trials"], r["seed"], r["coin_seed"], r["version"]) == same and (r["task"], int(r["n"]), r["reader"]) in cells}


@figures.command("all")
@click.pass_context
@_common
def all_figures(ctx, trials, seed, sealed, results_dir, figures_dir, workers, scheduler):
    """Every figure but probe: index, exact, istree, recall, counting, scaling."""
    for name in FIGURES:
        ctx.invoke(figures.commands[name], trials=trials, seed=seed, sealed=sealed, results_dir=results_dir,
                   figures_dir=figures_dir, workers=workers, scheduler=scheduler)


@figures.command("probe")
@_common
@click.option("--runs", "runs_dir", default="runs", show_default=True, type=click.Path(file_okay=False),
              help="where the trained runs live (missing ones are trained, unfinished ones resumed)")
@click.option("--device", default="auto", show_default=True, help="auto (CUDA when present), cpu or cuda")
def probe_figure(trials, seed, sealed, results_dir, figures_dir, runs_dir, device, workers, scheduler):
    """LSTM, Mamba-2 and LLaMA trained on Index n = 32, 64: success and linear capacity against state bits as the
    precision drops, beside the algorithms and the bound (needs the models extra)."""
    from .neural import need_torch

    if sealed:
        raise UserError("figures probe is not sealed: its runs are trained once and kept")
    _seeds(trials, seed, False)
    need_torch()
    from streaming.neural.pipeline import probe_pipeline

    with _neural_client(workers, scheduler, 1, device) as client:
        results_csv, capacity_csv = probe_pipeline(Path(runs_dir), Path(results_dir), trials or 2000, seed, device,
                                                   progress, client)
    click.echo(f"figure written to {plot_probe(results_csv, capacity_csv, Path(figures_dir) / 'probe.png')}")


@figures.command("figure2")
@_common
@click.option("--grid", "grid_name", type=click.Choice(["default", "paper"]), default="default", show_default=True,
              help="default: LLaMA, Mamba-2 and the Mamba-2 hybrid at tiny, N = 8, 16 (about half an hour on 2 CPU "
                   "cores); "
                   "paper: the paper's 108 runs (LLaMA / Mamba / hybrid at 0.5M, 1M, 2M; N = 16..128; a GPU's job)")
@click.option("--runs", "runs_dir", default="runs/figure2", show_default=True, type=click.Path(file_okay=False),
              help="where the trained runs live (missing ones are trained, unfinished ones resumed)")
@click.option("--device", default="auto", show_default=True, help="auto (CUDA when present), cpu or cuda")
@click.option("--accumulate", default=1, show_default=True, type=int, help="micro-batches per batch")
@click.option("--bf16", is_flag=True, help="bfloat16 autocast while training (CUDA only)")
@click.option("--runs-per-gpu", default=1, show_default=True, type=int,
              help="with --workers on a CUDA machine: tiny runs one GPU trains at once (each local worker holds a "
                   "GPU resource of this many; on your own cluster start workers with --resources GPU=k)")
def figure2(trials, seed, sealed, results_dir, figures_dir, grid_name, runs_dir, device, accumulate, bf16,
            runs_per_gpu, workers, scheduler):
    """The paper's Figure 2: IsTree accuracy against N with vanilla answers, chain of thought and in-context
    retrieval, a line per model; then the N = 16 runs placed on the IsTree bound plot (hard streams, state rounded
    at the cut). Finished runs and rows are reused when the command runs again (the models extra)."""
    from .neural import need_torch

    if sealed:
        raise UserError("figures figure2 is not sealed: its runs are trained once and kept")
    _seeds(trials, seed, False)
    need_torch()
    from streaming.neural.figure2 import GRIDS, PAPER_TRIALS, comparison, place_on_bound, run_grid

    grid = GRIDS[grid_name]
    results = Path(results_dir)
    csv_path, out = results / "figure2.csv", Path(figures_dir) / "figure2.png"
    models_csv, models_out = results / "istree-models.csv", Path(figures_dir) / "istree-models.png"
    trials = trials or (PAPER_TRIALS if grid_name == "paper" else 400)
    with _neural_client(workers, scheduler, runs_per_gpu, device) as client:  # bad settings: before any file
        ensure_writable(csv_path, out, models_csv, models_out)
        lost = run_grid(grid, Path(runs_dir), csv_path, trials, seed, device, progress, accumulate, bf16, client)
    for name, error in lost:
        click.echo(f"error: run {name} failed on the cluster: {error}", err=True)
    click.echo(f"figure written to {plot_figure2(csv_path, out)}")
    for line in comparison(csv_path):
        click.echo(line)
    placed = 16 if any(spec.n == 16 for spec in grid) else max(spec.n for spec in grid)
    place_on_bound(grid, Path(runs_dir), models_csv, placed, (4, 8, 32), min(trials, 400), seed, device, progress)
    cells = plan_cells("istree", [placed], "star-coder,retrieval-dfs", min(trials, 400) * 5, seed,
                       budgets=[0, 2, 4, 6, 8, 10, 12, 16, 24, 32, 48, 64])
    sweep_into(cells, models_csv, "IsTree algorithms", resume=True)
    click.echo(f"figure written to {plot_probe(models_csv, None, models_out)}")
    _failed(lost)


def _neural_client(workers, scheduler, runs_per_gpu, device):
    """The cluster for training runs: on a local CUDA machine each worker holds a GPU resource of runs_per_gpu."""
    from streaming.neural.train import pick_device
    from streaming.neural.units import wants_gpu

    if not scheduler:
        pick_device(device)  # a device this machine lacks: one line before any cluster starts
    return fanout_client(workers, scheduler, runs_per_gpu, gpus=1 if wants_gpu(device) else 0)
