"""Algorithm records and the registry."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

REGISTRY: dict = {}


@dataclass(frozen=True)
class Algorithm:
    """A budgeted streaming algorithm (see streaming/engine.py for the contract).

    plan(n, b, coins) -> int64 params; params[0] = n and params[1] = b by convention.
    used_bits(n, b) -> the most state bits the algorithm ever holds (<= b): its honest memory.
    settings(n, b) -> a short text of the parameters the plan chose (for `streambound algorithms`).
    """

    name: str
    task: str
    summary: str
    memory: str
    plan: Callable
    step: Callable
    output: Callable
    used_bits: Callable
    settings: Callable = field(default=lambda n, b: "")
    #: plan takes a fourth argument, the Task (its vocabulary, alphabet sizes, c, threshold): properties of the
    #: distribution known before any stream, like n; never a stream
    uses_task: bool = False

    def bits_used(self, n: int, b: int, task=None) -> int:
        """The most state bits the algorithm holds at (n, b), for this task when it plans from the task."""
        return int(self.used_bits(n, b, task) if self.uses_task and task is not None else self.used_bits(n, b))

    def make_params(self, n: int, b: int, coins, task=None) -> np.ndarray:
        if self.uses_task:
            if task is None:
                raise ValueError(f"algorithm {self.name!r} needs the task's description to plan")
            raw = self.plan(int(n), int(b), int(coins), task)
        else:
            raw = self.plan(int(n), int(b), int(coins))
        params = np.ascontiguousarray(raw, dtype=np.int64)
        if params.ndim != 1 or params.shape[0] < 2 or params[0] != n or params[1] != b:
            raise ValueError(f"plan of {self.name!r} must return int64 params starting with n, b")
        return params


def register(algorithm: Algorithm) -> Algorithm:
    key = (algorithm.task, algorithm.name)
    if key in REGISTRY:
        raise ValueError(f"algorithm {algorithm.name!r} is already registered for task {algorithm.task!r}")
    REGISTRY[key] = algorithm
    return algorithm


def algorithms_for(task: str) -> list:
    return [a for (t, _), a in REGISTRY.items() if t == task]


def get_algorithm(task: str, name: str) -> Algorithm:
    try:
        return REGISTRY[(task, name)]
    except KeyError:
        known = ", ".join(a.name for a in algorithms_for(task)) or "none"
        raise ValueError(f"unknown algorithm {name!r} for task {task!r}; known: {known}") from None


def resolve_names(task: str, names: str) -> list:
    """'all' or a comma list of names -> algorithm records, in registry order for 'all'."""
    wanted = [s.strip() for s in names.split(",") if s.strip()]
    if not wanted:
        raise ValueError("no algorithm named")
    if wanted == ["all"]:
        found = algorithms_for(task)
        if not found:
            raise ValueError(f"no algorithm is registered for task {task!r}")
        return found
    return [get_algorithm(task, w) for w in dict.fromkeys(wanted)]
