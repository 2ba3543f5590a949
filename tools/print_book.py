"""Print the built book as a book, ``_build/html/bnpg.pdf``, with headless Chromium.

Usage: python tools/print_book.py [--html _build/html] [--out _build/html/bnpg.pdf] [--require]

What is printed, in this order:

* a title page (the title and author of ``_config.yml``, the version of ``bnpg`` and the date of
  the build) and a table of contents with page numbers, numbered i, ii, ...;
* the chapters of ``_toc.yml`` in reading order, page numbers 1, 2, ... running through the book,
  each chapter from a new page, with its title (as the built page prints it, chapter number
  included) as the running head. Left out: the page about the PDF itself (:data:`LEFT_OUT`) and
  the API reference (``book/api/*``; :func:`is_printed`) -- ``book/pdf.md`` says so.

Each chapter is opened in Chromium (through chromedriver), MathJax and the images are waited for,
and the page is printed with the print stylesheet ``_static/print.css`` (``book/_static/print.css``,
listed in ``_config.yml``): no web controls, code wrapped, figures kept with their captions, page
numbers in the page margin (CSS ``@page`` margin boxes). Before printing, the page is laid out as
print lays it out and every code block, formula, table or image wider than the text column is
reported (the run fails on one: it would be cut on paper). Figures are never split, so one that does
not fit at the foot of a page moves to the next; where that leaves the page before it emptier than
:data:`REFLOW_FILL`, the figure is shrunk a little to fit, or else floated below the paragraphs that
follow it, and the chapter is printed again (the log names each figure so treated).

pypdf joins the front matter and the chapters; the PDF has one bookmark per chapter, page labels
matching the printed numbers (i, ii, ... then 1, 2, ...), the book's title and author as metadata,
and its links work on paper: a link to a printed chapter jumps to it (to the very heading or
statement when Chromium marked it), a link to a page left out (the API reference) goes to that page
of the online book (``[project.urls] Documentation`` in ``pyproject.toml``). The file is written with
``bnpg.experiments.results.atomic_write`` (a temporary file renamed into place), so an interrupted
run leaves no half-written PDF.

Chromium and the local server come from ``tools/headless.py``. Without Chromium and chromedriver
(``BNPG_CHROMIUM`` / ``BNPG_CHROMEDRIVER`` or Debian's ``/usr/bin/chromium`` and
``/usr/bin/chromedriver``; margin boxes need Chromium 131 or later) or selenium, the script says so
and exits with status 0 without a PDF (the browser test, which needs Chromium anyway, then fails on
its absence); ``--require`` makes that an error.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import html as html_lib
import io
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml
from headless import chromium, missing, serve

from bnpg.experiments.results import atomic_write

ROOT = Path(__file__).resolve().parents[1]
#: Seconds a page may take to load and typeset before the run fails.
PAGE_TIMEOUT = 180
#: The print stylesheet, as the built book serves it, and its source.
PRINT_CSS = "_static/print.css"
PRINT_CSS_SOURCE = ROOT / "book" / "_static" / "print.css"
#: Pages of the book that are not printed: the page offering the PDF.
LEFT_OUT = ("book/pdf",)
#: The API reference (``book/api/index`` and its sections) is left out of the PDF: it is a
#: reference to search and follow links in, and stays online.
API_PREFIX = "book/api/"
#: The running head and the page numbers: the type of print.css.
SERIF = '"Liberation Serif", "DejaVu Serif", Georgia, "Times New Roman", serif'
#: The page: A4 with print.css's margins (top, right, bottom, left, in mm).
PAGE_MM, MARGINS_MM = (210, 297), (20, 19, 18, 19)
#: Printed width and height of the text column, CSS px (96 px per inch).
COLUMN_PX = (PAGE_MM[0] - MARGINS_MM[1] - MARGINS_MM[3]) / 25.4 * 96
BODY_PX = (PAGE_MM[1] - MARGINS_MM[0] - MARGINS_MM[2]) / 25.4 * 96
#: A page of a chapter (not its last) whose ink ends above this fraction of its height is looked at
#: again: if the next page opens with a figure that did not fit, the figure is shrunk a little to
#: fit, or floated below the text that follows it (as LaTeX floats figures), and the chapter is
#: printed again, at most MAX_REFLOWS times.
REFLOW_FILL = 0.75
MAX_REFLOWS = 8
#: A figure is shrunk to fit the page before it only down to this fraction of its height (the book's
#: figures are drawn with 11-13 pt text, so in print their smallest text stays above 7.5 pt).
MIN_SHRINK = 0.7

_WAIT = r"""
const done = arguments[arguments.length - 1];
const cssHref = arguments[0], cssText = arguments[1];
const t0 = Date.now();
// The print stylesheet: the book lists it in _config.yml; a book built before that gets it here.
const linked = Array.from(document.querySelectorAll('link[rel="stylesheet"]'))
  .some((l) => new URL(l.href).pathname.endsWith("/" + cssHref));
