"""Budgeted algorithms for IsTree: exact union-find, a budgeted union-find over the nodes it can afford.

Stream: `<s> u ~ v ...`; edge e has u at position 1 + 3e and v at 3 + 3e. A node's parent pointer is stored as
(parent - 1) xor (node - 1) in w bits, so the all-zero state is the forest of N single roots. An edge's first
endpoint must be held until its second arrives: that pending endpoint is part of the memory.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..bits import get_bit, get_bits, read_answer, set_bit, set_bits, store_answer
from ..tokens import NUM0
from .registry import Algorithm, register

YES, NO = 1, 0


def width(count: int) -> int:
    """Bits for an index in 0..count-1."""
    return max(1, int(count - 1).bit_length())


@njit(cache=True)
def _find(state, node, w, count):
    """Root of slot `node` (0-based) in parent pointers stored as (parent xor node) in w-bit fields."""
    for _ in range(count + 1):
        parent = np.int64(get_bits(state, node * w, w)) ^ node
        if parent == node:
            return node
        node = parent
    return node


@njit(cache=True)
def _union(state, a, b, w, count, cycle_pos):
    """Join the trees of slots a and b, or set the cycle flag when they are already one tree."""
    ra = _find(state, a, w, count)
    rb = _find(state, b, w, count)
    if ra == rb:
        set_bit(state, cycle_pos, 1)
    else:
        set_bits(state, ra * w, w, ra ^ rb)


# --- exact union-find ---------------------------------------------------------------------------------------
def unionfind_bits(n_nodes: int) -> int:
    """N parent pointers of w bits, the pending endpoint (w bits) and the cycle flag."""
    return (n_nodes + 1) * width(n_nodes) + 1


def _uf_plan(task, b, coins):
    n = task.n
    return np.array([n, b, width(n), 1 if b >= unionfind_bits(n) else 0], dtype=np.int64)


@njit(cache=True)
def _uf_step(state, token, t, params, coins):
    n, b, w, active = params[0], params[1], params[2], params[3]
    last = 3 * (n - 1)
    if active == 0:
        if t == last:
            store_answer(state, YES, b)  # below its memory it cannot be exact: it guesses
        return
    pending, cycle = n * w, (n + 1) * w
    if t >= 1 and (t - 1) % 3 == 0:
        set_bits(state, pending, w, token - NUM0 - 1)
    elif t >= 3 and t % 3 == 0:
        u = np.int64(get_bits(state, pending, w))
        set_bits(state, pending, w, 0)
        if get_bit(state, cycle) == 0:
            _union(state, u, token - NUM0 - 1, w, n, cycle)
        if t == last:
            store_answer(state, NO if get_bit(state, cycle) else YES, b)


register(Algorithm(
    name="unionfind", task="istree",
    summary="exact union-find: a parent pointer per node; exact at its memory, a guess (YES) below it",
    memory="(N + 1) ceil(log2 N) + 1: N pointers, the pending endpoint, the cycle flag",
    plan=_uf_plan, step=_uf_step, output=read_answer,
    used_bits=lambda task, b: unionfind_bits(task.n) if b >= unionfind_bits(task.n) else min(b, 1),  # the guess
    settings=lambda task, b: f"needs {unionfind_bits(task.n)} bits" + ("" if b >= unionfind_bits(task.n) else
                                                                       ": guessing"),
    reference=lambda task: (unionfind_bits(task.n), f"union-find's memory: {unionfind_bits(task.n)} bits"),
))


# --- budgeted union-find over T tracked nodes -----------------------------------------------------------------
def partial_bits(tracked: int) -> int:
    w = width(tracked)
    return tracked * w + (w + 1) + 1  # pointers, pending slot + its 'tracked' flag, cycle flag


def partial_layout(n: int, b: int) -> int:
    """The most nodes T <= N whose union-find fits in b bits (0 when not even two fit)."""
    best = 0
    for tracked in range(2, n + 1):
        if partial_bits(tracked) <= b:
            best = tracked
    return best


def _partial_plan(task, b, coins):
    n = task.n
    tracked = partial_layout(n, b)
    order = np.random.default_rng([coins, 0xF0]).permutation(n)  # nested: a larger budget tracks a superset
    slot = np.full(n + 1, -1, dtype=np.int64)
    if tracked:
        slot[1 + order[:tracked]] = np.arange(tracked)
    return np.concatenate([np.array([n, b, tracked, width(tracked) if tracked else 0], dtype=np.int64), slot])


@njit(cache=True)
def _partial_step(state, token, t, params, coins):
    n, b, tracked, w = params[0], params[1], params[2], params[3]
    last = 3 * (n - 1)
    if tracked == 0:
        if t == last:
            store_answer(state, YES, b)
        return
    pending, flag, cycle = tracked * w, tracked * w + w, tracked * w + w + 1
    if t >= 1 and (t - 1) % 3 == 0:
        s = params[4 + token - NUM0]
        if s >= 0:
            set_bits(state, pending, w, s)
            set_bit(state, flag, 1)
    elif t >= 3 and t % 3 == 0:
        s = params[4 + token - NUM0]
        if get_bit(state, flag) == 1 and s >= 0 and get_bit(state, cycle) == 0:
            _union(state, np.int64(get_bits(state, pending, w)), s, w, tracked, cycle)
        set_bits(state, pending, w, 0)
        set_bit(state, flag, 0)
        if t == last:
            store_answer(state, NO if get_bit(state, cycle) else YES, b)


register(Algorithm(
    name="partial-unionfind", task="istree",
    summary="union-find over the T nodes it can afford (chosen by the public coins); YES unless it sees a cycle",
    memory="T ceil(log2 T) + ceil(log2 T) + 2 <= b",
    plan=_partial_plan, step=_partial_step, output=read_answer,
    used_bits=lambda task, b: partial_bits(partial_layout(task.n, b)) if partial_layout(task.n, b) else min(b, 1),
    settings=lambda task, b: f"tracks T = {partial_layout(task.n, b)} of {task.n} nodes",
))
