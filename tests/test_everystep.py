"""The every-step frontier (commcomplexity.everystep): the search against a brute force over every machine and an
independent dynamic program, every optimal machine re-simulated, the pruning bound against exact completions,
the one-way optimum above it, the audit's check, and the command."""
from fractions import Fraction

import numpy as np
import pytest

from commcomplexity.bounds import sphere_success
from commcomplexity import everystep
from commcomplexity.everystep import (KNOWN_SCORES, MAX_M, assignment_bound, brute_force_every_step, completion_bound,
                                      describe, dynamic_program_every_step, every_step_optimum, every_step_success,
                                      best_completion, simulate)
from commcomplexity.protocols import brute_force_optimum, optimal_protocol
from commcomplexity.stats import AUDIT_OK, AUDIT_VIOLATION, audit
from tests.conftest import run_cli


@pytest.mark.parametrize("m", range(1, 7))
def test_b1_matches_brute_force_and_the_dynamic_program(m):
    opt = every_step_optimum(m, 1)
    assert opt.success == brute_force_every_step(m, 1) == dynamic_program_every_step(m, 1)


@pytest.mark.parametrize("m", range(1, 4))
def test_b2_small_matches_brute_force(m):
    assert every_step_optimum(m, 2).success == brute_force_every_step(m, 2) == dynamic_program_every_step(m, 2)


@pytest.mark.slow
def test_b2_m4_matches_brute_force_and_the_dynamic_program():
    assert every_step_optimum(4, 2).success == brute_force_every_step(4, 2) == dynamic_program_every_step(4, 2) \
        == Fraction(13, 16)


def test_the_strict_gap_at_m3_b1():
    """One bit cannot count: no every-step machine computes maj(x1, x2, x3), and the optimum is 17/24 < 3/4."""
    opt = every_step_optimum(3, 1)
    assert opt.success == Fraction(17, 24) < Fraction(3, 4) == brute_force_optimum(3, 1)


@pytest.mark.parametrize("bits,top", [(0, 8), (1, 16), (2, 6), (3, 4), (5, 6)])
def test_every_optimal_machine_resimulates_and_one_way_dominates(bits, top):
    for m in range(1, top + 1):
        opt = every_step_optimum(m, bits)
        assert simulate(opt.machine) == opt.success == every_step_success(m, bits), (m, bits)
        assert opt.success <= Fraction(sphere_success(m, bits)) + Fraction(1, 10 ** 9)
        if m <= 8 and bits <= m:
            one_way = optimal_protocol(m, bits, time_limit=30)
            assert not one_way.proven or float(opt.success) <= one_way.success + 1e-12, (m, bits)
        lines = describe(opt.machine)
        assert len(lines) >= m and lines[0].startswith("step 1")


def test_the_table_matches_the_search():
    for (m, bits), score in KNOWN_SCORES.items():
        if m <= min(MAX_M[bits], 6 if bits == 2 else 16):  # (7, 2) has a test of its own
            assert every_step_optimum(m, bits).score == score, (m, bits)


@pytest.mark.slow
def test_b2_at_m7_within_minutes():
    """The issue's reach: b = 2 exact at m = 7 (about a minute on 2 cores): the table's value, a real machine that
    reaches it on all 128 inputs, below the one-way optimum's known value and the sphere bound."""
    opt = every_step_optimum(7, 2)
    assert opt.status == "optimal" and opt.score == KNOWN_SCORES[(7, 2)] == 388
    assert simulate(opt.machine) == opt.success == Fraction(321, 448)
    assert float(opt.success) < 0.7277 < float(sphere_success(7, 2))  # the one-way optimum (README's exact table)


def test_coincides_with_one_way_at_b_m_minus_1_and_b0():
    for m in range(2, 8):
        assert every_step_success(m, m - 1) == 1 - Fraction(1, 2 * m)
        assert abs(float(every_step_success(m, m - 1)) - optimal_protocol(m, m - 1).success) < 1e-12
        assert every_step_success(m, 0) == Fraction(1, 2) and every_step_success(m, m) == 1


