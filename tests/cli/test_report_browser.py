"""The HTML report of ``bnpg check`` in a real browser, at a desktop's and at a phone's width.

A report of a small game is written, served on a local port and opened in headless Chromium
(:mod:`headless`), at 1280 px and at 390 px (a phone, emulated). On each, every image loads, no
table cell cuts its text off, the page does not scroll sideways, the smallest text is at least
11 px; on the desktop the figures are at least 600 px wide. Without Chromium, its driver or
selenium the tests are skipped, unless ``BNPG_REQUIRE_BROWSER=1`` (as in CI): then they fail.
"""

from __future__ import annotations

import os

import pytest
from headless import chromium, missing, serve

import bnpg
from bnpg.paper import check
from bnpg.paper.report import render

REQUIRED = os.environ.get("BNPG_REQUIRE_BROWSER") == "1"
PHONE_WIDTH = 390
DESKTOP_WIDTH = 1280


def _skip_or_fail(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"BNPG_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    reason = missing()
    if reason:
        _skip_or_fail(reason)
    folder = tmp_path_factory.mktemp("report")
    report = check(bnpg.games.penalty_game(gamma=0.5), max_steps=500)
    (folder / "report.html").write_text(render(report, "html", source="penalty.npz"), encoding="utf-8")
    server, url = serve(folder)
    yield f"{url}/report.html"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module", params=["desktop", "phone"])
def browser(request):
    reason = missing()
    if reason:
        _skip_or_fail(reason)
    if request.param == "desktop":
        for driver in chromium(DESKTOP_WIDTH, 1024, timeout=120):
            yield request.param, driver
    else:
        for driver in chromium(PHONE_WIDTH, 844, timeout=120):
            # A desktop window cannot be narrower than 500 px: emulate the phone's viewport instead.
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": PHONE_WIDTH, "height": 844, "deviceScaleFactor": 2, "mobile": True})
            yield request.param, driver


#: Waits for the images, then measures the page.
MEASURE = r"""
const done = arguments[arguments.length - 1];
const settled = Array.from(document.images).map((img) => img.complete ? Promise.resolve() : new Promise((ok) => {
  img.addEventListener("load", ok, {once: true}); img.addEventListener("error", ok, {once: true});
}));
Promise.all(settled).then(() => {
  const images = Array.from(document.images).map((img) => ({
    natural: img.naturalWidth, shown: img.getBoundingClientRect().width}));
  const clipped = Array.from(document.querySelectorAll("td, th")).filter((c) => c.scrollWidth > c.clientWidth + 1)
    .map((c) => c.textContent.slice(0, 60));
  let smallest = 1e9, where = "";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.textContent.trim()) continue;
    const el = node.parentElement, style = getComputedStyle(el);
    if (style.display === "none" || style.visibility === "hidden" || !el.getClientRects().length) continue;
    const size = parseFloat(style.fontSize);
    if (size < smallest) { smallest = size; where = node.textContent.trim().slice(0, 60); }
  }
  done({images, clipped, smallest, where, window: window.innerWidth,
        pageWidth: document.documentElement.scrollWidth});
});
"""


@pytest.fixture(scope="module")
def measured(site, browser):
    kind, driver = browser
    driver.get(site)
    found = driver.execute_async_script(MEASURE)
    print(kind, {k: v for k, v in found.items() if k != "clipped"})
    return kind, found


def test_every_image_loads(measured):
    kind, found = measured
    assert len(found["images"]) == 2, found["images"]
    assert all(img["natural"] > 0 for img in found["images"]), (kind, found["images"])


def test_no_text_is_cut_off_and_the_page_does_not_scroll_sideways(measured):
    kind, found = measured
    assert found["window"] == (DESKTOP_WIDTH if kind == "desktop" else PHONE_WIDTH), found["window"]
    assert not found["clipped"], (kind, found["clipped"][:5])
    assert found["pageWidth"] <= found["window"], (kind, found["pageWidth"])


def test_the_smallest_text_is_readable(measured):
    kind, found = measured
    assert found["smallest"] >= 11, (kind, found["smallest"], found["where"])


def test_the_figures_fill_the_text_column(measured):
    # at least 600 px on a desktop; on a phone the whole width less the page's margins
    kind, found = measured
    least = 600 if kind == "desktop" else PHONE_WIDTH - 48
    assert all(img["shown"] >= least for img in found["images"]), (kind, found["images"])
