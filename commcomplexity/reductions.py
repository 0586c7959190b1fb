"""Index -> every task, as code that builds the hard stream (PAPER.md's table, with its fixes).

Each map takes a batch of Index instances, x (trials x m bits) and k (trials,) in 1..m, and returns the task's
token streams (int32, Alice's tokens all before Bob's), the answers, and the cut (Bob's first position). The
task's answer is a stated function of x_k, checked exhaustively in the tests by independent reference solvers.
The hard distribution of every task is exactly its map applied to uniform Index, so the two cannot drift apart.

Size maps, m(size): index n -> n; recall n tokens -> n/2; cgram n tokens -> n/c; counting n -> n;
istree N nodes -> N - 3.
Fixes beyond PAPER.md: AR and c-gram values are x_i + m + 1 (the paper's x_i + m collides with key m, which
makes "the token after q" ambiguous); Counting writes j at position j when x_j = 1 and 0 otherwise, a stream of
fixed length n with the same counts as the paper's list of all j with x_j = 1.
"""
from __future__ import annotations

import numpy as np

from streaming.tokens import BOS, NUM0, TILDE

YES_ANSWER, NO_ANSWER = 1, 0


def _check(x, k):
    x = np.atleast_2d(np.asarray(x, dtype=np.int64))
    k = np.atleast_1d(np.asarray(k, dtype=np.int64))
    trials, m = x.shape
    if k.shape != (trials,) or np.any((k < 1) | (k > m)):
        raise ValueError("k must hold one query in 1..m per instance")
    if np.any((x != 0) & (x != 1)):
        raise ValueError("x must be bits")
    return x, k, trials, m


# --- sizes ---------------------------------------------------------------------------------------------------
def index_size(task: str, size: int, c: int = 2) -> int:
    """m(size): the Index size a task's hard stream embeds."""
    if task == "index":
        return size
    if task == "recall":
        return size // 2
    if task == "cgram":
        return size // c
    if task == "counting":
        return size
    if task == "istree":
        return size - 3
    raise ValueError(f"no reduction for task {task!r}")


# --- the maps ------------------------------------------------------------------------------------------------
def index_to_recall(x, k):
    """`<s> 1 v_1 2 v_2 ... m v_m  k` with v_i = x_i + m + 1; answer v_k (the value paired with key k)."""
    x, k, trials, m = _check(x, k)
    tokens = np.empty((trials, 2 * m + 2), dtype=np.int32)
    tokens[:, 0] = BOS
    tokens[:, 1 : 2 * m + 1 : 2] = NUM0 + np.arange(1, m + 1)
    tokens[:, 2 : 2 * m + 2 : 2] = NUM0 + x + m + 1
    tokens[:, 2 * m + 1] = NUM0 + k
    answers = x[np.arange(trials), k - 1] + m + 1
    return tokens, answers, 2 * m + 1


def index_to_cgram(x, k, c: int):
    """For i = 1..m: i repeated c-1 times, then v_i = x_i + m + 1; query: k repeated c-1 times; answer v_k."""
    if c < 2:
        raise ValueError(f"c must be at least 2, got {c}")
    x, k, trials, m = _check(x, k)
    length = 1 + c * m + (c - 1)
    tokens = np.empty((trials, length), dtype=np.int32)
    tokens[:, 0] = BOS
    body = np.empty((trials, m, c), dtype=np.int32)
    body[:, :, : c - 1] = (NUM0 + np.arange(1, m + 1))[None, :, None]
    body[:, :, c - 1] = NUM0 + x + m + 1
    tokens[:, 1 : 1 + c * m] = body.reshape(trials, c * m)
    tokens[:, 1 + c * m :] = (NUM0 + k)[:, None]
    answers = x[np.arange(trials), k - 1] + m + 1
    return tokens, answers, 1 + c * m


def index_to_counting(x, k):
    """Position j holds j when x_j = 1 and 0 otherwise; then query k and threshold 0; answer 1 iff x_k = 1."""
    x, k, trials, m = _check(x, k)
    tokens = np.empty((trials, m + 3), dtype=np.int32)
    tokens[:, 0] = BOS
    tokens[:, 1 : m + 1] = NUM0 + x * np.arange(1, m + 1)
    tokens[:, m + 1] = NUM0 + k
    tokens[:, m + 2] = NUM0 + 0
    answers = x[np.arange(trials), k - 1].copy()
    return tokens, answers, m + 1


def istree_edges(x, k):
    """Edge lists (trials x (N-1) x 2, u < v) of the two-star graphs: N = m + 3 nodes.

    x_full = (0, x_1, .., x_m) has N - 2 bits; prefix parities p_a = x_full_1 xor .. xor x_full_a put leaf a on
    hub N - 1 (p_a = 0) or N (p_a = 1); Bob's edge (k, k+1) comes last. The graph is a tree iff p_k != p_{k+1}
    iff x_full_{k+1} = x_k = 1.
    """
    x, k, trials, m = _check(x, k)
    n_nodes = m + 3
    full = np.concatenate([np.zeros((trials, 1), dtype=np.int64), x], axis=1)
    parity = np.cumsum(full, axis=1) % 2
    edges = np.empty((trials, n_nodes - 1, 2), dtype=np.int64)
    edges[:, : n_nodes - 2, 0] = np.arange(1, n_nodes - 1)
    edges[:, : n_nodes - 2, 1] = n_nodes - 1 + parity
    edges[:, n_nodes - 2, 0] = k
    edges[:, n_nodes - 2, 1] = k + 1
    return edges


