"""The worst-reward search of bnpg.experiments.studies.sharpness_search against the sharpened Lemmas 2 and 3.

Independent routes used here: the reward Jacobian column by column from ``bnpg.gradient`` with unit
rewards, the gap coefficients from the Neumann series (tests/oracles.py), the worst reward against
random feasible rewards and against scipy's SLSQP on the same constrained problem, optimal values by
a linear program and best responses by enumerating every deterministic rule.
"""

from __future__ import annotations

import numpy as np
import pytest
from oracles import (
    enumerated_best_response,
    evaluate_by_series,
    joint_mdp,
    lp_optimal_values,
    policy_joint,
)
from scipy.optimize import minimize

import bnpg
from bnpg.experiments.studies.sharpness_search import (
    gradient_map,
    search_instance,
    sharpness_search,
    value_coefficients,
    worst_point,
    worst_reward,
)
from bnpg.experiments.sweeps import SweepOptions
from bnpg.theory.sharpened import sharp_threshold
from tests.conftest import snapshot

#: The slack allowed on a gap: the solve and the exact measurement round differently.
GAP_TOLERANCE = 1e-9


def with_reward(game, r):
    return bnpg.MarkovGame(game.P, np.reshape(r, game.r.shape), game.mu, game.gamma)


def flat_gradient(game, policy, lam):
    return np.concatenate([g.ravel() for g in bnpg.gradient(game, bnpg.BNPolicy(game, policy.dag, policy.theta), lam)])


def jacobian_by_columns(game, policy, lam):
    """``J`` column by column (unit rewards, lam = 0) and ``b`` (zero reward), all from bnpg.gradient."""
    n = game.r.size
    J = np.column_stack([flat_gradient(with_reward(game, np.eye(n)[j]), policy, 0.0) for j in range(n)])
    return J, flat_gradient(with_reward(game, np.zeros(n)), policy, lam)


def coefficients_by_series(game, pi):
    """``c_pi`` with ``V_pi(mu) = c_pi . r`` from the Neumann series' visitation."""
    _, _, d = evaluate_by_series(game, pi)
    return (d.reshape((-1,) + (1,) * game.n_agents) * pi).ravel()


def deviation_joint(policy, i, rule):
    """The joint policy when agent ``i`` plays the deterministic rule ``rule`` (theta layout of indices)."""
    local = np.eye(policy.game.action_sizes[i])[rule]
    return bnpg.model.policy.replace_local(policy, i, local)


def tiny_case(seed, lemma):
    """(game, policy, lam, comparator, tau) on two states and two agents of two actions."""
    rng = np.random.default_rng([seed, lemma])
    game = bnpg.games.random_game(2, (2, 2), seed=rng, gamma=0.7)
    dag = bnpg.DAG.full(2) if lemma == 3 else bnpg.DAG.chain(2)
    policy = bnpg.BNPolicy.random(game, dag, seed=rng, scale=1.0)
    if lemma == 3:
        comparator = bnpg.model.policy.deterministic_joint(game, rng.integers(game.n_joint_actions, size=2))
    else:
        i = int(rng.integers(2))
        comparator = deviation_joint(policy, i, rng.integers(2, size=policy.theta[i].shape[:-1]))
    return game, policy, 0.3, comparator, sharp_threshold(game, dag, 0.3, lemma=lemma)


# -- the linear structure -----------------------------------------------------------------------


def test_gradient_map_matches_the_gradient_column_by_column():
    game = bnpg.games.random_game(3, (2, 3), seed=4, gamma=0.8)
    for dag in (bnpg.DAG.empty(2), bnpg.DAG.chain(2), bnpg.DAG([[1], []])):
        policy = bnpg.BNPolicy.random(game, dag, seed=5)
        J, b = gradient_map(game, policy, 0.7)
        J_cols, b_cols = jacobian_by_columns(game, policy, 0.7)
        np.testing.assert_allclose(J, J_cols, rtol=0, atol=1e-13)
        np.testing.assert_allclose(b, b_cols, rtol=0, atol=1e-15)


