"""The one tokenization every reader shares (PAPER.md, eq. 6): special tokens first, then numbers.

Token id of the number v is NUM0 + v. Index bits are the numbers 0 and 1; positions are the numbers 1..n.
"""
SPECIALS = ("<s>", "~", "YES", "NO", "<StartSearch>", "<EndSearch>", "FAILED")
BOS, TILDE, YES, NO, START_SEARCH, END_SEARCH, FAILED = range(len(SPECIALS))
NUM0 = len(SPECIALS)


def render(tokens) -> str:
    """Human-readable text of a token sequence, as in the paper: `<s> 0 1 1 ... 3`."""
    return " ".join(SPECIALS[t] if t < NUM0 else str(int(t) - NUM0) for t in tokens)
