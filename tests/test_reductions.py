"""Exhaustive checks of every reduction: for all x in {0,1}^m and every k (m <= 10), the task's true answer on
the built stream, computed by an independent reference solver, is the stated function of x_k."""
import itertools

import networkx as nx
import numpy as np
import pytest

from streaming.tasks import TASKS, make_task, task_from_label
from streaming.tasks.istree import (bell_bits, istree_edges, permutation_answers, permutation_bits, permutation_edges,
                                   prufer_tree, random_non_tree)
from streaming.tokens import BOS, NUM0, TILDE
from tests.conftest import all_instances, is_tree_union_find

MS = [1, 2, 3, 5, 8, 10]


def numbers(tokens):
    return [int(t) - NUM0 for t in tokens]


def recall_reference(tokens):
    body = numbers(tokens[1:-1])
    table = {}
    for key, value in zip(body[0::2], body[1::2]):
        table.setdefault(key, value)
    return table[int(tokens[-1]) - NUM0]


def cgram_reference(tokens, c):
    body = numbers(tokens[1 : len(tokens) - (c - 1)])
    query = numbers(tokens[len(tokens) - (c - 1) :])
    for p in range(len(body) - c + 1):
        if body[p : p + c - 1] == query:
            return body[p + c - 1]
    raise AssertionError("query not found")


def mqar_reference(tokens, queries):
    """The value paired with each query key (keys are distinct), read off the stream."""
    body = numbers(tokens[1 : len(tokens) - queries])
    table = dict(zip(body[0::2], body[1::2]))
    return [table[q] for q in numbers(tokens[len(tokens) - queries :])]


@pytest.mark.parametrize("m", MS)
@pytest.mark.parametrize("queries", [1, 3])
def test_mqar_reduction(m, queries):
    """Every x and every k, each question asking k; and every x with every pair of different queries."""
    x, k = all_instances(m)
    task = make_task("mqar", 2 * m, queries=queries)
    tokens, answers, cut = task.reduce(x, k)
    assert answers.shape == (len(k), queries) and np.array_equal(answers[:, 0], x[np.arange(len(k)), k - 1] + m + 1)
    assert all(mqar_reference(t, queries) == list(a) for t, a in zip(tokens, answers))
    assert cut == task.cut == 2 * m + 1 and tokens.shape[1] == task.length and task.size_for(m) == 2 * m
    if queries > 1:
        k2 = np.stack([k, (k % m) + 1, np.full(len(k), m)], axis=1)[:, :queries]
        tokens, answers, _ = task.reduce(x, k2)
        assert all(mqar_reference(t, queries) == list(a) for t, a in zip(tokens, answers))


def counting_reference(tokens):
    body = numbers(tokens[1:-2])
    q, t = numbers(tokens[-2:])
    return int(body.count(q) > t)


def parse_edges(tokens):
    assert tokens[0] == BOS and all(tokens[2::3] == TILDE)
    u, v = np.array(numbers(tokens[1::3])), np.array(numbers(tokens[3::3]))
    assert np.all(u < v) or np.all(u <= v)
    return list(zip(u.tolist(), v.tolist()))


def is_tree_networkx(edges, n_nodes):
    g = nx.MultiGraph()
    g.add_nodes_from(range(1, n_nodes + 1))
    g.add_edges_from(edges)
    return nx.is_tree(g)


@pytest.mark.parametrize("m", MS)
def test_recall_reduction(m):
    x, k = all_instances(m)
    task = make_task("recall", 2 * m)
    tokens, answers, cut = task.reduce(x, k)
    expected = x[np.arange(len(k)), k - 1] + m + 1
    assert np.array_equal(answers, expected)
    assert all(recall_reference(t) == a for t, a in zip(tokens, answers))
    assert cut == tokens.shape[1] - 1 == task.cut and task.index_size == m and task.size_for(m) == 2 * m


@pytest.mark.parametrize("m", MS)
@pytest.mark.parametrize("c", [2, 3, 5])
def test_cgram_reduction(m, c):
    x, k = all_instances(m)
    task = make_task("cgram", c * m + c - 1, c=c)
    tokens, answers, cut = task.reduce(x, k)
    assert np.array_equal(answers, x[np.arange(len(k)), k - 1] + m + 1)
    assert all(cgram_reference(t, c) == a for t, a in zip(tokens, answers))
    assert cut == tokens.shape[1] - (c - 1) and task.index_size == m and task.size_for(m, c=c) == c * m


@pytest.mark.parametrize("m", MS)
def test_counting_reduction(m):
    x, k = all_instances(m)
    task = make_task("counting", m)
    tokens, answers, _ = task.reduce(x, k)
    assert task.index_size == m == task.size_for(m)
    assert np.array_equal(answers, x[np.arange(len(k)), k - 1])
    assert all(counting_reference(t) == a for t, a in zip(tokens, answers))


@pytest.mark.parametrize("m", MS)
def test_istree_reduction(m):
    x, k = all_instances(m)
    task = make_task("istree", m + 3)
    tokens, answers, cut = task.reduce(x, k)
    n_nodes = m + 3
    assert task.index_size == m and task.size_for(m) == n_nodes
    assert np.array_equal(answers, x[np.arange(len(k)), k - 1])
    for t, a in zip(tokens, answers):
        edges = parse_edges(t)
        assert len(edges) == n_nodes - 1
        assert is_tree_union_find(edges, n_nodes) == bool(a) == is_tree_networkx(edges, n_nodes)
    assert cut == tokens.shape[1] - 3