if (!linked) {
  const style = document.createElement("style");
  style.textContent = cssText;
  document.head.appendChild(style);
}
const images = Array.from(document.images);
for (const img of images) { img.loading = "eager"; }
const settled = images.map((img) => img.complete ? Promise.resolve() : new Promise((resolve) => {
  img.addEventListener("load", resolve, {once: true});
  img.addEventListener("error", resolve, {once: true});
}));
const wants = Array.from(document.scripts).some((s) => s.src.includes("tex-chtml"));
const started = () => window.MathJax && window.MathJax.startup && window.MathJax.startup.promise;
const waitForStart = new Promise((resolve) => {
  (function poll() {
    if (!wants || started() || Date.now() - t0 > 30000) { resolve(); } else { setTimeout(poll, 50); }
  })();
});
const typeset = waitForStart.then(() => started() ? window.MathJax.startup.promise : undefined);
Promise.all([typeset, ...settled, document.fonts.ready]).then(() => {
  const h1 = document.querySelector("article.bd-article h1") || document.querySelector("h1");
  let title = document.title;
  if (h1) {
    const copy = h1.cloneNode(true);
    copy.querySelectorAll(".headerlink").forEach((e) => e.remove());
    title = copy.textContent.replace(/\s+/g, " ").trim();
  }
  const section = h1 && h1.closest("section[id]");
  done({title: title, linked: linked, section: section ? section.id : null});
}, (e) => done({error: String(e)}));
"""

#: Marks every element that a link of the book may target (section, figure, equation, statement,
#: citation) with a same-page link, so that Chromium writes a named destination for it.
_MARK_TARGETS = r"""
const holder = document.createElement("div");
holder.id = "bnpg-print-targets";
holder.setAttribute("aria-hidden", "true");
holder.style.cssText = "position:absolute;left:0;top:0;width:1px;height:1px;overflow:hidden;";
// Every figure's unit (the notebook cell that draws it, or the figure) gets an id, so that its
// position on the printed pages is known.
let k = 0;
for (const f of document.querySelectorAll("article.bd-article figure")) {
  const unit = f.closest("div.cell") || f;
  if (!unit.dataset.bnpgFloat) { unit.dataset.bnpgFloat = "1"; unit.id = unit.id || `bnpg-float-${k}`; k += 1; }
}
const ids = new Set();
for (const e of document.querySelectorAll("article.bd-article [id]")) {
  if (e.closest("mjx-container") || !e.id || ids.has(e.id)) { continue; }
  ids.add(e.id);
  const a = document.createElement("a");
  a.href = "#" + e.id;
  a.textContent = ".";
  holder.appendChild(a);
}
document.getElementById("bnpg-print-targets")?.remove();
document.body.appendChild(holder);
return Array.from(document.querySelectorAll("[data-bnpg-float]")).map((e) => e.id);
"""

#: Makes the figure unit ``arguments[0]`` fit the ``arguments[1]`` px left at the foot of the page
#: before it: shrink its image (to no less than ``arguments[2]`` of its height), or else move it
#: below the paragraphs that follow it, as many as fill the gap (the last may run on to the next
#: page). Returns what it did, or null.
_FLOAT = r"""
const [unitId, gap, minShrink] = arguments;
const article = document.querySelector("article.bd-article");
const unit = document.getElementById(unitId);
if (!unit) { return null; }
const outer = (e) => {
  const s = getComputedStyle(e);
  return e.getBoundingClientRect().height + parseFloat(s.marginTop) + parseFloat(s.marginBottom);
};
const img = unit.querySelector("figure img");
if (img) {
  const ih = img.getBoundingClientRect().height;
  const room = Math.floor(gap - (outer(unit) - ih) - 24);
  if (room < ih && room >= minShrink * ih) {
    img.style.setProperty("max-height", `${room}px`, "important");
    img.style.setProperty("width", "auto", "important");
    return {how: "shrunk", scale: Math.round(100 * room / ih) / 100};
  }
}
const after = (e) => {
  while (e && e !== article && !e.nextElementSibling) { e = e.parentElement; }
  return !e || e === article ? null : e.nextElementSibling;
};
const enter = (e) => {
  while (e && e.tagName === "SECTION" && e.firstElementChild) { e = e.firstElementChild; }
  return e;
};
const FLOW = "p, ul, ol, dl, blockquote, div.math, div.cell, div.pst-scrollable-table-container, table, h2, h3, h4, h5, h6";
const chosen = [];
let used = 0;
for (let b = enter(after(unit)); b && b.matches(FLOW); b = enter(after(b))) {
  if (b.getClientRects().length === 0) { continue; }
  const h = outer(b);
  const line = parseFloat(getComputedStyle(b).lineHeight) || 20;
  if (used + h > gap) {
    if (b.matches("p, ul, ol") && used + 3 * line < gap) { chosen.push(b); }
    break;
  }
  used += h;
  chosen.push(b);
}
// The figure goes after a whole thought: not after a heading, nor between a sentence and the
// formula it introduces.
const opensMore = (b) => {
  const next = enter(after(b));
  return /^H[1-6]$/.test(b.tagName) || b.textContent.trim().endsWith(":") || (next && next.matches("div.math"));
};
while (chosen.length && opensMore(chosen[chosen.length - 1])) { chosen.pop(); }
if (!chosen.length) { return null; }
chosen[chosen.length - 1].after(unit);
return {how: "floated", past: chosen.length};
"""

#: Lays the page out at the printed column width with print media, and lists what would be cut.
_TOO_WIDE = r"""
const column = arguments[0];
const article = document.querySelector("article.bd-article") || document.body;
const box = article.getBoundingClientRect();
const found = [];
const visible = (e) => e.getClientRects().length > 0;
const describe = (e) => (e.tagName.toLowerCase() + "." + (e.className || "").toString().split(" ")[0]
                         + ": " + e.textContent.replace(/\s+/g, " ").trim().slice(0, 70));
