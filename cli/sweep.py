"""`sweep`, `plot`, `bound`, `algorithms`: the budget sweep and what a user reads beside it."""
from __future__ import annotations

import sys
from pathlib import Path

import click
import numpy as np

from streaming.algorithms import GENERATORS, REGISTRY, reference_lines
from streaming.engine import check_budget
from streaming.tasks.base import MAX_STREAM
from streaming.experiments import fewest_bits_for
from streaming.cluster import RETRIES
from streaming.results import existing_keys
from streaming.sweep import parse_fractions, plan_cells, plan_parts, run_sweep
from streaming.tasks import TASKS, make_task

from .main import UserError, cli, ensure_writable, fanout_client, int_list, progress
from .options import cluster_options, collect_options, plugin_option, task_options
from .plotting import check_output_path, plot_results


def sweep_into(cells, out, label: str, resume=False, overwrite=False, debug=False, sealed=False, client=None,
               failures: list | None = None) -> int:
    """Run planned cells into a results file with a progress bar (counting cells, or on a cluster the parts of
    cells); returns the number of audit violations. Cells that failed on the cluster are printed and appended
    to `failures`."""
    done = existing_keys(out) if resume and Path(out).is_file() else set()
    units = plan_parts(cells, done, split=client is not None)
    with progress(units, label + ("" if client is None else " (parts of cells, on the cluster)")) as bar:
        report = run_sweep(cells, out, resume=resume, overwrite=overwrite, debug=debug, progress=bar.update,
                           sealed=sealed, client=client)
    for cell, error in report.failed:
        click.echo(f"error: {cell.algorithm} at b = {cell.budget}, n = {cell.task.n} failed on the cluster after "
                   f"{RETRIES + 1} tries: {error}", err=True)
        if failures is not None:
            failures.append((cell, error))
    for row in report.violations:
        click.echo(f"warning: audit VIOLATION: {row['reader']} at b = {row['budget_bits']}, n = {row['n']}: success "
                   f"{row['success']} (CI {row['ci_low']}..{row['ci_high']}) above the bound {row['bound']}",
                   err=True)
    if report.torn:
        click.echo(f"warning: the last line of {out} was torn (cut short); it is set aside in {report.torn}",
                   err=True)
    click.echo(f"{report.written} cells written to {out} ({report.already} already there)", err=True)
    return len(report.violations)


@cli.command()
@click.option("--task", default="index", show_default=True, help="task name (see `streambound algorithms`)")
@click.option("--n", "n_text", default="1024", show_default=True, help="task size(s): 1024, or 64,256, or 64:256:64")
@click.option("--budgets", default=None, help="state bits: 0,64,128 or start:stop:step (stop included)")
@click.option("--fractions", default=None, help="budgets as fractions of m(n), the Index bits the task's hard "
              "stream embeds: 0,0.5,1 or 0:1:0.125 (default 0:1:0.0625)")
@click.option("--algorithms", default="all", show_default=True, help="comma list of names, or all")
@click.option("--trials", default=4000, show_default=True, type=int, help="streams per cell")
@click.option("--seed", default=0, show_default=True, type=int, help="seed of the streams (0 .. 2^62 - 1)")
@click.option("--coin-seed", default=0, show_default=True, type=int,
              help="seed of the public coins, apart from the streams' (0 .. 2^62 - 1)")
@click.option("--sealed", is_flag=True, help="draw both seeds from the operating system's entropy at run time, "
              "after every plan is made, and write them into the rows (no code can know its streams in advance)")
@task_options
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="results file (default: results/TASK.csv); rows are appended as cells finish")
@click.option("--resume", is_flag=True, help="skip cells already in --out")
@click.option("--overwrite", is_flag=True, help="delete --out first")
@click.option("--strict", is_flag=True, help="exit 1 when any cell fails its audit")
@click.option("--debug", is_flag=True, help="fail when an algorithm sets a bit past its budget (slower)")
@click.option("--plot", "plot_out", default=None, type=click.Path(dir_okay=False), help="also draw this figure")
@cluster_options
@plugin_option
def sweep(task, n_text, budgets, fractions, algorithms, trials, seed, coin_seed, sealed, distribution, out, resume,
          overwrite, strict, debug, plot_out, workers, scheduler, **kwargs):
    """Sweep the memory budget: one result row per (n, algorithm, budget) cell, appended as it finishes. With
    --workers or --scheduler the cells (and parts of large cells) run on a Dask cluster; this process writes
    every row, the same rows as a run in process. Exits 1 when a cell failed on the cluster."""
    if budgets is not None and fractions is not None:
        raise UserError("give --budgets or --fractions, not both")
    if budgets is None and fractions is None:
        fractions = "0:1:0.0625"
    out = out or f"results/{task}.csv"
    if plot_out:
        check_output_path(plot_out)
    cells = plan_cells(task, int_list(n_text, "n"), algorithms, trials, seed,
                       budgets=int_list(budgets, "budgets") if budgets is not None else None,
                       fractions=parse_fractions(fractions) if fractions is not None else None,
                       distribution=distribution, coin_seed=coin_seed, **collect_options(kwargs))
    failures = []
    with fanout_client(workers, scheduler) as client:
        ensure_writable(out, plot_out)
        violations = sweep_into(cells, out, f"{task} sweep", resume=resume, overwrite=overwrite, debug=debug,
                                sealed=sealed, client=client, failures=failures)
    if failures:
        click.echo(f"streambound: {len(failures)} cells failed on the cluster (their errors above); rerun with "
                   f"--resume to try them again", err=True)
        sys.exit(1)
    if plot_out:
        click.echo(f"figure written to {plot_results([out], plot_out)}", err=True)
    if violations:
        click.echo(f"warning: {violations} cells above their bound: a bug in an algorithm, the engine or a bound",
                   err=True)
        if strict:
            sys.exit(1)


