"""Run every notebook as a reader without the project's tools would: alone, in an empty folder.

Usage: python tools/notebooks_anywhere.py [notebooks/NN-name.ipynb ...]

Creates a fresh virtual environment holding only bnpg (installed from this checkout with pip, not in
editable mode, so the package's own data files are what the notebooks read) and Jupyter's kernel and
notebook runner (ipykernel, nbclient). Then, for each notebook, copies it alone into a new empty
folder and executes it there in that environment's kernel. Fails, with the notebook and the cell, at
the first error. The book's tools (myst-nb, jupyter-book) are not installed, so this also checks that
the notebooks run without them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RUNNER = r"""
import sys
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
try:
    NotebookClient(nb, timeout=900, kernel_name="python3").execute()
except CellExecutionError as exc:
    print(str(exc)[-3000:], file=sys.stderr)
    sys.exit(1)
"""


def make_environment(where: Path, scratch: Path) -> Path:
    venv.EnvBuilder(with_pip=True).create(where)
    python = where / "bin" / "python"
    # build from a copy, so that the build leaves nothing in the checkout
    source = scratch / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv*", "_build", "build", "__pycache__", "*.egg-info", ".hypothesis", "artifacts"))
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([python, "-m", "pip", "install", "--quiet", str(source), "ipykernel", "nbclient"],
                   check=True)
    found = subprocess.run([python, "-c", "import importlib.util as u; print(u.find_spec('myst_nb'))"],
                           capture_output=True, text=True, check=True).stdout.strip()
    if found != "None":
        raise SystemExit("the environment for this check must not contain myst-nb")
    return python


def main(names: list[str]) -> int:
    notebooks = [Path(n).resolve() for n in names] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    with tempfile.TemporaryDirectory(prefix="bnpg-anywhere-") as scratch:
        scratch = Path(scratch)
        print(f"creating a virtual environment with bnpg, ipykernel and nbclient in {scratch / 'venv'}")
        python = make_environment(scratch / "venv", scratch)
        for nb in notebooks:
            folder = scratch / nb.stem
            folder.mkdir()
            copy = folder / nb.name
            shutil.copy(nb, copy)
            start = time.perf_counter()
            result = subprocess.run([python, "-c", RUNNER, str(copy)], cwd=folder,
                                    capture_output=True, text=True)
            seconds = time.perf_counter() - start
            if result.returncode:
                print(f"{nb.name}: FAILED after {seconds:.0f} s\n{result.stderr}", file=sys.stderr)
                return 1
            print(f"{nb.name}: ran alone in an empty folder in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
