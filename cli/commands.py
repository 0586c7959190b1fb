"""The click commands of `streambound` (registered on cli.main.cli)."""
from __future__ import annotations

import sys
from pathlib import Path

import click
import numpy as np

from .main import UserError, _int_list, cli

DISTRIBUTION_HELP = ("stream distribution (default: the task's hard one): index uniform|biased; istree "
                     "hard|permutation|authors|random; recall, cgram, counting hard|natural")


def task_options(fn):
    """--distribution and the tasks' own options; only those given are passed on (and checked by the task)."""
    opts = [
        click.option("--distribution", default=None, help=DISTRIBUTION_HELP),
        click.option("--bias", type=float, default=None, help="index biased: P(x_i = 1) (default 0.25)"),
        click.option("--keys", type=int, default=None, help="recall, cgram natural: key alphabet size K"),
        click.option("--values", type=int, default=None, help="recall, cgram natural: value alphabet size V"),
        click.option("--c", "c", type=int, default=None, help="cgram: the gram length c (default 3)"),
        click.option("--alphabet", type=int, default=None, help="counting natural: alphabet size A"),
        click.option("--threshold", type=int, default=None, help="counting natural: threshold t (default 1)"),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def collect_options(kwargs) -> dict:
    """Pop the task options from a command's keyword arguments, keeping those the user gave."""
    out = {}
    for key in ("bias", "keys", "values", "c", "alphabet", "threshold"):
        value = kwargs.pop(key, None)
        if value is not None:
            out[key] = value
    return out


def _progress(length: int, label: str):
    return click.progressbar(length=length, label=label, file=sys.stderr, hidden=not sys.stderr.isatty(),
                             show_pos=True, show_eta=True)


def do_sweep(task, ns, algorithms, trials, seed, out, budgets=None, fractions=None, resume=False,
             overwrite=False, strict=False, debug=False, distribution=None, **options) -> int:
    """Run a sweep into a results file; returns the number of audit violations."""
    from streaming.results import RowWriter, existing_keys
    from streaming.sweep import plan_cells, run_cells
    from streaming.tasks import make_task

    cells = plan_cells(task, ns, algorithms, trials, seed, budgets=budgets, fractions=fractions,
                       distribution=distribution, **options)
    out = Path(out)
    if overwrite and out.exists():
        out.unlink()
    done = existing_keys(out)
    label = make_task(task, ns[0], distribution, **options).label()
    already = sum(1 for c in cells if c.key(label) in done)
    if already and not resume:
        raise UserError(f"{out} already holds {already} of these cells: pass --resume to skip them "
                        f"or --overwrite to start afresh")
    todo = len(cells) - already
    violations = 0
    with RowWriter(out) as writer, _progress(todo, f"{task} sweep") as bar:
        for row in run_cells(cells, done=done, debug=debug):
            writer.write(row)
            bar.update(1)
            if row["audit"] == "VIOLATION":
                violations += 1
                click.echo(f"\nwarning: audit VIOLATION: {row['reader']} at b = {row['budget_bits']}, "
                           f"n = {row['n']}: success {row['success']} (CI {row['ci_low']}..{row['ci_high']}) "
                           f"above the bound {row['bound']}", err=True)
    click.echo(f"{todo} cells written to {out} ({already} already there)", err=True)
    return violations


@cli.command()
@click.option("--task", default="index", show_default=True, help="task name (see `streambound algorithms`)")
@click.option("--n", "n_text", default="1024", show_default=True, help="task size(s): 1024, or 64,256, or 64:256:64")
@click.option("--budgets", default=None, help="state bits: 0,64,128 or start:stop:step (stop included)")
@click.option("--fractions", default=None, help="budgets as fractions of m(n): 0,0.5,1 or 0:1:0.125")
@click.option("--algorithms", default="all", show_default=True, help="comma list of names, or all")
@click.option("--trials", default=4000, show_default=True, type=int, help="streams per cell")
@click.option("--seed", default=0, show_default=True, type=int, help="seed of the streams and public coins")
@task_options
@click.option("--out", default="results/index.csv", show_default=True, type=click.Path(dir_okay=False))
@click.option("--resume", is_flag=True, help="skip cells already in --out")
@click.option("--overwrite", is_flag=True, help="delete --out first")
@click.option("--strict", is_flag=True, help="exit 1 when any cell fails its audit")
@click.option("--debug", is_flag=True, help="fail when an algorithm sets a bit past its budget (slower)")
@click.option("--plot", "plot_out", default=None, type=click.Path(dir_okay=False), help="also draw this figure")
def sweep(task, n_text, budgets, fractions, algorithms, trials, seed, distribution, out, resume, overwrite,
          strict, debug, plot_out, **kwargs):
    """Sweep the memory budget: one result row per (n, algorithm, budget) cell, appended as it finishes."""
    ns = _int_list(n_text, "n")
    if budgets is None and fractions is None:
        fractions = "0:1:0.0625"
    if budgets is not None and fractions is not None:
        raise UserError("give --budgets or --fractions, not both")
    from streaming.sweep import parse_fractions

    options = collect_options(kwargs)
    if plot_out:
        from .plotting import check_output_path

        check_output_path(plot_out)
    violations = do_sweep(
        task, ns, algorithms, trials, seed, out,
        budgets=_int_list(budgets, "budgets") if budgets is not None else None,
        fractions=parse_fractions(fractions) if fractions is not None else None,
        resume=resume, overwrite=overwrite, strict=strict, debug=debug, distribution=distribution, **options,
    )
    if plot_out:
        from .plotting import plot_results

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
    from .plotting import check_output_path, plot_results

    check_output_path(out)
    click.echo(f"figure written to {plot_results(results, out)}")


@cli.command()
@click.option("--task", default="index", show_default=True)
@click.option("--n", type=int, required=True, help="task size")
@click.option("--success", type=float, default=None, help="print the fewest bits for this success")
@click.option("--bits", type=int, default=None, help="print the highest success possible with these bits")
@task_options
def bound(task, n, success, bits, distribution, **kwargs):
    """The exact bounds for a task: fewest state bits for a success, or best success for a number of bits."""
    from streaming.tasks import make_task

    if (success is None) == (bits is None):
        raise UserError("give exactly one of --success and --bits")
    t = make_task(task, n, distribution, **collect_options(kwargs))
    m = t.index_size
    click.echo(f"{task}, {t.size_name} = {n} (m = {m} Index bits), {t.label()}; any streaming algorithm or RNN "
               f"state:")
    for marker_bits, text in t.markers():
        click.echo(f"  {'reference':32s} {text}")
    names = {"fano": "Fano bound", "sphere": "sphere-covering bound (exact)", "achievable": "random code"}
    if t.distribution == "permutation":
        names["fano"] = "permutation Fano (Sun-Woodruff)"
    if bits is not None:
        if bits < 0:
            raise UserError(f"--bits must be non-negative, got {bits}")
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


def fewest_bits_for(task, key: str, success: float):
    """Fewest b with task.bounds(b)[key] >= success, or None when the task has no such curve."""
    from commcomplexity.bounds import fewest_bits

    def value(_m, b):
        return float(np.asarray(task.bounds([b])[key]).reshape(-1)[0])

    if not np.isfinite(value(None, 0)):
        return None
    return fewest_bits(value, task.index_size, success)


@cli.command()
@click.option("--task", default=None, help="only this task")
@click.option("--n", type=int, default=None, help="with --budget: show the parameters each plan chooses")
@click.option("--budget", type=int, default=None)
def algorithms(task, n, budget):
    """List the registered budgeted algorithms: what each does and the memory it uses."""
    from streaming.algorithms import REGISTRY
    from streaming.tasks import TASKS, make_task

    if task is not None and task not in TASKS:
        raise UserError(f"unknown task {task!r}; known tasks: {', '.join(sorted(TASKS))}")
    if (n is None) != (budget is None):
        raise UserError("give --n and --budget together")
    if n is not None and (n < 1 or budget < 0):
        raise UserError("--n must be positive and --budget non-negative")
    for (t, name), alg in REGISTRY.items():
        if task is not None and t != task:
            continue
        click.echo(f"{t:8s} {name:12s} {alg.summary}")
        click.echo(f"{'':21s} memory: {alg.memory}")
        if n is not None:
            try:
                instance = make_task(t, n)
            except ValueError as exc:
                click.echo(f"{'':21s} at n = {n}: {exc}")
                continue
            extra = alg.settings(n, budget) if not alg.uses_task else ""
            click.echo(f"{'':21s} at n = {n}, b = {budget} ({instance.label()}): uses "
                       f"{alg.bits_used(n, budget, instance)} bits" + (f"; {extra}" if extra else ""))


@cli.command()
@click.argument("names", nargs=-1)
@click.option("--trials", default=None, type=int, help="streams per cell (default: 4000 index, 2000 istree, recall "
              "and counting, 800 per bisection step for scaling)")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--results", "results_dir", default="results", show_default=True, type=click.Path(file_okay=False))
@click.option("--figures", "figures_dir", default="figures", show_default=True, type=click.Path(file_okay=False))
@click.option("--runs", "runs_dir", default="runs", show_default=True, type=click.Path(file_okay=False),
              help="probe: where the trained runs live (missing ones are trained, unfinished ones resumed)")
@click.option("--device", default="auto", show_default=True, help="probe: auto (CUDA when present), cpu or cuda")
def figures(names, trials, seed, results_dir, figures_dir, runs_dir, device):
    """Regenerate figures. With no NAMES: the main job (index: the Index budget sweep, resumed, and its figure).
    NAMES: index, exact, istree, recall, counting, scaling, or all (these six); probe (trains six neural runs
    first when runs/ lacks them: about half an hour on 2 CPU cores; needs the models extra)."""
    from .figures import FIGURES, figure_sweeps, plot_scaling, scaling_cells, scaling_row, write_scaling
    from .plotting import plot_results

    names = list(names) or ["index"]
    if names == ["all"]:
        names = list(FIGURES)
    unknown = [n for n in names if n not in FIGURES + ("probe",)]
    if unknown:
        raise UserError(f"unknown figure {unknown[0]!r}; known: {', '.join(FIGURES)}, all, probe")
    if trials is not None and trials < 1:
        raise UserError("--trials must be positive")
    results_dir, figures_dir = Path(results_dir), Path(figures_dir)
    for name in names:
        if name == "probe":
            _need_torch()
            out = probe_figure(Path(runs_dir), results_dir, figures_dir, trials or 2000, seed, device)
            click.echo(f"figure written to {out}")
        elif name == "exact":
            from .exact import exact_rows, plot_exact, write_exact_csv

            rows = []
            with _progress(sum(m + 1 for m in range(4, 9)), "exact analysis m = 4..8") as bar:
                for m in range(4, 9):
                    rows.extend(exact_rows(m, range(0, m + 1), seed=seed, time_limit=30.0,
                                           progress=lambda: bar.update(1)))
            csv_path = write_exact_csv(rows, results_dir / "exact.csv")
            click.echo(f"figure written to {plot_exact(csv_path, figures_dir / 'exact.png')}")
        elif name == "scaling":
            cells = list(scaling_cells())
            rows = []
            with _progress(len(cells), "scaling (bisection per cell)") as bar:
                for task_name, n, reader in cells:
                    rows.append(scaling_row(task_name, n, reader, trials or 800, seed))
                    bar.update(1)
            csv_path = write_scaling(rows, results_dir / "scaling.csv")
            click.echo(f"figure written to {plot_scaling(csv_path, figures_dir / 'scaling.png')}")
        else:
            csv_path = results_dir / f"{name}.csv"
            for task_name, n, distribution, options, algs, budgets in figure_sweeps(name):
                do_sweep(task_name, [n], algs, trials or (4000 if name == "index" else 2000), seed, csv_path,
                         budgets=budgets, resume=True, distribution=distribution, **options)
            click.echo(f"figure written to {plot_results([csv_path], figures_dir / f'{name}.png')}")


@cli.command()
@click.option("--task", default="index", show_default=True)
@click.option("--m", type=int, required=True, help="Index size (every x in {0,1}^m and every k is enumerated)")
@click.option("--bits", "bits_text", required=True, help="message bits: 2, or 0,1,2, or 0:6:1")
@click.option("--seed", default=0, show_default=True, type=int, help="public coins of the algorithms")
@click.option("--time-limit", default=60.0, show_default=True, type=float, help="seconds per integer program")
@click.option("--c", "c", default=3, show_default=True, type=int, help="cgram: the gram length")
def exact(task, m, bits_text, seed, time_limit, c):
    """Exact success at small m (the Index bits a task's hard stream embeds): the optimal one-way protocol, the
    bounds, and every registered algorithm of the task on its hard distribution."""
    from streaming.tasks import TASKS

    from .exact import exact_rows

    if task not in TASKS:
        raise UserError(f"unknown task {task!r}; known tasks: {', '.join(sorted(TASKS))}")
    if c < 2:
        raise UserError(f"--c must be at least 2, got {c}")
    if task == "istree" and m < 1:
        raise UserError("IsTree needs m >= 1 (N = m + 3 >= 4 nodes)")
    if not 1 <= m <= 16:
        raise UserError(f"--m must lie in 1..16 (the enumeration has 2^m * m streams), got {m}")
    if time_limit <= 0:
        raise UserError("--time-limit must be positive")
    for b in _int_list(bits_text, "bits"):
        click.echo(f"{task}, m = {m}, b = {b} (exact on the hard distribution: every x in {{0,1}}^{m}, every k):")
        for r in exact_rows(m, [b], seed=seed, time_limit=time_limit, task_name=task, c=c):
            note = {"optimum": f"  ({r['status']}, {r['seconds']:.2f} s)", "optimum-upper": "  (proven upper bound)",
                    "sphere": "  (sphere-covering bound)", "fano": "  (Fano bound)"}.get(r["reader"], "")
            name = {"optimum": "optimal one-way protocol", "optimum-upper": "optimum at most"}.get(r["reader"],
                                                                                                r["reader"])
            click.echo(f"  {name:26s} {r['success']:.6f}{note}")
        if m > 10:
            click.echo("  (no optimal protocol above m = 10: the integer program has 2^m * (m + 1) variables)")


@cli.command()
@click.option("--task", default="index", show_default=True)
@click.option("--algorithm", required=True, help="a registered algorithm (see `streambound algorithms`)")
@click.option("--n", type=int, required=True)
@click.option("--budget", type=int, required=True, help="state bits")
@click.option("--seed", default=0, show_default=True, type=int, help="fixes the public coins and the search")
@click.option("--time-limit", default=10.0, show_default=True, type=float, help="seconds for a birthday search")
@click.option("--out", default=None, type=click.Path(dir_okay=False), help="write the witness as JSON")
@click.option("--c", "c", default=None, type=int, help="cgram: the gram length (default 3)")
def adversary(task, algorithm, n, budget, seed, time_limit, out, c):
    """Find two inputs the algorithm cannot tell apart at the cut, so that one of them is answered wrongly
    (on the task's hard distribution, through its reduction from Index)."""
    import json

    from commcomplexity.adversary import find_witness
    from streaming.algorithms import get_algorithm
    from streaming.tasks import make_task

    if n < 1 or budget < 0 or time_limit <= 0:
        raise UserError("--n and --time-limit must be positive and --budget non-negative")
    instance = make_task(task, n, **({"c": c} if c is not None else {}))
    alg = get_algorithm(task, algorithm)
    result = find_witness(alg, n, budget, seed=seed, time_limit=time_limit, task=instance)
    if result.witness is None:
        click.echo(f"{algorithm}, n = {n}, b = {budget}: {result.message}")
        sys.exit(1 if result.method == "birthday" else 0)
    w = result.witness
    click.echo(f"{algorithm}, n = {n}, b = {budget}, coins {w['coins']}: {result.message} "
               f"({result.tries} parts tried, {result.seconds:.2f} s)")
    click.echo(f"  stream 1: {w['stream']}")
    click.echo(f"  stream 2: {w['stream_prime']}")
    click.echo(f"  shared state at the cut: {w['state']}")
    click.echo(f"  answer on both: {w['answer']}; correct answers: {w['correct'][0]} and {w['correct'][1]}: "
               f"stream {1 if w['answer'] != w['correct'][0] else 2} is answered wrongly")
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(w, indent=1) + "\n")
        click.echo(f"witness written to {out}")


