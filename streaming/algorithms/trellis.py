"""`trellis`: a time-varying convolutional trellis quantiser for Index, near the information-theoretic limit.

Lossy compression of x at rate R = B/n with Hamming distortion D reaches success 1 - D with R = 1 - H(D); this
coder gets close to that with B message bits u_0..u_{B-1}, one per trellis step. Source bit j is reconstructed at
step s = floor(j B / n) as parity(taps_j & reg_s), reg_s = (u_s, u_{s-1}, ..., u_{s-nu}) (bit 0 the newest), with
random taps per source bit drawn from the public coins (bit 0 always set, so every step matters). Encoding picks
the message that minimises the Hamming distortion by Viterbi over the 2^nu states (u_{s-1}..u_{s-nu}).

The budget holds at every step, not only at the cut: source bits are buffered in blocks of trellis steps, and at
a block's last source bit the buffer is replaced by the block's message bits (Viterbi from the known state the
previous block ended in). While block [s0, s1) is open the state holds s0 message bits plus the block's buffered
source bits, so the plan schedules blocks greedily (long blocks early, short ones near the cut) so that
s0 + (source bits of the block) - 1 <= b, and picks the largest B for which such a schedule exists (optionally
with every block at least `min_steps` trellis steps long). Peak state = max over blocks of that sum; cut
state = B. Measured at n = 1024, b = 512, nu = 8 (4,000 streams): min_steps 1 gives B = 512 in 10 blocks and
success 0.872, min_steps 24 gives B = 494 in 5 blocks and 0.852: the rate matters far more than the look-ahead
lost at block ends, so min_steps defaults to 1. Viterbi's temporaries (path metrics, decisions) live inside one ``step`` call, which the budget
contract allows.

Cost: about B * 2^(nu+1) * (4 + source bits per step / 64) operations per stream.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit

from ..bits import get_bit, popcount, read_answer, set_bit, set_bits, store_answer
from ..rng import draw
from ..tokens import NUM0
from .registry import Algorithm, register

SALT_TAPS = 77
HEADER = 5  # n, b, B, nu, K, then K + 1 block boundaries in trellis steps


def _src(s, n, big_b):
    """First source bit (0-indexed) of trellis step s: ceil(s n / B) (plain Python here, compiled as _src_nb)."""
    return (s * n + big_b - 1) // big_b


_src_nb = njit(cache=True)(_src)


def schedule(n: int, b: int, big_b: int, min_steps: int):
    """Greedy block boundaries (in steps) for B message bits, or None when some block would be too short."""
    bounds = [0]
    s0 = 0
    while s0 < big_b:
        room = b - s0 + 1 + _src(s0, n, big_b)  # the block's last source bit is never buffered
        s1 = min(big_b, (room * big_b) // n)
        while s1 > s0 and _src(s1, n, big_b) - _src(s0, n, big_b) - 1 > b - s0:
            s1 -= 1
        if s1 <= s0 or (s1 - s0 < min_steps and s1 < big_b):
            return None
        bounds.append(s1)
        s0 = s1
    return bounds


@lru_cache(maxsize=256)
def trellis_layout(n: int, b: int, min_steps: int):
    """(B, block boundaries): the largest B <= min(b, n) whose greedy schedule keeps blocks >= min_steps steps."""
    top = min(b, n)
    if top <= 0:
        return 0, (0,)
    lo, hi = 0, top  # schedule(lo) feasible (B = 0 trivially), find the largest feasible
    if schedule(n, b, top, min_steps) is not None:
        return top, tuple(schedule(n, b, top, min_steps))
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if schedule(n, b, mid, min_steps) is not None:
            lo = mid
        else:
            hi = mid
    return lo, tuple(schedule(n, b, lo, min_steps)) if lo else (0,)


def peak_bits(n: int, big_b: int, bounds) -> int:
    peak = big_b
    for s0, s1 in zip(bounds[:-1], bounds[1:]):
        peak = max(peak, s0 + _src(s1, n, big_b) - _src(s0, n, big_b) - 1)
    return peak


@njit(cache=True, inline="always")
def _taps(coins, j, nu):
    return (np.int64(draw(coins, 0, j, SALT_TAPS) & np.uint64((1 << (nu + 1)) - 1))) | 1


@njit(cache=True, inline="always")
def _parity(x):
    x ^= x >> 32
    x ^= x >> 16
    x ^= x >> 8
    x ^= x >> 4
    x ^= x >> 2
    x ^= x >> 1
    return x & 1


@njit(cache=True)
def _block_of(params, big_b, n, j):
    """Index i of the block whose source bits contain j (binary search over the step boundaries)."""
    k = params[4]
    lo, hi = 0, k
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _src_nb(params[HEADER + mid], n, big_b) <= j:
            lo = mid
        else:
            hi = mid
    return lo


@njit(cache=True)
def _register(state, s, nu):
    reg = np.int64(0)
    for i in range(nu + 1):
        if s - i >= 0:
            reg |= get_bit(state, s - i) << i
    return reg


@njit(cache=True)
def _encode_block(state, last_bit, s0, s1, n, big_b, nu, coins):
    """Viterbi over steps s0..s1-1; the block's source bits are buffered at state bits s0.. (last one in hand)."""
    nstates = 1 << nu
    nregs = 1 << (nu + 1)
    mask = nstates - 1
    first_src = _src_nb(s0, n, big_b)
    last_src = _src_nb(s1, n, big_b) - 1
    inf = np.int64(1) << 40
    pm = np.full(nstates, inf, np.int64)
    start = np.int64(0)
    for i in range(nu):
        if s0 - 1 - i >= 0:
            start |= get_bit(state, s0 - 1 - i) << i
    pm[start] = 0
    steps = s1 - s0
    dec = np.empty((steps, nstates), np.uint8)
    cost = np.empty(nregs, np.int64)
    out = np.empty(nregs, np.int64)
    col = np.empty(nu + 1, np.int64)
    new = np.empty(nstates, np.int64)
    for st in range(steps):
        s = s0 + st
        j0 = _src_nb(s, n, big_b)
        j1 = _src_nb(s + 1, n, big_b)
        for r in range(nregs):
            cost[r] = 0
        for c0 in range(j0, j1, 64):
            c1 = min(j1, c0 + 64)
            width = c1 - c0
            for i in range(nu + 1):
                col[i] = 0
            xw = np.int64(0)
            for jj in range(width):
                j = c0 + jj
                taps = _taps(coins, j, nu)
                for i in range(nu + 1):
                    col[i] |= ((taps >> i) & 1) << jj
                if j == last_src:
                    xbit = last_bit
                else:
                    xbit = get_bit(state, s0 + (j - first_src))
                xw |= np.int64(xbit) << jj
            out[0] = 0
            for h in range(nu + 1):
                half = 1 << h
                for r in range(half):
                    out[half + r] = out[r] ^ col[h]
            for r in range(nregs):
                cost[r] += popcount(out[r] ^ xw)
        for ns in range(nstates):
            p0 = (ns >> 1)
            p1 = (ns >> 1) | (1 << (nu - 1)) if nu > 0 else 0
            m0 = pm[p0] + cost[ns]
            m1 = pm[p1] + cost[ns | (1 << nu)] if nu > 0 else inf * 4
            if m1 < m0:
                new[ns] = m1
                dec[st, ns] = 1
            else:
                new[ns] = m0
                dec[st, ns] = 0
        for ns in range(nstates):
            pm[ns] = new[ns]
    best = 0
    for ns in range(1, nstates):
        if pm[ns] < pm[best]:
            best = ns
    # clear the buffer, then write the message bits found by traceback
    pos = s0
    remaining = last_src - first_src
    while remaining > 0:
        w = min(64, remaining)
        set_bits(state, pos, w, 0)
        pos += w
        remaining -= w
    ns = best
    for st in range(steps - 1, -1, -1):
        set_bit(state, s0 + st, ns & 1)
        d = dec[st, ns]
        ns = ((ns >> 1) | (np.int64(d) << (nu - 1))) & mask if nu > 0 else 0


