"""What a reader sees on a page of the built book, measured in the browser.

:data:`LAYOUT_JS` runs in a page that has finished typesetting (see ``test_browser._inspect``) and
returns what the browser test asserts about presentation:

* ``wideMath``: rendered formulas wider than the text column (or, inline, running past its right
  edge), with their TeX source and both widths in CSS pixels; inside a block the book widens
  beyond the column (class ``bnpg-wide``), that block's width is the bound;
* ``wideTables``: tables whose content is wider than the space shown (a column cut off or hidden
  behind a scroll bar);
* ``badRefs``: cross-references with empty text, and references to a numbered statement (Lemma,
  Theorem, Definition, Assumption) or an errata entry whose text lacks its number;
* ``unlinkedErrata``: mentions of an errata entry (``E1`` ... ``E99``) in the prose that are not links;
* ``uncaptioned``: images (other than the theme's icons) outside a figure with a caption, or with no
  alt text, or a file path as alt;
* ``plumbing``: notebook plumbing (``glue(``, ``NBVAL``, ``%config``) in the visible text;
* ``figures``: every figure image of the article with its ``src`` (absolute URL) and its displayed
  width in CSS pixels, and ``smallPrint``, the size in CSS pixels of the book's small print
  (:data:`SMALL_PRINT` times the article's font size). :func:`figure_sizes` reads the width and
  the smallest text that ``bnpg.book.glue_figure`` records in each image, and
  :func:`figure_text_px` gives the size of that text as displayed.

Run as a script (``python tests/book_layout.py [page ...]``) against ``_build/html`` it prints the
findings for every page, which is quicker to read than a failing test when reworking a chapter.
"""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

#: Slack for sub-pixel layout, in CSS pixels.
SLACK_PX = 1
#: The book's small print, as a fraction of the article's font size (a figure's text must display
#: at least this large on a desktop).
SMALL_PRINT = 0.8

_DESCRIPTION = re.compile(r"bnpg-figure width-pt=([\d.]+) min-font-pt=([\d.]+|inf)")


def figure_sizes(path: Path) -> tuple[float, float] | None:
    """``(width in points, smallest text in points)`` recorded in a figure image written by
    ``bnpg.book.figure_image`` (SVG ``dc:description`` or PNG ``tEXt`` Description), or None.
    """
    data = Path(path).read_bytes()
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        pos, texts = 8, []
        while pos + 8 <= len(data):
            length, kind = struct.unpack(">I4s", data[pos:pos + 8])
            chunk = data[pos + 8:pos + 8 + length]
            if kind == b"tEXt":
                texts.append(chunk.replace(b"\0", b" ").decode("latin-1"))
            elif kind == b"zTXt":
                key, _, rest = chunk.partition(b"\0")
                texts.append(key.decode("latin-1") + " " + zlib.decompress(rest[1:]).decode("latin-1"))
            pos += 12 + length
        text = " ".join(texts)
    else:
        text = data[:20000].decode("utf-8", errors="replace")
    m = _DESCRIPTION.search(text)
    return (float(m.group(1)), float(m.group(2))) if m else None


def figure_text_px(width_pt: float, min_font_pt: float, displayed_px: float) -> float:
    """The displayed size in CSS pixels of a figure's smallest text: the figure's ``width_pt``
    points fill ``displayed_px`` pixels, so a text of ``min_font_pt`` points measures this much.

    >>> figure_text_px(504, 12, 700)
    16.666666666666668
    """
    return min_font_pt * displayed_px / width_pt

