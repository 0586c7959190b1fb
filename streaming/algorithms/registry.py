"""Algorithm records and the registry, found by (task, name).

The one signature (the budget contract, streaming/engine.py): ``plan(task, b, coins) -> int64 params`` (plain
Python, run once per cell: it sees the task's description, b and the public coins, never a stream; params[0] = n
and params[1] = b by convention), ``step(state, token, t, params, coins)`` and ``output(state, params, coins)``
(numba), ``used_bits(task, b)`` (the most state bits the algorithm ever holds, <= b: its honest memory) and
``settings(task, b)`` (a short text of what the plan chose).

A *generating* machine (``streaming.generate``) also has a numba-compiled ``emit(state, t, params, coins) ->
token``: after the input it writes a trace token by token, reading each token back through ``step``, and may query
the retrieval environment. It keeps b bits like any other, but the context it queries lies outside them, so it is
no streaming algorithm and the one-way bounds do not apply to it. Such machines live in ``GENERATORS``, apart from
``REGISTRY``: every loop over ``REGISTRY`` (``--algorithms all``, the exact analysis, the adversary, the budget
tests) means streaming algorithms. ``get_algorithm`` and ``resolve_names`` with explicit names find both.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from ..seal import ContractError, check_compiled
from ..tasks import TASKS

REGISTRY: dict = {}
#: the generating machines (an ``emit``): readers with retrieval, found by name but never part of ``all``
GENERATORS: dict = {}


def _no_settings(task, b) -> str:
    return ""


@dataclass(frozen=True)
class Algorithm:
    """A budgeted streaming algorithm of one task (see the module docstring for the signature)."""

    name: str
    task: str
    summary: str
    memory: str
    plan: Callable
    step: Callable
    output: Callable
    used_bits: Callable
    settings: Callable = field(default=_no_settings)
    #: reference(task) -> (bits, text): a vertical line for plots (e.g. the memory at which it is exact), or None
    reference: Callable | None = None
    #: emit(state, t, params, coins) -> token (numba), or None: a generating machine (see the module docstring)
    emit: Callable | None = None

    @property
    def generating(self) -> bool:
        return self.emit is not None

    def make_params(self, task, b: int, coins) -> np.ndarray:
        params = np.ascontiguousarray(_guarded(self, "plan", self.plan)(task, int(b), int(coins)), dtype=np.int64)
        if params.ndim != 1 or params.shape[0] < 2 or params[0] != task.n or params[1] != b:
            raise ValueError(f"plan of {self.name!r} must return int64 params starting with n, b")
        return params


def _guarded(algorithm, role: str, fn):
    """`fn` with its failures turned into one line naming the algorithm (a plugin's bug is not a traceback)."""
    def call(*args):
        try:
            return fn(*args)
        except ContractError:
            raise
        except Exception as exc:  # noqa: BLE001  (whatever the user's code raised)
            raise ContractError(f"algorithm {algorithm.name!r}: its {role} failed: {type(exc).__name__}: {exc}") \
                from None
    return call


def _checked_used_bits(algorithm, fn):
    def used_bits(task, b):
        value = _guarded(algorithm, "used_bits", fn)(task, b)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value <= b:
            raise ContractError(f"algorithm {algorithm.name!r}: used_bits returned {value!r} at b = {b}; it must be "
                                f"an integer in 0..b")
        return int(value)
    return used_bits


def _checked_settings(algorithm, fn):
    def settings(task, b):
        value = _guarded(algorithm, "settings", fn)(task, b)
        if not isinstance(value, str):
            raise ContractError(f"algorithm {algorithm.name!r}: settings returned {type(value).__name__}, not text")
        return value
    return settings


def register(algorithm: Algorithm) -> Algorithm:
    """Add an algorithm to the registry after checking it against the contract (ContractError, one line)."""
    if not isinstance(algorithm, Algorithm):
        raise ContractError(f"register() takes an Algorithm record, got {type(algorithm).__name__}")
    if not isinstance(algorithm.name, str) or not algorithm.name or "," in algorithm.name or algorithm.name.strip() \
            != algorithm.name or algorithm.name == "all":
        raise ContractError(f"algorithm name {algorithm.name!r} must be a non-empty word without commas (not 'all')")
    if algorithm.task not in TASKS:
        raise ContractError(f"algorithm {algorithm.name!r} names unknown task {algorithm.task!r}; known: "
                            f"{', '.join(TASKS)}")
    for role in ("plan", "used_bits", "settings"):
        if not callable(getattr(algorithm, role)):
            raise ContractError(f"algorithm {algorithm.name!r}: its {role} is not callable")
    check_compiled(algorithm.step, "step", algorithm.name)
    check_compiled(algorithm.output, "output", algorithm.name)
    if algorithm.emit is not None:
        check_compiled(algorithm.emit, "emit", algorithm.name)
    # memory and settings are checked on every call: an integer in 0..b, and text
    algorithm = replace(algorithm, used_bits=_checked_used_bits(algorithm, algorithm.used_bits),
                        settings=_checked_settings(algorithm, algorithm.settings))
    key = (algorithm.task, algorithm.name)
    if key in REGISTRY or key in GENERATORS:
        raise ContractError(f"algorithm {algorithm.name!r} is already registered for task {algorithm.task!r}")
    (GENERATORS if algorithm.generating else REGISTRY)[key] = algorithm
    return algorithm


def algorithms_for(task: str) -> list:
    """The task's budgeted streaming algorithms (not its generating machines: see ``generators_for``)."""
    return [a for (t, _), a in REGISTRY.items() if t == task]


def generators_for(task: str) -> list:
    """The task's generating machines (readers with retrieval)."""
    return [a for (t, _), a in GENERATORS.items() if t == task]


def get_algorithm(task: str, name: str) -> Algorithm:
    found = REGISTRY.get((task, name)) or GENERATORS.get((task, name))
    if found is None:
        known = ", ".join(a.name for a in algorithms_for(task) + generators_for(task)) or "none"
        raise ValueError(f"unknown algorithm {name!r} for task {task!r}; known: {known}")
    return found


def resolve_names(task: str, names: str) -> list:
    """'all' (the task's streaming algorithms, in registry order) or a comma list of names (generating machines
    too) -> algorithm records."""
    wanted = [s.strip() for s in names.split(",") if s.strip()]
    if not wanted:
        raise ValueError("no algorithm named (give a comma list of names, or all)")
    if wanted == ["all"]:
        found = algorithms_for(task)
        if not found:
            raise ValueError(f"no algorithm is registered for task {task!r}")
        return found
    return [get_algorithm(task, w) for w in dict.fromkeys(wanted)]


def reference_lines(task) -> list:
    """The task's own plot markers, then those of its registered algorithms: (bits, text)."""
    lines = list(task.markers())
    for alg in algorithms_for(task.name):
        if alg.reference is not None:
            lines.append(alg.reference(task))
    return lines