for (const e of article.querySelectorAll("pre, mjx-container, table, img, svg, .cell_output")) {
  if (!visible(e) || (e.tagName === "svg" && e.closest("mjx-container"))) { continue; }
  if (e.tagName.toLowerCase() === "mjx-container" && e.parentElement.closest("mjx-container")) { continue; }
  const r = (e.tagName.toLowerCase() === "mjx-container" && e.querySelector("mjx-math") || e).getBoundingClientRect();
  const inner = e.tagName === "PRE" || e.tagName === "TABLE" ? e.scrollWidth - e.clientWidth : 0;
  if (r.right > box.right + 1 || r.left < box.left - 1 || inner > 1) {
    found.push(`${describe(e)} (${Math.round(r.width)} px, column ${Math.round(box.width)} px)`);
  }
}
return {column: Math.round(box.width), wide: found};
"""


# -- what is printed ------------------------------------------------------------------------------
def toc_documents(toc_path: Path) -> list[str]:
    """The document names of ``_toc.yml`` (Jupyter Book 1.x format) in reading order."""
    return [doc for _, doc in toc_entries(toc_path)]


def toc_entries(toc_path: Path) -> list[tuple[str | None, str]]:
    """``(part caption, document name)`` for every document of ``_toc.yml``, in reading order.

    The root has no part (None); a section has the part of its chapter.

    >>> import tempfile
    >>> toc = Path(tempfile.mkdtemp()) / "_toc.yml"
    >>> _ = toc.write_text("root: intro\\nparts:\\n- caption: A\\n  chapters:\\n  - file: x.md\\n"
    ...                    "    sections:\\n    - file: y.ipynb\\n")
    >>> toc_entries(toc)
    [(None, 'intro'), ('A', 'x'), ('A', 'y')]
    """
    toc = yaml.safe_load(toc_path.read_text())
    entries: list[tuple[str | None, str]] = [(None, str(toc["root"]))]

    def walk(items, part):
        for entry in items or []:
            if "file" in entry:
                entries.append((part, re.sub(r"\.(md|ipynb)$", "", str(entry["file"]))))
            walk(entry.get("sections"), part)

    for part in toc.get("parts", []):
        walk(part.get("chapters"), part.get("caption"))
    walk(toc.get("chapters"), None)
    return entries


def is_printed(doc: str) -> bool:
    """Whether the page ``doc`` is a chapter of the PDF: not the PDF's own page, not the API.

    >>> [is_printed(d) for d in ("book/intro", "notebooks/01-setting", "book/pdf", "book/api/index",
    ...                          "book/api/model")]
    [True, True, False, False, False]
    """
    return doc not in LEFT_OUT and not doc.startswith(API_PREFIX)


def printed_entries(toc_path: Path) -> list[tuple[str | None, str]]:
    """``(part caption, document name)`` of every chapter of the PDF, in order."""
    return [(part, doc) for part, doc in toc_entries(toc_path) if is_printed(doc)]


def chapter_title(heading: str, doc: str, root: str, book_title: str) -> str:
    """The title of a chapter in the contents and the bookmarks: its printed heading, except that the
    root page, whose heading is the book's own title, is the Introduction.

    >>> chapter_title("5. Lemma 3", "notebooks/05-x", "book/intro", "A book")
    '5. Lemma 3'
    >>> chapter_title("A book", "book/intro", "book/intro", "A book")
    'Introduction'
    """
    if doc == root and heading.strip().casefold() == book_title.strip().casefold():
        return "Introduction"
    return heading


def book_config(root: Path = ROOT) -> dict:
    """Title, author and version of the book, and the online address of its pages.

    The version is ``bnpg.__version__``; the date is today's, or ``SOURCE_DATE_EPOCH``'s when set
    (a reproducible build).
    """
    from bnpg import __version__

    config = yaml.safe_load((root / "_config.yml").read_text())
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    day = (datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc).date() if epoch
           else datetime.date.today())
    online = None
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            tomllib = None
    if tomllib is not None:
        project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
        online = project.get("urls", {}).get("Documentation")
    return {
        "title": str(config.get("title", "bnpg")),
        "author": str(config.get("author", "")),
        "version": __version__,
        "date": f"{day.day} {day:%B %Y}",
        "online": online.rstrip("/") + "/" if online else None,
    }


# -- the front matter -----------------------------------------------------------------------------
def css_string(text: str) -> str:
    """``text`` as a CSS string literal.

    >>> print(css_string('5. "A"'))
    "5. \\"A\\""
    """
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def front_matter_html(book: dict, chapters: list[Chapter]) -> str:
    """The title page and the table of contents, as one HTML document (printed with roman page
    numbers, the title page unnumbered)."""
    e = html_lib.escape
    rows, part = [], object()
    for ch in chapters:
        if ch.part != part and ch.part:
            rows.append(f'<li class="part">{e(ch.part)}</li>')
        part = ch.part
        rows.append(
            f'<li class="chapter"><span class="t">{e(ch.title)}</span>'
            f'<span class="dots"></span><span class="n">{ch.first_page}</span></li>'
        )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(book["title"])}</title>
<style>
@page {{ size: A4; margin: 20mm 19mm 18mm 19mm;
  @bottom-center {{ content: counter(page, lower-roman); font-family: {SERIF}; font-size: 9.5pt;
                   color: #333; vertical-align: top; padding-top: 6mm; }} }}
@page :first {{ @bottom-center {{ content: none; }} }}
html {{ font-size: 10.5pt; }}
body {{ margin: 0; font-family: {SERIF}; color: #000; }}
.title-page {{ height: 255mm; display: flex; flex-direction: column; break-after: page; }}
.title-page .rule {{ border-top: 1.2pt solid #000; margin-top: 52mm; }}
.title-page h1 {{ font-family: "Liberation Sans", "DejaVu Sans", Helvetica, Arial, sans-serif;
  font-size: 30pt; font-weight: 600; line-height: 1.15; margin: 8mm 0 6mm; }}
.title-page .sub {{ font-size: 13pt; font-style: italic; margin: 0 0 8mm; }}
.title-page .rule2 {{ border-top: 0.5pt solid #000; }}
.title-page .author {{ font-size: 15pt; margin-top: 14mm; }}
.title-page .edition {{ margin-top: auto; font-size: 11pt; line-height: 1.5; }}
h2.contents {{ font-family: "Liberation Sans", "DejaVu Sans", Helvetica, Arial, sans-serif;
  font-size: 21pt; font-weight: 600; margin: 14mm 0 9mm; padding-bottom: 3mm;
  border-bottom: 0.6pt solid #000; }}
ol.toc {{ list-style: none; margin: 0; padding: 0; }}
ol.toc li.part {{ font-family: "Liberation Sans", "DejaVu Sans", Helvetica, Arial, sans-serif;
  font-weight: 600; font-size: 10pt; text-transform: uppercase; letter-spacing: 0.06em;
  margin: 6mm 0 1.5mm; break-after: avoid; }}
ol.toc li.chapter {{ display: flex; align-items: baseline; font-size: 11pt; line-height: 1.35;
  margin: 0 0 1.6mm; break-inside: avoid; }}
ol.toc li.chapter .t {{ flex: 0 1 auto; max-width: 88%; }}
ol.toc li.chapter .dots {{ flex: 1 1 auto; border-bottom: 1pt dotted #777; margin: 0 2mm;
  min-width: 8mm; position: relative; top: -0.3em; }}
ol.toc li.chapter .n {{ flex: 0 0 auto; min-width: 7mm; text-align: right; }}
</style></head>
<body>
<section class="title-page">
  <div class="rule"></div>
  <h1>{e(book["title"])}</h1>
  <div class="rule2"></div>
  <div class="author">{e(book["author"])}</div>
  <div class="edition">bnpg {e(book["version"])}<br>{e(book["date"])}</div>
</section>
<section class="contents">
  <h2 class="contents">Contents</h2>
  <ol class="toc">
{chr(10).join(rows)}
  </ol>
</section>
</body></html>"""


