"""The plotting helpers draw what they are given, on the non-interactive Agg backend.

Each test reads the drawn artists back (node positions, arrow count, image data, bar heights, line
data) and compares them with quantities computed here independently: layers from the parent lists
by hand, joint probabilities by loops over the local conditionals (oracles.policy_joint).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import FancyArrowPatch  # noqa: E402
from oracles import policy_joint  # noqa: E402

import bnpg  # noqa: E402
from bnpg import architecture  # noqa: E402
from bnpg.book import smallest_text  # noqa: E402
from bnpg.layer_diagram import draw_layers, layers_text  # noqa: E402
from bnpg.plotting import (  # noqa: E402
    dag_layers,
    draw_dag,
    plot_curves,
    plot_joint_policy,
)
from tests.conftest import random_game, random_policy  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize(
    "parents, layers",
    [
        ([[], [], []], (0, 0, 0)),
        ([[], [0], [1]], (0, 1, 2)),
        ([[2], [0, 2], []], (1, 2, 0)),
        ([[], [0], [0], [1, 2]], (0, 1, 1, 2)),
    ],
)
def test_dag_layers_by_hand(parents, layers):
    assert dag_layers(bnpg.DAG(parents)) == layers


@pytest.mark.parametrize(
    "dag",
    [bnpg.DAG.empty(3), bnpg.DAG.chain(4), bnpg.DAG.full(4), bnpg.DAG([[2], [0, 2], []])],
)
def test_draw_dag_draws_every_agent_and_edge_left_to_right(dag):
    fig, ax = plt.subplots()
    out = draw_dag(dag, ax=ax, title="G")
    assert out is ax and ax.get_title() == "G"
    offsets = np.asarray(ax.collections[0].get_offsets())
    assert offsets.shape == (dag.n_agents, 2)
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    assert len(arrows) == dag.n_edges
    # node i is drawn at offsets[i]; every parent sits strictly left of its child
    for parent, child in dag.edges:
        assert offsets[parent, 0] < offsets[child, 0]
    assert sorted(t.get_text() for t in ax.texts) == sorted(str(i) for i in range(dag.n_agents))


def test_draw_dag_labels_and_errors():
    ax = draw_dag(bnpg.DAG.chain(2), labels=["drone A", "drone B"])
    assert sorted(t.get_text() for t in ax.texts) == ["drone A", "drone B"]
    with pytest.raises(ValueError, match="labels"):
        draw_dag(bnpg.DAG.chain(2), labels=["only one"])
    with pytest.raises(TypeError, match="dag"):
        draw_dag([[], [0]])
    with pytest.raises(TypeError, match="ax"):
        draw_dag(bnpg.DAG.chain(2), ax="axes")


@pytest.mark.parametrize("state", [0, 2])
def test_plot_joint_policy_heatmap_holds_the_joint_probabilities(state):
    game = random_game(1, n_states=3, action_sizes=(2, 3))
    policy = random_policy(2, game, bnpg.DAG.chain(2))
    expected = policy_joint(policy)[state]
    ax = plot_joint_policy(policy, state=state)
    data = np.asarray(ax.images[0].get_array())
    assert data.shape == (2, 3)
    assert np.allclose(data, expected, rtol=1e-12, atol=0)
    # one annotation per cell, rounded to two significant digits
    assert [t.get_text() for t in ax.texts] == [f"{p:.2g}" for p in expected.ravel()]


def test_plot_joint_policy_bars_for_three_agents():
    game = random_game(3, n_states=2, action_sizes=(2, 2, 3))
    policy = random_policy(4, game, bnpg.DAG.full(3))
    expected = policy_joint(policy)[1]
    fig, ax = plt.subplots()
    out = plot_joint_policy(policy, state=1, ax=ax)
    assert out is ax
    heights = np.array([bar.get_height() for bar in ax.patches])
    assert heights.shape == (12,)
    assert np.allclose(heights, expected.ravel(), rtol=1e-12, atol=0)
    assert heights.sum() == pytest.approx(1.0, abs=1e-12)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[0] == "0,0,0" and labels[-1] == "1,1,2"


def test_plot_joint_policy_accepts_an_array_and_checks_state():
    joint = np.array([[[0.1, 0.2], [0.3, 0.4]]])
    ax = plot_joint_policy(joint)
    assert np.array_equal(np.asarray(ax.images[0].get_array()), joint[0])
    with pytest.raises(ValueError, match="state"):
        plot_joint_policy(joint, state=1)
    with pytest.raises(TypeError, match="state"):
        plot_joint_policy(joint, state=0.0)
    with pytest.raises(ValueError, match="policy"):
        plot_joint_policy(np.array([0.5, 0.5]))


def test_plot_curves_draws_each_series():
    steps = np.array([1, 10, 100, 1000])
    series = {"gap": [1.0, 0.3, 0.1, 0.03], "bound": np.array([2.0, 0.6, 0.2, 0.06])}
    fig, ax = plt.subplots()
    out = plot_curves(steps, series, ax=ax, logx=True, logy=True, ylabel="gap", title="T",
                      styles={"bound": {"ls": "--"}})
    assert out is ax
    assert [line.get_label() for line in ax.lines] == ["gap", "bound"]
    for line, values in zip(ax.lines, series.values(), strict=True):
        assert np.array_equal(line.get_xdata(), steps)
        assert np.array_equal(line.get_ydata(), np.asarray(values, dtype=float))
    assert ax.lines[1].get_linestyle() == "--"
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_ylabel() == "gap" and ax.get_title() == "T"


def test_plot_curves_keeps_nan_and_rejects_bad_input():
    ax = plot_curves([0, 1, 2], {"x": [1.0, np.nan, 3.0]})
    assert np.isnan(ax.lines[0].get_ydata()[1])
    with pytest.raises(ValueError, match="series"):
        plot_curves([0, 1, 2], {"x": [1.0, 2.0]})
    with pytest.raises(TypeError, match="series"):
        plot_curves([0, 1], [[1.0, 2.0]])
    with pytest.raises(ValueError, match="styles"):
        plot_curves([0, 1], {"x": [1.0, 2.0]}, styles={"y": {}})
    with pytest.raises(ValueError, match="steps"):
        plot_curves([[0, 1]], {"x": [1.0, 2.0]})
    with pytest.raises(TypeError, match="steps"):
        plot_curves(["a", "b"], {"x": [1.0, 2.0]})


def _tree(tmp_path, files):
    """A package tree below ``tmp_path``: ``{"bnpg/model/game.py": "source", ...}``."""
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def _by_gid(ax, gid):
    return [p for p in ax.patches if p.get_gid() == gid]


def test_draw_layers_draws_every_layer_module_and_import_of_the_package():
    fig, ax = plt.subplots(figsize=(7, 8.6))
    assert draw_layers(ax=ax) is ax
    names = [t.get_text() for t in ax.texts if t.get_gid() == "layer"]
    assert [n.rstrip("/") for n in names] == [layer.name for layer in architecture.LAYERS]
    rows = {n.rstrip("/"): t.get_text() for n, t in
            zip(names, [t for t in ax.texts if t.get_gid() == "modules"], strict=True)}
    # every module of a layer is named in its box: its last dotted part, or its subpackage
    for name, path in architecture.modules().items():
        layer = architecture.layer_of(name)
        if layer is None or (path.name == "__init__.py" and name == f"bnpg.{layer}"):
            continue
        parts = name.split(".")
        assert any(part in rows[layer] for part in parts[2:] or parts[1:]), (name, rows[layer])
    edges = architecture.layer_edges()
    rank = {layer.name: k for k, layer in enumerate(architecture.LAYERS)}
    upward = sum(1 for s, t in edges if rank[t] > rank[s])
    assert len(_by_gid(ax, "edge")) == len(edges) - upward
    assert len(_by_gid(ax, "upward")) == upward
    beside = next(t.get_text() for t in ax.texts if t.get_gid() == "beside")
    for module in architecture.BESIDE:
        assert module.rsplit(".", 1)[1] + ".py" in beside


def test_draw_layers_on_a_small_tree_draws_its_arcs_and_an_upward_import_in_red(tmp_path):
    root = _tree(tmp_path, {
        "bnpg/__init__.py": "",
        "bnpg/model/__init__.py": "",
        "bnpg/model/game.py": "import bnpg._validation\n",
        "bnpg/model/dag.py": "from bnpg.exact import gaps\n",  # reaches up a layer
        "bnpg/_validation.py": "",
        "bnpg/exact/__init__.py": "",
        "bnpg/exact/gaps.py": "from bnpg.model.game import x\nfrom bnpg.model import dag\n",
        "bnpg/plotting.py": "import bnpg.exact.gaps\n",
    })
    ax = draw_layers(root=root)
    edges = _by_gid(ax, "edge")
    # exact -> model (two module imports) and model -> foundation (one): wider for two
    assert len(edges) == 2
    assert max(e.get_linewidth() for e in edges) > min(e.get_linewidth() for e in edges)
    (upward,) = _by_gid(ax, "upward")
    assert upward.get_linestyle() == "--"
    assert np.allclose(matplotlib.colors.to_rgb(upward.get_edgecolor()), matplotlib.colors.to_rgb("#c0392b"))
    rows = [t.get_text() for t in ax.texts if t.get_gid() == "modules"]
    assert rows[:4] == ["_validation", "dag  game", "", "gaps"]


def _extents(fig, artists):
    renderer = fig.canvas.get_renderer()
    return [a.get_window_extent(renderer) for a in artists]


def _inside(inner, outer, tol=0.5):
    return (inner.x0 >= outer.x0 - tol and inner.x1 <= outer.x1 + tol
            and inner.y0 >= outer.y0 - tol and inner.y1 <= outer.y1 + tol)


def test_draw_layers_text_is_at_least_10_points_on_a_figure_7_inches_wide():
    fig = draw_layers().figure
    assert fig.get_figwidth() == 7.0
    assert smallest_text(fig) >= 10
    # the book shows it at min(700, 96 W) px: its smallest text then measures at least 13 px
    width = fig.get_figwidth()
    assert smallest_text(fig) * min(700, 96 * width) / (72 * width) >= 13


@pytest.mark.parametrize("package", [True, False])
def test_draw_layers_keeps_every_text_in_its_box_and_the_boxes_apart(package, tmp_path):
    root = None if package else _tree(tmp_path, {
        "bnpg/__init__.py": "",
        "bnpg/model/__init__.py": "",
        "bnpg/model/game.py": "import bnpg._validation\n",
        "bnpg/_validation.py": "",
        "bnpg/book.py": "",
    })
    ax = draw_layers(root=root)
    fig = ax.figure
    fig.canvas.draw()
    boxes = _by_gid(ax, "box") + _by_gid(ax, "beside-box")
    assert len(boxes) == len(architecture.LAYERS) + 1
    box_extents = _extents(fig, boxes)
    figure_extent = fig.bbox
    for box in box_extents:
        assert _inside(box, figure_extent)
    for i, a in enumerate(box_extents):
        for b in box_extents[i + 1:]:
            assert not a.overlaps(b), (a, b)
    texts = [t for t in ax.texts if t.get_text()]
    text_extents = _extents(fig, texts)
    for text, extent in zip(texts, text_extents, strict=True):
        holders = [k for k, box in enumerate(box_extents) if _inside(extent, box)]
        assert len(holders) == 1, (text.get_text(), extent)
    # a layer's texts sit in its own box, one box per layer from the bottom up
    by_gid = {gid: [t for t in ax.texts if t.get_gid() == gid] for gid in ("layer", "holds", "modules")}
    for k in range(len(architecture.LAYERS)):
        for gid in by_gid:
            text = by_gid[gid][k]
            if text.get_text():
                assert _inside(text.get_window_extent(), box_extents[k]), (gid, k, text.get_text())
    assert all(a.y1 < b.y0 for a, b in zip(box_extents[:-1], box_extents[1:], strict=True))
    for i, a in enumerate(text_extents):
        for b in text_extents[i + 1:]:
            assert not a.overlaps(b), (a, b)


def test_draw_layers_arcs_meet_the_boxes_they_join():
    ax = draw_layers()
    boxes = [(p.get_y(), p.get_y() + p.get_height(), p.get_x()) for p in _by_gid(ax, "box")]
    for arc in _by_gid(ax, "edge"):
        vertices = arc.get_path().vertices
        (x0, y0), (x1, y1) = vertices[0], vertices[-1]
        # from the upper half of the importing box's left edge to the lower half of a lower box's
        source = next(k for k, (lo, hi, _x) in enumerate(boxes) if (lo + hi) / 2 < y0 < hi)
        target = next(k for k, (lo, hi, _x) in enumerate(boxes) if lo < y1 < (lo + hi) / 2)
        assert target < source
        assert x0 == pytest.approx(boxes[source][2]) and x1 == pytest.approx(boxes[target][2])
        assert arc.get_path().get_extents().x0 > ax.get_xlim()[0]  # the curve, not its control points


def test_layers_text_lists_every_layer_highest_first_with_its_modules(tmp_path):
    lines = layers_text().splitlines()
    heads = [line.split()[0] for line in lines if " -> " in line]
    assert [h.rstrip("/") for h in heads] == [layer.name for layer in reversed(architecture.LAYERS)]
    for layer in architecture.LAYERS:
        k = next(i for i, line in enumerate(lines) if line.split()[0].rstrip("/") == layer.name)
        assert lines[k].endswith("-> " + layer.holds)
    root = _tree(tmp_path, {
        "bnpg/__init__.py": "",
        "bnpg/theory/__init__.py": "",
        "bnpg/theory/constants.py": "",
        "bnpg/theory/symbolic/__init__.py": "",
        "bnpg/theory/symbolic/bounds.py": "",
        "bnpg/theory/symbolic/audit.py": "",
        "bnpg/book.py": "",
    })
    small = layers_text(root).splitlines()
    k = small.index("  theory/      -> " + next(la.holds for la in architecture.LAYERS if la.name == "theory"))
    assert small[k + 1].split(None) == ["constants,", "symbolic/{audit,", "bounds}"]
    assert small[-1] == "  beside: book.py (may import any layer; no layer imports them)"
