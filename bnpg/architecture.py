"""The package's layers and the imports between them, read from the source.

The data of the paper flows one way, game -> policy -> exact quantities -> theory -> dynamics ->
sampling -> the paper's statements -> games and experiments -> command line, and the subpackages
are those layers (:data:`LAYERS`, lowest first). A module may import from its own layer and from
the layers below it, never from one above; the modules beside the layers (:data:`BESIDE`: plotting,
the layer diagram, the book's glue and this module) may import any layer and are imported by none.
The package's ``__init__`` is its front door and imports from every layer; it is not part of any layer.

Everything here reads the source text with :mod:`ast` and runs none of it, so the test of the
layering (``tests/test_layout.py``) and the diagram of the book's API pages
(:func:`layer_edges`) come from the same data and cannot drift apart.

>>> [layer.name for layer in LAYERS][:4]
['foundation', 'model', 'backends', 'exact']
>>> layer_of("bnpg.exact.gaps"), layer_of("bnpg.plotting")
('exact', None)
>>> upward_imports()
[]
"""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BESIDE",
    "LAYERS",
    "PACKAGE_ROOT",
    "Layer",
    "Upward",
    "imports",
    "layer_edges",
    "layer_of",
    "module_name",
    "modules",
    "upward_imports",
]

#: The folder of the installed package (the parent of ``bnpg/``).
PACKAGE_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Layer:
    """One layer: its name, the modules or subpackages it holds, and what flows out of it."""

    name: str
    members: tuple[str, ...]
    holds: str


#: The layers, lowest first. A member names a subpackage (every module below it) or one module.
LAYERS: tuple[Layer, ...] = (
    Layer("foundation", ("bnpg._validation", "bnpg._json", "bnpg._progress", "bnpg._version", "bnpg._moved",
                        "bnpg.data"),
          "argument checks, the version, shipped data"),
    Layer("model", ("bnpg.model",), "MarkovGame, DAG, BNPolicy (Section 2-3, Eq. 1)"),
    Layer("backends", ("bnpg.backends",), "numba kernels and the numpy/numba choice"),
    Layer("exact", ("bnpg.exact",), "V, Q, d, L_lambda and its gradient, best responses, gaps, M"),
    Layer("theory", ("bnpg.theory",), "constants printed, corrected and sharpened; sympy audit"),
    Layer("dynamics", ("bnpg.dynamics",), "ascent (Eq. 2-3), first crossings, curvature"),
    Layer("sampling", ("bnpg.sampling",), "episodes, sampled gradients, sampled ascent"),
    Layer("paper", ("bnpg.paper",), "one function per statement, Verdict, Report, catalogue"),
    Layer("games", ("bnpg.games",), "the game library"),
    Layer("experiments", ("bnpg.experiments",), "instances, sweeps, result files, studies"),
    Layer("cli", ("bnpg.cli", "bnpg.__main__"), "the bnpg command"),
)

#: Modules beside the layers: they may import any layer and no layer imports them.
BESIDE: tuple[str, ...] = ("bnpg.plotting", "bnpg.layer_diagram", "bnpg.book", "bnpg.architecture")


def module_name(path: Path, root: Path = PACKAGE_ROOT) -> str:
    """The dotted name of the module at ``path`` below ``root``.

    >>> module_name(PACKAGE_ROOT / "bnpg" / "exact" / "__init__.py")
    'bnpg.exact'
    """
    parts = Path(path).relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path = PACKAGE_ROOT) -> dict[str, Path]:
    """Every module of the package below ``root``: dotted name -> path."""
    return {module_name(p, root): p for p in sorted((Path(root) / "bnpg").rglob("*.py"))}


def _is_module(dotted: str, root: Path) -> bool:
    path = Path(root, *dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def imports(root: Path = PACKAGE_ROOT) -> dict[str, set[str]]:
    """The bnpg modules each module imports, at top level or inside functions.

    ``from bnpg.x import y`` counts as an import of ``bnpg.x.y`` when that is a module, else of
    ``bnpg.x``; relative imports are resolved against the importing module.
    """
    out = {}
    for name, path in modules(root).items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if target != "bnpg" and not target.startswith("bnpg."):
                    continue
                for alias in node.names:
                    candidate = f"{target}.{alias.name}"
                    found.add(candidate if _is_module(candidate, root) else target)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.split(".")[0] == "bnpg")
        found.discard(name)
        out[name] = found
    return out


def layer_of(module: str) -> str | None:
    """The name of the layer that holds ``module``; ``None`` beside the layers or for the package root.

    >>> layer_of("bnpg.theory.symbolic.bounds")
    'theory'
    """
    for layer in LAYERS:
        if any(module == m or module.startswith(m + ".") for m in layer.members):
            return layer.name
    return None


_RANK = {layer.name: k for k, layer in enumerate(LAYERS)}


@dataclass(frozen=True)
class Upward:
    """An import that breaks the layering: ``importer`` (in ``from_layer``) imports ``imported``."""

    importer: str
    imported: str
    from_layer: str | None
    to_layer: str | None


def upward_imports(root: Path = PACKAGE_ROOT) -> list[Upward]:
    """Every import from a lower layer into a higher one, into a module beside the layers, or from a
    module that belongs to no layer (each module must be placed); empty when the layering holds."""
    bad = []
    for importer, targets in sorted(imports(root).items()):
        if importer == "bnpg":
            continue
        source = layer_of(importer)
        if source is None and importer not in BESIDE:
            bad.append(Upward(importer, "(unplaced module)", None, None))
            continue
        for target in sorted(targets):
            if target == "bnpg":  # the package's lazy loader
                if source is not None:
                    bad.append(Upward(importer, target, source, None))
                continue
            dest = layer_of(target)
            if source is None:  # beside: may import any layer, not another module beside
                continue
            if dest is None or _RANK[dest] > _RANK[source]:
                bad.append(Upward(importer, target, source, dest))
    return bad


def layer_edges(root: Path = PACKAGE_ROOT) -> Counter:
    """How many module imports run from each layer to each lower one: ``{(from, to): count}``.

    >>> edges = layer_edges()
    >>> edges[("exact", "model")] > 0, ("model", "exact") in edges
    (True, False)
    """
    counts = Counter()
    for importer, targets in imports(root).items():
        source = layer_of(importer)
        if source is None:
            continue
        for target in targets:
            dest = layer_of(target)
            if dest is not None and dest != source:
                counts[(source, dest)] += 1
    return counts
