"""The sweep driver: a grid of (task, n, algorithm, budget) cells -> audited result rows, appended to a results
file as each cell finishes; resumable."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from commcomplexity.everystep import every_step_success
from commcomplexity.stats import AUDIT_NONE, AUDIT_OK, AUDIT_VIOLATION, audit, interval

#: the audit of a retrieval reader's row: the one-way bound does not bind a reader that queries the context
AUDIT_NOT_STREAMING = "not-streaming"

from . import __version__
from .algorithms import get_algorithm, resolve_names
from .engine import check_budget, check_seed_value, coins_for, run_cell, sealed_seed
from .generate import DECODE as GEN_DECODE, FORMAT as GEN_FORMAT, run_generating
from .results import RowWriter, cell_key, existing_keys, lock_file, read_rows
from .tasks import Task, make_task


#: the most streams one cell reads
MAX_TRIALS = 1 << 31
#: the largest budget fraction of m(n) a sweep takes
MAX_FRACTION = 64
#: the most values one list or range may expand to (a typo such as 0:10000000000:1 is refused, not expanded)
MAX_LIST = 100_000


def parse_int_list(text: str, what: str = "budgets", minimum: int = 0) -> list:
    """'0,64,128' or 'start:stop:step' (stop included when a step lands on it), or a mix joined by commas; every
    value at least `minimum`."""
    values = []
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) > 1 and not all(parts):
        raise ValueError(f"bad {what} {text!r}: an empty item in the list")
    for part in parts:
        if not part:
            continue
        if ":" in part:
            pieces = part.split(":")
            if len(pieces) != 3:
                raise ValueError(f"bad range {part!r} in {what}: write start:stop:step")
            try:
                start, stop, step = (int(p) for p in pieces)
            except ValueError:
                raise ValueError(f"bad range {part!r} in {what}: start, stop and step must be integers") from None
            if step <= 0 or stop < start:
                raise ValueError(f"bad range {part!r} in {what}: need step > 0 and stop >= start")
            if (stop - start) // step + 1 + len(values) > MAX_LIST:
                raise ValueError(f"range {part!r} in {what} has more than {MAX_LIST} values")
            values.extend(range(start, stop + 1, step))
        else:
            try:
                values.append(int(part))
            except ValueError:
                raise ValueError(f"bad value {part!r} in {what}: expected an integer") from None
    if not values:
        raise ValueError(f"no {what} given")
    if min(values) < minimum:
        kind = "positive" if minimum == 1 else f"at least {minimum}" if minimum else "non-negative"
        raise ValueError(f"{what} must be {kind}, got {min(values)}")
    return list(dict.fromkeys(values))


def parse_fractions(text: str) -> list:
    """'0,0.25,1' or 'start:stop:step' of fractions (stop included when a step lands on it)."""
    values = []
    for part in (p.strip() for p in str(text).split(",")):
        if not part:
            continue
        try:
            if ":" in part:
                start, stop, step = (float(p) for p in part.split(":"))
                if not (math.isfinite(start) and math.isfinite(stop) and math.isfinite(step)) or step <= 0 or \
                        stop < start:
                    raise ValueError
                count = int(math.floor((stop - start) / step + 1e-9)) + 1
                if count + len(values) > MAX_LIST:
                    raise ValueError(f"bad fraction range {part!r}: more than {MAX_LIST} values")
                values.extend(start + i * step for i in range(count))
            else:
                values.append(float(part))
        except ValueError:
            raise ValueError(f"bad fraction range {part!r}: write start:stop:step or a number") from None
        if not all(math.isfinite(v) for v in values) or len(values) > MAX_LIST:
            raise ValueError(f"bad fractions {part!r}: finite numbers, at most {MAX_LIST} of them")
    if not values:
        raise ValueError("no fractions given")
    if any(v < 0 for v in values) or any(v > MAX_FRACTION for v in values):
        raise ValueError(f"fractions must lie in 0..{MAX_FRACTION} (of m(n)), got {min(values) if min(values) < 0 else max(values):g}")
    return values


@dataclass(frozen=True)
class Cell:
    task: Task
    algorithm: str
    budget: int
    trials: int
    seed: int
    coin_seed: int = 0

    def key(self) -> tuple:
        """The cell's key in a results file (a row counts every scored answer: trials x the task's queries)."""
        fmt, decode = cell_format(get_algorithm(self.task.name, self.algorithm))
        return cell_key(dict(task=self.task.name, distribution=self.task.label(), n=self.task.n,
                             reader=self.algorithm, budget_bits=self.budget,
                             trials=self.trials * self.task.queries, seed=self.seed, coin_seed=self.coin_seed,
                             format=fmt, decode=decode))


def cell_format(algorithm) -> tuple:
    """(format, decode) of an algorithm's rows: a generating machine writes the retrieval trace and is read
    freely with the live environment (``streaming.generate``); a streaming algorithm is read at the stream's end."""
    return (GEN_FORMAT, GEN_DECODE) if algorithm.generating else ("vanilla", "stream")


