"""IsTree's reasoning traces: the DFS chain of thought (Algorithm 1) and the DFS with retrieval (Algorithm 2).

Both walk the graph depth first from the root, vertex 1, taking each vertex's neighbours in input order (the order
of the edges that hold it in the stream), and both stop early with NO at the first edge that meets an already
visited vertex other than the parent. They are defined for simple graphs (the hard, authors and random
distributions): with a doubled edge "the parent" would be ambiguous.

``cot`` writes the vertex on top of the stack at every step (a tree's trace is its Euler tour, 2N - 1 vertices) and
answers YES iff no back edge was met and the tour has 2N - 1 vertices.

``retrieval`` keeps nothing but the current vertex, its parent and the last neighbour tried, and asks the
environment (``streaming.environment``) for the rest, with three queries:

- ``<StartSearch> u ~ <EndSearch>``: u's parent, from the first record ``u ~ p`` in the trace (FAILED: none yet);
- ``<StartSearch> u <EndSearch>``: u's first neighbour in the input;
- ``<StartSearch> u v <EndSearch>``: u's neighbour after the edge {u, v} in the input.

A visit of v writes ``v``, asks v's parent f, then v's first neighbour (or, back from a child c, the neighbour
after {v, c}); a reply equal to f is skipped with one more "after" query. For a new neighbour x it asks x's
parent: FAILED (and x is not the root) means x is new: the trace writes the record ``x ~ v`` and visits x; anything
else is a back edge: NO. When v has no neighbour left the walk returns to f (a visit of f again), and when the root
has none left the trace ends: YES iff N - 1 records were written. After the trace: ``</s>`` and the answer.
"""
from __future__ import annotations

import numpy as np

from ..tokens import END_SEARCH, EOS, FAILED, NO, NUM0, START_SEARCH, TILDE, YES

ROOT = 1


def edges_of(stream) -> list:
    """The (u, v) edges of an IsTree stream `<s> u ~ v ...`, in input order."""
    stream = np.asarray(stream)
    return list(zip((stream[1::3] - NUM0).tolist(), (stream[3::3] - NUM0).tolist()))


def adjacency(edges, n_nodes: int) -> list:
    adj = [[] for _ in range(n_nodes + 1)]
    for u, v in edges:
        adj[u].append(v)
        adj[v].append(u)
    return adj


def cot_trace(edges, n_nodes: int) -> tuple:
    """Algorithm 1: (the vertices written, whether the graph is a tree)."""
    adj = adjacency(edges, n_nodes)
    visited = [False] * (n_nodes + 1)
    visited[ROOT] = True
    stack = [[ROOT, 0, 0]]  # vertex, parent, next neighbour to look at
    out = []
    while stack:
        top = stack[-1]
        v, f = top[0], top[1]
        out.append(v)
        while True:
            if top[2] == len(adj[v]):
                stack.pop()
                break
            x = adj[v][top[2]]
            top[2] += 1
            if x == f:
                continue
            if visited[x]:
                return out, False
            visited[x] = True
            stack.append([x, v, 0])
            break
    return out, len(out) == 2 * n_nodes - 1


def retrieval_trace(edges, n_nodes: int) -> tuple:
    """Algorithm 2: (trace tokens, written-by-the-environment flags, whether the graph is a tree)."""
    adj = adjacency(edges, n_nodes)
    parent = {}  # the records written so far: x -> p
    tokens, env = [], []

    def write(*ts):
        tokens.extend(ts)
        env.extend([False] * len(ts))

    def reply(t):
        tokens.append(t)
        env.append(True)

    def num(v):
        return NUM0 + v

    v, prev = ROOT, 0
    while True:
        write(num(v), START_SEARCH, num(v), TILDE, END_SEARCH)
        f = parent.get(v, 0)
        reply(num(f) if f else FAILED)
        while True:
            if prev:
                write(START_SEARCH, num(v), num(prev), END_SEARCH)
                i = adj[v].index(prev) + 1
            else:
                write(START_SEARCH, num(v), END_SEARCH)
                i = 0
            x = adj[v][i] if i < len(adj[v]) else 0
            reply(num(x) if x else FAILED)
            if x and x == f:
                prev = x
                continue
            break
        if not x:  # v is done: back to its parent, or the end of the walk
            if not f:
                return tokens, env, len(parent) == n_nodes - 1
            v, prev = f, v
            continue
        write(START_SEARCH, num(x), TILDE, END_SEARCH)
        reply(num(parent[x]) if x in parent else FAILED)
        if x == ROOT or x in parent:
            return tokens, env, False
        write(num(x), TILDE, num(v))
        parent[x] = v
        v, prev = x, 0


def trace_of(stream, n_nodes: int, fmt: str) -> tuple:
    """(trace tokens, environment flags, answer token) of one stream in a format: the trace ends `</s> ANSWER`."""
    edges = edges_of(stream)
    if fmt == "cot":
        vertices, tree = cot_trace(edges, n_nodes)
        tokens, env = [NUM0 + v for v in vertices], [False] * len(vertices)
    else:
        tokens, env, tree = retrieval_trace(edges, n_nodes)
    answer = YES if tree else NO
    return tokens + [EOS, answer], env + [False, False], answer


def max_trace(n_nodes: int, fmt: str) -> int:
    """A bound on a trace's length (`</s>` and the answer included) on any simple graph with N - 1 edges: the
    tour writes at most 2N - 1 vertices; a retrieval visit writes at most 1 + 5 + 2 x 5 tokens and each of the
    N - 1 new vertices 5 + 3 more (its parent query and record), plus a final parent query of 5."""
    if fmt == "cot":
        return 2 * n_nodes - 1 + 2
    return 16 * (2 * n_nodes - 1) + 8 * (n_nodes - 1) + 5 + 2


def search_pattern(words: list, n_nodes: int):
    """The regular expression of an IsTree query (module docstring), with the scope it searches, or None."""
    from ..environment import number

    def vertex(w):
        return number(w, 1, n_nodes)

    def nb(u):  # an edge holding u, the other end in a group
        return rf"(?<!\S)(?:{u} ~ (\d+)|(\d+) ~ {u})(?!\S)"

    if len(words) == 2 and words[1] == "~" and vertex(words[0]) is not None:
        return rf"(?<!\S){vertex(words[0])} ~ (\d+)", "trace"
    if len(words) == 1 and vertex(words[0]) is not None:
        return nb(vertex(words[0])), "input"
    if len(words) == 2 and vertex(words[0]) is not None and vertex(words[1]) is not None:
        u, v = vertex(words[0]), vertex(words[1])
        return rf"(?<!\S)(?:{u} ~ {v}|{v} ~ {u})(?!\S).*?" + nb(u), "input"
    return None
