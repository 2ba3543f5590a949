"""The package's own layers, as text and as a figure, read from its source.

:data:`bnpg.architecture.LAYERS` states the layering rule (each layer imports only from itself and
the layers below it); this module shows it: :func:`layers_text` prints the layers highest first
with their modules (the README's Layout block), and :func:`draw_layers` draws them as stacked boxes
with the imports between layers as arcs (the book's API page), both from the modules and imports
:mod:`bnpg.architecture` finds in the source.
"""

from __future__ import annotations

import numpy as np

__all__ = ["draw_layers", "layers_text"]


def _given_axes(ax):
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    return ax


def _layer_modules(root=None) -> dict[str, list[str]]:
    """The modules of every layer (and ``"beside"``), by short name, in file order.

    A module in a layer's folder is named relative to it (``game`` in ``model/``), a module outside it
    by its path from there (``../__main__``), a package with a trailing slash (``data/``); a nested
    subpackage is one entry, ``symbolic/{audit, bounds}``, or ``studies/ (7 modules)`` beyond three.
    """
    from bnpg import architecture

    found = architecture.modules() if root is None else architecture.modules(root)
    out: dict[str, list] = {layer.name: [] for layer in architecture.LAYERS}
    out["beside"] = []
    nested: dict[tuple[str, str], list[str]] = {}
    outside: list[tuple[str, str]] = []  # members of their own, listed after the layer's folder

    def has_folder(layer):
        return f"bnpg.{layer.name}" in layer.members

    for name, path in found.items():
        if name in architecture.BESIDE:
            out["beside"].append(name.rsplit(".", 1)[-1])
            continue
        layer_name = architecture.layer_of(name)
        if layer_name is None:
            continue
        layer = next(lay for lay in architecture.LAYERS if lay.name == layer_name)
        member = next(m for m in layer.members if name == m or name.startswith(m + "."))
        is_package = path.name == "__init__.py"
        rest = name[len(member) + 1:].split(".") if name != member else []
        if not rest:  # a member of its own: the layer's folder, a package or a module
            if member != f"bnpg.{layer.name}":
                short = member.rsplit(".", 1)[-1] + ("/" if is_package else "")
                outside.append((layer_name, "../" + short if has_folder(layer) else short))
        elif len(rest) == 1 and not is_package:
            out[layer_name].append(rest[0])
        else:
            key = (layer_name, rest[0])
            if key not in nested:
                nested[key] = []
                out[layer_name].append(key)
            if len(rest) > 1:
                nested[key].append(".".join(rest[1:]))
    for layer_name, short in outside:
        out[layer_name].append(short)
    for entries in out.values():
        for k, entry in enumerate(entries):
            if isinstance(entry, tuple):
                inner = nested[entry]
                short = "{" + ", ".join(inner) + "}" if len(inner) <= 3 else f" ({len(inner)} modules)"
                entries[k] = f"{entry[1]}/{short}"
    return out


def _layer_label(layer) -> str:
    """``model/`` for a layer that has a folder of its own, the bare name otherwise (``foundation``)."""
    return f"{layer.name}/" if f"bnpg.{layer.name}" in layer.members else layer.name


def layers_text(root=None) -> str:
    """The layers of :data:`bnpg.architecture.LAYERS` as a plain-text diagram, highest first.

    Two lines per layer: its folder (``model/``) with what it holds, then its modules (as in
    :func:`draw_layers`); a last line names the modules beside the layers. Each layer imports only
    from the layers printed below it. The README's "Layout" section shows this text, and a test
    keeps the two equal.

    Parameters
    ----------
    root : path, optional
        The folder that holds ``bnpg/``; the installed package's by default.

    Returns
    -------
    str
        The diagram, lines separated by newlines, without a final newline.

    Examples
    --------
    >>> from bnpg.layer_diagram import layers_text
    >>> lines = layers_text().splitlines()
    >>> lines[1].split()[:3]
    ['cli/', '->', 'the']
    >>> lines[3].split()[:2]
    ['experiments/', '->']
    """
    from bnpg import architecture

    members = _layer_modules(root)
    labels = [_layer_label(layer) for layer in architecture.LAYERS]
    width = max(len(label) for label in labels) + 1
    lines = ["bnpg/  (highest layer first; each imports only from the layers below it)"]
    for layer, label in zip(reversed(architecture.LAYERS), reversed(labels), strict=True):
        lines.append(f"  {label:<{width}}-> {layer.holds}")
        lines.append(f"  {'':<{width}}   {', '.join(members[layer.name])}")
    beside = ", ".join(f"{m}.py" for m in members["beside"])
    lines.append(f"  beside: {beside} (may import any layer; no layer imports them)")
    return "\n".join(lines)


#: Colours of the layer boxes, lowest layer first (cycled if there are more layers).
_BOX_COLOURS = ("#eeeeee", "#dbe9f6", "#d5ecd4", "#fdebd0", "#e8daef", "#fadbd8",
                "#d1f2eb", "#fcf3cf", "#d6eaf8", "#ebdef0", "#f2f3f4")