def _random_states(m, bits, t, count, seed):
    """States a machine reaches at step t: random groupings of the children, each step."""
    rng = np.random.default_rng(seed)
    s = 1 << bits
    for _ in range(count):
        classes = [[0]]
        for step in range(t):
            kids = [[w | (x << step) for w in c] for c in classes for x in (0, 1)]
            lab = rng.integers(0, s, len(kids))
            classes = [sum((kids[i] for i in range(len(kids)) if lab[i] == g), []) for g in range(s)]
            classes = [c for c in classes if c]
        rows = np.zeros((s, t + 1), np.int64)
        for i, c in enumerate(classes):
            v = np.array(c)
            rows[i, 0] = len(v)
            rows[i, 1:] = 2 * ((v[:, None] >> np.arange(t)) & 1).sum(axis=0) - len(v)
        yield rows


@pytest.mark.parametrize("m,bits", [(6, 1), (8, 1), (5, 2)])
def test_the_bound_never_undercuts_an_exact_completion(m, bits):
    for t in range(1, m):
        for rows in _random_states(m, bits, t, 6 if bits == 1 else 3, seed=t):
            exact = best_completion(rows, t, m, bits)
            phi = int(np.abs(rows[:, 1:]).sum())
            tight = assignment_bound(rows, t, m, bits)
            assert phi << (m - t) <= exact <= tight <= completion_bound(phi, t, m, bits), (m, bits, t)


@pytest.mark.parametrize("m,bits,t", [(6, 2, 4), (6, 2, 5), (7, 2, 5), (8, 1, 6)])
def test_the_search_never_prunes_a_state_that_reaches_the_floor(m, bits, t):
    """The search's pruning pass (the assignment bound, after a cheaper one on the three heaviest coordinates) keeps
    every state whose exact best completion reaches the floor, with the floor set at that very value."""
    canon, prune = everystep._kernels().canon, everystep._kernels().prune
    s, width = 1 << bits, m + 2
    _, perms = everystep._tables(bits)
    P, V = everystep._future_table(m - t, bits)
    kept = 0
    for rows in _random_states(m, bits, t, 12, seed=m + t):
        exact = best_completion(rows, t, m, bits)
        key = np.empty(t + 1, np.int64)
        canon(rows, t, perms, width, key)
        for floor in (exact, exact + 1):
            keep = np.empty(1, np.bool_)
            prune(key.reshape(1, -1), t, s, width, P, V, floor, np.int64(1) << (m - t), keep)
            if floor == exact:
                assert keep[0], (m, bits, t, exact)
            kept += bool(keep[0])
    assert kept >= 12  # and the floors above the exact value are what it can prune


@pytest.mark.parametrize("j,bits", [(1, 1), (2, 1), (3, 1), (1, 2), (2, 2), (3, 2)])
def test_the_per_block_future_bound_covers_the_exact_table(j, bits):
    """Past j = 3 the future table is the per-block bound; where both are computed it never undercuts the exact one."""
    exact_p, exact_v = everystep._future_table(j, bits)
    block_p, block_v = everystep._future_table(j, bits, per_block=True)
    exact = {tuple(p): v for p, v in zip(exact_p.tolist(), exact_v.tolist())}
    block = {tuple(p): v for p, v in zip(block_p.tolist(), block_v.tolist())}
    assert set(exact) <= set(block)
    assert all(block[p] >= v for p, v in exact.items())
    assert exact[(1 << j,) + (0,) * ((1 << bits) - 1)] == 0  # one block holding everything learns nothing


def test_the_beam_machine_is_real_and_below_the_optimum():
    for m, bits in [(5, 1), (5, 2), (6, 2)]:
        found, layers = everystep._beam(m, bits, 20)
        machine = everystep._rebuild(m, bits, layers)
        assert simulate(machine) == Fraction(1, 2) + Fraction(found, 2 * m * (1 << m))
        assert found <= every_step_optimum(m, bits).score


