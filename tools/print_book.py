"""Print the built book to one PDF, ``_build/html/bnpg.pdf``, with headless Chromium.

Usage: python tools/print_book.py [--html _build/html] [--out _build/html/bnpg.pdf]

The pages are taken in the order of ``_toc.yml``, served from a local port, and each is printed by
Chromium (through chromedriver, WebDriver's print command) once MathJax has typeset it; the theme's
print style drops the navigation. pypdf joins the pages and gives the PDF an outline with one
entry per page of the book. The file is written under a temporary name and renamed into place, so
an interrupted run leaves no half-written PDF.

Without Chromium and chromedriver (``BNPG_CHROMIUM`` / ``BNPG_CHROMEDRIVER`` or Debian's
``/usr/bin/chromium`` and ``/usr/bin/chromedriver``) the script says so and exits with status 0
without a PDF (the browser test, which needs Chromium anyway, then fails on its absence);
``--require`` makes that an error.
"""

from __future__ import annotations

import argparse
import base64
import functools
import http.server
import io
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("BNPG_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("BNPG_CHROMEDRIVER", "/usr/bin/chromedriver"))
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
                docs.append(str(entry["file"]).rsplit(".", 1)[0] if entry["file"].endswith((".md", ".ipynb"))
                            else entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return docs


def _serve(directory: Path):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format, *args):  # noqa: A002 - the base class's signature
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="bnpg-print-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,1024", f"--user-data-dir={profile}",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(PAGE_TIMEOUT)
    driver.set_script_timeout(PAGE_TIMEOUT)
    return driver, profile


def print_book(html: Path, out: Path) -> int:
    """Print every page of the book under ``html`` into ``out``; returns the number of PDF pages."""
    from pypdf import PdfReader, PdfWriter
    from selenium.webdriver.common.print_page_options import PrintOptions

    docs = toc_documents(ROOT / "_toc.yml")
    missing = [d for d in docs if not (html / f"{d}.html").is_file()]
    if missing:
        raise SystemExit(f"print_book: no built page for {missing} under {html} (run `make book` first)")
    server, url = _serve(html)
    driver, profile = _driver()
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
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
        server.shutdown()
        server.server_close()
    writer.add_metadata({"/Title": "Bayesian-network policy gradient, checked"})
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    with open(tmp, "wb") as handle:
        writer.write(handle)
    os.replace(tmp, out)
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
    absent = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if absent:
        print(f"print_book: no PDF: {', '.join(absent)} missing "
              "(apt-get install chromium chromium-driver)", file=sys.stderr)
        return 2 if args.require else 0
    pages = print_book(args.html, out)
    print(f"print_book: {out} ({pages} pages)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