@cli.command()
@click.argument("witness", type=click.Path(dir_okay=False))
def replay(witness):
    """Re-run a witness's two streams from scratch and confirm the failure."""
    from commcomplexity.adversary import replay as do_replay

    r = do_replay(witness)
    click.echo(f"confirmed: {r['algorithm']} (n = {r['n']}, b = {r['budget']}) reaches state {r['state']} on both "
               f"parts, answers {r['answer']} to k = {r['k']} on both, and the correct answers are "
               f"{r['correct'][0]} and {r['correct'][1]}: stream {r['wrong_stream'] + 1} is answered wrongly")


@cli.command()
@click.argument("what", type=click.Choice(["engine", "coder", "adversary", "train"]), default="engine")
@click.option("--n", default=4096, show_default=True, type=int)
@click.option("--trials", default=10000, show_default=True, type=int)
@click.option("--repeats", default=3, show_default=True, type=int, help="engine: best of this many timings")
@click.option("--algorithm", default="trellis", show_default=True, help="coder: which registered coder")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--device", default="auto", show_default=True, help="train: auto (CUDA when present), cpu or cuda")
@click.option("--models", "families", default="lstm,mamba2,llama", show_default=True,
              help="train: the tiny readers to time")
@click.option("--steps", default=20, show_default=True, type=int, help="train: timed steps per model")
def bench(what, n, trials, repeats, algorithm, seed, device, families, steps):
    """Benchmarks. engine: tokens/s for prefix and blockcode against numpy summing the same tokens.
    coder: a coder's success against the bounds at b/n = 0.1 .. 0.9.
    adversary: seconds to a certified witness at b = 16, 20, 24 for every algorithm (uses --n, default 64 here).
    train: training tokens/s of the tiny neural readers on Index (uses --n, default 64 here; batch 64)."""
    from .bench import adversary_benchmark, coder_benchmark, engine_benchmark, train_benchmark

    if n < 1 or trials < 1 or repeats < 1:
        raise UserError("--n, --trials and --repeats must be positive")
    if what == "train":
        _need_torch()
        from streaming.neural.models import FAMILIES

        chosen = [f.strip() for f in families.split(",") if f.strip()]
        unknown = [f for f in chosen if f not in FAMILIES]
        if not chosen or unknown:
            raise UserError(f"unknown model {', '.join(unknown) or '(none given)'}; known: {', '.join(FAMILIES)}")
        train_benchmark(64 if n == 4096 else n, steps, 64, device, chosen, echo=click.echo)
    elif what == "adversary":
        adversary_benchmark(64 if n == 4096 else n, echo=click.echo)
    elif what == "engine":
        engine_benchmark(n, trials, repeats, echo=click.echo)
    else:
        coder_benchmark(n, trials, algorithm, seed, echo=click.echo)