def chapter_page_css(title: str, first_page: int) -> str:
    """The per-chapter page rules: the running head, and the number of the chapter's first page
    (Chromium numbers the pages of each print from ``counter-increment`` on the first one)."""
    return (
        f"@media print {{ @page {{ @top-center {{ content: {css_string(title)}; font-family: {SERIF};"
        " font-size: 9pt; font-style: italic; color: #444; vertical-align: bottom;"
        " padding-bottom: 4mm; } }"
        f" @page :first {{ counter-increment: page {first_page}; @top-center {{ content: none; }} }} }}"
    )


# -- printing -------------------------------------------------------------------------------------
@dataclass
class Chapter:
    """A chapter of the PDF: its page, its part, and (once printed) its title and pages."""

    doc: str
    part: str | None
    title: str = ""
    heading: str = ""
    first_page: int = 0
    pdf: bytes = b""
    pages: int = 0
    destinations: dict = field(default_factory=dict)
    front_offset: int = 0


def _print_pdf(driver) -> bytes:
    """The current page printed by Chromium, with the page size and margins of its ``@page`` rules."""
    result = driver.execute_cdp_cmd(
        "Page.printToPDF",
        {
            "printBackground": True,
            "preferCSSPageSize": True,
            "displayHeaderFooter": False,
            "generateTaggedPDF": False,
            "transferMode": "ReturnAsBase64",
        },
    )
    return base64.b64decode(result["data"])


