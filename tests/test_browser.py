"""The built book, page by page, in a real browser.

``make book`` writes the HTML into ``_build/html``. This test serves that folder on a local port,
opens every page in headless Chromium (Debian's ``chromium`` driven through ``chromedriver``) with
name resolution of every outside host disabled, and asserts for each page that

* no notebook cell shows an error (a myst-nb traceback block or the text of a Python traceback);
* every ``<img>`` loaded (``naturalWidth > 0``);
* every formula was typeset by MathJax (each Sphinx ``.math`` element holds an ``mjx-container``,
  no TeX delimiter is left in the visible text, no ``mjx-merror``), by the copy of MathJax shipped
  in ``_static/mathjax``, without the CDN fallback and without any request outside the server.

Two more checks cover the offline promise: a page opened from disk (``file://``) typesets its
math, and when the local MathJax is missing the fallback script asks for the CDN copy.
Screenshots of the introduction and of a lemma chapter go to ``artifacts/screenshots``.

Without a built book or without Chromium the tests are skipped, unless ``BNPG_REQUIRE_BROWSER=1``
(as in CI), in which case they fail.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from book_layout import LAYOUT_JS, figure_sizes, figure_text_px
from headless import chromium, missing, serve
from print_book import printed_entries

ROOT = Path(__file__).resolve().parents[1]
# BNPG_HTML points the test at another build of the book (default: the one `make book` writes).
HTML = Path(os.environ.get("BNPG_HTML", ROOT / "_build" / "html"))
SHOTS = ROOT / "artifacts" / "screenshots"
REQUIRED = os.environ.get("BNPG_REQUIRE_BROWSER") == "1"
# A page loads and typesets in 0.1-3 s on an idle machine. After STALL_SECONDS the inspection
# reports what the page is still waiting for; PAGE_TIMEOUT bounds Selenium's own waits.
STALL_SECONDS = 60
PAGE_TIMEOUT = 120

#: Folders of the build that hold assets, not pages.
ASSET_DIRS = {"_static", "_sources", "_images", "_downloads"}


def _pages() -> list[str]:
    if not HTML.is_dir():
        return []
    pages = []
    for path in sorted(HTML.rglob("*.html")):
        rel = path.relative_to(HTML)
        if rel.parts[0] in ASSET_DIRS:
            continue
        pages.append(rel.as_posix())
    return pages


PAGES = _pages()


def _unavailable() -> str | None:
    """Why the browser test cannot run here, or None."""
    if not (HTML / "index.html").is_file():
        return f"no built book at {HTML} (run `make book`)"
    return missing()


def _skip_or_fail(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"BNPG_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


# -- a local server and the browser ---------------------------------------------------------------
@pytest.fixture(scope="module")
def site():
    reason = _unavailable()
    if reason:
        _skip_or_fail(reason)
    server, url = serve(HTML)
    yield url
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def driver():
    reason = _unavailable()
    if reason:
        _skip_or_fail(reason)
    yield from chromium(timeout=PAGE_TIMEOUT)


# -- what the browser reports about a page --------------------------------------------------------
#: Waits for MathJax's first typesetting pass and for every image, then describes the page.
_INSPECT = r"""
const done = arguments[arguments.length - 1];
const images = Array.from(document.images);
for (const img of images) { img.loading = "eager"; }
const settled = images.map((img) => img.complete ? Promise.resolve() : new Promise((resolve) => {
  img.addEventListener("load", resolve, {once: true});
  img.addEventListener("error", resolve, {once: true});
}));
// Sphinx loads MathJax with `async`: it may start after the load event. Wait (at most 30 s) until
// a page that loads it has it running, then for its first typesetting pass.
const wantsMathJax = Array.from(document.scripts).some((s) => s.src.includes("tex-chtml"));
const started = () => window.MathJax && window.MathJax.startup && window.MathJax.startup.promise;
const waitForStart = new Promise((resolve) => {
  const t0 = Date.now();
  (function poll() {
    if (!wantsMathJax || started() || Date.now() - t0 > 30000) { resolve(); } else { setTimeout(poll, 50); }
  })();
});
const typeset = waitForStart.then(() => started() ? window.MathJax.startup.promise : undefined);
// A page still waiting after STALL_MS is reported as stalled, with what it was waiting for.
const stalled = new Promise((resolve) => setTimeout(() => resolve("stalled"), STALL_MS));
Promise.race([Promise.all([typeset, ...settled]), stalled]).then((outcome) => {
  if (outcome === "stalled") {
    done({stalled: {
      readyState: document.readyState,
      wantsMathJax: wantsMathJax,
      mathJaxStarted: Boolean(started()),
      pendingImages: images.filter((img) => !img.complete).map((img) => img.currentSrc || img.src),
    }});
    return;
  }
  const body = document.body.cloneNode(true);
  body.querySelectorAll("pre, code, script, style, textarea, mjx-container").forEach((e) => e.remove());
  const mathElements = Array.from(document.querySelectorAll(".math"));
  const scripts = Array.from(document.scripts).map((s) => s.src).filter((src) => src);
  done({
    title: document.title,
    mathjaxVersion: (window.MathJax && window.MathJax.version) || null,
    mathjaxScripts: scripts.filter((src) => src.includes("tex-chtml")),
    fallbackInserted: document.getElementById("mathjax-cdn-fallback") !== null,
    nMath: mathElements.length,
    untypesetMath: mathElements.filter((e) => !e.querySelector("mjx-container"))
                               .map((e) => e.textContent.slice(0, 80)),
    nContainers: document.querySelectorAll("mjx-container").length,
    mathErrors: Array.from(document.querySelectorAll("mjx-merror"))
                     .map((e) => e.getAttribute("data-mjx-error") || e.textContent)
                     .concat(Array.from(document.querySelectorAll('mjx-assistive-mml mtext[mathcolor="red"]'))
                     .map((e) => e.textContent).filter((t) => t.startsWith("\\"))
                     .map((t) => "undefined macro " + t)),
    visibleText: body.textContent,
    fullText: document.body.textContent,
    errorBlocks: Array.from(document.querySelectorAll(
        ".cell_output .traceback, .cell_output .output.error, div.output.traceback"))
        .map((e) => e.textContent.slice(0, 200)),
    images: images.map((img) => ({src: img.currentSrc || img.src, ok: img.complete && img.naturalWidth > 0})),
    resources: performance.getEntriesByType("resource").map((r) => r.name),
  });
}, (err) => done({failure: String(err)}));
""".replace("STALL_MS", str(STALL_SECONDS * 1000))


def _inspect(driver, url: str) -> dict:
    """What the browser reports about ``url``, loading it a second time if the first load stalls.

    A stalled load (the page or its MathJax never finishing within ``STALL_SECONDS``) has been
    seen once in a few hundred page loads on a busy machine and never twice in a row; a page that
    stalls on both loads fails with what it was waiting for.
    """
    from selenium.common.exceptions import TimeoutException

    stalls = []
    for _ in range(2):
        try:
            driver.get(url)
            report = driver.execute_async_script(_INSPECT)
        except TimeoutException as error:
            stalls.append(f"timeout: {error.msg}")
            continue
        assert "failure" not in report, f"{url}: {report.get('failure')}"
        if "stalled" not in report:
            return report
        stalls.append(f"stalled: {report['stalled']}")
    pytest.fail(f"{url} did not finish loading twice: {stalls}")


def _math_problems(report: dict) -> list[str]:
    problems = []
    if report["untypesetMath"]:
        problems.append(f"untypeset math: {report['untypesetMath'][:3]}")
    if report["mathErrors"]:
        problems.append(f"MathJax errors: {report['mathErrors'][:3]}")
    for delimiter in ("\\(", "\\[", "$$"):
        if delimiter in report["visibleText"]:
            at = report["visibleText"].index(delimiter)
            problems.append(f"raw {delimiter!r} left in the text: {report['visibleText'][at:at + 60]!r}")
    return problems


# -- the tests ------------------------------------------------------------------------------------
def test_book_is_built():
    """The book exists and the browser is there (fails in CI, skips elsewhere, if not)."""
    reason = _unavailable()
    if reason:
        _skip_or_fail(reason)
    assert PAGES, f"no HTML pages under {HTML}"
    assert "book/intro.html" in PAGES


@pytest.mark.parametrize("page", PAGES)
def test_page(page, site, driver):
    report = _inspect(driver, f"{site}/{page}")
    assert "404" not in report["title"], f"{page}: {report['title']}"

    # No notebook cell failed.
    assert not report["errorBlocks"], f"{page}: error output {report['errorBlocks'][:2]}"
    assert "Traceback (most recent call last)" not in report["fullText"], f"{page}: a traceback"

    # Every figure loaded.
    broken = [img["src"] for img in report["images"] if not img["ok"]]
    assert not broken, f"{page}: images that did not load: {broken}"

    # Math is typeset, by the local MathJax, with nothing fetched from outside.
    if report["nMath"]:
        assert report["mathjaxVersion"], f"{page}: MathJax did not start"
        assert report["mathjaxVersion"].startswith("3."), report["mathjaxVersion"]
        assert report["nContainers"] >= report["nMath"], f"{page}: too few mjx-container"
        assert report["mathjaxScripts"], f"{page}: no MathJax script"
        assert all(src.startswith(site + "/") for src in report["mathjaxScripts"]), report["mathjaxScripts"]
    problems = _math_problems(report)
    assert not problems, f"{page}: " + "; ".join(problems)
    assert not report["fallbackInserted"], f"{page}: the CDN fallback was needed"
    outside = [r for r in report["resources"] if not r.startswith((site + "/", "data:", "blob:"))]
    assert not outside, f"{page}: resources from outside the local server: {outside}"

    # What a reader sees: every formula fits the column, every reference names its target, every
    # mention of an errata entry is a link, every figure has a caption and alt text, and a chapter
    # shows no notebook plumbing.
    layout = driver.execute_script(LAYOUT_JS)
    assert not layout["wideMath"], f"{page}: formulas wider than the {layout['columnWidth']} px column: " + \
        "; ".join(f"{m['width']} px: {m['tex'][:90]!r}" for m in layout["wideMath"])
    assert not layout["wideTables"], f"{page}: tables wider than the column: {layout['wideTables'][:3]}"
    assert not layout["badRefs"], f"{page}: references without their number: {layout['badRefs'][:5]}"
    assert not layout["unlinkedErrata"], f"{page}: errata mentions that are not links: {layout['unlinkedErrata'][:5]}"
    assert not layout["uncaptioned"], f"{page}: figures without caption or alt text: {layout['uncaptioned'][:5]}"
    if page.startswith("notebooks/"):
        assert not layout["plumbing"], f"{page}: notebook plumbing in view: {layout['plumbing'][:3]}"

    # Every figure records its width and smallest text (bnpg.book.glue_figure), and that text is
    # displayed at least as large as the book's small print.
    small = []
    for fig in layout["figures"]:
        path = HTML / fig["src"].split(site + "/", 1)[1].split("#")[0]
        sizes = figure_sizes(path)
        assert sizes is not None, f"{page}: {path.name} records no size (show figures with bnpg.book.glue_figure)"
        shown = figure_text_px(*sizes, fig["width"])
        if shown < layout["smallPrint"] - 0.05:
            small.append(f"{path.name}: {shown:.1f} px (figure {sizes[0]:g} pt wide shown at "
                         f"{fig['width']:.0f} px, smallest text {sizes[1]:g} pt)")
    assert not small, (f"{page}: figure text below the small print ({layout['smallPrint']:.1f} px): "
                       + "; ".join(small))


def _screenshot(driver, url: str, path: Path) -> None:
    driver.get(url)
    driver.execute_async_script(_INSPECT)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, max(1024, min(int(height), 6000)))
    try:
        driver.execute_async_script(_INSPECT)
        path.parent.mkdir(parents=True, exist_ok=True)
        assert driver.save_screenshot(str(path)), f"screenshot {path} failed"
    finally:
        driver.set_window_size(1280, 1024)
    assert path.stat().st_size > 10_000, f"{path} looks empty"


def _lemma_page() -> str | None:
    """The first notebook page stating a lemma (preferring the Lemma 1 chapter)."""
    preferred = "notebooks/02-lemma1-gradient.html"
    if preferred in PAGES:
        return preferred
    for page in PAGES:
        if page.startswith("notebooks/") and 'class="proof lemma' in (HTML / page).read_text():
            return page
    return None


def test_screenshots(site, driver):
    _screenshot(driver, f"{site}/book/intro.html", SHOTS / "intro.png")
    lemma = _lemma_page()
    assert lemma is not None, "no page states a lemma"
    _screenshot(driver, f"{site}/{lemma}", SHOTS / "lemma.png")


def test_math_typesets_from_disk(driver):
    """A saved copy of the book (opened as file://) typesets its math with the shipped MathJax."""
    if not (HTML / "book" / "intro.html").is_file():
        _skip_or_fail("no built book")
    report = _inspect(driver, (HTML / "book" / "intro.html").as_uri())
    assert report["mathjaxVersion"] and report["mathjaxVersion"].startswith("3.")
    assert report["nMath"] > 0 and report["nContainers"] >= report["nMath"]
    assert not report["fallbackInserted"]
    assert not _math_problems(report), _math_problems(report)


def test_cdn_fallback_when_local_mathjax_is_missing(driver):
    """With _static/mathjax answering 404, the fallback script asks for the CDN copy."""
    if not (HTML / "book" / "intro.html").is_file():
        _skip_or_fail("no built book")
    server, url = serve(HTML, blocked=("/_static/mathjax/",))
    try:
        driver.get(f"{url}/book/intro.html")
        src = driver.execute_async_script(
            """
            const done = arguments[arguments.length - 1];
            const look = () => {
              const s = document.getElementById("mathjax-cdn-fallback");
              if (s || document.readyState === "complete" && performance.now() > 5000) {
                done(s ? s.src : null);
              } else { setTimeout(look, 50); }
            };
            look();
            """
        )
    finally:
        server.shutdown()
        server.server_close()
    assert src is not None, "the fallback did not load MathJax from the CDN"
    assert src.startswith("https://") and src.endswith("/es5/tex-chtml.js"), src


# -- a phone's width ------------------------------------------------------------------------------
#: Pages read on a phone in the test: every chapter and the pages with the most formulas.
PHONE_PAGES = [p for p in PAGES if p.startswith("notebooks/")] + [
    p for p in ("book/errata.html", "book/verdicts.html", "book/intro.html", "book/notation.html") if p in PAGES]

_PHONE_JS = r"""
const article = document.querySelector("article.bd-article") || document.body;
const clipped = [];
for (const c of article.querySelectorAll("mjx-container[display='true']")) {
  if (c.getClientRects().length === 0) { continue; }
  const box = c.closest("div.math") || c;
  const math = c.querySelector("mjx-math") || c;
  if (math.getBoundingClientRect().width <= box.clientWidth + 1) { continue; }
  const overflow = getComputedStyle(box).overflowX;
  if (overflow !== "auto" && overflow !== "scroll") {
    clipped.push((c.getAttribute("aria-label") || c.textContent).slice(0, 80));
  }
}
return {pageWidth: document.documentElement.scrollWidth, window: window.innerWidth, clipped: clipped};
"""


#: CSS width of the phone's screen.
PHONE_WIDTH = 390


@pytest.fixture(scope="module")
def phone():
    reason = _unavailable()
    if reason:
        _skip_or_fail(reason)
    for browser in chromium(PHONE_WIDTH, 844, timeout=PAGE_TIMEOUT):
        # A desktop window cannot be narrower than 500 px: emulate the phone's viewport instead.
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                {"width": PHONE_WIDTH, "height": 844, "deviceScaleFactor": 2, "mobile": True})
        yield browser


