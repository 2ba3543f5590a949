"""The theorems' parameters (bnpg.theory.constants.theory_setting) and the dynamics run with them
(bnpg.dynamics.convergence): first crossings, envelopes, gains."""

from __future__ import annotations

import math

import numpy as np
import pytest

import bnpg
from bnpg.dynamics import convergence
from bnpg.games import library as games
from bnpg.theory import constants
from tests.conftest import random_game, random_policy

# --------------------------------------------------------------------------------------------
# The theorems' parameters, by hand
# --------------------------------------------------------------------------------------------


def test_theory_setting_theorem1_by_hand():
    # Matching game: one state, two agents with two actions, rewards in [0, 1], gamma = 1/2, M = 1.
    # eps = 1/2: lambda = eps / (2 M) = 1/4; product DAG, |A^{P^i}| = 1:
    #   beta = 8 * 2 * 1 / (1/2)^3 + 2 * (1/4) * (1 + 1) = 129,
    #   tau = lambda / (2 |S| |A| max|A^i|) = (1/4) / (2 * 1 * 4 * 2) = 1/64.
    game = games.matching_game(2, 2, gamma=0.5)
    s = constants.theory_setting(game, bnpg.DAG.empty(2), 0.5, theorem=1)
    assert (s.theorem, s.eps, s.M, s.lam, s.metric) == (1, 0.5, 1.0, 0.25, "nash_gap")
    assert s.beta == 129.0 and s.eta == 1 / 129.0
    assert s.threshold == 1 / 64


def test_theory_setting_theorem2_by_hand():
    # Same game, full DAG on two agents: lambda = eps / (2^(N+1) N M) = (1/2) / 16 = 1/32,
    #   beta = 128 + 2 * (1/32) * (1/1 + 1/2) = 128 + 3/32, tau = (1/32) / 16 = 1/512.
    game = games.matching_game(2, 2, gamma=0.5)
    s = constants.theory_setting(game, bnpg.DAG.full(2), 0.5, theorem=2)
    assert (s.lam, s.metric) == (1 / 32, "optimality_gap")
    assert s.beta == pytest.approx(128 + 3 / 32, rel=1e-15)
    assert s.threshold == 1 / 512


def test_theory_setting_given_M_and_three_agents():
    # N = 3, two states, sizes (2, 3, 2), M given as 2: Theorem 2's lambda = eps / (16 * 3 * 2).
    game = random_game(0, n_states=2, action_sizes=(2, 3, 2), gamma=0.5)
    s = constants.theory_setting(game, bnpg.DAG.full(3), 0.96, theorem=2, M=2.0)
    assert s.lam == pytest.approx(0.96 / 96, rel=1e-15)
    assert s.threshold == pytest.approx(s.lam / (2 * 2 * 12 * 3), rel=1e-15)
    assert s.beta == bnpg.smoothness_bound(game, bnpg.DAG.full(3), s.lam)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(theorem=3), ValueError, "theorem must be 1 or 2, got 3"),
        (dict(theorem=True), TypeError, "theorem must be the int 1 or 2, got bool"),
        (dict(theorem=1.0), TypeError, "theorem must be the int 1 or 2, got float"),
        (dict(theorem=1, M=0.5), ValueError, "M must be >= 1"),
        (dict(theorem=2), ValueError, "theorem 2 needs a fully-correlated DAG"),  # the product DAG
    ],
)
def test_theory_setting_rejects(kwargs, error, message):
    game = games.matching_game(2, 2, gamma=0.5)
    with pytest.raises(error, match=message):
        constants.theory_setting(game, bnpg.DAG.empty(2), 0.5, **kwargs)


def test_theory_setting_rejects_bad_eps_and_dag():
    game = games.matching_game(2, 2, gamma=0.5)
    with pytest.raises(ValueError, match="eps"):
        constants.theory_setting(game, bnpg.DAG.empty(2), 0.0, theorem=1)
    with pytest.raises(ValueError, match="agents"):
        constants.theory_setting(game, bnpg.DAG.empty(3), 0.5, theorem=1)
    with pytest.raises(TypeError, match="dag"):
        constants.theory_setting(game, [[], [0]], 0.5, theorem=1)