def test_value_coefficients_match_the_neumann_series():
    game = bnpg.games.random_game(3, (2, 2), seed=1, gamma=0.9)
    pi = policy_joint(bnpg.BNPolicy.random(game, bnpg.DAG.full(2), seed=2))
    np.testing.assert_allclose(value_coefficients(game, pi), coefficients_by_series(game, pi), rtol=1e-12)


def test_potential_shaping_is_invisible_to_the_gradient_and_the_gap():
    game = bnpg.games.random_game(3, (2, 3), seed=7, gamma=0.6)
    policy = bnpg.BNPolicy.random(game, bnpg.DAG.full(2), seed=8)
    J, _ = gradient_map(game, policy, 1.0)
    phi = np.random.default_rng(9).standard_normal(3)
    shaping = (phi[:, None, None] - game.gamma * game.P @ phi).ravel()
    c = value_coefficients(game, bnpg.model.policy.deterministic_joint(game, [0, 3, 5])) - value_coefficients(
        game, policy.joint())
    assert np.abs(J @ shaping).max() < 1e-13
    assert abs(c @ shaping) < 1e-12


# -- (1) worst_reward is optimal ------------------------------------------------------------------


@pytest.mark.parametrize("lemma", [2, 3])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_random_feasible_reward_beats_the_worst_reward(lemma, seed):
    game, policy, lam, comparator, tau = tiny_case(seed, lemma)
    out = worst_reward(game, policy, lam, comparator, tau)
    assert out.feasible and not out.unbounded
    J, b = jacobian_by_columns(game, policy, lam)
    c = coefficients_by_series(game, comparator) - coefficients_by_series(game, policy_joint(policy))
    r0 = np.linalg.lstsq(J, -b, rcond=None)[0]  # the centre: gradient = the part of b outside range J
    z0 = J @ r0 + b
    assert np.linalg.norm(z0) < tau
    rng = np.random.default_rng(seed)

    def on_boundary(u):  # r0 + t u with t > 0 and ||J(r0 + t u) + b|| = tau
        v = J @ u
        t = (-(z0 @ v) + np.sqrt((z0 @ v) ** 2 - (v @ v) * (z0 @ z0 - tau**2))) / (v @ v)
        return r0 + t * u

    anywhere = rng.standard_normal((3000, game.r.size)) * rng.exponential(size=(3000, 1))
    nearby = (out.r.ravel() - r0) + 1e-3 * rng.standard_normal((3000, game.r.size))
    for directions in (anywhere, nearby):
        gaps = [c @ on_boundary(u) for u in directions]
        assert max(gaps) <= out.gap + GAP_TOLERANCE
    assert max(gaps) > out.gap - 1e-4  # the perturbed optima come close to it


@pytest.mark.parametrize("lemma", [2, 3])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_slsqp_reaches_the_same_worst_reward(lemma, seed):
    game, policy, lam, comparator, tau = tiny_case(seed, lemma)
    out = worst_reward(game, policy, lam, comparator, tau)
    J, b = jacobian_by_columns(game, policy, lam)
    c = coefficients_by_series(game, comparator) - coefficients_by_series(game, policy_joint(policy))
    res = minimize(lambda r: -(c @ r), np.linalg.lstsq(J, -b, rcond=None)[0], jac=lambda r: -c,
                   method="SLSQP", options={"ftol": 1e-14, "maxiter": 1000},
                   constraints=[{"type": "ineq", "fun": lambda r: tau**2 - np.sum((J @ r + b) ** 2),
                                 "jac": lambda r: -2.0 * (J @ r + b) @ J}])
    assert res.success, res.message
    assert np.sum((J @ res.x + b) ** 2) <= tau**2 * (1 + 1e-8)
    assert -res.fun == pytest.approx(out.gap, rel=1e-6, abs=1e-9)


def test_the_worst_reward_scales_with_lambda():
    game, policy, lam, comparator, tau = tiny_case(3, 3)
    one = worst_reward(game, policy, lam, comparator, tau)
    ten = worst_reward(game, policy, 10 * lam, comparator, 10 * tau)
    assert ten.gap == pytest.approx(10 * one.gap, rel=1e-10)
    np.testing.assert_allclose(ten.r, 10 * one.r, rtol=1e-9, atol=1e-12)


