"""Generating machines with retrieval (streaming.generate, streaming.algorithms.lookup): the traces they write are
the reference traces token for token, they answer right at O(log n) bits, the engine holds them to b bits (a
cheating machine is cut), the seal covers emit, and a sweep writes their rows as a separate, unaudited series."""
import csv
import itertools
from fractions import Fraction

import numba
import numpy as np
import pytest
from numba import njit

from tests.conftest import is_tree_union_find, run_cli
from streaming.algorithms import GENERATORS, REGISTRY, Algorithm, algorithms_for, generators_for, get_algorithm, \
    register, resolve_names
from streaming.algorithms.lookup import LOOKUP_TASKS, dfs_layout, lookup_bits
from streaming.bits import get_bit, set_bit
from streaming.engine import BudgetViolation, coins_for
from streaming.generate import run_generating, run_streams
from streaming.seal import ContractError
from streaming.sweep import plan_cells
from streaming.tasks import TASKS, make_task
from streaming.tasks.istree import edges_to_tokens
from streaming.tokens import EOS, NUM0

COINS = coins_for(0)
LOOKUP = {name: get_algorithm(name, "retrieval-lookup") for name in LOOKUP_TASKS}
DFS = get_algorithm("istree", "retrieval-dfs")


def read(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def check_traces(alg, task, tokens, answers, budget=None):
    """Every stream's written trace, environment flags and answer equal the task's reference; returns the runs."""
    budget = alg.used_bits(task, 4096) if budget is None else budget
    runs = run_streams(alg, task, tokens, budget, COINS, debug=True)
    for stream, answer, g in zip(tokens, answers, runs):
        trace, env, answer_token = task.trace(stream, answer, "retrieval")
        assert g.trace == trace and g.written_by_environment == env, (task.label(), stream)
        assert g.answer == answer_token == int(task.answer_tokens(answer))
    return runs


# --- the registry: generating machines are found by name, never part of `all` ---------------------------------------
def test_generating_machines_live_apart_from_the_streaming_algorithms():
    for name in LOOKUP_TASKS:
        assert (name, "retrieval-lookup") in GENERATORS and (name, "retrieval-lookup") not in REGISTRY
        assert LOOKUP[name] in generators_for(name) and LOOKUP[name] not in algorithms_for(name)
        assert "retrieval-lookup" not in [a.name for a in resolve_names(name, "all")]
        assert resolve_names(name, "retrieval-lookup") == [LOOKUP[name]]
    assert ("istree", "retrieval-dfs") in GENERATORS and DFS.generating
    assert not get_algorithm("index", "prefix").generating
    with pytest.raises(ValueError, match="retrieval-lookup"):  # the known names include them
        get_algorithm("index", "nosuch")


# --- retrieval-lookup: exhaustive on the hard streams, sampled on the natural ones ------------------------------------
@pytest.mark.parametrize("name", LOOKUP_TASKS)
def test_lookup_writes_the_reference_trace_on_every_small_instance(name, instances):
    """Every (x, k) of Index on m = 4 bits through the task's reduction, then 200 streams of each distribution."""
    alg = LOOKUP[name]
    size = TASKS[name].size_for(4)
    x, k = instances(4)
    task = make_task(name, size)
    tokens, answers, _ = task.reduce(x, k)
    runs = check_traces(alg, task, tokens, answers)
    assert all(g.queries == 1 for g in runs)
    for distribution in TASKS[name].distributions:
        task = make_task(name, TASKS[name].size_for(8), distribution)
        batch = task.batch(5, 0, 200)
        check_traces(alg, task, batch.tokens, batch.answers)


@pytest.mark.parametrize("name", LOOKUP_TASKS)
def test_lookup_is_exact_at_its_bits_on_every_distribution_and_guesses_below(name):
    alg = LOOKUP[name]
    for distribution in TASKS[name].distributions:
        task = make_task(name, TASKS[name].size_for(64), distribution)
        need = lookup_bits(task)
        assert alg.used_bits(task, need) == need and alg.used_bits(task, need - 1) == 0
        assert need <= 2 * int(np.ceil(np.log2(NUM0 + task.vocab)))  # O(log n): at most two registers of w bits
        res = run_generating(alg, task, need, 300, seed=2, debug=True)
        assert res.successes == res.trials == 300 and res.missing == 0 and res.queries == 1.0
        below = run_generating(alg, task, need - 1, 300, seed=2)
        assert below.queries == 0 and below.missing == 0 and below.successes < 300


def test_lookup_below_its_bits_is_exactly_a_coin_on_index(instances):
    """Below its memory it does not search: on every (x, k) of Index its guess is right exactly half the time."""
    task = make_task("index", 6)
    x, k = instances(6)
    tokens, answers, _ = task.reduce(x, k)
    need = lookup_bits(task)
    for b in range(need):
        runs = run_streams(LOOKUP["index"], task, tokens, b, COINS, debug=True)
        right = sum(g.answer == NUM0 + a for g, a in zip(runs, answers))
        assert Fraction(right, len(runs)) == Fraction(1, 2) and all(g.queries == 0 for g in runs)


# --- retrieval-dfs: every graph at small N, random ones up to N = 64 -------------------------------------------------
def graph_streams(n_nodes, orders):
    """Every simple graph with N - 1 edges on N nodes, in all edge orders (orders = None) or in `orders` random
    ones each."""
    pairs = list(itertools.combinations(range(1, n_nodes + 1), 2))
    rng = np.random.default_rng(n_nodes)
    graphs = []
    for chosen in itertools.combinations(pairs, n_nodes - 1):
        if orders is None:
            graphs.extend(itertools.permutations(chosen))
        else:
            graphs.extend(tuple(chosen[i] for i in rng.permutation(len(chosen))) for _ in range(orders))
    edges = np.array(graphs, dtype=np.int64)
    return edges_to_tokens(edges), np.array([int(is_tree_union_find(g, n_nodes)) for g in graphs])


@pytest.mark.parametrize("n_nodes,orders", [(4, None), (5, 6), (6, 1)])
def test_dfs_writes_the_reference_trace_and_answers_right_on_every_graph(n_nodes, orders):
    task = make_task("istree", n_nodes, "random")
    tokens, trees = graph_streams(n_nodes, orders)
    assert trees.any() and not trees.all()
    runs = check_traces(DFS, task, tokens, trees)
    for g, tree in zip(runs, trees):
        assert g.answer == int(task.answer_tokens(tree)) and 0 < g.queries and len(g.trace) <= task.max_trace(
            "retrieval")


@pytest.mark.parametrize("n_nodes", [8, 16, 33, 64])
def test_dfs_writes_the_reference_trace_on_random_graphs(n_nodes):
    for distribution in ("hard", "authors", "random"):
        task = make_task("istree", n_nodes, distribution)
        batch = task.batch(7, 0, 12 if n_nodes < 64 else 4)
        check_traces(DFS, task, batch.tokens, batch.answers)


def test_dfs_is_exact_at_its_bits_with_order_n_queries_and_guesses_below():
    for n_nodes in (8, 16):
        wv, wc, need = dfs_layout(n_nodes)
        assert need == 4 * int(np.ceil(np.log2(n_nodes + 1))) + int(np.ceil(np.log2(n_nodes))) + 7
        for distribution in ("hard", "authors", "random"):
            task = make_task("istree", n_nodes, distribution)
            assert DFS.used_bits(task, need) == need and DFS.used_bits(task, need - 1) == 0
            res = run_generating(DFS, task, need, 60, seed=4, debug=True)
            assert res.successes == res.trials and res.missing == 0 and 1 < res.queries <= 6 * n_nodes
            below = run_generating(DFS, task, need - 1, 60, seed=4)
            assert below.queries == 0 and below.successes < 60


def test_dfs_refuses_the_permutation_distribution():
    task = make_task("istree", 8, "permutation")
    with pytest.raises(ValueError, match="retrieval"):
        DFS.make_params(task, 64, COINS)
    with pytest.raises(ValueError, match="retrieval"):
        run_generating(DFS, task, 64, 4, seed=0)


# --- the engine holds a generating machine to b bits --------------------------------------------------------------
@njit
def _hoard_step(state, token, t, params, coins):
    """Keeps every input bit at the top of word 0 (bit 63 - i), and x_k at bit 63 - n - 1: past any small b."""
    n = params[0]
    if 1 <= t <= n:
        set_bit(state, 63 - t, token - NUM0)
    elif t == n + 1:
        set_bit(state, 62 - n, get_bit(state, 63 - (token - NUM0)))


@njit
def _hoard_emit(state, t, params, coins):
    if t == params[0] + 3:
        return np.int64(EOS)
    return np.int64(NUM0 + get_bit(state, 62 - params[0]))


def hoarder(**kw):
    base = dict(name="hoarder", task="index", summary="", memory="", plan=lambda task, b, c: np.array([task.n, b]),
                step=_hoard_step, output=_no_answer, emit=_hoard_emit, used_bits=lambda task, b: b)
    base.update(kw)
    return Algorithm(**base)


@njit
def _no_answer(state, params, coins):
    return np.int64(-1)


def exact_generating_success(alg, n, b, instances, debug=False):
    task = make_task("index", n)
    x, k = instances(n)
    tokens, answers, _ = task.reduce(x, k)
    runs = run_streams(alg, task, tokens, b, COINS, debug=debug)
    return Fraction(sum(g.answer == NUM0 + a for g, a in zip(runs, answers)), len(runs))


def test_a_machine_that_keeps_bits_past_its_budget_is_cut_by_the_engine(instances):
    """With all 64 bits of its word it answers every (x, k) of Index; with b = 8 the engine clears what it keeps
    past b after every step, and it is a coin. In debug mode the attempt is caught."""
    alg = hoarder()
    assert exact_generating_success(alg, 6, 64, instances) == 1
    for b in (0, 8, 40):
        assert exact_generating_success(alg, 6, b, instances) == Fraction(1, 2)
        with pytest.raises(BudgetViolation, match="past its budget"):
            exact_generating_success(alg, 6, b, instances, debug=True)


@njit
def _idle_step(state, token, t, params, coins):
    pass


@njit
def _scribble_emit(state, t, params, coins):
    """Writes into the state it was handed, hoping to read it back at the next position: a copy, gone."""
    if t == params[0] + 3:
        state[0] = np.uint64(1) << np.uint64(5)
        return np.int64(EOS)
    return np.int64(NUM0 + 1 if state[0] >> np.uint64(5) & np.uint64(1) else NUM0)


def test_emit_gets_a_copy_of_the_state_that_dies_with_the_call(instances):
    task = make_task("index", 4)
    tokens = task.batch(0, 0, 8).tokens
    runs = run_streams(hoarder(step=_idle_step, emit=_scribble_emit), task, tokens, 64, COINS)
    assert all(g.answer == NUM0 for g in runs)


@njit
def _bad_token_emit(state, t, params, coins):
    return np.int64(-3)


def test_an_emitted_non_token_is_refused():
    task = make_task("index", 4)
    with pytest.raises(ValueError, match="not a token"):
        run_streams(hoarder(emit=_bad_token_emit), task, task.batch(0, 0, 2).tokens, 8, COINS)


# --- the seal covers emit ---------------------------------------------------------------------------------------------
def _python_emit(state, t, params, coins):
    return EOS


@njit
def _objmode_emit(state, t, params, coins):
    with numba.objmode():
        pass
    return np.int64(EOS)


@njit
def _params_emit(state, t, params, coins):
    params[1] = t  # smuggles the position into the params
    return np.int64(EOS)


@pytest.mark.parametrize("emit,why", [(_python_emit, "not numba-compiled"), (_objmode_emit, "object mode")])
def test_an_unsealed_emit_is_refused_at_registration_and_by_the_runner(emit, why):
    alg = hoarder(name="unsealed-emit", emit=emit)
    with pytest.raises(ContractError, match=why):
        register(alg)
    assert ("index", "unsealed-emit") not in GENERATORS
    task = make_task("index", 4)
    with pytest.raises(ContractError, match=why):
        run_generating(alg, task, 8, 4, seed=0)


def test_an_emit_that_writes_the_params_fails_to_compile():
    task = make_task("index", 4)
    with pytest.raises(BudgetViolation, match="read-only"):
        run_generating(hoarder(name="params-emit", emit=_params_emit), task, 8, 4, seed=0)


def test_a_streaming_algorithm_is_not_run_as_a_generating_machine():
    with pytest.raises(ValueError, match="no emit"):
        run_generating(get_algorithm("index", "prefix"), make_task("index", 8), 8, 4, seed=0)


# --- sweeps and plots -------------------------------------------------------------------------------------------------
def test_sweep_writes_retrieval_rows_through_the_cli(tmp_path, capsys):
    out = tmp_path / "r.csv"
    args = ["sweep", "--task", "index", "--n", "32", "--budgets", "4,8,16", "--algorithms",
            "trellis,retrieval-lookup", "--trials", "200", "--strict", "--out", str(out)]
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    rows = read(out)
    assert len(rows) == 6
    retrieval = [r for r in rows if r["reader"] == "retrieval-lookup"]
    streaming = [r for r in rows if r["reader"] == "trellis"]
    assert all(r["format"] == "retrieval" and r["decode"] == "free" and r["audit"] == "not-streaming"
               for r in retrieval)
    assert all(r["format"] == "vanilla" and r["decode"] == "stream" and r["audit"] == "ok" for r in streaming)
    need = lookup_bits(make_task("index", 32))
    for r in retrieval:
        if int(r["budget_bits"]) >= need:
            assert float(r["queries"]) == 1.0 and float(r["success"]) == 1.0 and int(r["used_bits"]) == need
        else:
            assert float(r["queries"]) == 0.0 and int(r["used_bits"]) == 0
    assert any(float(r["success"]) == 1.0 and float(r["bound"]) < 1.0 for r in retrieval)  # left of the bound
    code, _, err = run_cli(args + ["--resume"], capsys)
    assert code == 0 and "0 cells written" in err and len(read(out)) == 6
    png = tmp_path / "f.png"
    code, _, _ = run_cli(["plot", str(out), "--out", str(png)], capsys)
    assert code == 0 and png.stat().st_size > 0

    out = tmp_path / "t.csv"
    code, _, err = run_cli(["sweep", "--task", "istree", "--n", "12", "--distribution", "random", "--budgets", "64",
                            "--algorithms", "retrieval-dfs", "--trials", "40", "--out", str(out)], capsys)
    assert code == 0, err
    (row,) = read(out)
    assert row["format"] == "retrieval" and row["audit"] == "not-streaming" and float(row["success"]) == 1.0
    assert float(row["queries"]) > 12 and row["missing"] == "0"


def test_sweep_all_means_the_streaming_algorithms_and_permutation_is_refused(tmp_path, capsys):
    cells = plan_cells("counting", [16], "all", 10, 0, budgets=[8])
    assert {c.algorithm for c in cells} == {a.name for a in algorithms_for("counting")}
    assert "retrieval-lookup" in {c.algorithm for c in plan_cells("counting", [16], "retrieval-lookup,counters", 10,
                                                                   0, budgets=[8])}
    code, _, err = run_cli(["sweep", "--task", "istree", "--n", "8", "--distribution", "permutation", "--budgets",
                            "64", "--algorithms", "retrieval-dfs", "--trials", "10", "--out",
                            str(tmp_path / "p.csv")], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "retrieval" in err


def test_the_plot_draws_retrieval_rows_as_a_marked_series():
    from cli.plotting import RETRIEVAL_LABEL, draw_panel, pyplot
    from streaming.sweep import make_row

    task = make_task("index", 64)
    rows = [make_row(task, "trellis", 32, 32, 160, 200, 0, 0.0, cells=2),
            make_row(task, "retrieval-lookup", 8, 7, 200, 200, 0, 0.0, cells=2, fmt="retrieval", decode="free",
                     queries=1.0)]
    rows = [{k: str(v) for k, v in r.items()} for r in rows]
    plt = pyplot()
    fig, ax = plt.subplots()
    draw_panel(ax, task, rows)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    plt.close(fig)
    assert f"retrieval-lookup: {RETRIEVAL_LABEL}" in labels and "trellis" in labels
    assert "the bound does not apply" in RETRIEVAL_LABEL


@pytest.mark.parametrize("task, name", [("index", "retrieval-lookup"), ("istree", "retrieval-dfs")])
def test_the_adversary_refuses_readers_with_retrieval(task, name, capsys):
    code, _, err = run_cli(["adversary", "--task", task, "--algorithm", name, "--n", "16", "--budget", "16"], capsys)
    assert code == 2 and "retrieval environment" in err and len(err.strip().splitlines()) == 1
