"""The every-step frontier: the exact best success of a machine that holds b bits at EVERY step, for Index.

A one-way protocol keeps b bits at one cut; a recurrent machine (an RNN, every budgeted streaming algorithm) keeps
b bits after every token. Here: S = 2^b states, state 0 at the start, at step t a transition table
f_t(state, x_t) (any table, time-dependent), and Bob answers the query k by the best function of (final state, k).
Public coins do not help the average: the success averaged over coins is at most the success of the best coin,
so deterministic machines suffice.

The machine induces a partition of {0,1}^t at every step (the inputs that share a state); step t+1 splits each
class C into C0 and C1 and groups the children into at most S classes. For the answer only each class's size n
and its per-coordinate bias d_k = #(x_k = 1) - #(x_k = 0) matter: the success is
    1/2 + (sum over final classes, sum over k of |d_k|) / (2 m 2^m),
and the counts add when children merge. The search below works on these (n, d) rows, with
- symmetries broken: a state is a multiset of rows (relabelling states), and its columns may be reordered and
  negated (reordering and flipping past coordinates changes nothing ahead), so states are kept in a canonical form;
- refinement dominance: a partition that refines another (both with at most S classes) is at least as good (the
  finer machine can copy the coarser one's future), so a step groups the children into exactly min(2r, S) classes;
- trivial cases in closed form: b >= m holds x (success 1); b = m - 1 meets the sphere bound 1 - 1/(2m) (hold
  x_1..x_{m-1}: 2^(m-1) cells of two words, the sphere bound's perfect packing); b = 0 is 1/2;
- branch and bound, layer by layer (each layer deduplicated), pruned by ``completion_bound`` (cheap) and
  ``assignment_bound`` (keeping the past against learning the future through the same 2^b final states), with
  floors that come down from the sphere bound (see ``_solve``).

Exact for b = 1 (m <= 16, seconds) and b = 2 (m <= 7, about a minute at m = 7); b >= 3 is searched only where
closed (b >= m - 1): 2^b = 8 states group 16 children in S(16, 8) ~ 2e9 ways per step.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np

#: the largest m the search runs at for each b (b >= m - 1 is closed at every m); measured in the README
MAX_M = {1: 16, 2: 7}

#: the optimal score sum_F sum_k |d_{F,k}| (success = 1/2 + score / (2 m 2^m)), as computed by the search; the
#: test suite recomputes every entry. Used by the audit without running a search.
KNOWN_SCORES = {
    (1, 1): 2, (2, 1): 4, (3, 1): 10, (4, 1): 20, (5, 1): 42, (6, 1): 84, (7, 1): 170, (8, 1): 340, (9, 1): 682,
    (10, 1): 1364, (11, 1): 2730, (12, 1): 5460, (13, 1): 10922, (14, 1): 21844, (15, 1): 43690, (16, 1): 87380,
    (4, 2): 40, (5, 2): 84, (6, 2): 184, (7, 2): 388,
}


@dataclass(frozen=True)
class Machine:
    """A deterministic b-bit machine on m bits: tables[t][s][x] is the state after reading x = x_{t+1} in state s
    (t = 0..m-1, state 0 at the start); answers[s][k - 1] is Bob's answer to query k in final state s."""
    m: int
    bits: int
    tables: tuple
    answers: tuple


@dataclass(frozen=True)
class EveryStep:
    m: int
    bits: int
    success: Fraction
    machine: Machine
    status: str  # 'optimal' (searched) or 'closed form'
    nodes: int  # states expanded (0 for a closed form)
    seconds: float

    @property
    def score(self) -> int:
        return int((2 * self.success - 1) * self.m * (1 << self.m))


def _check(m, bits):
    if isinstance(m, bool) or int(m) != m or m < 1 or isinstance(bits, bool) or int(bits) != bits or bits < 0:
        raise ValueError(f"need an integer m >= 1 and bits >= 0, got m = {m!r}, bits = {bits!r}")
    return int(m), int(bits)


