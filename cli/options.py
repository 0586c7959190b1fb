"""Command-line options derived from the task registry: every task option (a field of a task dataclass) becomes
one `--option`, its help line naming the tasks and distributions that read it. No hand-kept lists."""
from __future__ import annotations

import click

from streaming.plugins import load_plugin
from streaming.tasks import TASKS


def _task_option_table() -> dict:
    """option name -> (type, [help parts])."""
    table = {}
    for cls in TASKS.values():
        for f in cls.option_fields():
            kind, parts = table.setdefault(f.name, (f.metadata["kind"], []))
            where = cls.name + (" " + "|".join(f.metadata["used_by"]) if f.metadata["used_by"] else "")
            parts.append(f"{where}: {f.metadata['help']}")
    return table


TASK_OPTIONS = _task_option_table()


def distribution_help() -> str:
    return "stream distribution (default: the task's first, hard one): " + "; ".join(
        f"{name} {'|'.join(cls.distributions)}" for name, cls in TASKS.items())


def task_options(fn):
    """--distribution and every task option; only those given are passed on (and checked by the task)."""
    for name, (kind, parts) in reversed(list(TASK_OPTIONS.items())):
        fn = click.option(f"--{name}", name, type=kind, default=None, help="; ".join(parts))(fn)
    return click.option("--distribution", default=None, help=distribution_help())(fn)


def collect_options(kwargs) -> dict:
    """Pop the task options from a command's keyword arguments, keeping those the user gave."""
    out = {}
    for key in TASK_OPTIONS:
        value = kwargs.pop(key, None)
        if value is not None:
            out[key] = value
    return out


def _load_plugins(ctx, param, paths):
    for path in paths:
        load_plugin(path)
    return paths


def plugin_option(fn):
    """--plugin FILE (repeatable): run a Python file that registers algorithms, before anything else is read."""
    return click.option("--plugin", "plugins", multiple=True, type=click.Path(dir_okay=False), is_eager=True,
                        expose_value=False, callback=_load_plugins,
                        help="a Python file registering your own algorithms (runs its code; repeatable)")(fn)


def cluster_options(fn):
    """--workers K (an embedded local Dask cluster of K processes; 1: in process) and --scheduler ADDRESS (an
    existing cluster; default $STREAMBOUND_SCHEDULER)."""
    fn = click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
                      help="run the work on an existing Dask cluster (started with `dask scheduler` and "
                           "`dask worker`; default: $STREAMBOUND_SCHEDULER)")(fn)
    return click.option("--workers", default=1, show_default=True, type=int,
                        help="worker processes of an embedded local Dask cluster (1: in process, no Dask)")(fn)
