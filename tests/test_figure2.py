"""Trained readers in the cot and retrieval formats through the command line, and the Figure 2 pipeline."""
import csv
import json

import pytest

from tests.conftest import run_cli

torch = pytest.importorskip("torch")


def rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def cot_run(tmp_path_factory):
    from streaming.neural.train import train
    from streaming.tasks import make_task

    out = tmp_path_factory.mktemp("runs") / "cot"
    train(make_task("istree", 6, "authors"), "llama", "tiny", 6, out, batch=8, fmt="cot", accumulate=2,
          device="cpu")
    return out


def test_a_cot_run_records_its_format_and_evaluates_in_both_decode_modes(cot_run, tmp_path, capsys):
    meta = json.loads((cot_run / "config.json").read_text())
    assert meta["reader_format"] == "cot" and meta["steps_done"] == 6
    out = tmp_path / "e.csv"
    code, text, err = run_cli(["eval", str(cot_run), "--trials", "12", "--precision", "4,32", "--distribution",
                               "hard", "--out", str(out)], capsys)
    assert code == 0, err
    got = rows(out)
    assert {(r["format"], r["decode"], r["budget_bits"] != "") for r in got} == {("cot", "free", True),
                                                                              ("cot", "teacher", True)}
    assert len(got) == 4 and all(r["distribution"] == "hard" and r["audit"] in ("ok", "no-bound") for r in got)
    for r in got:  # a missing answer scores 1/2: success = (right + missing / 2) / trials
        assert float(r["success"]) == pytest.approx((int(r["successes"]) + int(r["missing"]) / 2) / 12, abs=1e-6)
    # the same cells again: refused before any work
    code, _, err = run_cli(["eval", str(cot_run), "--trials", "12", "--precision", "4", "--distribution", "hard",
                            "--out", str(out)], capsys)
    assert code == 2 and "already holds" in err


@pytest.mark.parametrize("args, message", [
    (["--format", "retrieval"], "trained in the cot format"),
    (["--format", "scratch"], "unknown format"),
    (["--decode", "beam"], "bad --decode"),
    (["--distribution", "permutation"], "no cot format"),
])
def test_eval_bad_format_input_is_one_line(cot_run, capsys, args, message):
    code, _, err = run_cli(["eval", str(cot_run), "--trials", "4", *args], capsys)
    assert code == 2 and message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("args, message", [
    (["--task", "istree", "--n", "6", "--format", "scratch"], "unknown format"),
    (["--task", "index", "--n", "6", "--format", "cot"], "no cot format"),
    (["--task", "istree", "--n", "6", "--distribution", "permutation", "--format", "cot"], "no cot format"),
    (["--task", "istree", "--n", "6", "--format", "cot", "--bf16", "--device", "cpu"], "CUDA"),
    (["--task", "istree", "--n", "6", "--format", "cot", "--accumulate", "0"], "--accumulate"),
])
def test_train_bad_format_input_is_one_line(tmp_path, capsys, args, message):
    code, _, err = run_cli(["train", *args, "--steps", "1", "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r" / "config.json").exists()


def test_a_retrieval_reader_needs_its_environment(tmp_path, capsys):
    from streaming.neural.train import train
    from streaming.tasks import make_task

    out = tmp_path / "ret"
    train(make_task("index", 6), "lstm", "tiny", 2, out, batch=4, fmt="retrieval", device="cpu")
    code, _, err = run_cli(["eval", str(out), "--trials", "4", "--no-environment"], capsys)
    assert code == 2 and "needs the environment" in err
    code, text, err = run_cli(["eval", str(out), "--trials", "4", "--decode", "free"], capsys)
    assert code == 0 and "(retrieval, free)" in text
    # resuming in another format is refused
    code, _, err = run_cli(["train", "--task", "index", "--n", "6", "--model", "lstm", "--steps", "3", "--out",
                            str(out), "--resume"], capsys)
    assert code == 2 and "--format" in err


def test_figure2_pipeline_trains_evaluates_reuses_and_draws(tmp_path, capsys, monkeypatch):
    import streaming.neural.figure2 as f2

    grid = f2._grid(("llama", "mamba2"), ("tiny",), (6,), {"vanilla": 2, "cot": 2, "retrieval": 2},
                    {"llama": 3e-3, "mamba2": 3e-3}, 4)
    monkeypatch.setitem(f2.GRIDS, "default", grid)
    args = ["figures", "figure2", "--trials", "6", "--results", str(tmp_path / "res"), "--figures",
            str(tmp_path / "fig"), "--runs", str(tmp_path / "runs")]
    code, text, err = run_cli(args, capsys)
    assert code == 0, err
    assert "paper" in text and "llama-tiny cot N = 6" in text  # the comparison table beside the paper's numbers
    got = rows(tmp_path / "res" / "figure2.csv")
    # two families x (vanilla + cot twice + retrieval twice)
    assert len(got) == 10 and {r["format"] for r in got} == {"vanilla", "cot", "retrieval"}
    assert {r["decode"] for r in got if r["format"] != "vanilla"} == {"free", "teacher"}
    assert (tmp_path / "fig" / "figure2.png").stat().st_size > 0
    assert (tmp_path / "fig" / "istree-models.png").stat().st_size > 0
    placed = rows(tmp_path / "res" / "istree-models.csv")
    assert {r["reader"].split("@")[0] for r in placed if "@" in r["reader"]} == \
        {f"{f}:{f}-tiny-{fmt}-N6" for f in ("llama", "mamba2") for fmt in ("vanilla", "cot", "retrieval")}
    assert any(r["reader"] == "retrieval-dfs" and r["format"] == "retrieval" for r in placed)
    # run again: nothing retrained, no row written twice
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "runs").rglob("model.safetensors")}
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    assert len(rows(tmp_path / "res" / "figure2.csv")) == 10
    assert stamps == {p: p.stat().st_mtime_ns for p in (tmp_path / "runs").rglob("model.safetensors")}


