import json
from fractions import Fraction

import pytest

from cli.main import main
from commcomplexity.bounds import sphere_success
from commcomplexity.protocols import brute_force_optimum, local_search, optimal_protocol
from commcomplexity.stats import clopper_pearson
from streaming.adversary import WitnessError, find_witness, replay
from streaming.algorithms import REGISTRY, algorithms_for, get_algorithm
from streaming.engine import coins_for, run_cell
from streaming.exact import exact_success
from streaming.tasks import TASKS, make_task


def index(n):
    return make_task("index", n)

ALGORITHMS = algorithms_for("index")


@pytest.mark.parametrize("alg", ALGORITHMS, ids=lambda a: a.name)
@pytest.mark.parametrize("budget", [3, 9])
def test_certified_search_finds_a_witness_replay_confirms(alg, budget, tmp_path):
    result = find_witness(alg, index(24), budget, seed=1, single_bit=False)
    assert result.method == "certified" and result.witness is not None
    w = result.witness
    assert w["x"] != w["x_prime"] and w["x"][w["k"] - 1] != w["x_prime"][w["k"] - 1]
    assert w["answer"] in w["correct"] and w["correct"][0] != w["correct"][1]
    path = tmp_path / "w.json"
    path.write_text(json.dumps(w))
    summary = replay(path)
    assert summary["state"] == w["state"] and summary["answer"] == w["answer"]


def test_single_bit_pass_and_exhaustive_no_witness_for_exact_algorithms():
    prefix = get_algorithm("index", "prefix")
    assert find_witness(prefix, index(30), 10, seed=0).method == "single-bit"
    for alg in ALGORITHMS:
        for n in (6, 10):
            result = find_witness(alg, index(n), n, seed=2)
            assert result.witness is None and "no witness exists" in result.message


def test_birthday_search_gives_up_honestly():
    alg = get_algorithm("index", "prefix")
    # b = 58 < m = 60, past the certified range (the single-bit pass skipped): prefix keeps the first 58 bits, so a
    # birthday search over random parts would need about 2^29 of them
    result = find_witness(alg, index(60), 58, seed=0, time_limit=0.5, certified_max_bits=4, single_bit=False)
    assert result.witness is None and "gave up" in result.message


def tamper(path, **changes):
    data = json.loads(path.read_text())
    data.update(changes)
    out = path.with_name("t.json")
    out.write_text(json.dumps(data))
    return out


def test_replay_rejects_tampered_and_foreign_files(tmp_path, capsys):
    w = find_witness(get_algorithm("index", "blockcode"), index(32), 8, seed=3).witness
    good = tmp_path / "w.json"
    good.write_text(json.dumps(w))
    flipped = "".join("1" if c == "0" else "0" for c in w["x"])
    bad_files = [
        tamper(good, answer=1 - w["answer"]),
        tamper(good, x_prime=w["x"]),
        tamper(good, x=flipped),
        tamper(good, algorithm="nosuch"),
        tamper(good, n="many"),
        tamper(good, format="something-else"),
        tamper(good, state="00" + w["state"][2:] if not w["state"].startswith("00") else "ff" + w["state"][2:]),
    ]
    foreign = tmp_path / "foreign.json"
    foreign.write_text("[1, 2, 3]")
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\x00\xff not json")
    for path in bad_files[:1]:
        with pytest.raises(WitnessError):
            replay(path)
    for path in bad_files + [foreign, garbage, tmp_path / "missing.json"]:
        with pytest.raises(SystemExit) as exc:
            main(["replay", str(path)])
        err = capsys.readouterr().err
        assert exc.value.code == 2 and len(err.strip().splitlines()) == 1, (path, err)
    with pytest.raises(SystemExit) as exc:
        main(["replay", str(good)])
    assert exc.value.code == 0 and "confirmed" in capsys.readouterr().out


def test_adversary_command_writes_a_witness(tmp_path, capsys):
    out = tmp_path / "w.json"
    with pytest.raises(SystemExit) as exc:
        main(["adversary", "--algorithm", "trellis", "--n", "64", "--budget", "20", "--out", str(out)])
    text = capsys.readouterr().out
    assert exc.value.code == 0 and "answered wrongly" in text and "shared state" in text
    assert json.loads(out.read_text())["budget"] == 20


# --- exact analysis ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("m", [1, 2, 3])
def test_optimum_equals_brute_force_over_partitions(m):
    for bits in range(0, m + 1):
        opt = optimal_protocol(m, bits)
        assert opt.proven
        assert abs(opt.success - float(brute_force_optimum(m, bits))) < 1e-12


PERFECT = [(3, 1), (4, 1), (4, 2), (5, 1), (5, 2), (6, 1), (6, 2)]


