"""Nothing lost: each way a user's rows or runs could be lost or corrupted, tried; and the README's guarantees."""
import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli
from streaming.results import ADDED, COLUMNS, RowWriter, cell_key, read_rows
from streaming.sweep import plan_cells, run_sweep

SWEEP = ["sweep", "--n", "32", "--budgets", "0:32:16", "--algorithms", "prefix", "--trials", "100"]


def rows(path):
    return list(csv.DictReader(Path(path).open()))


def test_a_torn_last_line_is_set_aside_not_glued_to(tmp_path, capsys):
    out = tmp_path / "r.csv"
    assert run_cli(SWEEP + ["--out", str(out)], capsys)[0] == 0
    text = out.read_text()
    out.write_text(text + text.splitlines()[-1][:25])  # a row cut short, no newline
    assert len(read_rows(out)) == 3  # plot and resume still read the complete rows
    code, _, err = run_cli(SWEEP + ["--budgets", "0:48:16", "--resume", "--out", str(out)], capsys)
    assert code == 0 and "torn" in err
    assert len(read_rows(out)) == 4 and out.read_text().endswith("\n")
    assert (tmp_path / "r.csv.torn").read_text() == text.splitlines()[-1][:25] + "\n"
    assert run_cli(["plot", str(out), "--out", str(tmp_path / "f.png")], capsys)[0] == 0


def test_a_second_writer_is_refused_and_plot_refuses_duplicated_cells(tmp_path, capsys):
    out = tmp_path / "r.csv"
    with RowWriter(out):
        code, _, err = run_cli(SWEEP + ["--out", str(out)], capsys)
        assert code == 2 and "another streambound run" in err
    assert run_cli(SWEEP + ["--out", str(out)], capsys)[0] == 0
    doubled = tmp_path / "d.csv"
    text = out.read_text()
    doubled.write_text(text + "".join(line + "\n" for line in text.splitlines()[1:]))
    code, _, err = run_cli(["plot", str(doubled), "--out", str(tmp_path / "f.png")], capsys)
    assert code == 2 and "3 rows repeat a cell" in err


def test_two_sweeps_at_once_leave_every_cell_once(tmp_path):
    """Two processes on one --out: one writes, the other is refused in one line; no cell ends up twice."""
    out = tmp_path / "r.csv"
    cmd = [sys.executable, "-c", "from cli.main import main; main()", "sweep", "--n", "512", "--budgets", "0:512:8",
           "--algorithms", "trellis", "--trials", "300", "--out", str(out)]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=Path(__file__).parents[1])
    for _ in range(600):  # wait until the first holds the file
        if out.exists() and out.stat().st_size:
            break
        time.sleep(0.05)
    second = subprocess.run(cmd, capture_output=True, text=True, cwd=Path(__file__).parents[1])
    first.wait()
    assert second.returncode == 2 and "another streambound run" in second.stderr
    keys = [cell_key(r) for r in read_rows(out)]
    assert first.returncode == 0 and len(keys) == len(set(keys)) == 65


def test_overwrite_keeps_the_old_rows_until_the_new_ones_exist(tmp_path, capsys, monkeypatch):
    out = tmp_path / "r.csv"
    assert run_cli(SWEEP + ["--out", str(out)], capsys)[0] == 0
    old = out.read_text()
    # a sweep that fails before any row (a bad budget) leaves the file alone
    code, _, _ = run_cli(SWEEP + ["--budgets", "-1", "--overwrite", "--out", str(out)], capsys)
    assert code == 2 and out.read_text() == old
    # an interrupt before the first new row keeps the old rows; after rows, the new ones replace them
    import streaming.sweep as sweep_module

    real = sweep_module.run_cells

    def interrupted_after(k):
        def run(cells, done=frozenset(), debug=False, sealed=False, **kwargs):
            for i, row in enumerate(real(cells, done, debug, sealed, **kwargs)):
                if i == k:
                    raise KeyboardInterrupt
                yield row
        return run

    monkeypatch.setattr(sweep_module, "run_cells", interrupted_after(0))
    assert run_cli(SWEEP + ["--seed", "5", "--overwrite", "--out", str(out)], capsys)[0] == 130
    assert out.read_text() == old and not (tmp_path / "r.csv.new").exists()
    monkeypatch.setattr(sweep_module, "run_cells", interrupted_after(2))
    assert run_cli(SWEEP + ["--seed", "5", "--overwrite", "--out", str(out)], capsys)[0] == 130
    assert [r["seed"] for r in rows(out)] == ["5", "5"]
    foreign = tmp_path / "notes.csv"
    foreign.write_text("my,own\nnotes,here\n")
    code, _, err = run_cli(SWEEP + ["--overwrite", "--out", str(foreign)], capsys)
    assert code == 2 and foreign.read_text() == "my,own\nnotes,here\n"


