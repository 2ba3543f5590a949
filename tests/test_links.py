"""Every internal link of the built book leads somewhere.

``make book`` writes the HTML into ``_build/html``. This test reads every ``*.html`` there (the
chapters, the API pages under ``book/api``, the highlighted source pages that ``sphinx.ext.viewcode``
writes under ``_modules``, the index and search pages; not the files the themes copy into the asset
folders ``_static`` and the like, which are Jinja templates, not pages) with the standard library's
``html.parser``, and for every internal reference checks that

* the file it names exists (a folder counts if it holds an ``index.html``), for ``<a href>``,
  ``<area href>``, ``<link href>`` (stylesheets, icons, the previous/next/index/search links),
  SVG ``href``/``xlink:href`` and the ``src`` of ``<img>``, ``<script>`` and embedded media;
* its ``#fragment``, when it names an HTML page (or the page itself), is the ``id`` of an element
  of that page, or the ``name`` of an ``<a>``: the ``[source]`` links of the API pages and the
  ``[docs]`` links back from the source pages are such references.

A reference is internal unless it has a scheme or a host: ``http:``, ``https:``, ``mailto:``,
``javascript:`` and ``data:`` ones, and protocol-relative ``//host/...`` ones, are not followed;
any other scheme (``file:`` for instance) is reported, since the published site cannot reach it.
Site-absolute references (``/path``) are resolved from the root of the build, and a relative one
that climbs out of the build is reported. Every failure is reported at once, with the page, the
reference and why.

The usual cause of a broken ``[docs]`` link is an ``automodule`` with ``:members:`` that documents
a function or class re-exported from another module (``bnpg.games.library`` lists
``coordination_game`` in its ``__all__``): ``viewcode`` files the source of such an alias under its
defining module, builds every ``[docs]`` link of that module's source page from the module name of
the first signature it met there (the alias's, so ``#bnpg.games.library.state_bits``), or sends the
link of the object itself to the page of the alias. ``tests/test_architecture_docs.py`` checks on
the sources, without a build, that every such name is in its page's ``:exclude-members:``.

Without a built book the test on it is skipped, unless ``BNPG_REQUIRE_BOOK=1`` or
``BNPG_REQUIRE_BROWSER=1`` (as in CI), in which case it fails. The checker itself is tested on a
small synthetic site, which needs no build.
"""

from __future__ import annotations

import os
import posixpath
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
# BNPG_HTML points the test at another build of the book (default: the one `make book` writes).
HTML = Path(os.environ.get("BNPG_HTML", ROOT / "_build" / "html"))
REQUIRED = (
    os.environ.get("BNPG_REQUIRE_BOOK") == "1" or os.environ.get("BNPG_REQUIRE_BROWSER") == "1"
)

#: Folders of the build that hold assets, not pages: their ``*.html`` files are not walked (the themes
#: copy Jinja macro files such as ``_static/webpack-macros.html`` there, never served as pages), though
#: references into them are checked.
ASSET_DIRS = {"_static", "_sources", "_images", "_downloads"}

#: Schemes whose references leave the site and are not followed.
EXTERNAL_SCHEMES = {"http", "https", "mailto", "javascript", "data"}

#: The attributes that reference another file, by tag: (tag, attribute).
REFERENCES = {
    ("a", "href"),
    ("area", "href"),
    ("link", "href"),
    ("img", "src"),
    ("script", "src"),
    ("iframe", "src"),
    ("embed", "src"),
    ("source", "src"),
    ("video", "src"),
    ("audio", "src"),
    ("track", "src"),
    # inline SVG (figures, icons): <a>, <use> and <image> name their target in href or xlink:href
    ("a", "xlink:href"),
    ("use", "href"),
    ("use", "xlink:href"),
    ("image", "href"),
    ("image", "xlink:href"),
}


@dataclass
class Page:
    """What one HTML file defines (anchors) and references (tag, attribute, value)."""

    anchors: set[str] = field(default_factory=set)
    references: list[tuple[str, str, str]] = field(default_factory=list)


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name == "id" or (tag == "a" and name == "name"):
                self.page.anchors.add(value)
            elif (tag, name) in REFERENCES:
                self.page.references.append((tag, name, value))

    handle_startendtag = handle_starttag


