"""The probe figure's pipeline: trained readers' success against their state bits as the precision drops, beside
the budgeted algorithms and the exact bound on the same Index streams, and the linear capacity C of their states.

It trains the runs it lacks (resuming unfinished ones), probes every run at every precision, and sweeps the
algorithms at the same n and seed. Everything is kept: runs in `runs/`, rows in `results/`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..results import CAPACITY_COLUMNS, RowWriter, write_table
from ..sweep import make_row, plan_cells, run_sweep
from ..tasks import make_task
from .train import load_run, probe_model, reader_name, run_format, task_of, train

PRECISIONS = (1, 2, 3, 4, 6, 8, 12, 16, 32)
ALGORITHMS = "prefix,blockcode,trellis"


@dataclass(frozen=True)
class ProbeRun:
    family: str
    size: str
    n: int
    steps: int
    lr: float

    @property
    def name(self) -> str:
        return f"probe-{self.family}-n{self.n}"


#: the runs behind figures/probe.png (CPU: about half an hour of training on 2 cores, done once; see the README)
PROBE_RUNS = (
    ProbeRun("lstm", "small", 32, 20000, 3e-3),
    ProbeRun("lstm", "small", 64, 30000, 3e-3),
    ProbeRun("mamba2", "tiny", 32, 6000, 2e-3),
    ProbeRun("mamba2", "tiny", 64, 8000, 2e-3),
    ProbeRun("llama", "tiny", 32, 4000, 1e-3),
    ProbeRun("llama", "tiny", 64, 4000, 1e-3),
)


def run_complete(path: Path, steps: int) -> bool:
    try:
        return json.loads((path / "config.json").read_text()).get("steps_done", 0) >= steps
    except (OSError, ValueError):
        return False


def probe_rows(model, meta: dict, run_dir, task, precisions, trials: int, seed: int):
    """(ordinary result row, capacity row) of a loaded run at each precision, yielded as each is measured."""
    fmt = run_format(meta)
    for p, ok, bits, c, missing in probe_model(model, task, precisions, trials, seed, fmt):
        reader = reader_name(meta, run_dir, p)
        scored = trials * task.queries
        yield (make_row(task, reader, bits, bits, ok, scored, seed, 0.0, cells=len(precisions), streams=trials,
                        fmt=fmt, decode="stream" if fmt == "vanilla" else "free", missing=missing),
               dict(task=task.name, n=task.n, m=task.index_size, reader=reader, family=meta["model"]["family"],
                    precision=p, state_bits=bits, success=f"{ok / scored:.6f}", capacity_bits=f"{c:.4f}",
                    trials=trials, seed=seed, version=__version__))


def probe_pipeline(runs_dir: Path, results_dir: Path, trials: int, seed: int, device: str, progress,
                   client=None) -> tuple:
    """Train what is missing, probe every run at every precision, sweep the algorithms on the same streams.
    `progress(length, label)` returns a context manager with ``update(n)``. With a Dask `client` the training runs
    are units of work on the cluster (and the algorithms' cells too). Returns (results CSV, capacity CSV)."""
    training = []
    for spec in PROBE_RUNS:
        path = runs_dir / spec.name
        if run_complete(path, spec.steps):
            continue
        kwargs = dict(family=spec.family, size=spec.size, steps=spec.steps, out=path, lr=spec.lr, seed=0,
                      device=device, resume_run=(path / "config.json").is_file())
        if client is None:
            with progress(spec.steps, f"training {spec.name}") as bar:
                train(make_task("index", spec.n), progress=lambda *_: bar.update(1), **kwargs)
        else:
            training.append((("index", spec.n, None), kwargs))
    if training:
        from .units import train_all

        failures = train_all(client, training, device, progress, "training")
        if failures:
            i, error = failures[0]
            raise RuntimeError(f"training {training[i][1]['out']} failed on the cluster: {error}")
    results_csv, capacity_csv = results_dir / "probe.csv", results_dir / "probe-capacity.csv"
    if results_csv.exists():
        results_csv.unlink()  # the models' rows are recomputed each time (a run may have trained further)
    capacity = []
    with RowWriter(results_csv) as writer, progress(len(PROBE_RUNS), "probing every run") as bar:
        for spec in PROBE_RUNS:
            model, meta = load_run(runs_dir / spec.name, device)
            for row, cap in probe_rows(model, meta, runs_dir / spec.name, task_of(meta), PRECISIONS, trials, seed):
                writer.write(row)
                capacity.append(cap)
            bar.update(1)
    write_table(capacity, capacity_csv, CAPACITY_COLUMNS)
    for n in sorted({spec.n for spec in PROBE_RUNS}):
        cells = plan_cells("index", [n], ALGORITHMS, trials, seed, budgets=list(range(0, n + 1, max(1, n // 16))))
        run_sweep(cells, results_csv, resume=True, client=client)
    return results_csv, capacity_csv