# --------------------------------------------------------------------------------------------
# Gains and envelopes
# --------------------------------------------------------------------------------------------


def test_gains_on_the_matching_game():
    # Uniform product policy: V = (1/2) / (1 - 1/2) = 1, V* = 2, barrier 0, so the gain is 1.
    game = games.matching_game(2, 2, gamma=0.5)
    dag = bnpg.DAG.empty(2)
    assert constants.value_range_bound(game) == 2.0
    assert convergence.actual_gain(game, bnpg.BNPolicy(game, dag), 0.25) == pytest.approx(1.0, abs=1e-15)
    # theta = (D, 0) and (0, D): each agent's KL(Unif || pi) = sum_a (1/2) log((1/2) / pi(a))
    # = -log 2 + (D + 2 log(1 + e^-D)) / 2 and V = 2 p (1 - p) / (1 - gamma) with p = e^-D / (1 + e^-D),
    # so the gain is 2 - V + lambda (D - 2 log 2) up to terms of order e^-D (4e-18 here).
    D, lam = 40.0, 0.25
    far = bnpg.BNPolicy(game, dag, theta=[np.array([[D, 0.0]]), np.array([[0.0, D]])])
    assert convergence.actual_gain(game, far, lam) == pytest.approx(2 + lam * (D - 2 * math.log(2)), rel=1e-12)


def test_gradient_envelope_and_running_min_by_hand():
    env = convergence.gradient_envelope(2.0, 4.0, np.array([1, 4, 16]))   # sqrt(16 / T)
    np.testing.assert_allclose(env, [4.0, 2.0, 1.0], rtol=1e-15)
    assert convergence.running_min([5.0, 3.0, 4.0, 1.0]).tolist() == [5.0, 3.0, 3.0, 1.0]
    with pytest.raises(ValueError, match="T"):
        convergence.gradient_envelope(1.0, 1.0, [0])
    with pytest.raises(TypeError, match="T"):
        convergence.gradient_envelope(1.0, 1.0, [1.5])
    with pytest.raises(ValueError, match="gain"):
        convergence.gradient_envelope(1.0, -1.0, [1])


def test_envelope_violations_by_hand():
    # beta = 1, gain = 2: the envelope at T = t + 1 is 2 / sqrt(t + 1): 2, 1.41, 1, 0.5 at t = 0, 1, 3, 15.
    steps = np.array([0, 1, 3, 15])
    norms = np.array([1.5, 1.6, 1.2, 0.6])   # running minimum 1.5, 1.5, 1.2, 0.6
    assert convergence.envelope_violations(steps, norms, 1.0, 2.0).tolist() == [1, 3, 15]
    with pytest.raises(ValueError, match="increasing"):
        convergence.envelope_violations([0, 0], [1.0, 1.0], 1.0, 1.0)
    with pytest.raises(ValueError, match="shape"):
        convergence.envelope_violations([0, 1], [1.0], 1.0, 1.0)


def test_corrected_bound_with_the_proofs_gain_is_the_rederived_bound():
    # 2 beta (r_max - r_min) / ((1 - gamma) tau^2) from the setting, against the corrected bound.
    for theorem, dag in ((1, bnpg.DAG.chain(2)), (2, bnpg.DAG.full(2))):
        game = random_game(3, n_states=2, action_sizes=(2, 3), gamma=0.6)
        s = constants.theory_setting(game, dag, 0.1, theorem=theorem)
        direct = 2 * s.beta * (game.r_max - game.r_min) / ((1 - game.gamma) * s.threshold**2)
        corrected = constants.iteration_bound(game, dag, 0.1, theorem=theorem, form="corrected", M=s.M)
        assert direct == pytest.approx(corrected, rel=1e-12)


