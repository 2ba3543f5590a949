"""Execute notebooks in place so that their committed outputs are fresh.

Usage: python tools/execute_notebooks.py notebooks/02-lemma1-gradient.ipynb [...]

Runs each notebook top to bottom in a fresh kernel of the current environment, from the
notebook's own folder, and stops at the first cell error. Prints the wall time of each.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def execute(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    elapsed = time.perf_counter() - start
    nbformat.write(nb, path)
    return elapsed


if __name__ == "__main__":
    for name in sys.argv[1:]:
        seconds = execute(Path(name))
        print(f"{name}: {seconds:.1f} s")
