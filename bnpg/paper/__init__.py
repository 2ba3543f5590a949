"""The paper's numbered statements, each a function that checks it on a game and returns a
:class:`~bnpg.paper.verdict.Verdict`: the assumptions (:mod:`~bnpg.paper.assumptions`), the lemmas
(:mod:`~bnpg.paper.lemmas`) and the theorems (:mod:`~bnpg.paper.theorems`), with the tolerances and
checks they share in :mod:`~bnpg.paper.shared`; :func:`check` (:mod:`~bnpg.paper.checklist`) runs them
all into a :class:`~bnpg.paper.verdict.Report`, which :mod:`~bnpg.paper.report` writes as HTML or
Markdown. :mod:`~bnpg.paper.catalogue` records what the book found for every statement.
"""

from .assumptions import assumption1, assumption2
from .checklist import STATEMENTS, check
from .lemmas import LEMMA1_NOISE, LEMMA1_TOLERANCE, lemma1, lemma2, lemma3, lemma4
from .shared import TOLERANCE
from .theorems import theorem1, theorem2
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
