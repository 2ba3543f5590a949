"""The book's PDF (``_build/html/bnpg.pdf``, printed by ``tools/print_book.py``) reads like a book.

The PDF is read page by page with pypdfium2: the text of each page's body, of its head (the top
margin, where the running head is) and of its foot (the bottom margin, where the page number is),
and the page rendered in grey at :data:`RENDER_SCALE` to measure its ink. The tests fail on

* a web control printed: a line of text that is one of the theme's button or toggle labels
  (:data:`WEB_CONTROLS`, e.g. "Show code cell source", "Copy", "Download", "Launch", "previous");
* a code line cut off: every line of every ``<pre>`` block that the built HTML shows unfolded in a
  printed chapter (code cells, outputs, shell commands) must appear whole in the text of that
  chapter's pages (whitespace ignored, so a wrapped line counts as whole);
* a page with almost no ink: every page's body must have an ink fraction of at least
  :data:`MIN_INK`, and every page except the title page and the last page of a chapter or of the
  contents must be filled to at least :data:`MIN_FILL` of the body's height;
* a missing bookmark: one outline entry per printed chapter (the chapters of ``_toc.yml`` that
  ``print_book.is_printed`` keeps), titled as the chapter's page prints its heading (the root page,
  headed with the book's title, is the Introduction), on the page where that heading opens the body,
  and no other entry;
* a missing page number: the foot of every page but the title page holds its number (roman in the
  front matter, then 1, 2, ... from the first chapter), as do the PDF's page labels; the contents
  list every chapter with its page number;
* pages printed that the PDF leaves out: the PDF's own page (``book/pdf``) and the API reference
  (``book/api/*``), found by the opening paragraph of each page and by the API's ``[source]`` links;
* the wrong metadata or title page: the title of ``_config.yml`` as the PDF's title, and the title,
  author and ``bnpg.__version__`` on the first page;
* TeX left untypeset (a ``\\(``, ``\\[`` or ``$$`` in the text) or a link to the local server the
  book was printed from.

Without the PDF the tests that read it are skipped, unless ``BNPG_REQUIRE_BROWSER=1`` (as in CI),
in which case they fail. The checks themselves are tested first, on a small PDF written here with
pypdf and on lists of text, so each is seen to fail on the fault it looks for.
"""

from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from print_book import chapter_title, is_printed, printed_entries, toc_entries

ROOT = Path(__file__).resolve().parents[1]
HTML = Path(os.environ.get("BNPG_HTML", ROOT / "_build" / "html"))
PDF = HTML / "bnpg.pdf"
REQUIRED = os.environ.get("BNPG_REQUIRE_BROWSER") == "1"

#: Pages are rendered at this scale (36 dpi): enough to see ink, quick to render.
RENDER_SCALE = 0.5
#: A pixel is ink when its grey level is below this (0 black, 255 white): text, lines and figures,
#: not the light backgrounds of code blocks and boxes.
INK_LEVEL = 200
#: Heights of the page's head and foot, the top and bottom margins of print.css, in points.
HEAD_PT = 20 / 25.4 * 72
FOOT_PT = 18 / 25.4 * 72
#: A page whose body has less ink than this fraction of its pixels is (almost) blank. A full page of
#: text has 4-15 %, one full line of body text about 0.1 %, the title page about 2 %.
MIN_INK = 0.002
#: A page that does not end a chapter must be filled at least this far down its body (fraction of
#: the body's height reached by its lowest ink): a figure or table pushed to the next page may leave
#: a gap, not half a page.
MIN_FILL = 0.6
#: The labels of the theme's controls (toggles, buttons, menus, navigation), as they would print:
#: each is searched as a whole line of a page's text.
WEB_CONTROLS = (
    "Show code cell source", "Hide code cell source", "Show code cell output",
    "Hide code cell output", "Show code cell content", "Hide code cell content",
    "Toggle hidden content", "Click to show", "Click to hide", "Copy", "Copy to clipboard", "Copied!",
    "Download", "Download source file", "Download notebook file", "Download this page", ".ipynb",
    ".md", ".pdf", "Print to PDF", "Launch", "Binder", "JupyterHub", "Colab", "Deepnote",
    "Live Code", "Repository", "Open issue", "Suggest edit", "Edit this page", "Fullscreen mode",
    "Search", "Search...", "Ctrl+K", "Search Ctrl+K", "Skip to main content", "Back to top",
    "Toggle navigation", "Light", "Dark", "System Settings", "previous", "next", "Contents",
)