@njit(cache=True)
def _trellis_step(state, token, t, params, coins):
    n, b, big_b, nu = params[0], params[1], params[2], params[3]
    if 1 <= t <= n:
        if big_b == 0:
            return
        j = t - 1
        i = _block_of(params, big_b, n, j)
        s0 = params[HEADER + i]
        s1 = params[HEADER + i + 1]
        first = _src_nb(s0, n, big_b)
        if j == _src_nb(s1, n, big_b) - 1:
            _encode_block(state, token - NUM0, s0, s1, n, big_b, nu, coins)
        else:
            set_bit(state, s0 + (j - first), token - NUM0)
    elif t == n + 1:
        k = token - NUM0
        ans = 0
        if big_b > 0 and 1 <= k <= n:
            j = k - 1
            s = (j * big_b) // n
            ans = _parity(_taps(coins, j, nu) & _register(state, s, nu))
        store_answer(state, ans, b)


def make_trellis(name: str, nu: int, min_steps: int, summary: str) -> Algorithm:
    def plan(task, b, coins):
        big_b, bounds = trellis_layout(task.n, b, min_steps)
        return np.array([task.n, b, big_b, nu, len(bounds) - 1, *bounds], dtype=np.int64)

    def used(task, b):
        big_b, bounds = trellis_layout(task.n, b, min_steps)
        return peak_bits(task.n, big_b, bounds) if big_b else 0

    def settings(task, b):
        big_b, bounds = trellis_layout(task.n, b, min_steps)
        return (f"nu={nu} ({1 << nu} states), B={big_b} message bits at the cut, {len(bounds) - 1} blocks "
                f"(min {min_steps} steps), peak {used(task, b)} bits")

    return Algorithm(
        name=name, task="index", summary=summary,
        memory="peak max(B, s0 + block source bits - 1) <= b; B message bits at the cut",
        plan=plan, step=_trellis_step, output=read_answer, used_bits=used, settings=settings,
    )


#: name -> (nu, min_steps): the effort settings (time grows as 2^nu; see the README's coder benchmark)
TRELLIS_EFFORTS = {"trellis-fast": (6, 1), "trellis": (9, 1), "trellis-best": (12, 1)}
for _name, (_nu, _min) in TRELLIS_EFFORTS.items():
    register(make_trellis(_name, _nu, _min,
                          f"time-varying convolutional trellis quantiser, Viterbi over 2^{_nu} states, in blocks"))
