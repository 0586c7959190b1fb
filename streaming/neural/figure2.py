"""The paper's Figure 2: IsTree accuracy against N for each format (vanilla, chain of thought, retrieval), a line
per model and size, on the authors' graphs; and the same runs placed on the IsTree bound plot (hard streams, state
rounded at the cut, decoding included).

A grid is a list of runs; each is trained once into `runs/figure2/` (an unfinished one is resumed) and evaluated
into `results/figure2.csv` (free decoding with the live environment, and teacher-forced exact match for the trace
formats; rows already there are kept). Interrupting keeps every finished run and row.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..formats import FORMATS
from ..results import RowWriter, read_rows
from ..sweep import make_row
from ..tasks import make_task
from .decode import evaluate_reader
from .pipeline import probe_rows, run_complete
from .train import load_run, reader_name, train

#: the paper's accuracies (read off its Figure 2, PAPER.md) at N = 16 / 32 / 64 / 128
PAPER = {
    ("llama", "0.5M", "cot"): (1.00, 1.00, 0.975, 0.69), ("llama", "1M", "cot"): (1.00, 1.00, 1.00, 0.92),
    ("llama", "2M", "cot"): (1.00, 1.00, 1.00, 1.00), ("mamba", "0.5M", "cot"): (0.84, 0.55, 0.49, 0.49),
    ("mamba", "1M", "cot"): (0.995, 0.78, 0.48, 0.49), ("mamba", "2M", "cot"): (1.00, 0.87, 0.48, 0.49),
    ("hybrid", "0.5M", "cot"): (0.998, 0.998, 0.97, 0.77), ("hybrid", "1M", "cot"): (1.00, 0.998, 0.995, 0.76),
    ("hybrid", "2M", "cot"): (1.00, 0.998, 0.995, 0.99),
    ("mamba", "1M", "retrieval"): (1.00, 1.00, 1.00, 0.998), ("mamba", "2M", "retrieval"): (1.00, 1.00, 1.00, 0.995),
}
PAPER_N = (16, 32, 64, 128)


def paper_accuracy(family: str, size: str, fmt: str, n: int):
    """The paper's number for a cell, or None (vanilla is about 0.5 and retrieval 1.0 for every model)."""
    if n not in PAPER_N:
        return None
    if (family, size, fmt) in PAPER:
        return PAPER[(family, size, fmt)][PAPER_N.index(n)]
    return {"vanilla": 0.5, "retrieval": 1.0}.get(fmt) if size in ("0.5M", "1M", "2M") else None


@dataclass(frozen=True)
class GridRun:
    family: str
    size: str
    n: int
    fmt: str
    steps: int
    lr: float
    batch: int

    @property
    def name(self) -> str:
        return f"{self.family}-{self.size}-{self.fmt}-N{self.n}"


def _grid(families, sizes, ns, steps, lrs, batch) -> tuple:
    return tuple(GridRun(f, s, n, fmt, steps[fmt], lrs[f], batch)
                 for f in families for s in sizes for n in ns for fmt in FORMATS)


#: the default grid, sized for a 2-core CPU (about half an hour from scratch; see the README): the recurrent
#: families on Mamba-2, whose chunked scan trains about 3 times faster on a CPU than Mamba's (the hybrid as the
#: paper builds it, `hybrid`, is in the paper grid)
DEFAULT_GRID = _grid(("llama", "mamba2", "hybrid2"), ("tiny",), (8, 16),
                     {"vanilla": 300, "cot": 1000, "retrieval": 400},
                     {"llama": 3e-3, "mamba2": 3e-3, "hybrid2": 3e-3}, 32)
#: the paper's grid: 1M training graphs (15,625 steps of 64), lr 1e-3 for the Transformer and 3e-4 for the others
PAPER_GRID = _grid(("llama", "mamba", "hybrid"), ("0.5M", "1M", "2M"), PAPER_N,
                   {fmt: 15625 for fmt in FORMATS}, {"llama": 1e-3, "mamba": 3e-4, "hybrid": 3e-4}, 64)
GRIDS = {"default": DEFAULT_GRID, "paper": PAPER_GRID}
PAPER_TRIALS = 5000


