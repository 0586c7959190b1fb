import csv
import os
import subprocess
import sys

import pytest

from tests.conftest import run_cli
from streaming.algorithms import REGISTRY, algorithms_for
from streaming.results import COLUMNS, TIMING
from streaming.sweep import parse_fractions, parse_int_list


def read(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_ranges():
    assert parse_int_list("0:1024:64")[-1] == 1024 and len(parse_int_list("0:1024:64")) == 17
    assert parse_int_list("0:10:3") == [0, 3, 6, 9]
    assert parse_int_list("5,1,5,2:4:1") == [5, 1, 2, 3, 4]
    assert parse_fractions("0:1:0.25") == [0, 0.25, 0.5, 0.75, 1.0]
    for bad in ("1:2", "a", "3:1:1", "0:5:0", "-1", ""):
        with pytest.raises(ValueError):
            parse_int_list(bad)


@pytest.mark.parametrize(
    "args",
    [
        ["sweep", "--n", "0", "--budgets", "1"],
        ["sweep", "--n", "16", "--budgets", "-4"],
        ["sweep", "--n", "16", "--budgets", "4", "--trials", "0"],
        ["sweep", "--n", "16", "--budgets", "4", "--trials", "-3"],
        ["sweep", "--n", "16", "--budgets", "4", "--algorithms", "nosuch"],
        ["sweep", "--task", "nosuch", "--n", "16", "--budgets", "4"],
        ["sweep", "--n", "16", "--budgets", "0:8"],
        ["sweep", "--n", "16", "--budgets", "0:x:2"],
        ["sweep", "--n", "16", "--fractions", "0:1"],
        ["sweep", "--n", "16", "--budgets", "1", "--fractions", "0.5"],
        ["sweep", "--n", "16", "--budgets", "4", "--distribution", "zipf"],
        ["sweep", "--n", "16", "--budgets", "4", "--trials", "many"],
        ["sweep", "--n", "16", "--budgets", "4", "--plot", "fig.gif"],
        ["bound", "--n", "-5", "--bits", "3"],
        ["bound", "--n", "16"],
        ["bound", "--n", "16", "--success", "1.5"],
        ["bound", "--task", "nosuch", "--n", "16", "--bits", "3"],
        ["algorithms", "--task", "nosuch"],
        ["plot", "missing.csv", "--out", "x.png"],
    ],
)
def test_bad_input_one_line_exit_2(args, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(args, capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").iterdir())


def test_plot_rejects_foreign_and_unreadable_csv(tmp_path, capsys):
    foreign = tmp_path / "foreign.csv"
    foreign.write_text("a,b\n1,2\n")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81garbage")
    for path in (foreign, binary, tmp_path):
        code, _, err = run_cli(["plot", str(path), "--out", str(tmp_path / "f.png")], capsys)
        assert code == 2 and len(err.strip().splitlines()) == 1, err


def test_sweep_resume_plot_and_bounds(tmp_path, capsys):
    out = tmp_path / "r.csv"
    args = ["sweep", "--n", "64", "--budgets", "0:64:32", "--algorithms", "prefix,blockcode", "--trials", "300",
            "--out", str(out)]
    code, _, _ = run_cli(args, capsys)
    assert code == 0
    rows = read(out)
    assert len(rows) == 6 and list(rows[0]) == list(COLUMNS)
    assert {r["reader"] for r in rows} == {"prefix", "blockcode"}
    for r in rows:
        assert float(r["ci_low"]) <= float(r["success"]) <= float(r["ci_high"])
        assert r["audit"] == "ok" and float(r["bound"]) <= float(r["fano"]) + 1e-9
    # the same cells again: refused without --resume, skipped with it
    code, _, err = run_cli(args, capsys)
    assert code == 2 and "--resume" in err
    code, _, _ = run_cli(args + ["--resume", "--budgets", "0:64:16"], capsys)
    assert code == 0 and len(read(out)) == 10
    for ext in ("png", "svg", "pdf"):
        fig = tmp_path / f"fig.{ext}"
        code, _, _ = run_cli(["plot", str(out), "--out", str(fig)], capsys)
        assert code == 0 and fig.stat().st_size > 1000


def test_interrupted_sweep_keeps_finished_rows(tmp_path, capsys, monkeypatch):
    import streaming.sweep as sweep_module

    real = sweep_module.run_cells

    def interrupted(cells, done=frozenset(), debug=False, sealed=False, **kwargs):
        for i, row in enumerate(real(cells, done, debug, sealed, **kwargs)):
            if i == 2:
                raise KeyboardInterrupt
            yield row

    monkeypatch.setattr(sweep_module, "run_cells", interrupted)
    out = tmp_path / "r.csv"
    code, _, err = run_cli(["sweep", "--n", "32", "--budgets", "0:32:8", "--algorithms", "prefix", "--trials",
                            "100", "--out", str(out)], capsys)
    assert code == 130 and "kept" in err
    assert len(read(out)) == 2


def test_bound_command_prints_labelled_lines(capsys):
    code, out, _ = run_cli(["bound", "--task", "index", "--n", "1024", "--success", "0.9"], capsys)
    assert code == 0
    assert any("Fano" in line and "544 bits" in line for line in out.splitlines())
    assert any("sphere" in line and "549 bits" in line for line in out.splitlines())
    code, out, _ = run_cli(["bound", "--n", "64", "--bits", "32"], capsys)
    assert "0.877899" in out and "0.889972" in out


def test_algorithms_lists_memory(capsys):
    code, out, _ = run_cli(["algorithms", "--task", "index", "--n", "1024", "--budget", "512"], capsys)
    assert code == 0
    for name in ("prefix", "majority", "subset", "blockcode"):
        assert name in out
    assert out.count("memory:") == len(algorithms_for("index")) and "uses 512 bits" in out
    assert "nu=9" in out and "peak 512 bits" in out
    code, out, _ = run_cli(["algorithms", "--n", "64", "--budget", "391"], capsys)
    assert code == 0 and out.count("memory:") == len(REGISTRY)
    assert "uses 391 bits" in out  # union-find at its exact memory for N = 64


def test_same_csv_with_one_and_two_threads(tmp_path):
    outs = []
    for threads in (1, 2):
        out = tmp_path / f"t{threads}.csv"
        env = dict(os.environ, NUMBA_NUM_THREADS=str(threads))
        subprocess.run(
            [sys.executable, "-c", "from cli.main import main; main()", "sweep", "--n", "48,100", "--budgets",
             "0,7,33,48", "--algorithms", "prefix,subset,blockcode,trellis-fast", "--trials", "700", "--seed", "3",
             "--out", str(out)],
            check=True, env=env, capture_output=True,
        )
        outs.append([{k: v for k, v in r.items() if k not in TIMING} for r in read(out)])
    assert outs[0] == outs[1] and len(outs[0]) == 2 * 4 * 4


@pytest.mark.parametrize("name", [a.name for a in algorithms_for("index")])
def test_audit_passes_for_every_algorithm_at_n_256(name, tmp_path, capsys):
    out = tmp_path / "a.csv"
    trials = "300" if name == "trellis-best" else "2000"  # 2^12 trellis states: keep the suite quick
    code, _, _ = run_cli(["sweep", "--n", "256", "--budgets", "0:256:16", "--algorithms", name, "--trials", trials,
                          "--seed", "11", "--strict", "--out", str(out)], capsys)
    rows = read(out)
    assert code == 0 and len(rows) == 17
    assert all(r["audit"] == "ok" for r in rows)
    assert all(int(r["used_bits"]) <= int(r["budget_bits"]) for r in rows)


def test_the_audit_is_not_vacuous(tmp_path, capsys):
    """The coders come close to the bound, so a memory accounting bug would push them over it: averaged over three
    draws of the public coins (its codes are random), trellis sits within 0.05 of the bound at n = 256."""
    gaps = []
    for coin_seed in range(3):
        out = tmp_path / f"a{coin_seed}.csv"
        run_cli(["sweep", "--n", "256", "--budgets", "64:192:64", "--algorithms", "trellis", "--trials", "3000",
                 "--coin-seed", str(coin_seed), "--out", str(out)], capsys)
        gaps.append([float(r["bound"]) - float(r["success"]) for r in read(out)])
    assert max(sum(g) / 3 for g in zip(*gaps)) < 0.05


def test_audit_flags_a_cell_above_its_bound():
    from commcomplexity.stats import audit, clopper_pearson

    assert audit(950, 1000, 0.8, cells=10) == "VIOLATION"
    assert audit(810, 1000, 0.8, cells=10) == "ok"
    lo, hi = clopper_pearson(50, 100)
    assert lo < 0.5 < hi and abs((lo + hi) / 2 - 0.5) < 1e-9


def test_fractions_are_of_m_not_n(tmp_path, capsys):
    """--fractions multiplies m(n), the Index bits the hard stream embeds (recall n = 128: m = 64; c-gram: n/c)."""
    out = tmp_path / "f.csv"
    for task, n, m in (("recall", 128, 64), ("cgram", 96, 32), ("istree", 67, 64)):
        code, _, err = run_cli(["sweep", "--task", task, "--n", str(n), "--fractions", "0.5,1", "--algorithms",
                                "unionfind" if task == "istree" else "prefix", "--trials", "50", "--out", str(out),
                                "--resume"], capsys)
        assert code == 0, err
        assert [int(r["budget_bits"]) for r in read(out) if r["task"] == task] == [m // 2, m]


def test_every_task_option_is_a_cli_option_with_its_default_in_the_help(capsys):
    from streaming.tasks import TASKS

    code, out, _ = run_cli(["sweep", "--help"], capsys)
    text = " ".join(out.split())
    for cls in TASKS.values():
        for f in cls.option_fields():
            assert f"--{f.name}" in text
    assert "threshold t (default n/A - 1" in text and "default 1)" not in text


def test_resume_guard_counts_cells_of_every_n(tmp_path, capsys):
    """The 'already there' count uses each cell's own label (natural Counting's depends on n)."""
    out = tmp_path / "c.csv"
    args = ["sweep", "--task", "counting", "--distribution", "natural", "--n", "32,64", "--budgets", "0,8",
            "--algorithms", "counters", "--trials", "40", "--out", str(out)]
    assert run_cli(args, capsys)[0] == 0
    code, _, err = run_cli(args, capsys)
    assert code == 2 and "holds 4 of these cells" in err
    code, _, err = run_cli(args + ["--resume"], capsys)
    assert code == 0 and "0 cells written" in err and len(read(out)) == 4


def test_bench_subcommands_honour_their_n(monkeypatch, capsys):
    import cli.bench as bench

    seen = {}
    monkeypatch.setattr(bench, "adversary_benchmark", lambda n, echo: seen.setdefault("adversary", n))
    monkeypatch.setattr(bench, "engine_benchmark", lambda n, t, r, echo: seen.setdefault("engine", n))
    assert run_cli(["bench", "adversary", "--n", "4096"], capsys)[0] == 0
    assert run_cli(["bench", "adversary"], capsys)[0] == 0 and seen["adversary"] == 4096
    assert run_cli(["bench"], capsys)[0] == 0 and seen["engine"] == 4096
    code, out, _ = run_cli(["bench", "coder", "--help"], capsys)
    assert code == 0 and "--algorithm" in out
    assert run_cli(["bench", "engine", "--n", "0"], capsys)[0] == 2


def test_mqar_rows_use_the_grouped_interval(tmp_path, capsys):
    """Q answers of one stream share one state: the interval is Hoeffding's over streams, wider than a binomial
    interval over every answer, and the audit runs on MQAR rows against associative recall's bound at m."""
    from commcomplexity.stats import clopper_pearson
    from streaming.tasks import make_task

    out = tmp_path / "m.csv"
    code, _, err = run_cli(["sweep", "--task", "mqar", "--n", "64", "--queries", "6", "--budgets", "16",
                            "--algorithms", "trellis", "--trials", "500", "--strict", "--out", str(out)], capsys)
    assert code == 0, err
    row = read(out)[0]
    assert int(row["trials"]) == 3000 and row["distribution"] == "hard:Q=6" and row["audit"] == "ok"
    lo, hi = clopper_pearson(int(row["successes"]), 3000)
    assert float(row["ci_low"]) < lo and float(row["ci_high"]) > hi
    assert float(row["bound"]) == round(float(make_task("recall", 64).bounds([16])["bound"][0]), 6)


@pytest.mark.parametrize("args", [
    ["sweep", "--n", "99999999999999999999", "--budgets", "4", "--trials", "1"],
    ["sweep", "--n", "64", "--budgets", "99999999999999999999", "--trials", "1"],
    ["exact", "--m", "4", "--bits", "99999999999999999999"],
    ["algorithms", "--task", "index", "--n", "99999999999999999999", "--budget", "4"],
    ["sweep", "--n", "64", "--budgets", "4", "--algorithms", ","],
])
def test_huge_numbers_and_empty_lists_are_one_line(args, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(args, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
