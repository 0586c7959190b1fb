"""`adversary`, `replay`, `exact`: the lower-bound proof run as a search, and the exact limit at small sizes."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from commcomplexity.bounds import sphere_success
from commcomplexity.everystep import MAX_M as ES_MAX_M, PRUNE_CHUNK, SearchTimeout, describe, every_step_optimum, \
    searchable, simulate
from commcomplexity.protocols import optimal_protocol
from streaming.adversary import WitnessError, find_witness, load_witness
from streaming.adversary import replay as replay_witness
from streaming.algorithms import get_algorithm
from streaming.exact import MAX_M, exact_rows, task_for_index_size
from streaming.tasks import make_task

from .main import UserError, cli, ensure_writable, int_list, progress
from .options import collect_options, plugin_option, task_options


@cli.command()
@click.option("--task", default="index", show_default=True)
@click.option("--m", type=int, required=True, help="Index size (every x in {0,1}^m and every k is enumerated)")
@click.option("--bits", "bits_text", required=True, help="message bits: 2, or 0,1,2, or 0:6:1")
@click.option("--seed", default=0, show_default=True, type=int, help="public coins of the algorithms")
@click.option("--time-limit", default=None, type=float,
              help="seconds per integer program (default 60); with --every-step, for each search (default: none)")
@click.option("--every-step", is_flag=True, help="the best machine with b bits at EVERY step (Index only), with the "
              "optimal machine in words")
@task_options
@plugin_option
def exact(task, m, bits_text, seed, time_limit, every_step, distribution, **kwargs):
    """Exact success at small m (the Index bits a task's hard stream embeds): the optimal one-way protocol, the
    bounds, and every registered algorithm of the task on its hard distribution."""
    if distribution is not None:
        raise UserError("exact enumerates the hard distribution (every x, every k): --distribution does not apply")
    if not 1 <= m <= MAX_M:
        raise UserError(f"--m must lie in 1..{MAX_M} (the enumeration has 2^m * m streams), got {m}")
    if time_limit is not None and not 0 < time_limit <= 86400:
        raise UserError("--time-limit must lie in (0, 86400] seconds")
    if every_step:
        return _every_step(task, m, int_list(bits_text, "bits"), time_limit)
    time_limit = 60.0 if time_limit is None else time_limit
    instance = task_for_index_size(task, m, **collect_options(kwargs))
    for b in int_list(bits_text, "bits"):
        click.echo(f"{task}, m = {m}, b = {b} (exact on the hard distribution: every x in {{0,1}}^{m}, every k):")
        for r in exact_rows(instance, [b], seed=seed, time_limit=time_limit):
            note = {"optimum": f"  ({r['status']}, {r['seconds']:.2f} s)", "optimum-upper": "  (proven upper bound)",
                    "sphere": "  (sphere-covering bound)", "fano": "  (Fano bound)"}.get(r["reader"], "")
            name = {"optimum": "optimal one-way protocol", "optimum-upper": "optimum at most"}.get(r["reader"],
                                                                                                r["reader"])
            click.echo(f"  {name:26s} {r['success']:.6f}{note}")
        if m > 10:
            click.echo("  (no optimal protocol above m = 10: the integer program has 2^m * (m + 1) variables)")


def _every_step(task, m, bits_list, time_limit):
    """`exact --every-step`: the every-step optimum, the one-way optimum beside it, and the machine in words."""
    if task != "index":
        raise UserError("--every-step searches machines for Index itself (the other tasks' hard streams are longer "
                        "than their m Index bits): use --task index")
    for b in bits_list:
        if not searchable(m, b):
            raise UserError(f"--every-step is exact for b = 1 at m <= {ES_MAX_M[1]}, b = 2 at m <= {ES_MAX_M[2]}, "
                            f"and b = 0 or b >= m - 1 at every m; not m = {m}, b = {b}")
    for b in bits_list:
        bars = {}

        def shown(step, done, total):  # a bar for each layer worth waiting on (the assignment bound's pass)
            if total >= 4 * PRUNE_CHUNK:
                if step not in bars:
                    bars[step] = progress(total, f"bounding the states after step {step}").__enter__()
                bars[step].update(done - bars[step].pos)
                if done == total:
                    bars.pop(step).__exit__(None, None, None)

        try:
            r = every_step_optimum(m, b, time_limit=time_limit, progress=shown)
        except SearchTimeout as err:
            click.echo(f"streambound: {err}; no result for b = {b} (raise --time-limit, or leave it out)", err=True)
            sys.exit(1)
        finally:
            for bar in bars.values():
                bar.__exit__(None, None, None)
        one_way = optimal_protocol(m, b, time_limit=60.0 if time_limit is None else time_limit) if m <= 10 else None
        click.echo(f"index, m = {m}, b = {b}: the best machine with {b} bit(s) of state at every step")
        click.echo(f"  every-step optimum        {r.success} = {float(r.success):.6f}  ({r.status}, {r.nodes} states "
                   f"searched, {r.seconds:.2f} s)")
        if one_way is not None:
            click.echo(f"  one-way optimum           {one_way.success:.6f}  ({one_way.status}; b bits at one cut only)")
        click.echo(f"  sphere bound              {float(sphere_success(m, b)):.6f}")
        click.echo(f"  re-simulated on all 2^{m} inputs: {simulate(r.machine)}")
        for line in describe(r.machine):
            click.echo(f"  {line}")


@cli.command()
@click.option("--task", default="index", show_default=True)
@click.option("--algorithm", required=True, help="a registered algorithm (see `streambound algorithms`)")
@click.option("--n", type=int, required=True)
@click.option("--budget", type=int, required=True, help="state bits")
@click.option("--seed", default=0, show_default=True, type=int, help="fixes the public coins and the search")
@click.option("--time-limit", default=10.0, show_default=True, type=float, help="seconds for a birthday search")
@click.option("--out", default=None, type=click.Path(dir_okay=False), help="write the witness as JSON")
@task_options
@plugin_option
def adversary(task, algorithm, n, budget, seed, time_limit, out, distribution, **kwargs):
    """Find two inputs the algorithm cannot tell apart at the cut, so that one of them is answered wrongly
    (on the task's hard distribution, through its reduction from Index)."""
    if not time_limit > 0 or time_limit > 86400:
        raise UserError("--time-limit must lie in (0, 86400] seconds")
    if distribution is not None:
        raise UserError("the witness search runs on the task's hard distribution: --distribution does not apply")
    instance = make_task(task, n, **collect_options(kwargs))
    alg = get_algorithm(task, algorithm)
    ensure_writable(out)
    if out and Path(out).exists() and Path(out).stat().st_size:
        try:
            load_witness(out)
        except WitnessError:
            raise UserError(f"{out} exists and is not a streambound witness: refusing to replace it") from None
    result = find_witness(alg, instance, budget, seed=seed, time_limit=time_limit)
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
        Path(out).write_text(json.dumps(w, indent=1) + "\n")
        click.echo(f"witness written to {out}")


@cli.command()
@click.argument("witness", type=click.Path(dir_okay=False))
@plugin_option
def replay(witness):
    """Re-run a witness's two streams from scratch and confirm the failure."""
    r = replay_witness(witness)
    click.echo(f"confirmed: {r['algorithm']} (n = {r['n']}, b = {r['budget']}) reaches state {r['state']} on both "
               f"parts, answers {r['answer']} to k = {r['k']} on both, and the correct answers are "
               f"{r['correct'][0]} and {r['correct'][1]}: stream {r['wrong_stream'] + 1} is answered wrongly")
