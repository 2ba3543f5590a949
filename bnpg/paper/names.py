r"""How a report names the paper's statements and symbols: "Lemma 2" for ``lemma-2``, Greek
letters for ``lambda``, ``eps``, ``gamma``.

>>> statement_name("theorem-1"), in_words("lambda = eps / (2 M)")
('Theorem 1', 'λ = ε / (2 M)')
"""

from __future__ import annotations

import re

from bnpg.paper.verdict import Verdict

__all__ = ["in_words", "is_theorem", "statement_name"]

_WORDS = ((r"\bbeta_lambda\b", "\u03b2_\u03bb"), (r"\bL_lambda\b", "L_\u03bb"), (r"\blambda\b", "\u03bb"),
          (r"\beps\b", "\u03b5"), (r"\bepsilon\b", "\u03b5"), (r"\bgamma\b", "\u03b3"), (r"\bmu\b", "\u03bc"))


def in_words(text: str) -> str:
    """``text`` with ``lambda``, ``eps``, ``gamma`` ... as Greek letters.

    >>> in_words("the gradient of L_lambda at eps")
    'the gradient of L_λ at ε'
    """
    for pattern, letter in _WORDS:
        text = re.sub(pattern, letter, text)
    return text


def statement_name(statement: str) -> str:
    """How the paper names the statement with id ``statement``.

    Parameters
    ----------
    statement : str
        A statement id such as ``"lemma-2"``.

    Examples
    --------
    >>> statement_name("lemma-2"), statement_name("assumption-1"), statement_name("theorem-2")
    ('Lemma 2', 'Assumption 1', 'Theorem 2')
    """
    if not isinstance(statement, str):
        raise TypeError(f"statement must be a str, got {type(statement).__name__}")
    from bnpg.paper.catalogue import CATALOGUE

    for entry in CATALOGUE:
        if entry.key == statement:
            return entry.name
    kind, _, number = statement.partition("-")
    return f"{kind.capitalize()} {number}".strip()


def is_theorem(v: Verdict) -> bool:
    """Whether ``v`` is the verdict of one of the theorems."""
    return v.statement.startswith("theorem")
