"""The one tokenization every reader shares (PAPER.md, eq. 6): special tokens first, then numbers.

Token id of the number v is NUM0 + v. Index bits are the numbers 0 and 1; positions are the numbers 1..n.
`</s>` ends the input and the trace of the chain-of-thought and retrieval formats (``streaming.formats``).
"""
SPECIALS = ("<s>", "~", "YES", "NO", "<StartSearch>", "<EndSearch>", "FAILED", "</s>")
BOS, TILDE, YES, NO, START_SEARCH, END_SEARCH, FAILED, EOS = range(len(SPECIALS))
NUM0 = len(SPECIALS)


def render(tokens) -> str:
    """Human-readable text of a token sequence, as in the paper: `<s> 0 1 1 ... 3`."""
    return " ".join(SPECIALS[t] if t < NUM0 else str(int(t) - NUM0) for t in tokens)


def parse(text: str) -> list:
    """Token ids of a rendered text (the inverse of ``render``); ValueError naming an unknown word."""
    ids = {name: i for i, name in enumerate(SPECIALS)}
    out = []
    for word in text.split():
        if word in ids:
            out.append(ids[word])
        elif word.isdigit():
            out.append(NUM0 + int(word))
        else:
            raise ValueError(f"unknown token {word!r}")
    return out
