"""The library's layout: one concept per module, no module over 500 lines, no import cycle, ``__all__``
in every public module naming what it holds, no private helper used across modules, and a statement
table in the book whose every function exists."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import networkx as nx
import pytest

import bnpg

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "bnpg"
MODULES = sorted(PACKAGE.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every bnpg module ``path`` imports, at top level or inside functions."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("bnpg"):
                continue
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                out.add(candidate if (ROOT / Path(*candidate.split("."))).with_suffix(".py").exists()
                        or (ROOT / Path(*candidate.split(".")) / "__init__.py").exists() else target)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("bnpg"))
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module"):
            continue  # the lazy loader of bnpg/__init__.py
    out.discard(name)
    return out


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
                           and a.name not in ("__version__", "_fast", "_validation")]
                if private:
                    offenders.append((str(path.relative_to(ROOT)), private))
    assert not offenders


def test_the_statement_table_names_functions_that_exist():
    text = (ROOT / "book" / "statements.md").read_text()
    names = re.findall(r"bnpg\.paper\.([a-z0-9_]+)", text)
    assert {"assumption1", "assumption2", "lemma1", "lemma2", "lemma3", "lemma4", "theorem1",
            "theorem2", "check"} <= set(names)
    for name in names:
        assert callable(getattr(bnpg.paper, name)), name
    for name in re.findall(r"bnpg\.constants\.([a-z0-9_]+)", text):
        assert callable(getattr(bnpg.constants, name)), name
