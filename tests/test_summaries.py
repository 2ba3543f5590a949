"""No page summarises a verdict other than the catalogue's, and chapters are cited by their numbers.

* The book's summaries of the verdicts (the first screen's table and the findings of the intro, the
  verdict index, every chapter's verdict box) are rendered from :mod:`bnpg.paper.catalogue` by the
  book's extension; the tests require the pages to use those directives and no hand-written
  verdict word in the intro. The README's table is text, kept equal to
  :func:`bnpg.paper.catalogue.summary_markdown`.
* Prose that calls a statement the catalogue marks *false as printed* true without a qualifier
  ("Lemma 3 holds.", "Lemma 3 holds on everything tried", "Lemma 1 is correct") is a contradiction.
* Chapter N is the notebook whose file name starts with N (the table of contents numbers them so,
  checked on the built pages when the book is built), and every mention of "chapter N" in the prose
  is a link to that notebook.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from bnpg.paper import catalogue

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BOOK = ROOT / "book"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
BEGIN, END = "<!-- verdicts:begin -->", "<!-- verdicts:end -->"


def _prose() -> dict[str, str]:
    """Every page's prose: the book's Markdown pages, the README and the notebooks' Markdown cells."""
    pages = {p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8") for p in sorted(BOOK.glob("*.md"))}
    pages["README.md"] = README.read_text(encoding="utf-8")
    for nb in NOTEBOOKS:
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        pages[nb.relative_to(ROOT).as_posix()] = "\n\n".join(
            "".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return pages


def test_the_readme_table_is_the_catalogue():
    text = README.read_text(encoding="utf-8")
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    block = text.split(BEGIN)[1].split(END)[0].strip()
    assert block == catalogue.summary_markdown(), (
        "README's verdict table differs from the catalogue; paste bnpg.paper.catalogue.summary_markdown()")


def test_the_summary_groups_every_paper_statement_once_by_its_verdict():
    grouped = catalogue.by_verdict()
    names = [s.name for _, group in grouped for s in group]
    assert sorted(names) == sorted(s.name for s in catalogue.CATALOGUE if s.paper)
    assert all(s.verdict == v for v, group in grouped for s in group)
    order = [v for v, _ in grouped]
    assert order == sorted(order, key=catalogue.VERDICTS.index, reverse=True)  # worst first
    assert len(set(catalogue.VERDICT_MARKS.values())) == len(catalogue.VERDICTS)
    assert len({catalogue.verdict_class(v) for v in catalogue.VERDICTS}) == len(catalogue.VERDICTS)


def test_the_summaries_of_the_book_are_generated():
    intro = (BOOK / "intro.md").read_text(encoding="utf-8")
    assert ":::{verdict-summary}" in intro and ":::{verdict-findings}" in intro
    head = intro.split(":::{verdict-summary}")[0]
    assert len(head.splitlines()) <= 12, "the verdict table must come first, within a screen"
    # The intro's own prose does not restate a verdict: the words come from the directives.
    prose = re.sub(r":::\{verdict-[a-z]+\}\n:::", "", intro)
    for verdict in catalogue.VERDICTS[1:]:
        assert f"*{verdict}*" not in prose.replace("*False as printed*", ""), verdict
    assert ":::{verdict-index}" in (BOOK / "verdicts.md").read_text(encoding="utf-8")
    for nb in NOTEBOOKS:
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        boxes = [c for c in cells if c["cell_type"] == "markdown" and "{verdict}" in "".join(c["source"])]
        assert len(boxes) == 1, f"{nb.name}: one verdict box expected, found {len(boxes)}"
        assert not re.search(r"\{(admonition|tip|note)\}[^\n]*[Vv]erdict", "\n".join(
            "".join(c["source"]) for c in cells if c["cell_type"] == "markdown")), nb.name


#: Saying, without a qualifier, that a statement holds: the name, then "holds"/"is true"/"is correct"
#: ending the sentence or followed by "as printed" or "as stated" (unless "only" follows) or "on every...".
_UNQUALIFIED = (r"{name}(?:'s statement)? (?:holds|is true|is correct)"
                r"(?:\s*[.;]|\s+as (?:printed|stated)(?!,? only)|\s+on every)")


def _contradictions(pages: dict[str, str]) -> list[str]:
    found = []
    for s in catalogue.CATALOGUE:
        if not s.paper or s.verdict != "false as printed":
            continue
        pattern = re.compile(_UNQUALIFIED.format(name=re.escape(s.name)))
        for page, text in pages.items():
            for m in pattern.finditer(" ".join(text.split())):
                found.append(f"{page}: {m.group(0)!r} ({s.name} is {s.verdict})")
    return found


def test_no_prose_calls_a_statement_false_as_printed_true():
    found = _contradictions(_prose())
    assert not found, "\n".join(found)


def test_the_contradiction_rule_catches_what_it_should_and_spares_the_rest():
    pages = {"a": "Lemma 3 holds.", "b": "Here Lemma 1 holds as printed only if d is normalised.",
             "g": "Theorem 2 holds as printed on this game.",
             "c": "Lemma 3 holds on every game tried.", "d": "Lemma 3 holds with lambda M once corrected.",
             "e": "Lemma 2 holds.", "f": "Theorem 1 is\ncorrect; ok"}
    assert sorted(f.split(":")[0] for f in _contradictions(pages)) == ["a", "c", "f", "g"]


_CHAPTER = re.compile(r"\b[Cc]hapters? (\d{1,2})\b")
_DOC_LINK = re.compile(r"\{doc\}`([^`<]*?)\s*<([^>]+)>`|\[([^\]]*)\]\(([^)]+)\)")


def _chapter_mentions(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(link text, target) of every link whose text names a chapter, and the bare mentions left."""
    links = []

    def keep(m):
        label, target = (m.group(1), m.group(2)) if m.group(1) is not None else (m.group(3), m.group(4))
        if _CHAPTER.search(label):
            links.append((label, target))
        return " "

    bare = _DOC_LINK.sub(keep, text)
    bare = re.sub(r"`[^`]*`", " ", bare)  # code spans
    return links, [m.group(0) for m in _CHAPTER.finditer(bare)]


def test_chapter_mentions_are_links_to_the_numbered_chapter():
    problems = []
    for page, text in _prose().items():
        if page == "README.md":
            continue  # the README is read outside the book, where a chapter number is plain text
        links, bare = _chapter_mentions(text)
        problems += [f"{page}: {b!r} is not a link" for b in bare]
        for label, target in links:
            number = int(_CHAPTER.search(label).group(1))
            name = Path(target.split("#")[0]).name
            if not name.startswith(f"{number:02d}-"):
                problems.append(f"{page}: {label!r} links to {target}")
    assert not problems, "\n".join(problems)


def test_the_chapter_rule_catches_a_bare_mention_and_a_wrong_target():
    links, bare = _chapter_mentions("See chapter 5 and {doc}`Chapter 6 <06-theorem1>` and "
                                    "[chapter 7](07-theorem2.ipynb), not `chapter 9`.")
    assert bare == ["chapter 5"] and links == [("Chapter 6", "06-theorem1"), ("chapter 7", "07-theorem2.ipynb")]


def test_the_table_of_contents_numbers_chapter_n_as_notebook_n():
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    numbered = [Path(c["file"]).name for part in toc["parts"] if part.get("numbered") for c in part["chapters"]]
    assert numbered == [nb.stem for nb in NOTEBOOKS]
    assert not any(part.get("numbered") for part in toc["parts"]
                   if any(not c["file"].startswith("notebooks/") for c in part["chapters"]))


SITE = ROOT / "_build" / "html"


def test_the_built_chapters_carry_their_numbers():
    if not (SITE / "index.html").is_file():
        if os.environ.get("BNPG_REQUIRE_BROWSER") == "1" or os.environ.get("BNPG_REQUIRE_BOOK") == "1":
            pytest.fail("no built book at _build/html (run `make book`)")
        pytest.skip("no built book at _build/html (run `make book`)")
    for k, nb in enumerate(NOTEBOOKS, 1):
        page = (SITE / "notebooks" / f"{nb.stem}.html").read_text(encoding="utf-8")
        titles = re.findall(r"<h1[^>]*>(.*?)</h1>", page, flags=re.S)
        numbers = [m.group(1).rstrip(".") for h1 in titles
                   for m in [re.search(r'<span class="section-number">([\d.]+)\s*</span>', h1)] if m]
        assert numbers == [str(k)], (nb.stem, [t[:120] for t in titles])
