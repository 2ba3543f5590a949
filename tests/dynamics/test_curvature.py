"""Tests of bnpg.dynamics.finite_differences and bnpg.dynamics.curvature: finite-difference derivatives of L_lambda checked by independent routes.

The references are (i) closed forms for a one-state bandit, derived by hand in the comments, and
(ii) second differences of the objective itself, which do not go through the gradient code.
"""

import numpy as np
import pytest

import bnpg
from bnpg.dynamics import curvature, finite_differences


def random_game(rng, n_states, sizes, gamma):
    P = rng.dirichlet(np.ones(n_states), size=(n_states, *sizes))
    r = rng.uniform(0.0, 1.0, size=(n_states, *sizes))
    mu = rng.dirichlet(np.ones(n_states))
    return bnpg.MarkovGame(P, r, mu, gamma)


def bandit(rewards):
    rewards = np.asarray(rewards, dtype=float)
    return bnpg.MarkovGame(np.ones((1, rewards.size, 1)), rewards[None], [1.0], 0.0)


def bandit_hessian(pi, rewards, lam):
    """Hessian of L_lambda for a one-state, one-agent game with gamma = 0.

    V = sum_a pi_a r_a has dV/dtheta_a = pi_a c_a with c = r - rbar; differentiating again with
    dpi_a/dtheta_b = pi_a (delta_ab - pi_b) and drbar/dtheta_b = pi_b c_b gives
    H_ab = delta_ab pi_a c_a - pi_a pi_b (c_a + c_b). The barrier (lam / |A|) sum_a log pi_a has
    gradient lam (1/|A| - pi_a), hence Hessian -lam (diag(pi) - pi pi^T).
    """
    c = rewards - pi @ rewards
    hv = np.diag(pi * c) - np.outer(pi, pi) * (c[:, None] + c[None, :])
    return hv - lam * (np.diag(pi) - np.outer(pi, pi))


@pytest.fixture
def bn_case():
    rng = np.random.default_rng(11)
    game = random_game(rng, 3, (2, 3, 2), 0.8)
    dag = bnpg.DAG([[2], [0, 2], []])
    return game, bnpg.BNPolicy.random(game, dag, rng)


@pytest.mark.parametrize("lam", [0.0, 0.3])
def test_hessian_matches_bandit_closed_form(lam):
    rewards = np.array([0.2, 1.0, -0.5])
    game = bandit(rewards)
    theta = np.array([0.3, -0.4, 1.1])
    policy = bnpg.BNPolicy(game, bnpg.DAG.empty(1), [theta[None]])
    pi = np.exp(theta) / np.exp(theta).sum()
    expected = bandit_hessian(pi, rewards, lam)
    H = finite_differences.hessian(game, policy, lam)
    # central differences with h = 1e-4: truncation ~ h^2/6 * |L''''| ~ 1e-9, rounding ~ 1e-12
    assert np.max(np.abs(H - expected)) <= 1e-8 * np.max(np.abs(expected))
    eig = np.max(np.abs(np.linalg.eigvalsh(expected)))
    assert curvature.max_curvature(game, policy, lam) == pytest.approx(eig, rel=1e-8)


def test_directional_curvature_matches_bandit_closed_form():
    rewards = np.array([0.2, 1.0, -0.5])
    game = bandit(rewards)
    theta = np.array([0.3, -0.4, 1.1])
    policy = bnpg.BNPolicy(game, bnpg.DAG.empty(1), [theta[None]])
    pi = np.exp(theta) / np.exp(theta).sum()
    direction = np.array([1.0, -2.0, 0.5])
    u = direction / np.linalg.norm(direction)
    expected = u @ bandit_hessian(pi, rewards, 0.2) @ u
    got = finite_differences.directional_curvature(game, policy, direction, 0.2)
    assert got == pytest.approx(expected, rel=1e-8)