# --------------------------------------------------------------------------------------------
# First crossings
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dag_kind", ["empty", "chain"])
def test_first_crossing_matches_every_step_inspection(dag_kind):
    game = random_game(11, n_states=2, action_sizes=(2, 2), gamma=0.5)
    dag = getattr(bnpg.DAG, dag_kind)(2)
    start = random_policy(5, game, dag)
    eps = 0.25 * bnpg.nash_gap(game, start)
    s = constants.theory_setting(game, dag, eps, theorem=1)
    eta = 20 * s.eta   # a larger step keeps the every-step inspection short
    run = convergence.first_crossing(game, start, lam=s.lam, eta=eta, eps=eps, metric="nash_gap",
                                   max_steps=5000, stop_at_crossing=True)
    dense = bnpg.gradient_ascent(game, start, lam=s.lam, eta=eta, steps=5000, metrics=("nash_gap",),
                                 stop_below={"nash_gap": eps})
    assert run.reached and run.crossing.first_below == dense.first_step_below("nash_gap", eps)
    assert run.T_observed == run.crossing.first_below + 1
    # the crossing and its predecessor were both inspected
    k = int(np.searchsorted(run.crossing.gap_steps, run.crossing.first_below))
    assert run.crossing.gap_steps[k] == run.crossing.first_below and run.crossing.gaps[k] <= eps
    assert run.crossing.gap_steps[k - 1] == run.crossing.first_below - 1 and run.crossing.gaps[k - 1] > eps


def test_first_crossing_of_the_optimality_gap():
    game = games.climbing_game(gamma=0.5)
    dag = bnpg.DAG.full(2)
    s = constants.theory_setting(game, dag, 2.0, theorem=2)
    eta = 50 * s.eta
    run = convergence.first_crossing(game, bnpg.BNPolicy(game, dag), lam=s.lam, eta=eta, eps=2.0,
                                   metric="optimality_gap", max_steps=20_000, growth=1.5, split=4)
    dense = bnpg.gradient_ascent(game, bnpg.BNPolicy(game, dag), lam=s.lam, eta=eta, steps=20_000,
                                 metrics=("optimality_gap",), stop_below={"optimality_gap": 2.0})
    assert run.crossing.first_below == dense.first_step_below("optimality_gap", 2.0)
    assert run.n_steps == 20_000 and run.crossing.checkpoints[-1] == 20_000


def _matching_scalar_crossing(D, lam, eta, eps, gamma):
    """First t with Nash gap <= eps for the symmetric start (D, 0), (0, D) on the matching game.

    An independent route: the symmetric dynamics reduce to one logit x = theta[1] - theta[0] of agent
    1 (agent 2 mirrors it), with p = sigmoid(x), Nash gap (1-p)(1-2p)/(1-gamma) and
    x <- x + 2 eta g(p), g(p) = p(1-p)(1-2p)/(1-gamma) + lam (1/2 - p).
    """
    x, t = -D, 0
    while True:
        p = 1.0 / (1.0 + math.exp(-x))
        if (1 - p) * (1 - 2 * p) / (1 - gamma) <= eps:
            return t
        x += 2 * eta * (p * (1 - p) * (1 - 2 * p) / (1 - gamma) + lam * (0.5 - p))
        t += 1


def test_first_crossing_from_a_far_start_matches_the_scalar_recursion():
    game = games.matching_game(2, 2, gamma=0.5)
    dag = bnpg.DAG.empty(2)
    s = constants.theory_setting(game, dag, 0.5, theorem=1)
    D = 6.0
    far = bnpg.BNPolicy(game, dag, theta=[np.array([[D, 0.0]]), np.array([[0.0, D]])])
    run = convergence.first_crossing(game, far, lam=s.lam, eta=s.eta, eps=0.5, metric="nash_gap",
                                   max_steps=100_000, stop_at_crossing=True)
    assert run.crossing.first_below == _matching_scalar_crossing(D, s.lam, s.eta, 0.5, 0.5)
    assert np.all(np.diff(run.crossing.gaps) <= 0)


