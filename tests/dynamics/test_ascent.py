"""bnpg.ascend: the routes to approximate stationary points, and the gradient threshold they stop at.

Independent routes used here: stationarity of the points :func:`bnpg.ascend` returns is checked with
fourth-order finite differences of :func:`bnpg.objective` (oracles.finite_difference), and on
a one-agent, one-state game against the stationarity equation derived by hand; the fixed-step
function against Eq. 2 written out with :func:`bnpg.gradient`; recorded metrics against the Neumann
series and linear programs of tests/oracles.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from oracles import (
    best_response_mdp,
    evaluate_by_series,
    finite_difference,
    joint_mdp,
    local_probs,
    lp_optimal_values,
    policy_joint,
)

import bnpg
from bnpg.dynamics.ascent import armijo_ascent, ascend, fixed_step_ascent, lbfgs_ascent, path_ascent
from bnpg.experiments.instances import lemma_instance
from bnpg.games.library import climbing_game, random_game
from bnpg.theory.constants import gradient_threshold
from tests.conftest import snapshot


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
    tol = gradient_threshold(inst.game, inst.lam)
    run = ascend(inst.game, inst.policy, inst.lam, method=method, threshold=tol)
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
    run = ascend(inst.game, inst.policy, inst.lam, max_steps=0, threshold=gradient_threshold(inst.game, inst.lam))
    assert run.n_steps == 0 and not run.met
    assert np.array_equal(run.policy.flat(), inst.policy.flat())


@pytest.mark.parametrize(
    "kwargs, error, name",
    [
        (dict(method="newton"), ValueError, "method"),
        (dict(threshold=0.0), ValueError, "threshold"),
        (dict(threshold="lemma"), TypeError, "threshold"),
        (dict(threshold="0.1"), TypeError, "threshold"),
        (dict(method="fixed"), ValueError, "eta"),
        (dict(metrics=("value", "entropy")), ValueError, "metrics"),
        (dict(metrics=("value", 3.0)), TypeError, "metrics"),
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
    from bnpg.dynamics.line_search import run_backtracking

    trials = []

    def f(x):
        trials.append(float(x[0]))
        return -0.5 * float(x @ x), 0.0, -x

    x, steps, _ = run_backtracking(
        f, 0.0, lambda t, x, v, b, g: {"grad_norm": float(np.linalg.norm(g))}, np.array([1.0]),
        max_steps=50, record_every=1, done=lambda row: row["grad_norm"] <= 1e-12, full_rows=True,
        first=1.0, cap=lambda norm2: np.inf)
    assert trials == [1.0, -1.0, 0.0] and steps == 1 and x.tolist() == [0.0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_accepted_armijo_step_raises_the_objective(seed):
    inst = lemma_instance(seed, 4, n_agents=(2, 3), gamma_range=(0.8, 0.95))
    run = ascend(inst.game, inst.policy, inst.lam, record_every=1, max_steps=300,
                 threshold=gradient_threshold(inst.game, inst.lam))
    gains = np.diff(run.objective)
    # an accepted step raises L_lambda by at least 1e-4 eta_t |g_t|^2 > 0; below the values' rounding
    # the test is made on the gradients, and L_lambda may then move by rounding only
    resolution = 2.0**-40 * np.abs(run.objective[1:])
    assert run.n_steps > 5 and np.all(gains >= -resolution)
    assert np.sum(gains > resolution) >= run.n_steps // 2


# -- one function per method, and what a run records -----------------------------------------------


METHOD_FUNCTIONS = [
    ("fixed", fixed_step_ascent, dict(eta=0.3, record_every=7)),
    ("armijo", armijo_ascent, dict(eta=0.5, record_every=5)),
    ("path", path_ascent, dict(max_move=0.2, record_every=5)),
    ("lbfgs", lbfgs_ascent, dict()),
]


@pytest.mark.parametrize("method, function, options", METHOD_FUNCTIONS)
def test_each_method_function_gives_the_run_of_ascend(method, function, options):
    inst = lemma_instance(1, 3, n_agents=(2,), n_actions=(2, 3))
    common = dict(max_steps=40, threshold=gradient_threshold(inst.game, inst.lam),
                  metrics=("objective", "value", "grad_norm", "optimality_gap"), backend="numpy")
    via_ascend = ascend(inst.game, inst.policy, inst.lam, method=method, **options, **common)
    direct = function(inst.game, inst.policy, inst.lam, **options, **common)
    assert via_ascend.method == direct.method == method
    assert via_ascend.steps.tolist() == direct.steps.tolist()
    assert set(via_ascend.metrics) == set(direct.metrics)
    for m in direct.metrics:
        assert np.array_equal(via_ascend.metrics[m], direct.metrics[m])
    assert np.array_equal(via_ascend.policy.flat(), direct.policy.flat())
    assert (via_ascend.n_steps, via_ascend.n_evaluations, via_ascend.threshold) == (
        direct.n_steps, direct.n_evaluations, direct.threshold)
    assert np.array_equal(via_ascend.eta, direct.eta, equal_nan=True)


@pytest.mark.parametrize("function, unused", [
    (fixed_step_ascent, "max_move"), (armijo_ascent, "max_move"), (path_ascent, "eta"),
    (lbfgs_ascent, "eta"), (lbfgs_ascent, "record_every"), (lbfgs_ascent, "stop_below"),
])
def test_a_method_function_takes_only_the_parameters_it_uses(function, unused):
    inst = lemma_instance(0, 0)
    with pytest.raises(TypeError, match=unused):
        function(inst.game, inst.policy, inst.lam, **{unused: 0.1})


def test_the_fixed_step_function_is_the_dynamics_by_hand():
    # Eq. 2 written out with bnpg.gradient (the numpy reference, checked against finite differences
    # in tests/exact): theta <- theta + eta * grad L_lambda(theta), 25 times
    inst = lemma_instance(2, 1, n_agents=(2,), n_actions=(2,))
    run = fixed_step_ascent(inst.game, inst.policy, inst.lam, eta=0.4, max_steps=25, record_every=25,
                            backend="numpy")
    policy = inst.policy
    for _ in range(25):
        policy = policy.with_theta([t + 0.4 * g for t, g in zip(policy.theta, bnpg.gradient(
            inst.game, policy, inst.lam, backend="numpy"), strict=True)])
    np.testing.assert_allclose(run.policy.flat(), policy.flat(), rtol=0, atol=1e-12)
    assert run.steps.tolist() == [0, 25] and run.eta == 0.4


def test_the_threshold_is_a_number_or_none():
    inst = lemma_instance(0, 0)
    for bad in ("lemma", "1e-3"):
        for function in (fixed_step_ascent, armijo_ascent, path_ascent, lbfgs_ascent):
            options = dict(eta=0.1) if function is fixed_step_ascent else {}
            with pytest.raises(TypeError, match="threshold must be a number or None.*gradient_threshold"):
                function(inst.game, inst.policy, inst.lam, threshold=bad, **options)
    with pytest.raises(TypeError, match="threshold"):
        ascend(inst.game, inst.policy, inst.lam, threshold=[0.1])
    run = ascend(inst.game, inst.policy, inst.lam, max_steps=3)  # no threshold: the steps are the rule
    assert run.threshold is None and not run.met and run.n_steps == 3


def value_by_series(game, policy):
    """V_theta(mu) from the Neumann series of tests/oracles.py (not the code's linear solve)."""
    V, _, _ = evaluate_by_series(game, policy_joint(policy))
    return float(game.mu @ V)


@pytest.mark.parametrize("method", ["fixed", "armijo", "path"])
def test_metrics_given_as_functions_are_recorded(method):
    inst = lemma_instance(3, 2, n_agents=(2,), n_actions=(2, 3))
    eta = 0.2 if method == "fixed" else None
    run = ascend(inst.game, inst.policy, inst.lam, method=method, eta=eta, max_steps=30, record_every=10,
                 metrics=("value", value_by_series), backend="numpy")
    assert run.steps.tolist() == [0, 10, 20, 30]
    assert set(run.metrics) == {"value", "value_by_series"}
    np.testing.assert_allclose(run.metrics["value_by_series"], run.value, rtol=1e-12, atol=0)
    assert run.final("value_by_series") == value_by_series(inst.game, run.policy)
    assert run.metrics["value_by_series"][0] == value_by_series(inst.game, inst.policy)


def test_stop_below_reads_a_function_metric():
    inst = lemma_instance(3, 2, n_agents=(2,), n_actions=(2,))

    def minus_value(game, policy):
        return -value_by_series(game, policy)

    full = bnpg.gradient_ascent(inst.game, inst.policy, lam=inst.lam, eta=0.2, steps=60, metrics=(minus_value,))
    target = float(np.median(full.minus_value))
    first = int(full.steps[np.flatnonzero(full.minus_value <= target)[0]])
    stopped = bnpg.gradient_ascent(inst.game, inst.policy, lam=inst.lam, eta=0.2, steps=60,
                                   metrics=(minus_value,), stop_below={"minus_value": target})
    assert stopped.n_steps == first < 60


def test_the_gap_metrics_by_name_agree_with_linear_programs():
    inst = lemma_instance(4, 3, n_agents=(2,), n_actions=(2,))
    game = inst.game
    run = bnpg.gradient_ascent(game, inst.policy, lam=inst.lam, eta=0.3, steps=20, record_every=20,
                               metrics=("nash_gap", "optimality_gap", value_by_series), backend="numpy")
    policy = run.policy
    value = value_by_series(game, policy)
    best = []
    for i in range(game.n_agents):
        R, K, _ = best_response_mdp(game, policy, i)
        best.append(float(game.mu @ lp_optimal_values(R, K, game.gamma)))
    R, K = joint_mdp(game)
    optimum = float(game.mu @ lp_optimal_values(R, K, game.gamma))
    assert run.final("nash_gap") == pytest.approx(max(best) - value, rel=1e-6, abs=1e-10)
    assert run.final("optimality_gap") == pytest.approx(optimum - value, rel=1e-6, abs=1e-10)


def test_a_function_cannot_take_a_built_in_name_or_appear_twice():
    inst = lemma_instance(0, 0)

    def value(game, policy):
        return 0.0

    with pytest.raises(ValueError, match="built-in"):
        bnpg.gradient_ascent(inst.game, inst.policy, lam=inst.lam, eta=0.1, steps=1, metrics=(value,))
    with pytest.raises(ValueError, match="twice"):
        bnpg.gradient_ascent(inst.game, inst.policy, lam=inst.lam, eta=0.1, steps=1,
                             metrics=(value_by_series, value_by_series))
    with pytest.raises(TypeError, match="metrics"):
        bnpg.gradient_ascent(inst.game, inst.policy, lam=inst.lam, eta=0.1, steps=1, metrics="value")
