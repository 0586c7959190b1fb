"""Formats and the retrieval environment: the reference traces, their replay through the regex engine, the loss
masks, and greedy decoding with the live environment (on an oracle reader, so every claim is exact)."""
import itertools

import numpy as np
import pytest

from streaming.environment import Environment, replay
from streaming.formats import build, check_format, length_buckets, sequence_length
from streaming.tasks import TASKS, make_task
from streaming.tasks.istree_formats import ROOT, cot_trace, edges_of, max_trace, retrieval_trace, trace_of
from streaming.tasks.istree import edges_to_tokens
from streaming.tokens import END_SEARCH, EOS, FAILED, NO, NUM0, START_SEARCH, TILDE, YES, parse, render
from tests.conftest import is_tree_union_find


def authors_family(n_nodes):
    """Every labelled graph of the authors' family on N nodes: two hubs, every other vertex on one of them, one
    edge between two leaves (in one canonical edge order)."""
    nodes = range(1, n_nodes + 1)
    for hubs in itertools.combinations(nodes, 2):
        leaves = [v for v in nodes if v not in hubs]
        for side in itertools.product((0, 1), repeat=len(leaves)):
            star = [(leaf, hubs[s]) for leaf, s in zip(leaves, side)]
            for a, b in itertools.combinations(leaves, 2):
                yield star + [(a, b)]


def simple_graphs(n_nodes):
    """Every simple graph with N - 1 edges on N nodes (canonical order)."""
    pairs = list(itertools.combinations(range(1, n_nodes + 1), 2))
    for chosen in itertools.combinations(pairs, n_nodes - 1):
        yield list(chosen)


def stream_of(edges):
    return edges_to_tokens(np.array([edges]))[0]


def check_graph(task, edges):
    stream = stream_of(edges)
    tree = is_tree_union_find(edges, task.n)
    for fmt in ("cot", "retrieval"):
        trace, env, answer = task.trace(stream, int(tree), fmt)
        assert answer == (YES if tree else NO), (fmt, edges)
        assert trace[-2:] == [EOS, answer] and len(trace) <= task.max_trace(fmt)
        replies = replay(task, stream, trace, env)
        assert all(written == replied for _, written, replied in replies), (fmt, edges, replies)
        if fmt == "retrieval":
            assert len(replies) == sum(env)
    return tree


@pytest.mark.parametrize("n_nodes", [4, 5, 6])
def test_every_graph_of_the_authors_family_is_judged_right_and_replays(n_nodes):
    task = make_task("istree", n_nodes, "authors")
    rng = np.random.default_rng(n_nodes)
    trees = total = 0
    for edges in authors_family(n_nodes):
        orders = itertools.permutations(edges) if n_nodes <= 5 else \
            [edges] + [[edges[i] for i in rng.permutation(len(edges))] for _ in range(2)]
        for order in orders:
            trees += check_graph(task, list(order))
            total += 1
    assert 0 < trees < total  # both answers occur


@pytest.mark.parametrize("n_nodes", [4, 5])
def test_every_simple_graph_with_n_minus_1_edges_is_judged_right(n_nodes):
    task = make_task("istree", n_nodes, "random")
    rng = np.random.default_rng(0)
    for edges in simple_graphs(n_nodes):
        orders = itertools.permutations(edges) if n_nodes == 4 else \
            [edges, [edges[i] for i in rng.permutation(len(edges))]]
        for order in orders:
            check_graph(task, list(order))


@pytest.mark.parametrize("distribution", ["hard", "authors", "random"])
@pytest.mark.parametrize("n_nodes", [8, 23, 64])
def test_random_graphs_up_to_64_nodes(distribution, n_nodes):
    task = make_task("istree", n_nodes, distribution)
    batch = task.batch(5, 0, 40)
    for stream, answer in zip(batch.tokens, batch.answers):
        edges = edges_of(stream)
        assert check_graph(task, edges) == bool(answer) == is_tree_union_find(edges, n_nodes)


def test_the_papers_worked_example_shape():
    # PAPER.md's example (relabelled to 1..6): a tree's CoT trace is its Euler tour from the root
    edges = [(5, 3), (2, 1), (4, 1), (4, 3), (6, 3)]
    walk, tree = cot_trace(edges, 6)
    assert tree and walk == [1, 2, 1, 4, 3, 5, 3, 6, 3, 4, 1] and len(walk) == 2 * 6 - 1
    cyclic = [(1, 3), (3, 5), (5, 1), (2, 4), (4, 6)]
    walk, tree = cot_trace(cyclic, 6)
    assert not tree and walk == [1, 3, 5]  # stops at the first back edge
    tokens, env, tree = retrieval_trace(edges, 6)
    assert tree and tokens[:6] == [NUM0 + ROOT, START_SEARCH, NUM0 + ROOT, TILDE, END_SEARCH, FAILED]
    assert env[5] and not any(env[:5])