def _in_print_layout(driver, script: str, *args):
    """Run ``script`` on the current page laid out as print lays it out: print media, a window as
    wide as the printed column, no scroll bar."""
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    driver.execute_cdp_cmd("Emulation.setScrollbarsHidden", {"hidden": True})
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": round(COLUMN_PX), "height": round(BODY_PX), "deviceScaleFactor": 1, "mobile": False},
    )
    try:
        return driver.execute_script(script, *args)
    finally:
        driver.execute_cdp_cmd("Emulation.setScrollbarsHidden", {"hidden": False})
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})


def page_fills(pdf: bytes, scale: float = 0.25) -> list[float]:
    """How far down its body (0 to 1, the body being the page less print.css's top and bottom
    margins) each page of ``pdf`` has ink."""
    import numpy as np
    import pypdfium2

    fills = []
    document = pypdfium2.PdfDocument(pdf)
    try:
        for page in document:
            grey = page.render(scale=scale, grayscale=True).to_numpy()
            grey = grey[..., 0] if grey.ndim == 3 else grey
            mm = grey.shape[0] / PAGE_MM[1]
            body = grey[round(MARGINS_MM[0] * mm): grey.shape[0] - round(MARGINS_MM[2] * mm)] < 200
            rows = np.flatnonzero(body.any(axis=1))
            fills.append(float((rows[-1] + 1) / body.shape[0]) if rows.size else 0.0)
    finally:
        document.close()
    return fills