def plan_cells(task: str, ns, algorithms: str, trials: int, seed: int, budgets=None, fractions=None,
               distribution: str | None = None, coin_seed: int = 0, **options) -> list:
    """Validate everything up front (before any work) and list the cells of the grid. Fractions are of m(n), the
    Index bits the task's hard stream embeds (the bound's m). The stream seed draws the streams; the coin seed,
    apart from it, draws the public coins."""
    if isinstance(trials, bool) or int(trials) != trials or not 1 <= trials <= MAX_TRIALS:
        raise ValueError(f"trials must be an integer in 1..{MAX_TRIALS}, got {trials!r}")
    seed, coin_seed = check_seed_value(seed), check_seed_value(coin_seed, "coin seed")
    if (budgets is None) == (fractions is None):
        raise ValueError("give either budgets or fractions")
    cells = []
    for n in ns:
        instance = make_task(task, n, distribution, **options)  # validates everything
        found = resolve_names(task, algorithms)
        for a in found:
            if a.generating and GEN_FORMAT not in instance.formats:
                raise ValueError(f"{a.name} needs the {GEN_FORMAT} format, which {task} ({instance.label()}) does "
                                 f"not offer")
        names = [a.name for a in found]
        m = instance.index_size
        bs = budgets if budgets is not None else list(dict.fromkeys(int(round(f * m)) for f in fractions))
        for b in bs:
            check_budget(b)
        for name in names:
            for b in bs:
                cells.append(Cell(instance, name, int(b), int(trials), seed, coin_seed))
    return cells


@dataclass(frozen=True)
class Part:
    """What one part of a cell counted: trials start .. start + trials - 1 (a whole cell is one part in process;
    the fan-out splits large cells into parts of about UNIT_TOKENS tokens)."""
    start: int
    trials: int
    successes: int
    missing: int
    queries: int  # environment queries in all (generating machines)
    seconds: float


#: tokens per part of a cell on a cluster (a cell of more is split; each part is a unit of work)
UNIT_TOKENS = 1 << 22


def run_part(cell: Cell, params, start: int, trials: int, debug: bool = False) -> Part:
    """Run trials start .. start + trials - 1 of a cell (its streams are the same bytes however a cell is split)."""
    algorithm = get_algorithm(cell.task.name, cell.algorithm)
    if algorithm.generating:  # with retrieval: no streaming algorithm, no audit (make_row)
        r = run_generating(algorithm, cell.task, cell.budget, trials, cell.seed, coin_seed=cell.coin_seed,
                           params=params, debug=debug, start=start)
        return Part(start, trials, r.successes, r.missing, int(round(r.queries * trials)), r.seconds)
    r = run_cell(algorithm, cell.task, cell.budget, trials, cell.seed, debug=debug, coin_seed=cell.coin_seed,
                 params=params, start=start)
    return Part(start, trials, r.successes, 0, 0, r.seconds)


