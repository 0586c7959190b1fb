import itertools
from fractions import Fraction

import numpy as np
import pytest

from commcomplexity.stats import clopper_pearson
from streaming.algorithms import get_algorithm
from streaming.algorithms.trellis import TRELLIS_EFFORTS, trellis_layout, peak_bits, schedule
from streaming.engine import coins_for, cut_states, run_cell, run_tokens
from streaming.rng import draw
from streaming.tasks import make_task
from streaming.tasks.index import encode, solve
from streaming.tokens import NUM0

COINS = coins_for(3)


def taps(j, nu, coins=COINS):
    return (int(draw(np.uint64(coins), 0, j, 77)) & ((1 << (nu + 1)) - 1)) | 1


def reconstruct(message, n, big_b, nu, coins=COINS):
    """x-hat from the message bits, computed in plain Python."""
    out = []
    for j in range(n):
        s = j * big_b // n
        reg = sum(message[s - i] << i for i in range(nu + 1) if s - i >= 0)
        out.append(bin(taps(j, nu, coins) & reg).count("1") & 1)
    return np.array(out)


def message_of(state, big_b):
    bits = []
    for s in range(big_b):
        bits.append((int(state[s // 64]) >> (s % 64)) & 1)
    return bits


@pytest.mark.parametrize("n,b,name", [(40, 20, "trellis-fast"), (64, 30, "trellis"), (100, 71, "trellis-fast")])
def test_decoder_reproduces_the_encoders_codeword(n, b, name):
    alg = get_algorithm("index", name)
    nu = TRELLIS_EFFORTS[name][0]
    big_b, _ = trellis_layout(n, b, TRELLIS_EFFORTS[name][1])
    task = make_task("index", n)
    batch = task.batch(1, 0, 30)
    states = cut_states(alg, task, batch.tokens[:, : n + 1], b, COINS)
    for i in range(30):
        xhat = reconstruct(message_of(states[i], big_b), n, big_b, nu)
        x = batch.tokens[i, 1 : n + 1] - NUM0
        # the engine's answer to every query is the reconstruction
        tokens = encode(np.repeat(x[None], n, 0), np.arange(1, n + 1))
        outputs, _ = run_tokens(alg, task, tokens, b, COINS, debug=True)
        assert np.array_equal(outputs, xhat)


def test_viterbi_is_optimal_within_one_block():
    """One block (budget n so the whole input fits): the distortion equals the brute-force minimum."""
    alg = get_algorithm("index", "trellis-fast")
    n, big_b, nu = 10, 5, 6
    params = np.array([n, n, big_b, nu, 1, 0, big_b], dtype=np.int64)
    xs = np.array(list(itertools.product((0, 1), repeat=n)))
    messages = list(itertools.product((0, 1), repeat=big_b))
    recon = np.array([reconstruct(list(m), n, big_b, nu) for m in messages])
    best = (xs[:, None, :] != recon[None]).sum(2).min(1)
    prefixes = encode(xs, np.ones(len(xs), dtype=int))[:, : n + 1]
    states = cut_states(alg, make_task("index", n), prefixes, n, COINS, params=params)
    got = np.array([(reconstruct(message_of(s, big_b), n, big_b, nu) != x).sum() for s, x in zip(states, xs)])
    assert np.array_equal(got, best)


@pytest.mark.parametrize("name", sorted(TRELLIS_EFFORTS))
def test_exact_at_full_budget(name):
    n = 8
    alg = get_algorithm("index", name)
    xs = np.array(list(itertools.product((0, 1), repeat=n)))
    x = np.repeat(xs, n, 0)
    k = np.tile(np.arange(1, n + 1), len(xs))
    tokens = encode(x, k)
    outputs, _ = run_tokens(alg, make_task("index", n), tokens, n, COINS, debug=True)
    assert Fraction(int((outputs == solve(tokens)).sum()), len(k)) == 1


def test_schedule_keeps_the_every_step_budget():
    for n in (50, 333, 1024):
        for b in range(1, n + 1, max(1, n // 37)):
            big_b, bounds = trellis_layout(n, b, 1)
            if big_b == 0:
                continue
            assert bounds[0] == 0 and bounds[-1] == big_b and list(bounds) == sorted(set(bounds))
            assert peak_bits(n, big_b, bounds) <= b and big_b <= b
            # the greedy schedule fails for one more message bit (B is the largest feasible)
            if big_b < min(n, b):
                assert schedule(n, b, big_b + 1, 1) is None


def test_trellis_beats_blockcode_and_respects_the_bound():
    """Over three draws of the public coins (the codes are random): the trellis coder beats blockcode in total, and
    a bound is a bound: every measured success may exceed it only within its confidence interval."""
    task = make_task("index", 512)
    for b in (128, 256, 400):
        trellis = [run_cell(get_algorithm("index", "trellis"), task, b, 3000, 5, debug=True, coin_seed=c)
                   for c in range(3)]
        block = [run_cell(get_algorithm("index", "blockcode"), task, b, 3000, 5, coin_seed=c) for c in range(3)]
        bound = float(task.bounds([b])["bound"][0])
        assert sum(r.successes for r in trellis) > sum(r.successes for r in block), b
        assert all(clopper_pearson(r.successes, r.trials)[0] <= bound for r in trellis)
