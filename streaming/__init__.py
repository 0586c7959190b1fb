"""streambound's streaming side: task streams, the budget-enforcing engine, budgeted algorithms, sweeps.

Importing this package never imports torch or transformers; the neural code lives in ``streaming.neural``.
"""
from pathlib import Path as _Path

from .tokens import SPECIALS as _SPECIALS

__version__ = "0.1.0"


def _drop_stale_numba_caches() -> None:
    """numba's on-disk caches (``cache=True``) are keyed by each source file's own timestamp, so a compiled function
    keeps the token ids (``streaming.tokens``) it was compiled with after they change. The caches are dropped when
    the token list differs from the one they were built with (a stamp beside them)."""
    root = _Path(__file__).parent
    stamp = root / "__pycache__" / "tokens.stamp"
    current = " ".join(_SPECIALS)
    try:
        if stamp.is_file() and stamp.read_text() == current:
            return
        for pattern in ("*.nbi", "*.nbc"):
            for path in root.rglob(f"__pycache__/{pattern}"):
                path.unlink(missing_ok=True)
        stamp.parent.mkdir(exist_ok=True)
        stamp.write_text(current)
    except OSError:  # a read-only install: numba then caches elsewhere, or not at all
        pass


_drop_stale_numba_caches()