def test_central_difference_matches_bandit_gradient():
    rewards = np.array([0.2, 1.0, -0.5])
    game = bandit(rewards)
    theta = np.array([0.3, -0.4, 1.1])
    policy = bnpg.BNPolicy(game, bnpg.DAG.empty(1), [theta[None]])
    pi = np.exp(theta) / np.exp(theta).sum()
    expected = pi * (rewards - pi @ rewards)  # dV/dtheta_a = pi_a (r_a - rbar)
    fd = finite_differences.central_difference(lambda p: bnpg.value(game, p), policy)
    assert np.max(np.abs(fd[0][0] - expected)) <= 1e-9


@pytest.mark.parametrize("lam", [0.0, 0.5])
def test_directional_curvature_matches_second_difference_of_objective(bn_case, lam):
    # An independent route that uses only the objective: the second difference
    # D(k) = (L(x + k u) - 2 L(x) + L(x - k u)) / k^2 = u^T H u + k^2/12 L^(4) + O(k^4), Richardson-
    # extrapolated, R = (4 D(k/2) - D(k)) / 3 = u^T H u + O(k^4). With k = 1e-2 the truncation is
    # ~1e-8 |L^(6)| and the rounding (5/3) 4 eps |L| / (k/2)^2 ~ 2e-10 for |L| ~ 3; the
    # gradient-difference side errs by ~1e-12 at h = 1e-4. So they agree to 1e-9 absolute.
    game, policy = bn_case
    rng = np.random.default_rng(5)
    x = policy.flat()
    f = lambda v: bnpg.objective(game, policy.with_flat(v), lam)  # noqa: E731
    k = 1e-2
    for u in curvature.random_unit_directions(policy.n_params, 4, rng):
        d_k = (f(x + k * u) - 2 * f(x) + f(x - k * u)) / k**2
        d_half = (f(x + k / 2 * u) - 2 * f(x) + f(x - k / 2 * u)) / (k / 2) ** 2
        extrapolated = (4 * d_half - d_k) / 3
        got = finite_differences.directional_curvature(game, policy, u, lam)
        assert abs(got - extrapolated) <= 1e-9
        assert abs(got) > 1e-3  # the comparison is not between two tiny numbers


def test_hessian_is_consistent_and_nearly_symmetric(bn_case):
    game, policy = bn_case
    raw = finite_differences.hessian(game, policy, 0.1, symmetrise=False)
    # Schwarz: a true gradient has a symmetric Jacobian; the columns come from separate differences
    assert np.max(np.abs(raw - raw.T)) <= 1e-7 * np.max(np.abs(raw))
    H = finite_differences.hessian(game, policy, 0.1)
    assert np.array_equal(H, H.T)
    u = curvature.random_unit_directions(policy.n_params, 1, 3)[0]
    assert u @ H @ u == pytest.approx(
        finite_differences.directional_curvature(game, policy, u, 0.1), rel=1e-7, abs=1e-9
    )


def test_trajectory_policies_follow_the_gradient_step_by_step(bn_case):
    game, policy = bn_case
    run = curvature.trajectory_policies(game, policy, lam=0.2, eta=0.3, steps=6, every=3)
    assert len(run) == 3 and run[0] is policy
    # the update (2)-(3), written out with bnpg.gradient
    theta = [np.array(t) for t in policy.theta]
    kept = [policy.flat()]
    for t in range(6):
        grads = bnpg.gradient(game, policy.with_theta(theta), 0.2)
        theta = [a + 0.3 * g for a, g in zip(theta, grads, strict=True)]
        if (t + 1) % 3 == 0:
            kept.append(np.concatenate([a.ravel() for a in theta]))
    for p, x in zip(run, kept, strict=True):
        assert np.max(np.abs(p.flat() - x)) <= 1e-12


def test_measure_curvature_is_reproducible_and_consistent(bn_case):
    game, policy = bn_case
    kwargs = dict(seed=4, n_points=2, n_directions=3, eta=0.1, steps=4, every=2)
    a = curvature.measure_curvature(game, policy.dag, 0.1, **kwargs)
    b = curvature.measure_curvature(game, policy.dag, 0.1, **kwargs)
    assert a == b
    assert a.bound == bnpg.smoothness_bound(game, policy.dag, 0.1)
    assert a.measured == max(a.directional, a.spectral, a.trajectory)
    assert a.ratio == a.bound / a.measured
    # |u^T H u| <= max |eig H| at the same points
    assert a.directional <= a.spectral * (1 + 1e-9)
    assert a.directional_error < 1e-6 * a.directional
    assert a.asymmetry < 1e-6