@pytest.mark.parametrize("page", PHONE_PAGES)
def test_page_on_a_phone(page, site, phone):
    """At 390 px the page does not scroll sideways, and a formula wider than the screen scrolls in its box."""
    _inspect(phone, f"{site}/{page}")
    found = phone.execute_script(_PHONE_JS)
    assert found["window"] == PHONE_WIDTH, found
    assert found["pageWidth"] <= found["window"] + 1, f"{page}: the page is {found['pageWidth']} px wide"
    assert not found["clipped"], f"{page}: formulas cut off on a phone: {found['clipped'][:3]}"


# -- the PDF --------------------------------------------------------------------------------------
PDF = HTML / "bnpg.pdf"


def test_pdf_is_linked_and_served(site, driver):
    """The intro and the PDF page link the PDF, and the link answers with a PDF."""
    for page in ("book/intro.html", "book/pdf.html"):
        driver.get(f"{site}/{page}")
        found = driver.execute_async_script(
            """
            const done = arguments[arguments.length - 1];
            const a = Array.from(document.querySelectorAll("a")).find((a) => a.href.endsWith("/bnpg.pdf"));
            if (!a) { done(null); return; }
            fetch(a.href).then((r) => done({status: r.status, type: r.headers.get("content-type"), href: a.href}),
                               (e) => done({status: 0, type: String(e), href: a.href}));
            """
        )
        assert found is not None, f"{page} has no link to bnpg.pdf"
        assert found["status"] == 200 and found["type"] == "application/pdf", (page, found)


