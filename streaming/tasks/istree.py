"""IsTree on N nodes: an edge list `<s> u ~ v ...` (u < v); the answer is YES (1) iff the graph is a tree.

Distributions:
- ``hard``: the two-star graphs of the Index reduction (prefix parities, Bob's edge last), m = N - 3: leaf a
  (a = 1..N-2) hangs off hub N - 1 or N by the prefix parity p_a of (0, x_1, .., x_m), and Bob's edge (k, k+1)
  comes last; the graph is a tree iff p_k != p_(k+1) iff x_k = 1 (PAPER.md's fix of Lemma C.28);
- ``permutation``: after Sun and Woodruff (2015), N = 2n nodes, a perfect matching from a uniform permutation and
  Bob's two paths plus one edge (``permutation_edges``); an Omega(N log N) bound;
- ``authors``: the authors' experimental graphs: the hard two-star graphs with uniform x and k, nodes relabelled
  by a uniform permutation and edges shuffled (P(tree) = 1/2);
- ``random``: a uniform random labelled tree, or (P = 1/2) a random non-tree with N - 1 edges: a uniform tree
  with one edge removed and a random missing edge added inside one of the two parts (a cycle plus a forest).

The star coders read the hard stream back as Index (``translate_stars``): leaf a's hub gives the prefix parity
p_a, and the Index bit is p_a xor p_(a-1), so one state bit (the adapter's reserve) holds p_(a-1).
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

import numpy as np
from numba import njit

from commcomplexity.bounds import index_bounds, permutation_success

from ..bits import get_bit, set_bit
from ..tokens import BOS, NO, NUM0, TILDE, YES
from . import istree_formats
from .base import Task, check_instances, no_bounds

YES_ANSWER, NO_ANSWER = 1, 0


def istree_edges(x, k):
    """Edge lists (trials x (N-1) x 2, u < v) of the two-star graphs: N = m + 3 nodes.

    x_full = (0, x_1, .., x_m) has N - 2 bits; prefix parities p_a = x_full_1 xor .. xor x_full_a put leaf a on
    hub N - 1 (p_a = 0) or N (p_a = 1); Bob's edge (k, k+1) comes last. The graph is a tree iff p_k != p_{k+1}
    iff x_full_{k+1} = x_k = 1.
    """
    x, k, trials, m = check_instances(x, k)
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


@njit(cache=True)
def translate_stars(state, token, t, params):
    """Leaf a's hub (token N or N - 1) is the prefix parity p_a; the Index bit x_(a-1) = p_a xor p_(a-1) goes to
    Index position a - 1, with p_(a-1) kept in the adapter's reserved bit (params[5]); Bob's edge (k, k+1) gives
    the query k."""
    n, b = params[0], params[1]
    parity_bit = params[5]
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


def prufer_tree(rng, n_nodes: int) -> np.ndarray:
    """A uniform random labelled tree on 1..N as an (N-1) x 2 edge array (Prufer decoding)."""
    if n_nodes == 2:
        return np.array([[1, 2]])
    seq = rng.integers(1, n_nodes + 1, size=n_nodes - 2)
    degree = np.ones(n_nodes + 1, dtype=np.int64)
    np.add.at(degree, seq, 1)
    leaves = [v for v in range(1, n_nodes + 1) if degree[v] == 1]
    heapq.heapify(leaves)
    edges = []
    for v in seq:
        leaf = heapq.heappop(leaves)
        edges.append((leaf, int(v)))
        degree[v] -= 1
        if degree[v] == 1:
            heapq.heappush(leaves, int(v))
    edges.append((heapq.heappop(leaves), heapq.heappop(leaves)))
    return np.array(edges)


def _component(edges, n_nodes, start):
    adj = [[] for _ in range(n_nodes + 1)]
    for u, v in edges:
        adj[u].append(v)
        adj[v].append(u)
    seen = {start}
    stack = [start]
    while stack:
        for w in adj[stack.pop()]:
            if w not in seen:
                seen.add(w)
                stack.append(w)
    return seen


def random_non_tree(rng, n_nodes: int) -> np.ndarray:
    """N - 1 edges with a cycle: a uniform tree, minus a random edge, plus a missing edge inside one part."""
    while True:
        edges = prufer_tree(rng, n_nodes)
        drop = int(rng.integers(len(edges)))
        kept = np.delete(edges, drop, axis=0)
        part = sorted(_component(kept, n_nodes, int(edges[drop, 0])))
        if len(part) < 3:
            part = sorted(_component(kept, n_nodes, int(edges[drop, 1])))
        if len(part) < 3:
            continue
        present = {(min(u, v), max(u, v)) for u, v in kept}
        missing = [(a, b) for ai, a in enumerate(part) for b in part[ai + 1 :] if (a, b) not in present]
        if not missing:
            continue
        a, b = missing[int(rng.integers(len(missing)))]
        return np.concatenate([kept, [[a, b]]])


@lru_cache(maxsize=64)
def bell_bits(n_nodes: int) -> int:
    """ceil(log2(B_N + 1)): one state per partition of the nodes into trees, plus 'a cycle was seen'. Enough for
    an always-right deterministic algorithm; not proven to be its exact memory (see exact_memory_range)."""
    row = [1]
    for _ in range(n_nodes - 1):
        new = [row[-1]]
        for v in row:
            new.append(new[-1] + v)
        row = new
    bell = row[-1]
    return bell.bit_length()  # = ceil(log2(B_N + 1))


@lru_cache(maxsize=64)
def exact_memory_range(n_nodes: int) -> tuple:
    """What is proven about the state an always-right deterministic IsTree algorithm needs (positions free):
    after t edges without a cycle, every partition of the N nodes into N - t trees can have been built and must be
    told apart (a suffix completes one to a tree and not another), plus 'a cycle was seen': at an edge boundary
    at least ceil(log2(max_k S(N, k) + 1)) bits (S the Stirling numbers of the second kind); mid-edge, with the
    pending endpoint's block, up to ceil(log2(max_k k S(N, k) + 1)). Returns (lower, upper)."""
    row = [1]  # S(i, k) for k = 0..i, built row by row
    for i in range(1, n_nodes + 1):
        row = [0] + [k * (row[k] if k < len(row) else 0) + row[k - 1] for k in range(1, i + 1)]
    return max(row).bit_length(), max(k * v for k, v in enumerate(row)).bit_length()