# -- reading the PDF ------------------------------------------------------------------------------
@dataclass
class Page:
    """What a page of the PDF shows: text of its head, body and foot, and the ink of its body."""

    head: str
    body: str
    foot: str
    ink: float  # fraction of the body's pixels that are ink
    fill: float  # fraction of the body's height down to its lowest ink


@dataclass
class Book:
    """A PDF read for the checks."""

    pages: list[Page]
    outline: list[tuple[str, int]]  # (title, page index) of every top-level entry
    labels: list[str]
    title: str | None
    nested: int = 0  # outline entries below the top level
    links: list[str] = field(default_factory=list)  # the address of every link to a URI
    starts: list[int] = field(default_factory=list)  # page indices of the outline's entries


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace("\r", "\n").split("\n") if line.strip()]


def read_pdf(path: Path, scale: float = RENDER_SCALE) -> Book:
    """Read ``path`` with pypdfium2 (text by region, pages rendered in grey) and pypdf (outline,
    page labels, metadata)."""
    import numpy as np
    import pypdfium2
    from pypdf import PdfReader

    reader = PdfReader(path)
    outline, nested = [], 0
    for item in reader.outline:
        if isinstance(item, list):
            nested += len(item)
            continue
        outline.append((str(item.title), reader.get_destination_page_number(item)))
    title = reader.metadata.get("/Title") if reader.metadata else None
    links = []
    for page in reader.pages:
        for annot in page.get("/Annots") or []:
            action = annot.get_object().get("/A")
            if action is not None and "/URI" in action.get_object():
                links.append(str(action.get_object()["/URI"]))
    doc = pypdfium2.PdfDocument(str(path))
    pages = []
    for page in doc:
        width, height = page.get_size()
        text = page.get_textpage()
        head = text.get_text_bounded(0, height - HEAD_PT, width, height)
        foot = text.get_text_bounded(0, 0, width, FOOT_PT)
        body = text.get_text_bounded(0, FOOT_PT, width, height - HEAD_PT)
        grey = page.render(scale=scale, grayscale=True).to_numpy()
        grey = grey[..., 0] if grey.ndim == 3 else grey
        top, bottom = round(HEAD_PT * scale), grey.shape[0] - round(FOOT_PT * scale)
        ink = grey[top:bottom] < INK_LEVEL
        rows = np.flatnonzero(ink.any(axis=1))
        fill = (rows[-1] + 1) / ink.shape[0] if rows.size else 0.0
        pages.append(Page(head=head, body=body, foot=foot, ink=float(ink.mean()), fill=float(fill)))
    book = Book(pages=pages, outline=outline, labels=list(reader.page_labels),
                title=str(title) if title else None, nested=nested, links=links)
    book.starts = sorted({index for _, index in outline})
    return book


def squash(text: str) -> str:
    """``text`` without any whitespace (so a line wrapped on paper still matches)."""
    return re.sub(r"\s+", "", text)


# -- the checks (each returns what it found wrong; empty means fine) -------------------------------
def web_controls(book: Book) -> list[tuple[int, str]]:
    """(page number, label) of every line that is a web control's label."""
    labels = set(WEB_CONTROLS)
    found = []
    for k, page in enumerate(book.pages):
        for line in _lines(page.head + "\n" + page.body + "\n" + page.foot):
            if line.strip("\u2019\u201c\u201d\"' \u00a0") in labels:
                found.append((k + 1, line))
    # The contents page legitimately says "Contents" once.
    contents = [f for f in found if f[1] == "Contents"]
    if len(contents) == 1:
        found.remove(contents[0])
    return found


def chapter_ranges(book: Book) -> list[tuple[str, range]]:
    """(outline title, page indices) of every chapter: from its entry to the next one's."""
    entries = sorted(book.outline, key=lambda e: e[1])
    ends = [index for _, index in entries[1:]] + [len(book.pages)]
    return [(title, range(start, end)) for (title, start), end in zip(entries, ends, strict=True)]


def cut_code_lines(code_lines: list[str], text: str) -> list[str]:
    """The lines of ``code_lines`` that do not appear whole in ``text`` (whitespace ignored)."""
    flat = squash(text)
    return [line for line in code_lines if squash(line) and squash(line) not in flat]


