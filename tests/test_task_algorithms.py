import numpy as np
import pytest

from cli.main import main
from commcomplexity.stats import clopper_pearson
from streaming.algorithms import REGISTRY, get_algorithm
from streaming.algorithms.istree import unionfind_bits
from streaming.engine import coins_for, run_cell, run_tokens
from streaming.exact import exact_success, task_for_index_size
from streaming.tasks import TASKS, make_task

COINS = coins_for(5)


@pytest.mark.parametrize("distribution", ["hard", "permutation", "random", "authors"])
def test_unionfind_exact_at_its_memory_and_not_below(distribution):
    n = 16
    task = make_task("istree", n, distribution)
    alg = get_algorithm("istree", "unionfind")
    need = unionfind_bits(n)
    assert run_cell(alg, task, need, 1500, seed=1, debug=True).successes == 1500
    assert run_cell(alg, task, need - 1, 1500, seed=1, debug=True).successes < 1500


def test_partial_unionfind_errs_only_on_non_trees():
    task = make_task("istree", 40, "random")
    alg = get_algorithm("istree", "partial-unionfind")
    batch = task.batch(2, 0, 1500)
    for b in (20, 80, 200):
        out, _ = run_tokens(alg, task, batch.tokens, b, COINS, debug=True)
        assert np.all(out[batch.answers == 1] == 1)  # a tree is never called a non-tree


ADAPTED = [(name, alg, inner) for name, cls in TASKS.items() for alg, inner in cls.adapters.items()]


@pytest.mark.parametrize("name,alg_name,inner_name", ADAPTED)
@pytest.mark.parametrize("m", [3, 5, 7])
def test_adapters_equal_their_index_coder_through_the_reduction(name, alg_name, inner_name, m):
    """Run backwards, each reduction turns the Index coder's exact success into the task's, bit for bit, with the
    reserved bits (IsTree's parity, the last answer of a task with several queries) taken off the budget."""
    task = task_for_index_size(name, m)
    reserve = task.adapter_reserve + (task.queries > 1)
    alg, inner = get_algorithm(name, alg_name), get_algorithm("index", inner_name)
    for b in range(reserve, m + reserve + 1):
        got = exact_success(alg, task, b, COINS)
        want = exact_success(inner, make_task("index", m), b - reserve, COINS)
        assert got == want, (name, alg_name, b)
        assert alg.used_bits(task, b) == inner.used_bits(make_task("index", m), b - reserve) + reserve <= b


def test_mqar_answers_every_query_from_the_same_state():
    """With several different queries per stream, the adapters and the table keep their memory across queries:
    at b = m + 1 an adapter answers every query of every stream; the table with room for every key does too."""
    task = make_task("mqar", 32, queries=5)
    batch = task.batch(1, 0, 300)
    assert len({tuple(r) for r in batch.tokens[:, task.cut :]}) > 250
    for name in ("prefix", "blockcode", "trellis"):
        out, _ = run_tokens(get_algorithm("mqar", name), task, batch.tokens, 17, COINS, debug=True)
        assert out.shape == batch.answers.shape and np.array_equal(out, batch.answers), name
    natural = make_task("mqar", 32, "natural", keys=64, values=8, queries=5)
    res = run_cell(get_algorithm("mqar", "table"), natural, 6000, 300, seed=0, debug=True)
    assert res.scored == 1500 and res.successes / res.scored > 0.95


def test_table_and_counters_reach_exactness_when_everything_fits():
    recall = make_task("recall", 16, "natural", keys=8, values=3)
    # hashing the 8 keys into 997 slots: a collision under one draw of the coins has probability about 0.03 (and
    # then costs the colliding keys' queries on every stream), so average over five draws of the coins
    rates = [run_cell(get_algorithm("recall", "table"), recall, 4000, 500, seed=0, debug=True, coin_seed=c).successes
             / 500 for c in range(5)]
    assert np.mean(rates) > 0.95
    counting = make_task("counting", 64, "natural", alphabet=8, threshold=3)
    assert run_cell(get_algorithm("counting", "counters"), counting, 8 * 3, 800, 0, debug=True).successes == 800


