"""Sphinx extension: verdict boxes and the verdict index, rendered from :mod:`bnpg.paper.catalogue`.

``{verdict} KEY [KEY ...]``
    A box with one line per statement: its name and title, the general verdict, the errata entries
    behind it, the function that checks it and a link to the index. ``all`` (for the chapter that
    checks them all on a reader's game) gives one line naming the statements ``bnpg.paper.check``
    runs.

``{verdict-summary}``
    The first screen of the book: one row per verdict, worst first, naming every numbered statement
    of the paper that has it, each name a link to its entry in the index.

``{verdict-findings}``
    One item per numbered statement of the paper whose verdict is not *holds*: its name, its
    verdict and the catalogue's finding.

``{verdict-index}``
    The verdict index: a table of every numbered statement of the paper (and of this book's own
    results) with its verdict, its errata entries, its evidence and what :func:`bnpg.paper.check`
    finds on the book's example game, followed by one entry per statement with the finding, the
    corrected or sharpened form and the function. The example game's verdicts are computed while
    the book is built; one that contradicts a general verdict (:func:`bnpg.paper.catalogue.agrees`) is
    an error.

Every verdict is shown as a badge: its mark (:data:`bnpg.paper.catalogue.VERDICT_MARKS`) and its
word, with the CSS class :func:`bnpg.paper.catalogue.verdict_class`, so that the verdicts differ in
colour, mark and word. All produce MyST markdown and parse it in place, so the links are ordinary references that the
build checks. The library's catalogue holds the statements, their verdicts and their functions;
where the book holds the evidence for each (its chapter, and the section label when narrower) is
the book's own record, :data:`EVIDENCE_FILE` beside this extension (:func:`evidence`).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

import bnpg
from bnpg.paper import catalogue as st

INDEX_DOC = "book/verdicts"
#: The example game of the index, as the call that builds it (evaluated with bnpg imported).
EXAMPLE = "bnpg.games.matching_game(2, 2, gamma=0.5)"


#: The chapter (and section label) of the evidence for every statement of the catalogue.
EVIDENCE_FILE = Path(__file__).with_name("evidence.json")


@cache
def evidence() -> dict[str, tuple[str, str | None]]:
    """``{statement key: (chapter, section label or None)}`` from :data:`EVIDENCE_FILE`, one entry
    for every statement of the catalogue and no other.

    >>> evidence()["lemma-2"]
    ('notebooks/04-lemma2-near-nash', 'nb04-proof')
    """
    found = {key: (item["chapter"], item.get("section"))
             for key, item in json.loads(EVIDENCE_FILE.read_text(encoding="utf-8"))["evidence"].items()}
    keys = [s.key for s in st.CATALOGUE]
    if sorted(found) != sorted(keys):
        raise ValueError(f"{EVIDENCE_FILE.name} must name the evidence of exactly the catalogue's statements: "
                         f"missing {sorted(set(keys) - set(found))}, unknown {sorted(set(found) - set(keys))}")
    return found


def _errata(s) -> str:
    return ", ".join(s.errata) if s.errata else "–"


def _evidence(s) -> str:
    doc, section = evidence()[s.key]
    chapter = f"{{doc}}`Chapter {int(doc.split('/')[-1][:2])} </{doc}>`"
    if section is None:
        return chapter
    if section.startswith("paper-eq-"):
        return f"{chapter}, {{ref}}`equation ({section[-1]}) <{section}>`"
    return f"{chapter}, {{ref}}`{section}`"


def _function(s) -> str:
    return f"{{py:obj}}`{s.function}`" if s.function else ""


def _example_statuses() -> dict[str, str]:
    """The status of each verdict of ``bnpg.paper.check`` on the example game (about a second)."""
    report = bnpg.paper.check(eval(EXAMPLE, {"bnpg": bnpg}))  # noqa: S307 - a constant above
    return {v.statement: v.status for v in report.verdicts}


def _badge(verdict: str) -> nodes.inline:
    """The badge of a verdict: its mark and its word, classed by verdict."""
    return nodes.inline("", f"{st.VERDICT_MARKS[verdict]}\u00a0{verdict}",
                        classes=["verdict-badge", st.verdict_class(verdict)])


def _badges(tree: nodes.Element) -> None:
    """Replace every emphasis whose text is exactly a verdict by that verdict's badge."""
    for em in list(tree.findall(nodes.emphasis)):
        text = em.astext().rstrip(".")
        if text.lower() in st.VERDICTS:
            em.replace_self(_badge(text.lower()))


class _MystDirective(SphinxDirective):
    def _parse(self, lines: list[str], container: nodes.Element) -> nodes.Element:
        self.state.nested_parse(StringList(lines, source=self.get_source_info()[0]),
                                self.content_offset, container)
        _badges(container)
        return container