def parse_page(path: Path) -> Page:
    parser = _PageParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    parser.close()
    return parser.page


@dataclass
class Report:
    """The outcome of a check: how much was checked, and every failure as (page, reference, why)."""

    pages: list[str]
    checked: int
    failures: list[tuple[str, str, str]]

    def describe(self) -> str:
        lines = [
            f"{len(self.failures)} broken references among {self.checked} internal references "
            f"of {len(self.pages)} pages:"
        ]
        lines += [f"  {page}: {ref!r}: {why}" for page, ref, why in self.failures]
        return "\n".join(lines)


def check_site(root: Path) -> Report:
    """Check every internal reference of every page under ``root`` (see the module docstring)."""
    root = root.resolve()
    sources = [path.relative_to(root).as_posix() for path in sorted(root.rglob("*.html"))]
    sources = [rel for rel in sources if rel.split("/", 1)[0] not in ASSET_DIRS]
    parsed: dict[str, Page] = {}

    def page(rel: str) -> Page:
        if rel not in parsed:
            parsed[rel] = parse_page(root / rel)
        return parsed[rel]

    failures: list[tuple[str, str, str]] = []
    checked = 0
    for source in sources:
        base = posixpath.dirname(source)
        for tag, attribute, value in page(source).references:
            kind = f"<{tag} {attribute}>"
            parts = urlsplit(value.strip())
            if parts.scheme or parts.netloc:
                if parts.scheme.lower() in EXTERNAL_SCHEMES or (not parts.scheme and parts.netloc):
                    continue
                checked += 1
                failures.append(
                    (source, value, f"{kind}: the scheme {parts.scheme}: does not reach the site")
                )
                continue
            if not parts.path and not parts.fragment:
                continue  # href="" or href="#": the page itself, at its top
            checked += 1
            path = unquote(parts.path)
            if not path:
                target = source
            else:
                target = posixpath.normpath(
                    path.lstrip("/") if path.startswith("/") else posixpath.join(base, path)
                )
                if target == ".." or target.startswith("../"):
                    failures.append((source, value, f"{kind}: leaves the site ({target})"))
                    continue
                if (root / target).is_dir():
                    target = "index.html" if target == "." else f"{target}/index.html"
                if not (root / target).is_file():
                    failures.append((source, value, f"{kind}: no file {target}"))
                    continue
            if parts.fragment and target.endswith((".html", ".htm")):
                anchors = page(target).anchors
                if parts.fragment not in anchors and unquote(parts.fragment) not in anchors:
                    failures.append(
                        (source, value, f"{kind}: {target} has no id {unquote(parts.fragment)!r}")
                    )
    return Report(sources, checked, failures)


# -- the checker, on a synthetic site -------------------------------------------------------------
def _write(root: Path, rel: str, body: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"<!DOCTYPE html><html><head><title>t</title></head><body>{body}</body></html>",
        encoding="utf-8",
    )