def test_countmin_never_underestimates():
    task = make_task("counting", 200, "natural", alphabet=40, threshold=4)
    batch = task.batch(1, 0, 2000)
    alg = get_algorithm("counting", "countmin")
    for b in (12, 48, 120):
        out, _ = run_tokens(alg, task, batch.tokens, b, COINS, debug=True)
        assert np.all(out[batch.answers == 1] == 1)


@pytest.mark.parametrize("key", sorted(k for k in REGISTRY if k[0] != "index"))
def test_every_task_algorithm_stays_in_budget(key):
    """Debug mode at every distribution and a range of budgets: no bit past b, the declared memory fits, and no
    cell beats its bound beyond its confidence interval (sizes come from the task: m = 8 Index bits)."""
    name, alg_name = key
    alg = REGISTRY[key]
    size = TASKS[name].size_for(9)
    for distribution in TASKS[name].distributions:
        task = make_task(name, size, distribution)
        for b in (0, 1, 3, task.index_size // 2, task.index_size, 3 * task.index_size, 100):
            res = run_cell(alg, task, b, 200, seed=3, debug=True)
            assert alg.used_bits(task, b) <= b
            bound = float(task.bounds([b])["bound"][0])
            if np.isfinite(bound) and task.queries == 1:
                assert clopper_pearson(res.successes, res.scored, 0.999)[0] <= bound, (distribution, b)


@pytest.mark.parametrize("args", [
    ["--task", "istree", "--n", "64", "--budgets", "0:400:100"],
    ["--task", "istree", "--n", "32", "--distribution", "permutation", "--budgets", "0:200:50",
     "--algorithms", "unionfind,partial-unionfind"],
    ["--task", "recall", "--n", "128", "--budgets", "0:128:32"],
    ["--task", "recall", "--n", "64", "--distribution", "natural", "--keys", "64", "--values", "4",
     "--budgets", "0:256:64", "--algorithms", "table"],
    ["--task", "cgram", "--n", "96", "--budgets", "0:64:16"],
    ["--task", "counting", "--n", "128", "--budgets", "0:128:32"],
    ["--task", "mqar", "--n", "128", "--budgets", "0:80:16", "--queries", "8"],
    ["--task", "mqar", "--n", "64", "--distribution", "natural", "--budgets", "0:600:150", "--algorithms", "table"],
])
def test_audit_passes_on_every_task(args, tmp_path, capsys):
    out = tmp_path / "r.csv"
    with pytest.raises(SystemExit) as exc:
        main(["sweep", *args, "--trials", "600", "--strict", "--out", str(out)])
    assert exc.value.code == 0, capsys.readouterr().err
    text = out.read_text()
    assert "VIOLATION" not in text and text.count("\n") > 4


@pytest.mark.parametrize("args", [
    ["sweep", "--task", "istree", "--n", "3", "--budgets", "4"],
    ["sweep", "--task", "cgram", "--c", "1", "--n", "12", "--budgets", "4"],
    ["sweep", "--task", "counting", "--threshold", "-1", "--n", "12", "--budgets", "4"],
    ["sweep", "--task", "recall", "--distribution", "natural", "--keys", "3", "--n", "20", "--budgets", "4"],
    ["sweep", "--task", "istree", "--distribution", "permutation", "--n", "9", "--budgets", "4"],
    ["bound", "--task", "istree", "--n", "2", "--bits", "4"],
])
def test_bad_task_sizes_exit_2(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2 and len(capsys.readouterr().err.strip().splitlines()) == 1


def test_bound_for_every_task(capsys):
    for task in TASKS:
        with pytest.raises(SystemExit) as exc:
            main(["bound", "--task", task, "--n", "64", "--success", "0.9"])
        assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "217 bits" in out  # the Bell-number line at N = 64
    with pytest.raises(SystemExit):
        main(["bound", "--task", "istree", "--n", "1024", "--distribution", "permutation", "--bits", "1024"])
    assert "0.846" in capsys.readouterr().out
