"""Simple budgeted algorithms for Index: prefix, majority of groups, a random subset.

Each keeps the answer in the state after Bob's query (the final step overwrites the state with it), so the
output reads nothing but the b state bits. With b = 0 every algorithm answers 0.
"""
from __future__ import annotations

import numpy as np
from numba import njit
from scipy.special import gammaln

from ..bits import get_bit, get_bits, read_answer, set_bit, set_bits, store_answer
from ..tokens import NUM0
from .registry import Algorithm, register


# --- prefix: store x_1..x_B, B = min(b, n) -------------------------------------------------------------
def _prefix_plan(task, b, coins):
    n = task.n
    return np.array([n, b, min(b, n)], dtype=np.int64)


@njit(cache=True)
def _prefix_step(state, token, t, params, coins):
    n, b, stored = params[0], params[1], params[2]
    if 1 <= t <= stored:
        set_bit(state, t - 1, token - NUM0)
    elif t == n + 1:
        k = token - NUM0
        ans = get_bit(state, k - 1) if 1 <= k <= stored else 0
        store_answer(state, ans, b)


register(
    Algorithm(
        name="prefix",
        task="index",
        summary="store the first b bits, guess 0 beyond them; success exactly 1/2 + min(b,n)/(2n)",
        memory="min(b, n)",
        plan=_prefix_plan,
        step=_prefix_step,
        output=read_answer,
        used_bits=lambda task, b: min(b, task.n),
    )
)


# --- majority: G groups of g consecutive bits, one majority bit each; a counter for the open group -------
def binomial_mad(g):
    """E|S - g/2| for S ~ Binomial(g, 1/2), by de Moivre: m C(g, m) / 2^g with m = floor(g/2) + 1."""
    g = np.asarray(g, dtype=float)
    m = np.floor(g / 2) + 1
    log_c = gammaln(g + 1) - gammaln(m + 1) - gammaln(g - m + 1)
    return np.exp(np.log(m) + log_c - g * np.log(2.0))


def majority_layout(n: int, b: int):
    """(groups G, group size g, counter bits c) maximising exact success 1/2 + G E|S - g/2| / n.

    Memory: G majority bits, and while a group is open the bits so far plus a counter of bitlen(g - 1) bits,
    so peak = max(G, G - 1 + c) <= b.
    """
    if b <= 0:
        return 0, 1, 0
    groups = np.arange(1, min(n, b) + 1)
    size = n // groups
    # the counter must fit beside the bits so far: bitlen(g - 1) <= b - G + 1, i.e. g <= 2^(b - G + 1)
    room = b - groups + 1
    cap = np.where(room >= 62, size, np.left_shift(np.int64(1), np.clip(room, 0, 61)))
    size = np.minimum(size, cap)
    counter = bitlens(size - 1)
    gain = groups * binomial_mad(size)
    best = int(np.argmax(gain))
    return int(groups[best]), int(size[best]), int(counter[best])


def bitlens(v):
    """Vectorised int.bit_length for 0 <= v < 2^50."""
    v = np.asarray(v, dtype=np.int64)
    return np.ceil(np.log2(v.astype(float) + 1.0)).astype(np.int64)


def _majority_plan(task, b, coins):
    groups, size, counter = majority_layout(task.n, b)
    return np.array([task.n, b, groups, size, counter], dtype=np.int64)


@njit(cache=True)
def _majority_step(state, token, t, params, coins):
    n, b, groups, size, counter = params[0], params[1], params[2], params[3], params[4]
    if 1 <= t <= groups * size:
        j = (t - 1) // size
        ones = np.int64(get_bits(state, j, counter)) + (token - NUM0)
        if (t - 1) % size == size - 1:
            set_bits(state, j, counter, 0)
            set_bit(state, j, 1 if 2 * ones >= size else 0)
        else:
            set_bits(state, j, counter, ones)
    elif t == n + 1:
        k = token - NUM0
        ans = get_bit(state, (k - 1) // size) if 1 <= k <= groups * size else 0
        store_answer(state, ans, b)


def _majority_used(task, b):
    groups, size, counter = majority_layout(task.n, b)
    return max(groups, groups - 1 + counter) if groups else 0


register(
    Algorithm(
        name="majority",
        task="index",
        summary="majority bit of each of G groups of g consecutive bits (G, g chosen for the best exact success)",
        memory="max(G, G - 1 + bitlen(g - 1)) <= b (majority bits plus the open group's counter)",
        plan=_majority_plan,
        step=_majority_step,
        output=read_answer,
        used_bits=_majority_used,
        settings=lambda task, b: "G={}, g={}, counter={} bits".format(*majority_layout(task.n, b)),
    )
)


# --- subset: a uniformly random set of min(b, n) positions chosen by the public coins ---------------------
def _subset_plan(task, b, coins):
    n = task.n
    stored = min(b, n)
    rng = np.random.default_rng(coins)
    chosen = np.sort(rng.choice(n, size=stored, replace=False)) if stored else np.empty(0, dtype=np.int64)
    slot = np.full(n + 1, -1, dtype=np.int64)  # slot[k] for position k = 1..n
    slot[chosen + 1] = np.arange(stored)
    return np.concatenate([np.array([n, b], dtype=np.int64), slot])


@njit(cache=True)
def _subset_step(state, token, t, params, coins):
    n, b = params[0], params[1]
    if 1 <= t <= n:
        s = params[2 + t]
        if s >= 0:
            set_bit(state, s, token - NUM0)
    elif t == n + 1:
        k = token - NUM0
        s = params[2 + k] if 1 <= k <= n else -1
        ans = get_bit(state, s) if s >= 0 else 0
        store_answer(state, ans, b)


register(
    Algorithm(
        name="subset",
        task="index",
        summary="store the bits of min(b, n) positions drawn uniformly by the public coins",
        memory="min(b, n)",
        plan=_subset_plan,
        step=_subset_step,
        output=read_answer,
        used_bits=lambda task, b: min(b, task.n),
    )
)
