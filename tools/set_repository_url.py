"""Point every place that names the repository at one URL.

Usage: python tools/set_repository_url.py https://github.com/OWNER/NAME

The URL lives in pyproject.toml ([project.urls] Repository); this rewrites it there and wherever it
is repeated: the book's launch buttons (_config.yml), the documentation and issue links, the
citation file, the README's install line and the install cell at the top of every notebook.
tests/test_packaging.py checks that they all agree.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = ["pyproject.toml", "_config.yml", "CITATION.cff", "README.md", *sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / "notebooks").glob("*.ipynb"))]


def current() -> str:
    text = (ROOT / "pyproject.toml").read_text()
    return re.search(r'^Repository = "([^"]+)"', text, re.M).group(1)


def main(url: str) -> None:
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url):
        raise SystemExit(f"expected https://github.com/OWNER/NAME, got {url!r}")
    old = current()
    old_owner, old_name = old.rsplit("/", 2)[-2:]
    owner, name = url.rsplit("/", 2)[-2:]
    pages_old, pages_new = f"https://{old_owner}.github.io/{old_name}/", f"https://{owner}.github.io/{name}/"
    for rel in FILES:
        path = ROOT / rel
        text = path.read_text()
        new = text.replace(old, url).replace(pages_old, pages_new)
        if new != text:
            path.write_text(new)
            print(f"updated {rel}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