def test_inputs_are_not_modified(bn_case):
    game, policy = bn_case
    before = policy.flat().copy()
    direction = np.ones(policy.n_params)
    finite_differences.directional_curvature(game, policy, direction, 0.1)
    finite_differences.hessian(game, policy, 0.1)
    finite_differences.central_difference(bnpg.log_barrier, policy)
    assert np.array_equal(policy.flat(), before)
    assert np.array_equal(direction, np.ones(policy.n_params))


def test_bad_inputs_are_refused(bn_case):
    game, policy = bn_case
    with pytest.raises(ValueError, match="direction must have shape"):
        finite_differences.directional_curvature(game, policy, np.ones(3))
    with pytest.raises(ValueError, match="direction must be a non-zero"):
        finite_differences.directional_curvature(game, policy, np.zeros(policy.n_params))
    with pytest.raises(ValueError, match="h must be > 0"):
        finite_differences.hessian(game, policy, h=0.0)
    with pytest.raises(ValueError, match="lam must be >= 0"):
        curvature.max_curvature(game, policy, -1.0)
    with pytest.raises(TypeError, match="f must be a callable"):
        finite_differences.central_difference(1.0, policy)
    with pytest.raises(TypeError, match="policy must be a BNPolicy"):
        finite_differences.central_difference(bnpg.log_barrier, "policy")
    with pytest.raises(TypeError, match="symmetrise must be a bool"):
        finite_differences.hessian(game, policy, symmetrise=1)
    with pytest.raises(ValueError, match="must be a multiple of every"):
        curvature.trajectory_policies(game, policy, lam=0.0, eta=0.1, steps=5, every=2)
    with pytest.raises(ValueError, match="count must be >= 1"):
        curvature.random_unit_directions(3, 0, seed=0)
    with pytest.raises(TypeError, match="dag must be a DAG"):
        curvature.measure_curvature(game, [[2], [0, 2], []], 0.1, seed=0, eta=0.1, steps=0, every=1)


def test_climb_curvature_never_loses_ground_and_is_reproducible(bn_case):
    game, policy = bn_case
    before = policy.flat().copy()
    start = curvature.max_curvature(game, policy, 0.1)
    best, value = curvature.climb_curvature(game, policy, 0.1, seed=2, iterations=6)
    again = curvature.climb_curvature(game, policy, 0.1, seed=2, iterations=6)
    assert value >= start
    assert value == curvature.max_curvature(game, best, 0.1)
    assert again[1] == value and np.array_equal(again[0].flat(), best.flat())
    assert np.array_equal(policy.flat(), before)
    none, same = curvature.climb_curvature(game, policy, 0.1, seed=2, iterations=0)
    assert none is policy and same == start
    with pytest.raises(ValueError, match="step must be > 0"):
        curvature.climb_curvature(game, policy, seed=0, step=0.0)


def test_measure_curvature_default_step_and_validation(bn_case):
    game, policy = bn_case
    rep = curvature.measure_curvature(
        game, policy.dag, 0.1, seed=1, n_points=1, n_directions=1, steps=2, every=1
    )
    # with eta=None the step is 1 / (2 c0), c0 the curvature at the (only) random point
    start = bnpg.BNPolicy.random(game, policy.dag, np.random.default_rng(1))
    assert rep.eta == pytest.approx(1 / (2 * curvature.max_curvature(game, start, 0.1)), rel=1e-12)
    with pytest.raises(ValueError, match="must be a multiple of every"):
        curvature.measure_curvature(game, policy.dag, 0.1, seed=0, steps=5, every=2)
    with pytest.raises(ValueError, match="eta must be > 0"):
        curvature.measure_curvature(game, policy.dag, 0.1, seed=0, eta=-1.0)