def closed_form(m: int, bits: int):
    """The optimum score where it is known without a search (b = 0, b >= m - 1), else None."""
    m, bits = _check(m, bits)
    if bits >= m:
        return m << m
    if bits == 0:
        return 0
    if bits == m - 1:
        return (m - 1) << m
    return None


def searchable(m: int, bits: int) -> bool:
    m, bits = _check(m, bits)
    return closed_form(m, bits) is not None or m <= MAX_M.get(bits, 0)


def every_step_score(m: int, bits: int):
    """The optimal score if known (closed form, the table, or cached search), else None; never searches."""
    m, bits = _check(m, bits)
    c = closed_form(m, bits)
    if c is not None:
        return c
    return KNOWN_SCORES.get((m, bits), _SCORES.get((m, bits)))


def every_step_success(m: int, bits: int):
    """The every-step optimum as a Fraction where known without a search, else None (the audit's lookup)."""
    s = every_step_score(m, bits)
    return None if s is None else Fraction(1, 2) + Fraction(s, 2 * m * (1 << m))


_SCORES: dict = {}

#: the assignment bound enumerates sign vectors on the past coordinates (2^t of them before dominance), so the search
#: applies it up to this step; past it (b = 1 at large m) the cheap bound alone keeps the layers small
ASSIGN_MAX_T = 7
#: ... and with at most this many steps left (its table of label counts grows with 2^j; the pruning it buys is near
#: the end, where the layers are widest)
ASSIGN_MAX_J = 4
#: states bounded per call (between calls: the time limit and the progress)
PRUNE_CHUNK = 20_000


# --- the bound --------------------------------------------------------------------------------------------------
def completion_bound(phi: int, t: int, m: int, bits: int) -> int:
    """An upper bound on the final score of every completion of a state at step t whose score is phi
    (phi = sum over its classes C and past coordinates k <= t of |d_{C,k}|):
        2^(m-t) * phi + 2^t * ES(m - t),  ES(j) the optimal score on j bits.
    Proof. A final class F is a union of pieces C x {y}, C a class at step t and y in {0,1}^(m-t).
    Past coordinate k <= t: every piece C x {y} has bias d_{C,k}, so |d_{F,k}| <= sum over F's pieces of |d_{C,k}|
    (triangle inequality), and summing over F counts each of the 2^(m-t) pieces of each C once: at most
    2^(m-t) * phi. Future coordinate k > t: split F by the prefix p in {0,1}^t, F = union of {p} x F_p; then
    d_{F,k} = sum_p d_{F_p,k}, so sum_F |d_{F,k}| <= sum_p sum_F |d_{F_p,k}|. For a fixed p the sets F_p over F are
    the final classes of the machine that starts in p's state and runs the tables of steps t+1..m on m - t bits:
    an every-step machine on m - t bits (its start state relabelled to 0), so its score is at most ES(m - t).
    Summing over the 2^t prefixes gives the second term."""
    j = m - t
    return (phi << j) + (optimum_score(j, bits) << t if j > 0 else 0)


