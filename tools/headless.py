"""Headless Chromium for the built book: a local server and a browser, shared by the PDF printer
(``tools/print_book.py``) and the browser test (``tests/test_browser.py``).

* :func:`serve` serves a folder on a free local port (optionally answering some path prefixes with
  404) and returns the server and its base URL;
* :func:`chromium` starts Debian's ``chromium`` through ``chromedriver`` (or the binaries named by
  ``BNPG_CHROMIUM`` / ``BNPG_CHROMEDRIVER``, e.g. a CI image's Chrome), headless, with a throw-away
  profile and name resolution of every outside host disabled, as a generator that quits it;
* :func:`missing` says which of the two binaries, or selenium, is not there.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import tempfile
import threading
from pathlib import Path

# Selenium gets both paths, so it downloads nothing.
CHROMIUM = Path(os.environ.get("BNPG_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("BNPG_CHROMEDRIVER", "/usr/bin/chromedriver"))


def missing() -> str | None:
    """Why Chromium cannot be driven here (a sentence), or None."""
    for exe in (CHROMIUM, CHROMEDRIVER):
        if not os.access(exe, os.X_OK):
            return f"{exe} is missing (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed"
    return None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    #: Path prefixes answered with 404 (to simulate a missing file).
    blocked: tuple[str, ...] = ()

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass

    def do_GET(self):
        if self.blocked and self.path.startswith(self.blocked):
            self.send_error(404, "blocked")
            return
        super().do_GET()


def serve(directory: Path, blocked: tuple[str, ...] = ()):
    """Serve ``directory`` on 127.0.0.1 in a daemon thread; returns ``(server, base_url)``.

    The caller stops it with ``server.shutdown()`` and ``server.server_close()``.
    """
    handler = type("Handler", (_QuietHandler,), {"blocked": blocked})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(directory))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def chromium(width: int = 1280, height: int = 1024, timeout: float = 120):
    """Headless Chromium with a ``width`` x ``height`` window; a generator (yield the driver, quit).

    ``timeout`` bounds page loads and scripts, in seconds.
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="bnpg-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--window-size={width},{height}",
        f"--user-data-dir={profile}",
        # No outside host resolves: a page that needs the network fails visibly.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
    ):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    browser.set_page_load_timeout(timeout)
    browser.set_script_timeout(timeout)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)
