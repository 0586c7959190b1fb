"""Every honesty claim of the sealed contract, tried by an algorithm that cheats: each must be refused (at
registration, at compile time, or by the engine) or held to chance in sealed mode. And the plugin door: the
README's example runs as written, a broken plugin is one line."""
import csv
import json
import re
import textwrap
from pathlib import Path

import numba
import numpy as np
import pytest
from numba import njit

from tests.conftest import run_cli
from commcomplexity.stats import clopper_pearson
from streaming.algorithms import REGISTRY, Algorithm, get_algorithm, register
from streaming.bits import get_bit, get_bits, read_answer, set_bit, store_answer
from streaming.engine import (SEED_LIMIT, BudgetViolation, coins_for, run_cell, run_tokens)
from streaming.rng import draw
from streaming.seal import ContractError
from streaming.sweep import plan_cells, run_sweep
from streaming.tasks import make_task
from streaming.tokens import NUM0

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture
def registered():
    """Register algorithms for one test and take them out again afterwards."""
    added = []

    def add(alg):
        register(alg)
        added.append((alg.task, alg.name))
        return alg

    yield add
    for key in added:
        REGISTRY.pop(key, None)


def plain(**kw):
    base = dict(task="index", summary="", memory="", plan=lambda task, b, c: np.array([task.n, b]),
                output=read_answer, used_bits=lambda task, b: b)
    base.update(kw)
    return Algorithm(**base)


# --- the coins and the seeds ---------------------------------------------------------------------------------------
OLD_G, OLD_D = 0x9E3779B97F4A7C15, 0x5851F42D4C957F2D
OLD_G_INVERSE = pow(OLD_G, -1, 1 << 64)


@njit
def _coin_thief_step(state, token, t, params, coins):
    """Recovers 'the seed' from the coins as the old engine derived them (seed G + D), fingerprints its trial by
    the first 20 bits, and regenerates x_k with the public stream generator."""
    n, b = params[0], params[1]
    if 1 <= t <= 20:
        set_bit(state, t - 1, token - NUM0)
    elif t == n + 1:
        seed = (coins - np.uint64(OLD_D)) * np.uint64(OLD_G_INVERSE)
        finger = get_bits(state, 0, 20)
        ans = 0
        for trial in range(4096):
            f = np.uint64(0)
            for j in range(20):
                f |= (draw(seed, trial, j, 1) & np.uint64(1)) << np.uint64(j)
            if f == finger:
                ans = np.int64(draw(seed, trial, token - NUM0 - 1, 1) & np.uint64(1))
                break
        store_answer(state, ans, b)


@njit
def _seed_guesser_step(state, token, t, params, coins):
    """Assumes the default stream seed 0 and fingerprints its trial by the first 24 bits."""
    n, b = params[0], params[1]
    if 1 <= t <= 24:
        set_bit(state, t - 1, token - NUM0)
    elif t == n + 1:
        finger = get_bits(state, 0, 24)
        ans = 0
        for trial in range(2048):
            f = np.uint64(0)
            for j in range(24):
                f |= (draw(np.uint64(0), trial, j, 1) & np.uint64(1)) << np.uint64(j)
            if f == finger:
                ans = np.int64(draw(np.uint64(0), trial, token - NUM0 - 1, 1) & np.uint64(1))
                break
        store_answer(state, ans, b)


def test_the_coins_no_longer_reveal_the_stream_seed():
    task = make_task("index", 1024)
    thief = plain(name="coin-thief", step=_coin_thief_step)
    batch = task.batch(7, 0, 800)
    old_coins = np.uint64((7 * OLD_G + OLD_D) % (1 << 64))
    leaked, _ = run_tokens(thief, task, batch.tokens, 21, old_coins)
    assert np.mean(leaked == batch.answers) > 0.99  # the leak was real with the old coins (bound: 0.58)
    sealed, _ = run_tokens(thief, task, batch.tokens, 21, coins_for(7))
    bound = float(task.bounds([21])["bound"][0])
    assert clopper_pearson(int(np.sum(sealed == batch.answers)), 800)[0] <= bound