def test_output_locations_are_checked_before_any_work(tmp_path, capsys, monkeypatch):
    import streaming.sweep as sweep_module

    monkeypatch.setattr(sweep_module, "run_cell", lambda *a, **k: pytest.fail("a cell ran"))
    (tmp_path / "dir.png").mkdir()
    for extra in (["--plot", str(tmp_path / "dir.png")], ["--out", str(tmp_path / "dir.png")],
                  ["--out", "/proc/nope/r.csv"]):
        code, _, err = run_cli(SWEEP + ["--out", str(tmp_path / "r.csv")] + extra, capsys)
        assert code == 2 and len(err.strip().splitlines()) == 1, err


def test_sweep_writes_to_its_tasks_own_file_and_figures_draw_only_their_cells(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_cli(["sweep", "--task", "istree", "--n", "8", "--budgets", "0,40", "--algorithms", "unionfind",
                    "--trials", "50"], capsys)[0] == 0
    assert [r["task"] for r in rows("results/istree.csv")] == ["istree", "istree"]
    from cli.plotting import plot_results

    cells = plan_cells("index", [16], "prefix", 50, 0, budgets=[0, 8])
    run_sweep(cells, "results/index.csv")
    run_sweep(plan_cells("index", [64], "prefix", 50, 0, budgets=[0, 8]), "results/index.csv")
    with pytest.raises(ValueError, match="no rows"):
        plot_results(["results/index.csv"], "f.png", keys=set())  # nothing of its own: no rows to draw
    plot_results(["results/index.csv"], "f.png", keys={c.key() for c in cells})  # n = 16 only
    assert Path("f.png").stat().st_size > 1000


def test_train_never_replaces_a_run_and_resume_needs_one(tmp_path, capsys):
    pytest.importorskip("torch")
    run = tmp_path / "run"
    base = ["train", "--n", "8", "--model", "gru", "--steps", "3", "--out", str(run)]
    assert run_cli(base, capsys)[0] == 0
    before = (run / "model.safetensors").read_bytes()
    code, _, err = run_cli(base, capsys)
    assert code == 2 and "--resume" in err and (run / "model.safetensors").read_bytes() == before
    code, _, err = run_cli(base[:-1] + [str(tmp_path / "nothing"), "--resume"], capsys)
    assert code == 2 and "no run to resume" in err and not (tmp_path / "nothing").exists()


def test_results_keep_their_columns_and_an_older_file_still_plots(tmp_path, capsys):
    old = tmp_path / "old.csv"
    header = [c for c in COLUMNS if c not in ADDED]  # the first release's columns
    with old.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerow(["index", "uniform", "16", "prefix", "8", "8", "100", "75", "0.75", "0.65", "0.83",
                         "0.9", "0.9", "0.89", "0.88", "ok", "0", "0.1", "0.1.0"])
    first = read_rows(old)[0]
    assert first["coin_seed"] == "-" and first["format"] == "vanilla" and first["decode"] == "stream"
    assert run_cli(["plot", str(old), "--out", str(tmp_path / "f.png")], capsys)[0] == 0
    # a sweep appending to it rewrites it with today's columns, the old row kept with the old values
    code, _, err = run_cli(SWEEP + ["--out", str(old)], capsys)
    assert code == 0, err
    with old.open(newline="") as fh:
        assert next(csv.reader(fh)) == list(COLUMNS)
    rows = read_rows(old)
    assert rows[0]["successes"] == "75" and rows[0]["coin_seed"] == "-" and len(rows) > 1
    # a file with a column that is not ours is refused, untouched
    foreign = tmp_path / "foreign.csv"
    foreign.write_text(",".join(header + ["colour"]) + "\n")
    before = foreign.read_bytes()
    code, _, err = run_cli(SWEEP + ["--out", str(foreign)], capsys)
    assert code == 2 and "other columns" in err and foreign.read_bytes() == before