def cell_row(cell: Cell, parts, cells: int) -> dict:
    """The audited result row of a cell from its parts (which must cover its trials exactly once)."""
    parts = sorted(parts, key=lambda p: p.start)
    if [p.start for p in parts] != [sum(q.trials for q in parts[:i]) for i in range(len(parts))] or \
            sum(p.trials for p in parts) != cell.trials:
        raise RuntimeError(f"the parts of cell {cell.algorithm} at b = {cell.budget} do not cover its trials once")
    algorithm = get_algorithm(cell.task.name, cell.algorithm)
    used = algorithm.used_bits(cell.task, cell.budget)
    successes, seconds = sum(p.successes for p in parts), sum(p.seconds for p in parts)
    if algorithm.generating:
        return make_row(cell.task, cell.algorithm, cell.budget, used, successes, cell.trials, cell.seed, seconds,
                        cells=cells, coin_seed=cell.coin_seed, fmt=GEN_FORMAT, decode=GEN_DECODE,
                        missing=sum(p.missing for p in parts), queries=sum(p.queries for p in parts) / cell.trials)
    return make_row(cell.task, cell.algorithm, cell.budget, used, successes, cell.trials * cell.task.queries,
                    cell.seed, seconds, cells=cells, streams=cell.trials, coin_seed=cell.coin_seed)