def sparse_pages(book: Book, min_ink: float = MIN_INK, min_fill: float = MIN_FILL) -> list[str]:
    """Pages with almost no ink, or (except the title page and the last page of a chapter or of the
    contents) filled less than ``min_fill`` of their height."""
    found = []
    short_ok = {0} | {start - 1 for start in book.starts} | {len(book.pages) - 1}
    for k, page in enumerate(book.pages):
        if page.ink < min_ink:
            found.append(f"page {k + 1}: ink {page.ink:.4f} < {min_ink}")
        elif k not in short_ok and page.fill < min_fill:
            found.append(f"page {k + 1}: filled to {page.fill:.2f} of its height < {min_fill}")
    return found


#: A chapter's heading must start within this many characters (whitespace left out) of the top of
#: the body of its bookmark's page: the bibliography prints its citation labels first.
OPENING_SLACK = 300


def missing_bookmarks(book: Book, headings: dict[str, str]) -> list[str]:
    """``headings`` maps each chapter's bookmark title to the heading its page prints: every one must
    be an outline entry on the page where that heading opens the body, and nothing else."""
    found = []
    entries = dict(book.outline)
    for title, heading in headings.items():
        if title not in entries:
            found.append(f"no bookmark {title!r}")
            continue
        opening = squash(book.pages[entries[title]].body)[: len(squash(heading)) + OPENING_SLACK]
        if squash(heading) not in opening:
            found.append(f"bookmark {title!r} is on page {entries[title] + 1}, which does not open "
                         f"with {heading!r}")
    extra = [title for title, _ in book.outline if title not in headings]
    if extra or book.nested:
        found.append(f"bookmarks that are not chapters: {extra} (+{book.nested} nested)")
    return found


