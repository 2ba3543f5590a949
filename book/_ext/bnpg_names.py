"""Sphinx extension: resolve the short public names of bnpg to where the API pages document them.

Users and chapters write ``bnpg.ascend`` or ``bnpg.DAG.full``; autodoc documents these objects in
their defining modules (``bnpg.dynamics.ascend``, ``bnpg.model.dag.DAG.full``). For a Python reference
that Sphinx cannot resolve and that names a bnpg object, this looks the object up by importing it,
and retries the reference under its defining module's name. References to names outside bnpg are
left alone.
"""

from __future__ import annotations

import importlib

from sphinx.util import logging

LOGGER = logging.getLogger(__name__)


def _canonical(target: str, module: str | None, cls: str | None) -> str | None:
    """The defining ``module.qualname`` of ``target`` if it names a bnpg object, else ``None``."""
    candidates = [target]
    if not target.startswith("bnpg"):  # a name written relative to the current module or class
        if module and cls:
            candidates.append(f"{module}.{cls}.{target}")
        if module:
            candidates.append(f"{module}.{target}")
        candidates.append(f"bnpg.{target}")
    for name in candidates:
        parts = name.split(".")
        if parts[0] != "bnpg":
            continue
        for split in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:split]))
            except ImportError:
                continue
            try:
                for attr in parts[split:]:
                    obj = getattr(obj, attr)
            except AttributeError:
                break
            owner = getattr(obj, "__module__", None)
            qualname = getattr(obj, "__qualname__", None)
            if isinstance(obj, type(importlib)):  # a module
                return obj.__name__
            if owner and qualname and owner.startswith("bnpg"):
                return f"{owner}.{qualname}"
            if owner is None and split < len(parts):  # an attribute or property of a class
                parent = ".".join(parts[: len(parts) - 1])
                resolved = _canonical(parent, None, None)
                return f"{resolved}.{parts[-1]}" if resolved else None
            break
    return None


def _missing_reference(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    canonical = _canonical(target, node.get("py:module"), node.get("py:class"))
    if canonical is None or canonical == target:
        return None
    domain = env.get_domain("py")
    for role in (node.get("reftype"), "obj"):
        found = domain.resolve_xref(env, node["refdoc"], app.builder, role, canonical, node, contnode)
        if found is not None:
            return found
    return None


def setup(app):
    app.connect("missing-reference", _missing_reference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
