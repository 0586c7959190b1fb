"""The tidy results file: one CSV row per (task, distribution, n, reader, budget, trials, seed) cell.

Rows are appended and flushed as cells finish, so an interrupted run keeps what it finished. Plots read only
these files.
"""
from __future__ import annotations

import csv
import fcntl
import io
import os
from pathlib import Path

COLUMNS = (
    "task", "distribution", "n", "reader", "budget_bits", "used_bits", "trials", "successes", "success",
    "ci_low", "ci_high", "bound", "fano", "sphere", "achievable", "audit", "seed", "coin_seed", "seconds", "version",
    "format", "decode", "missing", "queries",
)
#: columns added after the first release, with the value a row of an older file holds: the reader's format
#: (vanilla, cot, retrieval), how its answers were read (`stream`: the answer at the stream's end; `free`: greedy
#: decoding, with the live environment for retrieval; `teacher`: teacher-forced exact match of the whole trace),
#: answers that never came (scored 1/2), and the mean environment queries per stream
ADDED = {"coin_seed": "-", "format": "vanilla", "decode": "stream", "missing": "0", "queries": "0"}
#: the probe figure's second table: each model's linear capacity at each precision
CAPACITY_COLUMNS = ("task", "n", "m", "reader", "family", "precision", "state_bits", "success", "capacity_bits",
                    "trials", "seed", "version")
KEY = ("task", "distribution", "n", "reader", "budget_bits", "trials", "seed", "coin_seed", "format", "decode")
TIMING = ("seconds",)


class ResultsError(ValueError):
    """A results file that is unreadable or not ours."""


def cell_key(row: dict) -> tuple:
    return tuple(str(row[k]) for k in KEY)


def torn_tail(path) -> bytes:
    """The bytes after the file's last newline: a row cut short (by a crash or a full disk), or b""."""
    with Path(path).open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        back = min(size, 1 << 16)
        fh.seek(size - back)
        tail = fh.read()
    cut = tail.rfind(b"\n")
    return tail[cut + 1 :]


def read_rows(path) -> list:
    """All complete rows of a results file, as dicts of strings (a torn last line, cut short without its newline,
    is left out: see ``torn_tail``); ResultsError for a missing, unreadable or foreign file."""
    path = Path(path)
    try:
        with path.open(newline="") as fh:
            text = fh.read()
        if text and not text.endswith("\n") and "\n" in text:
            text = text[: text.rfind("\n") + 1]
        with io.StringIO(text, newline="") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            # files written before a column was added (ADDED) are still readable: their rows get its old value
            missing = [c for c in KEY + ("success", "ci_low", "ci_high") if c not in header and c not in ADDED]
            if missing:
                raise ResultsError(f"{path} is not a streambound results file (missing columns: {', '.join(missing)})")
            rows = list(reader)
            for column, value in ADDED.items():
                if column not in header:
                    for row in rows:
                        row[column] = value
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ResultsError(f"{path}: cannot read results ({exc})") from None
    for i, row in enumerate(rows, start=2):
        if None in row or any(row.get(c) in (None, "") for c in KEY):
            raise ResultsError(f"{path}: line {i} is malformed")
    return rows


def existing_keys(path) -> set:
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return set()
    return {cell_key(r) for r in read_rows(path)}


def duplicated_cells(rows) -> int:
    """How many rows repeat a cell another row already holds (two writers, or a file pasted together)."""
    keys = [cell_key(r) for r in rows]
    return len(keys) - len(set(keys))


def lock_file(fh, path) -> None:
    """An advisory exclusive lock for the run (released when the file is closed); a second writer is refused."""
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise ResultsError(f"{path} is being written by another streambound run; wait for it or choose another "
                           f"--out") from None
    except OSError as exc:
        fh.close()
        raise ResultsError(f"{path}: cannot be used as a results file ({exc.strerror or exc})") from None


class RowWriter:
    """Appends rows to a results file, writing the header first when the file is new; flushes every row. It holds
    an advisory lock on the file while open (a second writer gets one line), and sets a torn last line aside in
    `<file>.torn` (``self.torn``) instead of appending to it."""

    def __init__(self, path):
        self.path = Path(path)
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._fh = self.path.open("a", newline="")
        except OSError as exc:
            raise ResultsError(f"{self.path}: cannot be opened for writing ({exc.strerror or exc})") from None
        lock_file(self._fh, self.path)
        new = self.path.stat().st_size == 0
        self.torn = None
        if not new:
            with self.path.open(newline="") as fh:
                header = next(csv.reader(fh), [])
            if tuple(header) != COLUMNS and not self._upgrade(header):
                self._fh.close()
                raise ResultsError(f"{self.path} has other columns than a streambound results file")
            tail = torn_tail(self.path)
            if tail:
                self.torn = self.path.with_name(self.path.name + ".torn")
                with self.torn.open("ab") as side:
                    side.write(tail + b"\n")
                self._fh.flush()
                os.truncate(self.path, self.path.stat().st_size - len(tail))
        self._writer = csv.DictWriter(self._fh, fieldnames=COLUMNS)
        if new:
            self._guard(self._writer.writeheader)

    def _upgrade(self, header) -> bool:
        """A file an older streambound wrote (its columns are ours less some of ADDED) is rewritten in place,
        under the lock, with today's columns; False for any other header."""
        if set(header) - set(COLUMNS) or set(COLUMNS) - set(header) - set(ADDED):
            return False
        rows = read_rows(self.path)
        tail = torn_tail(self.path)
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in COLUMNS})
        data = buffer.getvalue() + tail.decode("utf-8", errors="replace")
        self._fh.flush()
        os.truncate(self.path, 0)
        self._guard(lambda: self._fh.write(data))
        return True

    def _guard(self, write) -> None:
        """Write, flush and sync, with a failure (full disk, a special file) as one line naming the file."""
        try:
            write()
            self._fh.flush()
            os.fsync(self._fh.fileno())
        except OSError as exc:
            raise ResultsError(f"{self.path}: cannot write ({exc.strerror or exc})") from None

    def write(self, row: dict) -> None:
        self._guard(lambda: self._writer.writerow({c: row.get(c, "") for c in COLUMNS}))

    def close(self) -> None:
        try:
            self._fh.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def read_table(path, columns, what: str) -> list:
    """Rows of a CSV written by one of our commands, checked for its columns (ResultsError otherwise)."""
    try:
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ResultsError(f"{path}: cannot read ({exc})") from None
    if not rows or set(columns) - set(rows[0]):
        raise ResultsError(f"{path} is not a streambound {what} file")
    return rows


def write_table(rows, path, columns, floats=()) -> Path:
    """Write rows (dicts) to a fresh CSV with these columns; the `floats` columns with six decimals."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: (f"{r[k]:.6f}" if k in floats else r[k]) for k in columns})
    return path