def _roman(n: int) -> str:
    out = ""
    for value, numeral in ((10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")):
        while n >= value:
            out, n = out + numeral, n - value
    return out


def missing_page_numbers(book: Book) -> list[str]:
    """Every page but the title page prints its number in its foot: roman in the front matter
    (before the first chapter), then 1, 2, ... from the first chapter; the page labels agree."""
    found = []
    first = book.starts[0] if book.starts else 0
    for k, page in enumerate(book.pages):
        want = _roman(k + 1) if k < first else str(k - first + 1)
        if k < len(book.labels) and book.labels[k] != want:
            found.append(f"page {k + 1}: label {book.labels[k]!r}, not {want!r}")
        if k == 0:
            continue
        if want not in _lines(page.foot):
            found.append(f"page {k + 1}: no page number {want!r} in its foot ({page.foot.strip()!r})")
    return found


def contents_problems(book: Book, titles: list[str]) -> list[str]:
    """The contents (the pages before the first chapter) list every chapter with the number of the
    page its bookmark points to."""
    first = book.starts[0] if book.starts else 0
    contents = " ".join(" ".join(_lines(p.body)) for p in book.pages[:first])
    entries = dict(book.outline)
    found = []
    for title in titles:
        if title not in entries:
            continue
        number = entries[title] - first + 1
        if not re.search(re.escape(" ".join(title.split())) + r"\s*" + str(number) + r"\b", contents):
            found.append(f"the contents lack {title!r} on page {number}")
    return found


def dead_links(book: Book) -> list[str]:
    """Links to the local server the book was printed from (dead once the PDF is downloaded)."""
    return [uri for uri in book.links if re.match(r"https?://(127\.0\.0\.1|localhost)[:/]", uri)]


def raw_tex(book: Book) -> list[str]:
    """(page: text) of TeX left untypeset in the text: a \\( or \\[ delimiter or $$."""
    found = []
    for k, page in enumerate(book.pages):
        for delimiter in ("\\(", "\\[", "$$"):
            at = page.body.find(delimiter)
            if at >= 0:
                found.append(f"page {k + 1}: {page.body[at:at + 50]!r}")
    return found


# -- the built HTML -------------------------------------------------------------------------------
#: Classes of the containers the web page shows folded; the PDF leaves them out.
FOLDED = {"above-input", "below-input", "tag_hide-input", "tag_hide-output", "tag_hide-cell"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
         "track", "wbr"}


class PageHTML(HTMLParser):
    """The article of a built page: its h1, its first paragraph, and the text of every ``<pre>``
    it shows unfolded."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool, bool]] = []  # (tag, folded, in article)
        self.pre: list[str] = []
        self.h1: str | None = None
        self.first_p: str | None = None
        self._pre = self._h1 = self._p = None

    def handle_starttag(self, tag, attrs):
        if tag in _VOID:
            return
        attrs = dict(attrs)
        classes = set((attrs.get("class") or "").split())
        folded = bool(self.stack and self.stack[-1][1]) or bool(classes & FOLDED)
        article = bool(self.stack and self.stack[-1][2]) or (tag == "article" and "bd-article" in classes)
        self.stack.append((tag, folded, article))
        if not article:
            return
        if tag == "pre" and not folded and self._pre is None:
            self._pre = []
        elif tag == "h1" and self.h1 is None and self._h1 is None:
            self._h1 = []
        elif tag == "p" and self.first_p is None and self._p is None:
            self._p = []
        if tag == "a" and "headerlink" in classes:
            self.stack[-1] = (tag, True, article)

    def handle_endtag(self, tag):
        if tag in _VOID or tag not in [t for t, _, _ in self.stack]:
            return
        while self.stack:
            top = self.stack.pop()[0]
            if top == tag:
                break
        if tag == "pre" and self._pre is not None:
            self.pre.append("".join(self._pre))
            self._pre = None
        elif tag == "h1" and self._h1 is not None:
            self.h1 = " ".join("".join(self._h1).split())
            self._h1 = None
        elif tag == "p" and self._p is not None:
            self.first_p = " ".join("".join(self._p).split())
            self._p = None

    def handle_data(self, data):
        if self.stack and self.stack[-1][1]:
            return
        for sink in (self._pre, self._h1, self._p):
            if sink is not None:
                sink.append(data)


def read_page(doc: str) -> PageHTML:
    parser = PageHTML()
    parser.feed((HTML / f"{doc}.html").read_text(encoding="utf-8"))
    return parser


def code_lines(page: PageHTML) -> list[str]:
    """Every non-empty line of the page's unfolded ``<pre>`` blocks."""
    return [line.rstrip() for block in page.pre for line in html.unescape(block).split("\n")
            if line.strip()]


# -- the checks on synthetic input ----------------------------------------------------------------
def _tiny_pdf(path: Path, pages: list[dict], outline: list[tuple[str, int]], labels=None,
              links=()) -> None:
    """A PDF of A4 pages: each page dict may give ``head``, ``body`` (lines) and ``foot`` text and
    ``fill`` (how far down a grey block covers the body, 0 for none)."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    width, height = 595.0, 842.0
    writer = PdfWriter()
    font = DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica"),
    })
    for spec in pages:
        page = writer.add_blank_page(width, height)
        ops = []
        fill = spec.get("fill", 0.0)
        if fill:
            top = height - HEAD_PT
            ops.append(f"0.2 g 60 {top - fill * (top - FOOT_PT):.1f} 475 {fill * (top - FOOT_PT):.1f} re f")

        def text(x, y, s, ops=ops):
            s = s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"BT /F1 10 Tf 0 g {x} {y} Td ({s}) Tj ET")

        if spec.get("head"):
            text(250, height - 35, spec["head"])
        for k, line in enumerate(spec.get("body", [])):
            text(60, height - HEAD_PT - 20 - 14 * k, line)
        if spec.get("foot"):
            text(295, 25, spec["foot"])
        stream = DecodedStreamObject()
        stream.set_data("\n".join(ops).encode("latin-1"))
        page[NameObject("/Contents")] = writer._add_object(stream)
        page[NameObject("/Resources")] = DictionaryObject({
            NameObject("/Font"): DictionaryObject({NameObject("/F1"): font}),
        })
    for title, index in outline:
        writer.add_outline_item(title=title, page_number=index)
    from pypdf.annotations import Link

    for index, uri in links:
        writer.add_annotation(index, Link(rect=(60, 700, 200, 712), url=uri))
    for start, end, style, first in labels or []:
        writer.set_page_label(start, end, style=style, start=first)
    writer.add_metadata({"/Title": "Tiny"})
    with open(path, "wb") as fh:
        writer.write(fh)


def _good_tiny(tmp_path: Path, **changes) -> Book:
    pages = [
        {"body": ["Tiny, a book", "Someone"], "fill": 0.3},
        {"body": ["Contents", "One 1", "Two 3"], "foot": "ii", "fill": 0.1},
        {"body": ["One", "x = compute(a_rather_long_argument, another_argument)"], "foot": "1",
         "fill": 0.9},
        {"head": "One", "body": ["end of one"], "foot": "2", "fill": 0.2},
        {"body": ["Two", "text"], "foot": "3", "fill": 0.8},
    ]
    for k, spec in changes.pop("pages", {}).items():
        pages[k] = {**pages[k], **spec}
    outline = changes.pop("outline", [("One", 2), ("Two", 4)])
    labels = changes.pop("labels", [(0, 1, "/r", 1), (2, 4, "/D", 1)])
    links = changes.pop("links", [(2, "https://example.org/book/api/model.html")])
    path = tmp_path / "tiny.pdf"
    _tiny_pdf(path, pages, outline, labels, links)
    return read_pdf(path)


def test_checks_pass_a_good_tiny_book(tmp_path):
    book = _good_tiny(tmp_path)
    assert [p.fill > 0.85 for p in book.pages] == [False, False, True, False, False]
    assert web_controls(book) == []
    assert cut_code_lines(["x = compute(a_rather_long_argument,", "another_argument)"],
                          book.pages[2].body) == []
    assert sparse_pages(book) == [], [(p.ink, p.fill) for p in book.pages]
    assert missing_bookmarks(book, {"One": "One", "Two": "Two"}) == []
    assert missing_page_numbers(book) == []
    assert contents_problems(book, ["One", "Two"]) == []
    assert dead_links(book) == [] and raw_tex(book) == []
    assert book.title == "Tiny"


def test_link_and_math_checks_fail_on_a_local_link_and_raw_tex(tmp_path):
    book = _good_tiny(tmp_path, links=[(3, "http://127.0.0.1:40123/notebooks/01-setting.html#x")],
                      pages={4: {"body": ["Two", "where \\(x^2\\) is"]}})
    assert dead_links(book) == ["http://127.0.0.1:40123/notebooks/01-setting.html#x"]
    assert raw_tex(book) == ["page 5: '\\\\(x^2\\\\) is'"]


def test_web_control_check_fails_on_a_toggle(tmp_path):
    book = _good_tiny(tmp_path, pages={3: {"body": ["end of one", "Show code cell source", "Copy"]}})
    assert web_controls(book) == [(4, "Show code cell source"), (4, "Copy")]
    # In a sentence, a label is prose, not a control.
    book = _good_tiny(tmp_path, pages={3: {"body": ["folded behind Show code cell source toggles"]}})
    assert web_controls(book) == []


def test_code_check_fails_on_a_cut_line():
    text = "report = check(game)\nbnpg check relay.npz --dag chain --json v.json\n"
    assert cut_code_lines(["bnpg check relay.npz --dag chain --json v.json --report report.html"],
                          text) == ["bnpg check relay.npz --dag chain --json v.json --report report.html"]
    # A line wrapped on paper is whole.
    assert cut_code_lines(["report = check(game)  # wrapped"], "report = check(ga\nme)  #\nwrapped") == []


def test_sparse_page_check_fails_on_a_blank_or_half_empty_page(tmp_path):
    blank = _good_tiny(tmp_path, pages={2: {"body": [], "fill": 0.0}})
    assert [f.split(":")[0] for f in sparse_pages(blank)] == ["page 3"]
    half = _good_tiny(tmp_path, pages={2: {"fill": 0.4}})
    assert sparse_pages(half) == [f"page 3: filled to {half.pages[2].fill:.2f} of its height < {MIN_FILL}"]
    # The last page of a chapter may be short (page 4 here), not empty.
    assert _good_tiny(tmp_path, pages={3: {"fill": 0.05}}).pages[3].fill < MIN_FILL
    assert sparse_pages(_good_tiny(tmp_path, pages={3: {"fill": 0.05}})) == []


def test_bookmark_check_fails_on_a_missing_misplaced_or_extra_entry(tmp_path):
    headings = {"One": "One", "Two": "Two"}
    assert missing_bookmarks(_good_tiny(tmp_path, outline=[("One", 2)]), headings) == ["no bookmark 'Two'"]
    misplaced = missing_bookmarks(_good_tiny(tmp_path, outline=[("One", 2), ("Two", 3)]), headings)
    assert len(misplaced) == 1 and "does not open with 'Two'" in misplaced[0]
    extra = missing_bookmarks(_good_tiny(tmp_path, outline=[("One", 2), ("Two", 4), ("API", 4)]), headings)
    assert extra == ["bookmarks that are not chapters: ['API'] (+0 nested)"]


def test_page_number_check_fails_on_a_missing_or_wrong_number(tmp_path):
    assert missing_page_numbers(_good_tiny(tmp_path, pages={3: {"foot": ""}})) == [
        "page 4: no page number '2' in its foot ('')"]
    assert missing_page_numbers(_good_tiny(tmp_path, pages={4: {"foot": "4"}})) == [
        "page 5: no page number '3' in its foot ('4')"]
    wrong_labels = _good_tiny(tmp_path, labels=[(0, 4, "/D", 1)])
    assert "page 3: label '3', not '1'" in missing_page_numbers(wrong_labels)
    assert contents_problems(_good_tiny(tmp_path, pages={1: {"body": ["Contents", "One 1", "Two 2"]}}),
                             ["One", "Two"]) == ["the contents lack 'Two' on page 3"]


def test_html_reader_keeps_shown_code_and_drops_folded_code():
    page = PageHTML()
    page.feed("""<html><body><div class="bd-sidebar"><pre>nav</pre></div>
    <article class="bd-article"><section><h1>5. Lemma<a class="headerlink" href="#x">#</a></h1>
    <p>First &amp; <em>only</em> paragraph.</p><p>Second.</p>
    <div class="cell tag_hide-input"><details class="hide above-input"><summary>Show</summary>
    <div class="highlight"><pre>import os<br>hidden = 1</pre></div></details></div>
    <div class="cell"><div class="highlight"><pre><span class="n">x</span> = 1 &lt; 2
    y = "a"</pre></div></div></section></article></body></html>""")
    assert page.h1 == "5. Lemma"
    assert page.first_p == "First & only paragraph."
    assert code_lines(page) == ["x = 1 < 2", '    y = "a"']


# -- the PDF of the book --------------------------------------------------------------------------
def _skip_or_fail(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"BNPG_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def book() -> Book:
    if not PDF.is_file():
        _skip_or_fail(f"no PDF at {PDF} (make book prints it with Chromium)")
    return read_pdf(PDF)


@pytest.fixture(scope="module")
def chapters(book) -> list[tuple[str, PageHTML]]:
    """(bookmark title, built page) of every chapter the PDF prints, in order."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    root = toc_entries(ROOT / "_toc.yml")[0][1]
    found = []
    for _, doc in printed_entries(ROOT / "_toc.yml"):
        page = read_page(doc)
        assert page.h1, f"{doc}: no h1"
        found.append((chapter_title(page.h1, doc, root, config["title"]), page))
    return found


def test_pdf_has_no_web_controls(book):
    assert web_controls(book) == []


def test_pdf_has_every_code_line_whole(book, chapters):
    ranges = dict(chapter_ranges(book))
    cut, n = [], 0
    for title, page in chapters:
        if title not in ranges:
            continue  # reported by the bookmark test
        text = "\n".join(book.pages[k].body for k in ranges[title])
        lines = code_lines(page)
        n += len(lines)
        cut += [f"{title}: {line!r}" for line in cut_code_lines(lines, text)]
    assert n > 100, f"only {n} code lines found in the built pages"
    assert not cut, f"{len(cut)} of {n} code lines are not whole in the PDF: {cut[:10]}"


def test_pdf_has_no_blank_or_half_empty_page(book):
    assert sparse_pages(book) == []


def test_pdf_has_a_bookmark_per_chapter(book, chapters):
    assert missing_bookmarks(book, {title: page.h1 for title, page in chapters}) == []
    assert [title for title, _ in book.outline] == [title for title, _ in chapters]


def test_pdf_has_page_numbers_and_contents(book, chapters):
    assert missing_page_numbers(book) == []
    assert contents_problems(book, [title for title, _ in chapters]) == []


def test_pdf_has_typeset_math_and_no_dead_links(book):
    assert raw_tex(book) == []
    assert dead_links(book) == []


def test_pdf_leaves_out_its_own_page_and_the_api(book):
    left_out = [doc for _, doc in toc_entries(ROOT / "_toc.yml") if not is_printed(doc)]
    assert "book/pdf" in left_out and any(doc.startswith("book/api/") for doc in left_out)
    text = squash("\n".join(p.body for p in book.pages))
    for doc in left_out:
        opening = read_page(doc).first_p
        assert opening, f"{doc}: no paragraph"
        assert squash(opening[:80]) not in text, f"{doc} is printed: {opening[:80]!r}"
    assert "[source]" not in text, "API entries ([source] links) are printed"


def test_pdf_opens_with_title_page_and_metadata(book):
    import bnpg

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert book.title == config["title"]
    first = " ".join(_lines(book.pages[0].body))
    for want in (config["title"], config["author"], bnpg.__version__):
        assert want in first, f"{want!r} not on the title page: {first!r}"
    assert "Contents" in _lines(book.pages[1].body)