@cli.command()
@click.argument("results", nargs=-1, required=True)
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="figure path: .png, .svg or .pdf")
def plot(results, out):
    """Draw success against b/m per reader, with 95% bands, the bounds and the 1/2 floor."""
    check_output_path(out)
    ensure_writable(out)
    click.echo(f"figure written to {plot_results(results, out)}")


@cli.command()
@click.option("--task", default="index", show_default=True)
@click.option("--n", type=int, required=True, help="task size")
@click.option("--success", type=float, default=None, help="print the fewest bits for this success")
@click.option("--bits", type=int, default=None, help="print the highest success possible with these bits")
@task_options
def bound(task, n, success, bits, distribution, **kwargs):
    """The exact bounds for a task: fewest state bits for a success, or best success for a number of bits."""
    if (success is None) == (bits is None):
        raise UserError("give exactly one of --success and --bits")
    t = make_task(task, n, distribution, **collect_options(kwargs))
    m = t.index_size
    click.echo(f"{task}, {t.size_name} = {n} (m = {m} Index bits), {t.label()}; any streaming algorithm or RNN "
               f"state:")
    for _, text in reference_lines(t):
        click.echo(f"  {'reference':32s} {text}")
    names = {"fano": t.fano_name, "sphere": "sphere-covering bound (exact)", "achievable": "random code"}
    if t.queries > 1:
        click.echo(f"  (per query: each of the {t.queries} queries is a one-query protocol from the same cut state)")
    if bits is not None:
        check_budget(bits)
        values = {k: float(np.asarray(v).reshape(-1)[0]) for k, v in t.bounds([bits]).items()}
        for key in ("sphere", "fano"):
            if np.isfinite(values[key]):
                tight = "  <- tightest" if values[key] == values["bound"] else ""
                click.echo(f"  {names[key]:32s} success <= {values[key]:.6f} with {bits} bits{tight}")
        if np.isfinite(values["achievable"]):
            click.echo(f"  {names['achievable']:32s} success >= {values['achievable']:.6f} is reachable "
                       f"with {bits} bits (some algorithm)")
    else:
        if not 0.0 <= success <= 1.0:
            raise UserError(f"--success must lie in [0, 1], got {success}")
        for key in ("sphere", "fano"):
            need = fewest_bits_for(t, key, success)
            if need is not None:
                click.echo(f"  {names[key]:32s} needs at least {need} bits for success {success:g}")
        need = fewest_bits_for(t, "achievable", success)
        if need is not None:
            click.echo(f"  {names['achievable']:32s} {need} bits suffice for success {success:g} (some algorithm)")


@cli.command()
@click.option("--task", default=None, help="only this task")
@click.option("--n", type=int, default=None, help="with --budget: show the parameters each plan chooses")
@click.option("--budget", type=int, default=None)
@task_options
@plugin_option
def algorithms(task, n, budget, distribution, **kwargs):
    """List the registered budgeted algorithms: what each does, the memory it uses, and with --n and --budget the
    settings its plan chooses for that task."""
    if task is not None and task not in TASKS:
        raise UserError(f"unknown task {task!r}; known tasks: {', '.join(TASKS)}")
    if (n is None) != (budget is None):
        raise UserError("give --n and --budget together")
    if n is not None and not 1 <= n <= MAX_STREAM:
        raise UserError(f"--n must lie in 1..{MAX_STREAM}")
    if budget is not None:
        check_budget(budget)
    options = collect_options(kwargs)
    if (options or distribution) and task is None:
        raise UserError("--distribution and task options need --task")
    for (t, name), alg in list(REGISTRY.items()) + list(GENERATORS.items()):
        if task is not None and t != task:
            continue
        click.echo(f"{t:8s} {name:17s} {alg.summary}")
        click.echo(f"{'':26s} {'memory (with retrieval)' if alg.generating else 'memory'}: {alg.memory}")
        if n is not None:
            try:
                instance = make_task(t, n, distribution, **options)
            except ValueError as exc:
                click.echo(f"{'':26s} at n = {n}: {exc}")
                continue
            extra = alg.settings(instance, budget)
            click.echo(f"{'':26s} at n = {n}, b = {budget} ({instance.label()}): uses "
                       f"{alg.used_bits(instance, budget)} bits" + (f"; {extra}" if extra else ""))
