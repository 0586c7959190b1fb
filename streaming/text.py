"""Every task's streams as text a language model trained elsewhere can read (``streambound eval/probe --hf``).

A stream becomes a context (Alice's part, preceded by the few-shot prefix when there is one), then one question per
query (Bob's part), each followed by the answer the model chooses among the task's answer words. The cut is where
the context ends: the state a model carries across it is all Bob's questions are answered from. Two styles:

- ``text``: plain words, for a model trained on natural text (the README shows an example per task):
  Index ``bits: 0 1 1 0`` / ``question: bit 3?`` / ``answer: 1``; associative recall and MQAR ``pairs: 1 5, 2 6``,
  ``question: value of 2?``; c-gram ``blocks: 1 1 5, 2 2 6``, ``question: value after 2 2?``; Counting
  ``list: 3 0 5 0``, ``question: does 3 occur more than 0 times?``, answered ``yes`` / ``no``; IsTree
  ``edges: 1-5, 2-5, 3-6``, ``last edges: 2-3.``, ``question: is it a tree?``, answered ``yes`` / ``no``. With
  several queries (MQAR) the chosen answer and a newline follow each question, as a model writing its answers would.
- ``tokens``: the project's own token text (``tokens.render``: ``<s> 0 1 1 0 3``), the context the first ``cut``
  tokens, each question the tokens up to its query position, answers read there and never written into the text
  (what a model trained by ``streambound train`` reads; ``streambound export`` marks its directories so).

No torch here: the neural side (``streaming.neural.hf``) tokenizes these strings with the model's own tokenizer.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .engine import SEED_LIMIT
from .tokens import NUM0, render

STYLES = ("text", "tokens")
#: the most solved examples a few-shot prefix holds
MAX_SHOTS = 64


@dataclass(frozen=True)
class TextStreams:
    """Streams as text: per stream a context and one question per query (the text before each answer), the answer
    values (streams x Q), the words that write each possible answer value (as appended right after a question),
    whether each chosen answer is written into the text before the next question, and what follows it."""

    contexts: list
    questions: list
    answers: np.ndarray
    words: dict
    feed_answers: bool
    separator: str


def answer_values(task) -> list:
    """Every value an answer of this task and distribution can take, in a fixed order."""
    if task.name in ("recall", "mqar", "cgram"):
        if task.hard:
            return [task.answer_value(bit, task.index_size) for bit in (0, 1)]
        return list(range(task.keys + 1, task.keys + task.values + 1))
    return [0, 1]


def _numbers(tokens) -> list:
    return [str(int(t) - NUM0) for t in tokens]


def _edges(tokens) -> list:
    """`u ~ v` triples as 'u-v'."""
    words = _numbers(tokens[0::3]), _numbers(tokens[2::3])
    return [f"{u}-{v}" for u, v in zip(*words)]


def _text_parts(task, stream) -> tuple:
    """(context, questions) of one stream in the ``text`` style."""
    cut, name = task.cut, task.name
    alice, bob = stream[1:cut], stream[cut:]
    if name == "index":
        return f"bits: {' '.join(_numbers(alice))}\n", [f"question: bit {int(bob[0]) - NUM0}?\nanswer:"]
    if name == "counting":
        q, t = _numbers(bob[:2])
        return f"list: {' '.join(_numbers(alice))}\n", [f"question: does {q} occur more than {t} times?\nanswer:"]
    if name in ("recall", "mqar"):
        pairs = ", ".join(f"{k} {v}" for k, v in zip(_numbers(alice[0::2]), _numbers(alice[1::2])))
        return f"pairs: {pairs}\n", [f"question: value of {q}?\nanswer:" for q in _numbers(bob)]
    if name == "cgram":
        c = task.c
        blocks = ", ".join(" ".join(_numbers(alice[i : i + c])) for i in range(0, len(alice), c))
        return f"blocks: {blocks}\n", [f"question: value after {' '.join(_numbers(bob))}?\nanswer:"]
    if name == "istree":
        return (f"edges: {', '.join(_edges(alice))}\n",
                [f"last edges: {', '.join(_edges(bob))}.\nquestion: is it a tree?\nanswer:"])
    raise ValueError(f"no text rendering for task {name!r}")


def _answer_word(task, value: int, style: str) -> str:
    if style == "tokens":
        return " " + render([int(np.asarray(task.answer_tokens(np.array([value]))).reshape(-1)[0])])
    if task.name in ("istree", "counting"):
        return " yes" if value == 1 else " no"
    return f" {value}"


def _parts(task, stream, style: str) -> tuple:
    if style == "text":
        return _text_parts(task, stream)
    stream = [int(t) for t in stream]
    bounds = [task.cut - 1, *task.query_positions]
    return render(stream[: task.cut]), [" " + render(stream[a + 1 : b + 1]) for a, b in zip(bounds, bounds[1:])]


def render_batch(task, batch, style: str = "text", prefix: str = "") -> TextStreams:
    """A task's batch as text; `prefix` (``shots_prefix``) goes before every context."""
    if style not in STYLES:
        raise ValueError(f"unknown rendering {style!r}; known: {', '.join(STYLES)}")
    answers = np.asarray(batch.answers).reshape(len(batch), -1)
    contexts, questions = [], []
    for stream in batch.tokens:
        context, asked = _parts(task, stream, style)
        contexts.append(prefix + context)
        questions.append(asked)
    words = {v: _answer_word(task, v, style) for v in answer_values(task)}
    return TextStreams(contexts, questions, answers, words, feed_answers=style == "text",
                       separator="\n" if style == "text" else "")


def shots_seed(seed: int) -> int:
    """The seed of the few-shot examples: a domain apart from the evaluated streams' seeds (and the probe's)."""
    half = SEED_LIMIT >> 1
    return seed + half if seed < half else seed - half


def shots_prefix(task, style: str, shots: int, seed: int) -> str:
    """`shots` solved examples (streams drawn with ``shots_seed``), each answered, then a blank line; the same
    prefix for every evaluated stream."""
    if not 0 <= shots <= MAX_SHOTS:
        raise ValueError(f"--shots must lie in 0..{MAX_SHOTS}, got {shots}")
    if shots == 0:
        return ""
    solved = render_batch(task, task.batch(shots_seed(seed), 0, shots), style)
    out = []
    for context, asked, answers in zip(solved.contexts, solved.questions, solved.answers):
        text = context + "".join(q + solved.words[int(a)] + (solved.separator if i + 1 < len(asked) else "")
                                 for i, (q, a) in enumerate(zip(asked, answers)))
        out.append(text + ("\n\n" if style == "text" else " "))
    return "".join(out)