def test_a_walk_through_the_root_by_a_back_edge_says_no():
    # the root has no record, so the walk must recognise it: 1 - 2 - 3 - 1 is a cycle through the root
    edges = [(1, 2), (2, 3), (3, 1), (4, 5)]
    for fmt in ("cot", "retrieval"):
        assert trace_of(stream_of(edges), 5, fmt)[2] == NO


@pytest.mark.parametrize("name", ["index", "recall", "cgram", "counting"])
def test_the_lookup_tasks_retrieval_traces_replay_and_answer(name):
    for distribution in TASKS[name].distributions:
        task = make_task(name, 24, distribution)
        batch = task.batch(2, 0, 60)
        for stream, answer in zip(batch.tokens, batch.answers):
            trace, env, answer_token = task.trace(stream, answer, "retrieval")
            replies = replay(task, stream, trace, env)
            assert len(replies) == 1 and replies[0][1] == replies[0][2]
            assert answer_token == task.answer_tokens(answer)


def test_counting_pattern_is_linear_where_backtracking_would_explode():
    # 2999 copies of q and a threshold at the count: a backtracking pattern would try C(2999, k) ways to fail
    task = make_task("counting", 3000, "natural", alphabet=2, threshold=2999)
    stream = [0] + [NUM0 + 1] * 2999 + [NUM0 + 2] + [NUM0 + 1, NUM0 + 2999]
    env = Environment(task, stream)
    assert env.search(["1", "2999"]) == FAILED
    assert env.search(["1", "2998"]) == NUM0 + 1


@pytest.mark.parametrize("name", sorted(TASKS))
def test_malformed_queries_get_failed_never_an_exception(name):
    task = make_task(name, TASKS[name].size_for(6))
    stream = task.batch(0, 0, 1).tokens[0]
    bad = [
        [END_SEARCH],  # no <StartSearch>
        [START_SEARCH, START_SEARCH, NUM0 + 1, END_SEARCH],  # two openings
        [START_SEARCH, END_SEARCH],  # empty
        [START_SEARCH, NUM0 + 10 ** 9, END_SEARCH],  # unknown vertex / position
        [START_SEARCH, YES, NUM0 + 1, END_SEARCH],  # a special word inside
        [START_SEARCH, NUM0 + 1, NUM0 + 2, NUM0 + 3, NUM0 + 4, NUM0 + 5, END_SEARCH],  # too many words
        [START_SEARCH, TILDE, TILDE, END_SEARCH],
    ]
    for query in bad:
        env = Environment(task, stream)
        replies = [env.write(t) for t in query]
        assert replies[-1] == FAILED and all(r is None for r in replies[:-1]), (name, render(query))
    assert Environment(task, stream).search(["x", "~", "1"]) == FAILED


def test_render_and_parse_are_inverse():
    tokens = [0, 1, 2, 3, 4, 5, 6, 7, NUM0, NUM0 + 12]
    assert parse(render(tokens)) == tokens
    with pytest.raises(ValueError):
        parse("<s> banana")


def test_the_loss_reads_the_trace_and_answer_never_the_stream_or_the_environment():
    task = make_task("istree", 8, "authors")
    batch = task.batch(1, 0, 16)
    for fmt in ("cot", "retrieval"):
        seqs = build(task, batch, fmt)
        assert not seqs.trained[:, : seqs.prompt].any() and (seqs.tokens[:, task.length] == EOS).all()
        assert not (seqs.trained & seqs.written).any()
        for i, (stream, answer) in enumerate(zip(batch.tokens, batch.answers)):
            trace, env, _ = task.trace(stream, answer, fmt)
            end = seqs.prompt + len(trace)
            assert list(seqs.tokens[i, seqs.prompt : end]) == trace and seqs.lengths[i] == end
            assert seqs.trained[i, seqs.prompt : end].sum() == len(trace) - sum(env)
            assert not seqs.trained[i, end:].any()
        assert seqs.tokens.shape[1] <= sequence_length(task, fmt)
    assert (seqs.written.sum(axis=1) > 0).all()  # retrieval: the environment wrote in every trace


def test_length_buckets_cover_every_sequence_once_sorted_by_length():
    lengths = np.array([5, 1, 9, 3, 7, 2, 8])
    parts = length_buckets(lengths, 3)
    assert sorted(np.concatenate(parts).tolist()) == list(range(7))
    assert all(lengths[a].max() <= lengths[b].min() for a, b in zip(parts, parts[1:]))


