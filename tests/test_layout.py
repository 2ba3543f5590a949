"""The library's layout: layers that import only downward (the order written once, in
:mod:`bnpg.architecture`), one concept per module, no module over 500 lines, no import cycle,
``__all__`` in every public module naming what it holds, no private helper used across modules,
and a statement table in the book whose every function exists."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import networkx as nx
import pytest

import bnpg
from bnpg import architecture

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "bnpg"
MODULES = sorted(PACKAGE.rglob("*.py"))


def module_name(path: Path) -> str:
    return architecture.module_name(path, ROOT)


def imported_modules(path: Path) -> set[str]:
    """Every bnpg module ``path`` imports, at top level or inside functions."""
    return IMPORTS[module_name(path)]


IMPORTS = architecture.imports(ROOT)


def test_no_import_reaches_up_a_layer():
    assert architecture.upward_imports(ROOT) == []


def test_every_module_has_a_layer_or_stands_beside():
    for name in IMPORTS:
        assert name == "bnpg" or architecture.layer_of(name) or name in architecture.BESIDE, name


def test_nothing_in_a_layer_imports_a_module_beside_the_layers():
    for name, targets in IMPORTS.items():
        if architecture.layer_of(name):
            assert not targets & set(architecture.BESIDE), name


def _planted_tree(tmp_path, module, line):
    """A copy of the package's source with ``line`` appended to ``module``."""
    import shutil

    shutil.copytree(PACKAGE, tmp_path / "bnpg", ignore=shutil.ignore_patterns("__pycache__", "data"))
    (tmp_path / "bnpg" / "data").mkdir()
    (tmp_path / "bnpg" / "data" / "__init__.py").write_text("")
    target = tmp_path / Path(*module.split("."))
    target = target.with_suffix(".py") if target.with_suffix(".py").exists() else target / "__init__.py"
    target.write_text(target.read_text() + "\n" + line + "\n")
    return tmp_path


@pytest.mark.parametrize("module, line, caught", [
    ("bnpg.exact.gaps", "from bnpg.theory.constants import gradient_threshold", ("exact", "theory")),
    ("bnpg.model.dag", "import bnpg.paper.verdict", ("model", "paper")),
    ("bnpg.theory.constants", "    from ..dynamics import ascent", ("theory", "dynamics")),
    ("bnpg.paper.report", "from bnpg import plotting", ("paper", None)),
    ("bnpg.games.library", "from bnpg import nash_gap", ("games", None)),
])
def test_the_layering_test_catches_a_planted_upward_import(tmp_path, module, line, caught):
    if line.startswith("    "):
        line = "def _planted():\n" + line
    root = _planted_tree(tmp_path, module, line)
    before = set(architecture.upward_imports(ROOT))
    found = [u for u in architecture.upward_imports(root) if u not in before]
    assert [(u.importer, u.from_layer, u.to_layer) for u in found] == [(module, *caught)]


def test_the_layers_form_no_cycle_between_them():
    graph = nx.DiGraph(list(architecture.layer_edges(ROOT)))
    assert nx.is_directed_acyclic_graph(graph)


def test_no_module_is_over_500_lines():
    long = {str(p.relative_to(ROOT)): n for p in MODULES if (n := len(p.read_text().splitlines())) > 500}
    assert not long


def test_there_is_no_import_cycle():
    graph = nx.DiGraph()
    for path in MODULES:
        name = module_name(path)
        graph.add_node(name)
        for target in imported_modules(path):
            if target != "bnpg":  # importing the package root is the lazy loader, not a module
                graph.add_edge(name, target)
    cycles = list(nx.simple_cycles(graph))
    assert not cycles, cycles


@pytest.mark.parametrize("path", [p for p in MODULES if not p.name.startswith("_")],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_public_modules_declare_what_they_hold(path):
    module = importlib.import_module(module_name(path))
    assert hasattr(module, "__all__"), module.__name__
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert not missing
    tree = ast.parse(path.read_text())
    defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))
               and not n.name.startswith("_")}
    if path.name != "__init__.py":
        assert defined <= set(module.__all__), sorted(defined - set(module.__all__))
    assert (module.__doc__ or "").strip(), "every module states what it implements"


def test_no_private_helper_is_used_across_modules():
    offenders = []
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("bnpg")):
                private = [a.name for a in node.names if a.name.startswith("_")
                           and a.name not in ("__version__", "_validation", "_moved", "_version")]
                if private:
                    offenders.append((str(path.relative_to(ROOT)), private))
    assert not offenders


def test_the_statement_table_names_functions_that_exist():
    text = (ROOT / "book" / "statements.md").read_text()
    names = re.findall(r"bnpg\.paper\.([a-z0-9_]+)", text)
    assert {"assumption1", "assumption2", "lemma1", "lemma2", "lemma3", "lemma4", "theorem1",
            "theorem2", "check"} <= set(names)
    for name in names:
        obj = getattr(bnpg.paper, name)
        assert callable(obj) or inspect.ismodule(obj), name
    for name in re.findall(r"bnpg\.theory\.constants\.([a-z0-9_]+)", text):
        assert callable(getattr(bnpg.theory.constants, name)), name
