"""`streambound bench`: benchmarks that print ratios measured in one run (`bench` alone: the engine)."""
from __future__ import annotations

import click

from streaming.benchmarks import (adversary_benchmark, cluster_benchmark, coder_benchmark, engine_benchmark,
                                  format_benchmark, train_benchmark)
from streaming.cluster import MAX_WORKERS

from .main import UserError, cli


#: what one benchmark may take: tokens held at once (about 1 GiB of int32) and repeats
LIMITS = {"tokens": 1 << 28, "repeats": 100, "steps": 100_000}


def _bounded(**values):
    for name, value in values.items():
        if value > LIMITS[name]:
            raise UserError(f"{name} = {value} is more than a benchmark takes here (at most {LIMITS[name]})")


def _positive(**values):
    for name, value in values.items():
        if value < 1:
            raise UserError(f"--{name} must be positive, got {value}")


@cli.group(invoke_without_command=True)
@click.pass_context
def bench(ctx):
    """Benchmarks. With no subcommand: `bench engine` on its defaults."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(engine)


@bench.command()
@click.option("--n", default=4096, show_default=True, type=int)
@click.option("--trials", default=10000, show_default=True, type=int)
@click.option("--repeats", default=3, show_default=True, type=int, help="best of this many timings")
def engine(n, trials, repeats):
    """Engine tokens/s for prefix and blockcode at b = n/2 against numpy summing the same tokens (ratios)."""
    _positive(n=n, trials=trials, repeats=repeats)
    _bounded(tokens=n * trials, repeats=repeats)
    engine_benchmark(n, trials, repeats, echo=click.echo)


@bench.command()
@click.option("--n", default=4096, show_default=True, type=int)
@click.option("--trials", default=10000, show_default=True, type=int)
@click.option("--algorithm", default="trellis", show_default=True, help="which registered Index coder")
@click.option("--seed", default=0, show_default=True, type=int)
def coder(n, trials, algorithm, seed):
    """A coder's success against the bounds at b/n = 0.1 .. 0.9, with intervals and tokens/s."""
    _positive(n=n, trials=trials)
    _bounded(tokens=n * trials)
    coder_benchmark(n, trials, algorithm, seed, echo=click.echo)


@bench.command()
@click.option("--n", default=64, show_default=True, type=int)
def adversary(n):
    """Seconds to a certified witness at b = 16, 20, 24 for every Index algorithm."""
    if n <= 25:
        raise UserError(f"--n must exceed 25 (a witness needs b < n, and the largest budget here is 24), got {n}")
    adversary_benchmark(n, echo=click.echo)


@bench.command()
@click.option("--n", default=64, show_default=True, type=int)
@click.option("--steps", default=20, show_default=True, type=int, help="timed steps per model")
@click.option("--device", default="auto", show_default=True, help="auto (CUDA when present), cpu or cuda")
@click.option("--models", "families", default="lstm,mamba2,llama", show_default=True, help="the tiny readers to time")
@click.option("--scans/--no-scans", default=True, show_default=True,
              help="also time Mamba with the mambapy parallel scan against the sequential reference scan")
def train(n, steps, device, families, scans):
    """Training tokens/s of the tiny neural readers on Index (batch 64), ratios to the first; then Mamba's mambapy
    scan against its reference scan (the ratio of their tokens/s), measured in the same run."""
    from .neural import need_torch

    _positive(n=n, steps=steps)
    _bounded(steps=steps, tokens=n * 64)
    need_torch()
    from streaming.neural.models import FAMILIES

    chosen = [f.strip() for f in families.split(",") if f.strip()]
    unknown = [f for f in chosen if f not in FAMILIES]
    if not chosen or unknown:
        raise UserError(f"unknown model {', '.join(unknown) or '(none given)'}; known: {', '.join(FAMILIES)}")
    train_benchmark(n, steps, 64, device, chosen, echo=click.echo, scans=scans)


@bench.command("cluster")
@click.option("--workers", default=2, show_default=True, type=int, help="local worker processes")
@click.option("--n", default=1024, show_default=True, type=int, help="Index size")
@click.option("--algorithm", default="trellis", show_default=True, help="a registered Index algorithm")
@click.option("--trials", default=800, show_default=True, type=int, help="streams per cell")
@click.option("--budgets", default="64:1024:64", show_default=True, help="the cells' budgets")
def cluster(workers, n, algorithm, trials, budgets):
    """The same sweep in process and on a local Dask cluster, in one run: the speed-up (a ratio), whether the rows
    are the same, and the cluster's overhead per cell."""
    from streaming.algorithms import get_algorithm

    from .main import int_list

    _positive(workers=workers, n=n, trials=trials)
    if workers > MAX_WORKERS:
        raise UserError(f"--workers must be at most {MAX_WORKERS}")
    _bounded(tokens=n * trials)
    get_algorithm("index", algorithm)  # an unknown name: one line
    cluster_benchmark(workers, n, algorithm, trials, int_list(budgets, "budgets"), echo=click.echo)


@bench.command("formats")
@click.option("--n", default=16, show_default=True, type=int, help="IsTree nodes N")
@click.option("--steps", default=5, show_default=True, type=int, help="timed steps per model and format")
@click.option("--batch", default=32, show_default=True, type=int)
@click.option("--device", default="auto", show_default=True, help="auto (CUDA when present), cpu or cuda")
@click.option("--models", "families", default="llama,mamba2,hybrid2", show_default=True,
              help="the tiny readers to time")
def formats(n, steps, batch, device, families):
    """Training tokens/s of the tiny readers in each IsTree format (vanilla, cot, retrieval), Figure 2's work."""
    from .neural import need_torch

    _positive(n=n, steps=steps, batch=batch)
    if n < 4:
        raise UserError(f"--n must be at least 4 (IsTree nodes), got {n}")
    _bounded(steps=steps, tokens=n * 40 * batch)
    need_torch()
    from streaming.neural.models import FAMILIES

    chosen = [f.strip() for f in families.split(",") if f.strip()]
    unknown = [f for f in chosen if f not in FAMILIES]
    if not chosen or unknown:
        raise UserError(f"unknown model {', '.join(unknown) or '(none given)'}; known: {', '.join(FAMILIES)}")
    format_benchmark(n, steps, batch, device, chosen, echo=click.echo)
