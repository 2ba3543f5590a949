"""The oracles stay independent: ``tests/oracles.py`` takes nothing from bnpg but its data classes.

Its imports are read with :mod:`ast` (at top level, inside functions and under ``TYPE_CHECKING``,
and ``importlib.import_module``/``__import__`` calls with a literal name). The only bnpg imports
allowed are ``from bnpg.model.game import MarkovGame``, ``from bnpg.model.dag import DAG`` and
``from bnpg.model.policy import BNPolicy``; anything else from bnpg (a computation, a backend, the
package itself, which reaches everything) or a relative import fails the test. The check is shown to
catch planted imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ORACLES = Path(__file__).resolve().parent / "oracles.py"

#: ``(module, name)`` of the only bnpg imports the oracles may make: the data classes.
DATA_CLASSES = frozenset({
    ("bnpg.model.game", "MarkovGame"),
    ("bnpg.model.dag", "DAG"),
    ("bnpg.model.policy", "BNPolicy"),
})


def imports(source: str) -> list[tuple[str, str | None]]:
    """``(module, name)`` of every import in ``source``: ``name`` is None for ``import module`` and
    for ``import_module``/``__import__`` calls; relative modules keep their leading dots."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            found.extend((module, alias.name) for alias in node.names)
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            arg = node.args[0]
            if called in ("import_module", "__import__") and isinstance(arg, ast.Constant):
                found.append((str(arg.value), None))
    return found


def forbidden_imports(source: str) -> list[str]:
    """The imports of ``source`` that reach bnpg beyond its data classes, or are relative."""
    bad = []
    for module, name in imports(source):
        from_bnpg = module == "bnpg" or module.startswith("bnpg.")
        if module.startswith(".") or (from_bnpg and (module, name) not in DATA_CLASSES):
            bad.append(module if name is None else f"{module}.{name}")
    return bad


def test_the_oracles_import_nothing_from_bnpg_but_the_data_classes():
    assert forbidden_imports(ORACLES.read_text()) == []


@pytest.mark.parametrize("line", [
    "import bnpg",
    "import bnpg.model.game",
    "import bnpg.exact.evaluation as evaluation",
    "from bnpg import MarkovGame",
    "from bnpg import evaluate",
    "from bnpg.exact import evaluation",
    "from bnpg.backends import numba_kernels as _fast",
    "from bnpg.model import policy",
    "from bnpg.model.policy import softmax",
    "from bnpg.model.game import MarkovGame, DAG",
    "from . import conftest",
    "from .conftest import random_game",
    "def f():\n    from bnpg.exact.gaps import nash_gap",
    "import importlib\nimportlib.import_module('bnpg.exact.objective')",
    "__import__('bnpg')",
])
def test_the_check_catches_a_planted_import(line):
    assert forbidden_imports(ORACLES.read_text() + "\n" + line + "\n")


def test_the_check_allows_the_data_classes_and_other_libraries():
    allowed = "\n".join([
        "from bnpg.model.game import MarkovGame",
        "from bnpg.model.dag import DAG",
        "from bnpg.model.policy import BNPolicy",
        "import numpy as np",
        "from scipy.optimize import linprog",
        "import bnpgx",
    ])
    assert forbidden_imports(allowed) == []
