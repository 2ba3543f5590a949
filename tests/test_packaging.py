"""What a user who installs bnpg relies on: one repository URL, one version, the environment files
in step with pyproject.toml, the licence, the citation file and the data the notebooks read."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

import bnpg

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
URL = PYPROJECT["project"]["urls"]["Repository"]


def requirement_name(req: str) -> str:
    return re.split(r"[<>=!~ \[;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_one_repository_url_everywhere():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["repository"]["url"] == URL
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["repository-code"] == URL
    assert f"pip install \"bnpg @ git+{URL}\"" in (ROOT / "README.md").read_text()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        first = next(c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code")
        source = "".join(first["source"])
        assert f"git+{URL}" in source and "remove-cell" in first["metadata"].get("tags", []), path.name
    found = set(re.findall(r"https://github\.com/[\w.-]+/[\w.-]+", (ROOT / "_config.yml").read_text()
                           + (ROOT / "README.md").read_text() + (ROOT / "CITATION.cff").read_text()))
    assert found <= {URL, f"{URL}/issues"}, found


def test_one_version():
    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "bnpg._version.__version__"}
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert str(cff["version"]) == bnpg.__version__
    assert f"## {bnpg.__version__}" in (ROOT / "CHANGELOG.md").read_text()


def test_binder_environment_lists_the_same_packages():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {requirement_name(d.split("=")[0]) for d in env["dependencies"] if isinstance(d, str)}
    pip = {requirement_name(d) for d in next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
           if not d.startswith("-")}
    runtime = {requirement_name(r) for r in PYPROJECT["project"]["dependencies"]}
    book = {requirement_name(r) for r in PYPROJECT["project"]["optional-dependencies"]["book"]}
    listed = conda | pip
    assert runtime | book <= listed | {"ipykernel"}, sorted(runtime | book - listed)
    assert listed - {"python", "pip"} <= runtime | book | {"nbval"}, sorted(listed - runtime - book)


def test_licence_citation_and_typing_marker():
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert PYPROJECT["project"]["license"] == "MIT" and PYPROJECT["project"]["license-files"] == ["LICENSE"]
    assert (ROOT / "bnpg" / "py.typed").exists()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["bnpg"]


def test_the_data_the_notebooks_read_ships_with_the_package():
    for name in bnpg.data.FILES:
        assert bnpg.data.path(name).is_file()
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]["bnpg"]
    assert "data/*.json" in patterns and "data/*.npz" in patterns


EMSCRIPTEN = {"sys_platform": "emscripten", "platform_system": "Emscripten", "os_name": "posix",
              "platform_machine": "wasm32", "implementation_name": "cpython"}
LINUX = {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
         "platform_machine": "x86_64", "implementation_name": "cpython"}


def installed_names(environment: dict) -> set[str]:
    """The runtime requirements whose environment marker holds in ``environment``."""
    from packaging.requirements import Requirement

    names = set()
    for text in PYPROJECT["project"]["dependencies"]:
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate(environment):
            names.add(requirement_name(req.name))
    return names


def test_numba_is_required_only_where_it_exists():
    in_browser, on_linux = installed_names(EMSCRIPTEN), installed_names(LINUX)
    assert "numba" not in in_browser and "numba" in on_linux
    assert on_linux - in_browser == {"numba"}
    assert {"numpy", "networkx", "joblib"} <= in_browser


#: A new interpreter where numba cannot be imported, as in Pyodide: it imports bnpg, lists the
#: heavy packages that came with it and takes one gradient.
WITHOUT_NUMBA = """
import importlib.abc, json, sys

class NoNumba(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "numba" or name.startswith("numba."):
            raise ImportError(f"No module named {name!r}")
        return None

sys.meta_path.insert(0, NoNumba())
sys.modules["numba"] = None  # what importlib.util.find_spec reports for a package not installed
try:
    import numba  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit("numba imported")
import numpy as np, bnpg
heavy = sorted(m for m in ("numba", "sympy", "matplotlib", "joblib", "scipy", "tqdm")
               if sys.modules.get(m) is not None)
game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.5)
grad = bnpg.gradient(game, bnpg.BNPolicy.random(game, bnpg.DAG.chain(2), seed=0), 0.1)
print(json.dumps({"heavy": heavy, "gradient": [g.tolist() for g in grad]}))
"""


def test_bnpg_imports_and_differentiates_without_numba():
    import subprocess
    import sys

    import numpy as np

    out = subprocess.run([sys.executable, "-c", WITHOUT_NUMBA], capture_output=True, text=True,
                         cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["heavy"] == [], result["heavy"]
    game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.5)
    expected = bnpg.gradient(game, bnpg.BNPolicy.random(game, bnpg.DAG.chain(2), seed=0), 0.1)
    assert len(result["gradient"]) == len(expected)
    for got, want in zip(result["gradient"], expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
