"""Budgeted tables for the key-value tasks (every task whose ``key_value`` is set: associative recall, c-gram
retrieval, MQAR), counters and Count-Min for Counting.

These plan from the task's description (its vocabulary, c, the threshold, its queries), never from a stream.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..bits import get_bits, load_answer, read_answer, set_bits, store_answer
from ..rng import draw
from ..tasks import TASKS
from ..tokens import NUM0
from .istree import width
from .registry import Algorithm, register

SALT_HASH = 91


@njit(cache=True, inline="always")
def _slot(coins, row, key, slots):
    return np.int64(draw(coins, row, key, SALT_HASH) % np.uint64(slots))


# --- a value table keyed by a hash of the key (any key-value task: recall, c-gram, MQAR) ---------------------------
def table_layout(b: int, vocab: int, answer_bits: bool = False):
    """(slots S, value bits vw, pending bits sw): S vw + sw (+ vw for the last answer, with several queries) <= b,
    sw holding the open key's slot."""
    vw = width(vocab)
    extra = vw if answer_bits else 0
    best = (0, vw, 0)
    for slots in range(1, b // vw + 1):
        sw = width(slots)
        if slots * vw + sw + extra <= b:
            best = (slots, vw, sw)
    return best


def _table_layout(task, b):
    return table_layout(b, task.vocab, task.queries > 1)


def _table_plan(task, b, coins):
    slots, vw, sw = _table_layout(task, b)
    return np.array([task.n, b, slots, vw, sw, task.kv_block, task.kv_blocks, task.queries > 1], dtype=np.int64)


@njit(cache=True)
def _table_step(state, token, t, params, coins):
    """Blocks of c tokens: c - 1 key tokens hashed incrementally into the pending slot, then the value (recall and
    MQAR are c = 2). Each query's c - 1 tokens hash the same way; the slot's value is the answer: with one query
    it replaces the state, with several it goes to an answer field after the table (which stays for the next)."""
    b, slots, vw, sw, c, blocks, multi = params[1], params[2], params[3], params[4], params[5], params[6], params[7]
    if slots == 0 or t == 0:
        return
    pending = slots * vw
    if t <= c * blocks:
        pos = (t - 1) % c
        if pos < c - 1:
            h = np.int64(get_bits(state, pending, sw)) if pos > 0 else 0
            set_bits(state, pending, sw, _slot(coins, pos, h * 1000003 + token, slots))
        else:
            slot = np.int64(get_bits(state, pending, sw))
            set_bits(state, slot * vw, vw, token - NUM0)
            set_bits(state, pending, sw, 0)
    else:
        q = (t - 1 - c * blocks) % (c - 1)
        h = np.int64(get_bits(state, pending, sw)) if q > 0 else 0
        slot = _slot(coins, q, h * 1000003 + token, slots)
        if q < c - 2:
            set_bits(state, pending, sw, slot)
        elif multi:
            set_bits(state, pending + sw, vw, get_bits(state, slot * vw, vw))
        else:
            store_answer(state, np.int64(get_bits(state, slot * vw, vw)), b)


@njit(cache=True)
def _table_output(state, params, coins):
    if params[7]:
        return np.int64(get_bits(state, params[2] * params[3] + params[4], params[3]))
    return load_answer(state, params[1])


def _table_used(task, b):
    slots, vw, sw = _table_layout(task, b)
    return slots * vw + sw + (vw if task.queries > 1 and slots else 0)


def _table_settings(task, b):
    slots, vw, sw = _table_layout(task, b)
    return f"S={slots} slots of {vw} value bits, {sw} pending bits" + (", a last-answer field" if task.queries > 1
                                                                       else "")


for _cls in TASKS.values():
    if _cls.key_value:
        register(Algorithm(
            name="table", task=_cls.name,
            summary="a table of values at slots hashed (public coins) from the key, token by token; last write wins",
            memory="S ceil(log2 vocab) + ceil(log2 S) <= b (values, the open key's slot; several queries: + the "
                   "last answer)",
            plan=_table_plan, step=_table_step, output=_table_output, used_bits=_table_used,
            settings=_table_settings,
        ))


# --- counting ----------------------------------------------------------------------------------------------------
def counter_width(task) -> int:
    """Counters saturate at t + 1 (t the distribution's threshold: 0 on the hard stream)."""
    return int(task.threshold + 1 if task.distribution != "hard" else 1).bit_length()


def _counters_layout(task, b):
    """(counter bits, symbols counted)."""
    cw = counter_width(task)
    return cw, min(b // cw, task.vocab - 1)


def _countmin_layout(task, b):
    """(counter bits, columns per row) of 2 rows."""
    cw = counter_width(task)
    return cw, b // (2 * cw)


def _counters_plan(task, b, coins):
    cw, symbols = _counters_layout(task, b)
    return np.array([task.n, b, cw, symbols, 1], dtype=np.int64)


def _countmin_plan(task, b, coins):
    cw, cols = _countmin_layout(task, b)
    return np.array([task.n, b, cw, cols, 2], dtype=np.int64)


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
    plan=_counters_plan, step=_count_step, output=read_answer,
    used_bits=lambda task, b: _counters_layout(task, b)[0] * _counters_layout(task, b)[1],
    settings=lambda task, b: "{1} symbols, {0}-bit counters".format(*_counters_layout(task, b)),
))
register(Algorithm(
    name="countmin", task="counting",
    summary="Count-Min sketch: 2 rows of saturating counters, columns hashed by the public coins; min of rows",
    memory="2 W ceil(log2(t + 2)) <= b",
    plan=_countmin_plan, step=_count_step, output=read_answer,
    used_bits=lambda task, b: 2 * _countmin_layout(task, b)[0] * _countmin_layout(task, b)[1],
    settings=lambda task, b: "2 rows of {1} {0}-bit counters".format(*_countmin_layout(task, b)),
))