@dataclass(frozen=True)
class IsTreeTask(Task):
    name: ClassVar[str] = "istree"
    distributions: ClassVar[tuple] = ("hard", "permutation", "authors", "random")
    size_name: ClassVar[str] = "N"
    adapters: ClassVar[dict] = {"star-coder": "trellis", "star-blockcode": "blockcode"}
    adapter_reserve: ClassVar[int] = 1
    translate: ClassVar = staticmethod(translate_stars)
    trace_formats: ClassVar[tuple] = ("cot", "retrieval")

    @property
    def formats(self) -> tuple:
        # the DFS traces need simple graphs: the permutation streams may double an edge
        return ("vanilla",) if self.distribution == "permutation" else ("vanilla",) + self.trace_formats

    @property
    def searched_input(self) -> int:
        return self.length  # the whole edge list, Bob's edge included: it is part of the graph

    def search_pattern(self, words):
        return istree_formats.search_pattern(words, self.n)

    def trace(self, stream, answer, fmt):
        return istree_formats.trace_of(stream, self.n, fmt)

    def max_trace(self, fmt):
        return istree_formats.max_trace(self.n, fmt)

    def validate(self) -> None:
        if self.n < 4:
            raise ValueError(f"IsTree needs N >= 4 nodes, got {self.n}")
        if self.distribution == "permutation" and self.n % 2:
            raise ValueError(f"the permutation distribution needs an even N (N = 2n), got {self.n}")

    @property
    def length(self) -> int:
        return 1 + 3 * (self.n - 1)

    @property
    def cut(self) -> int:
        # hard: Bob holds the last edge; permutation: Bob holds his n - 1 edges
        return self.length - 3 * (self.n // 2 - 1) if self.distribution == "permutation" else self.length - 3

    @property
    def vocab(self) -> int:
        return self.n + 1

    @property
    def index_size(self) -> int:
        return self.n - 3

    @classmethod
    def size_for(cls, m: int, **options) -> int:
        return m + 3

    def reduce(self, x, k):
        x, k, trials, m = check_instances(x, k)
        tokens = edges_to_tokens(istree_edges(x, k))
        answers = np.where(x[np.arange(trials), k - 1] == 1, YES_ANSWER, NO_ANSWER)
        return tokens, answers, tokens.shape[1] - 3

    def answer_tokens(self, answers):
        return np.where(np.asarray(answers) == 1, YES, NO)

    def generate(self, seed, start, count):
        return self.generated_batch(seed, start, count, getattr(self, f"_draw_{self.distribution}"))

    def _draw_permutation(self, rng):
        n = self.n // 2
        sigma = rng.permutation(n)
        i = int(rng.integers(1, n + 1))
        j = int(rng.integers(permutation_bits(n)))
        edges = permutation_edges(sigma[None], [i], [j])
        return edges_to_tokens(edges)[0], int(permutation_answers(sigma[None], [i], [j])[0])

    def _draw_authors(self, rng):
        m = self.index_size
        x = rng.integers(0, 2, size=(1, m))
        k = rng.integers(1, m + 1, size=1)
        edges = istree_edges(x, k)[0]
        relabel = np.concatenate([[0], rng.permutation(self.n) + 1])
        edges = relabel[edges][rng.permutation(len(edges))]
        return edges_to_tokens(edges[None])[0], int(x[0, k[0] - 1] == 1)

    def _draw_random(self, rng):
        tree = bool(rng.integers(2))
        edges = prufer_tree(rng, self.n) if tree else random_non_tree(rng, self.n)
        edges = edges[rng.permutation(len(edges))]
        return edges_to_tokens(edges[None])[0], int(tree)

    def markers(self) -> list:
        low, high = exact_memory_range(self.n)
        return [(bell_bits(self.n), f"ceil(log2(B_N + 1)) = {bell_bits(self.n)} bits (an always-right algorithm "
                                    f"needs {low} to {high})")]

    @property
    def fano_name(self) -> str:
        return "permutation bound (Fano, Sun-Woodruff)" if self.distribution == "permutation" else "Fano bound"

    def extra_curves(self, budgets) -> list:
        if self.distribution != "permutation":
            return []
        b = np.atleast_1d(np.asarray(budgets, dtype=float))
        return [("Index-reduction bound (hard distribution)", index_bounds(self.index_size, b)["bound"])]

    def bounds(self, budgets) -> dict:
        b = np.atleast_1d(np.asarray(budgets, dtype=float))
        if self.distribution == "hard":
            return index_bounds(self.index_size, b)
        if self.distribution == "permutation":
            perm = np.asarray(permutation_success(self.n // 2, b), dtype=float)
            nan = np.full(b.shape, np.nan)
            return {"bound": perm, "fano": perm, "sphere": nan, "achievable": nan.copy()}
        return no_bounds(b)
