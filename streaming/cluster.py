"""Fan-out on Dask distributed: sweep cells (and parts of large cells), figure pipelines and training runs as
units of work on an embedded ``LocalCluster`` of K worker processes, or on an existing cluster given by its
scheduler's address. One worker count (K = 1, no scheduler: the default) runs everything in process and never
imports Dask.

What stays the same whatever runs the work:
- every unit is a deterministic function of its arguments (a cell's streams come from (seed, trial), so a part of
  trials start..start+count-1 reads the same bytes as the serial run reads for those trials), and the driver
  merges parts by their place in the cell, so the merged counts are exactly the serial ones;
- the driver is the only writer of a results file: rows are written as they complete, in arrival order;
- a unit whose worker dies (killed, out of memory) is run again elsewhere by the scheduler, and a unit that raises
  is tried again (``RETRIES``); after that its error is reported and the rest goes on;
- Ctrl-C cancels every unit not finished; the rows written so far stay.

Threads: each worker runs one unit at a time with numba and torch held to one thread (``set_num_threads(1)``
inside each unit; ``OMP_NUM_THREADS=1`` before a local worker starts), so K workers never oversubscribe K cores.
"""
from __future__ import annotations

import logging
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass

#: a unit that raises is tried this many more times; a unit whose worker dies is rescheduled up to this many times
RETRIES = 2
#: the most local worker processes
MAX_WORKERS = 256
#: the most runs one GPU holds at once (``--runs-per-gpu``)
MAX_RUNS_PER_GPU = 64
#: seconds to wait for a given scheduler
CONNECT_TIMEOUT = float(os.environ.get("STREAMBOUND_CONNECT_TIMEOUT", "10"))
#: the environment variable that names a scheduler when --scheduler is not given
SCHEDULER_ENV = "STREAMBOUND_SCHEDULER"
#: one thread each for OpenMP (torch's CPU kernels) and BLAS inside a local worker (numba's is set per unit: the
#: driver must never see NUMBA_NUM_THREADS change under it, as it would while Dask spawns a worker)
WORKER_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
_ADDRESS = re.compile(r"^(tcp|tls|ws|wss)://(\[[0-9a-fA-F:.]+\]|[^\s/:\[\]]+):([0-9]{1,5})$")


class SchedulerError(ValueError):
    """A scheduler that cannot be reached, or a bad fan-out setting (one line)."""


@dataclass(frozen=True)
class Fanout:
    """Where units of work run: `workers` local processes (1: in process, without Dask) or the cluster behind
    `scheduler`; `runs_per_gpu` training runs share one GPU (a Dask worker resource ``GPU`` of 1 per device)."""
    workers: int = 1
    scheduler: str | None = None
    runs_per_gpu: int = 1

    def __post_init__(self):
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or \
                not 1 <= self.workers <= MAX_WORKERS:
            raise SchedulerError(f"--workers must be an integer in 1..{MAX_WORKERS}, got {self.workers!r}")
        if isinstance(self.runs_per_gpu, bool) or not isinstance(self.runs_per_gpu, int) or \
                not 1 <= self.runs_per_gpu <= MAX_RUNS_PER_GPU:
            raise SchedulerError(f"--runs-per-gpu must be an integer in 1..{MAX_RUNS_PER_GPU}, "
                                 f"got {self.runs_per_gpu!r}")
        if self.scheduler is not None:
            found = _ADDRESS.match(self.scheduler)
            if not found or not 1 <= int(found.group(3)) <= 65535:
                raise SchedulerError(f"bad scheduler address {self.scheduler!r}: write tcp://HOST:PORT "
                                     f"(a port in 1..65535)")

    @property
    def serial(self) -> bool:
        return self.workers == 1 and not self.scheduler


def fanout_from(workers: int = 1, scheduler: str | None = None, runs_per_gpu: int = 1) -> Fanout:
    """A Fanout from command-line values; the scheduler defaults to $STREAMBOUND_SCHEDULER."""
    scheduler = scheduler or os.environ.get(SCHEDULER_ENV) or None
    if scheduler and workers != 1:
        raise SchedulerError("give --workers (a local cluster) or --scheduler (an existing one), not both")
    return Fanout(workers, scheduler, runs_per_gpu)


def _quiet() -> None:
    for name in ("distributed", "dask", "tornado", "bokeh"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


@contextmanager
def connect(fanout: Fanout, gpus: int = 0):
    """A Dask client for the fan-out (None when it is serial: nothing is imported). A local cluster has
    `fanout.workers` processes of one thread each; with `gpus` > 0 each worker holds a ``GPU`` resource of
    `runs_per_gpu` and as many threads, so that it trains up to that many runs (each asking for GPU = 1) at once. Closed (and the local cluster stopped) on the way out."""
    if fanout.serial:
        yield None
        return
    import dask
    from dask.distributed import Client, LocalCluster

    _quiet()
    cluster = client = None
    settings = {"distributed.scheduler.allowed-failures": RETRIES,
                "distributed.nanny.pre-spawn-environ": dict(dask.config.get("distributed.nanny.pre-spawn-environ",
                                                                            {}), **WORKER_ENV),
                "distributed.admin.tick.limit": "1h"}
    try:
        with dask.config.set(settings):
            if fanout.scheduler:
                try:
                    client = Client(fanout.scheduler, timeout=CONNECT_TIMEOUT)
                except Exception as exc:  # noqa: BLE001  (refused, timed out, or something not a scheduler)
                    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    if not isinstance(exc, (OSError, TimeoutError)):
                        reason = "no Dask scheduler answered there"
                    raise SchedulerError(f"cannot reach the scheduler at {fanout.scheduler}: {reason[:200]}") \
                        from None
            else:
                threads = fanout.runs_per_gpu if gpus else 1
                cluster = LocalCluster(n_workers=fanout.workers, threads_per_worker=threads, processes=True,
                                       dashboard_address=":0", silence_logs=logging.CRITICAL,
                                       resources={"GPU": fanout.runs_per_gpu} if gpus else None)
                client = Client(cluster)
        yield client
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()


def worker_setup(plugins=()) -> None:
    """Inside a unit: one numba thread (and one torch thread when torch is loaded), and the user's plugins and
    installed entry points registered as in the driver (a plugin file must be readable at the same path)."""
    import sys

    import numba

    numba.set_num_threads(1)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    from .plugins import load_entry_points, load_plugin

    load_entry_points()
    for path in plugins:
        load_plugin(path)


def loaded_plugins() -> tuple:
    """The plugin files this process loaded (``--plugin``): a worker loads them too."""
    from .plugins import _LOADED

    return tuple(key for key in _LOADED if not key.startswith("entry point "))


def _one_line(exc) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


def fan_out(client, fn, jobs: list, resources: dict | None = None, retries: int = RETRIES):
    """Run fn(*args) for each args in `jobs` on the cluster; yield (index, value, error) as each finishes, in
    arrival order (error: None, or one line for a unit that failed after its retries; value None then). Leaving
    early (Ctrl-C, or the caller stopping) cancels every unit not finished."""
    from dask.distributed import as_completed

    futures = {}
    try:
        for i, args in enumerate(jobs):
            futures[client.submit(fn, *args, pure=False, retries=retries, resources=resources)] = i
        for future in as_completed(list(futures)):
            i = futures.pop(future)
            if future.status == "finished":
                value = future.result()
                future.release()
                yield i, value, None
            else:
                yield i, None, _one_line(future.exception())
    finally:
        if futures:
            client.cancel(list(futures))
