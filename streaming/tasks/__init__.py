"""Tasks: (distribution, size, trials, seed) -> batches of token streams with their answers.

Every task is a small object (see ``base.Task``) found by name in ``TASKS``.
"""
from .base import Batch, Task
from .index import IndexTask

TASKS = {"index": IndexTask}


def make_task(name: str, n: int, distribution: str = "uniform", **options) -> Task:
    """Build a task by name; unknown names and bad sizes raise ValueError naming the value."""
    try:
        cls = TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}") from None
    return cls(n, distribution=distribution, **options)


__all__ = ["Batch", "Task", "TASKS", "make_task", "task_from_label", "IndexTask"]


def task_from_label(name: str, n: int, label: str) -> Task:
    """Rebuild a task from a result row's task, n and distribution label (e.g. 'biased:0.25')."""
    distribution, _, parameter = label.partition(":")
    options = {}
    if parameter:
        try:
            options["bias"] = float(parameter)
        except ValueError:
            raise ValueError(f"bad distribution label {label!r}") from None
    return make_task(name, n, distribution, **options)
