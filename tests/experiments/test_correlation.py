"""What correlation buys: bnpg.experiments.instances.common_start, bnpg.experiments.studies.correlation.

Independent routes used here:

* the common start's joint policy is formed by loops from scipy's softmax of the product parameters
  (oracles.policy_joint), not by bnpg;
* the optimal and the worst value come from linear programs on the joint-action MDP with rewards
  ``r`` and ``-r`` (oracles.lp_optimal_values), not from policy iteration;
* the Nash gap of a final product policy on a one-state game is computed by hand from the payoff
  matrix (best pure reply minus the expected payoff);
* the bound on the step length is checked from the outside: a run of ``n`` steps of length at most
  ``max_move`` cannot move the parameters farther than ``n * max_move``;
* the path method is compared with the fixed-step dynamics (2) of :func:`bnpg.gradient_ascent` on a
  start where an unbounded line search ends at another equilibrium;
* the two backends of the objective are compared with each other.
"""

from __future__ import annotations

import numpy as np
import pytest
from oracles import joint_mdp, lp_optimal_values, policy_joint
from scipy.special import softmax

import bnpg
from bnpg.backends import numba_kernels as _fast
from bnpg.dynamics.line_search import run_backtracking as _run_backtracking
from bnpg.experiments.instances import common_start
from bnpg.experiments.studies.correlation import correlation_compare, correlation_study
from bnpg.games.library import climbing_game, penalty_game, search_game
from tests.conftest import random_game, snapshot

needs_numba = pytest.mark.skipif(not _fast.HAVE_NUMBA, reason="numba is not installed")


def product_starts(game, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((game.n_states, k)) for k in game.action_sizes]


# -- the common start -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dag",
    [bnpg.DAG.empty(3), bnpg.DAG.chain(3), bnpg.DAG.full(3), bnpg.DAG([[2], [0, 2], []])],
    ids=["empty", "chain", "full", "backward"],
)
def test_common_start_is_the_product_policy_on_every_dag(dag):
    game = random_game(1, n_states=2, action_sizes=(2, 3, 2))
    theta = product_starts(game, 0)
    before = snapshot(*theta)
    start = common_start(game, dag, theta)
    # pi(a | s) = prod_i softmax(theta_i[s])[a_i], by an outer product of scipy softmaxes
    locals_ = [softmax(t, axis=-1) for t in theta]
    expected = np.einsum("si,sj,sk->sijk", *locals_)
    assert start.dag == dag
    assert np.allclose(policy_joint(start), expected, rtol=1e-13, atol=0)
    for t, b in zip(theta, before, strict=True):
        assert np.array_equal(t, b)


def test_common_start_rejects_bad_input():
    game = climbing_game()
    good = [np.zeros((1, 3)), np.zeros((1, 3))]
    with pytest.raises(TypeError, match="game"):
        common_start("game", bnpg.DAG.chain(2), good)
    with pytest.raises(TypeError, match="dag"):
        common_start(game, [[], [0]], good)
    with pytest.raises(ValueError, match="agents"):
        common_start(game, bnpg.DAG.chain(3), good)
    with pytest.raises(TypeError, match="product_theta"):
        common_start(game, bnpg.DAG.chain(2), np.zeros((2, 1, 3)))
    with pytest.raises(ValueError, match="product_theta"):
        common_start(game, bnpg.DAG.chain(2), good[:1])
    with pytest.raises(ValueError, match=r"product_theta\[1\]"):
        common_start(game, bnpg.DAG.chain(2), [np.zeros((1, 3)), np.zeros((1, 2))])
    with pytest.raises(ValueError, match=r"product_theta\[0\].*finite"):
        common_start(game, bnpg.DAG.chain(2), [np.array([[0.0, np.nan, 0.0]]), np.zeros((1, 3))])


# -- correlation_compare ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_optimal_and_worst_values_match_linear_programs(seed):
    game = random_game(seed, n_states=3, action_sizes=(2, 3), gamma=0.8)
    out = correlation_compare(game, product_starts(game, seed), max_steps=5)
    R, K = joint_mdp(game)
    best = float(game.mu @ lp_optimal_values(R, K, game.gamma))
    worst = -float(game.mu @ lp_optimal_values(-R, K, game.gamma))
    assert out["optimal_value"] == pytest.approx(best, rel=1e-8)
    assert out["worst_value"] == pytest.approx(worst, rel=1e-8)
    for dag in ("product", "chain", "full"):
        assert out[f"{dag}_gap"] >= -1e-9
        assert out[f"{dag}_reached"] == (out[f"{dag}_gap"] <= 1e-4 * (best - worst))