def _pushed_figures(pdf_bytes: bytes, units: list[str], skip: set[str], anchor: tuple[str, str] | None
                    ) -> list[tuple[str, float]]:
    """(figure unit, px left on the page before it) for every figure that opens a page after a page
    of the chapter left emptier than REFLOW_FILL."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf_bytes))
    dests = _named_destinations(reader, pdf_bytes, anchor)
    height = float(reader.pages[0].mediabox.height)
    body_top = height - MARGINS_MM[0] / 25.4 * 72
    fills = page_fills(pdf_bytes)
    found = []
    for unit in units:
        if unit in skip or unit not in dests:
            continue
        index, top = dests[unit]
        if index == 0 or top is None or body_top - top > 30 or fills[index - 1] >= REFLOW_FILL:
            continue
        found.append((unit, (1 - fills[index - 1]) * BODY_PX))
    return found


def print_chapters(driver, url: str, html: Path, chapters: list[Chapter], book: dict, root: str) -> list[str]:
    """Print every chapter, numbering its pages from where the previous one ended; returns what is
    too wide for the column."""
    from pypdf import PdfReader

    css_text = PRINT_CSS_SOURCE.read_text() if PRINT_CSS_SOURCE.is_file() else (html / PRINT_CSS).read_text()
    too_wide, page = [], 1
    for k, ch in enumerate(chapters):
        t0 = time.monotonic()
        driver.get(f"{url}/{ch.doc}.html")
        found = driver.execute_async_script(_WAIT, PRINT_CSS, css_text)
        if "error" in found:
            raise SystemExit(f"print_book: MathJax failed on {ch.doc}: {found['error']}")
        if not found["linked"] and k == 0:
            print(f"print_book: the built pages do not link {PRINT_CSS} (an older build?); "
                  f"using {PRINT_CSS_SOURCE.relative_to(ROOT)}", file=sys.stderr)
        ch.heading = found["title"]
        ch.title = chapter_title(ch.heading, ch.doc, root, book["title"])
        wide = _in_print_layout(driver, _TOO_WIDE, COLUMN_PX)
        too_wide += [f"{ch.doc}: {w}" for w in wide["wide"]]
        driver.execute_script(
            "const s = document.createElement('style'); s.textContent = arguments[0];"
            "document.head.appendChild(s);",
            chapter_page_css(ch.title, page),
        )
        units = driver.execute_script(_MARK_TARGETS)
        anchor = (found["section"], ch.heading) if found["section"] else None
        ch.pdf, moves = _print_floating(driver, units, anchor)
        reader = PdfReader(io.BytesIO(ch.pdf))
        ch.pages, ch.first_page = len(reader.pages), page
        ch.destinations = _named_destinations(reader, ch.pdf, anchor)
        page += ch.pages
        print(f"[{k + 1}/{len(chapters)}] {ch.doc}: pages {ch.first_page}-{page - 1} "
              f"({time.monotonic() - t0:.1f} s{', ' if moves else ''}{', '.join(moves)}) {ch.title}",
              flush=True)
    return too_wide


def _print_floating(driver, units: list[str], anchor) -> tuple[bytes, list[str]]:
    """Print the current page; while a figure that did not fit leaves a page of the chapter emptier
    than REFLOW_FILL, make it fit or float it (``_FLOAT``) and print again. Returns the PDF and what
    was done."""
    done, skip = [], set()
    pdf = _print_pdf(driver)
    for _ in range(MAX_REFLOWS):
        for unit, gap in _pushed_figures(pdf, units, skip, anchor):
            how = _in_print_layout(driver, _FLOAT, unit, gap, MIN_SHRINK)
            skip.add(unit)
            if how:
                done.append(f"{unit} {how['how']}" + (f" to {how['scale']}" if "scale" in how else ""))
                break
        else:
            break
        pdf = _print_pdf(driver)
    return pdf, done


def _named_destinations(reader, pdf_bytes: bytes, anchor: tuple[str, str] | None = None
                        ) -> dict[str, tuple[int, float | None]]:
    """Named destination -> (page index, height of its top in points) of a PDF Chromium printed.

    Chromium 156 writes these heights as if the page had no top margin (each lies one top margin
    above its element). ``anchor``, the id of the section that holds the chapter's h1 and that
    heading's text, measures it: if the destination lies well above the heading's first letter,
    the top margin is taken off every height.
    """
    found = {}
    for name, dest in reader.named_destinations.items():
        try:
            index = reader.get_destination_page_number(dest)
        except Exception:  # noqa: BLE001 - a destination pypdf cannot place is skipped
            continue
        top = dest.get("/Top") if hasattr(dest, "get") else None
        found[str(name).lstrip("/")] = (index, float(top) if top is not None else None)
    margin = MARGINS_MM[0] / 25.4 * 72
    if anchor and anchor[0] in found and found[anchor[0]][1] is not None:
        import pypdfium2

        index, top = found[anchor[0]]
        document = pypdfium2.PdfDocument(pdf_bytes)
        try:
            text = document[index].get_textpage()
            at = text.get_text_range().find(anchor[1][:12])
            letter = text.get_charbox(at)[3] if at >= 0 else None
        finally:
            document.close()
        if letter is not None and top - letter > margin / 2:
            found = {k: (i, t - margin if t is not None else None) for k, (i, t) in found.items()}
    return found


def print_front(driver, book: dict, chapters: list[Chapter]) -> bytes:
    """The title page and the contents, printed."""
    driver.get("about:blank")
    driver.execute_script(
        "document.open(); document.write(arguments[0]); document.close();",
        front_matter_html(book, chapters),
    )
    driver.execute_async_script("const done = arguments[0]; document.fonts.ready.then(() => done(1));")
    return _print_pdf(driver)


# -- joining --------------------------------------------------------------------------------------
def _link_target(uri: str, url: str, chapters: list[Chapter], book: dict):
    """Where a link to ``uri`` (an address on the local server) goes in the PDF: ``("page", index,
    top)`` for a printed chapter, ``("uri", address)`` for a page left out, None to keep it."""
    if not uri.startswith(url + "/"):
        return None
    parts = urlsplit(uri)
    path = unquote(parts.path).lstrip("/")
    doc = re.sub(r"\.html$", "", path)
    for ch in chapters:
        if ch.doc == doc:
            index, top = ch.destinations.get(parts.fragment, (0, None)) if parts.fragment else (0, None)
            return ("page", ch.front_offset + index, top)
    if book.get("online"):
        return ("uri", book["online"] + path + (f"#{parts.fragment}" if parts.fragment else ""))
    return ("drop",)


def join(front: bytes, chapters: list[Chapter], book: dict, url: str, out: Path) -> int:
    """Join the front matter and the chapters into ``out``; returns the number of pages."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import (
        ArrayObject,
        DictionaryObject,
        FloatObject,
        NameObject,
        NullObject,
        TextStringObject,
    )

    writer = PdfWriter()
    front_reader = PdfReader(io.BytesIO(front))
    for p in front_reader.pages:
        writer.add_page(p)
    n_front = len(front_reader.pages)
    for ch in chapters:
        ch.front_offset = len(writer.pages)
        for p in PdfReader(io.BytesIO(ch.pdf)).pages:
            writer.add_page(p)
    # Links: to a chapter of the PDF (and Chromium's named jumps inside a chapter) become jumps to
    # the page and height of their target; to pages left out, to the online book.
    def jump(index, top):
        return ArrayObject([
            writer.pages[index].indirect_reference, NameObject("/XYZ"), NullObject(),
            FloatObject(top) if top is not None else NullObject(), NullObject(),
        ])

    owner = [None] * n_front
    for ch in chapters:
        owner += [ch] * ch.pages
    for page, ch in zip(writer.pages, owner, strict=True):
        annots = page.get("/Annots")
        if annots is None:
            continue
        keep = ArrayObject()
        for ref in annots.get_object():
            annot = ref.get_object()
            if annot.get("/Subtype") != "/Link":
                keep.append(ref)
                continue
            if "/Dest" in annot:
                dest = annot["/Dest"]
                if isinstance(dest, (str, bytes)) and ch is not None:  # a name (NameObject is a str)
                    name = str(dest).lstrip("/")
                    if name in ch.destinations:
                        index, top = ch.destinations[name]
                        annot[NameObject("/Dest")] = jump(ch.front_offset + index, top)
                        keep.append(ref)
                    continue  # a name this file does not define: no dead link
                keep.append(ref)
                continue
            action = annot.get("/A")
            uri = action.get_object().get("/URI") if action is not None else None
            target = _link_target(str(uri), url, chapters, book) if uri is not None else None
            if target is None:
                keep.append(ref)
            elif target[0] == "page":
                del annot[NameObject("/A")]
                annot[NameObject("/Dest")] = jump(target[1], target[2])
                keep.append(ref)
            elif target[0] == "uri":
                annot[NameObject("/A")] = DictionaryObject({
                    NameObject("/S"): NameObject("/URI"), NameObject("/URI"): TextStringObject(target[1]),
                })
                keep.append(ref)
        page[NameObject("/Annots")] = keep
    for ch in chapters:
        writer.add_outline_item(title=ch.title, page_number=ch.front_offset)
    writer.set_page_label(0, n_front - 1, style="/r", start=1)
    writer.set_page_label(n_front, len(writer.pages) - 1, style="/D", start=1)
    writer.add_metadata({
        "/Title": book["title"],
        "/Author": book["author"],
        "/Subject": f"bnpg {book['version']}, {book['date']}",
        "/Creator": "tools/print_book.py (headless Chromium, pypdf)",
    })
    writer.page_mode = "/UseOutlines"
    atomic_write(out, writer.write)
    return len(writer.pages)


