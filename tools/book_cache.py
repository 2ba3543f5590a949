"""Keep Jupyter Book's execution cache only while the library it executed is unchanged.

Usage: python tools/book_cache.py [--cache _build/.jupyter_cache]

`make book` executes the notebooks through Jupyter Book's cache (``execute_notebooks: cache``),
which reuses a notebook's outputs while its code cells are unchanged. The outputs also depend on the
library, which the cache does not see; this script hashes every file of the package ``bnpg``
(code and shipped data) and ``pyproject.toml``, and deletes the cache when the hash differs from
the one stored beside it, so that a change of the library re-executes every notebook. A fresh
clone has no cache and executes everything; `make test` re-executes every notebook with nbval
regardless.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def library_hash(root: Path = ROOT) -> str:
    """SHA-256 over the paths and bytes of every file of ``bnpg/`` (caches excluded) and pyproject.toml."""
    digest = hashlib.sha256()
    files = sorted(p for p in (root / "bnpg").rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
    for path in [*files, root / "pyproject.toml"]:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=ROOT / "_build" / ".jupyter_cache")
    args = parser.parse_args(argv)
    stamp = args.cache.parent / "jupyter_cache.library-sha256"
    current = library_hash()
    if args.cache.exists() and (not stamp.is_file() or stamp.read_text().strip() != current):
        shutil.rmtree(args.cache)
        print("book_cache: the library changed; every notebook will be executed again")
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(current + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
