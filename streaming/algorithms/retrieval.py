"""Budgeted tables for associative recall and c-gram retrieval, counters and Count-Min for Counting.

These plan from the task's description (its vocabulary, c, the threshold), never from a stream.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..bits import get_bits, load_answer, set_bits, store_answer
from ..rng import draw
from ..tokens import NUM0
from .istree import width
from .registry import Algorithm, register

SALT_HASH = 91


@njit(cache=True, inline="always")
def _slot(coins, row, key, slots):
    return np.int64(draw(coins, row, key, SALT_HASH) % np.uint64(slots))


@njit(cache=True)
def _answer(state, params, coins):
    return load_answer(state, params[1])


# --- a value table keyed by a hash of the key (recall) or of the (c-1)-gram (c-gram) -----------------------------
def table_layout(b: int, vocab: int):
    """(slots S, value bits vw, pending bits sw): S vw + sw <= b, sw holding the open key's slot."""
    vw = width(vocab)
    best = (0, vw, 0)
    for slots in range(1, b // vw + 1):
        sw = width(slots)
        if slots * vw + sw <= b:
            best = (slots, vw, sw)
    return best


def _table_plan(n, b, coins, task):
    slots, vw, sw = table_layout(b, task.vocab)
    c = getattr(task, "c", 2)
    return np.array([n, b, slots, vw, sw, c], dtype=np.int64)


@njit(cache=True)
def _table_step(state, token, t, params, coins):
    """Blocks of c tokens: c - 1 key tokens hashed incrementally into the pending slot, then the value.
    Recall is c = 2. Bob's c - 1 query tokens hash the same way; the slot's value is the answer."""
    n, b, slots, vw, sw, c = params[0], params[1], params[2], params[3], params[4], params[5]
    if slots == 0 or t == 0:
        return
    blocks = (n // c) if c > 2 else n // 2
    pending = slots * vw
    pos = (t - 1) % c
    if t <= c * blocks:
        if pos < c - 1:
            h = np.int64(get_bits(state, pending, sw)) if pos > 0 else 0
            set_bits(state, pending, sw, _slot(coins, pos, h * 1000003 + token, slots))
        else:
            slot = np.int64(get_bits(state, pending, sw))
            set_bits(state, slot * vw, vw, token - NUM0)
            set_bits(state, pending, sw, 0)
    else:
        q = t - 1 - c * blocks
        h = np.int64(get_bits(state, pending, sw)) if q > 0 else 0
        slot = _slot(coins, q, h * 1000003 + token, slots)
        if q < c - 2:
            set_bits(state, pending, sw, slot)
        else:
            store_answer(state, np.int64(get_bits(state, slot * vw, vw)), b)


def _table_used(n, b, task=None):
    slots, vw, sw = table_layout(b, task.vocab if task else n + 1)
    return slots * vw + sw


for _task in ("recall", "cgram"):
    register(Algorithm(
        name="table", task=_task,
        summary="a table of values at slots hashed (public coins) from the key"
                + (" (c-1)-gram, hashed token by token" if _task == "cgram" else "") + "; last write wins",
        memory="S ceil(log2 vocab) + ceil(log2 S) <= b (values, the open key's slot)",
        plan=_table_plan, step=_table_step, output=_answer, uses_task=True, used_bits=_table_used,
        settings=lambda n, b: "S slots of value bits (depends on the task's vocabulary)",
    ))


# --- counting ----------------------------------------------------------------------------------------------------
def counter_width(task) -> int:
    """Counters saturate at t + 1 (t the distribution's threshold: 0 on the hard stream)."""
    return int(task.threshold + 1 if task.distribution != "hard" else 1).bit_length()


def _counters_plan(n, b, coins, task):
    cw = counter_width(task)
    symbols = min(b // cw, task.vocab - 1)
    return np.array([n, b, cw, symbols, 1], dtype=np.int64)


def _countmin_plan(n, b, coins, task):
    cw = counter_width(task)
    rows = 2
    cols = b // (rows * cw)
    return np.array([n, b, cw, cols, rows], dtype=np.int64)


@njit(cache=True)
def _count_step(state, token, t, params, coins):
    """Counters (rows = 1, symbol s at column s - 1) or Count-Min (rows >= 2, hashed columns), saturating."""
    n, b, cw, cols, rows = params[0], params[1], params[2], params[3], params[4]
    top = (1 << cw) - 1
    if 1 <= t <= n:
        s = token - NUM0
        if cols == 0 or s == 0:
            return
        for r in range(rows):
            if rows == 1:
                if s > cols:
                    return
                col = s - 1
            else:
                col = _slot(coins, r, s, cols)
            at = (r * cols + col) * cw
            v = np.int64(get_bits(state, at, cw))
            if v < top:
                set_bits(state, at, cw, v + 1)
    elif t == n + 1:  # the query: keep only its estimate
        s = token - NUM0
        est = top
        if cols == 0 or (rows == 1 and not 1 <= s <= cols):
            est = 0
        else:
            for r in range(rows):
                col = s - 1 if rows == 1 else _slot(coins, r, s, cols)
                est = min(est, np.int64(get_bits(state, (r * cols + col) * cw, cw)))
        store_answer(state, est, min(b, cw))
    elif t == n + 2:  # the threshold
        est = np.int64(get_bits(state, 0, min(b, cw)))
        store_answer(state, 1 if est > token - NUM0 else 0, b)


register(Algorithm(
    name="counters", task="counting",
    summary="exact saturating counters (up to t + 1) for as many symbols as fit; the rest count as 0",
    memory="S ceil(log2(t + 2)) <= b",
    plan=_counters_plan, step=_count_step, output=_answer, uses_task=True,
    used_bits=lambda n, b, task=None: (min(b // counter_width(task), task.vocab - 1) * counter_width(task))
    if task else b,
))
register(Algorithm(
    name="countmin", task="counting",
    summary="Count-Min sketch: 2 rows of saturating counters, columns hashed by the public coins; min of rows",
    memory="2 W ceil(log2(t + 2)) <= b",
    plan=_countmin_plan, step=_count_step, output=_answer, uses_task=True,
    used_bits=lambda n, b, task=None: (2 * (b // (2 * counter_width(task))) * counter_width(task)) if task else b,
))
