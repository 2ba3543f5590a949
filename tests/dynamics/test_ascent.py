"""bnpg.ascend: the routes to approximate stationary points, and the gradient threshold they stop at.

Independent routes used here: stationarity of the points :func:`bnpg.ascend` returns is checked with
fourth-order finite differences of :func:`bnpg.objective` (tests.conftest.finite_difference), and on
a one-agent, one-state game against the stationarity equation derived by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

import bnpg
from bnpg.dynamics.ascent import ascend
from bnpg.experiments.instances import lemma_instance
from bnpg.games.library import climbing_game, random_game
from bnpg.theory.constants import gradient_threshold
from tests.conftest import finite_difference, local_probs, snapshot


def fd_gradient_norm(game, policy, lam):
    """Norm of the gradient of L_lambda by finite differences of bnpg.exact.objective."""
    def f(x):
        return bnpg.objective(game, policy.with_flat(x), lam)

    return float(np.linalg.norm(finite_difference(f, policy.flat())))


# -- the threshold and the ascent ---------------------------------------------------------------


def test_gradient_threshold_by_hand():
    # |S| = 3, |A| = 2 * 3 = 6, max |A^i| = 3: lambda / (2 * 3 * 6 * 3) = lambda / 108
    game = random_game(3, (2, 3), seed=0)
    assert gradient_threshold(game, 0.054) == pytest.approx(0.054 / 108, rel=1e-15)
    assert gradient_threshold(climbing_game(), 0.1) == pytest.approx(0.1 / 54, rel=1e-15)
    with pytest.raises(ValueError, match="lam"):
        gradient_threshold(game, -1.0)
    with pytest.raises(TypeError, match="game"):
        gradient_threshold("game", 0.1)


@pytest.mark.parametrize("method", ["armijo", "lbfgs"])
def test_ascend_reaches_a_point_that_is_stationary_by_finite_differences(method):
    inst = lemma_instance(4, 2, n_agents=(2,), n_actions=(2, 3))
    (before,) = snapshot(inst.policy.flat())
    start = bnpg.objective(inst.game, inst.policy, inst.lam)
    run = ascend(inst.game, inst.policy, inst.lam, method=method)
    tol = gradient_threshold(inst.game, inst.lam)
    assert run.met and run.threshold == tol and run.method == method
    assert np.array_equal(inst.policy.flat(), before)  # the start is not modified
    assert run.final("objective") == pytest.approx(bnpg.objective(inst.game, run.policy, inst.lam), rel=1e-12)
    assert run.final("objective") > start
    # the finite-difference error is about 1e-10 here, far below tol (~1e-4)
    fd = fd_gradient_norm(inst.game, run.policy, inst.lam)
    assert abs(fd - run.final("grad_norm")) < 1e-8
    assert fd <= tol


@pytest.mark.parametrize("method", ["armijo", "lbfgs"])
def test_ascend_solves_the_hand_derived_bandit_equation(method):
    # one agent, one state, rewards r, discount gamma: V = sum_c pi_c r_c / (1 - gamma) and
    # dL/dtheta_c = pi_c (r_c - sum_b pi_b r_b) / (1 - gamma) + lam (1/|A| - pi_c).
    r = np.array([1.0, 0.2, -0.5, 0.7])
    gamma, lam = 0.6, 0.05
    game = bnpg.MarkovGame(np.ones((1, 4, 1)), r[None], [1.0], gamma)
    policy = bnpg.BNPolicy(game, bnpg.DAG.empty(1))
    tol = 1e-9
    run = ascend(game, policy, lam, threshold=tol, method=method, max_steps=10_000)
    pi = local_probs(run.policy.theta)[0][0]
    residual = pi * (r - pi @ r) / (1 - gamma) + lam * (1 / 4 - pi)
    assert run.met
    assert np.linalg.norm(residual) <= tol * (1 + 1e-6)


def test_ascend_without_iterations_returns_the_start():
    inst = lemma_instance(0, 0)
    run = ascend(inst.game, inst.policy, inst.lam, max_steps=0)
    assert run.n_steps == 0 and not run.met
    assert np.array_equal(run.policy.flat(), inst.policy.flat())


@pytest.mark.parametrize(
    "kwargs, error, name",
    [
        (dict(method="newton"), ValueError, "method"),
        (dict(threshold=0.0), ValueError, "threshold"),
        (dict(max_steps=-1), ValueError, "max_steps"),
        (dict(max_steps=2.0), TypeError, "max_steps"),
        (dict(eta=0.0), ValueError, "eta"),
        (dict(lam=-0.1), ValueError, "lam"),
    ],
)
def test_ascend_rejects_bad_arguments(kwargs, error, name):
    inst = lemma_instance(0, 0)
    args = dict(lam=inst.lam)
    args.update(kwargs)
    with pytest.raises(error, match=name):
        ascend(inst.game, inst.policy, **args)


def test_ascend_refuses_a_policy_of_another_game():
    inst = lemma_instance(0, 0)
    with pytest.raises(ValueError, match="different game"):
        ascend(random_game(inst.game.n_states, inst.game.action_sizes, seed=99), inst.policy, 0.1)




def test_the_backtracking_step_is_the_first_with_sufficient_increase():
    # f(x) = -x^2 / 2 from x = 1 with a first trial step of 2: the trial lands on x = -1, where f is
    # unchanged, so the Armijo condition f(x + t g) >= f(x) + 1e-4 t g^2 rejects it; the halved step
    # 1 lands on the maximiser x = 0, which is accepted, and the run ends there after one update.
    from bnpg.dynamics.ascent import _run_backtracking

    trials = []

    def f(x):
        trials.append(float(x[0]))
        return -0.5 * float(x @ x), 0.0, -x

    x, steps, _ = _run_backtracking(
        f, 0.0, lambda t, x, v, b, g: {"grad_norm": float(np.linalg.norm(g))}, np.array([1.0]),
        max_steps=50, record_every=1, done=lambda row: row["grad_norm"] <= 1e-12, full_rows=True,
        first=1.0, cap=lambda norm2: np.inf)
    assert trials == [1.0, -1.0, 0.0] and steps == 1 and x.tolist() == [0.0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_accepted_armijo_step_raises_the_objective(seed):
    inst = lemma_instance(seed, 4, n_agents=(2, 3), gamma_range=(0.8, 0.95))
    run = ascend(inst.game, inst.policy, inst.lam, record_every=1, max_steps=300)
    gains = np.diff(run.objective)
    # an accepted step raises L_lambda by at least 1e-4 eta_t |g_t|^2 > 0; below the values' rounding
    # the test is made on the gradients, and L_lambda may then move by rounding only
    resolution = 2.0**-40 * np.abs(run.objective[1:])
    assert run.n_steps > 5 and np.all(gains >= -resolution)
    assert np.sum(gains > resolution) >= run.n_steps // 2