def test_b1_conjectured_closed_form_holds_where_computed():
    """ES(m, 1) = (4/3)(2^m - 1) for even m and (2/3)(2^(m+1) - 1) for odd m, m = 1..16 (a conjecture past 16)."""
    for m in range(1, 17):
        score = (4 * ((1 << m) - 1)) // 3 if m % 2 == 0 else (2 * ((1 << (m + 1)) - 1)) // 3
        assert every_step_optimum(m, 1).score == score, m


def test_refuses_out_of_range():
    with pytest.raises(ValueError):
        every_step_optimum(6, 3)
    with pytest.raises(ValueError):
        every_step_optimum(MAX_M[2] + 2, 2)
    with pytest.raises(ValueError):
        brute_force_every_step(7, 1)


def test_command(capsys):
    code, out, _ = run_cli(["exact", "--task", "index", "--m", "3", "--bits", "1", "--every-step"], capsys)
    assert code == 0 and "17/24 = 0.708333" in out and "one-way optimum           0.750000" in out
    assert "final state" in out and "step 3 (reads x_3)" in out and "re-simulated on all 2^3 inputs: 17/24" in out
    code, _, err = run_cli(["exact", "--task", "index", "--m", "6", "--bits", "2", "--every-step", "--time-limit",
                            "0.01"], capsys)
    assert code == 1 and "passed its 0.01 s limit" in err and len(err.strip().splitlines()) == 1
    for bad in (["--m", "6", "--bits", "3"], ["--m", "9", "--bits", "2"], ["--m", "4", "--bits", "1", "--task",
                                                                            "recall"],
                ["--m", "4", "--bits", "1", "--time-limit", "-1"]):
        code, _, err = run_cli(["exact", "--every-step"] + bad, capsys)
        assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_audit_flags_a_row_above_the_every_step_optimum():
    """A cheating reader at m = 3, b = 1 that answers 3/4 of 30,000 queries: within the one-way bound (0.75) but
    above the every-step optimum 17/24, so the audit against the every-step value flags it."""
    from streaming.sweep import make_row
    from streaming.tasks import make_task

    task = make_task("index", 3)
    row = make_row(task, "prefix", 1, 1, 22_500, 30_000, 0, 0.0, cells=1)  # a row claiming prefix did this
    assert float(row["bound"]) == 0.75 and row["audit"] == AUDIT_VIOLATION
    honest = make_row(task, "prefix", 1, 1, 21_200, 30_000, 0, 0.0, cells=1)  # 0.7067 < 17/24
    assert honest["audit"] == AUDIT_OK
    model = make_row(task, "lstm:probe@1", 1, 1, 22_500, 30_000, 0, 0.0, cells=1)  # rounded at the cut only
    assert model["audit"] == AUDIT_OK
    assert audit(22_500, 30_000, float(every_step_success(3, 1)), 1) == AUDIT_VIOLATION


def test_real_sweeps_at_small_m_pass_the_every_step_audit():
    from streaming.sweep import plan_cells, run_cells

    cells = plan_cells("index", [3, 5, 7, 8], "prefix,majority,subset,blockcode,trellis", 4000, 0,
                       budgets=[0, 1, 2])
    rows = list(run_cells(cells))
    assert rows and all(r["audit"] == AUDIT_OK for r in rows), [r for r in rows if r["audit"] != AUDIT_OK]


def test_registered_algorithms_never_beat_the_every_step_optimum():
    """Every registered Index algorithm is an every-step machine: its exact success (every x, every k) is at most
    the every-step optimum wherever that is known."""
    from streaming.algorithms import algorithms_for
    from streaming.engine import coins_for
    from streaming.exact import exact_success
    from streaming.tasks import make_task

    for m in (3, 4, 5, 6, 7):
        for bits in (1, 2):
            frontier = every_step_success(m, bits)
            for alg in algorithms_for("index"):
                got = exact_success(alg, make_task("index", m), bits, coins_for(0))
                assert got <= frontier, (alg.name, m, bits, got, frontier)
