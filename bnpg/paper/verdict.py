r"""What a check of one numbered statement returns (:class:`Verdict`), and of all of them (:class:`Report`).

A statement of the paper has the form *hypothesis implies measured <= bound*. A :class:`Verdict`
records the hypothesis (met or not), the measured quantity and up to three bounds, each under one
name in its fields, its ``details`` keys, :meth:`Verdict.to_dict` and the reports:

* **printed**: the bound as the paper states it (``bound_printed``, ``holds_as_printed``);
* **corrected**: what the paper's own argument gives once the book's errata are fixed
  (``bound_corrected``, ``holds_corrected``); for a statement whose printed form stands it is the
  printed bound, and ``None`` where no correction of the paper's argument gives a bound;
* **sharpened**: this book's own bound, from :mod:`bnpg.theory.sharpened` (``bound_sharpened``,
  ``holds_sharpened``); ``None`` for statements the book does not sharpen.

A bound that depends on :math:`\lambda` is taken at the :math:`\lambda` in ``parameters["lam"]`` or
``details["lam"]`` (for the theorems, the paper's choice: all three bounds bound the one run made).

* ``holds_as_printed`` / ``holds_corrected`` / ``holds_sharpened`` is ``True`` or ``False`` when the
  hypothesis is met and the evidence decides the comparison, and ``None`` when it does not apply
  (the hypothesis is not met, there is no such form, or a run ended before it could decide);
* :attr:`Verdict.status` condenses them for a table: ``"holds"``; ``"fails as printed"`` (the
  printed form fails, a corrected or sharpened one holds or is not decided); ``"fails"`` (no form
  holds); ``"corrected form fails"`` / ``"sharpened form fails"`` (the printed form holds, that
  form does not); or ``"undecided"`` (the hypothesis is not met, or a run ended before it could
  decide). A verdict is never ``"fails"`` unless the evidence contradicts the statement; a
  verdict whose case is degenerate (a target met at the start, a bound of 0, ...) says so in
  ``details["degenerate"]``, and an undecided one gives its reason in ``details["undecided"]``.

Everything in :meth:`Verdict.to_dict` and :meth:`Report.to_dict` is JSON-ready: numbers are Python
floats and ints, non-finite floats are the strings ``"inf"``, ``"-inf"`` and ``"nan"``.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from bnpg._json import to_jsonable

__all__ = ["STATUSES", "STATUS_MARKS", "Report", "Verdict", "format_number", "jsonable"]

#: The one-word outcomes of :attr:`Verdict.status`.
STATUSES = ("holds", "fails as printed", "fails", "corrected form fails", "sharpened form fails", "undecided")
#: A mark for each status, shown before its word in the report of ``bnpg check`` so that statuses
#: are told apart without colour.
STATUS_MARKS = {"holds": "\u2714", "fails as printed": "\u26a0", "fails": "\u2718",
                "corrected form fails": "\u2718", "sharpened form fails": "\u2718", "undecided": "?"}


def jsonable(value):
    """``value`` with numpy scalars and arrays turned into Python numbers and lists, recursively.

    Non-finite floats become the strings ``"inf"``, ``"-inf"`` and ``"nan"``: this is
    :func:`bnpg._json.to_jsonable`, the package's one JSON codec.

    >>> jsonable({"a": np.float64(1.5), "b": [np.int64(2), float("inf")], "c": np.array([0.5])})
    {'a': 1.5, 'b': [2, 'inf'], 'c': [0.5]}
    """
    return to_jsonable(value)


def _frozen(mapping: Mapping | None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


def format_number(x) -> str:
    """A number, array, flag or ``None`` as the tables of a report show it.

    >>> format_number(None), format_number(True), format_number([1.5, 2])
    ('-', 'True', '[1.5, 2]')
    """
    if isinstance(x, (np.ndarray, list, tuple)):
        return "[" + ", ".join(format_number(v) for v in np.asarray(x, dtype=object).ravel()) + "]"
    if isinstance(x, str):
        return x
    if x is None:
        return "-"
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}"
    return f"{float(x):.4g}"


@dataclass(frozen=True, kw_only=True)
class Verdict:
    r"""The outcome of checking one numbered statement of the paper on one game.

    Every field is given by keyword.

    Attributes
    ----------
    statement : str
        The statement's id, e.g. ``"lemma-2"``.
    title : str
        Its name in words.
    hypothesis_met : bool or None
        Whether the statement's hypothesis holds where it was checked (``None``: it has none).
    measured : float or None
        The quantity the statement bounds, computed exactly (``None``: not obtained).
    bound_printed : float or None
        The bound as the paper states it.
    bound_corrected : float or None
        The bound the paper's own argument gives once the errata are fixed (``None``: no such bound).
    bound_sharpened : float or None
        This book's sharpened bound (:mod:`bnpg.theory.sharpened`; ``None``: not sharpened).
    holds_as_printed, holds_corrected, holds_sharpened : bool or None
        Whether ``measured`` is within each bound, for a met hypothesis (see the module docstring).
    parameters : mapping
        The arguments used (JSON-ready).
    details : mapping
        The numbers behind the verdict (JSON-ready).
    summary : str
        One line in words.
    point : BNPolicy or None
        The policy examined (not part of :meth:`to_dict`).
    trajectory : Trajectory or None
        The run behind a theorem's verdict (not part of :meth:`to_dict`).

    Examples
    --------
    >>> v = Verdict(statement="lemma-2", title="near-Nash", hypothesis_met=True, measured=0.5,
    ...             bound_printed=1.0, bound_corrected=1.0, holds_as_printed=True, holds_corrected=True,
    ...             bound_sharpened=0.5, holds_sharpened=True)
    >>> v.status, v.to_dict()["bound_sharpened"]
    ('holds', 0.5)
    """

    statement: str
    title: str
    hypothesis_met: bool | None
    measured: float | None
    bound_printed: float | None
    bound_corrected: float | None
    holds_as_printed: bool | None
    holds_corrected: bool | None
    bound_sharpened: float | None = None
    holds_sharpened: bool | None = None
    parameters: Mapping = field(default_factory=dict)
    details: Mapping = field(default_factory=dict)
    summary: str = ""
    point: object | None = field(default=None, compare=False, repr=False)
    trajectory: object | None = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "parameters", _frozen(self.parameters))
        object.__setattr__(self, "details", _frozen(self.details))

    @property
    def status(self) -> str:
        """One of :data:`STATUSES` (see the module docstring)."""
        printed, corrected, sharp = self.holds_as_printed, self.holds_corrected, self.holds_sharpened
        if corrected is False or sharp is False:
            if printed is not True:
                return "fails"
            return "corrected form fails" if corrected is False else "sharpened form fails"
        if printed is True:
            return "holds"
        if printed is False:
            other = self.bound_corrected is not None or self.bound_sharpened is not None
            return "fails as printed" if other else "fails"
        return "undecided"

    def to_dict(self) -> dict:
        """Every field but ``point`` and ``trajectory``, JSON-ready, plus ``status``."""
        return jsonable({
            "statement": self.statement,
            "title": self.title,
            "status": self.status,
            "hypothesis_met": self.hypothesis_met,
            "measured": self.measured,
            "bound_printed": self.bound_printed,
            "bound_corrected": self.bound_corrected,
            "holds_as_printed": self.holds_as_printed,
            "holds_corrected": self.holds_corrected,
            "bound_sharpened": self.bound_sharpened,
            "holds_sharpened": self.holds_sharpened,
            "parameters": dict(self.parameters),
            "details": dict(self.details),
            "summary": self.summary,
        })

    def rows(self) -> list[tuple[str, str]]:
        """``(field, value)`` pairs for display."""
        out = [
            ("statement", f"{self.statement}: {self.title}"),
            ("status", self.status),
            ("hypothesis met", format_number(self.hypothesis_met)),
            ("measured", format_number(self.measured)),
            ("bound as printed", format_number(self.bound_printed)),
            ("bound corrected", format_number(self.bound_corrected)),
            ("bound sharpened", format_number(self.bound_sharpened)),
            ("holds as printed", format_number(self.holds_as_printed)),
            ("holds corrected", format_number(self.holds_corrected)),
            ("holds sharpened", format_number(self.holds_sharpened)),
        ]
        out += [(k, format_number(v)) for k, v in self.details.items()]
        return out

    def __repr__(self) -> str:
        return (f"Verdict({self.statement!r}, status={self.status!r}, measured={format_number(self.measured)}, "
                f"bound_printed={format_number(self.bound_printed)}, bound_corrected={format_number(self.bound_corrected)}, "
                f"bound_sharpened={format_number(self.bound_sharpened)})")

    def __str__(self) -> str:
        width = max(len(k) for k, _ in self.rows())
        return "\n".join(f"{k:<{width}}  {v}" for k, v in self.rows()) + f"\n{self.summary}"

    def _repr_html_(self) -> str:
        cells = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in self.rows()
        )
        return (f"<table class='bnpg-verdict'>{cells}</table>"
                f"<p>{html.escape(self.summary)}</p>")


#: Columns of :meth:`Report.table`.
_COLUMNS = ("statement", "status", "hypothesis", "measured", "printed bound", "corrected bound", "sharpened bound")


@dataclass(frozen=True)
class Report:
    """Every statement checked on one game: the verdicts in the paper's order, and the constants used.

    A report is a sequence of its verdicts: ``len(report)``, ``for v in report`` (in the paper's
    order) and ``report[0]``; ``report["lemma-2"]`` is the verdict of a statement by its id.

    Attributes
    ----------
    verdicts : tuple of Verdict
    constants : mapping
        ``M``, ``beta_lambda`` and the other constants of the paper for this game (JSON-ready).
    parameters : mapping
        The game's sizes and the arguments of the check (JSON-ready).
    version : str
        The bnpg version that made the report.

    Examples
    --------
    >>> def verdict(sid):
    ...     return Verdict(statement=sid, title=sid, hypothesis_met=None, measured=1.0, bound_printed=2.0,
    ...                    bound_corrected=2.0, holds_as_printed=True, holds_corrected=True)
    >>> report = Report(verdicts=(verdict("lemma-1"), verdict("lemma-2")))
    >>> len(report), [v.statement for v in report], report["lemma-2"] is report[1]
    (2, ['lemma-1', 'lemma-2'], True)
    """

    verdicts: tuple
    constants: Mapping = field(default_factory=dict)
    parameters: Mapping = field(default_factory=dict)
    version: str = ""

    def __post_init__(self):
        object.__setattr__(self, "verdicts", tuple(self.verdicts))
        object.__setattr__(self, "constants", _frozen(self.constants))
        object.__setattr__(self, "parameters", _frozen(self.parameters))

    def __getitem__(self, statement: str | int) -> Verdict:
        """The verdict of the statement with id ``statement``, or the verdict at position ``statement``."""
        if isinstance(statement, (int, np.integer)) and not isinstance(statement, (bool, np.bool_)):
            return self.verdicts[statement]
        for v in self.verdicts:
            if v.statement == statement:
                return v
        raise KeyError(f"no verdict for {statement!r}; the report has {[v.statement for v in self.verdicts]}")

    def __iter__(self) -> Iterator[Verdict]:
        """The verdicts in the paper's order."""
        return iter(self.verdicts)

    def __len__(self) -> int:
        return len(self.verdicts)

    def __contains__(self, statement) -> bool:
        """Whether the report has a verdict for the statement id ``statement`` (or holds the verdict)."""
        return any(v.statement == statement or v is statement for v in self.verdicts)

    def to_dict(self) -> dict:
        """``{"bnpg_version", "parameters", "constants", "statements": {id: Verdict.to_dict()}}``."""
        return jsonable({
            "bnpg_version": self.version,
            "parameters": dict(self.parameters),
            "constants": dict(self.constants),
            "statements": {v.statement: v.to_dict() for v in self.verdicts},
        })

    def table_rows(self) -> list[tuple[str, ...]]:
        """One row of strings per verdict, under the headings of :meth:`table`."""
        return [
            (v.statement, v.status, format_number(v.hypothesis_met), format_number(v.measured),
             format_number(v.bound_printed), format_number(v.bound_corrected), format_number(v.bound_sharpened))
            for v in self.verdicts
        ]

    def table(self) -> str:
        """The verdicts as a plain-text table."""
        rows = [_COLUMNS] + self.table_rows()
        widths = [max(len(r[k]) for r in rows) for k in range(len(_COLUMNS))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                 for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return f"Report({', '.join(f'{v.statement}: {v.status}' for v in self.verdicts)})"

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in _COLUMNS)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
            for row in self.table_rows()
        )
        return f"<table class='bnpg-report'><tr>{head}</tr>{body}</table>"