def test_a_seed_guesser_wins_in_normal_mode_and_is_held_to_chance_when_sealed(registered, tmp_path):
    registered(plain(name="seed-guesser", step=_seed_guesser_step))
    task = make_task("index", 1024)
    bound = float(task.bounds([25])["bound"][0])
    normal = run_cell(get_algorithm("index", "seed-guesser"), task, 25, 1000, seed=0)
    assert normal.successes / 1000 > 0.99 > bound  # what the README says normal mode cannot stop
    out = tmp_path / "sealed.csv"
    cells = plan_cells("index", [1024], "seed-guesser", 1000, 0, budgets=[25])
    report = run_sweep(cells, out, sealed=True)
    (row,) = list(csv.DictReader(out.open()))
    assert not report.violations and row["audit"] == "ok" and float(row["ci_low"]) <= bound
    assert int(row["seed"]) != 0 and int(row["coin_seed"]) != 0 and int(row["seed"]) < SEED_LIMIT
    # reproducible afterwards from the seeds written in the row
    again = run_cell(get_algorithm("index", "seed-guesser"), task, 25, 1000, seed=int(row["seed"]),
                     coin_seed=int(row["coin_seed"]))
    assert again.successes == int(row["successes"])
    with pytest.raises(ValueError, match="cannot resume"):
        run_sweep(cells, out, sealed=True, resume=True)


def test_sealed_sweeps_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "s.csv"
    args = ["sweep", "--n", "64", "--budgets", "0,32", "--algorithms", "prefix", "--trials", "200", "--sealed",
            "--out", str(out)]
    assert run_cli(args, capsys)[0] == 0
    assert run_cli(args, capsys)[0] == 0  # a second sealed run draws other seeds: new cells, nothing refused
    seeds = {r["seed"] for r in csv.DictReader(out.open())}
    assert len(seeds) == 2
    code, _, err = run_cli(args + ["--resume"], capsys)
    assert code == 2 and "cannot resume" in err
    code, _, err = run_cli(["sweep", "--n", "64", "--budgets", "4", "--seed", str(SEED_LIMIT), "--out",
                            str(tmp_path / "x.csv")], capsys)
    assert code == 2 and "2^62" in err


# --- params, object mode, globals, foreign calls, names ------------------------------------------------------------
@njit
def _params_writer(state, token, t, params, coins):
    if t == 1:
        params[params.shape[0] - 1] = token


def test_writing_the_params_fails_to_compile():
    alg = plain(name="params-writer", step=_params_writer,
                plan=lambda task, b, c: np.array([task.n, b, 0]))
    task = make_task("index", 8)
    with pytest.raises(BudgetViolation, match="read-only"):
        run_tokens(alg, task, task.batch(0, 0, 4).tokens, 1, coins_for(0))


@njit
def _objmode_step(state, token, t, params, coins):
    with numba.objmode():
        pass


SCRATCH = np.zeros(64, dtype=np.int64)


@njit
def _global_array_step(state, token, t, params, coins):
    SCRATCH[t % 64] = token


def _python_step(state, token, t, params, coins):
    pass


@njit
def _pointer_step(state, token, t, params, coins):
    a = numba.carray(state.ctypes.data, 1)
    a[0] = 0


@pytest.mark.parametrize("step,why", [(_objmode_step, "object mode"), (_global_array_step, "writable"),
                                      (_python_step, "not numba-compiled"), (_pointer_step, "pointer")])
def test_unsealed_steps_are_refused_at_registration_and_by_the_engine(step, why):
    alg = plain(name="unsealed", step=step)
    with pytest.raises(ContractError, match=why):
        register(alg)
    assert ("index", "unsealed") not in REGISTRY
    task = make_task("index", 8)
    with pytest.raises(ContractError, match=why):
        run_tokens(alg, task, task.batch(0, 0, 4).tokens, 4, coins_for(0))


def test_names_and_tasks_are_checked(registered):
    registered(plain(name="once", step=get_algorithm("index", "prefix").step))
    with pytest.raises(ContractError, match="already registered"):
        register(plain(name="once", step=get_algorithm("index", "prefix").step))
    for bad in ("", "a,b", "all"):
        with pytest.raises(ContractError):
            register(plain(name=bad, step=get_algorithm("index", "prefix").step))
    with pytest.raises(ContractError, match="unknown task"):
        register(plain(name="x", task="nosuch", step=get_algorithm("index", "prefix").step))