def test_istree_worked_example():
    """PAPER.md: star bits 0101 (prefix parities), k = 2, N = 6 gives the edges 2~6 1~5 3~5 4~6 2~3, a tree."""
    parities = np.array([0, 1, 0, 1])
    x_full = np.concatenate([[parities[0]], parities[1:] ^ parities[:-1]])  # undo the prefix parities
    assert x_full[0] == 0  # the map fixes x_full_1 = 0, so x = x_full[1:]
    edges = istree_edges(x_full[None, 1:], np.array([2]))[0]
    assert {tuple(e) for e in edges} == {(2, 6), (1, 5), (3, 5), (4, 6), (2, 3)}
    assert is_tree_networkx([tuple(e) for e in edges], 6)


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_permutation_distribution_exhaustive(n):
    width = permutation_bits(n)
    doubled = 0
    for sigma in itertools.permutations(range(n)):
        for i in range(1, n + 1):
            for j in range(width):
                edges = permutation_edges(np.array([sigma]), [i], [j])[0]
                answer = permutation_answers(np.array([sigma]), [i], [j])[0]
                pairs = [tuple(e) for e in edges]
                doubled += len(set(pairs)) < len(pairs)
                assert len(pairs) == 2 * n - 1
                assert is_tree_union_find(pairs, 2 * n) == bool(answer) == is_tree_networkx(pairs, 2 * n)
                assert answer == int(((sigma[i - 1] >> j) & 1) == 0)
    assert doubled > 0  # the doubled-edge case occurs and is handled


@pytest.mark.parametrize("name", sorted(TASKS))
def test_hard_distributions_are_the_reduction_of_uniform_index(name):
    """Every task's hard batch is its own reduction applied to uniform Index drawn with the same seed (MQAR's
    first query is Index's; its other queries are drawn apart)."""
    task = make_task(name, 30)
    index = make_task("index", task.index_size).batch(9, 0, 200)
    x = index.tokens[:, 1 : task.index_size + 1] - NUM0
    k = index.tokens[:, -1] - NUM0
    batch = task.batch(9, 0, 200)
    if task.queries > 1:
        asked = batch.tokens[:, task.cut :] - NUM0
        assert np.array_equal(asked[:, 0], k) and not np.array_equal(asked[:, 1], k)
        k = asked
    tokens, answers, cut = task.reduce(x, k)
    assert np.array_equal(batch.tokens, tokens) and np.array_equal(batch.answers, answers)
    assert batch.cut == cut == task.cut and tokens.shape[1] == task.length
    assert batch.queries == task.query_positions and len(task.query_positions) == task.queries


@pytest.mark.parametrize("name,dist,kwargs,solver", [
    ("istree", "permutation", {}, "tree"), ("istree", "authors", {}, "tree"), ("istree", "random", {}, "tree"),
    ("recall", "natural", {"keys": 40, "values": 5}, "recall"), ("cgram", "natural", {"c": 3}, "cgram"),
    ("counting", "natural", {"alphabet": 6, "threshold": 4}, "counting"),
    ("mqar", "natural", {"keys": 40, "values": 5, "queries": 6}, "mqar"),
])
def test_natural_distributions_answers_and_reproducibility(name, dist, kwargs, solver):
    task = make_task(name, 30, dist, **kwargs)
    batch = task.batch(4, 0, 120)
    assert batch.tokens.shape == (120, task.length)
    for t, a in zip(batch.tokens, batch.answers):
        if solver == "tree":
            assert is_tree_networkx(parse_edges(t), task.n) == bool(a)
        elif solver == "recall":
            assert recall_reference(t) == a
        elif solver == "cgram":
            assert cgram_reference(t, task.c) == a
        elif solver == "mqar":
            assert list(mqar_reference(t, task.queries)) == list(a) and len(set(t[task.cut :])) == task.queries
        else:
            assert counting_reference(t) == a
    part = task.batch(4, 50, 10)
    assert np.array_equal(part.tokens, batch.tokens[50:60])
    if name == "istree" or name == "counting":
        assert 0.25 < batch.answers.mean() < 0.75
    assert task_from_label(name, 30, task.label()).label() == task.label()


def test_random_trees_and_non_trees():
    rng = np.random.default_rng(0)
    for n_nodes in (4, 5, 9, 30):
        for _ in range(30):
            assert is_tree_networkx([tuple(e) for e in prufer_tree(rng, n_nodes)], n_nodes)
            edges = [tuple(e) for e in random_non_tree(rng, n_nodes)]
            assert len(edges) == n_nodes - 1 and not is_tree_networkx(edges, n_nodes)


def test_bell_bits():
    assert bell_bits(64) == 217
    assert [bell_bits(n) for n in (1, 2, 3, 4)] == [1, 2, 3, 4]  # B = 1, 2, 5, 15 -> ceil(log2(B + 1))


@pytest.mark.parametrize("name,n,kwargs", [("istree", 3, {}), ("istree", 7, {"distribution": "permutation"}),
                                            ("cgram", 10, {"c": 1}), ("counting", 10, {"threshold": -1}),
                                            ("recall", 20, {"distribution": "natural", "keys": 5}),
                                            ("recall", 1, {}), ("index", 10, {"keys": 3})])
def test_bad_sizes(name, n, kwargs):
    with pytest.raises(ValueError):
        make_task(name, n, **kwargs)
