"""Tasks: (distribution, size, trials, seed) -> batches of token streams with their answers.

Every task is a small object (see ``base.Task``) found by name in ``TASKS``.
"""
from .base import Batch, Task
from .cgram import CgramTask
from .counting import CountingTask
from .index import IndexTask
from .istree import IsTreeTask
from .recall import RecallTask

TASKS = {"index": IndexTask, "istree": IsTreeTask, "recall": RecallTask, "cgram": CgramTask,
         "counting": CountingTask}
#: the options each task accepts (command-line --option name = the key)
TASK_OPTIONS = {"index": ("bias",), "istree": (), "recall": ("keys", "values"), "cgram": ("c", "keys", "values"),
                "counting": ("alphabet", "threshold")}


def make_task(name: str, n: int, distribution: str | None = None, **options) -> Task:
    """Build a task by name (its hard distribution by default); bad names, sizes and options raise ValueError."""
    try:
        cls = TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}") from None
    unknown = [k for k in options if k not in TASK_OPTIONS[name]]
    if unknown:
        raise ValueError(f"task {name} takes no option {unknown[0]!r} (options: "
                         f"{', '.join(TASK_OPTIONS[name]) or 'none'})")
    return cls(n, distribution=distribution or cls.default_distribution, **options)


__all__ = ["Batch", "Task", "TASKS", "TASK_OPTIONS", "make_task", "task_from_label", "IndexTask", "IsTreeTask",
           "RecallTask", "CgramTask", "CountingTask"]


def task_from_label(name: str, n: int, label: str) -> Task:
    """Rebuild a task from a result row's task, n and distribution label ('biased:0.25', 'natural:K=8,V=4')."""
    distribution, _, parameters = label.partition(":")
    options = {}
    try:
        if name == "index" and parameters:
            options["bias"] = float(parameters)
        elif parameters:
            for part in parameters.split(","):
                key, _, value = part.partition("=")
                key = {"K": "keys", "V": "values", "A": "alphabet", "t": "threshold"}.get(key, key)
                options[key] = int(value)
    except ValueError:
        raise ValueError(f"bad distribution label {label!r}") from None
    return make_task(name, n, distribution, **options)
