"""The catalogue of verdicts (bnpg.paper.catalogue) against the paper, the book and the library.

The list of the paper's numbered items is written out here from the paper, independently of the
catalogue; every errata entry and function the catalogue names must exist, every chapter and
section label the book's record of evidence (book/_ext/evidence.json) names for a statement must
exist, and every chapter must open with a verdict box naming statements of the catalogue. The
catalogue itself names no chapter or path of the book.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
from pathlib import Path

import pytest

import bnpg
from bnpg.book import Table, table
from bnpg.paper import catalogue as statements

ROOT = Path(__file__).resolve().parents[2]

#: The paper's numbered items, as the paper numbers them (Sections 2-4 and Appendix A).
PAPER_ITEMS = [
    "Definition 1", "Definition 2", "Definition 3", "Assumption 1", "Assumption 2",
    "Equation (1)", "Equation (2)", "Equation (3)", "Lemma 1", "Lemma 2", "Lemma 3", "Lemma 4",
    "Theorem 1", "Theorem 2", "Appendix A.1", "Appendix A.2", "Appendix A.3", "Appendix A.4",
    "Appendix A.5",
]


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def _source(doc: str) -> str:
    for suffix in (".ipynb", ".md"):
        path = ROOT / f"{doc}{suffix}"
        if path.is_file():
            if suffix == ".ipynb":
                return "\n".join("".join(c["source"]) for c in _cells(path) if c["cell_type"] == "markdown")
            return path.read_text()
    raise AssertionError(f"no chapter {doc}")


def _evidence() -> dict[str, dict]:
    return json.loads((ROOT / "book" / "_ext" / "evidence.json").read_text())["evidence"]


def _errata_entries() -> set[str]:
    return {f"E{n}" for n in re.findall(r"^\(erratum-e(\d+)\)=$", (ROOT / "book" / "errata.md").read_text(), re.M)}


def test_every_numbered_item_of_the_paper_has_one_entry():
    names = [statements.statement(k).name for k in statements.PAPER_KEYS]
    assert names == PAPER_ITEMS


def test_every_entry_points_at_what_exists():
    entries, evidence = _errata_entries(), _evidence()
    assert sorted(evidence) == sorted(s.key for s in statements.CATALOGUE)
    for s in statements.CATALOGUE:
        assert s.verdict in statements.VERDICTS, s.key
        assert set(s.errata) <= entries, (s.key, set(s.errata) - entries)
        chapter, section = evidence[s.key]["chapter"], evidence[s.key].get("section")
        text = _source(chapter)
        if section is not None:
            assert f"({section})=" in text, (s.key, section, chapter)
        assert s.function is not None, s.key
        assert statements.resolve(s.function) is not None
        if s.paper and s.key.split("-")[0] in ("lemma", "theorem", "definition", "assumption"):
            assert f":label: {s.key}" in text, (s.key, "its statement block is not in its chapter")


def test_every_errata_entry_is_behind_some_verdict():
    cited = {e for s in statements.CATALOGUE for e in s.errata}
    assert _errata_entries() <= cited, sorted(_errata_entries() - cited)


def test_the_checked_statements_have_their_paper_function():
    for key in bnpg.paper.STATEMENTS:
        fn = statements.statement(key).function
        assert fn == f"bnpg.paper.{key.replace('-', '')}", (key, fn)


def test_verdicts_on_a_game_agree_with_the_catalogue():
    report = bnpg.paper.check(bnpg.games.matching_game(2, 2, gamma=0.5))
    for v in report.verdicts:
        assert statements.agrees(v.statement, v.status), (v.statement, v.status)
    # Lemma 1 fails as printed on every game with gamma > 0: the catalogue must say so.
    assert report["lemma-1"].status == "fails as printed"
    assert statements.statement("lemma-1").verdict == "false as printed"


def test_agrees_rejects_a_failure_of_a_statement_that_holds():
    for key in ("lemma-2", "lemma-4", "assumption-1", "lemma-2-sharpened", "lemma-3-sharpened"):
        assert not statements.agrees(key, "fails")
        assert not statements.agrees(key, "fails as printed")
    # Lemma 3 is false as printed (errata E16) but its corrected form must not fail
    assert statements.agrees("lemma-3", "fails as printed") and not statements.agrees("lemma-3", "fails")
    assert not statements.agrees("theorem-1", "corrected form fails")
    assert statements.agrees("theorem-1", "fails as printed")


def test_bad_keys_and_verdicts_are_refused():
    with pytest.raises(ValueError, match="key must be one of"):
        statements.statement("lemma-9")
    with pytest.raises(ValueError, match="verdict must be one of"):
        statements.Statement("x", "X", "x", "mostly true", "x")
    with pytest.raises(ValueError, match="errata must be entries"):
        statements.Statement("x", "X", "x", "holds", "x", errata=("1",))


def test_the_catalogue_names_no_path_of_the_book():
    """Chapters are the book's record (book/_ext/evidence.json): the library's catalogue holds the
    statements, their verdicts and their functions, and no string that names a file or chapter."""
    fields = {f.name for f in dataclasses.fields(statements.Statement)}
    assert not fields & {"chapter", "section", "path"}, fields
    source = Path(statements.__file__).read_text()
    strings = [node.value for node in ast.walk(ast.parse(source))
               if isinstance(node, ast.Constant) and isinstance(node.value, str)]
    assert not [t for t in strings if "notebooks" in t or ".ipynb" in t or "book/" in t]
    assert not re.search(r"^\s*(import|from)\s+(pathlib|os)\b", source, re.M)


def _chapters() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))


@pytest.mark.parametrize("path", _chapters(), ids=lambda p: p.stem)
def test_every_chapter_opens_with_its_verdict_box(path):
    first = next(c for c in _cells(path) if c["cell_type"] == "markdown")
    lines = "".join(first["source"]).splitlines()
    assert lines[0].startswith("# "), "the first markdown cell must start with the title"
    boxes = [line for line in lines if line.startswith(":::{verdict}")]
    assert len(boxes) == 1, f"{path.name}: one verdict box in the opening cell, found {boxes}"
    assert lines.index(boxes[0]) <= 3, f"{path.name}: the verdict box must follow the title"
    keys = boxes[0].split()[1:]
    for key in keys:
        assert key == "all" or statements.statement(key)


def test_table_renders_rows_and_escapes_html():
    t = table([{"name": "<b>", "x": 1.23456789, "n": 12345, "ok": True}], digits=3)
    assert t.cells == (("<b>", "1.23", "12,345", "yes"),)
    assert "<td>&lt;b&gt;</td>" in t._repr_html_()
    assert repr(t).splitlines()[0].split() == ["name", "x", "n", "ok"]
    with pytest.raises(ValueError, match="columns must be given"):
        Table([(1, 2)])
    with pytest.raises(ValueError, match=r"rows\[0\] has 1 values for 2 columns"):
        Table([(1,)], columns=["a", "b"])
    with pytest.raises(ValueError, match=r"rows\[1\] lacks the column"):
        Table([{"a": 1}, {"b": 2}])
    with pytest.raises(ValueError, match="digits must be a positive integer"):
        Table([(1,)], columns=["a"], digits=0)


@pytest.mark.parametrize("path", _chapters(), ids=lambda p: p.stem)
def test_figure_cells_are_not_compared_byte_for_byte(path):
    """A glued figure is stored as SVG (or PNG) bytes, which depend on the machine's rounding and
    libraries: nbval must not compare them (cell tag nbval-ignore-output), and the book must show it
    only once, where its glue:figure directive places it (remove-output, or remove-cell)."""
    for k, cell in enumerate(_cells(path)):
        source = "".join(cell["source"])
        if cell["cell_type"] != "code" or "glue_figure(" not in source or source.startswith("from"):
            continue
        tags = cell["metadata"].get("tags", [])
        assert "nbval-ignore-output" in tags and {"remove-output", "remove-cell"} & set(tags), (path.name, k, tags)