@lru_cache(maxsize=None)
def _future_table(j: int, bits: int, per_block: bool = False):
    """(P, V) for ``assignment_bound``: every sorted list p_1 >= ... >= p_S >= 0 of label counts summing to 2^j, and
    V(p) >= sum_F ||e(W_F)||_1 for every partition of {-1,1}^j into labelled blocks W_F of sizes p (e(W) = the sum of
    its words), capped by ES(j). For j <= 3 V is that maximum itself (every labelled partition is tried); past it (or
    with per_block) the sum over blocks of g(p_F), g(a) = 2 (the a largest Hamming weights) - a j the best single
    block of a words (flip coordinates so that every bias is positive: the block's total is sum over its words of
    2 wt(w) - j)."""
    s = 1 << bits
    words = 1 << j
    cap = optimum_score(j, bits)
    sign = np.array([[1 if (w >> k) & 1 else -1 for k in range(j)] for w in range(words)], dtype=np.int64)
    best = {}
    if j <= 3 and not per_block:
        for lab in _groupings(words, s):
            sizes, total = [], 0
            for g in range(s):
                mine = sign[lab == g]
                sizes.append(len(mine))
                total += int(np.abs(mine.sum(axis=0)).sum()) if len(mine) else 0
            key = tuple(sorted(sizes, reverse=True))
            best[key] = max(best.get(key, 0), total)
    else:
        weights = np.sort([bin(w).count("1") for w in range(words)])[::-1]
        top = np.concatenate([[0], np.cumsum(weights)])
        g = [2 * int(top[a]) - a * j for a in range(words + 1)]

        def rec(left, most, parts):
            if len(parts) == s:
                if left == 0:
                    best[tuple(parts)] = sum(g[a] for a in parts)
                return
            for a in range(min(left, most), -1, -1):
                rec(left - a, a, parts + [a])

        rec(words, words, [])
    keys = sorted(best)
    return (np.array(keys, dtype=np.int64).reshape(len(keys), s),
            np.array([min(best[k], cap) for k in keys], dtype=np.int64))


def assignment_bound(rows, t: int, m: int, bits: int) -> int:
    """An upper bound on the final score of every completion of a state at step t (rows: S x (t+1), column 0 the class
    sizes n_i, then the biases d_i), at most ``completion_bound`` and far tighter near the end: it charges keeping the
    past against learning the future, which share the same 2^b final states.
        B = max over sign vectors pi_1..pi_S in {-1,1}^t (one per final state F) of sum over classes i of
            h_i(c_i1, ..., c_iS),   c_iF = <pi_F, d_i>,
        h_i(c) = max over sorted label counts p (``_future_table``) of sum_r p_r c_(r) + n_i V(p)   (c sorted down).
    Proof. Fix a completion; class C_i at step t sends its 2^j continuations (j = m - t) to the final states, W_{F,i}
    the continuations that end in F, a_{F,i} = |W_{F,i}|. A final class is F = union of C_i x W_{F,i}, so its bias is
    (sum_i a_{F,i} d_i on the past coordinates, sum_i n_i e(W_{F,i}) on the future ones), and the final score is at most
        sum_F ||sum_i a_{F,i} d_i||_1 + sum_i n_i sum_F ||e(W_{F,i})||_1        (triangle inequality on the future).
    The first term is sum_F <pi_F, sum_i a_{F,i} d_i> for pi_F the signs of F's past bias, = sum_i sum_F a_{F,i} c_iF,
    and sum_F a_{F,i} c_iF <= sum_r p_r c_(r) with p the counts a_{.,i} sorted (rearrangement). The second: the
    blocks W_{F,i} over F partition {-1,1}^j with sizes p, so sum_F ||e(W_{F,i})||_1 <= V(p) (V's maximum over such
    partitions, or a per-block bound of it), and they are the final classes of the machine run from state i for the
    last j steps (an every-step machine on j bits), so it is also at most ES(j). Hence the score is at most
    sum_i h_i(c_i) at this completion's pi, so at most B. A sign vector whose values c_i are all at most another's is
    dropped (each h_i grows with every c_iF), and the search over multisets of S sign vectors is a branch and bound:
    labels not yet chosen are given, for each class, the largest value a remaining candidate offers.
    Against completion_bound: each c_iF <= ||d_i||_1 and V <= ES(j), so B <= 2^j phi + 2^t ES(j)."""
    m, bits = _check(m, bits)
    rows = np.asarray(rows, dtype=np.int64)
    j = m - t
    if j <= 0:
        return int(np.abs(rows[:, 1:]).sum())
    P, V = _future_table(j, bits)
    return int(_kernels().bound(rows, t, P, V, 0, False))