def test_checker_catches_each_kind_of_broken_reference(tmp_path):
    """A good link passes; a missing file, a missing anchor and a missing asset are each reported."""
    site = tmp_path / "html"
    (site / "_static").mkdir(parents=True)
    (site / "_static" / "style.css").write_text("body {}", encoding="utf-8")
    (site / "_static" / "app.js").write_text("", encoding="utf-8")
    # a theme's Jinja macros, copied as they are: not a page, so its template expressions are not links
    (site / "_static" / "macros.html").write_text(
        "{% macro head() %}<link href=\"{{ pathto('_static/x.css', 1) }}\">{% endmacro %}",
        encoding="utf-8",
    )
    (site / "_images").mkdir()
    (site / "_images" / "fig.png").write_bytes(b"\x89PNG")
    _write(
        site,
        "book/api/games.html",
        '<dl><dt id="bnpg.games.coordination.coordination_game">f</dt></dl><a name="legacy"></a>'
        '<h2 id="caf\u00e9">heading</h2>'
        '<a href="../../_modules/bnpg/games/coordination.html#coordination_game">[source]</a>',
    )
    _write(
        site,
        "_modules/bnpg/games/coordination.html",
        '<div id="coordination_game">'
        '<a class="viewcode-back" href="../../../book/api/games.html#bnpg.games.coordination.coordination_game">[docs]</a>'
        '<a class="viewcode-back" href="../../../book/api/games.html#bnpg.games.library.coordination_game">[docs]</a>'
        "</div>",
    )
    _write(
        site,
        "index.html",
        "".join(
            [
                '<link rel="stylesheet" href="_static/style.css?v=1">',
                '<script src="_static/app.js"></script>',
                '<img src="_images/fig.png" alt="">',
                '<a href="book/api/games.html#bnpg.games.coordination.coordination_game">good</a>',
                '<a href="/book/api/games.html#legacy">good, site-absolute, to an a name</a>',
                '<a href="book/api/games.html#caf%C3%A9">good, a percent-encoded id</a>',
                '<a href="#top" id="top">good, same page</a><a href="#">top</a><a href="">self</a>',
                '<a href="https://example.org/x.html#y">external</a><a href="mailto:a@b">mail</a>',
                '<a href="javascript:void(0)">js</a><img src="data:image/png;base64,AAAA" alt="">',
                '<a href="//cdn.example.org/x.js">protocol-relative</a>',
                '<a href="book/api/missing.html">missing file</a>',
                '<a href="book/api/games.html#nowhere">missing anchor</a>',
                '<a href="#gone">missing anchor on the page itself</a>',
                '<img src="_images/lost.png" alt="">',
                '<script src="_static/lost.js"></script>',
                '<link rel="stylesheet" href="_static/lost.css">',
                '<a href="../outside.html">outside</a>',
                '<a href="file:///etc/hosts">file</a>',
            ]
        ),
    )

    report = check_site(site)

    assert report.pages == [
        "_modules/bnpg/games/coordination.html",
        "book/api/games.html",
        "index.html",
    ]
    broken = {(page, ref) for page, ref, _ in report.failures}
    assert broken == {
        (
            "_modules/bnpg/games/coordination.html",
            "../../../book/api/games.html#bnpg.games.library.coordination_game",
        ),
        ("index.html", "book/api/missing.html"),
        ("index.html", "book/api/games.html#nowhere"),
        ("index.html", "#gone"),
        ("index.html", "_images/lost.png"),
        ("index.html", "_static/lost.js"),
        ("index.html", "_static/lost.css"),
        ("index.html", "../outside.html"),
        ("index.html", "file:///etc/hosts"),
    }, report.describe()
    why = {ref: reason for _, ref, reason in report.failures}
    assert "no file book/api/missing.html" in why["book/api/missing.html"]
    assert "has no id 'nowhere'" in why["book/api/games.html#nowhere"]
    assert (
        "has no id 'bnpg.games.library.coordination_game'"
        in why["../../../book/api/games.html#bnpg.games.library.coordination_game"]
    )
    # 9 good and 9 broken internal references; the external ones and the template are not counted
    assert report.checked == 18
    assert "9 broken references" in report.describe()


def test_a_folder_reference_needs_its_index(tmp_path):
    _write(tmp_path, "index.html", '<a href="book/">folder</a><a href="empty/">no index</a>')
    _write(tmp_path, "book/index.html", "")
    (tmp_path / "empty").mkdir()
    report = check_site(tmp_path)
    assert [(ref, why) for _, ref, why in report.failures] == [
        ("empty/", "<a href>: no file empty/index.html")
    ]


# -- the built book -------------------------------------------------------------------------------
def test_every_internal_reference_of_the_built_book_resolves():
    if not (HTML / "index.html").is_file():
        reason = f"no built book at {HTML} (run `make book`)"
        if REQUIRED:
            pytest.fail(f"BNPG_REQUIRE_BOOK=1 or BNPG_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    report = check_site(HTML)
    # The walk must have met the kinds of page whose links it exists for.
    folders = Counter(page.split("/", 1)[0] if "/" in page else "" for page in report.pages)
    assert folders["_modules"] > 0, "no viewcode source pages under _modules"
    assert any(page.startswith("book/api/") for page in report.pages), "no API pages under book/api"
    print(f"{report.checked} internal references of {len(report.pages)} pages checked")
    if report.failures:
        pytest.fail(report.describe(), pytrace=False)
