"""IsTree on N nodes: an edge list `<s> u ~ v ...` (u < v); the answer is YES (1) iff the graph is a tree.

Distributions:
- ``hard``: the two-star graphs of the Index reduction (prefix parities, Bob's edge last), m = N - 3;
- ``permutation``: after Sun and Woodruff (2015), N = 2n nodes, a perfect matching from a uniform permutation and
  Bob's two paths plus one edge (commcomplexity.reductions.permutation_edges); an Omega(N log N) bound;
- ``authors``: the authors' experimental graphs: the hard two-star graphs with uniform x and k, nodes relabelled
  by a uniform permutation and edges shuffled (P(tree) = 1/2);
- ``random``: a uniform random labelled tree, or (P = 1/2) a random non-tree with N - 1 edges: a uniform tree
  with one edge removed and a random missing edge added inside one of the two parts (a cycle plus a forest).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from commcomplexity import reductions as red
from commcomplexity.bounds import index_bounds, permutation_success

from .base import Batch, Task


def prufer_tree(rng, n_nodes: int) -> np.ndarray:
    """A uniform random labelled tree on 1..N as an (N-1) x 2 edge array (Prufer decoding)."""
    if n_nodes == 2:
        return np.array([[1, 2]])
    seq = rng.integers(1, n_nodes + 1, size=n_nodes - 2)
    degree = np.ones(n_nodes + 1, dtype=np.int64)
    np.add.at(degree, seq, 1)
    import heapq

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
    """ceil(log2(B_N + 1)): the exact memory of a deterministic always-right IsTree algorithm (one state per
    partition of the nodes into trees, plus 'a cycle was seen')."""
    row = [1]
    for _ in range(n_nodes - 1):
        new = [row[-1]]
        for v in row:
            new.append(new[-1] + v)
        row = new
    bell = row[-1]
    return bell.bit_length()  # = ceil(log2(B_N + 1))


class IsTreeTask(Task):
    name = "istree"
    distributions = ("hard", "permutation", "authors", "random")
    default_distribution = "hard"
    size_name = "N"

    def __init__(self, n: int, distribution: str = "hard"):
        super().__init__(n, distribution)
        if self.n < 4:
            raise ValueError(f"IsTree needs N >= 4 nodes, got {self.n}")
        if distribution == "permutation" and self.n % 2:
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

    def batch(self, seed: int, start: int, count: int) -> Batch:
        if self.distribution == "hard":
            return self.hard_batch(seed, start, count, red.index_to_istree)
        return self.generated_batch(seed, start, count, getattr(self, f"_draw_{self.distribution}"))

    def _draw_permutation(self, rng):
        n = self.n // 2
        sigma = rng.permutation(n)
        i = int(rng.integers(1, n + 1))
        j = int(rng.integers(red.permutation_bits(n)))
        edges = red.permutation_edges(sigma[None], [i], [j])
        return red.edges_to_tokens(edges)[0], int(red.permutation_answers(sigma[None], [i], [j])[0])

    def _draw_authors(self, rng):
        m = self.index_size
        x = rng.integers(0, 2, size=(1, m))
        k = rng.integers(1, m + 1, size=1)
        edges = red.istree_edges(x, k)[0]
        relabel = np.concatenate([[0], rng.permutation(self.n) + 1])
        edges = relabel[edges][rng.permutation(len(edges))]
        return red.edges_to_tokens(edges[None])[0], int(x[0, k[0] - 1] == 1)

    def _draw_random(self, rng):
        tree = bool(rng.integers(2))
        edges = prufer_tree(rng, self.n) if tree else random_non_tree(rng, self.n)
        edges = edges[rng.permutation(len(edges))]
        return red.edges_to_tokens(edges[None])[0], int(tree)

    def markers(self) -> list:
        from streaming.algorithms.istree import unionfind_bits

        return [(bell_bits(self.n), f"exact possible: ceil(log2(B_N + 1)) = {bell_bits(self.n)} bits"),
                (unionfind_bits(self.n), f"union-find's memory: {unionfind_bits(self.n)} bits")]

    def bounds(self, budgets) -> dict:
        b = np.atleast_1d(np.asarray(budgets, dtype=float))
        nan = np.full(b.shape, np.nan)
        if self.distribution == "hard":
            return index_bounds(self.index_size, b)
        if self.distribution == "permutation":
            perm = np.asarray(permutation_success(self.n // 2, b), dtype=float)
            return {"bound": perm, "fano": perm, "sphere": nan, "achievable": nan}
        return {"bound": nan, "fano": nan, "sphere": nan, "achievable": nan}