# --- canonical states --------------------------------------------------------------------------------------------
def _exact_partitions(c: int, k: int) -> np.ndarray:
    """Every partition of c items into exactly k blocks, as restricted growth strings (rows)."""
    out = []

    def rec(labels, used):
        i = len(labels)
        if c - i < k - used:
            return
        if i == c:
            out.append(list(labels))
            return
        for lab in range(used + (used < k)):
            labels.append(lab)
            rec(labels, max(used, lab + 1))
            labels.pop()

    rec([], 0)
    return np.array(out, dtype=np.int64).reshape(-1, c)


@lru_cache(maxsize=None)
def _kernels():
    """The search's inner loops (commcomplexity._everystep_kernels), compiled on first use."""
    from commcomplexity import _everystep_kernels as k

    return k


@lru_cache(maxsize=None)
def _tables(bits: int):
    """The groupings used at each number of children c (exactly min(c, S) blocks), and the relabellings."""
    from numba.typed import List

    s = 1 << bits
    parts = List()
    for c in range(2 * s + 1):
        parts.append(_exact_partitions(c, min(c, s)) if c else np.zeros((1, 0), np.int64))
    perms = np.array(list(itertools.permutations(range(s))), dtype=np.int64)
    return parts, perms


class SearchTimeout(RuntimeError):
    pass


