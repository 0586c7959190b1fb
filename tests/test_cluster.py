"""The fan-out on Dask (streaming.cluster): a real LocalCluster of 2 worker processes gives the same rows as the
serial sweep, a worker killed mid-sweep loses and duplicates nothing, a cancelled sweep resumes to the full file,
a failing cell is reported while the rest goes on (exit 1), and a bad scheduler is one line before anything is
written."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap

import pytest

from streaming.cluster import Fanout, SchedulerError, connect, fanout_from
from streaming.results import duplicated_cells, read_rows
from streaming.sweep import plan_cells, plan_parts, run_sweep, split_cell

from conftest import run_cli

pytestmark = pytest.mark.slow  # each test starts worker processes (a few seconds)

SLOW_PLUGIN = '''
"""prefix with busy work in every step: parts of cells that take a while (the kill test's plugin)."""
import numpy as np
from numba import njit

from streaming.algorithms import Algorithm, get_algorithm, register

PREFIX = get_algorithm("index", "prefix")
inner_step, inner_output = PREFIX.step, PREFIX.output


def plan(task, b, coins):
    if b == FAIL_AT:
        raise RuntimeError("this plan refuses b = %d" % b)
    return np.concatenate([PREFIX.make_params(task, b, coins), np.array([SPIN], dtype=np.int64)])


@njit
def step(state, token, t, params, coins):
    acc = np.uint64(t)
    for i in range(params[params.shape[0] - 1]):  # busy work that changes nothing
        acc ^= (acc << np.uint64(13)) + np.uint64(i)
    if acc == np.uint64(1):
        return
    inner_step(state, token, t, params, coins)


@njit
def output(state, params, coins):
    return inner_output(state, params, coins)


register(Algorithm(name=NAME, task="index", summary="prefix, slowly", memory="as prefix", plan=plan, step=step,
                   output=output, used_bits=PREFIX.used_bits, settings=lambda task, b: ""))
'''


def write_plugin(path, name: str, spin: int, fail_at: int = -1):
    path.write_text(f"NAME = {name!r}\nSPIN = {spin}\nFAIL_AT = {fail_at}\n" + SLOW_PLUGIN)
    return path


@pytest.fixture(scope="module")
def client():
    with connect(Fanout(2)) as c:
        yield c


def comparable(path) -> list:
    """The rows of a results file without their timing, sorted (arrival order differs on a cluster)."""
    return sorted(tuple((k, v) for k, v in row.items() if k != "seconds") for row in read_rows(path))


def mixed_cells():
    """Streaming cells, a natural distribution, several queries per stream, and a writing reader."""
    return (plan_cells("index", [64], "prefix,blockcode", 600, 3, budgets=[0, 16, 48])
            + plan_cells("recall", [32], "table", 500, 5, budgets=[40, 96], distribution="natural")
            + plan_cells("mqar", [16], "blockcode", 300, 1, budgets=[8, 16])
            + plan_cells("index", [64], "retrieval-lookup", 120, 2, budgets=[5, 12]))


def test_a_cluster_sweep_writes_the_serial_rows_with_cells_split_into_parts(client, tmp_path):
    cells = mixed_cells()
    unit_tokens = 4000  # every cell here splits into several parts
    assert all(len(split_cell(c, unit_tokens)) > 1 for c in cells)
    serial, cluster = tmp_path / "serial.csv", tmp_path / "cluster.csv"
    run_sweep(cells, serial)
    seen = []
    report = run_sweep(cells, cluster, client=client, unit_tokens=unit_tokens, progress=seen.append)
    assert report.written == len(cells) and not report.failed
    assert len(seen) == plan_parts(cells, split=True, unit_tokens=unit_tokens) > len(cells)
    assert comparable(serial) == comparable(cluster)
    assert duplicated_cells(read_rows(cluster)) == 0


def test_a_worker_killed_mid_sweep_loses_and_duplicates_nothing(client, tmp_path):
    from streaming.plugins import load_plugin

    load_plugin(write_plugin(tmp_path / "slow_a.py", "slow-prefix-a", spin=3000))
    cells = plan_cells("index", [64], "slow-prefix-a", 1200, 7, budgets=[8, 24, 40, 56])
    unit_tokens = 66 * 200  # 6 parts a cell, each a good fraction of a second
    serial, cluster = tmp_path / "serial.csv", tmp_path / "cluster.csv"
    run_sweep(cells, serial)
    before = client.run(os.getpid)
    victim = sorted(before.values())[0]
    killed = []

    def on_part(_):
        if not killed:  # the first part is back: the other units are queued or running on both workers
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    report = run_sweep(cells, cluster, client=client, unit_tokens=unit_tokens, progress=on_part)
    assert killed and victim not in client.run(os.getpid).values()  # it died (its nanny started another)
    assert not report.failed and report.written == len(cells)
    assert comparable(serial) == comparable(cluster)
    assert duplicated_cells(read_rows(cluster)) == 0


def test_a_cancelled_cluster_sweep_keeps_its_rows_and_resume_completes_it(client, tmp_path):
    cells = plan_cells("index", [64], "prefix,blockcode", 400, 11, budgets=[0, 8, 16, 32, 48, 64])
    serial, cluster = tmp_path / "serial.csv", tmp_path / "cluster.csv"
    run_sweep(cells, serial)
    calls = []

    def interrupt(_):
        calls.append(1)
        if len(calls) == 24:  # half the parts: some cells are complete, some are not
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(cells, cluster, client=client, unit_tokens=66 * 100, progress=interrupt)
    kept = read_rows(cluster)
    assert 0 < len(kept) < len(cells)
    report = run_sweep(cells, cluster, client=client, resume=True, unit_tokens=66 * 100)
    assert report.already == len(kept) and report.written == len(cells) - len(kept)
    assert comparable(serial) == comparable(cluster)


def test_a_failing_cell_is_reported_with_its_error_and_the_sweep_goes_on(tmp_path, capsys):
    plugin = write_plugin(tmp_path / "slow_b.py", "slow-prefix-b", spin=0, fail_at=16)
    out = tmp_path / "rows.csv"
    code, _, err = run_cli(["sweep", "--plugin", str(plugin), "--task", "index", "--n", "64", "--algorithms",
                            "slow-prefix-b,prefix", "--budgets", "8,16,24", "--trials", "200", "--out", str(out),
                            "--workers", "2"], capsys)
    assert code == 1, err
    assert "slow-prefix-b at b = 16, n = 64 failed on the cluster after 3 tries: ContractError: algorithm " \
           "'slow-prefix-b': its plan failed: RuntimeError: this plan refuses b = 16" in err
    rows = read_rows(out)
    assert sorted((r["reader"], r["budget_bits"]) for r in rows) == sorted(
        [("slow-prefix-b", "8"), ("slow-prefix-b", "24"), ("prefix", "8"), ("prefix", "16"), ("prefix", "24")])
    assert "Traceback" not in err


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_bad_scheduler_is_one_line_exit_2_and_nothing_written(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("streaming.cluster.CONNECT_TIMEOUT", 1.0)
    address = f"tcp://127.0.0.1:{free_port()}"
    out = tmp_path / "new" / "rows.csv"
    code, _, err = run_cli(["sweep", "--task", "index", "--n", "64", "--budgets", "0", "--trials", "10", "--out",
                            str(out), "--scheduler", address], capsys)
    assert code == 2
    assert err.strip().splitlines() == [f"streambound: error: cannot reach the scheduler at {address}: "
                                        + err.split(f"{address}: ", 1)[1].strip()]
    assert not (tmp_path / "new").exists()
    monkeypatch.setenv("STREAMBOUND_SCHEDULER", address)  # the environment variable names it too
    code, _, err = run_cli(["figures", "index", "--results", str(tmp_path / "r"), "--figures",
                            str(tmp_path / "f")], capsys)
    assert code == 2 and "cannot reach the scheduler" in err and not (tmp_path / "r").exists()


@pytest.mark.parametrize("args, message", [
    (["--workers", "0"], "--workers must be an integer in 1..256"),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "give --workers (a local cluster) or --scheduler"),
    (["--scheduler", "localhost"], "bad scheduler address 'localhost': write tcp://HOST:PORT"),
    (["--scheduler", "tcp://127.0.0.1"], "bad scheduler address 'tcp://127.0.0.1'"),
    (["--scheduler", "tcp://127.0.0.1:99999"], "(a port in 1..65535)"),
])
def test_bad_fanout_settings_are_one_line(args, message, tmp_path, capsys):
    code, _, err = run_cli(["sweep", "--task", "index", "--n", "64", "--budgets", "0", "--trials", "10", "--out",
                            str(tmp_path / "x.csv"), *args], capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.csv").exists()


def test_fanout_values():
    assert Fanout().serial and not Fanout(2).serial and not Fanout(1, "tcp://h:1").serial
    with pytest.raises(SchedulerError):
        Fanout(1, runs_per_gpu=0)
    assert fanout_from(1, None).scheduler is None


def test_a_given_scheduler_runs_the_sweep_there_and_a_serial_run_never_imports_dask(client, tmp_path):
    """--scheduler: the CLI in another process sends its cells to this test's cluster; the same sweep in process
    (K = 1, no scheduler) gives the same rows and never imports Dask."""
    cells_args = ["sweep", "--task", "index", "--n", "64", "--algorithms", "prefix,blockcode", "--budgets",
                  "0,16,32", "--trials", "300", "--seed", "4"]
    env = dict(os.environ, STREAMBOUND_SCHEDULER=client.scheduler.address)
    done = subprocess.run([sys.executable, "-c", "from cli.main import main; main()", *cells_args, "--out",
                           str(tmp_path / "c.csv")], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    serial = textwrap.dedent(f"""
        import sys
        from cli.main import main
        try:
            main({cells_args + ["--out", str(tmp_path / "s.csv")]!r})
        except SystemExit as exc:
            assert exc.code == 0, exc.code
        assert not [m for m in sys.modules if m.split(".")[0] in ("dask", "distributed")]
    """)
    subprocess.run([sys.executable, "-c", serial], check=True, timeout=300)
    assert comparable(tmp_path / "s.csv") == comparable(tmp_path / "c.csv")


def test_scaling_cells_on_the_cluster_give_the_serial_rows(client):
    from streaming.experiments import scaling_rows

    cells = [("index", 64, "prefix"), ("index", 64, "blockcode"), ("istree", 64, "unionfind")]
    serial = list(scaling_rows(cells, 100, 2, 3))
    cluster = list(scaling_rows(cells, 100, 2, 3, client=client))
    key = lambda r: (r["task"], r["n"], r["reader"])  # noqa: E731
    assert sorted(serial, key=key) == sorted(cluster, key=key)


def test_figure2_runs_train_and_evaluate_as_units_on_the_cluster(client, tmp_path):
    pytest.importorskip("torch")
    import streaming.neural.figure2 as f2

    grid = tuple(spec for spec in f2._grid(("llama",), ("tiny",), (6,), {"vanilla": 2, "cot": 2, "retrieval": 2},
                                           {"llama": 3e-3}, 4) if spec.fmt != "cot")
    progress = lambda length, label: _Bar()  # noqa: E731
    csv_path = tmp_path / "figure2.csv"
    assert f2.run_grid(grid, tmp_path / "runs", csv_path, 4, 0, "cpu", progress, client=client) == []
    got = read_rows(csv_path)
    assert sorted((r["format"], r["decode"]) for r in got) == [("retrieval", "free"), ("retrieval", "teacher"),
                                                               ("vanilla", "stream")]
    assert all(f2.run_complete(tmp_path / "runs" / spec.name, spec.steps) for spec in grid)
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "runs").rglob("model.safetensors")}
    assert f2.run_grid(grid, tmp_path / "runs", csv_path, 4, 0, "cpu", progress, client=client) == []
    assert len(read_rows(csv_path)) == 3  # nothing trained again, no row written twice
    assert stamps == {p: p.stat().st_mtime_ns for p in (tmp_path / "runs").rglob("model.safetensors")}


class _Bar:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n):
        pass


def test_the_exact_figure_units_on_the_cluster_give_the_serial_rows(client, monkeypatch):
    import streaming.experiments as ex

    monkeypatch.setattr(ex, "EXACT_SIZES", range(3, 4))  # the driver's grid; each unit names its own (m, b)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    ticks = []
    cluster = ex.exact_figure_rows(0, progress=lambda: ticks.append(1), client=client)
    assert strip(cluster) == strip(ex.exact_figure_rows(0))
    assert len(ticks) == 4
    assert {r["reader"] for r in cluster} >= {"optimum", "sphere", "every-step", "prefix"}


def test_a_sealed_sweep_on_the_cluster_plans_before_its_seeds_and_replays_in_process(client, tmp_path):
    cells = plan_cells("index", [64], "prefix,blockcode", 300, 0, budgets=[8, 32])
    report = run_sweep(cells, tmp_path / "sealed.csv", sealed=True, client=client, unit_tokens=66 * 100)
    rows = read_rows(tmp_path / "sealed.csv")
    assert report.written == len(cells) and len({(r["seed"], r["coin_seed"]) for r in rows}) == 1
    seed, coin_seed = int(rows[0]["seed"]), int(rows[0]["coin_seed"])
    # the seeds written are the ones used: the same cells in process with them give the same rows
    again = plan_cells("index", [64], "prefix,blockcode", 300, seed, budgets=[8, 32], coin_seed=coin_seed)
    run_sweep(again, tmp_path / "replay.csv")
    assert comparable(tmp_path / "sealed.csv") == comparable(tmp_path / "replay.csv")


def test_bench_cluster_prints_the_speedup_and_the_overhead(capsys):
    code, text, err = run_cli(["bench", "cluster", "--n", "64", "--algorithm", "blockcode", "--trials", "60",
                               "--budgets", "0:64:32"], capsys)
    assert code == 0, err
    assert "the same rows: yes" in text and "speed-up" in text and "overhead per cell on the cluster" in text


@pytest.mark.parametrize("args, message", [(["--workers", "0"], "--workers must be positive"),
                                           (["--algorithm", "nope"], "unknown algorithm 'nope'"),
                                           (["--budgets", "a"], "bad value 'a' in budgets")])
def test_bench_cluster_bad_input_is_one_line(args, message, capsys):
    code, _, err = run_cli(["bench", "cluster", *args], capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("args, message", [(["--runs-per-gpu", "0"], "--runs-per-gpu must be an integer in 1..64"),
                                           (["--workers", "2", "--device", "cuda"], None)])
def test_figure2_fanout_settings_are_checked_before_any_file(args, message, tmp_path, capsys):
    pytest.importorskip("torch")
    import torch

    if message is None:
        if torch.cuda.is_available():
            pytest.skip("this machine has CUDA")
        message = "no CUDA device is present"
    code, _, err = run_cli(["figures", "figure2", "--results", str(tmp_path / "r"), "--figures",
                            str(tmp_path / "f"), "--runs", str(tmp_path / "runs"), *args], capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())
