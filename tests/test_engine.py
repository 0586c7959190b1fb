from fractions import Fraction

import numpy as np
import pytest
from numba import njit

from streaming.algorithms import algorithms_for, get_algorithm
from streaming.algorithms.blockcode import HEADER
from streaming.algorithms.index import binomial_mad, majority_layout
from streaming.algorithms.registry import Algorithm
from streaming.bits import get_bit, get_bits, set_bit, set_bits
from streaming.engine import BudgetViolation, coins_for, run_cell, run_tokens, state_words, tail_mask
from streaming.tasks import make_task
from streaming.tasks.index import encode, solve
from streaming.tokens import NUM0

COINS = coins_for(7)


def exact_success(alg, n, b, instances, coins=COINS, debug=True):
    x, k = instances(n)
    tokens = encode(x, k)
    outputs, _ = run_tokens(alg, make_task("index", n), tokens, b, coins, debug=debug)
    return Fraction(int(np.count_nonzero(outputs == solve(tokens))), len(k))


@pytest.mark.parametrize("n", range(1, 7))
def test_prefix_exact_success_closed_form(n, instances):
    alg = get_algorithm("index", "prefix")
    for b in range(0, n + 2):
        assert exact_success(alg, n, b, instances) == Fraction(1, 2) + Fraction(min(b, n), 2 * n)


@pytest.mark.parametrize("n", range(1, 7))
def test_subset_exact_success_any_coins(n, instances):
    alg = get_algorithm("index", "subset")
    for b in range(0, n + 1):
        for seed in (1, 2):
            assert exact_success(alg, n, b, instances, coins=coins_for(seed)) == Fraction(1, 2) + Fraction(b, 2 * n)


@pytest.mark.parametrize("n", range(1, 9))
def test_majority_exact_success_matches_layout(n, instances):
    alg = get_algorithm("index", "majority")
    for b in range(0, n + 1):
        groups, size, _ = majority_layout(n, b)
        expected = 0.5 + groups * float(binomial_mad(size)) / n if groups else 0.5
        assert abs(float(exact_success(alg, n, b, instances)) - expected) < 1e-12, (n, b)


def blockcode_reference(n, b, coins, x, k):
    """The coder's answers computed directly from its plan, without the engine."""
    params = get_algorithm("index", "blockcode").make_params(make_task("index", n), b, coins)
    block, index_bits, groups, raw, count = (int(v) for v in params[2:7])
    words = params[HEADER : HEADER + count]
    out = np.zeros(len(k), dtype=np.int64)
    for i in range(len(k)):
        kk = int(k[i])
        if kk <= groups * block:
            j = (kk - 1) // block
            word = sum(int(x[i, j * block + p]) << p for p in range(block))
            dist = [bin(word ^ int(w)).count("1") for w in words]
            out[i] = (int(words[int(np.argmin(dist))]) >> ((kk - 1) % block)) & 1
        elif kk <= groups * block + raw:
            out[i] = x[i, kk - 1]
    return out


@pytest.mark.parametrize("n,b", [(6, 3), (8, 3), (8, 5), (10, 4), (12, 6), (12, 12), (12, 2), (9, 1)])
def test_blockcode_matches_reference(n, b, instances):
    alg = get_algorithm("index", "blockcode")
    x, k = instances(n)
    outputs, _ = run_tokens(alg, make_task("index", n), encode(x, k), b, COINS, debug=True)
    assert np.array_equal(outputs, blockcode_reference(n, b, COINS, x, k))


def test_blockcode_exact_at_full_budget(instances):
    assert exact_success(get_algorithm("index", "blockcode"), 8, 8, instances) == 1


