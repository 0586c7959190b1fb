"""The registry of budgeted streaming algorithms, found by (task, name).

To add one: write a module with ``plan`` (Python), ``step`` and ``output`` (numba), and call ``register``.
"""
from .registry import Algorithm, algorithms_for, get_algorithm, register, resolve_names, REGISTRY

from . import index as _index  # noqa: F401  (registers the Index algorithms)

__all__ = ["Algorithm", "algorithms_for", "get_algorithm", "register", "resolve_names", "REGISTRY"]
