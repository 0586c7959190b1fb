"""The Index coders on other tasks' hard streams: each task's reduction run backwards inside a budgeted algorithm.

Every task that has a ``translate`` function (its reduction read backwards: Alice's tokens as the embedded Index
bits, Bob's query as the Index query) gets the adapters its ``adapters`` mapping names, registered here for
every task in the task registry: the adapter feeds the recovered Index tokens to the Index coder (prefix,
blockcode, trellis, ...) running on the same state, and maps the Index answer x_k back to the task's answer
(``answer_value``). So the Index frontier carries over to every task. Adapters assume the hard stream's layout:
on other distributions they answer at chance.

Reserved state bits, right after the inner coder's memory: ``adapter_reserve`` of the task's own (IsTree: the
previous prefix parity), and, on a task with several queries, one bit for the last answer: each query is answered
on a copy of the state (a temporary inside ``step``, which the contract allows), so the coded bits stay for the
next query.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..bits import get_bit, load_answer, set_bit
from ..tasks import TASKS, IndexTask
from .registry import Algorithm, get_algorithm, register

#: params: task size, b, m, the task's aux constant, several queries (0/1), the first reserved bit (right after the
#: inner coder's memory, so the state's highest bit is its declared used_bits); then the inner coder's params
OFF = 6


def _reserve(task) -> int:
    return task.adapter_reserve + (1 if task.queries > 1 else 0)


def _inner_task(task, b):
    """The Index instance the inner coder plans for, and its budget."""
    return IndexTask(task.index_size), max(0, b - _reserve(task))


def make_adapter(task_cls, name: str, inner_name: str) -> Algorithm:
    inner = get_algorithm("index", inner_name)
    inner_step, translate, to_answer = inner.step, task_cls.translate, njit(task_cls.answer_value)
    task_reserve = task_cls.adapter_reserve

    def plan(task, b, coins):
        index, inner_b = _inner_task(task, b)
        head = [task.n, b, task.index_size, task.adapter_aux, int(task.queries > 1), inner.used_bits(index, inner_b)]
        return np.concatenate([np.array(head, dtype=np.int64), inner.make_params(index, inner_b, coins)])

    @njit
    def step(state, token, t, params, coins):
        it, itok = translate(state, token, t, params)
        if it < 0:
            return
        if params[4] and it == params[2] + 1:  # one of several queries: answer it on a copy of the state
            if params[1] > 0:
                scratch = state.copy()
                inner_step(scratch, itok, it, params[OFF:], coins)
                set_bit(state, params[5] + task_reserve, load_answer(scratch, params[OFF + 1]))
        else:  # with one query, the inner state holds x_k after it and later tokens are not fed
            inner_step(state, itok, it, params[OFF:], coins)

    @njit
    def output(state, params, coins):
        # a fixed map of the state's answer bit to the task's answer token (a value, YES/NO)
        bit = get_bit(state, params[5] + task_reserve) if params[4] and params[1] > 0 else \
            load_answer(state, params[OFF + 1])
        return to_answer(bit, params[2])

    def used_bits(task, b):
        reserve = _reserve(task)
        return inner.used_bits(*_inner_task(task, b)) + reserve if b >= reserve else 0

    return Algorithm(
        name=name, task=task_cls.name,
        summary=f"codes the hard stream's embedded Index bits (the Index coder `{inner_name}` inside)",
        memory=f"{inner_name}'s memory at m(n) bits and b - reserve, plus the reserve",
        plan=plan, step=step, output=output, used_bits=used_bits,
        settings=lambda task, b: "; ".join(filter(None, [inner.settings(*_inner_task(task, b)),
                                                         f"{_reserve(task)} reserved bit(s)" if _reserve(task) else ""])),
    )


for _cls in TASKS.values():
    if _cls.translate is not None:
        for _name, _inner in _cls.adapters.items():
            register(make_adapter(_cls, _name, _inner))
