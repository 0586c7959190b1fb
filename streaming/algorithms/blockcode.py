"""`blockcode`: a lossy block code for Index with a small codebook.

Blocks of L bits are buffered inside the budget; at a block's last bit the block is replaced by the r-bit index
of its nearest codeword (Hamming distance) among 2^r codewords. For r >= 2 the codewords are drawn by the public
coins; for r = 1 the codebook is the repetition code {0^L, 1^L} (the best two-word code), whose nearest codeword
is the block's majority, so its buffer need only count ones. After the G coded blocks, s further bits are
stored raw while budget remains. The nearest-codeword search runs on temporaries inside one ``step`` call,
which the budget contract allows.

Memory: G r + s bits at the cut, and while block j is open j r + w bits, w the open block's buffer (L - 1 bits,
or bitlen(L - 1) for the repetition code's counter), so peak = max(G r + s, (G - 1) r + w) <= b. (L, r, G, s)
are chosen by the plan to maximise the expected success 1/2 + [G L (p(L, r) - 1/2) + s/2] / n, p the
random-codebook success of bounds.py (exact for the repetition code).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit

from commcomplexity.bounds import random_code_success

from ..bits import get_bit, get_bits, popcount, read_answer, set_bit, set_bits, store_answer
from ..tokens import NUM0
from .index import binomial_mad
from .registry import Algorithm, register

MAX_BLOCK = 48
MAX_INDEX_BITS = 10
#: the nearest-codeword search may cost at most this many popcounts per input bit (2^r / L)
MAX_SEARCH_PER_BIT = 64
HEADER = 8


@lru_cache(maxsize=None)
def _code_success(block: int, index_bits: int) -> float:
    if index_bits == 1:
        return 0.5 + float(binomial_mad(block)) / block
    return float(random_code_success(block, index_bits))


def buffer_bits(block: int, index_bits: int) -> int:
    """Bits the open block occupies: its first L - 1 bits, or the repetition code's count of ones."""
    return int(block - 1).bit_length() if index_bits == 1 else block - 1


def blockcode_layout(n: int, b: int):
    """(L, r, G, s, expected success) chosen for (n, b)."""
    best = (1, 1, 0, min(n, b), 0.5 + min(n, b) / (2 * n))  # no blocks: raw bits only (prefix)
    for block in range(2, min(n, MAX_BLOCK) + 1):
        for index_bits in range(1, min(block - 1, MAX_INDEX_BITS) + 1):
            if (1 << index_bits) > MAX_SEARCH_PER_BIT * block:
                break
            p = _code_success(block, index_bits)
            width = buffer_bits(block, index_bits)
            if b < width:
                continue
            g_max = min(n // block, (b - width) // index_bits + 1)
            g_kink = (n - b) // (block - index_bits) if n > b else 0
            for groups in {g_max, max(0, min(g_max, g_kink)), max(0, min(g_max, g_kink + 1))}:
                raw = max(0, min(n - groups * block, b - groups * index_bits))
                success = 0.5 + (groups * block * (p - 0.5) + raw / 2) / n
                if success > best[4] + 1e-12:
                    best = (block, index_bits, groups, raw, success)
    return best


def _codebook(block: int, index_bits: int, coins: int) -> np.ndarray:
    if index_bits == 1:
        return np.array([0, (1 << block) - 1], dtype=np.int64)
    rng = np.random.default_rng([coins, block, index_bits])
    return rng.integers(0, 1 << block, size=1 << index_bits, dtype=np.int64)


def _blockcode_plan(task, b, coins):
    n = task.n
    block, index_bits, groups, raw, _ = blockcode_layout(n, b)
    words = _codebook(block, index_bits, coins) if groups else np.empty(0, dtype=np.int64)
    head = np.array([n, b, block, index_bits, groups, raw, words.size, buffer_bits(block, index_bits)],
                    dtype=np.int64)
    return np.concatenate([head, words])


@njit(cache=True)
def nearest_codeword(word, params, first, count):
    """Index of the codeword (params[first : first + count]) nearest to word; ties go to the lowest index."""
    best = 0
    best_d = 1 << 30
    for i in range(count):
        d = popcount(word ^ params[first + i])
        if d < best_d:
            best_d = d
            best = i
    return best


@njit(cache=True)
def _blockcode_step(state, token, t, params, coins):
    n, b, block, index_bits, groups, raw = params[0], params[1], params[2], params[3], params[4], params[5]
    coded = groups * block
    bit = token - NUM0
    if 1 <= t <= coded:
        j = (t - 1) // block
        pos = (t - 1) % block
        base = j * index_bits
        width = params[7]
        if index_bits == 1:  # repetition code: count the ones, keep the majority
            ones = np.int64(get_bits(state, base, width)) + bit
            if pos < block - 1:
                set_bits(state, base, width, ones)
            else:
                set_bits(state, base, width, 0)
                set_bit(state, base, 1 if 2 * ones > block else 0)
        elif pos < block - 1:
            set_bit(state, base + pos, bit)
        else:
            word = np.int64(get_bits(state, base, width)) | (np.int64(bit) << (block - 1))
            idx = nearest_codeword(word, params, HEADER, params[6])
            set_bits(state, base, width, 0)
            set_bits(state, base, index_bits, idx)
    elif coded < t <= coded + raw:
        set_bit(state, groups * index_bits + (t - coded - 1), bit)
    elif t == n + 1:
        k = token - NUM0
        ans = 0
        if 1 <= k <= coded:
            j = (k - 1) // block
            idx = np.int64(get_bits(state, j * index_bits, index_bits))
            ans = (params[HEADER + idx] >> ((k - 1) % block)) & 1
        elif coded < k <= coded + raw:
            ans = get_bit(state, groups * index_bits + (k - coded - 1))
        store_answer(state, ans, b)


def _blockcode_used(task, b):
    block, index_bits, groups, raw, _ = blockcode_layout(task.n, b)
    peak_open = (groups - 1) * index_bits + buffer_bits(block, index_bits) if groups else 0
    return max(groups * index_bits + raw, peak_open)


register(
    Algorithm(
        name="blockcode",
        task="index",
        summary="blocks of L bits replaced by the index of the nearest of 2^r random codewords, then raw bits",
        memory="max(G r + s, (G - 1) r + w) <= b (coded blocks, raw bits, the open block's buffer of w bits)",
        plan=_blockcode_plan,
        step=_blockcode_step,
        output=read_answer,
        used_bits=_blockcode_used,
        settings=lambda task, b: "L={}, r={}, G={}, s={} (expected success {:.4f})".format(*blockcode_layout(task.n, b)),
    )
)