def run_grid(grid, runs_dir: Path, results_csv: Path, trials: int, seed: int, device: str, progress,
             accumulate: int = 1, bf16: bool = False, client=None) -> list:
    """Train what is missing and evaluate every run on fresh authors' graphs (rows already in the file kept).
    `progress(length, label)` returns a context manager with ``update(n)``. With a Dask `client` each training run
    and each run's evaluation is a unit of work on the cluster (this process writes every row). Returns
    (run name, error) of each run that failed on the cluster (its rows are left out)."""
    training = []
    for spec in grid:
        path = runs_dir / spec.name
        if run_complete(path, spec.steps):
            continue
        kwargs = dict(family=spec.family, size=spec.size, steps=spec.steps, out=path, batch=spec.batch, lr=spec.lr,
                      seed=0, device=device, resume_run=(path / "config.json").is_file(), fmt=spec.fmt,
                      accumulate=accumulate, bf16=bf16)
        if client is None:
            with progress(spec.steps, f"training {spec.name}") as bar:
                train(make_task("istree", spec.n, "authors"), progress=lambda *_: bar.update(1), **kwargs)
        else:
            training.append((spec, (("istree", spec.n, "authors"), kwargs)))
    failures = []
    if training:
        from .units import train_all

        lost = train_all(client, [job for _, job in training], device, progress, "training")
        failures = [(training[i][0].name, error) for i, error in lost]
    failed = {name for name, _ in failures}
    done = {_cell(r) for r in read_rows(results_csv)} if results_csv.exists() and results_csv.stat().st_size else set()
    todo = []
    for spec in grid:
        if spec.name in failed:
            continue
        modes = [m for m in (["stream"] if spec.fmt == "vanilla" else ["free", "teacher"])
                 if (_reader(spec), str(spec.n), spec.fmt, m, str(trials), str(seed)) not in done]
        todo.append((spec, modes))
    with RowWriter(results_csv) as writer, progress(len(todo), "evaluating every run") as bar:
        if client is None:
            for spec, modes in todo:
                for row in _evaluate(spec, runs_dir, modes, trials, seed, device):
                    writer.write(row)
                bar.update(1)
        else:
            from .units import run_units

            jobs = [(spec, runs_dir, modes, trials, seed, device) for spec, modes in todo if modes]
            bar.update(len(todo) - len(jobs))
            for i, rows, error in run_units(client, _evaluate_unit, jobs, device):
                bar.update(1)
                if error is not None:
                    failures.append((jobs[i][0].name, error))
                    continue
                for row in rows:
                    writer.write(row)
    return failures


def _reader(spec: GridRun) -> str:
    """A run's reader name in the rows (its state at 32 bits per coordinate)."""
    return reader_name({"model": {"family": spec.family}}, spec.name, 32)


def _evaluate(spec, runs_dir: Path, modes, trials: int, seed: int, device: str):
    """Yield a run's row for each decoding mode (vanilla: at the stream's end; trace formats: free and teacher)."""
    if not modes:
        return
    model, meta = load_run(runs_dir / spec.name, device)
    task = make_task("istree", spec.n, "authors")
    name = reader_name(meta, runs_dir / spec.name, 32)
    for mode in modes:
        yield _row(model, name, task, spec.fmt, mode, trials, seed)


def _evaluate_unit(spec, runs_dir: Path, modes, trials: int, seed: int, device: str) -> list:
    from ..cluster import worker_setup
    from .units import worker_device

    worker_setup()
    return list(_evaluate(spec, runs_dir, modes, trials, seed, worker_device(device)))


def _cell(row: dict) -> tuple:
    """A grid cell whatever its budget (a run's state bits follow from the run)."""
    return (row["reader"], row["n"], row["format"], row["decode"], row["trials"], row["seed"])


def _row(model, name, task, fmt, mode, trials, seed) -> dict:
    got = evaluate_reader(model, task, fmt, trials, seed, decode=mode)
    return make_row(task, name, got["bits"], got["bits"], got["successes"], trials, seed, 0.0, cells=1,
                    fmt=fmt, decode=mode, missing=got["missing"], queries=got["queries"])


def place_on_bound(grid, runs_dir: Path, results_csv: Path, n: int, precisions, trials: int, seed: int,
                   device: str, progress) -> Path:
    """The grid's runs at size n on the IsTree hard streams (inside the authors' family), their state at the cut
    rounded to each precision and decoding resumed from it: rows for the IsTree bound plot (replaced each time)."""
    if results_csv.exists():
        results_csv.unlink()
    chosen = [spec for spec in grid if spec.n == n]
    with RowWriter(results_csv) as writer, progress(len(chosen), f"placing the N = {n} runs on the bound") as bar:
        for spec in chosen:
            model, meta = load_run(runs_dir / spec.name, device)
            task = make_task("istree", n, "hard")
            for row, _ in probe_rows(model, meta, runs_dir / spec.name, task, precisions, trials, seed):
                writer.write(row)
            bar.update(1)
    return results_csv



def comparison(results_csv: Path) -> list:
    """Lines of the table the README shows: each run's answers (free decoding; vanilla at the stream's end) and,
    for the teacher-forced trace formats, exact match, beside the paper's number where it has one."""
    rows = [r for r in read_rows(results_csv) if r["task"] == "istree"]
    lines = [f"{'run':<30} {'ours':>7} {'teacher':>8} {'paper':>6}"]
    for r in rows:
        if r["decode"] == "teacher":
            continue
        family, _, rest = r["reader"].partition(":")
        size = rest.split("-")[1] if rest.count("-") >= 3 else "?"
        teacher = next((t["success"] for t in rows if t["decode"] == "teacher" and t["reader"] == r["reader"]
                        and t["n"] == r["n"] and t["trials"] == r["trials"]), "")
        paper = paper_accuracy(family, size, r["format"], int(r["n"]))
        lines.append(f"{family + '-' + size + ' ' + r['format'] + ' N = ' + r['n']:<30} {float(r['success']):7.3f} "
                     f"{teacher and f'{float(teacher):.3f}':>8} {'-' if paper is None else f'{paper:.3f}':>6}")
    return lines
