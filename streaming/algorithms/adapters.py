"""The Index coders on other tasks' hard streams: the reductions run backwards inside a budgeted algorithm.

An adapter reads the task's hard stream, recovers the embedded Index bit at each Alice position and the Index
query from Bob's part, and feeds them to an Index algorithm (prefix, blockcode, trellis, ...) running on the
same state; the Index answer x_k is mapped back to the task's answer. So the Index frontier carries over to
every task. Adapters assume the hard stream's layout (the specialists of the issue): on natural distributions
they answer at chance.

IsTree (`star-coder`): leaf a's edge goes to hub N - 1 or N, which gives the prefix parity p_a; the Index bit is
p_a xor p_(a-1), so one extra state bit holds p_(a-1) (the inner coder gets b - 1 bits).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..bits import get_bit, load_answer, set_bit
from ..tokens import NUM0
from .registry import Algorithm, get_algorithm, register

OFF = 4  # params: task size, b, m, c (c-gram only), then the inner algorithm's params


def _make_adapter(task: str, name: str, inner_name: str, translate, m_of, reserve: int, to_answer, summary):
    inner = get_algorithm("index", inner_name)
    inner_step = inner.step

    def plan(n, b, coins, task):
        m = task.index_size
        inner_params = inner.make_params(m, max(0, b - reserve), coins)
        return np.concatenate([np.array([n, b, m, getattr(task, "c", 0)], dtype=np.int64), inner_params])

    @njit
    def step(state, token, t, params, coins):
        it, itok = translate(state, token, t, params)
        if it >= 0:  # after the Index query the inner state holds x_k, and later tokens are not fed
            inner_step(state, itok, it, params[OFF:], coins)

    @njit
    def output(state, params, coins):
        # a fixed map of the state's answer bit to the task's answer token (a value, YES/NO)
        return to_answer(load_answer(state, params[OFF + 1]), params)

    register(Algorithm(
        name=name, task=task, summary=summary + f" (the Index coder `{inner_name}` inside)",
        memory=f"{inner_name}'s memory at m(n) bits and b - {reserve}" + (" plus 1 parity bit" if reserve else ""),
        plan=plan, step=step, output=output, uses_task=True,
        used_bits=lambda n, b, task=None: (inner.used_bits(task.index_size if task else m_of(n),
                                                           max(0, b - reserve)) + reserve) if b >= reserve else 0,
        settings=lambda n, b: inner.settings(m_of(n), max(0, b - reserve)),
    ))


# --- IsTree: star-coder ------------------------------------------------------------------------------------------
@njit
def _istree_translate(state, token, t, params, coins_unused=0):
    n, b = params[0], params[1]
    parity_bit = b - 1
    if b < 1:
        return -1, 0
    if t >= 3 and t % 3 == 0:
        e = t // 3 - 1  # edge index
        if e < n - 2:  # Alice: leaf a = e + 1 on hub v
            p = 1 if token - NUM0 == n else 0
            prev = get_bit(state, parity_bit) if e > 0 else 0
            set_bit(state, parity_bit, p)
            if e >= 1:
                return e, NUM0 + (p ^ prev)  # Index bit x_(a-1) at Index position a - 1 = e
        return -1, 0
    if t >= 1 and (t - 1) % 3 == 0 and (t - 1) // 3 == n - 2:  # Bob's edge (k, k+1): the query k
        set_bit(state, parity_bit, 0)
        return params[2] + 1, token
    return -1, 0


@njit
def _bit_answer(bit, params):
    return bit


for _name, _inner in (("star-coder", "trellis"), ("star-blockcode", "blockcode")):
    _make_adapter("istree", _name, _inner, _istree_translate, lambda n: n - 3, 1, _bit_answer,
                  "specialist for the hard two-star graphs: the leaves' hub bits, differenced and lossy-coded")


# --- associative recall, c-gram, counting ------------------------------------------------------------------------
@njit
def _recall_translate(state, token, t, params):
    m = params[2]
    if 1 <= t <= 2 * m and t % 2 == 0:
        return t // 2, NUM0 + (token - NUM0 - m - 1)
    if t == 2 * m + 1:
        return m + 1, token
    return -1, 0


@njit
def _value_answer(bit, params):
    return bit + params[2] + 1


@njit
def _counting_translate(state, token, t, params):
    m = params[2]
    if 1 <= t <= m:
        return t, NUM0 + (1 if token != NUM0 else 0)
    if t == m + 1:
        return m + 1, token
    return -1, 0


@njit
def _cgram_translate(state, token, t, params):
    m, c = params[2], params[3]
    if 1 <= t <= c * m and t % c == 0:
        return t // c, NUM0 + (token - NUM0 - m - 1)
    if t == c * m + 1:
        return m + 1, token
    return -1, 0


for _inner in ("prefix", "blockcode", "trellis"):
    _make_adapter("recall", _inner, _inner, _recall_translate, lambda n: n // 2, 0, _value_answer,
                  "codes the hard stream's value bits")
    _make_adapter("counting", _inner, _inner, _counting_translate, lambda n: n, 0, _bit_answer,
                  "codes which positions of the hard stream are non-zero")
    _make_adapter("cgram", _inner, _inner, _cgram_translate, lambda n: n // 3, 0, _value_answer,
                  "codes the hard stream's value bits")