LAYOUT_JS = r"""
const article = document.querySelector("article.bd-article") || document.body;
const column = article.getBoundingClientRect();
const visible = (e) => e.getClientRects().length > 0 && e.getBoundingClientRect().width > 0;
const texOf = (c) => {
  try {
    const items = MathJax.startup.document.getMathItemsWithin(c);
    if (items.length) { return items[0].math; }
  } catch (err) {}
  return (c.getAttribute("aria-label") || c.textContent).slice(0, 120);
};
const wideMath = [];
for (const c of article.querySelectorAll("mjx-container")) {
  if (!visible(c) || c.closest("mjx-container") !== c) { continue; }
  const math = c.querySelector("mjx-math") || c;
  const box = math.getBoundingClientRect();
  const display = c.getAttribute("display") === "true";
  // a block the book widens beyond the column (class bnpg-wide) is the bound of what it holds
  const wide = c.closest(".bnpg-wide");
  const bound = wide ? wide.getBoundingClientRect() : column;
  const tooWide = box.width > bound.width + SLACK;
  const pastEdge = box.right > bound.right + SLACK;
  if (tooWide || pastEdge) {
    wideMath.push({tex: texOf(c).slice(0, 160), display: display,
                   width: Math.round(box.width), column: Math.round(column.width),
                   overshoot: Math.round(box.right - column.right)});
  }
}
const statement = /#(lemma|theorem|definition|assumption|equation)-\d+$/;
const erratum = /#erratum-e(\d+)$/;
const badRefs = [];
for (const a of article.querySelectorAll("a.reference")) {
  const text = a.textContent.trim();
  const href = a.getAttribute("href") || "";
  if (!text) { badRefs.push({href: href, text: text, why: "empty text"}); continue; }
  if (statement.test(href) && !/\d/.test(text)) { badRefs.push({href: href, text: text, why: "no number"}); }
  const e = href.match(erratum);
  if (e && !text.includes(e[1])) { badRefs.push({href: href, text: text, why: "not its entry's number"}); }
}
const unlinkedErrata = [];
const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
const skip = "a, pre, code, mjx-container, script, style, .cell_output, dt.sig, h1, h2, h3, h4, h5, h6";
for (let n = walker.nextNode(); n; n = walker.nextNode()) {
  const m = n.textContent.match(/\bE\d{1,2}\b/);
  if (!m || !n.parentElement || n.parentElement.closest(skip)) { continue; }
  unlinkedErrata.push(n.textContent.trim().slice(0, 100));
}
const uncaptioned = [];
for (const img of article.querySelectorAll("img")) {
  if ((img.getAttribute("src") || "").includes("_static/")) { continue; }  // the theme's icons
  const fig = img.closest("figure");
  const caption = fig && fig.querySelector("figcaption");
  const alt = (img.getAttribute("alt") || "").trim();
  const problems = [];
  if (!caption || !caption.textContent.trim()) { problems.push("no caption"); }
  if (!alt) { problems.push("no alt text"); }
  else if (/^\S+$/.test(alt) && (/\.(png|jpe?g|svg|gif)$/i.test(alt) || alt.includes("/"))) {
    problems.push("alt is a file path");
  }
  if (problems.length) { uncaptioned.push({src: img.getAttribute("src"), problems: problems}); }
}
const wideTables = [];
for (const t of article.querySelectorAll("table")) {
  if (!visible(t)) { continue; }
  const box = t.closest(".pst-scrollable-table-container") || t;
  if (box.scrollWidth > box.clientWidth + SLACK) {
    wideTables.push({head: (t.querySelector("tr") || t).textContent.trim().slice(0, 80),
                     width: box.scrollWidth, shown: box.clientWidth});
  }
}
const figures = [];
for (const img of article.querySelectorAll("img")) {
  if ((img.getAttribute("src") || "").includes("_static/") || !visible(img)) { continue; }
  figures.push({src: img.src, width: img.getBoundingClientRect().width, natural: img.naturalWidth});
}
const smallPrint = SMALL_PRINT * parseFloat(getComputedStyle(article).fontSize);
const text = article.innerText;
const plumbing = ["glue(", "NBVAL", "%config"].filter((word) => text.includes(word))
  .map((word) => text.slice(Math.max(0, text.indexOf(word) - 40), text.indexOf(word) + 60));
return {wideMath: wideMath, wideTables: wideTables, badRefs: badRefs, unlinkedErrata: unlinkedErrata,
        uncaptioned: uncaptioned, plumbing: plumbing, figures: figures, smallPrint: smallPrint,
        columnWidth: Math.round(column.width)};
""".replace("SMALL_PRINT", str(SMALL_PRINT)).replace("SLACK", str(SLACK_PX))


def main(argv: list[str]) -> int:
    """Print the layout findings for the given pages (default: every page) of the built book."""
    import json

    import test_browser as tb
    from headless import chromium, serve

    reason = tb._unavailable()
    if reason:
        print(reason)
        return 2
    server, url = serve(tb.HTML)
    driver_gen = chromium(timeout=tb.PAGE_TIMEOUT)
    driver = next(driver_gen)
    try:
        for page in argv or tb.PAGES:
            tb._inspect(driver, f"{url}/{page}")
            found = driver.execute_script(LAYOUT_JS)
            width = found.pop("columnWidth")
            small = found.pop("smallPrint")
            figures = found.pop("figures")
            for fig in figures:
                sizes = figure_sizes(tb.HTML / fig["src"].split(url + "/", 1)[1].split("#")[0])
                shown = figure_text_px(*sizes, fig["width"]) if sizes else None
                if shown is None or shown < small:
                    found.setdefault("smallFigureText", []).append(
                        {"src": fig["src"].rsplit("/", 1)[-1], "text_px": shown, "small_print_px": small})
            found = {k: v for k, v in found.items() if v}
            if found:
                print(f"== {page} (column {width} px)")
                print(json.dumps(found, indent=1, ensure_ascii=False))
    finally:
        server.shutdown()
        server.server_close()
        driver_gen.close()
    return 0


if __name__ == "__main__":
    import sys
    from pathlib import Path

    here = Path(__file__).resolve().parent
    sys.path[:0] = [str(here), str(here.parent / "tools")]
    raise SystemExit(main(sys.argv[1:]))