@njit
def _answer_one(state, token, t, params, coins):
    if t == params[0] + 1:
        store_answer(state, 1, params[1])


@njit
def _answer_zero(state, token, t, params, coins):
    if t == params[0] + 1:
        store_answer(state, 0, params[1])


def test_two_algorithms_with_one_name_never_share_a_runner():
    task = make_task("index", 8)
    tokens = task.batch(0, 0, 20).tokens
    one, _ = run_tokens(plain(name="same", step=_answer_one), task, tokens, 2, coins_for(0))
    zero, _ = run_tokens(plain(name="same", step=_answer_zero), task, tokens, 2, coins_for(0))
    assert np.all(one == 1) and np.all(zero == 0)


# --- debug mode: past the array, past the declared memory -----------------------------------------------------------
@njit
def _past_the_array(state, token, t, params, coins):
    if t == 1:
        state[state.shape[0]] = np.uint64(1)  # one word past the state


@njit
def _high_bit(state, token, t, params, coins):
    if t == 1:
        set_bit(state, 3, 1)
    elif t == params[0] + 1:
        store_answer(state, get_bit(state, 3), params[1])


def test_debug_catches_writes_past_the_state_and_past_the_declared_memory():
    task = make_task("index", 8)
    tokens = task.batch(0, 0, 10).tokens
    with pytest.raises(BudgetViolation, match="past"):
        run_tokens(plain(name="overrun", step=_past_the_array), task, tokens, 64, coins_for(0), debug=True)
    liar = plain(name="liar", step=_high_bit, used_bits=lambda task, b: 1)
    with pytest.raises(BudgetViolation, match="used_bits declares"):
        run_tokens(liar, task, tokens, 8, coins_for(0), debug=True)
    honest = plain(name="honest", step=_high_bit, used_bits=lambda task, b: 4)
    out, _ = run_tokens(honest, task, tokens, 8, coins_for(0), debug=True)
    assert np.all(out == 1)