@pytest.mark.parametrize("gamma", [0.0, 0.5])
def test_penalty_game_from_the_uniform_start(gamma):
    game = penalty_game(k=-10, gamma=gamma)
    out = correlation_compare(game, [np.zeros((1, 3)), np.zeros((1, 3))])
    scale = 1 / (1 - gamma)
    # hand values: optimum 10, worst outcome -10, uniform start (10 + 2 + 10 - 20) / 9 per step
    assert out["optimal_value"] == pytest.approx(10 * scale, rel=1e-12)
    assert out["worst_value"] == pytest.approx(-10 * scale, rel=1e-12)
    assert out["start_value"] == pytest.approx(2 / 9 * scale, rel=1e-12)
    # the product policy settles on the safe equilibrium (1, 1), worth 2 per step, up to the barrier
    assert out["product_value"] == pytest.approx(2 * scale, abs=1e-2 * scale)
    assert not out["product_reached"]
    assert out["chain_reached"] and out["full_reached"]
    # its Nash gap by hand: best pure reply of either agent against the other's final local policy
    policy = out["product_policy"]
    p0, p1 = policy.local(0)[0], policy.local(1)[0]
    R = game.r[0]
    expected = p0 @ R @ p1
    gap = max(np.max(R @ p1) - expected, np.max(p0 @ R) - expected) * scale
    assert out["product_nash_gap"] == pytest.approx(gap, rel=1e-9, abs=1e-13)
    assert gap <= 1e-3 * scale


def test_climbing_game_from_the_uniform_start():
    game = climbing_game(gamma=0.0)
    out = correlation_compare(game, [np.zeros((1, 3)), np.zeros((1, 3))])
    # (1, 1) pays 7, the optimum (0, 0) pays 11; the barrier with lambda = 1e-4 costs far less than 1e-2
    assert out["product_value"] == pytest.approx(7.0, abs=1e-2)
    assert out["chain_value"] == pytest.approx(11.0, abs=1e-2)
    # parameters: 3 + 3 for the product policy, 3 + 3 * 3 when agent 1 sees agent 0
    assert out["product_n_params"] == 6
    assert out["chain_n_params"] == 3 + 9


def test_equal_dags_share_one_run():
    game = random_game(3, n_states=2, action_sizes=(3, 2))
    theta = product_starts(game, 3)
    both = correlation_compare(game, theta, dags={"chain": bnpg.DAG.chain(2), "full": bnpg.DAG.full(2)})
    alone = correlation_compare(game, theta, dags={"full": bnpg.DAG.full(2)})
    assert both["chain_value"] == both["full_value"] == alone["full_value"]
    assert both["chain_n_steps"] == alone["full_n_steps"]


def test_the_path_method_moves_along_the_gradient_in_bounded_steps():
    # f(x) = -|x - c|^2 / 2 climbs straight towards c; from 10 units away with max_move = 0.5 every
    # step is accepted at once (the Armijo test holds for steps t <= 1.9998 of the gradient c - x)
    # and is exactly 0.5 long until the remaining distance is below 0.5: by hand, 19 such steps
    c = np.array([6.0, -8.0, 0.0])
    seen = []

    def f(x):
        seen.append(np.array(x, copy=True))
        return -0.5 * float((x - c) @ (x - c)), 0.0, c - x

    def record(t, x, value, barrier, grad):
        return {"grad_norm": float(np.linalg.norm(grad))}

    x, steps, _ = _run_backtracking(
        f, 0.0, record, np.zeros(3), max_steps=1000, record_every=1,
        done=lambda row: row["grad_norm"] <= 1e-10, full_rows=True, first=np.inf,
        cap=lambda norm2: 0.5 / np.sqrt(norm2))
    unit = c / 10.0
    for k in range(20):
        assert np.allclose(seen[k], 0.5 * k * unit, rtol=0, atol=1e-12)
    assert np.linalg.norm(x - c) <= 1e-10 and steps >= 20


@needs_numba
def test_the_path_method_ends_where_the_fixed_step_dynamics_end():
    # start 7 of the notebook's climbing-game starts: an unbounded line search ends at (1, 1),
    # the dynamics (2) with eta = 1/beta_lambda and the bounded steps end at the optimum
    game = climbing_game(gamma=0.0)
    rng = np.random.default_rng(1)
    starts = [[rng.standard_normal((1, 3)) for _ in range(2)] for _ in range(12)]
    theta = starts[6]
    dags = {"product": bnpg.DAG.empty(2)}
    path = correlation_compare(game, theta, dags=dags)
    line = correlation_compare(game, theta, dags=dags, method="armijo")
    start = common_start(game, bnpg.DAG.empty(2), theta)
    beta = bnpg.smoothness_bound(game, bnpg.DAG.empty(2), 1e-4)
    fixed = bnpg.gradient_ascent(game, start, lam=1e-4, eta=1 / beta, steps=200_000,
                                 record_every=200_000, metrics=("value",))
    assert fixed.value[-1] == pytest.approx(11.0, abs=0.05)
    assert path["product_value"] == pytest.approx(11.0, abs=1e-2)
    assert line["product_value"] == pytest.approx(7.0, abs=1e-2)