def test_an_exactly_zero_probability_gives_an_unbounded_direction():
    # exp(-1e4) underflows: action 2 is never played, so no gradient entry sees its reward
    game = bnpg.MarkovGame(np.ones((1, 3, 1)), np.zeros((1, 3)), [1.0], 0.5)
    policy = bnpg.BNPolicy(game, bnpg.DAG.empty(1), [np.array([[0.0, 0.0, -1e4]])])
    out = worst_reward(game, policy, 1.0, [[0.0, 0.0, 1.0]], 1.0)
    assert out.unbounded and out.gap == np.inf and out.null_residual > 0.5
    base = flat_gradient(with_reward(game, out.r), policy, 1.0)
    for t in (1.0, 1e3):
        moved = with_reward(game, out.r + t * out.direction)
        np.testing.assert_allclose(flat_gradient(moved, policy, 1.0), base, rtol=0, atol=1e-12)
    gains = [float(2.0 * (t * out.direction[0, 2] - t * out.direction[0, :2].mean())) for t in (1.0, 1e3)]
    assert gains[1] == pytest.approx(1e3 * gains[0]) and gains[0] > 0


# -- (2) the built game meets the bound on the gradient and the predicted gap ---------------------


@pytest.mark.parametrize("lemma", [2, 3])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_built_game_meets_tau_and_the_predicted_gap(lemma, seed):
    rng = np.random.default_rng([seed, 11])
    game = bnpg.games.random_game(2, (2, 2), seed=rng, gamma=0.8)
    dag = bnpg.DAG.full(2) if lemma == 3 else bnpg.DAG.random(2, 0.5, seed=rng)
    policy = bnpg.BNPolicy.random(game, dag, seed=rng, scale=2.0)
    tau = sharp_threshold(game, dag, 1.0, lemma=lemma)
    before = snapshot(*policy.theta, game.P)
    point = worst_point(game, policy, 1.0, tau, lemma=lemma)
    assert all(np.array_equal(a, b) for a, b in zip(before, [*policy.theta, game.P], strict=True))
    assert bnpg.gradient_norm(bnpg.gradient(point.game, point.policy, 1.0)) <= tau
    built = point.game
    value = float(built.mu @ evaluate_by_series(built, policy_joint(point.policy))[0])
    if lemma == 3:
        gap = float(built.mu @ lp_optimal_values(*joint_mdp(built), built.gamma)) - value
    else:
        gap = max(enumerated_best_response(built, point.policy, i) for i in range(2)) - value
    scale = 1.0 + float(np.abs(built.r).max())
    assert gap >= point.reward.gap - GAP_TOLERANCE * scale
    assert gap == pytest.approx(point.gap, abs=1e-7 * scale)


# -- (3) nothing breaks the sharpened lemmas; (4) the one-state bound is attained -----------------


@pytest.mark.parametrize("lemma", [2, 3])
@pytest.mark.parametrize("tau_fraction", [1.0, 0.3])
def test_no_ratio_exceeds_one(lemma, tau_fraction):
    out = sharpness_search(lemma, n_instances=6, seed=5, budget=12, restarts=1, tau_fraction=tau_fraction)
    assert out["met"].all() and not out["unbounded"].any()
    assert np.all(out["grad_norm"] <= out["tau"])
    assert out["ratio"].max() <= 1 + 1e-9, out["index"][np.argmax(out["ratio"])]
    assert np.all(out["gap"] >= out["predicted_gap"] - GAP_TOLERANCE * (1 + out["max_reward"]))
    assert np.all(out["pd_sum"] <= out["lam"] * out["M"] * (1 + 1e-9))


@pytest.mark.parametrize("lemma", [2, 3])
def test_one_state_games_come_close_to_the_bound(lemma):
    out = sharpness_search(lemma, n_instances=2, n_states=(1,), budget=30, restarts=1)
    assert (out["M"] == 1).all()
    assert out["ratio"].max() > 0.9
    assert out["ratio"].max() <= 1 + 1e-9


# -- (5) reproducibility and (6) validation -------------------------------------------------------


