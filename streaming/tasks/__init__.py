"""Tasks: frozen, validated dataclasses (see ``base.Task``) that turn (seed, trials) into streams with answers,
and own their reduction from Index. Found by name in ``TASKS``; a new task is one module and one line below."""
from .base import Batch, Task
from .cgram import CgramTask
from .counting import CountingTask
from .index import IndexTask
from .istree import IsTreeTask
from .mqar import MQARTask
from .recall import RecallTask

#: the task registry, in the order commands list them
TASKS = {cls.name: cls for cls in (IndexTask, IsTreeTask, RecallTask, CgramTask, CountingTask, MQARTask)}


def task_class(name: str):
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)}") from None


def make_task(name: str, n: int, distribution: str | None = None, **options) -> Task:
    """Build a task by name (its hard distribution by default); bad names, sizes and options raise ValueError."""
    cls = task_class(name)
    known = [f.name for f in cls.option_fields()]
    unknown = [k for k in options if k not in known]
    if unknown:
        raise ValueError(f"task {name} takes no option {unknown[0]!r} (options: {', '.join(known) or 'none'})")
    return cls(n, distribution, **options)


def task_from_label(name: str, n: int, label: str) -> Task:
    """Rebuild a task from a result row's task, n and distribution label ('biased:0.25', 'natural:K=8,V=4')."""
    return task_class(name).from_label(n, label)


def task_from_spec(spec: dict, n: int | None = None) -> Task:
    """The task a spec (``Task.spec``, as stored in a training config) describes, at its own size or at n."""
    if not isinstance(spec, dict) or not isinstance(spec.get("options", {}), dict):
        raise ValueError("a task spec is a dict with name, n, distribution and options")
    return make_task(spec.get("name"), spec.get("n") if n is None else n, spec.get("distribution"),
                     **spec.get("options", {}))


__all__ = ["Batch", "Task", "TASKS", "task_class", "make_task", "task_from_label", "task_from_spec", "IndexTask",
           "IsTreeTask", "RecallTask", "CgramTask", "CountingTask", "MQARTask"]