def test_figure2_grids_are_the_papers():
    from streaming.neural.figure2 import DEFAULT_GRID, PAPER_GRID, paper_accuracy

    assert len(PAPER_GRID) == 108 and {r.n for r in PAPER_GRID} == {16, 32, 64, 128}
    assert {(r.family, r.lr) for r in PAPER_GRID} == {("llama", 1e-3), ("mamba", 3e-4), ("hybrid", 3e-4)}
    assert {r.batch for r in PAPER_GRID} == {64}
    assert {r.family for r in DEFAULT_GRID} == {"llama", "mamba2", "hybrid2"} and {r.n for r in DEFAULT_GRID} == {8, 16}
    assert paper_accuracy("mamba", "0.5M", "cot", 32) == 0.55 and paper_accuracy("llama", "tiny", "cot", 16) is None


def test_bench_formats_prints_a_rate_per_family_and_format(capsys):
    code, text, err = run_cli(["bench", "formats", "--n", "6", "--steps", "1", "--batch", "2", "--models", "llama"],
                              capsys)
    assert code == 0, err
    lines = [line for line in text.splitlines() if "k tokens/s" in line]
    assert [line.split()[1] for line in lines] == ["vanilla:", "cot:", "retrieval:"]
    assert all(float(line.split()[-3]) > 0 for line in lines)
    assert run_cli(["bench", "formats", "--n", "3"], capsys)[0] == 2


def test_interrupting_the_grid_keeps_finished_runs_and_rows(tmp_path, capsys, monkeypatch):
    import streaming.neural.figure2 as f2

    grid = f2._grid(("llama",), ("tiny",), (6,), {"vanilla": 2, "cot": 2, "retrieval": 2}, {"llama": 3e-3}, 4)
    monkeypatch.setitem(f2.GRIDS, "default", grid)
    real, calls = f2.evaluate_reader, []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # vanilla, cot free, then the interrupt
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(f2, "evaluate_reader", interrupted)
    args = ["figures", "figure2", "--trials", "4", "--results", str(tmp_path / "res"), "--figures",
            str(tmp_path / "fig"), "--runs", str(tmp_path / "runs")]
    code, _, err = run_cli(args, capsys)
    assert code == 130 and "kept" in err
    kept = rows(tmp_path / "res" / "figure2.csv")
    assert [(r["format"], r["decode"]) for r in kept] == [("vanilla", "stream"), ("cot", "free")]
    assert len(list((tmp_path / "runs").rglob("model.safetensors"))) == 3
    monkeypatch.setattr(f2, "evaluate_reader", real)
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    done = rows(tmp_path / "res" / "figure2.csv")
    assert len(done) == 5 and done[:2] == kept


def test_eval_rows_of_a_writing_reader_plot_and_missing_scores_the_guessing_floor(cot_run, tmp_path, capsys):
    out = tmp_path / "e.csv"
    assert run_cli(["eval", str(cot_run), "--trials", "6", "--out", str(out)], capsys)[0] == 0
    code, _, err = run_cli(["plot", str(out), "--out", str(tmp_path / "e.png")], capsys)
    assert code == 0, err  # the teacher-forced rows are not drawn beside the free ones
    from streaming.sweep import make_row
    from streaming.tasks import make_task

    recall = make_task("recall", 8, "natural", values=4)
    row = make_row(recall, "m@32", 64, 64, 0, 40, 0, 0.0, cells=1, fmt="retrieval", decode="free", missing=40)
    assert float(row["success"]) == 0.25 and row["audit"] == "not-streaming"


def test_eval_checks_every_run_before_evaluating_any(cot_run, tmp_path, capsys):
    from streaming.neural.train import train
    from streaming.tasks import make_task

    other = tmp_path / "ret"
    train(make_task("istree", 6, "authors"), "lstm", "tiny", 1, other, batch=4, fmt="retrieval", device="cpu")
    code, text, err = run_cli(["eval", str(cot_run), str(other), "--format", "cot", "--trials", "4"], capsys)
    assert code == 2 and "trained in the retrieval format" in err and "success" not in text


def test_an_interrupted_training_keeps_its_finished_steps(tmp_path, monkeypatch):
    import streaming.neural.train as tr
    from streaming.tasks import make_task

    real, calls = tr.trace_step, []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(tr, "trace_step", interrupted)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        tr.train(make_task("istree", 6, "authors"), "lstm", "tiny", 10, out, batch=4, fmt="cot", device="cpu")
    assert json.loads((out / "config.json").read_text())["steps_done"] == 3
    monkeypatch.setattr(tr, "trace_step", real)
    result = tr.train(make_task("istree", 6, "authors"), "lstm", "tiny", 10, out, batch=4, fmt="cot",
                      device="cpu", resume_run=True)
    assert result["meta"]["steps_done"] == 10 and len(result["history"]) == 7