@pytest.mark.parametrize("m,bits", PERFECT)
def test_optimum_meets_the_sphere_bound_where_perfect(m, bits):
    opt = optimal_protocol(m, bits)
    assert opt.proven and abs(opt.success - sphere_success(m, bits)) < 1e-9


def test_optimum_below_sphere_at_7_2_and_never_above():
    opt = optimal_protocol(7, 2)
    assert opt.proven and round(opt.success, 4) == 0.7277 and round(float(sphere_success(7, 2)), 4) == 0.7411
    for m in (4, 5, 6):
        for bits in range(m + 1):
            assert optimal_protocol(m, bits).success <= sphere_success(m, bits) + 1e-9


def test_local_search_is_a_lower_estimate():
    for m, bits in [(5, 2), (6, 3), (7, 2)]:
        assert local_search(m, bits).success <= optimal_protocol(m, bits).success + 1e-12


@pytest.mark.parametrize("m", [3, 5, 6])
def test_enumeration_matches_closed_form_and_optimum_dominates(m):
    coins = coins_for(0)
    for bits in range(m + 1):
        assert exact_success(get_algorithm("index", "prefix"), index(m), bits, coins) == \
            Fraction(1, 2) + Fraction(bits, 2 * m)
        opt = optimal_protocol(m, bits).success
        for alg in ALGORITHMS:
            assert float(exact_success(alg, index(m), bits, coins)) <= opt + 1e-12, (alg.name, m, bits)


def test_monte_carlo_falls_inside_its_interval_of_the_exact_value():
    m, bits = 12, 6
    task = make_task("index", m)
    for alg in ALGORITHMS:
        exact = float(exact_success(alg, task, bits, coins_for(0)))
        res = run_cell(alg, task, bits, 20000, seed=0)
        lo, hi = clopper_pearson(res.successes, res.trials, confidence=0.999)
        assert lo <= exact <= hi, (alg.name, exact, lo, hi)


def test_exact_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["exact", "--task", "index", "--m", "6", "--bits", "2"])
    out = capsys.readouterr().out
    assert exc.value.code == 0
    line = next(l for l in out.splitlines() if "optimal one-way protocol" in l)
    assert "0.750000" in line and "optimal" in line
    for name in ("sphere", "fano", "prefix", "trellis"):
        assert name in out
    for bad in (["exact", "--m", "0", "--bits", "1"], ["exact", "--m", "20", "--bits", "1"],
                ["exact", "--m", "4", "--bits", "x"], ["adversary", "--algorithm", "nosuch", "--n", "8",
                                                        "--budget", "2"]):
        with pytest.raises(SystemExit) as exc:
            main(bad)
        assert exc.value.code == 2 and len(capsys.readouterr().err.strip().splitlines()) == 1


@pytest.mark.parametrize("key", sorted(k for k in REGISTRY if k[0] != "index"))
def test_witness_for_every_algorithm_of_every_task(key, tmp_path):
    task_name, name = key
    task = make_task(task_name, TASKS[task_name].size_for(11))
    alg = get_algorithm(task_name, name)
    budget = 5
    result = find_witness(alg, task, budget, seed=0, single_bit=False)
    assert result.witness is not None and result.method == "certified"
    path = tmp_path / "w.json"
    path.write_text(json.dumps(result.witness))
    summary = replay(path)
    assert summary["correct"][0] != summary["correct"][1] and summary["answer"] == result.witness["answer"]
    if task_name == "istree":
        assert "~" in result.witness["stream"]  # two edge lists and Bob's edge


def test_istree_exact_enumeration_and_monte_carlo():
    m = 10
    task = make_task("istree", m + 3)
    for name in ("star-blockcode", "unionfind", "partial-unionfind"):
        alg = get_algorithm("istree", name)
        for bits in (4, 60):
            exact = float(exact_success(alg, task, bits, coins_for(0)))
            res = run_cell(alg, task, bits, 20000, seed=0)
            lo, hi = clopper_pearson(res.successes, res.trials, confidence=0.999)
            assert lo <= exact <= hi, (name, bits, exact, lo, hi)


def test_no_search_when_the_state_can_hold_everything(capsys):
    """b >= m beyond the enumerable sizes: said at once, not a birthday search run to its time limit."""
    result = find_witness(get_algorithm("index", "prefix"), index(64), 99999, seed=0, time_limit=30)
    assert result.witness is None and result.method == "skipped" and result.seconds < 5
    with pytest.raises(SystemExit) as exc:
        main(["adversary", "--algorithm", "prefix", "--n", "64", "--budget", "64"])
    assert exc.value.code == 0 and "need not exist" in capsys.readouterr().out