def probe_figure(runs_dir: Path, results_dir: Path, figures_dir: Path, trials: int, seed: int, device: str) -> Path:
    """Train what is missing, probe every run at every precision, sweep the algorithms, draw figures/probe.png."""
    from streaming.neural.train import load_run, task_of
    from streaming.neural.train import train as do_train
    from streaming.results import RowWriter, write_table
    from streaming.tasks import make_task

    from .probefig import ALGORITHMS, CAPACITY_COLUMNS, PRECISIONS, PROBE_RUNS, plot_probe, probe_rows, run_complete

    for spec in PROBE_RUNS:
        path = runs_dir / spec.name
        if run_complete(path, spec.steps):
            continue
        with _progress(spec.steps, f"training {spec.name}") as bar:
            do_train(make_task("index", spec.n), spec.family, spec.size, spec.steps, path, lr=spec.lr, seed=0,
                     device=device, resume_run=True, progress=lambda *_: bar.update(1))
    results_csv, capacity_csv = results_dir / "probe.csv", results_dir / "probe-capacity.csv"
    if results_csv.exists():
        results_csv.unlink()  # the models' rows are recomputed each time (a run may have trained further)
    capacity = []
    with RowWriter(results_csv) as writer, _progress(len(PROBE_RUNS), "probing every run") as bar:
        for spec in PROBE_RUNS:
            model, meta = load_run(runs_dir / spec.name, device)
            for row, cap in probe_rows(model, meta, runs_dir / spec.name, task_of(meta), PRECISIONS, trials, seed):
                writer.write(row)
                capacity.append(cap)
            bar.update(1)
    write_table(capacity, capacity_csv, CAPACITY_COLUMNS)
    for n in sorted({spec.n for spec in PROBE_RUNS}):
        do_sweep("index", [n], ALGORITHMS, trials, seed, results_csv, budgets=list(range(0, n + 1, max(1, n // 16))),
                 resume=True)
    return plot_probe(results_csv, capacity_csv, figures_dir / "probe.png")


# --- neural readers (the `models` extra: torch, safetensors) -----------------------------------------------------
def _need_torch():
    try:
        import safetensors  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        raise UserError("the neural commands need the models extra: pip install torch==2.13.0 "
                        "&& pip install -e '.[models]'") from None


def _precisions(text: str) -> list:
    out = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        if part.isdigit() and int(part) >= 1:
            out.append(int(part))
        elif part in ("float16", "bfloat16", "float8"):
            out.append(part)
        else:
            raise UserError(f"bad precision {part!r}: bits per coordinate (2, 4, ..., 32) or float16, bfloat16, "
                            f"float8")
    if not out:
        raise UserError("no precision given")
    return out


@cli.command()
@click.option("--task", default="index", show_default=True)
@click.option("--n", type=int, required=True)
@task_options
@click.option("--model", "family", default="lstm", show_default=True,
              help="lstm, gru, mamba, mamba2, llama or hybrid (Mamba-2 stack + one LLaMA block)")
@click.option("--size", default="tiny", show_default=True, help="tiny, small, or the paper's 0.5M, 1M, 2M")
@click.option("--steps", default=2000, show_default=True, type=int)
@click.option("--batch", default=64, show_default=True, type=int)
@click.option("--lr", default=3e-3, show_default=True, type=float)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--device", default="auto", show_default=True, help="auto (CUDA when present), cpu or cuda")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="run directory")
@click.option("--resume", "resume_run", is_flag=True, help="continue the run in --out")
@click.option("--frozen-embedding/--trainable-embedding", default=True, show_default=True,
              help="tie embedding and head to a frozen sinusoidal code of the token id (the paper's setting)")
@click.option("--curriculum/--no-curriculum", default=True, show_default=True,
              help="start at size 8, double the size when training accuracy reaches 0.9 over 200 steps (or at a "
                   "deadline: the smaller sizes share the first half of the steps)")
def train(task, n, distribution, family, size, steps, batch, lr, seed, device, out, resume_run, frozen_embedding,
          curriculum, **kwargs):
    """Train a neural reader on fresh streams of a task (loss on the answer token); checkpoints as safetensors."""
    _need_torch()
    from streaming.neural.train import train as do_train
    from streaming.tasks import make_task

    instance = make_task(task, n, distribution, **collect_options(kwargs))
    state = {"bar": None}
    with click.progressbar(length=steps, label=f"training {family} on {task} n = {n}", file=sys.stderr,
                           hidden=not sys.stderr.isatty(), show_pos=True) as bar:
        def progress(step, loss, acc):
            bar.label = f"training {family}: loss {loss:.3f} acc {acc:.2f}"
            bar.update(1)

        state["result"] = do_train(instance, family, size, steps, out, batch=batch, lr=lr, seed=seed,
                                   device=device, resume_run=resume_run, progress=progress,
                                   curriculum=curriculum, frozen_embedding=frozen_embedding)
    hist = state["result"]["history"]
    if hist:
        tail = hist[-min(50, len(hist)):]
        click.echo(f"trained {len(hist)} steps into {out}: last-50-step loss {np.mean([h[0] for h in tail]):.4f}, "
                   f"accuracy {np.mean([h[1] for h in tail]):.3f}")


class _NoRows:
    """Where rows go when no --out was given."""

    def __enter__(self):
        return self

    def __exit__(self, *_):
        return False

    def write(self, row) -> None:
        pass


def _row_writer(out):
    """A RowWriter appending to `out`, or one that keeps nothing when there is no `out`."""
    from streaming.results import RowWriter

    return RowWriter(out) if out else _NoRows()


def _run_task_options(fn):
    fn = click.option("--n", type=int, default=None, help="task size (default: the run's own; smaller ones fit)")(fn)
    return click.option("--task", "task_name", default=None, help="check that the run was trained on this task")(fn)


@cli.command("eval")
@click.argument("runs", nargs=-1, required=True)
@_run_task_options
@click.option("--trials", default=5000, show_default=True, type=int)
@click.option("--seed", default=0, show_default=True, type=int, help="the streams a sweep with this seed reads")
@click.option("--precision", default="32", show_default=True, help="bits per coordinate or a float format")
@click.option("--device", default="auto", show_default=True)
@click.option("--out", default=None, type=click.Path(dir_okay=False), help="append result rows here")
def eval_cmd(runs, task_name, n, trials, seed, precision, device, out):
    """Accuracy of trained readers on their task's streams, as result rows (budget = state bits)."""
    _need_torch()
    from streaming.neural.train import (calibration_ranges, evaluate, load_run, reader_name, rounds_uniformly,
                                        task_of)
    from streaming.sweep import make_row

    if trials < 1:
        raise UserError("--trials must be positive")
    p = _precisions(precision)[0]
    with _row_writer(out) as writer:
        for run in runs:
            model, meta = load_run(run, device)
            task = task_of(meta, task_name, n)
            ranges = calibration_ranges(model, task, seed) if rounds_uniformly(p) else None
            ok, bits = evaluate(model, task, trials, seed, p, ranges)
            name = reader_name(meta, run, p)
            row = make_row(task, name, bits, bits, ok, trials, seed, 0.0, cells=1)
            click.echo(f"{name}: {task.name} n = {task.n}: success {ok / trials:.4f} with {bits} state bits "
                       f"(bound {row['bound'] or 'none'})")
            writer.write(row)


@cli.command()
@click.argument("run")
@_run_task_options
@click.option("--precision", "precision_text", default="2,4,8,16,32", show_default=True)
@click.option("--trials", default=2000, show_default=True, type=int)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--device", default="auto", show_default=True)
@click.option("--out", default=None, type=click.Path(dir_okay=False), help="append result rows here")
def probe(run, task_name, n, precision_text, trials, seed, device, out):
    """How many bits of the input the state holds: success from the rounded state, and a linear capacity probe."""
    _need_torch()
    from streaming.neural.train import load_run, task_of

    from .probefig import probe_rows

    if trials < 10:
        raise UserError("--trials must be at least 10")
    precisions = _precisions(precision_text)
    model, meta = load_run(run, device)
    task = task_of(meta, task_name, n)
    if task.distribution not in ("hard", "uniform"):
        raise UserError("the capacity probe reads the Index bits of a hard distribution")
    click.echo(f"{'precision':>9} {'state bits':>10} {'success':>8} {'bound':>8} {'C (bits)':>9} {'C/bit':>7}")
    with _row_writer(out) as writer:
        for row, cap in probe_rows(model, meta, run, task, precisions, trials, seed):
            bits, c = cap["state_bits"], float(cap["capacity_bits"])
            click.echo(f"{str(cap['precision']):>9} {bits:>10} {float(row['success']):8.4f} "
                       f"{row['bound'] or 'none':>8} {c:9.2f} {c / bits:7.4f}")
            writer.write(row)
