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
* :func:`plot_curves`: metrics recorded along the dynamics (2)-(3) against the step.

The diagram of the package's own layers is :mod:`bnpg.layer_diagram`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from bnpg._validation import integer, real_array
from bnpg.model.dag import DAG
from bnpg.model.policy import BNPolicy

__all__ = ["dag_layers", "draw_dag", "plot_curves", "plot_joint_policy"]


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
