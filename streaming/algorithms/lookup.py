"""Generating machines with retrieval (PAPER.md, Theorems 5.2 and 5.3), run by ``streaming.generate``.

Each keeps O(log n) bits and, after its input, writes the task's retrieval trace token by token (``emit``),
reading every token back through ``step`` and asking the environment for what it did not keep. They are no
streaming algorithms: the context they query lies outside their b bits, so the one-way bounds do not apply to
them (their rows are audited ``not-streaming``). They live in ``GENERATORS``, not in ``REGISTRY``.

``retrieval-lookup`` (Index, AR, c-gram, Counting; Theorem 5.2, O(1) queries) keeps Bob's tokens, one register
of w = ceil(log2(NUM0 + vocab)) bits each, and writes ``<StartSearch> Bob's tokens <EndSearch>``; the reply goes
into the first register; then ``</s>`` and the answer: the reply itself (Index, AR, c-gram), or for Counting 1
unless the reply is FAILED (FAILED means "at most t occurrences"). Its trace has a fixed length, so its phase is a
function of the position t, which is free by the budget contract (the paper's RNN has a position embedding): it
needs no phase bits.

``retrieval-dfs`` (IsTree; Theorem 5.3, Algorithm 2, O(N) queries) ignores its input and walks the graph depth
first from vertex 1 through the environment, writing exactly the trace of ``tasks.istree_formats.retrieval_trace``.
Its registers: V (current vertex), F (its parent), P (the last neighbour tried), X (the neighbour found), C (the
records ``x ~ v`` written), a phase (what it is writing: a visit, a neighbour query, a parent query of x, a record,
the end), the sub-position inside it, and the cycle flag (a back edge was met). The trace varies in length, so
here the phase is state: 4 ceil(log2(N + 1)) + ceil(log2 N) + 7 bits.

Below the bits it needs, a machine does not search: it writes ``</s>`` and a fixed guess (no state at all).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..bits import get_bit, get_bits, set_bit, set_bits
from ..tokens import END_SEARCH, EOS, FAILED, NO, NUM0, START_SEARCH, TILDE, YES
from .istree import width
from .registry import Algorithm, register

FORMAT = "retrieval"


def _check_format(task, name: str) -> None:
    if FORMAT not in task.formats:
        raise ValueError(f"{name} needs the {FORMAT} format, which {task.name} ({task.label()}) does not offer "
                         f"(its formats: {', '.join(task.formats)})")


@njit(cache=True)
def _no_output(state, params, coins):
    """Read as a streaming algorithm (no generation, no environment) a generating machine has no answer."""
    return np.int64(-1)


# --- retrieval-lookup: Index, AR, c-gram, Counting ----------------------------------------------------------------
LOOKUP_TASKS = ("index", "recall", "cgram", "counting")


def token_width(task) -> int:
    """Bits for a token id below NUM0 + vocab (every input token, and FAILED)."""
    return width(NUM0 + task.vocab)


def bob_tokens(task) -> int:
    return task.length - task.cut


def lookup_bits(task) -> int:
    return bob_tokens(task) * token_width(task)


def lookup_guess(task) -> int:
    """The answer token written below the machine's memory: the task's answer when the embedded Index bit is 1."""
    return int(np.asarray(task.answer_tokens(task.answer_value(1, task.index_size))).reshape(-1)[0])


def _lookup_plan(task, b, coins):
    _check_format(task, "retrieval-lookup")
    return np.array([task.n, b, int(b >= lookup_bits(task)), token_width(task), bob_tokens(task), task.cut,
                     task.length, int(task.name == "counting"), lookup_guess(task)], dtype=np.int64)


@njit(cache=True)
def _lookup_step(state, token, t, params, coins):
    """Bob's tokens into their registers; the environment's reply (position length + Bob's tokens + 3) into the
    first. Every other token (its own trace read back) changes nothing."""
    active, w, bob, cut, length = params[2], params[3], params[4], params[5], params[6]
    if active == 0:
        return
    if cut <= t < length:
        set_bits(state, (t - cut) * w, w, token)
    elif t == length + bob + 3:
        set_bits(state, 0, w, token)


@njit(cache=True)
def _lookup_emit(state, t, params, coins):
    """Position length + i writes: i = 1 `<StartSearch>`, 2 .. bob + 1 Bob's tokens, bob + 2 `<EndSearch>`, (bob + 3
    the reply), bob + 4 `</s>`, bob + 5 the answer."""
    active, w, bob, length, counting, guess = params[2], params[3], params[4], params[6], params[7], params[8]
    i = t - length
    if active == 0:
        return np.int64(EOS) if i <= 1 else np.int64(guess)
    if i <= 1:
        return np.int64(START_SEARCH)
    if i <= bob + 1:
        return np.int64(get_bits(state, (i - 2) * w, w))
    if i == bob + 2:
        return np.int64(END_SEARCH)
    if i <= bob + 4:
        return np.int64(EOS)
    reply = np.int64(get_bits(state, 0, w))
    if counting:
        return np.int64(NUM0 + (0 if reply == FAILED else 1))
    return reply


def _lookup_used(task, b):
    return lookup_bits(task) if b >= lookup_bits(task) else 0


def _lookup_settings(task, b):
    need = lookup_bits(task)
    if b < need:
        return f"needs {need} bits: below them it writes </s> and a guess"
    return f"{bob_tokens(task)} registers of {token_width(task)} bits (Bob's tokens; the first takes the reply)"


for _name in LOOKUP_TASKS:
    register(Algorithm(
        name="retrieval-lookup", task=_name,
        summary="WITH RETRIEVAL (not a streaming algorithm): keeps Bob's tokens, asks the environment once "
                "(Theorem 5.2), answers the reply",
        memory="(length - cut) ceil(log2(NUM0 + vocab)): Bob's tokens, the reply in the first register "
               "(the context it queries lies outside the state)",
        plan=_lookup_plan, step=_lookup_step, output=_no_output, emit=_lookup_emit, used_bits=_lookup_used,
        settings=_lookup_settings,
    ))


# --- retrieval-dfs: IsTree ------------------------------------------------------------------------------------
ROOT = 1
#: phases: what the machine is writing
VISIT, NEIGHBOUR, PARENT, RECORD, END = 0, 1, 2, 3, 4
PHASE_BITS, SUB_BITS = 3, 3


def dfs_layout(n_nodes: int) -> tuple:
    """(vertex register bits wv, record counter bits wc, total bits): V, F, P, X of wv bits (0 = none), C of wc,
    the phase, the sub-position and the cycle flag."""
    wv, wc = width(n_nodes + 1), width(n_nodes)
    return wv, wc, 4 * wv + wc + PHASE_BITS + SUB_BITS + 1


def _dfs_plan(task, b, coins):
    _check_format(task, "retrieval-dfs")
    wv, wc, need = dfs_layout(task.n)
    return np.array([task.n, b, int(b >= need), wv, wc, task.length], dtype=np.int64)


@njit(cache=True, inline="always")
def _fields(params):
    wv, wc = params[3], params[4]
    ph = 4 * wv + wc
    return wv, wc, ph, ph + PHASE_BITS, ph + PHASE_BITS + SUB_BITS  # ..., phase, sub-position, cycle flag


@njit(cache=True)
def _dfs_emit(state, t, params, coins):
    """The token the grammar of ``istree_formats.retrieval_trace`` writes next (the environment writes the
    replies: emit is never asked at their positions)."""
    n, active, length = params[0], params[2], params[5]
    if active == 0:
        return np.int64(EOS) if t <= length + 1 else np.int64(YES)
    wv, wc, at_ph, at_sub, at_cyc = _fields(params)
    v = np.int64(get_bits(state, 0, wv))
    p = np.int64(get_bits(state, 2 * wv, wv))
    x = np.int64(get_bits(state, 3 * wv, wv))
    phase = np.int64(get_bits(state, at_ph, PHASE_BITS))
    sub = np.int64(get_bits(state, at_sub, SUB_BITS))
    if phase == VISIT:  # v <S> v ~ <E>
        if sub == 0 or sub == 2:
            return NUM0 + v
        if sub == 1:
            return np.int64(START_SEARCH)
        return np.int64(TILDE) if sub == 3 else np.int64(END_SEARCH)
    if phase == NEIGHBOUR:  # <S> v <E>, or <S> v p <E>
        if sub == 0:
            return np.int64(START_SEARCH)
        if sub == 1:
            return NUM0 + v
        return NUM0 + p if sub == 2 and p != 0 else np.int64(END_SEARCH)
    if phase == PARENT:  # <S> x ~ <E>
        if sub == 0:
            return np.int64(START_SEARCH)
        if sub == 1:
            return NUM0 + x
        return np.int64(TILDE) if sub == 2 else np.int64(END_SEARCH)
    if phase == RECORD:  # x ~ v
        if sub == 0:
            return NUM0 + x
        return np.int64(TILDE) if sub == 1 else NUM0 + v
    if sub == 0:  # END: </s>, then the answer
        return np.int64(EOS)
    c = np.int64(get_bits(state, 4 * wv, wc))
    return np.int64(NO) if get_bit(state, at_cyc) == 1 or c != n - 1 else np.int64(YES)


@njit(cache=True)
def _dfs_step(state, token, t, params, coins):
    """Reads the token at position t: the input is ignored, `</s>` starts the walk at the root, the machine's own
    tokens advance the sub-position, and a reply (the position after `<EndSearch>`) decides what comes next."""
    active, length = params[2], params[5]
    if active == 0 or t < length:
        return
    wv, wc, at_ph, at_sub, at_cyc = _fields(params)
    if t == length:
        set_bits(state, 0, wv, ROOT)
        return
    v = np.int64(get_bits(state, 0, wv))
    f = np.int64(get_bits(state, wv, wv))
    p = np.int64(get_bits(state, 2 * wv, wv))
    x = np.int64(get_bits(state, 3 * wv, wv))
    phase = np.int64(get_bits(state, at_ph, PHASE_BITS))
    sub = np.int64(get_bits(state, at_sub, SUB_BITS))
    reply = 0 if token == FAILED else np.int64(token - NUM0)
    next_phase, next_sub = phase, sub + 1
    if phase == VISIT:
        if sub == 5:  # v's parent (0: none yet, the root)
            set_bits(state, wv, wv, reply)
            next_phase, next_sub = NEIGHBOUR, 0
    elif phase == NEIGHBOUR:
        if sub == (4 if p != 0 else 3):  # the neighbour found (0: none left)
            next_sub = 0
            if reply != 0 and reply == f:  # the parent: one more "after" query
                set_bits(state, 2 * wv, wv, reply)
            elif reply != 0:
                set_bits(state, 3 * wv, wv, reply)
                next_phase = PARENT
            elif f == 0:  # the root has no neighbour left: the walk is over
                next_phase = END
            else:  # back to the parent, coming from v
                set_bits(state, 2 * wv, wv, v)
                set_bits(state, 0, wv, f)
                set_bits(state, wv, wv, 0)
                next_phase = VISIT
    elif phase == PARENT:
        if sub == 4:  # x's parent record: none (and x not the root) means x is new
            next_sub = 0
            if token != FAILED or x == ROOT:
                set_bit(state, at_cyc, 1)
                next_phase = END
            else:
                next_phase = RECORD
    elif phase == RECORD:
        if sub == 2:  # x ~ v written: visit x
            c = np.int64(get_bits(state, 4 * wv, wc))
            set_bits(state, 4 * wv, wc, c + 1)
            set_bits(state, 0, wv, x)
            set_bits(state, wv, wv, 0)
            set_bits(state, 2 * wv, wv, 0)
            set_bits(state, 3 * wv, wv, 0)
            next_phase, next_sub = VISIT, 0
    set_bits(state, at_ph, PHASE_BITS, next_phase)
    set_bits(state, at_sub, SUB_BITS, min(next_sub, (1 << SUB_BITS) - 1))


def _dfs_used(task, b):
    need = dfs_layout(task.n)[2]
    return need if b >= need else 0


def _dfs_settings(task, b):
    wv, wc, need = dfs_layout(task.n)
    if b < need:
        return f"needs {need} bits: below them it writes </s> and a guess (YES)"
    return f"V, F, P, X of {wv} bits, C of {wc} bits, {PHASE_BITS} phase + {SUB_BITS} sub-position bits, a cycle flag"


register(Algorithm(
    name="retrieval-dfs", task="istree",
    summary="WITH RETRIEVAL (not a streaming algorithm): depth-first search through the environment "
            "(Theorem 5.3, Algorithm 2), O(N) queries",
    memory="4 ceil(log2(N + 1)) + ceil(log2 N) + 7: V, F, P, X, the records written, phase, sub-position, cycle "
           "flag (the context it queries lies outside the state)",
    plan=_dfs_plan, step=_dfs_step, output=_no_output, emit=_dfs_emit, used_bits=_dfs_used,
    settings=_dfs_settings,
))
