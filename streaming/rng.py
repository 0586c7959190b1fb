"""Counter-based randomness: every draw is a hash of (seed, trial, position, salt).

So a stream is the same bytes whatever the thread count and however trials are chunked.
"""
import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


@njit(cache=True, inline="always")
def mix64(z):
    """splitmix64's finaliser: a bijection of uint64 with good avalanche."""
    z = np.uint64(z)
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def draw(seed, trial, pos, salt):
    """64 random bits for (seed, trial, pos, salt)."""
    h = mix64(np.uint64(seed) + _GOLDEN * np.uint64(salt + 1))
    h = mix64(h ^ (np.uint64(trial) * _GOLDEN))
    return mix64(h ^ (np.uint64(pos) + _GOLDEN * np.uint64(2)))


@njit(cache=True)
def uniform_below(seed, trial, pos, salt, n):
    """Exactly uniform integer in [0, n) for n < 2^32 (Lemire's multiply-shift with rejection)."""
    nn = np.uint64(n)
    threshold = (np.uint64(1 << 32) - nn) % nn
    attempt = 0
    while True:
        x = draw(seed, trial, pos, salt + 1000 * attempt) & np.uint64(0xFFFFFFFF)
        m = x * nn
        if (m & np.uint64(0xFFFFFFFF)) >= threshold:
            return np.int64(m >> np.uint64(32))
        attempt += 1


@njit(cache=True, inline="always")
def unit(seed, trial, pos, salt):
    """Uniform float in [0, 1) with 53 random bits."""
    return np.float64(draw(seed, trial, pos, salt) >> np.uint64(11)) * (1.0 / 9007199254740992.0)