def print_book(html: Path, out: Path) -> int:
    """Print the book under ``html`` into ``out``; returns the number of PDF pages."""
    entries = printed_entries(ROOT / "_toc.yml")
    absent = [doc for _, doc in entries if not (html / f"{doc}.html").is_file()]
    if absent:
        raise SystemExit(f"print_book: no built page for {absent} under {html} (run `make book` first)")
    book = book_config()
    root = toc_entries(ROOT / "_toc.yml")[0][1]
    chapters = [Chapter(doc, part) for part, doc in entries]
    t0 = time.monotonic()
    server, url = serve(html)
    browser = chromium(timeout=PAGE_TIMEOUT)
    driver = next(browser)
    try:
        too_wide = print_chapters(driver, url, html, chapters, book, root)
        front = print_front(driver, book, chapters)
    finally:
        browser.close()
        server.shutdown()
        server.server_close()
    if too_wide:
        raise SystemExit("print_book: wider than the printed column (would be cut):\n  "
                         + "\n  ".join(too_wide))
    pages = join(front, chapters, book, url, out)
    summary = {"pages": pages, "chapters": len(chapters), "seconds": round(time.monotonic() - t0, 1)}
    print(f"print_book: {json.dumps(summary)}")
    return pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--require", action="store_true", help="fail when Chromium is missing")
    args = parser.parse_args(argv)
    out = args.out or args.html / "bnpg.pdf"
    if not (args.html / "index.html").is_file():
        print(f"print_book: no built book at {args.html} (run `make book`)", file=sys.stderr)
        return 2
    if out.suffix != ".pdf":
        print(f"print_book: --out must end in .pdf, got {out}", file=sys.stderr)
        return 2
    absent = missing()
    if absent:
        print(f"print_book: no PDF: {absent}", file=sys.stderr)
        return 2 if args.require else 0
    pages = print_book(args.html, out)
    print(f"print_book: {out} ({pages} pages)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