def _text_size(fig, text: str, **props) -> tuple[float, float]:
    """Width and height in points of ``text`` drawn on ``fig`` with the text properties ``props``,
    as measured by the figure's renderer (a probe that is not added to the figure)."""
    from matplotlib.text import Text

    probe = Text(0.0, 0.0, text, **props)
    probe.set_figure(fig)
    box = probe.get_window_extent()
    return box.width * 72 / fig.dpi, box.height * 72 / fig.dpi


def _wrap(pieces: list[str], fits) -> list[str]:
    """Fill lines greedily: ``pieces`` alternate words and the separators between them, a line
    breaks only at a separator (which is dropped there), and a word goes on the current line when
    ``fits(line)`` still holds with it. A word too long for any line stands on a line of its own."""
    if not pieces:
        return [""]
    lines, line = [], pieces[0]
    for k in range(1, len(pieces) - 1, 2):
        longer = line + pieces[k] + pieces[k + 1]
        if fits(longer):
            line = longer
        else:
            lines.append(line)
            line = pieces[k + 1]
    lines.append(line)
    return lines


def draw_layers(ax=None, *, root=None):
    """Draw the package's layers as stacked boxes, lowest at the bottom, with the imports between them.

    Every box holds one layer of :data:`bnpg.architecture.LAYERS`: its folder in bold, what it
    holds, and its modules (named as in :func:`layers_text`), each wrapped over as many lines as
    the box's width needs; a box is as tall as its lines. The arcs on the left are
    :func:`bnpg.architecture.layer_edges`: one arc from each layer down to every lower layer it
    imports, leaving the upper half of the importing box's left edge and reaching the lower half of
    the imported one's, in the colour of the importing layer's name, its width growing with the
    number of module imports. An import that reaches up a layer, which the layering forbids, is
    drawn as a red dashed arrow. The modules beside the layers are named in a dashed box on top.
    Every text is at least 10 points (the layer names 11): shown 7 inches wide at 672 px, the
    smallest measures 13 px.

    Parameters
    ----------
    ax : matplotlib Axes, optional
        Where to draw; by default a new figure 7 inches wide, as tall as the drawing needs (about
        9 inches for the package), sized for the book's text column. On a given axes the text is
        wrapped to the axes' width and drawn at one data unit per point, from the top down: the
        axes should be as tall as the drawing, or its lowest layers are cut off.
    root : path, optional
        The folder that holds ``bnpg/``; the installed package's by default.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> from bnpg.architecture import LAYERS
    >>> from bnpg.layer_diagram import draw_layers
    >>> ax = draw_layers()
    >>> [t.get_text() for t in ax.texts if t.get_gid() == "layer"] == [
    ...     layer.name + ("/" if layer.name != "foundation" else "") for layer in LAYERS]
    True
    >>> float(ax.figure.get_figwidth()), min(t.get_fontsize() for t in ax.texts)
    (7.0, 10.0)
    """
    import re

    from matplotlib import colormaps
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, PathPatch
    from matplotlib.path import Path as MplPath

    from bnpg import architecture

    if ax is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(7.0, 8.6))
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        new_figure = True
    else:
        ax = _given_axes(ax)
        new_figure = False
    fig = ax.figure
    layers = architecture.LAYERS
    members = _layer_modules(root)
    edges = architecture.layer_edges() if root is None else architecture.layer_edges(root)
    rank = {layer.name: k for k, layer in enumerate(layers)}
    palette = list(colormaps["tab10"].colors) + list(colormaps["tab20b"].colors)[::4]
    colour = {layer.name: palette[k % len(palette)] for k, layer in enumerate(layers)}

    # all lengths below are in points, which are also the data units: x from 0 to the axes' width
    width = ax.get_window_extent().width * 72 / fig.dpi
    name_font = {"fontsize": 11, "fontweight": "bold"}
    holds_font = {"fontsize": 10}
    modules_font = {"fontsize": 10, "family": "monospace"}
    left, right = 0.16 * width, width - 2.0  # the arcs use the room left of the boxes
    stripe, pad_x, pad_y, row_gap, box_gap, slack = 5.0, 9.0, 6.0, 3.0, 7.0, 3.0
    labels = [_layer_label(layer) for layer in layers]
    label_width = max(_text_size(fig, label, **name_font)[0] for label in [*labels, "beside"])
    holds_x = left + pad_x + label_width + 8.0
    holds_room = right - pad_x - slack - holds_x
    modules_room = right - pad_x - slack - (left + pad_x)

    def wrapped(pieces, font, room):
        lines = _wrap(pieces, lambda line: _text_size(fig, line, **font)[0] <= room)
        text = "\n".join(lines)
        return text, _text_size(fig, text, **font)[1]

    def words(text):
        return re.split(r"( +)", text.strip())

    # each box: its head (name and what it holds) over its modules, bottom to top
    boxes = []
    y = 3.0
    for layer, label in zip(layers, labels, strict=True):
        holds, holds_h = wrapped(words(layer.holds), holds_font, holds_room)
        entries = members[layer.name]
        modules, modules_h = wrapped([x for e in entries for x in ("  ", e)][1:], modules_font,
                                     modules_room)
        head_h = max(_text_size(fig, label, **name_font)[1], holds_h)
        height = pad_y + head_h + (row_gap + modules_h if entries else 0.0) + pad_y
        boxes.append((y, height, label, holds, head_h, modules))
        y += height + box_gap
    beside_text, beside_h = wrapped(
        words("  ".join(f"{m}.py" for m in members["beside"]) + ": may import any layer; none imports them"),
        holds_font, holds_room)
    beside_height = 2 * pad_y + max(_text_size(fig, "beside", **name_font)[1], beside_h)
    beside_y = y + 2.0
    total = beside_y + beside_height + 3.0

    box = "round,pad=0,rounding_size=4"
    for k, (layer, (y0, height, label, holds, head_h, modules)) in enumerate(zip(layers, boxes, strict=True)):
        top = y0 + height
        ax.add_patch(FancyBboxPatch(
            (left, y0), right - left, height, boxstyle=box,
            facecolor=_BOX_COLOURS[k % len(_BOX_COLOURS)], edgecolor="#666666", linewidth=0.8, gid="box",
        ))
        ax.add_patch(FancyBboxPatch(
            (left, y0), stripe, height, boxstyle="square,pad=0", facecolor=colour[layer.name], edgecolor="none",
        ))
        ax.text(left + pad_x, top - pad_y, label, ha="left", va="top", color="#111111", gid="layer",
                **name_font)
        ax.text(holds_x, top - pad_y, holds, ha="left", va="top", color="#111111", gid="holds", **holds_font)
        ax.text(left + pad_x, top - pad_y - head_h - row_gap, modules, ha="left", va="top", color="#333333",
                gid="modules", **modules_font)
    ax.add_patch(FancyBboxPatch(
        (left, beside_y), right - left, beside_height, boxstyle=box, facecolor="white",
        edgecolor="#666666", linewidth=0.8, linestyle=(0, (4, 2)), gid="beside-box",
    ))
    ax.text(left + pad_x, beside_y + beside_height - pad_y, "beside", ha="left", va="top", **name_font)
    ax.text(holds_x, beside_y + beside_height - pad_y, beside_text, ha="left", va="top", gid="beside",
            **holds_font)

    # arcs leave a layer's box from the upper half of its left edge and reach the lower half of the
    # imported layer's, the longer ones further out (a cubic curve reaches 3/4 of its bulge)
    middle = {layer.name: b[0] + b[1] / 2 for layer, b in zip(layers, boxes, strict=True)}
    half = {layer.name: b[1] / 2 for layer, b in zip(layers, boxes, strict=True)}
    ordered = sorted(edges.items(), key=lambda item: (abs(rank[item[0][0]] - rank[item[0][1]]), item[0]))
    n_out = {name: sum(1 for (s, _t) in edges if s == name) for name in rank}
    n_in = {name: sum(1 for (_s, t) in edges if t == name) for name in rank}
    used_out = dict.fromkeys(rank, 0)
    used_in = dict.fromkeys(rank, 0)
    longest = max(len(layers) - 1, 1)
    for (source, target), count in ordered:
        y0 = middle[source] + half[source] * (0.08 + 0.84 * (used_out[source] + 0.5) / n_out[source])
        y1 = middle[target] - half[target] * (0.08 + 0.84 * (used_in[target] + 0.5) / n_in[target])
        used_out[source] += 1
        used_in[target] += 1
        reach = abs(rank[source] - rank[target]) / longest
        bulge = (left - 3.0) / 0.75 * min(0.07 + 0.93 * reach, 1.0)
        path = MplPath([(left, y0), (left - bulge, y0), (left - bulge, y1), (left, y1)],
                       [MplPath.MOVETO, MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4])
        line_width = 0.4 + 0.45 * np.sqrt(count)
        if rank[target] > rank[source]:
            ax.add_patch(FancyArrowPatch(
                path=path, arrowstyle="-|>", mutation_scale=9, linewidth=line_width, color="#c0392b",
                linestyle="--", gid="upward",
            ))
        else:
            ax.add_patch(PathPatch(path, facecolor="none", edgecolor=colour[source], linewidth=line_width,
                                   alpha=0.75, capstyle="butt", gid="edge"))
    if new_figure:
        fig.set_size_inches(7.0, total / 72)
        bottom = 0.0
    else:  # one data unit per point, from the top of the drawing down
        bottom = total - ax.get_window_extent().height * 72 / fig.dpi
    ax.set_xlim(0.0, width)
    ax.set_ylim(bottom, total)
    ax.set_axis_off()
    return ax
