"""The plotting helpers draw what they are given, on the non-interactive Agg backend.

Each test reads the drawn artists back (node positions, arrow count, image data, bar heights, line
data) and compares them with quantities computed here independently: layers from the parent lists
by hand, joint probabilities by loops over the local conditionals (tests.conftest.policy_joint).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import FancyArrowPatch  # noqa: E402

import bnpg  # noqa: E402
from bnpg.plotting import dag_layers, draw_dag, plot_curves, plot_joint_policy
from tests.conftest import policy_joint, random_game, random_policy  # noqa: E402


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