def _search(m: int, bits: int, time_limit=None, start=None, floor: int = 0, progress=None):
    """Layered branch and bound from step t0 (the root state, or `start` = (rows, t0)) to step m. Returns
    (score, path, nodes): path lists (keys at each layer, parent, grouping) for the reconstruction. progress(step,
    done, total) is told how the bounding of each layer goes (the long part at m = 7, b = 2)."""
    k = _kernels()
    canon, expand, finish, prune = k.canon, k.expand, k.finish, k.prune
    s = 1 << bits
    width = m + 2
    if s * width > 62:
        raise ValueError(f"m = {m} is too large for the packed states at b = {bits}")
    parts, perms = _tables(bits)
    t0 = time.perf_counter()

    def check():
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            raise SearchTimeout(f"the every-step search at m = {m}, b = {bits} passed its {time_limit} s")

    if start is None:
        rows, t = np.zeros((s, 1), np.int64), 0
        rows[0, 0] = 1
    else:
        rows, t = start
        rows = np.asarray(rows, dtype=np.int64)
    key = np.empty(t + 1, np.int64)
    canon(rows, t, perms, width, key)
    layer = key.reshape(1, -1)
    layers = []  # (keys, parent, grouping) per step after the start
    nodes = 0
    while t < m - 1:
        j = m - t - 1  # steps left after this one
        coef = 1 << j
        add = optimum_score(j, bits) << (t + 1)
        out_keys, out_parent, out_part = [], [], []
        chunk = max(1, 500_000 // parts[2 * s].shape[0])
        for lo in range(0, len(layer), chunk):
            check()
            sub = layer[lo:lo + chunk]
            cap = len(sub) * parts[2 * s].shape[0]
            ok = np.empty((cap, t + 2), np.int64)
            par = np.empty(cap, np.int64)
            prt = np.empty(cap, np.int64)
            w = expand(sub, t, s, width, perms, parts, coef, add, floor, ok, par, prt)
            uniq, idx = np.unique(ok[:w], axis=0, return_index=True)
            out_keys.append(uniq)
            out_parent.append(par[:w][idx] + lo)
            out_part.append(prt[:w][idx])
        nodes += len(layer)
        keys = np.concatenate(out_keys) if out_keys else np.empty((0, t + 2), np.int64)
        parent = np.concatenate(out_parent) if out_parent else np.empty(0, np.int64)
        part = np.concatenate(out_part) if out_part else np.empty(0, np.int64)
        keys, idx = np.unique(keys, axis=0, return_index=True)
        parent, part = parent[idx], part[idx]
        if floor > 0 and len(keys) and t + 1 <= ASSIGN_MAX_T and j <= ASSIGN_MAX_J:  # the assignment bound, once a state
            P, V = _future_table(j, bits)
            keep = np.empty(len(keys), np.bool_)
            for lo in range(0, len(keys), PRUNE_CHUNK):
                check()
                prune(keys[lo:lo + PRUNE_CHUNK], t + 1, s, width, P, V, floor, np.int64(1) << j,
                      keep[lo:lo + PRUNE_CHUNK])
                if progress is not None:
                    progress(t + 1, min(lo + PRUNE_CHUNK, len(keys)), len(keys))
            keys, parent, part = keys[keep], parent[keep], part[keep]
        layers.append((keys, parent, part))
        layer = keys
        t += 1
        if not len(layer):
            return -1, layers, nodes
    if t == m:  # started at the last step
        return int(np.abs(rows[:, 1:]).sum()), layers, nodes
    best, bq, bp = finish(layer, t, s, width, parts)
    nodes += len(layer)
    layers.append((None, bq, bp))
    return int(best), layers, nodes


def optimum_score(m: int, bits: int, time_limit=None) -> int:
    """ES(m): the optimal score sum_F sum_k |d_{F,k}| of an every-step machine (success 1/2 + ES / (2 m 2^m))."""
    c = closed_form(m, bits)
    return c if c is not None else _optimum_score(m, bits, time_limit)


def _optimum_score(m, bits, time_limit=None):
    if (m, bits) not in _SCORES:
        _SCORES[(m, bits)] = _solve(m, bits, time_limit)[0]
    return _SCORES[(m, bits)]


def _solve(m: int, bits: int, time_limit=None, progress=None):
    """(score, layers, nodes) of the optimum. A beam search finds a real machine (its score a lower bound). Then
    branch and bound at floors coming down from the sphere bound's score: a search at floor F keeps every path whose
    score is at least F (each of its bounds is at least its score), so it returns the optimum when F <= OPT and
    nothing reaching F otherwise. The last floor is one above the beam's score; if nothing reaches it, the beam's
    machine is optimal."""
    start = time.perf_counter()

    def left():
        if time_limit is None:
            return None
        rest = time_limit - (time.perf_counter() - start)
        if rest <= 0:
            raise SearchTimeout(f"the every-step search at m = {m}, b = {bits} passed its {time_limit} s")
        return rest

    found, beam_layers = _beam(m, bits, BEAM, left)
    base = max(found, _incumbent(m, bits))
    # floors from the top down: a search whose floor is above the optimum finds nothing and is quick (its bounds cut
    # early), one at or below the optimum returns the optimum itself, and the nearer its floor the quicker
    top = _upper_score(m, bits)
    step = max(1, (top - base) // FLOOR_STEPS)
    floor = top - step
    nodes = 0
    while floor > base + 1:
        score, layers, more = _search(m, bits, left(), floor=floor, progress=progress)
        nodes += more
        if score >= floor:
            return score, layers, nodes
        floor -= step
    score, layers, more = _search(m, bits, left(), floor=base + 1, progress=progress)
    nodes += more
    if score > base:
        return score, layers, nodes
    if found < base:  # the floor came from the closed forms, not a machine in hand: search again at it
        return _search(m, bits, left(), floor=base, progress=progress)
    return base, beam_layers, nodes


#: the descent of floors from the sphere bound to the beam's score takes steps of 1/FLOOR_STEPS of that range
FLOOR_STEPS = 16


def _upper_score(m: int, bits: int) -> int:
    """An integer at least the every-step optimum: the sphere bound's score (it bounds every one-way protocol, and an
    every-step machine is one), rounded down past a float's error."""
    from commcomplexity.bounds import sphere_success

    return int(np.floor((2 * float(sphere_success(m, bits)) - 1) * m * (1 << m) + 1e-6))


#: how many states the beam keeps per step (the incumbent, the last floor of the descent; any width gives a valid
#: lower bound: at m = 7, b = 2, 100 states find 368 and 1,000 find 372, the optimum being 388; at m = 6 100 find 184)
BEAM = 100


def _beam(m: int, bits: int, width_states: int = BEAM, left=None):
    """A real machine found by keeping, at each step, the states with the largest score phi (the ones the cheap bound
    ranks first): (its score, its layers in the search's form) or (-1, None) before any step."""
    k = _kernels()
    canon, expand, finish = k.canon, k.expand, k.finish
    s = 1 << bits
    width = m + 2
    if m < 2 or s * width > 62:
        return -1, None
    parts, perms = _tables(bits)
    rows = np.zeros((s, 1), np.int64)
    rows[0, 0] = 1
    key = np.empty(1, np.int64)
    canon(rows, 0, perms, width, key)
    layer = key.reshape(1, -1)
    layers = []
    for t in range(m - 1):
        if left is not None:
            left()  # raises past the time limit
        cap = len(layer) * parts[2 * s].shape[0]
        ok = np.empty((cap, t + 2), np.int64)
        par = np.empty(cap, np.int64)
        prt = np.empty(cap, np.int64)
        w = expand(layer, t, s, width, perms, parts, 0, 0, 0, ok, par, prt)
        keys, idx = np.unique(ok[:w], axis=0, return_index=True)
        phi = k.scores(keys, t + 1, s, width)
        top = np.argsort(-phi, kind="stable")[:width_states]
        layers.append((keys[top], par[:w][idx][top], prt[:w][idx][top]))
        layer = keys[top]
    best, bq, bp = finish(layer, m - 1, s, width, parts)
    layers.append((None, bq, bp))
    return int(best), layers


def _incumbent(m: int, bits: int) -> int:
    """A lower bound for the pruning: the better of holding x_1..x_b (the prefix) and the b-bit optimum one size
    down, extended by forgetting x_m (score 2 ES(m-1))."""
    best = min(bits, m) << m
    if m > 1:
        best = max(best, 2 * optimum_score(m - 1, bits))
    return best


def best_completion(rows, t: int, m: int, bits: int) -> int:
    """The exact best final score from a given state at step t (rows: S x (t+1), column 0 the class sizes)."""
    return _search(m, bits, start=(rows, t))[0]


# --- the machine ------------------------------------------------------------------------------------------------
def _prefix_machine(m: int, bits: int) -> Machine:
    """Hold x_1..x_min(b,m) as the state's low bits (the optimum for b = 0 and b >= m - 1)."""
    s = 1 << bits
    tables = []
    for t in range(m):
        tables.append(tuple(tuple((st | (x << t)) if t < bits else st for x in (0, 1)) for st in range(s)))
    return _with_answers(m, bits, tuple(tables))


def _with_answers(m: int, bits: int, tables: tuple) -> Machine:
    """Bob's best answers for the tables: the majority of x_k in each final state (ties answered 0)."""
    words, finals = _finals(m, tables)
    s = 1 << bits
    answers = []
    for st in range(s):
        mine = words[finals == st]
        ones = mine.sum(axis=0) if len(mine) else np.zeros(m, np.int64)
        answers.append(tuple(int(2 * o > len(mine)) for o in ones))
    return Machine(m, bits, tables, tuple(answers))


def _finals(m: int, tables):
    v = np.arange(1 << m)
    words = ((v[:, None] >> np.arange(m)) & 1).astype(np.int64)  # word v: x_{t+1} = bit t of v
    state = np.zeros(1 << m, dtype=np.int64)
    for t in range(m):
        table = np.asarray(tables[t], dtype=np.int64)
        state = table[state, words[:, t]]
    return words, state


def simulate(machine: Machine, m: int | None = None) -> Fraction:
    """The machine's exact success: run it on all 2^m inputs, Bob answers every k from the final state."""
    m = machine.m if m is None else m
    words, finals = _finals(m, machine.tables)
    answers = np.asarray(machine.answers, dtype=np.int64)
    right = int((answers[finals] == words).sum())
    return Fraction(right, m * (1 << m))


def _rebuild(m: int, bits: int, layers) -> Machine:
    """A real machine along the search's optimal path: at each step, a grouping of the real children whose
    canonical form is the recorded next state (one exists: the real state is a symmetric image of the canonical
    one), then the last step's best grouping."""
    k = _kernels()
    canon, children = k.canon, k.children
    s = 1 << bits
    width = m + 2
    parts, perms = _tables(bits)
    chain = []  # the canonical key after each step, from step 1 on
    q = layers[-1][1]
    for keys, parent, _ in reversed(layers[:-1]):
        chain.append(keys[q])
        q = parent[q]
    chain.reverse()
    rows = np.zeros((s, 1), np.int64)
    rows[0, 0] = 1
    tables = []
    for t in range(m):
        child = np.zeros((2 * s, t + 2), np.int64)
        c = children(rows, t, child)
        owners = [(st, x) for st in range(s) if rows[st, 0] > 0 for x in (0, 1)]
        best, chosen = None, None
        for p in parts[c]:
            grp = np.zeros((s, t + 2), np.int64)
            for i in range(c):
                grp[p[i]] += child[i]
            if t < m - 1:
                key = np.empty(t + 2, np.int64)
                canon(grp, t + 1, perms, width, key)
                if np.array_equal(key, chain[t]):
                    chosen = (p, grp)
                    break
            else:
                score = int(np.abs(grp[:, 1:]).sum())
                if best is None or score > best:
                    best, chosen = score, (p, grp)
        p, rows = chosen
        table = [[0, 0] for _ in range(s)]
        for i, (st, x) in enumerate(owners):
            table[st][x] = int(p[i])
        tables.append(tuple(tuple(r) for r in table))
    return _with_answers(m, bits, tuple(tables))


def every_step_optimum(m: int, bits: int, time_limit=None, progress=None) -> EveryStep:
    """The best success of any b-bit every-step machine for Index on m bits, with an optimal machine."""
    m, bits = _check(m, bits)
    t0 = time.perf_counter()
    c = closed_form(m, bits)
    if c is not None:
        machine = _prefix_machine(m, bits)
        return EveryStep(m, bits, simulate(machine), machine, "closed form", 0, time.perf_counter() - t0)
    if not searchable(m, bits):
        raise ValueError(f"the every-step search runs for b = 1 at m <= {MAX_M[1]} and b = 2 at m <= {MAX_M[2]} "
                         f"(and b >= m - 1 at every m), not m = {m}, b = {bits}")
    try:
        for j in range(1, m):  # the bound needs every smaller optimum
            optimum_score(j, bits, time_limit)
        score, layers, nodes = _solve(m, bits, time_limit, progress)
    except SearchTimeout:
        raise SearchTimeout(f"the every-step search at m = {m}, b = {bits} (and the smaller optima its bound needs) "
                            f"passed its {time_limit} s limit") from None
    _SCORES[(m, bits)] = score
    machine = _rebuild(m, bits, layers)
    success = Fraction(1, 2) + Fraction(score, 2 * m * (1 << m))
    if simulate(machine) != success:
        raise AssertionError(f"the rebuilt machine does not reach the searched optimum at m = {m}, b = {bits}")
    return EveryStep(m, bits, success, machine, "optimal", nodes, time.perf_counter() - t0)


def describe(machine: Machine) -> list:
    """The machine in words: each step's table on the states in use, and what each final state means."""
    m = machine.m
    lines = []
    reach = {0}
    for t, table in enumerate(machine.tables):
        moves = "; ".join(f"state {st}: x=0 -> {table[st][0]}, x=1 -> {table[st][1]}" for st in sorted(reach))
        lines.append(f"step {t + 1} (reads x_{t + 1}): {moves}")
        reach = {table[st][x] for st in reach for x in (0, 1)}
    words, finals = _finals(m, machine.tables)
    for st in sorted(reach):
        mine = words[finals == st]
        ones = mine.sum(axis=0)
        held = ", ".join(f"x_{k + 1}={machine.answers[st][k]}" + ("" if 2 * ones[k] != len(mine) else "?")
                         for k in range(m))
        known = sum(1 for k in range(m) if ones[k] in (0, len(mine)))
        lines.append(f"final state {st}: {len(mine)} of {1 << m} inputs; Bob answers {held} "
                     f"({known} {'bit' if known == 1 else 'bits'} certain; ? = a tie, a guess)")
    return lines


# --- independent checks -----------------------------------------------------------------------------------------
def _groupings(c: int, s: int):
    """Every labelling of c children with at most s labels, up to renaming the labels (restricted growth)."""
    return np.concatenate([_exact_partitions(c, k) for k in range(1, min(c, s) + 1)])


def _score_of_classes(m: int, classes) -> int:
    """sum over classes and k of |#(x_k = 1) - #(x_k = 0)|, from the words themselves (word v: x_{t+1} = bit t)."""
    total = 0
    for cls in classes:
        v = np.fromiter(cls, dtype=np.int64)
        ones = ((v[:, None] >> np.arange(m)) & 1).sum(axis=0)
        total += int(np.abs(2 * ones - len(v)).sum())
    return total


def _last_step_best(m: int, s: int, classes) -> int:
    """The best last step over every labelling of the children, from the words' counts (vectorised)."""
    rows = []
    for cls in classes:
        for x in (0, 1):
            v = np.fromiter((w | (x << (m - 1)) for w in cls), dtype=np.int64)
            rows.append(2 * ((v[:, None] >> np.arange(m)) & 1).sum(axis=0) - len(v))
    vec = np.array(rows)
    labels = _groupings(len(rows), s)
    onehot = (labels[:, None, :] == np.arange(s)[None, :, None]).astype(np.int64)  # labelling x group x child
    return int(np.abs(onehot @ vec).sum(axis=(1, 2)).max())


def brute_force_every_step(m: int, bits: int) -> Fraction:
    """Every machine: at each step every transition table, taken up to renaming the states (a renaming changes
    no class, so no success), on explicit sets of words; the last step scored over all its tables at once.
    Sizes: b = 1 up to m = 6 (2 x 8^4 machines before the last step), b = 2 up to m = 4."""
    m, bits = _check(m, bits)
    if (bits, m) not in {(1, k) for k in range(1, 7)} | {(2, k) for k in range(1, 5)}:
        raise ValueError("the brute force is for b = 1, m <= 6 and b = 2, m <= 4")
    s = 1 << bits

    def rec(t, classes):
        if t == m - 1:
            return _last_step_best(m, s, classes)
        kids = [[w | (x << t) for w in cls] for cls in classes for x in (0, 1)]
        best = -1
        for lab in _groupings(len(kids), s):
            nxt = [[] for _ in range(int(lab.max()) + 1)]
            for i, kid in enumerate(kids):
                nxt[lab[i]].extend(kid)
            best = max(best, rec(t + 1, nxt))
        return best

    return Fraction(1, 2) + Fraction(rec(0, [[0]]), 2 * m * (1 << m))


def dynamic_program_every_step(m: int, bits: int) -> Fraction:
    """A second, independent optimum: forward over the distinct partitions of {0,1}^t themselves (sets of sets of
    words; no size-and-bias reduction, no symmetry but the states' names, no dominance, no bound). b = 1 up to
    m = 7, b = 2 up to m = 4."""
    m, bits = _check(m, bits)
    s = 1 << bits
    layer = {frozenset([frozenset([0])])}
    for t in range(m - 1):
        nxt = set()
        for part in layer:
            kids = [frozenset(w | (x << t) for w in cls) for cls in part for x in (0, 1)]
            for lab in _groupings(len(kids), s):
                groups = [set() for _ in range(int(lab.max()) + 1)]
                for i, kid in enumerate(kids):
                    groups[lab[i]] |= kid
                nxt.add(frozenset(frozenset(g) for g in groups))
        layer = nxt
    best = max(_last_step_best(m, s, [sorted(c) for c in part]) for part in layer)
    return Fraction(1, 2) + Fraction(best, 2 * m * (1 << m))