def test_formats_a_task_does_not_have_are_refused():
    with pytest.raises(ValueError, match="unknown format"):
        check_format(make_task("index", 8), "scratchpad")
    with pytest.raises(ValueError, match="no cot format"):
        check_format(make_task("index", 8), "cot")
    with pytest.raises(ValueError, match="no retrieval format"):
        check_format(make_task("istree", 8, "permutation"), "retrieval")
    with pytest.raises(ValueError, match="no retrieval format"):
        check_format(make_task("mqar", 16), "retrieval")
    assert make_task("istree", 8, "hard").formats == ("vanilla", "cot", "retrieval")
    assert max_trace(8, "cot") == 2 * 8 + 1


# --- decoding: an oracle reader that writes the reference trace ---------------------------------------------
torch = pytest.importorskip("torch")


class Oracle(torch.nn.Module):
    """A 'model' whose state is every token it has read and whose top choice is the reference continuation of
    that prefix (computed from the stream it read): a reader that decodes perfectly iff the environment's live
    replies are the reference's. `silent`: it never writes `</s>` (so never answers)."""

    def __init__(self, task, fmt, silent=False):
        super().__init__()
        self.task, self.fmt, self.silent = task, fmt, silent
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.config = type("C", (), {"max_len": sequence_length(task, fmt) + 8})()

    def forward(self, tokens, state=None, start=0):
        seen = tokens if state is None else torch.cat([state, tokens], dim=1)
        vocab = NUM0 + self.task.vocab
        logits = torch.full((tokens.shape[0], tokens.shape[1], vocab), -1.0)
        for i, row in enumerate(seen.tolist()):
            stream = np.array(row[: self.task.length])
            trace, _, _ = self.task.trace(stream, 0, self.fmt)  # IsTree's traces read only the stream
            full = row[: self.task.length] + [EOS] + trace
            for j in range(tokens.shape[1]):
                at = seen.shape[1] - tokens.shape[1] + j + 1  # the position this logit predicts
                ref = full[at] if at < len(full) and row[:at] == full[:at] else EOS
                if self.silent and ref == EOS:
                    ref = NUM0 + 1
                logits[i, j, ref] = 1.0
        return logits, seen


@pytest.mark.parametrize("fmt", ["cot", "retrieval"])
@pytest.mark.parametrize("cut", [0, "bob"])
def test_greedy_decoding_with_the_live_environment_reproduces_the_reference(fmt, cut):
    from streaming.neural.decode import greedy, teacher_forced

    task = make_task("istree", 7, "hard")
    batch = task.batch(3, 0, 24)
    model = Oracle(task, fmt)
    start = task.cut if cut == "bob" else 0
    state = model(torch.from_numpy(batch.tokens[:, :start]).long())[1] if start else None
    answers, queries = greedy(model, task, batch.tokens, fmt, cut=start, state=state)
    assert (answers == task.answer_tokens(batch.answers)).all()
    expected = [sum(task.trace(s, a, fmt)[1]) for s, a in zip(batch.tokens, batch.answers)]
    assert queries.tolist() == (expected if fmt == "retrieval" else [0] * len(expected))
    exact, right = teacher_forced(model, task, batch, fmt, cut=start, state=state)
    assert exact.all() and right.all()


def test_a_reader_that_never_answers_is_missing_not_wrong():
    from streaming.neural.decode import evaluate_trace, greedy

    task = make_task("istree", 6, "authors")
    batch = task.batch(0, 0, 4)
    answers, _ = greedy(Oracle(task, "cot", silent=True), task, batch.tokens, "cot")
    assert (answers == -1).all()
    got = evaluate_trace(Oracle(task, "cot", silent=True), task, "cot", 4, 0)
    assert got["missing"] == 4 and got["successes"] == 0


@pytest.mark.parametrize("name", sorted(TASKS))
def test_random_writes_never_raise_and_every_reply_is_a_token(name):
    """Whatever a reader writes (special tokens anywhere, numbers out of range, markers unbalanced), the
    environment answers every <EndSearch> with one token and never raises."""
    task = make_task(name, TASKS[name].size_for(5))
    stream = task.batch(0, 0, 1).tokens[0]
    rng = np.random.default_rng(7)
    pool = np.concatenate([np.arange(NUM0), NUM0 + np.arange(task.vocab + 3), [NUM0 + 10 ** 6]])
    for _ in range(40):
        env = Environment(task, stream)
        written = rng.choice(pool, size=60, p=None)
        written[rng.random(60) < 0.15] = START_SEARCH
        written[rng.random(60) < 0.15] = END_SEARCH
        for token in written:
            reply = env.write(int(token))
            assert reply is None if token != END_SEARCH else (reply == FAILED or reply >= NUM0)
        assert env.queries == int(np.sum(written == END_SEARCH))
