"""Bit access into an engine-owned state of uint64 words. Bit i lives in word i // 64 at offset i % 64."""
import numpy as np
from numba import njit

_ONE = np.uint64(1)


@njit(cache=True, inline="always")
def get_bit(state, i):
    return np.int64((state[i >> 6] >> np.uint64(i & 63)) & _ONE)


@njit(cache=True, inline="always")
def set_bit(state, i, v):
    w = i >> 6
    sh = np.uint64(i & 63)
    state[w] = (state[w] & ~(_ONE << sh)) | (np.uint64(v & 1) << sh)


@njit(cache=True, inline="always")
def _low_mask(width):
    if width >= 64:
        return ~np.uint64(0)
    return (_ONE << np.uint64(width)) - _ONE


@njit(cache=True)
def get_bits(state, pos, width):
    """The `width` (<= 64) bits starting at bit `pos`, as an unsigned integer."""
    if width <= 0:
        return np.uint64(0)
    w = pos >> 6
    off = pos & 63
    value = state[w] >> np.uint64(off)
    if off + width > 64:
        value |= state[w + 1] << np.uint64(64 - off)
    return value & _low_mask(width)


@njit(cache=True)
def set_bits(state, pos, width, value):
    """Write the low `width` (<= 64) bits of value at bit `pos`."""
    if width <= 0:
        return
    value = np.uint64(value) & _low_mask(width)
    w = pos >> 6
    off = pos & 63
    lo_width = min(width, 64 - off)
    lo_mask = _low_mask(lo_width) << np.uint64(off)
    state[w] = (state[w] & ~lo_mask) | ((value << np.uint64(off)) & lo_mask)
    if lo_width < width:
        hi_width = width - lo_width
        hi_mask = _low_mask(hi_width)
        state[w + 1] = (state[w + 1] & ~hi_mask) | ((value >> np.uint64(lo_width)) & hi_mask)


@njit(cache=True)
def clear_state(state):
    for i in range(state.shape[0]):
        state[i] = np.uint64(0)


@njit(cache=True)
def store_answer(state, answer, budget):
    """Replace the whole state by the answer's bits (what a final step does); nothing survives at budget 0."""
    clear_state(state)
    width = min(budget, 64)
    if width > 0:
        set_bits(state, 0, width, np.uint64(answer))


@njit(cache=True)
def load_answer(state, budget):
    return np.int64(get_bits(state, 0, min(budget, 64)))


@njit(cache=True)
def read_answer(state, params, coins):
    """The ``output`` of every algorithm whose final step stores its answer in the state's low bits."""
    return load_answer(state, params[1])


@njit(cache=True, inline="always")
def popcount(x):
    """Number of set bits of a 64-bit word."""
    x = np.uint64(x)
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((x * np.uint64(0x0101010101010101)) >> np.uint64(56))