def test_pdf_has_every_page_and_renders():
    """The PDF holds one bookmark per chapter it prints, and its first page renders with the title
    (tests/test_pdf.py reads the whole PDF)."""
    if not PDF.is_file():
        _skip_or_fail(f"no PDF at {PDF} (make book prints it with Chromium)")
    import pypdfium2
    from pypdf import PdfReader

    docs = printed_entries(ROOT / "_toc.yml")
    reader = PdfReader(PDF)
    assert len(reader.pages) >= 2 * len(docs), f"{len(reader.pages)} pages for {len(docs)} chapters"
    assert len(reader.outline) == len(docs), [item.title for item in reader.outline]
    assert "checked" in reader.pages[0].extract_text()
    bitmap = pypdfium2.PdfDocument(str(PDF))[0].render(scale=1).to_numpy()
    assert bitmap.shape[0] > 500 and bitmap.shape[1] > 400, bitmap.shape
    ink = (bitmap[..., :3] < 128).any(axis=-1).mean()
    assert 0.002 < ink < 0.5, f"the first page looks blank or black (ink fraction {ink:.4f})"


# -- the layout checks themselves -----------------------------------------------------------------
_PLANTED = r"""<!DOCTYPE html><html><head><title>planted</title>
<script>window.MathJax = {"options": {"processHtmlClass": "math"}}</script>
<script defer src="_static/mathjax/tex-chtml.js"></script></head>
<body><article class="bd-article" style="width: 740px">
<div class="math notranslate nohighlight">\[ T \ge WIDE \]</div>
<p><span class="math notranslate nohighlight">\(x^2\)</span> fits.</p>
<p><a class="reference internal" href="x.html#lemma-2">Lemma</a> and
<a class="reference internal" href="x.html#theorem-1">Theorem 1</a> and <a class="reference internal" href="#a"></a>
and <a class="reference internal" href="errata.html#erratum-e5">E6</a>.</p>
<p>As E5 shows, <a href="errata.html#erratum-e7">E7</a> holds.</p>
<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=" alt="_images/abc.png">
<figure><img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=" alt="A dot."><figcaption>A dot.</figcaption></figure>
<p>glue("nb00-x", 1)</p>
</article></body></html>
""".replace("WIDE", r" + ".join([r"\frac{256 N M^2 |\mathcal S|^2}{(1-\gamma)^4 \epsilon^2}"] * 8))


