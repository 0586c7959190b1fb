"""Training runs and evaluations as units of work on a Dask cluster (``streaming.cluster``): each unit trains or
evaluates one run inside a worker (one torch thread on a CPU worker; on a GPU worker it asks for the ``GPU``
resource, so a worker holding ``GPU = k`` runs k tiny models at once). The driver keeps the progress bar and is
the only writer of the results file."""
from __future__ import annotations


import torch

from ..cluster import fan_out, worker_setup
from ..tasks import make_task
from .train import train


def wants_gpu(device: str) -> bool:
    """Whether runs on this device ask for a GPU resource (auto: when this machine has CUDA)."""
    return device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())


def gpu_resources(device: str) -> dict | None:
    return {"GPU": 1} if wants_gpu(device) else None


def worker_device(device: str) -> str:
    """The device a unit runs on inside a worker: a worker of a local cluster (named 0, 1, ...) takes CUDA device
    (its number modulo the devices present), so workers spread over the GPUs."""
    if device in ("cuda", "auto") and torch.cuda.is_available():
        try:
            from dask.distributed import get_worker

            name = get_worker().name
        except (ImportError, ValueError):
            name = None
        if isinstance(name, int):
            return f"cuda:{name % torch.cuda.device_count()}"
        return "cuda"
    return device


def _train_unit(task_spec: tuple, kwargs: dict) -> str:
    worker_setup()
    name, n, distribution = task_spec
    kwargs = dict(kwargs, device=worker_device(kwargs["device"]), progress=None)
    train(make_task(name, n, distribution), **kwargs)
    return str(kwargs["out"])


def train_all(client, jobs: list, device: str, progress, label: str) -> list:
    """Train each job, (task spec (name, n, distribution), train() keyword arguments), as a unit of work; the
    progress bar counts finished runs. Returns (job index, error) for each run that failed after its retries."""
    failures = []
    with progress(len(jobs), f"{label} ({len(jobs)} runs on the cluster)") as bar:
        for i, _, error in fan_out(client, _train_unit, jobs, resources=gpu_resources(device)):
            bar.update(1)
            if error is not None:
                failures.append((i, error))
    return failures


def run_units(client, fn, jobs: list, device: str):
    """fan_out for evaluation units (GPU resource as for training)."""
    return fan_out(client, fn, jobs, resources=gpu_resources(device))