class VerdictBox(_MystDirective):
    """The verdict box at the top of a chapter."""

    required_arguments = 1
    optional_arguments = 30
    has_content = False

    def run(self):
        keys = list(self.arguments)
        lines, items = [], []
        if keys == ["all"]:  # the chapter that checks them all: one line, the verdicts are in the index
            names = ", ".join(st.statement(k).name for k in bnpg.paper.STATEMENTS)
            lines += [f"{{py:func}}`bnpg.paper.check` runs {names} on a game of yours; what the book "
                      "establishes about each, in general, is in the verdict index.", ""]
        else:
            try:
                items = [st.statement(k) for k in keys]
            except ValueError as error:
                raise self.error(f"verdict: {error}") from None
        for s in items:
            errata = f" ({', '.join(s.errata)})" if s.errata else ""
            function = f" Checked by {_function(s)}." if s.function else ""
            lines += [f"**{s.name}**, {s.title}: *{s.verdict}*{errata}.{function}", ""]
        lines.append(f"Every verdict on one page: {{doc}}`the verdict index </{INDEX_DOC}>`.")
        worst = max((s.verdict for s in items), key=st.VERDICTS.index, default=None)
        box = nodes.admonition(classes=["verdict", st.verdict_class(worst) if worst else "verdict-all"])
        box += nodes.title("Verdict", "Verdict" if len(items) <= 1 else "Verdicts")
        self.env.note_dependency(st.__file__)
        return [self._parse(lines, box)]


class VerdictIndex(_MystDirective):
    """The table of every statement's verdict, then one entry per statement."""

    has_content = False

    def run(self):
        self.env.note_dependency(st.__file__)
        self.env.note_dependency(str(EVIDENCE_FILE))
        found = _example_statuses()
        wrong = [(k, s) for k, s in found.items() if not st.agrees(k, s)]
        if wrong:
            raise self.error(f"verdict-index: the example game contradicts the catalogue: {wrong}")
        lines = ["The verdicts mean:", ""]
        lines += [f"- *{v}*: {st.VERDICT_MEANINGS[v]}" for v in st.VERDICTS]
        lines += ["", "| Statement | Verdict | Errata | Evidence | On the example game |",
                 "|---|---|---|---|---|"]
        for s in st.CATALOGUE:
            name = f"{{ref}}`{s.name} <verdict-{s.key}>`"
            lines.append(f"| {name}: {s.title} | *{s.verdict}* | {_errata(s)} | {_evidence(s)} "
                         f"| {found.get(s.key, '')} |")
        lines += ["", f"The last column is what {{py:func}}`bnpg.paper.check` returns, while this page "
                  f"is built, on `{EXAMPLE}`.", ""]
        for s in st.CATALOGUE:
            lines += [f"({f'verdict-{s.key}'})=", f"**{s.name}: {s.title}.** *{s.verdict}* "
                      f"{s.finding}", ""]
            if s.corrected:
                label = "Sharpened" if s.verdict == "sharpened" else "Corrected"
                lines += [f"{label}:", "", "$$", s.corrected, "$$", ""]
            lines += [f"Evidence: {_evidence(s)}; errata: {_errata(s)}; code: {_function(s)}.", ""]
        return [self._parse(lines, nodes.container(classes=["verdict-index", "bnpg-wide"]))]


class VerdictSummary(_MystDirective):
    """One row per verdict, worst first, with the paper's statements that have it."""

    has_content = False

    def run(self):
        self.env.note_dependency(st.__file__)
        lines = ["| Verdict | Statements of the paper |", "|---|---|"]
        for verdict, group in st.by_verdict():
            names = ", ".join(f"{{ref}}`{s.name} <verdict-{s.key}>`" for s in group)
            lines.append(f"| *{verdict}* | {names} |")
        return [self._parse(lines, nodes.container(classes=["verdict-summary"]))]


class VerdictFindings(_MystDirective):
    """The finding of every numbered statement of the paper whose verdict is not *holds*."""

    has_content = False

    def run(self):
        self.env.note_dependency(st.__file__)
        lines = []
        for verdict, group in st.by_verdict():
            if verdict == "holds":
                continue
            for s in group:
                lines += [f"- {{ref}}`{s.name} <verdict-{s.key}>`, {s.title}: *{verdict}*. {s.finding}"]
        holds = [s.name for v, group in st.by_verdict() if v == "holds" for s in group]
        lines += [f"- *holds*: {', '.join(holds)}."]
        return [self._parse(lines, nodes.container(classes=["verdict-findings"]))]


def setup(app):
    app.add_directive("verdict-summary", VerdictSummary)
    app.add_directive("verdict-findings", VerdictFindings)
    app.add_directive("verdict", VerdictBox)
    app.add_directive("verdict-index", VerdictIndex)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