def edges_to_tokens(edges) -> np.ndarray:
    """`<s> u1 ~ v1 u2 ~ v2 ...` with each edge written u < v (eq. 6)."""
    edges = np.asarray(edges)
    trials, count, _ = edges.shape
    lo = np.minimum(edges[:, :, 0], edges[:, :, 1])
    hi = np.maximum(edges[:, :, 0], edges[:, :, 1])
    tokens = np.empty((trials, 1 + 3 * count), dtype=np.int32)
    tokens[:, 0] = BOS
    tokens[:, 1::3] = NUM0 + lo
    tokens[:, 2::3] = TILDE
    tokens[:, 3::3] = NUM0 + hi
    return tokens


def index_to_istree(x, k):
    """The IsTree hard stream; answer YES (1) iff x_k = 1."""
    x, k, trials, m = _check(x, k)
    tokens = edges_to_tokens(istree_edges(x, k))
    answers = np.where(x[np.arange(trials), k - 1] == 1, YES_ANSWER, NO_ANSWER)
    return tokens, answers, tokens.shape[1] - 3


# --- the permutation distribution (after Sun and Woodruff 2015) ------------------------------------------------
def permutation_bits(n: int) -> int:
    """Bits per value of a permutation of [n] (values 0..n-1)."""
    return max(1, int(n - 1).bit_length())


def permutation_edges(sigma, i, j):
    """Edge lists on N = 2n nodes (left l_a = a, right r_v = n + 1 + v for value v = 0..n-1).

    Alice: the matching l_a - r_sigma(a). Bob, asking bit j of sigma(i): a path through the right nodes whose
    value has bit j = 1 (in increasing order), a path through those with bit j = 0, and the edge l_i - (first
    node of the 1-path): N - 1 edges. Tree iff bit j of sigma(i) is 0; when it is 1 the last edge closes a
    cycle, or doubles the matching edge when r_sigma(i) is that first node.
    """
    sigma = np.atleast_2d(np.asarray(sigma, dtype=np.int64))
    i = np.atleast_1d(np.asarray(i, dtype=np.int64))
    j = np.atleast_1d(np.asarray(j, dtype=np.int64))
    trials, n = sigma.shape
    if n < 2 or np.any(np.sort(sigma, axis=1) != np.arange(n)):
        raise ValueError("sigma must hold permutations of 0..n-1 with n >= 2")
    width = permutation_bits(n)
    if np.any((i < 1) | (i > n)) or np.any((j < 0) | (j >= width)):
        raise ValueError("queries need i in 1..n and j in 0..bits-1")
    edges = np.empty((trials, 2 * n - 1, 2), dtype=np.int64)
    values = np.arange(n)
    for t in range(trials):
        edges[t, :n, 0] = np.arange(1, n + 1)
        edges[t, :n, 1] = n + 1 + sigma[t]
        ones = n + 1 + values[(values >> j[t]) & 1 == 1]
        zeros = n + 1 + values[(values >> j[t]) & 1 == 0]
        pos = n
        for path in (ones, zeros):
            for a, b in zip(path[:-1], path[1:]):
                edges[t, pos] = (a, b)
                pos += 1
        edges[t, pos] = (i[t], ones[0])
    return edges


def permutation_answers(sigma, i, j):
    sigma = np.atleast_2d(np.asarray(sigma, dtype=np.int64))
    bit = (sigma[np.arange(sigma.shape[0]), np.asarray(i) - 1] >> np.asarray(j)) & 1
    return np.where(bit == 0, YES_ANSWER, NO_ANSWER)


# --- one entry point for every task's hard stream --------------------------------------------------------------
def hard_stream(task, x, k):
    """(tokens, answers, cut) of a task object's hard stream for Index instances (x, k)."""
    name = task.name
    if name == "index":
        from streaming.tasks.index import encode

        x2, k2, trials, m = _check(x, k)
        return encode(x2, k2), x2[np.arange(trials), k2 - 1].copy(), m + 1
    if name == "recall":
        return index_to_recall(x, k)
    if name == "counting":
        return index_to_counting(x, k)
    if name == "istree":
        return index_to_istree(x, k)
    if name == "cgram":
        return index_to_cgram(x, k, task.c)
    raise ValueError(f"no reduction for task {name!r}")


def size_for_index_size(task: str, m: int, c: int = 3) -> int:
    """The task size whose hard stream embeds exactly m Index bits (the inverse of index_size)."""
    return {"index": m, "recall": 2 * m, "counting": m, "istree": m + 3, "cgram": c * m}[task]