def test_same_seed_same_records_and_instances_stand_alone():
    options = {"n_states": (1, 2), "n_agents": (2,), "budget": 4, "restarts": 1}
    a = sharpness_search(2, n_instances=3, seed=8, **options)
    b = sharpness_search(2, n_instances=3, seed=8, **options)
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    alone = search_instance(2, 8, 2, **options)
    assert all(np.array_equal(alone[key], a[key][2], equal_nan=True) for key in alone if key != "sizes")
    assert alone["sizes"] == a["sizes"][2]
    assert sharpness_search(2, n_instances=3, seed=9, **options)["gamma"].tolist() != a["gamma"].tolist()


def test_progress_counts_the_instances(capsys):
    sharpness_search(3, n_instances=2, budget=1, restarts=0, sweep=SweepOptions(progress=True))
    err = capsys.readouterr().err
    assert "2/2" in err and "sharpness-lemma3: 2 instances" in err


def test_the_search_does_not_depend_on_the_number_of_jobs(tmp_path):
    options = dict(n_instances=3, budget=2, restarts=0)
    serial = sharpness_search(2, **options)
    for other in (sharpness_search(2, sweep=SweepOptions(jobs=2), **options),
                  sharpness_search(2, sweep=SweepOptions(store=tmp_path / "s.jsonl"), **options)):
        for key in serial:
            x, y = np.asarray(serial[key]), np.asarray(other[key])
            assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), key


@pytest.mark.parametrize(("call", "name"), [
    (lambda: sharpness_search(4, n_instances=1), "lemma"),
    (lambda: sharpness_search(2, n_instances=0), "n_instances"),
    (lambda: sharpness_search(2, n_instances=1, seed=-1), "seed"),
    (lambda: sharpness_search(2, n_instances=1, n_states=()), "n_states"),
    (lambda: sharpness_search(2, n_instances=1, n_actions=(0,)), "n_actions"),
    (lambda: sharpness_search(2, n_instances=1, gamma_range=(0.5, 1.0)), "gamma_range"),
    (lambda: sharpness_search(2, n_instances=1, tau_fraction=1.5), "tau_fraction"),
    (lambda: sharpness_search(2, n_instances=1, tau_fraction=0.0), "tau_fraction"),
    (lambda: sharpness_search(2, n_instances=1, edge_prob=2.0), "edge_prob"),
    (lambda: sharpness_search(2, n_instances=1, theta_bound=0.0), "theta_bound"),
    (lambda: sharpness_search(2, n_instances=1, max_reward=-1.0), "max_reward"),
    (lambda: sharpness_search(2, n_instances=1, rounds=0), "rounds"),
    (lambda: search_instance(3, 0, -1), "index"),
    (lambda: worst_reward(*tiny_case(0, 3)[:2], -1.0, *tiny_case(0, 3)[3:]), "lam"),
    (lambda: worst_reward(*tiny_case(0, 3)[:4], -0.1), "tau"),
    (lambda: worst_reward(*tiny_case(0, 3)[:3], np.ones((2, 2)), 0.1), "comparator"),
    (lambda: worst_reward(*tiny_case(0, 3)[:3], np.full((2, 2, 2), 0.5), 0.1), "comparator"),
    (lambda: worst_point(game_232 := bnpg.games.random_game(1, (2, 3, 2), seed=0),
                         bnpg.BNPolicy(game_232, bnpg.DAG.chain(3)), 1.0, 0.1, lemma=3), "lemma 3"),
    (lambda: worst_point(*tiny_case(0, 3)[:3], 0.1, lemma=3, rounds=0), "rounds"),
])
def test_bad_input_raises_value_error_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_unknown_options_are_refused():
    with pytest.raises(TypeError, match="budgets"):
        sharpness_search(2, n_instances=1, budgets=3)


def test_inputs_are_not_mutated():
    game, policy, lam, comparator, tau = tiny_case(1, 2)
    kept = snapshot(comparator, *policy.theta, game.r)
    worst_reward(game, policy, lam, comparator, tau)
    assert all(np.array_equal(a, b) for a, b in zip(kept, [comparator, *policy.theta, game.r], strict=True))
