"""Sphinx extension: every mention of an errata entry (``E1`` ... ``E99``) in prose links to the entry.

The errata chapter labels its entries ``erratum-e1``, ``erratum-e2``, ... (a MyST target before each
heading). This transform runs on every document as it is read and replaces, in ordinary text,
each word ``E<n>`` by a cross-reference to ``erratum-e<n>`` with the text ``E<n>``; a range such as
``E5-E9`` links both ends. Sphinx then resolves the references like any ``{ref}``, so a mention of
an entry that does not exist is an undefined-label warning, an error in the book's build.

Text inside headings (an entry's own title), code, math, raw output, notebook outputs and existing
links is left alone.
"""

from __future__ import annotations

import re

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms import SphinxTransform

#: A mention of an errata entry: ``E`` and one or two digits, not part of a longer word or number.
MENTION = re.compile(r"(?<![\w.])E(\d{1,2})(?![\w])")

_SKIP = (nodes.title, nodes.subtitle, nodes.rubric, nodes.literal, nodes.literal_block,
         nodes.math, nodes.math_block, nodes.raw, nodes.reference, addnodes.pending_xref,
         nodes.target, nodes.FixedTextElement, nodes.image, nodes.comment, addnodes.desc_signature)


def _skipped(node: nodes.Node) -> bool:
    parent = node.parent
    while parent is not None:
        if isinstance(parent, _SKIP):
            return True
        classes = parent.get("classes", []) if isinstance(parent, nodes.Element) else []
        if "cell_output" in classes or "output" in classes:
            return True
        parent = parent.parent
    return False


def _xref(number: str, docname: str) -> addnodes.pending_xref:
    label = f"erratum-e{number}"
    ref = addnodes.pending_xref("", refdomain="std", reftype="ref", reftarget=label,
                                refexplicit=True, refwarn=True, refdoc=docname)
    ref += nodes.inline(f"E{number}", f"E{number}", classes=["xref", "std", "std-ref"])
    return ref


class LinkErrataMentions(SphinxTransform):
    """Replace ``E<n>`` in text nodes by references to the errata entry ``erratum-e<n>``."""

    default_priority = 700  # after MyST and myst-nb have built the tree, before references resolve

    def apply(self, **kwargs) -> None:
        for text in list(self.document.findall(nodes.Text)):
            value = text.astext()
            if "E" not in value or not MENTION.search(value) or _skipped(text):
                continue
            pieces: list[nodes.Node] = []
            last = 0
            for match in MENTION.finditer(value):
                if match.start() > last:
                    pieces.append(nodes.Text(value[last:match.start()]))
                pieces.append(_xref(match.group(1), self.env.docname))
                last = match.end()
            if last < len(value):
                pieces.append(nodes.Text(value[last:]))
            text.parent.replace(text, pieces)


def setup(app):
    app.add_transform(LinkErrataMentions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