def test_crossing_at_the_start_and_not_reached():
    game = games.matching_game(2, 2, gamma=0.5)
    dag = bnpg.DAG.empty(2)
    uniform = bnpg.BNPolicy(game, dag)   # a Nash equilibrium: gap 0
    run = convergence.first_crossing(game, uniform, lam=0.1, eta=0.01, eps=0.1, metric="nash_gap",
                                   max_steps=10, stop_at_crossing=True)
    assert run.crossing.first_below == 0 and run.T_observed == 1 and run.steps.tolist() == [0]
    # its optimality gap is 1 and stays 1: the uniform product policy is a fixed point of the dynamics
    stuck = convergence.first_crossing(game, uniform, lam=0.1, eta=0.01, eps=0.5,
                                     metric="optimality_gap", max_steps=50)
    assert not stuck.reached and stuck.T_observed is None and stuck.crossing.max_gap_after_crossing() is None
    np.testing.assert_allclose(stuck.crossing.gaps, 1.0, rtol=0, atol=1e-14)


def test_records_and_input_not_modified():
    game = random_game(2, n_states=2, action_sizes=(2, 2), gamma=0.5)
    dag = bnpg.DAG.chain(2)
    start = random_policy(1, game, dag)
    before = start.flat().copy()
    run = convergence.first_crossing(game, start, lam=0.01, eta=0.05, eps=1e-9, metric="nash_gap",
                                   max_steps=300, records_per_segment=4)
    assert np.array_equal(start.flat(), before)
    # records: strictly increasing steps from 0 to the horizon, aligned with gradient_ascent's values
    assert run.steps[0] == 0 and run.steps[-1] == 300 and np.all(np.diff(run.steps) > 0)
    ref = bnpg.gradient_ascent(game, start, lam=0.01, eta=0.05, steps=300, record_every=1)
    np.testing.assert_allclose(run.objective, ref.objective[run.steps], rtol=1e-12)
    np.testing.assert_allclose(run.grad_norm, ref.grad_norm[run.steps], rtol=1e-10)
    np.testing.assert_allclose(run.policy.flat(), ref.policy.flat(), rtol=1e-12)
    assert set(run.crossing.checkpoints.tolist()) <= set(run.crossing.gap_steps.tolist()) <= set(range(301))


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(metric="value"), ValueError, "metric must be one of"),
        (dict(eps=0.0), ValueError, "eps must be > 0, got 0.0"),
        (dict(eta=-1.0), ValueError, "eta must be > 0, got -1.0"),
        (dict(lam=-0.1), ValueError, "lam must be >= 0, got -0.1"),
        (dict(max_steps=-1), ValueError, "max_steps must be >= 0, got -1"),
        (dict(max_steps=1.5), TypeError, "max_steps must be an integer, got float"),
        (dict(growth=1.0), ValueError, "growth must be > 1, got 1.0"),
        (dict(split=1), ValueError, "split must be >= 2, got 1"),
        (dict(records_per_segment=0), ValueError, "records_per_segment must be >= 1, got 0"),
        (dict(stop_at_crossing=1), TypeError, "stop_at_crossing must be a bool, got int"),
        (dict(backend="gpu"), ValueError, "backend must be 'auto', 'numpy' or 'numba'"),
    ],
)
def test_first_crossing_rejects(kwargs, error, message):
    game = games.matching_game(2, 2, gamma=0.5)
    args = dict(lam=0.1, eta=0.01, eps=0.1, metric="nash_gap", max_steps=10)
    args.update(kwargs)
    with pytest.raises(error, match=message):
        convergence.first_crossing(game, bnpg.BNPolicy(game, bnpg.DAG.empty(2)), **args)


def test_first_crossing_rejects_a_policy_of_another_game():
    game = games.matching_game(2, 2, gamma=0.5)
    other = games.matching_game(2, 3, gamma=0.5)
    with pytest.raises(ValueError, match="different game"):
        convergence.first_crossing(game, bnpg.BNPolicy(other, bnpg.DAG.empty(2)), lam=0.1, eta=0.01,
                                 eps=0.1, metric="nash_gap", max_steps=10)
