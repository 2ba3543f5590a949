"""Print the built book to one PDF, ``_build/html/bnpg.pdf``, with headless Chromium.

Usage: python tools/print_book.py [--html _build/html] [--out _build/html/bnpg.pdf]

The pages are taken in the order of ``_toc.yml``, served from a local port, and each is printed by
Chromium (through chromedriver, WebDriver's print command) once MathJax has typeset it; the theme's
print style drops the navigation. pypdf joins the pages and gives the PDF an outline with one
entry per page of the book. The file is written with ``bnpg.experiments.results.atomic_write`` (a temporary
file renamed into place), so an interrupted run leaves no half-written PDF.

Chromium and the local server come from ``tools/headless.py``. Without Chromium and chromedriver
(``BNPG_CHROMIUM`` / ``BNPG_CHROMEDRIVER`` or Debian's ``/usr/bin/chromium`` and
``/usr/bin/chromedriver``) or selenium, the script says so and exits with status 0
without a PDF (the browser test, which needs Chromium anyway, then fails on its absence);
``--require`` makes that an error.
"""

from __future__ import annotations

import argparse
import base64
import io
import re
import sys
from pathlib import Path

import yaml
from headless import chromium, missing, serve

from bnpg.experiments.results import atomic_write

ROOT = Path(__file__).resolve().parents[1]
#: Seconds a page may take to load and typeset before the run fails.
PAGE_TIMEOUT = 180

_WAIT = r"""
const done = arguments[arguments.length - 1];
const t0 = Date.now();
const wants = Array.from(document.scripts).some((s) => s.src.includes("tex-chtml"));
(function poll() {
  const started = window.MathJax && window.MathJax.startup && window.MathJax.startup.promise;
  if (started) { window.MathJax.startup.promise.then(() => done(document.title), (e) => done("error: " + e)); }
  else if (!wants || Date.now() - t0 > 30000) { done(document.title); }
  else { setTimeout(poll, 50); }
})();
"""


def toc_documents(toc_path: Path) -> list[str]:
    """The document names of ``_toc.yml`` (Jupyter Book 1.x format) in reading order."""
    toc = yaml.safe_load(toc_path.read_text())
    docs = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                docs.append(re.sub(r"\.(md|ipynb)$", "", str(entry["file"])))
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return docs


def print_book(html: Path, out: Path) -> int:
    """Print every page of the book under ``html`` into ``out``; returns the number of PDF pages."""
    from pypdf import PdfReader, PdfWriter
    from selenium.webdriver.common.print_page_options import PrintOptions

    docs = toc_documents(ROOT / "_toc.yml")
    missing = [d for d in docs if not (html / f"{d}.html").is_file()]
    if missing:
        raise SystemExit(f"print_book: no built page for {missing} under {html} (run `make book` first)")
    server, url = serve(html)
    browser = chromium(timeout=PAGE_TIMEOUT)
    driver = next(browser)
    writer = PdfWriter()
    options = PrintOptions()
    options.page_width, options.page_height = 21.0, 29.7  # A4, in cm
    options.margin_top = options.margin_bottom = 1.5
    options.margin_left = options.margin_right = 1.5
    options.background = True
    try:
        for k, doc in enumerate(docs):
            driver.get(f"{url}/{doc}.html")
            title = driver.execute_async_script(_WAIT)
            if title.startswith("error:"):
                raise SystemExit(f"print_book: MathJax failed on {doc}: {title}")
            pdf = base64.b64decode(driver.print_page(options))
            reader = PdfReader(io.BytesIO(pdf))
            first = len(writer.pages)
            for page in reader.pages:
                writer.add_page(page)
            writer.add_outline_item(title=title.split(" — ")[0].split(" | ")[0].strip(), page_number=first)
            print(f"[{k + 1}/{len(docs)}] {doc}: {len(reader.pages)} pages", flush=True)
    finally:
        browser.close()
        server.shutdown()
        server.server_close()
    writer.add_metadata({"/Title": "Bayesian-network policy gradient, checked"})
    atomic_write(out, writer.write)
    return len(writer.pages)


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