def test_layout_checks_catch_planted_problems(driver):
    """A page with one of each problem: the layout measurement reports each, and nothing more."""
    if not (HTML / "_static" / "mathjax" / "tex-chtml.js").is_file():
        _skip_or_fail("no built book (its MathJax is needed)")
    folder = Path(tempfile.mkdtemp(prefix="bnpg-planted-"))
    try:
        (folder / "_static").mkdir()
        (folder / "_static" / "mathjax").symlink_to(HTML / "_static" / "mathjax")
        (folder / "planted.html").write_text(_PLANTED)
        server, url = serve(folder)
        try:
            _inspect(driver, f"{url}/planted.html")
            found = driver.execute_script(LAYOUT_JS)
        finally:
            server.shutdown()
            server.server_close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert [m["display"] for m in found["wideMath"]] == [True], found["wideMath"]
    assert found["wideMath"][0]["width"] > 740
    assert sorted(r["why"] for r in found["badRefs"]) == ["empty text", "no number", "not its entry's number"]
    assert [t.startswith("As E5 shows") for t in found["unlinkedErrata"]] == [True], found["unlinkedErrata"]
    assert [u["problems"] for u in found["uncaptioned"]] == [["no caption", "alt is a file path"]]
    assert len(found["plumbing"]) == 1 and "glue(" in found["plumbing"][0]
