"""The registry of budgeted streaming algorithms, found by (task, name).

To add one: write a module with ``plan`` (Python), ``step`` and ``output`` (numba), ``used_bits`` and ``settings``
(see ``registry``), and call ``register``.
"""
# registration order is the order `--algorithms all` runs them in: the Index algorithms first (the adapters wrap them)
from . import index as _index  # noqa: F401  (prefix, majority, subset)
from . import blockcode as _blockcode  # noqa: F401
from . import trellis as _trellis  # noqa: F401
from . import istree as _istree  # noqa: F401
from . import adapters as _adapters  # noqa: F401  (the Index coders through every task's reduction)
from . import retrieval as _retrieval  # noqa: F401
from . import lookup as _lookup  # noqa: F401  (generating machines with retrieval: GENERATORS, not REGISTRY)
from .registry import (GENERATORS, REGISTRY, Algorithm, algorithms_for, generators_for, get_algorithm,
                       reference_lines, register, resolve_names)

__all__ = ["Algorithm", "algorithms_for", "generators_for", "get_algorithm", "reference_lines", "register",
           "resolve_names", "REGISTRY", "GENERATORS"]
