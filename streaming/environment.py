"""The retrieval environment (PAPER.md, in-context retrieval; Theorems 5.2 and 5.3): a regex engine over the context.

A reader (a trained model decoding greedily, or a budgeted streaming algorithm) writes a trace after its input.
Whenever the trace closes a query ``<StartSearch> w_1 .. w_j <EndSearch>``, the environment turns the query words
into a regular expression (each task says how: ``Task.search_pattern``), runs it with Python's ``re`` on the
rendered context (the input, ``Task.searched_input`` tokens of the stream, or the reader's own trace, as the task's
pattern asks), and appends one token: group 1 of the first match (the first group that matched, where a pattern
has alternatives), or ``FAILED`` when nothing matches. A malformed query (unbalanced markers, words the task's
grammar does not know, a number out of range) is answered ``FAILED`` too: the environment never raises on what a
reader writes.

The environment is outside the reader's state: that is the point. A reader with b bits that may query it is no
longer a streaming algorithm, and the one-way bounds do not apply to it.
"""
from __future__ import annotations

import re

from .tokens import END_SEARCH, FAILED, SPECIALS, START_SEARCH, parse, render


def token_of(word: str) -> int:
    """The token a matched group names, or FAILED for a word that is no token."""
    try:
        tokens = parse(word)
    except ValueError:
        return FAILED
    return tokens[0] if len(tokens) == 1 else FAILED


def word(token: int) -> str:
    return render([int(token)])


def number(word_: str, low: int, high: int):
    """The number a query word names when it lies in low..high, else None."""
    if not word_.isdigit() or len(word_) > 12:
        return None
    value = int(word_)
    return value if low <= value <= high else None


def first_group(match) -> str | None:
    if match is None:
        return None
    groups = [g for g in match.groups() if g is not None]
    return groups[0] if groups else match.group(0)


class Environment:
    """The environment of one stream: its rendered input and the trace written after it, token by token.

    ``write(token)`` appends a token the reader wrote; when that token is ``<EndSearch>`` it returns the token the
    environment appends in reply (already appended to the trace), else None. ``queries`` counts the queries."""

    def __init__(self, task, stream):
        self.task = task
        self.input_text = render(list(stream)[: task.searched_input])
        self.trace: list = []
        self._words: list = []  # the trace rendered, word by word (joined when a query searches the trace)
        self.queries = 0
        self._last_start = -1  # index in the trace of the last <StartSearch> after the last <EndSearch>
        self._balanced = True

    def search(self, words: list) -> int:
        """The reply to a query of these words (FAILED on a malformed query or no match)."""
        spec = self.task.search_pattern(words)
        if spec is None:
            return FAILED
        pattern, scope = spec
        text = self.input_text if scope == "input" else " ".join(self._words)
        group = first_group(re.search(pattern, text))
        return FAILED if group is None else token_of(group)

    def write(self, token: int):
        token = int(token)
        self._append(token)
        if token == START_SEARCH:
            self._balanced = self._last_start < 0
            self._last_start = len(self.trace) - 1
            return None
        if token != END_SEARCH:
            return None
        self.queries += 1
        start, balanced = self._last_start, self._balanced
        self._last_start, self._balanced = -1, True
        if start < 0 or not balanced:
            reply = FAILED
        else:
            words = [word(t) for t in self.trace[start + 1 : -1]]
            reply = FAILED if any(w in SPECIALS and w != "~" for w in words) else self.search(words)
        self._append(reply)
        return reply

    def _append(self, token: int) -> None:
        self.trace.append(token)
        self._words.append(word(token))


def replay(task, stream, trace, written_by_environment) -> list:
    """Run a trace through a fresh environment: the replies it gives at the positions the trace says the
    environment wrote, as (position, written, replied) for each query."""
    env = Environment(task, stream)
    out = []
    i = 0
    while i < len(trace):
        if written_by_environment[i]:
            raise ValueError(f"position {i}: the environment writes only right after <EndSearch>")
        reply = env.write(trace[i])
        if reply is not None:
            if i + 1 >= len(trace) or not written_by_environment[i + 1]:
                raise ValueError(f"position {i}: a query without the environment's reply after it")
            out.append((i + 1, int(trace[i + 1]), int(reply)))
            i += 2
            continue
        i += 1
    return out

