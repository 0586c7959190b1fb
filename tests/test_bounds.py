import itertools
import math

import numpy as np
import pytest
from scipy.optimize import brentq

from commcomplexity.bounds import (
    fano_alphabet_success, fano_bits, fano_success, fewest_bits, index_bounds, random_code_success,
    sphere_success,
)
from commcomplexity.info import binary_entropy, fano_min_error, inverse_binary_entropy


def test_inverse_entropy_round_trip():
    p = np.linspace(0, 0.5, 501)
    assert np.max(np.abs(inverse_binary_entropy(binary_entropy(p)) - p)) < 1e-9
    y = np.linspace(0, 1, 301)
    assert np.max(np.abs(binary_entropy(inverse_binary_entropy(y)) - y)) < 1e-12


def test_entropy_rejects_bad_values():
    with pytest.raises(ValueError):
        binary_entropy(1.5)
    with pytest.raises(ValueError):
        inverse_binary_entropy(-0.2)


@pytest.mark.parametrize("m", [8, 64, 1000])
def test_fano_matches_root_finding(m):
    for b in range(0, m, max(1, m // 13)):
        y = 1 - b / m
        if y <= 0:
            continue
        d = brentq(lambda p: -p * math.log2(p) - (1 - p) * math.log2(1 - p) - y, 1e-300, 0.5, xtol=1e-15) \
            if y < 1 else 0.5
        assert abs(fano_success(m, b) - (1 - d)) < 1e-11


def test_fano_bits_index_1024():
    assert fano_bits(1024, 0.9) == 544
    assert fewest_bits(fano_success, 1024, 0.9) == 544
    assert fano_bits(1024, 0.5) == 0


def sphere_brute(n: int, b: int) -> float:
    """1 - (sum of the N smallest Hamming weights among all 2^n words) / (n N), N = 2^(n-b)."""
    if b >= n:
        return 1.0
    weights = np.sort([bin(v).count("1") for v in range(1 << n)])
    big_n = 1 << (n - b)
    return 1 - weights[:big_n].sum() / (n * big_n)


@pytest.mark.parametrize("n", range(1, 13))
def test_sphere_bound_against_smallest_weights(n):
    for b in range(0, n + 2):
        assert abs(sphere_success(n, b) - sphere_brute(n, b)) < 1e-10, (n, b)


def best_success_by_enumeration(n, decode):
    """Average success of answering Index with decode(encode(x)) where encode is nearest-codeword."""
    words = np.array(list(itertools.product((0, 1), repeat=n)))
    return float(np.mean(decode(words) == words))


def test_sphere_met_by_majority_and_hamming_code():
    # n = 3, b = 1: majority of the three bits, repeated
    maj = best_success_by_enumeration(3, lambda w: np.repeat((w.sum(1) >= 2)[:, None], 3, 1).astype(int))
    assert maj == 0.75 == sphere_success(3, 1)
    # n = 7, b = 4: the Hamming(7,4) code, decoding to the nearest codeword
    gen = np.array([[1, 0, 0, 0, 1, 1, 0], [0, 1, 0, 0, 1, 0, 1], [0, 0, 1, 0, 0, 1, 1], [0, 0, 0, 1, 1, 1, 1]])
    code = np.array([(np.array(m) @ gen) % 2 for m in itertools.product((0, 1), repeat=4)])

    def nearest(w):
        d = (w[:, None, :] != code[None, :, :]).sum(2)
        return code[d.argmin(1)]

    ham = best_success_by_enumeration(7, nearest)
    assert ham == 0.875
    assert abs(sphere_success(7, 4) - 0.875) < 1e-12


def test_sphere_below_fano_and_quoted_values():
    for m in (5, 64, 300, 4096):
        b = np.arange(0, m + 1, max(1, m // 50))
        assert np.all(sphere_success(m, b) <= fano_success(m, b) + 1e-10)
    assert round(sphere_success(64, 32), 4) == 0.8779
    assert round(fano_success(64, 32), 4) == 0.8900


def test_random_code_formula_against_simulation():
    m, b = 8, 3
    words = np.array(list(itertools.product((0, 1), repeat=m)))
    rng = np.random.default_rng(0)
    dists = []
    for _ in range(3000):
        code = rng.integers(0, 2, size=(1 << b, m))
        dists.append((words[:, None, :] != code[None]).sum(2).min(1).mean())
    simulated = 1 - np.mean(dists) / m
    stderr = np.std(dists) / m / math.sqrt(len(dists))
    assert abs(simulated - random_code_success(m, b)) < 4 * stderr + 1e-4


def test_band_ordering_and_large_n():
    for m in (16, 256, 1024):
        b = np.arange(0, m + 1, max(1, m // 32))
        assert np.all(random_code_success(m, b) <= sphere_success(m, b) + 1e-12)
    b = np.array([0, 1000, 500000, 999999, 10**6])
    s = sphere_success(10**6, b)
    r = random_code_success(10**6, b)
    assert np.all(np.isfinite(s)) and np.all(np.diff(s) > 0) and s[-1] == 1.0
    assert np.all(r <= s + 1e-9) and abs(s[2] - r[2]) < 1e-5


def test_alphabet_fano_reduces_to_binary():
    m = 100
    b = np.arange(0, 101, 10)
    assert np.allclose(fano_alphabet_success(m, b, 2), fano_success(m, b), atol=1e-11)
    # larger alphabets need more bits for the same success
    assert np.all(fano_alphabet_success(m, b[1:-1] * 3, 8) <= 1)
    assert fano_min_error(0.0, 5) == 0.0


def test_index_bounds_tightest_and_biased():
    out = index_bounds(64, [0, 16, 32, 64])
    assert np.allclose(out["bound"], np.minimum(out["fano"], out["sphere"]))
    biased = index_bounds(64, [0, 32], entropy_per_bit=float(binary_entropy(0.25)))
    assert abs(biased["bound"][0] - 0.75) < 1e-9  # with no bits, guessing the likelier value
    assert np.isnan(biased["sphere"]).all()


def test_fewest_bits_searches_past_m_when_the_curve_needs_it():
    from commcomplexity.bounds import permutation_success

    def curve(_m, b):
        return permutation_success(32, b)  # IsTree on N = 64: m = 61 Index bits, but the bound needs more

    need = fewest_bits(curve, 61, 0.99)
    assert need > 61 and curve(61, need) >= 0.99 > curve(61, need - 1)


def test_the_exact_cases_are_exact():
    """b = 0 (one message: success exactly 1/2) and b >= m (exactly 1), so `bound --bits 0` names no false winner."""
    from commcomplexity.bounds import fano_success, random_code_success, sphere_success

    for m in (1, 7, 64, 1000):
        assert sphere_success(m, 0) == random_code_success(m, 0) == fano_success(m, 0) == 0.5
        assert sphere_success(m, m) == random_code_success(m, m + 3) == fano_success(m, m) == 1.0