# --- the plugin door ------------------------------------------------------------------------------------------------
def readme_plugin() -> str:
    text = README.read_text()
    section = text[text.index("## Writing your own algorithm"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_plugin_runs_as_written_and_never_loses_to_countmin(tmp_path, capsys):
    plugin = tmp_path / "cu_countmin.py"
    plugin.write_text(readme_plugin())
    out = tmp_path / "cu.csv"
    code, _, err = run_cli(["sweep", "--plugin", str(plugin), "--task", "counting", "--distribution", "natural",
                            "--alphabet", "32", "--threshold", "7", "--n", "256", "--budgets", "0:160:40",
                            "--algorithms", "cu-countmin,countmin", "--trials", "300", "--debug", "--strict",
                            "--out", str(out)], capsys)
    assert code == 0, err
    rows = list(csv.DictReader(out.open()))
    assert {r["reader"] for r in rows} == {"cu-countmin", "countmin"} and all(r["audit"] for r in rows)
    task = make_task("counting", 256, "natural", alphabet=32, threshold=7)
    batch = task.batch(0, 0, 2000)
    for b in (40, 80, 120):
        cu, _ = run_tokens(get_algorithm("counting", "cu-countmin"), task, batch.tokens, b, coins_for(0),
                           debug=True)
        cm, _ = run_tokens(get_algorithm("counting", "countmin"), task, batch.tokens, b, coins_for(0))
        assert np.all((cu == batch.answers) | (cm != batch.answers))  # right wherever Count-Min is right
    code, text, _ = run_cli(["algorithms", "--plugin", str(plugin), "--task", "counting", "--n", "256", "--budget",
                             "80"], capsys)
    assert code == 0 and "cu-countmin" in text and "uses 80 bits" in text
    code, text, _ = run_cli(["adversary", "--plugin", str(plugin), "--task", "counting", "--algorithm",
                             "cu-countmin", "--n", "64", "--budget", "12", "--out", str(tmp_path / "w.json")],
                            capsys)
    assert code == 0 and "answered wrongly" in text
    assert run_cli(["replay", "--plugin", str(plugin), str(tmp_path / "w.json")], capsys)[0] == 0
    code, text, _ = run_cli(["exact", "--plugin", str(plugin), "--task", "counting", "--m", "5", "--bits", "4"],
                            capsys)
    assert code == 0 and "cu-countmin" in text


BROKEN = {
    "syntax.py": ("def plan(:\n", "SyntaxError"),
    "raises.py": ("raise RuntimeError('boom')\n", "boom"),
    "nothing.py": ("x = 1\n", "registers no algorithm"),
    "uncompiled.py": (textwrap.dedent("""
        import numpy as np
        from streaming.algorithms import Algorithm, register
        from streaming.bits import read_answer
        def step(state, token, t, params, coins):
            pass
        register(Algorithm(name="slow", task="index", summary="", memory="", step=step, output=read_answer,
                           plan=lambda task, b, c: np.array([task.n, b]), used_bits=lambda task, b: 0))
        """), "not numba-compiled"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_plugin_is_one_line_naming_the_file(name, tmp_path, capsys):
    source, message = BROKEN[name]
    plugin = tmp_path / name
    plugin.write_text(source)
    code, _, err = run_cli(["algorithms", "--plugin", str(plugin)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and message in err and name in err
    code, _, err = run_cli(["algorithms", "--plugin", str(tmp_path / "missing.py")], capsys)
    assert code == 2 and "no such plugin file" in err


# --- replay recomputes every field; training never shares a seed with evaluation ----------------------------------
@pytest.mark.parametrize("field,value", [("correct", [9, 9]), ("stream", "<s> 1 1 1"), ("method", "single-bit"),
                                         ("coins", "12345"), ("k", 1)])
def test_replay_refuses_any_edited_field(field, value, tmp_path, capsys):
    from streaming.adversary import find_witness

    w = find_witness(get_algorithm("index", "blockcode"), make_task("index", 32), 8, seed=3,
                     single_bit=False).witness
    if w.get(field) == value:
        pytest.skip("the edit would change nothing")
    w[field] = value
    path = tmp_path / "w.json"
    path.write_text(json.dumps(w))
    code, _, err = run_cli(["replay", str(path)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_training_streams_live_in_their_own_seed_domain():
    pytest.importorskip("torch")
    from streaming.neural.train import training_seed

    seeds = {training_seed(s, step) for s in range(3) for step in range(2000)}
    assert len(seeds) == 6000 and min(seeds) >= SEED_LIMIT  # evaluation seeds are all below SEED_LIMIT
    task = make_task("index", 16)
    train_batch = task.batch(training_seed(0, 0), 0, 64)
    assert not any(np.array_equal(train_batch.tokens, task.batch(s, 0, 64).tokens) for s in range(50))
    from streaming.neural.train import evaluate

    with pytest.raises(ValueError, match="2\\^62"):
        evaluate(None, task, 10, training_seed(0, 0))


def test_installed_entry_points_register_algorithms(monkeypatch, capsys):
    """A package's `streambound.algorithms` entry point is loaded by every command; a broken one is one line."""
    import streaming.plugins as plugins

    class EntryPoint:
        def __init__(self, name, load):
            self.name, self.value, self.load = name, f"pkg:{name}", load

    def good():
        register(plain(name="from-a-package", step=get_algorithm("index", "prefix").step))

    def bad():
        raise ImportError("no module named pkg")

    try:
        monkeypatch.setattr(plugins, "entry_points", lambda group: [EntryPoint("good", good)])
        code, out, _ = run_cli(["algorithms", "--task", "index"], capsys)
        assert code == 0 and "from-a-package" in out
        monkeypatch.setattr(plugins, "entry_points", lambda group: [EntryPoint("bad", bad)])
        code, _, err = run_cli(["algorithms"], capsys)
        assert code == 2 and "entry point bad" in err and len(err.strip().splitlines()) == 1
    finally:
        REGISTRY.pop(("index", "from-a-package"), None)
        plugins._LOADED.pop("entry point good (pkg:good)", None)
