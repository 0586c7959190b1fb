"""The theory side of streambound: entropy, exact bounds, reductions, statistics.

Nothing here imports torch or numba-compiled streaming code; it is plain numpy and scipy.
"""
