"""The registry of budgeted streaming algorithms, found by (task, name).

To add one: write a module with ``plan`` (Python), ``step`` and ``output`` (numba), and call ``register``.
"""
from .registry import Algorithm, algorithms_for, get_algorithm, register, resolve_names, REGISTRY

from . import index as _index  # noqa: F401  (registers the Index algorithms)
from . import istree as _istree  # noqa: F401
from . import adapters as _adapters  # noqa: F401
from . import retrieval as _retrieval  # noqa: F401

__all__ = ["Algorithm", "algorithms_for", "get_algorithm", "register", "resolve_names", "REGISTRY"]