@needs_numba
@pytest.mark.parametrize("method", ["path", "armijo"])
def test_backends_agree(method):
    game = search_game(2, 2)
    theta = product_starts(game, 5)
    a = correlation_compare(game, theta, method=method, backend="numpy", max_steps=3000)
    b = correlation_compare(game, theta, method=method, backend="numba", max_steps=3000)
    scale = a["optimal_value"] - a["worst_value"]
    for dag in ("product", "chain", "full"):
        assert a[f"{dag}_met"] and b[f"{dag}_met"]
        # both stop where the gradient norm is below 1e-6 near the same maximum
        assert b[f"{dag}_value"] == pytest.approx(a[f"{dag}_value"], abs=1e-8 * scale)
        assert b[f"{dag}_reached"] == a[f"{dag}_reached"]
        assert b[f"{dag}_nash_gap"] == pytest.approx(a[f"{dag}_nash_gap"], abs=1e-8 * scale)


def test_correlation_compare_rejects_bad_input():
    game = climbing_game()
    good = [np.zeros((1, 3)), np.zeros((1, 3))]
    with pytest.raises(TypeError, match="game"):
        correlation_compare(None, good)
    with pytest.raises(TypeError, match="dags"):
        correlation_compare(game, good, dags={"x": "not a dag"})
    with pytest.raises(TypeError, match="dags"):
        correlation_compare(game, good, dags={})
    with pytest.raises(ValueError, match=r"dags\['x'\]"):
        correlation_compare(game, good, dags={"x": bnpg.DAG.full(3)})
    with pytest.raises(ValueError, match="method"):
        correlation_compare(game, good, method="newton")
    with pytest.raises(ValueError, match="max_move"):
        correlation_compare(game, good, max_move=0.0)
    with pytest.raises(ValueError, match="backend"):
        correlation_compare(game, good, backend="cuda")
    with pytest.raises(ValueError, match="lam"):
        correlation_compare(game, good, lam=-1.0)


# -- correlation_study -----------------------------------------------------------------------------


def test_the_first_start_of_each_game_does_not_depend_on_the_number_of_starts():
    options = dict(lam=1e-3, max_steps=200, reach_tol=1e-2, method="armijo", backend="numpy")
    two = correlation_study(3, 2, seed=4, n_agents=(2, 3), **options)
    one = correlation_study(3, 1, seed=4, n_agents=(2, 3), **options)
    first = two["start"] == 0
    for key in ("n_states", "n_agents", "n_joint", "optimal_value", "worst_value", "start_value",
                "product_value", "chain_value", "full_value", "full_reached"):
        assert np.array_equal(two[key][first], one[key]), key


def test_study_is_deterministic_and_consistent():
    a = correlation_study(3, 3, seed=2, n_agents=(2, 3), max_steps=400)
    b = correlation_study(3, 3, seed=2, n_agents=(2, 3), max_steps=400)
    for key, value in a.items():
        assert np.array_equal(value, b[key]), key
    assert a["game"].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert a["start"].tolist() == [0, 1, 2] * 3
    scale = a["optimal_value"] - a["worst_value"]
    for dag in ("product", "chain", "full"):
        assert np.array_equal(a[f"{dag}_reached"], a[f"{dag}_gap"] <= 1e-4 * scale)
    two = a["n_agents"] == 2
    assert np.array_equal(a["chain_value"][two], a["full_value"][two])
    # every start of a game sees the same game
    for k in range(3):
        assert np.unique(a["optimal_value"][a["game"] == k]).size == 1


def test_study_rejects_bad_input():
    with pytest.raises(ValueError, match="n_starts"):
        correlation_study(1, 0, seed=0)
    with pytest.raises(ValueError, match="n_games"):
        correlation_study(0, 1, seed=0)
    with pytest.raises(ValueError, match="seed"):
        correlation_study(1, 1, seed=-1)
    with pytest.raises(ValueError, match="method"):
        correlation_study(1, 1, seed=0, method="newton")
