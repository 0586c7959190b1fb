"""A grid of (task, n, algorithm, budget) cells -> result rows, appended as each cell finishes; resumable."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from commcomplexity.stats import audit, clopper_pearson

from . import __version__
from .algorithms import resolve_names
from .engine import run_cell
from .results import cell_key
from .tasks import make_task


def parse_int_list(text: str, what: str = "budgets") -> list:
    """'0,64,128' or 'start:stop:step' (stop included when a step lands on it), or a mix joined by commas."""
    values = []
    for part in (p.strip() for p in str(text).split(",")):
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
            values.extend(range(start, stop + 1, step))
        else:
            try:
                values.append(int(part))
            except ValueError:
                raise ValueError(f"bad value {part!r} in {what}: expected an integer") from None
    if not values:
        raise ValueError(f"no {what} given")
    if any(v < 0 for v in values):
        raise ValueError(f"{what} must be non-negative, got {min(values)}")
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
                if step <= 0 or stop < start:
                    raise ValueError
                count = int(math.floor((stop - start) / step + 1e-9)) + 1
                values.extend(start + i * step for i in range(count))
            else:
                values.append(float(part))
        except ValueError:
            raise ValueError(f"bad fraction range {part!r}: write start:stop:step or a number") from None
    if not values:
        raise ValueError("no fractions given")
    if any(v < 0 for v in values):
        raise ValueError("fractions must be non-negative")
    return values


@dataclass(frozen=True)
class Cell:
    task: str
    distribution: str
    options: tuple
    n: int
    algorithm: str
    budget: int
    trials: int
    seed: int

    def key(self, label: str) -> tuple:
        return cell_key(
            dict(task=self.task, distribution=label, n=self.n, reader=self.algorithm, budget_bits=self.budget,
                 trials=self.trials, seed=self.seed)
        )


def plan_cells(task: str, ns, algorithms: str, trials: int, seed: int, budgets=None, fractions=None,
               distribution: str | None = None, **options) -> list:
    """Validate everything up front (before any work) and list the cells of the grid."""
    if int(trials) != trials or trials < 1:
        raise ValueError(f"trials must be a positive integer, got {trials!r}")
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if (budgets is None) == (fractions is None):
        raise ValueError("give either budgets or fractions")
    cells = []
    for n in ns:
        distribution = make_task(task, n, distribution, **options).distribution  # validates everything
        names = [a.name for a in resolve_names(task, algorithms)]
        bs = budgets if budgets is not None else list(dict.fromkeys(int(round(f * n)) for f in fractions))
        for name in names:
            for b in bs:
                cells.append(Cell(task, distribution, tuple(sorted(options.items())), int(n), name, int(b),
                                  int(trials), int(seed)))
    return cells


def run_cells(cells: list, done: set = frozenset(), debug: bool = False):
    """Run the cells not in `done`, yielding one result row per finished cell (audited against its bound)."""
    from .algorithms import get_algorithm

    for cell in cells:
        task = make_task(cell.task, cell.n, cell.distribution, **dict(cell.options))
        if cell.key(task.label()) in done:
            continue
        algorithm = get_algorithm(cell.task, cell.algorithm)
        result = run_cell(algorithm, task, cell.budget, cell.trials, cell.seed, debug=debug)
        yield make_row(task, cell.algorithm, cell.budget, algorithm.bits_used(cell.n, cell.budget, task),
                       result.successes, result.trials, cell.seed, result.seconds, cells=len(cells))


def make_row(task, reader: str, budget: int, used_bits, successes: int, trials: int, seed: int, seconds: float,
             cells: int) -> dict:
    """A result row for any reader (algorithm or model), with its bounds, interval and audit."""
    bounds = {k: float(np.asarray(v).reshape(-1)[0]) for k, v in task.bounds([budget]).items()}
    low, high = clopper_pearson(successes, trials)
    return {
        "task": task.name,
        "distribution": task.label(),
        "n": task.n,
        "reader": reader,
        "budget_bits": budget,
        "used_bits": used_bits,
        "trials": trials,
        "successes": successes,
        "success": f"{successes / trials:.6f}",
        "ci_low": f"{low:.6f}",
        "ci_high": f"{high:.6f}",
        "bound": _fmt(bounds["bound"]),
        "fano": _fmt(bounds["fano"]),
        "sphere": _fmt(bounds["sphere"]),
        "achievable": _fmt(bounds["achievable"]),
        "audit": audit(successes, trials, bounds["bound"], cells),
        "seed": seed,
        "seconds": f"{seconds:.3f}",
        "version": __version__,
    }


def _fmt(x: float) -> str:
    return "" if not np.isfinite(x) else f"{x:.6f}"
