"""Users' own algorithms: a Python file given with ``--plugin`` (the user asked for its code to run), or an
installed package's ``streambound.algorithms`` entry point. Either registers algorithms written to the contract
(``streaming.algorithms.register``), which checks them; a plugin that fails to import, registers nothing, or
breaks the contract is one ValueError naming the file and what went wrong."""
from __future__ import annotations

import importlib.util
from importlib.metadata import entry_points
from pathlib import Path

from .algorithms import GENERATORS, REGISTRY
from .seal import ContractError

ENTRY_POINT_GROUP = "streambound.algorithms"
_LOADED: dict = {}


class PluginError(ValueError):
    """A plugin that cannot be loaded (one line: the file and the error)."""


def _run(where: str, load) -> list:
    before = set(REGISTRY) | set(GENERATORS)
    try:
        load()
    except ContractError as exc:
        raise ContractError(f"{where}: {exc}") from None
    except (KeyboardInterrupt, MemoryError):
        raise
    except BaseException as exc:  # noqa: BLE001  (a plugin's own error, whatever it is, is one line)
        text = str(exc).splitlines()[0] if str(exc) else ""
        raise PluginError(f"{where}: failed to load: {type(exc).__name__}" + (f": {text}" if text else "")) from None
    return sorted((set(REGISTRY) | set(GENERATORS)) - before)


def load_plugin(path) -> list:
    """Import a plugin file (once per path); returns the (task, name) keys it registered."""
    path = Path(path).resolve()
    if str(path) in _LOADED:
        return _LOADED[str(path)]
    if not path.is_file():
        raise PluginError(f"{path}: no such plugin file")
    spec = importlib.util.spec_from_file_location(f"streambound_plugin_{len(_LOADED)}_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise PluginError(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    added = _run(str(path), lambda: spec.loader.exec_module(module))
    if not added:
        raise PluginError(f"{path}: registers no algorithm (call streaming.algorithms.register)")
    _LOADED[str(path)] = added
    return added


def load_entry_points() -> list:
    """Load every installed package's `streambound.algorithms` entry point (once)."""
    added = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        key = f"entry point {ep.name} ({ep.value})"
        if key not in _LOADED:
            _LOADED[key] = _run(key, ep.load)
            added += _LOADED[key]
    return added
