"""A reader's formats: what it reads and writes after a task's stream (PAPER.md, Algorithms 1 and 2).

- ``vanilla``: the stream, and the answer read at its last token (every task);
- ``cot``: the stream, ``</s>``, a chain of thought, ``</s>``, the answer (IsTree: the DFS walk);
- ``retrieval``: the stream, ``</s>``, a trace whose queries ``<StartSearch> .. <EndSearch>`` the environment
  answers (``streaming.environment``), ``</s>``, the answer (IsTree: the DFS with retrieval; Index, AR, c-gram and
  Counting: one query naming Bob's tokens).

The traces come from each task (``Task.trace``). A training sequence is the stream, ``</s>`` and the trace; the
loss reads the trace and the answer, never the stream (nor its ``</s>``) and never a token the environment wrote.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .tokens import EOS

FORMATS = ("vanilla", "cot", "retrieval")


def check_format(task, fmt: str) -> str:
    """The format, or ValueError (one line) for an unknown one or one the task does not have."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    if fmt not in task.formats:
        raise ValueError(f"{task.name} ({task.label()}) has no {fmt} format; it has: {', '.join(task.formats)}")
    return fmt


def sequence_length(task, fmt: str) -> int:
    """The longest sequence a reader of this format reads and writes on the task (its model's max_len)."""
    return task.length if fmt == "vanilla" else task.length + 1 + task.max_trace(fmt)


def decode_limit(task, fmt: str) -> int:
    """Where a decoding reader is stopped without an answer: twice the longest reference trace."""
    return task.length + 1 + 2 * task.max_trace(fmt)


@dataclass(frozen=True)
class Sequences:
    """Streams with their traces, right-padded: tokens (count x L, int64, padding 0), `trained` (a target the loss
    reads: the token at that position, predicted from the one before), `written` (a token the environment wrote),
    lengths, the answer tokens, and `prompt` (the stream and its `</s>`: where a reader starts writing)."""

    tokens: np.ndarray
    trained: np.ndarray
    written: np.ndarray
    lengths: np.ndarray
    answers: np.ndarray
    prompt: int


def build(task, batch, fmt: str) -> Sequences:
    """The sequences of a batch's streams in a trace format (the reference traces)."""
    check_format(task, fmt)
    if fmt == "vanilla":
        raise ValueError("the vanilla format has no trace: a reader answers at the stream's last token")
    prompt = task.length + 1
    rows = [task.trace(s, a, fmt) for s, a in zip(batch.tokens, np.asarray(batch.answers).reshape(-1))]
    lengths = np.array([prompt + len(tokens) for tokens, _, _ in rows])
    width = int(lengths.max())
    count = len(rows)
    tokens = np.zeros((count, width), dtype=np.int64)
    trained = np.zeros((count, width), dtype=bool)
    written = np.zeros((count, width), dtype=bool)
    tokens[:, : task.length] = batch.tokens
    tokens[:, task.length] = EOS
    for i, (trace, env, _) in enumerate(rows):
        end = prompt + len(trace)
        tokens[i, prompt:end] = trace
        written[i, prompt:end] = env
        trained[i, prompt:end] = ~np.asarray(env, dtype=bool)
    answers = np.array([answer for _, _, answer in rows], dtype=np.int64)
    return Sequences(tokens, trained, written, lengths, answers, prompt)


def length_buckets(lengths, parts: int) -> list:
    """Indices of the sequences split into `parts` groups of similar length (sorted, then cut evenly): each group
    is padded only to its own longest sequence."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    return [part for part in np.array_split(order, max(1, min(parts, len(order)))) if len(part)]
