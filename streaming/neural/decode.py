"""Readers that write: teacher-forced scoring of reference traces, and greedy decoding with the live environment.

Both can start from a state captured at the cut and rounded (``state.round_state``), so a reader with chain of
thought or retrieval is measured on the same axes as every other: the state at the cut is all that crosses it.
"""
from __future__ import annotations

import numpy as np
import torch

from ..environment import Environment
from ..formats import build, decode_limit
from ..tokens import EOS, NO, YES
from .state import clone_state


def _from_cut(model, tokens: torch.Tensor, cut: int, state):
    """Logits for positions cut.. of `tokens`, from a state at the cut (None: read the whole sequence)."""
    if state is None:
        logits, _ = model(tokens)
        return logits[:, cut:] if cut else logits
    logits, _ = model(tokens[:, cut:], clone_state(state), start=cut)
    return logits


@torch.no_grad()
def teacher_forced(model, task, batch, fmt: str, cut: int = 0, state=None) -> tuple:
    """(exact, right): per stream, whether every trained token of the reference trace is the reader's top choice
    given the reference before it, and whether its answer token is. `state`: the (rounded) state after the first
    `cut` tokens, from which the reader continues."""
    seqs = build(task, batch, fmt)
    dev = next(model.parameters()).device
    tokens = torch.from_numpy(seqs.tokens).to(dev)
    logits = _from_cut(model, tokens, cut, state)
    predicted = logits.argmax(-1).cpu().numpy()  # predicted[:, j] is the guess for position cut + j + 1
    guess = np.zeros_like(seqs.tokens)
    guess[:, cut + 1 :] = predicted[:, : seqs.tokens.shape[1] - cut - 1]
    hit = (guess == seqs.tokens) | ~seqs.trained
    exact = hit.all(axis=1)
    last = seqs.lengths - 1
    right = guess[np.arange(len(last)), last] == seqs.answers
    return exact, right


@torch.no_grad()
def greedy(model, task, streams: np.ndarray, fmt: str, cut: int = 0, state=None) -> tuple:
    """Greedy decoding after each stream and its `</s>`, with the environment answering every query when the
    format is retrieval. The answer is the first YES / NO the reader writes, or the token it writes right after a
    `</s>` of its own; a reader that has not answered by ``decode_limit`` (or its model's length) has none.
    Returns (answer tokens, -1 where missing; queries per stream)."""
    dev = next(model.parameters()).device
    count = streams.shape[0]
    limit = min(decode_limit(task, fmt), model.config.max_len)
    prompt = np.concatenate([streams[:, cut:], np.full((count, 1), EOS)], axis=1)
    start = cut
    state = clone_state(state) if state is not None else None
    logits, state = model(torch.from_numpy(prompt).long().to(dev), state, start=start)
    pos = task.length + 1
    envs = [Environment(task, s) for s in streams] if fmt == "retrieval" else None
    answers = np.full(count, -1, dtype=np.int64)
    done = np.zeros(count, dtype=bool)
    after_eos = np.zeros(count, dtype=bool)
    forced = [None] * count
    choice = logits[:, -1].argmax(-1).cpu().numpy()
    while pos < limit and not done.all():
        feed = np.full(count, EOS, dtype=np.int64)
        for i in range(count):
            if done[i]:
                continue
            if forced[i] is not None:
                feed[i], forced[i] = forced[i], None
                continue
            token = int(choice[i])
            feed[i] = token
            if token in (YES, NO) or after_eos[i]:
                answers[i], done[i] = token, True
                continue
            after_eos[i] = token == EOS
            if envs is not None:
                forced[i] = envs[i].write(token)
        if done.all():
            break
        logits, state = model(torch.from_numpy(feed[:, None]).to(dev), state, start=pos)
        choice = logits[:, -1].argmax(-1).cpu().numpy()
        pos += 1
    if not done.all() and pos >= limit:  # the last choice, made at the limit, is still read as an answer
        for i in np.flatnonzero(~done):
            token = int(choice[i])
            if forced[i] is None and (token in (YES, NO) or after_eos[i]):
                answers[i] = token
    queries = np.array([e.queries for e in envs], dtype=np.int64) if envs is not None else np.zeros(count, np.int64)
    return answers, queries


@torch.no_grad()
def evaluate_trace(model, task, fmt: str, trials: int, seed: int, precision=32, ranges=None, decode: str = "free",
                   chunk: int = 256) -> dict:
    """A reader of a trace format on `trials` streams, read from its state at the cut (Bob's first token) rounded
    to `precision`: with ``decode="free"`` the answers it decodes greedily (live environment for retrieval), with
    ``"teacher"`` whether it reproduces the whole reference trace. Returns successes, missing answers, mean
    queries per stream, and the state's bits."""
    from .state import capture, round_state, state_bits

    dev = next(model.parameters()).device
    successes = missing = queries = 0
    bits = None
    for b in task.chunks(seed, trials, max_tokens=chunk * task.length):
        tokens = torch.from_numpy(b.tokens).long().to(dev)
        state = capture(model, tokens[:, : b.cut])
        bits = state_bits(state, precision)
        state = round_state(state, precision, ranges)
        if decode == "teacher":
            exact, _ = teacher_forced(model, task, b, fmt, cut=b.cut, state=state)
            successes += int(exact.sum())
            continue
        answers, asked = greedy(model, task, b.tokens, fmt, cut=b.cut, state=state)
        truth = task.answer_tokens(np.asarray(b.answers).reshape(-1))
        successes += int(((answers == truth) & (answers >= 0)).sum())
        missing += int((answers < 0).sum())
        queries += int(asked.sum())
    return {"successes": successes, "missing": missing, "queries": queries / trials, "bits": bits}


def evaluate_reader(model, task, fmt: str, trials: int, seed: int, precision=32, ranges=None,
                    decode: str = "stream") -> dict:
    """A reader in its format, the one entry `eval`, the probe and Figure 2 share: a vanilla reader's answer at the
    stream's end (``train.evaluate``), a writing reader's trace (``evaluate_trace``, decode free or teacher)."""
    if fmt == "vanilla":
        from .train import evaluate

        ok, bits = evaluate(model, task, trials, seed, precision, ranges)
        return {"successes": ok, "missing": 0, "queries": 0.0, "bits": bits}
    return evaluate_trace(model, task, fmt, trials, seed, precision, ranges, decode)
