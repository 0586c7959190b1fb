"""`streambound`: sweep memory budgets, draw the lower-bound plots, print bounds, list algorithms, probe models.

One module per verb group registers its commands on ``cli``. Every user mistake ends in one line on stderr and exit
code 2; Ctrl-C keeps the rows already written.
"""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path

import click

from streaming.adversary import WitnessError
from streaming.engine import BudgetViolation
from streaming.plugins import load_entry_points
from streaming.results import ResultsError
from streaming.sweep import parse_int_list


class UserError(click.ClickException):
    exit_code = 2


def int_list(text: str, what: str) -> list:
    return parse_int_list(text, what, minimum=1 if what == "n" else 0)


def ensure_writable(*paths, folder: bool = False) -> None:
    """Check, before any work, that every output file (or, with `folder`, output folder) can be written: its
    parent made, a file not a folder (a folder not a file)."""
    for path in paths:
        if path is None:
            continue
        path = Path(path)
        if folder:
            if path.exists() and not path.is_dir():
                raise UserError(f"{path} is a file, not a folder")
            ensure_writable(path.parent / f".{path.name}.streambound")
            continue
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create the folder {path.parent} for {path}: {exc.strerror or exc}") from None
        if path.is_dir():
            raise UserError(f"{path} is a folder, not a file")
        if not os.access(path.parent, os.W_OK) or path.exists() and not os.access(path, os.W_OK):
            raise UserError(f"{path} cannot be written (no permission)")


@contextmanager
def fanout_client(workers: int = 1, scheduler: str | None = None, runs_per_gpu: int = 1, gpus: int = 0):
    """A Dask client for --workers / --scheduler (None in process); a bad setting or an unreachable scheduler is
    one line (exit 2) before anything is written."""
    from streaming.cluster import connect, fanout_from

    with connect(fanout_from(workers, scheduler, runs_per_gpu), gpus=gpus) as client:
        yield client


def progress(length: int, label: str):
    """A progress bar on stderr when it is a terminal; quiet when piped."""
    return click.progressbar(length=length, label=label, file=sys.stderr, hidden=not sys.stderr.isatty(),
                             show_pos=True, show_eta=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="streambound", prog_name="streambound")
def cli():
    """Memory lower bounds for sequence models, measured: budgeted streaming algorithms, exact bounds, plots."""
    load_entry_points()  # installed packages' `streambound.algorithms` entry points


from . import bench, figures, hf, neural, sweep, witness  # noqa: E402,F401  (each registers its commands on `cli`)


def main(argv=None) -> None:
    try:
        rv = cli.main(args=argv, prog_name="streambound", standalone_mode=False)
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo("streambound: interrupted; rows already written are kept", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        click.echo(f"streambound: error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except OverflowError:
        click.echo("streambound: error: a number given is too large for this machine", err=True)
        sys.exit(2)
    except OSError as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        click.echo(f"streambound: error: {where}{exc.strerror or exc}", err=True)
        sys.exit(2)
    except (ValueError, TypeError, ResultsError, WitnessError, BudgetViolation) as exc:
        click.echo(f"streambound: error: {exc}", err=True)
        sys.exit(2)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