@pytest.mark.parametrize("n", [5, 40, 300])
def test_every_algorithm_stays_in_budget(n):
    """Debug mode: no algorithm ever sets a bit past b; its declared memory fits the budget."""
    task = make_task("index", n)
    for alg in algorithms_for("index"):
        for b in sorted({0, 1, 2, 3, n // 3, n // 2, n - 1, n, n + 5}):
            assert alg.used_bits(task, b) <= b
            run_cell(alg, task, b, 60, seed=3, debug=True)


# --- cheating algorithms: the engine must not let them gain anything -----------------------------------
@njit
def _cheat_step(state, token, t, params, coins):
    n, b = params[0], params[1]
    if 1 <= t <= n:
        set_bit(state, b + t - 1, token - NUM0)  # every input bit past the budget
    elif t == n + 1:
        k = token - NUM0
        ans = get_bit(state, b + k - 1)
        set_bits(state, 0, 64, 0)
        if b >= 1:
            set_bit(state, 0, ans)


@njit
def _cheat_output(state, params, coins):
    return get_bit(state, 0) if params[1] >= 1 else 0


CHEAT = Algorithm(
    name="cheat-past-budget", task="test", summary="", memory="", plan=lambda task, b, c: np.array([task.n, b]),
    step=_cheat_step, output=_cheat_output, used_bits=lambda task, b: b,
)


@pytest.mark.parametrize("n", [3, 6])
def test_bits_past_the_budget_are_cleared(n, instances):
    for b in (0, 1, 5):
        assert exact_success(CHEAT, n, b, instances, debug=False) == Fraction(1, 2)
        with pytest.raises(BudgetViolation):
            exact_success(CHEAT, n, b, instances, debug=True)


@njit
def _params_step(state, token, t, params, coins):
    if t == 1:
        params[1] = params[1]
        params[params.shape[0] - 1] = token  # smuggles a bit into the params


PARAMS_CHEAT = Algorithm(
    name="cheat-params", task="test", summary="", memory="", plan=lambda task, b, c: np.array([task.n, b, 0]),
    step=_params_step, output=_cheat_output, used_bits=lambda task, b: 0,
)


def test_params_changed_during_a_run_are_caught(instances):
    with pytest.raises(BudgetViolation):
        exact_success(PARAMS_CHEAT, 3, 1, instances, debug=False)


# --- state layout and bit helpers ------------------------------------------------------------------------
def test_state_words_and_mask():
    assert (state_words(0), int(tail_mask(0))) == (1, 0)
    assert (state_words(1), int(tail_mask(1))) == (1, 1)
    assert (state_words(64), int(tail_mask(64))) == (1, (1 << 64) - 1)
    assert (state_words(65), int(tail_mask(65))) == (2, 1)


def test_bit_fields_across_words():
    rng = np.random.default_rng(0)
    for _ in range(500):
        state = rng.integers(0, 2**63, size=3, dtype=np.int64).astype(np.uint64)
        ref = [int(v) for v in state]
        big = ref[0] | (ref[1] << 64) | (ref[2] << 128)
        pos = int(rng.integers(0, 128))
        width = int(rng.integers(1, 65))
        width = min(width, 192 - pos)
        value = int(rng.integers(0, 2**63)) & ((1 << width) - 1)
        assert int(get_bits(state, pos, width)) == (big >> pos) & ((1 << width) - 1)
        set_bits(state, pos, width, np.uint64(value))
        mask = ((1 << width) - 1) << pos
        big = (big & ~mask) | (value << pos)
        assert [int(v) for v in state] == [(big >> (64 * i)) & ((1 << 64) - 1) for i in range(3)]


# --- streams ---------------------------------------------------------------------------------------------
def test_streams_are_reproducible_and_chunk_invariant():
    task = make_task("index", 37)
    whole = task.batch(5, 0, 50)
    part = task.batch(5, 20, 10)
    assert np.array_equal(whole.tokens[20:30], part.tokens)
    assert np.array_equal(whole.answers, solve(whole.tokens))
    chunked = np.concatenate([b.tokens for b in task.chunks(5, 50, max_tokens=39 * 7)])
    assert np.array_equal(chunked, whole.tokens)
    assert not np.array_equal(task.batch(6, 0, 50).tokens, whole.tokens)
    assert whole.cut == 38 and whole.tokens.dtype == np.int32


def test_stream_statistics():
    task = make_task("index", 20)
    batch = task.batch(0, 0, 20000)
    bits = batch.tokens[:, 1:-1] - NUM0
    k = batch.tokens[:, -1] - NUM0
    assert set(np.unique(bits)) == {0, 1} and abs(bits.mean() - 0.5) < 0.005
    counts = np.bincount(k, minlength=21)[1:]
    assert counts.min() > 850 and counts.max() < 1150  # uniform over 1..20 (expected 1000 each)
    biased = make_task("index", 200, "biased", bias=0.1).batch(0, 0, 2000)
    assert abs((biased.tokens[:, 1:-1] - NUM0).mean() - 0.1) < 0.005


def test_bad_task_arguments():
    with pytest.raises(ValueError):
        make_task("index", 0)
    with pytest.raises(ValueError):
        make_task("nope", 5)
    with pytest.raises(ValueError):
        make_task("index", 5, "zipf")
    with pytest.raises(ValueError):
        make_task("index", 5, "biased", bias=1.5)
    with pytest.raises(ValueError):
        list(make_task("index", 5).chunks(0, 0))


@pytest.mark.parametrize("n,b", [(64, 32), (64, 40), (200, 150)])
def test_blockcode_random_codebook_matches_reference(n, b):
    alg = get_algorithm("index", "blockcode")
    task = make_task("index", n)
    assert alg.make_params(task, b, COINS)[3] >= 2  # a random codebook, not the repetition code
    batch = task.batch(4, 0, 3000)
    x = batch.tokens[:, 1 : n + 1] - NUM0
    k = batch.tokens[:, n + 1] - NUM0
    outputs, _ = run_tokens(alg, task, batch.tokens, b, COINS, debug=True)
    assert np.array_equal(outputs, blockcode_reference(n, b, COINS, x, k))
