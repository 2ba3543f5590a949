"""The documentation of the layout follows the code: every public module has a place in the book's
API pages (exactly one), the pages are those of the table of contents, and the README's diagram of
the layers and its module paths are those of the package.

Only private modules (a dotted part starting with ``_``, which includes ``bnpg.__main__``) are left
out of the API pages.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

from bnpg import architecture
from bnpg._moved import MOVED
from bnpg.layer_diagram import layers_text

ROOT = Path(__file__).resolve().parents[1]
API = ROOT / "book" / "api"
README = ROOT / "README.md"
BEGIN, END = "<!-- layers:begin -->", "<!-- layers:end -->"


def _documented() -> dict[str, list[str]]:
    """Module -> the API pages whose ``automodule`` directives name it (once per directive)."""
    found: dict[str, list[str]] = {}
    for page in sorted(API.glob("*.md")):
        for module in re.findall(r"^\.\. automodule:: (\S+)\s*$", page.read_text(), flags=re.M):
            found.setdefault(module, []).append(page.name)
    return found


def _directives() -> dict[str, str]:
    """Module -> the options of its ``automodule`` directive (the indented lines below it)."""
    found = {}
    for page in sorted(API.glob("*.md")):
        for module, options in re.findall(r"^\.\. automodule:: (\S+)\n((?:   :.*\n)*)", page.read_text(), flags=re.M):
            found[module] = options
    return found


def _defined_at_top(path: Path) -> set[str]:
    """The names a module's source defines or assigns at top level."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return names


def _needs_a_page(module: str) -> bool:
    parts = module.split(".")
    return not any(part.startswith("_") for part in parts)


def test_every_public_module_is_on_exactly_one_api_page():
    documented = _documented()
    wanted = [m for m in architecture.modules(ROOT) if _needs_a_page(m)]
    missing = [m for m in wanted if m not in documented]
    assert not missing, f"modules on no API page (book/api/*.md): {missing}"
    repeated = {m: pages for m, pages in documented.items() if len(pages) > 1}
    assert not repeated, f"modules documented more than once: {repeated}"


def test_every_object_is_documented_once_in_the_module_that_defines_it():
    """A module's directive has ``:members:`` when it defines names of its ``__all__``, and excludes
    the names its ``__all__`` takes from other modules (documented where they are defined)."""
    paths = architecture.modules(ROOT)
    wrong = []
    for module, options in _directives().items():
        if module not in paths:
            continue
        exported = list(getattr(importlib.import_module(module), "__all__", []))
        own = _defined_at_top(paths[module])
        excluded = set()
        for line in options.splitlines():
            if ":exclude-members:" in line:
                excluded.update(n.strip() for n in line.split(":exclude-members:")[1].split(","))
        if any(n in own for n in exported) and ":members:" not in options:
            wrong.append(f"{module}: defines names of its __all__ but has no :members:")
        if ":members:" in options:
            again = [n for n in exported if n not in own and n not in excluded]
            if again:
                wrong.append(f"{module}: add ':exclude-members: {', '.join(again)}' (defined elsewhere)")
    assert not wrong, "\n".join(wrong)


def test_every_api_page_names_modules_that_exist():
    stale = [m for m in _documented() if m not in architecture.modules(ROOT)]
    assert not stale, f"API pages name modules that are not in bnpg/: {stale}"


def test_the_api_pages_are_those_of_the_table_of_contents():
    toc = (ROOT / "_toc.yml").read_text()
    listed = set(re.findall(r"file: book/api/(\S+)", toc))
    assert listed == {p.stem for p in API.glob("*.md")}


def _readme_block() -> str:
    text = README.read_text()
    assert text.count(BEGIN) == 1 and text.count(END) == 1, "README.md needs one layers block"
    block = text[text.index(BEGIN) + len(BEGIN): text.index(END)].strip("\n")
    assert block.startswith("```text\n") and block.endswith("\n```"), "the layers block is a ```text fence"
    return block[len("```text\n"): -len("\n```")]


def test_readme_diagram_is_the_layers_of_the_code():
    assert _readme_block() == layers_text(ROOT), (
        "README.md's layers block differs from bnpg.layer_diagram.layers_text(); replace it with the "
        "output of: python -c 'from bnpg.layer_diagram import layers_text; print(layers_text())'"
    )


def _readme_paths() -> list[tuple[int, str]]:
    """Every dotted ``bnpg.x.y`` name in README.md, with its line number."""
    out = []
    for number, line in enumerate(README.read_text().splitlines(), start=1):
        out.extend((number, m) for m in re.findall(r"(?<![/\w.-])bnpg(?:\.[A-Za-z_]\w*)+", line))
    return out


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            for attr in parts[split:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return False
        return True
    return False


@pytest.mark.parametrize("number, dotted", _readme_paths())
def test_readme_names_only_objects_that_exist(number, dotted):
    assert _resolves(dotted), f"README.md line {number}: {dotted} does not exist"


def test_readme_uses_the_layered_paths():
    """Earlier paths appear only in the paragraph that says they still import ("flat layout")."""
    lines = README.read_text().splitlines()
    paragraph, exempt = [], set()
    for number, line in enumerate(lines + [""], start=1):
        if line.strip():
            paragraph.append(number)
            continue
        if any("flat layout" in lines[k - 1] for k in paragraph):
            exempt.update(paragraph)
        paragraph = []
    old = [(n, d) for n, d in _readme_paths()
           if any(d == o or d.startswith(o + ".") for o in MOVED) and n not in exempt]
    assert not old, f"README.md names earlier module paths (line, name): {old}"


def test_the_api_index_draws_the_layers_when_the_book_is_built():
    text = (API / "index.md").read_text()
    front = text.split("---\n")[1]
    assert "file_format: mystnb" in front and "name: python3" in front
    cells = re.findall(r"```\{code-cell\} ipython3\n(.*?)```", text, flags=re.S)
    assert any("draw_layers()" in cell and "caption:" in cell and "alt:" in cell for cell in cells)
