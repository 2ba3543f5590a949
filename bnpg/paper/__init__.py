"""The paper's numbered statements, each a function that checks it on a game and returns a
:class:`~bnpg.paper.verdict.Verdict` (:mod:`~bnpg.paper.statements`); :func:`check` runs them all
into a :class:`~bnpg.paper.verdict.Report`, which :mod:`~bnpg.paper.report` writes as HTML or
Markdown. :mod:`~bnpg.paper.catalogue` records what the book found for every statement.
"""

from .statements import (
    LEMMA1_NOISE,
    LEMMA1_TOLERANCE,
    STATEMENTS,
    TOLERANCE,
    assumption1,
    assumption2,
    check,
    lemma1,
    lemma2,
    lemma3,
    lemma4,
    theorem1,
    theorem2,
)
from .verdict import (
    STATUSES,
    Report,
    Verdict,
    jsonable,
)

__all__ = [
    "LEMMA1_NOISE",
    "LEMMA1_TOLERANCE",
    "Report",
    "STATEMENTS",
    "STATUSES",
    "TOLERANCE",
    "Verdict",
    "assumption1",
    "assumption2",
    "check",
    "jsonable",
    "lemma1",
    "lemma2",
    "lemma3",
    "lemma4",
    "theorem1",
    "theorem2",
]