def split_cell(cell: Cell, unit_tokens: int = UNIT_TOKENS) -> list:
    """(start, trials) of each part of a cell on a cluster."""
    step = max(1, unit_tokens // cell.task.length)
    return [(lo, min(step, cell.trials - lo)) for lo in range(0, cell.trials, step)]


def plan_parts(cells: list, done=frozenset(), split: bool = False, unit_tokens: int = UNIT_TOKENS) -> int:
    """How many units of work the cells not in `done` make (the progress bar's length): a cell each in process,
    its parts when `split` (on a cluster)."""
    todo = [c for c in cells if c.key() not in done]
    if not split:
        return len(todo)
    return sum(len(split_cell(c, unit_tokens)) for c in todo)


def _planned(todo: list, sealed: bool) -> list:
    """(cell, params) of each cell: params None (each run plans its own), or, sealed, every cell planned with a
    coin seed from the operating system before the stream seed is drawn (so no plan, and no step, can know the
    streams); both seeds are written in the rows."""
    if not sealed:
        return [(c, None) for c in todo]
    coin_seed = sealed_seed()
    planned = [(c, get_algorithm(c.task.name, c.algorithm).make_params(c.task, c.budget, coins_for(coin_seed)))
               for c in todo]
    stream_seed = sealed_seed()
    return [(replace(c, seed=stream_seed, coin_seed=coin_seed), params) for c, params in planned]


def run_cells(cells: list, done: set = frozenset(), debug: bool = False, sealed: bool = False, client=None,
              failures: list | None = None, progress=None, unit_tokens: int = UNIT_TOKENS):
    """Run the cells not in `done`, yielding one result row per finished cell (audited against its bound).

    In process (no `client`) the cells run one after another, each as one part. With a Dask client every cell is
    split into parts run as units of work on the cluster, and a cell's row is yielded when its last part arrives
    (cells in arrival order; the same rows as in process, `seconds` aside). A cell whose part failed after its
    retries is appended to `failures` as (cell, error) and left out. `progress(1)` is told of each finished part."""
    todo = _planned([c for c in cells if c.key() not in done], sealed)
    if client is None:
        for cell, params in todo:
            row = cell_row(cell, [run_part(cell, params, 0, cell.trials, debug)], len(cells))
            if progress is not None:
                progress(1)
            yield row
        return
    from .cluster import fan_out, loaded_plugins

    jobs, owner, waiting = [], [], []
    plugins = loaded_plugins()
    for i, (cell, params) in enumerate(todo):
        pieces = split_cell(cell, unit_tokens)
        waiting.append(len(pieces))
        for start, count in pieces:
            jobs.append((cell, params, start, count, debug, plugins))
            owner.append(i)
    parts = [[] for _ in todo]
    failed = set()
    for j, part, error in fan_out(client, _part_on_worker, jobs):
        i = owner[j]
        if progress is not None:
            progress(1)
        if i in failed:
            continue
        if error is not None:
            failed.add(i)
            if failures is not None:
                failures.append((todo[i][0], error))
            continue
        parts[i].append(part)
        waiting[i] -= 1
        if waiting[i] == 0:
            yield cell_row(todo[i][0], parts[i], len(cells))


#: plans made inside this worker process, by cell (a large cell's parts plan once per worker, not once per part)
_PLANS: dict = {}


def _part_on_worker(cell: Cell, params, start: int, count: int, debug: bool, plugins: tuple) -> Part:
    from .cluster import worker_setup

    worker_setup(plugins)
    if params is None:
        algorithm = get_algorithm(cell.task.name, cell.algorithm)
        key = (repr(cell.task), cell.algorithm, algorithm.step, cell.budget, cell.coin_seed)
        if key not in _PLANS:
            if len(_PLANS) > 64:
                _PLANS.clear()
            _PLANS[key] = algorithm.make_params(cell.task, cell.budget, coins_for(cell.coin_seed))
        params = _PLANS[key]
    return run_part(cell, params, start, count, debug)


@dataclass(frozen=True)
class SweepReport:
    written: int
    already: int
    violations: list
    torn: Path | None = None  # where a torn last line of the file was set aside
    failed: tuple = ()  # (cell, error) of each cell that failed on the cluster after its retries


def run_sweep(cells: list, out, resume: bool = False, overwrite: bool = False, debug: bool = False,
              progress=None, sealed: bool = False, client=None, unit_tokens: int = UNIT_TOKENS) -> SweepReport:
    """Run a planned grid into a results file, appending and flushing each row as its cell finishes, so an
    interrupted sweep keeps what it did; with `resume`, cells already in the file are skipped. `progress(n)` is
    told of each finished unit (a cell; on a cluster, a part of one: see plan_parts). Returns what was written,
    the rows that failed their audit and the cells that failed on the cluster. `sealed`: the seeds come from the
    operating system at run time (see run_cells); a sealed sweep cannot resume. `client`: a Dask client to run
    the cells on (``streaming.cluster.connect``); this process stays the only writer of the file.

    The file is locked for the run (a second writer is refused). `overwrite` replaces a results file (never a
    foreign one) only when the sweep finishes, or is interrupted with rows to keep: the rows go to `<out>.new`
    first, so a sweep that fails early leaves the old rows where they were."""
    if sealed and resume:
        raise ValueError("a sealed sweep draws its seeds at run time, so it cannot resume another run's cells")
    out = Path(out)
    if overwrite and out.exists() and out.stat().st_size:
        read_rows(out)  # refuses a file that is not a results file (ResultsError, one line)
        guard = out.open("a")
        lock_file(guard, out)
        try:
            report = _sweep_rows(cells, out.with_name(out.name + ".new"), set(), debug, progress, sealed, out,
                                 client, unit_tokens)
        finally:
            guard.close()
        return report
    with RowWriter(out) as writer:
        done = set() if overwrite else existing_keys(out)
        already = sum(1 for c in cells if c.key() in done)
        if already and not resume:
            raise ValueError(f"{out} already holds {already} of these cells: pass --resume to skip them "
                             f"or --overwrite to start afresh")
        return _write_rows(writer, cells, done, debug, progress, sealed, already, client, unit_tokens)


def _sweep_rows(cells, new, done, debug, progress, sealed, out, client, unit_tokens) -> SweepReport:
    """Write every cell into a fresh file `new`, then move it over `out` (also after an interrupt with rows)."""
    new.unlink(missing_ok=True)
    writer = RowWriter(new)
    report = None
    try:
        report = _write_rows(writer, cells, done, debug, progress, sealed, 0, client, unit_tokens)
    except KeyboardInterrupt:
        writer.close()
        if len(read_rows(new)):
            os.replace(new, out)
        else:
            new.unlink(missing_ok=True)
        raise
    except BaseException:
        writer.close()
        new.unlink(missing_ok=True)
        raise
    writer.close()
    os.replace(new, out)
    return report


def _write_rows(writer, cells, done, debug, progress, sealed, already, client, unit_tokens) -> SweepReport:
    violations, written, failed = [], 0, []
    for row in run_cells(cells, done=done, debug=debug, sealed=sealed, client=client, failures=failed,
                         progress=progress, unit_tokens=unit_tokens):
        writer.write(row)
        written += 1
        if row["audit"] == AUDIT_VIOLATION:
            violations.append(row)
    return SweepReport(written, already, violations, writer.torn, tuple(failed))


def make_row(task, reader: str, budget: int, used_bits, successes: int, trials: int, seed: int, seconds: float,
             cells: int, streams: int | None = None, coin_seed="-", fmt: str = "vanilla", decode: str = "stream",
             missing: int = 0, queries: float = 0.0) -> dict:
    """A result row for any reader (algorithm or model; a reader without coins has coin seed '-'), with its
    bounds, interval and audit. `trials` counts
    the scored answers; with several queries per stream, `streams` says how many independent streams they came
    from, and the interval and audit are Hoeffding's over the streams (conservative) instead of Clopper-Pearson.

    `missing` answers (a decoding reader that never answered) score the task's guessing floor each (1/2 on
    IsTree, as in the paper; 1/V for V-ary values): the success is (successes + missing x chance) / trials, and the
    interval runs from the lower limit with every missing answer wrong to the upper limit with every one right. A reader in the ``retrieval`` format is not audited: it reads
    the context through the environment, so it is no streaming algorithm and the bound does not apply to it."""
    bounds = {k: float(np.asarray(v).reshape(-1)[0]) for k, v in task.bounds([budget]).items()}
    if missing and streams not in (None, trials):
        raise ValueError("missing answers are scored for one question per stream")
    low, high = interval(successes, trials, streams)
    if missing:
        high = interval(successes + missing, trials)[1]
    checked = audit(successes, trials, bounds["bound"], cells, groups=streams) if fmt != "retrieval" else \
        AUDIT_NOT_STREAMING
    frontier = _every_step_frontier(task, reader, budget, fmt)
    if checked != AUDIT_NOT_STREAMING and frontier is not None:  # a budgeted algorithm holds b bits at every step
        checked = max(checked, audit(successes, trials, frontier, cells, groups=streams), key=AUDIT_ORDER.index)
    return {
        "task": task.name,
        "distribution": task.label(),
        "n": task.n,
        "reader": reader,
        "budget_bits": budget,
        "used_bits": used_bits,
        "trials": trials,
        "successes": successes,
        "success": f"{(successes + missing * task.chance) / trials:.6f}",
        "ci_low": f"{low:.6f}",
        "ci_high": f"{high:.6f}",
        "bound": _fmt(bounds["bound"]),
        "fano": _fmt(bounds["fano"]),
        "sphere": _fmt(bounds["sphere"]),
        "achievable": _fmt(bounds["achievable"]),
        "audit": checked,
        "seed": seed,
        "coin_seed": coin_seed,
        "seconds": f"{seconds:.3f}",
        "version": __version__,
        "format": fmt,
        "decode": decode,
        "missing": missing,
        "queries": f"{queries:.3f}",
    }


#: audit outcomes from the mildest; a row keeps the worst of its checks
AUDIT_ORDER = (AUDIT_NONE, AUDIT_OK, AUDIT_VIOLATION)


def _every_step_frontier(task, reader: str, budget: int, fmt: str):
    """The every-step optimum (commcomplexity.everystep) where it binds the row and is known: a registered budgeted
    algorithm (an every-step machine; models rounded only at the cut are not) on Index's hard distribution."""
    if fmt != "vanilla" or task.name != "index" or task.distribution != "uniform":
        return None
    try:
        get_algorithm(task.name, reader)
    except ValueError:
        return None
    value = every_step_success(task.n, budget)
    return None if value is None else float(value)


def _fmt(x: float) -> str:
    return "" if not np.isfinite(x) else f"{x:.6f}"
