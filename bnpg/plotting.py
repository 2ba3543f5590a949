r"""Matplotlib figures shared by the notebooks and the book.

Every helper draws on a given :class:`matplotlib.axes.Axes` (or a new figure's axes when ``ax`` is
``None``) and returns the axes; none calls ``plt.show``, so they work under the non-interactive
``Agg`` backend used to build the book. The figures show the paper's objects and the package's
own layout:

* :func:`draw_dag`: a Bayesian network :math:`\mathcal G = (\mathcal N, \mathcal E)` of agents
  (Section 3), drawn in layers: agents without parents on the left, every other agent one layer
  to the right of its deepest parent;
* :func:`plot_joint_policy`: a joint policy :math:`\pi(a \mid s) = \prod_i \pi^i(a^i \mid s,
  a^{\mathcal P^i})` at one state (Equation 1), as a heatmap for two agents and as bars over joint
  actions otherwise;
* :func:`plot_curves`: metrics recorded along the dynamics (2)-(3) against the step;
* :func:`draw_layers`: the layers of the package itself (:data:`bnpg.architecture.LAYERS`) and the
  imports between them, read from the source; :func:`layers_text` prints the same as text.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from bnpg._validation import integer, real_array
from bnpg.model.dag import DAG
from bnpg.model.policy import BNPolicy

__all__ = ["dag_layers", "draw_dag", "draw_layers", "layers_text", "plot_curves", "plot_joint_policy"]


def _new_axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        return plt.subplots(figsize=(4.5, 3.2), layout="constrained")[1]
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    return ax


def dag_layers(dag: DAG) -> tuple[int, ...]:
    """The layer of every agent: 0 without parents, else one more than its deepest parent.

    >>> import bnpg
    >>> from bnpg.plotting import dag_layers
    >>> dag_layers(bnpg.DAG([[2], [0, 2], []]))
    (1, 2, 0)
    """
    if not isinstance(dag, DAG):
        raise TypeError(f"dag must be a DAG, got {type(dag).__name__}")
    layer = [0] * dag.n_agents
    for i in dag.topological_order:
        layer[i] = 1 + max((layer[j] for j in dag.parents(i)), default=-1)
    return tuple(layer)


def draw_dag(dag: DAG, ax=None, title: str | None = None, *, labels=None):
    """Draw a DAG of agents with networkx, layered by topological depth (see :func:`dag_layers`).

    Parameters
    ----------
    dag : DAG
    ax : matplotlib Axes, optional
        Where to draw; a new figure's axes by default.
    title : str, optional
    labels : sequence of str, optional
        One label per agent; agents are labelled ``0..N-1`` by default.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import bnpg
    >>> from bnpg.plotting import draw_dag
    >>> ax = draw_dag(bnpg.DAG.full(3), title="full")
    >>> len(ax.collections[0].get_offsets()), ax.get_title()
    (3, 'full')
    """
    import networkx as nx

    layers = dag_layers(dag)
    ax = _new_axes(ax)
    n = dag.n_agents
    if labels is None:
        labels = [str(i) for i in range(n)]
    else:
        labels = [str(x) for x in labels]
        if len(labels) != n:
            raise ValueError(f"labels must have one entry per agent ({n}), got {len(labels)}")
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(dag.edges)
    # x = layer; agents of a layer are stacked, and one-agent layers zigzag so that an edge that
    # skips layers (0 -> 2 in a full DAG) does not run through the agent between them
    pos = {}
    for depth in sorted(set(layers)):
        members = [i for i in range(n) if layers[i] == depth]
        for k, i in enumerate(members):
            y = k - (len(members) - 1) / 2
            if len(members) == 1:
                y = 0.35 * (1 if depth % 2 else -1) if n > 2 else 0.0
            pos[i] = (float(depth), y)
    nx.draw_networkx_nodes(graph, pos, ax=ax, node_color="#dbe9f6", edgecolors="#1f4e79", node_size=600)
    nx.draw_networkx_labels(graph, pos, labels=dict(enumerate(labels)), ax=ax)
    if dag.n_edges:
        nx.draw_networkx_edges(
            graph, pos, ax=ax, arrows=True, arrowstyle="-|>", arrowsize=16, node_size=600,
            connectionstyle="arc3,rad=0.15",
        )
    ax.margins(0.25)
    ax.set_axis_off()
    if title is not None:
        ax.set_title(title)
    return ax


def _values(name: str, values) -> np.ndarray:
    """A float copy of real numbers; ``nan`` and ``inf`` are kept (matplotlib leaves them out)."""
    if isinstance(values, (str, bytes)) or values is None:
        raise TypeError(f"{name} must be an array of real numbers, got {type(values).__name__}")
    arr = np.array(values)
    if arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    return arr.astype(float)


def _joint_at(policy, state) -> np.ndarray:
    if isinstance(policy, BNPolicy):
        joint = policy.joint()
    else:
        joint = real_array("policy", policy)
        if joint.ndim < 2:
            raise ValueError(
                f"policy must be a BNPolicy or a joint array of shape (S, A_0, ..., A_(N-1)), "
                f"got shape {joint.shape}"
            )
    state = integer("state", state)
    if not 0 <= state < joint.shape[0]:
        raise ValueError(f"state must be in 0..{joint.shape[0] - 1}, got {state}")
    return joint[state]


def plot_joint_policy(policy, state: int = 0, ax=None, *, annotate: bool = True, title: str | None = None):
    r"""Show :math:`\pi(a \mid s)` at one state.

    Two agents: a heatmap with agent 0's action on the rows and agent 1's on the columns, colour
    scale fixed to ``[0, 1]``. One agent or more than two: a bar per joint action, labelled by the
    action tuple in C order (agent 0 slowest).

    Parameters
    ----------
    policy : BNPolicy or array_like of shape (S, A_0, ..., A_{N-1})
        A policy, or a joint policy array.
    state : int, default 0
    ax : matplotlib Axes, optional
    annotate : bool, default True
        Write each probability (2 significant digits) in its cell (heatmap only).
    title : str, optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import numpy as np, bnpg
    >>> from bnpg.plotting import plot_joint_policy
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.9)
    >>> ax = plot_joint_policy(bnpg.BNPolicy(game, bnpg.DAG.chain(2)))
    >>> ax.images[0].get_array().tolist()
    [[0.25, 0.25], [0.25, 0.25]]
    """
    probs = _joint_at(policy, state)
    ax = _new_axes(ax)
    if probs.ndim == 2:
        image = ax.imshow(probs, vmin=0.0, vmax=1.0, cmap="viridis", origin="upper")
        ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
        ax.set_xticks(range(probs.shape[1]))
        ax.set_yticks(range(probs.shape[0]))
        ax.set_xlabel("agent 1's action")
        ax.set_ylabel("agent 0's action")
        if annotate:
            for (a0, a1), p in np.ndenumerate(probs):
                ax.text(a1, a0, f"{p:.2g}", ha="center", va="center",
                        color="black" if p > 0.5 else "white", fontsize=11)
    else:
        flat = probs.ravel()
        names = [",".join(str(k) for k in idx) for idx in np.ndindex(*probs.shape)]
        ax.bar(range(flat.size), flat, color="#4c72b0")
        ax.set_xticks(range(flat.size), names, rotation=90 if flat.size > 8 else 0)
        ax.set_ylim(0.0, 1.0)
        ax.set_xlabel("joint action")
        ax.set_ylabel("probability")
    ax.set_title(title if title is not None else f"joint policy at state {state}")
    return ax


def plot_curves(
    steps,
    series: Mapping[str, object],
    ax=None,
    *,
    logx: bool = False,
    logy: bool = False,
    xlabel: str = "step t",
    ylabel: str | None = None,
    title: str | None = None,
    styles: Mapping[str, Mapping] | None = None,
):
    """One line per named series against ``steps``.

    Parameters
    ----------
    steps : array_like, shape (T,)
        The shared horizontal coordinates.
    series : mapping of str to array_like of shape (T,)
        The label of each line and its values.
    ax : matplotlib Axes, optional
    logx, logy : bool, default False
        Logarithmic axes. Non-positive values on a log axis, ``nan`` and ``inf`` are left out of
        the lines by matplotlib.
    xlabel, ylabel, title : str, optional
    styles : mapping of str to dict, optional
        Extra keyword arguments for ``ax.plot`` per series label (e.g. ``{"bound": {"ls": "--"}}``).

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> from bnpg.plotting import plot_curves
    >>> ax = plot_curves([1, 2, 3], {"gap": [1.0, 0.5, 0.25]}, logy=True)
    >>> ax.lines[0].get_ydata().tolist(), ax.get_yscale()
    ([1.0, 0.5, 0.25], 'log')
    """
    x = _values("steps", steps)
    if x.ndim != 1:
        raise ValueError(f"steps must be one-dimensional, got shape {x.shape}")
    if not isinstance(series, Mapping):
        raise TypeError(f"series must be a mapping of label to values, got {type(series).__name__}")
    styles = {} if styles is None else dict(styles)
    for label in styles:
        if label not in series:
            raise ValueError(f"styles names {label!r}, which is not a series")
    ax = _new_axes(ax)
    for label, values in series.items():
        y = _values(f"series[{label!r}]", values)
        if y.shape != x.shape:
            raise ValueError(f"series[{label!r}] must have shape {x.shape} like steps, got {y.shape}")
        ax.plot(x, y, label=str(label), **dict(styles.get(label, {})))
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    if series:
        ax.legend()
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
    >>> from bnpg.plotting import layers_text
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
    >>> from bnpg.plotting import draw_layers
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
        ax = _new_axes(ax)
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
