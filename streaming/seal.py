"""The static half of the sealed budget contract: an algorithm's ``step`` and ``output`` must be numba-compiled
code that can keep nothing outside the engine's state.

``check_compiled`` walks a compiled function and everything it can call (the globals its code names, the cells
of its closure, nested code objects, recursively through other compiled functions) and refuses:
- a function that is not numba-compiled (plain Python could keep anything between calls);
- numba's object mode (``numba.objmode``: Python objects such as a dict would survive between steps);
- calls out of compiled code into foreign functions (ctypes, cffi) or numba intrinsics and C callbacks, which
  could keep memory of their own;
- mutable module-level containers (lists, dicts, sets, bytearrays, numpy arrays that are writable), which a step
  could write and read back.
Read-only numpy arrays, numbers, strings, tuples of those, numpy and math functions, and other compiled functions
(checked in turn) are allowed. The dynamic half lives in the engine: params passed read-only (a write fails to
compile), state bounds and the highest bit set measured in debug mode, runners cached by function identity.
"""
from __future__ import annotations

import ctypes
import types

import numpy as np
from numba.core.registry import CPUDispatcher

from numba.core.withcontexts import _ObjModeContextType

_SAFE_MODULES = ("numpy", "math", "cmath", "numba", "operator", "builtins")
_FORBIDDEN_NUMBA = ("objmode", "cfunc", "intrinsic")
#: names whose mere use in a step is refused: object mode, raw pointers and foreign calls
_FORBIDDEN_NAMES = {"objmode": "numba's object mode, which could keep Python objects between steps",
                    "carray": "numba.carray, which could reach memory outside the state through a raw pointer",
                    "farray": "numba.farray, which could reach memory outside the state through a raw pointer",
                    "ctypes": "ctypes pointers, which could reach memory outside the state",
                    "cfunc": "numba.cfunc callbacks", "intrinsic": "numba intrinsics", "ffi": "cffi calls"}


class ContractError(ValueError):
    """An algorithm that breaks the budget contract (said in one line naming the function)."""


def _describe(fn) -> str:
    py = getattr(fn, "py_func", fn)
    module = getattr(py, "__module__", "?")
    return f"{module}.{getattr(py, '__qualname__', repr(py))}"


def _check_value(value, where: str, seen: set) -> None:
    if isinstance(value, _ObjModeContextType):
        raise ContractError(f"{where} uses numba's object mode, which could keep Python objects between steps")
    if isinstance(value, CPUDispatcher):
        _walk(value, seen)
        return
    if isinstance(value, (ctypes._CFuncPtr,)) or type(value).__module__.startswith(("cffi", "_cffi")):
        raise ContractError(f"{where} calls a foreign (ctypes/cffi) function, which could keep memory of its own")
    if isinstance(value, types.ModuleType):
        if value.__name__.split(".")[0] not in _SAFE_MODULES:
            raise ContractError(f"{where} reaches into module {value.__name__!r}: only numpy, math and compiled "
                                f"functions may be called from a step")
        return
    if isinstance(value, (bool, int, float, complex, str, bytes, type(None), np.number, np.bool_, np.dtype, type)):
        return
    if isinstance(value, tuple):
        for v in value:
            _check_value(v, where, seen)
        return
    if isinstance(value, np.ndarray):
        if value.flags.writeable:
            raise ContractError(f"{where} names a writable module-level array, which could carry data between "
                                f"steps (make it read-only, or put it in the params)")
        return
    if isinstance(value, (np.ufunc, types.BuiltinFunctionType)) or callable(value) and \
            getattr(value, "__module__", "") and str(getattr(value, "__module__", "")).split(".")[0] in _SAFE_MODULES:
        name = getattr(value, "__name__", "")
        if str(getattr(value, "__module__", "")).startswith("numba") and name in _FORBIDDEN_NUMBA:
            raise ContractError(f"{where} uses numba.{name}, which the sealed contract does not allow")
        return
    if isinstance(value, (list, dict, set, bytearray)):
        raise ContractError(f"{where} names a mutable module-level {type(value).__name__}, which could carry "
                            f"data between steps")
    if isinstance(value, types.FunctionType):
        raise ContractError(f"{where} calls {_describe(value)}, which is not numba-compiled")
    raise ContractError(f"{where} names {type(value).__name__} object {value!r:.60}, which a sealed step may not use")


def _names(code) -> set:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def _walk(fn, seen: set) -> None:
    if id(fn) in seen:
        return
    seen.add(id(fn))
    where = _describe(fn)
    py = fn.py_func
    globs = py.__globals__
    names = _names(py.__code__)
    for name in sorted(names & set(_FORBIDDEN_NAMES)):
        raise ContractError(f"{where} uses {_FORBIDDEN_NAMES[name]}")
    for name in sorted(names):
        if name in globs:
            _check_value(globs[name], where, seen)
    for cell in py.__closure__ or ():
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        _check_value(value, where, seen)


def check_compiled(fn, role: str, algorithm: str) -> None:
    """Refuse (ContractError, one line) a `step` or `output` that is not sealed compiled code."""
    if not isinstance(fn, CPUDispatcher):
        raise ContractError(f"algorithm {algorithm!r}: its {role} {_describe(fn)} is not numba-compiled "
                            f"(decorate it with @numba.njit)")
    try:
        _walk(fn, set())
    except ContractError as exc:
        raise ContractError(f"algorithm {algorithm!r}: {role}: {exc}") from None
