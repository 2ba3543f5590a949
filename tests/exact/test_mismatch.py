"""The mismatch coefficient M of Lemma 2 and the per-state visitation extremes (Assumption 1).

M = max over pairs of policies of max_s d^pi(s) / d^pi'(s). Checks: no sampled pair of policies
(stochastic joint, deterministic, BN) exceeds M; the two deterministic policies bnpg returns attain
it; on tiny games, enumerating every deterministic joint policy gives the same extremes; a game
violating Assumption 1 gives M = inf.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from oracles import deterministic_joint_by_hand, evaluate_by_series, policy_joint

import bnpg
from tests.conftest import random_game, random_policy, snapshot

GAMES = {
    "dense": (0, 3, (2, 2), 0.9, {}),
    "mixed": (1, 3, (2, 3, 2), 0.7, {}),
    "sparse": (2, 4, (2, 2), 0.8, {"zero_fraction": 0.5}),
    "one_agent": (3, 4, (3,), 0.95, {}),
}


@pytest.fixture(params=sorted(GAMES))
def game(request):
    seed, S, sizes, gamma, kwargs = GAMES[request.param]
    return random_game(seed, n_states=S, action_sizes=sizes, gamma=gamma, **kwargs)


def sampled_visitations(game, rng, n_each=20):
    """d_mu of random stochastic joint policies, deterministic joint policies and BN policies."""
    S, shape = game.n_states, game.r.shape
    ds = []
    for _ in range(n_each):
        alpha = rng.choice([0.1, 1.0])
        pi = rng.dirichlet(np.full(game.n_joint_actions, alpha), size=S).reshape(shape)
        ds.append(evaluate_by_series(game, pi)[2])
        det = deterministic_joint_by_hand(game, rng.integers(0, game.n_joint_actions, size=S))
        ds.append(evaluate_by_series(game, det)[2])
        dag = bnpg.DAG.random(game.n_agents, 0.5, rng)
        policy = random_policy(int(rng.integers(1 << 30)), game, dag, scale=float(rng.uniform(0.5, 6)))
        ds.append(evaluate_by_series(game, policy_joint(policy))[2])
    return np.array(ds)


def test_no_sampled_pair_exceeds_m(game):
    M = bnpg.mismatch_coefficient(game)
    assert np.isfinite(M) and M >= 1.0
    ds = sampled_visitations(game, np.random.default_rng(1))
    assert np.all(ds > 0)
    ratios = (ds[:, None, :] / ds[None, :, :]).max(axis=-1)  # every ordered pair
    assert ratios.max() <= M * (1 + 1e-9)
    ext = bnpg.visitation_extremes(game)
    assert np.all(ds >= ext.d_min * (1 - 1e-9))
    assert np.all(ds <= ext.d_max * (1 + 1e-9))


def test_returned_deterministic_policies_attain_m(game):
    ext = bnpg.visitation_extremes(game)
    M = bnpg.mismatch_coefficient(game)
    assert ext.argmax.shape == ext.argmin.shape == (game.n_states, game.n_states)
    for x in range(game.n_states):
        d_hi = evaluate_by_series(game, deterministic_joint_by_hand(game, ext.argmax[x]))[2]
        d_lo = evaluate_by_series(game, deterministic_joint_by_hand(game, ext.argmin[x]))[2]
        assert abs(d_hi[x] - ext.d_max[x]) <= 1e-12 / (1 - game.gamma)
        assert abs(d_lo[x] - ext.d_min[x]) <= 1e-12 / (1 - game.gamma)
    x_star = int(np.argmax(ext.d_max / ext.d_min))
    d_hi = evaluate_by_series(game, deterministic_joint_by_hand(game, ext.argmax[x_star]))[2]
    d_lo = evaluate_by_series(game, deterministic_joint_by_hand(game, ext.argmin[x_star]))[2]
    assert abs((d_hi / d_lo).max() - M) <= 1e-10 * M
    assert abs(d_hi[x_star] / d_lo[x_star] - M) <= 1e-10 * M


@pytest.mark.parametrize(
    "seed, S, sizes, gamma, kwargs",
    [
        (10, 2, (2, 2), 0.9, {}),
        (11, 3, (2, 2), 0.6, {}),
        (12, 3, (2, 2), 0.8, {"zero_fraction": 0.5}),
        (13, 2, (3, 2), 0.95, {}),
        (14, 3, (3,), 0.99, {}),
    ],
)
def test_extremes_by_enumeration(seed, S, sizes, gamma, kwargs):
    game = random_game(seed, n_states=S, action_sizes=sizes, gamma=gamma, **kwargs)
    ds = np.array([
        evaluate_by_series(game, deterministic_joint_by_hand(game, np.array(choice)))[2]
        for choice in itertools.product(range(game.n_joint_actions), repeat=S)
    ])
    ext = bnpg.visitation_extremes(game)
    np.testing.assert_allclose(ext.d_min, ds.min(axis=0), rtol=0, atol=1e-10)
    np.testing.assert_allclose(ext.d_max, ds.max(axis=0), rtol=0, atol=1e-10)
    np.testing.assert_allclose(bnpg.min_visitation(game), ds.min(axis=0), rtol=0, atol=1e-10)
    M = (ds.max(axis=0) / ds.min(axis=0)).max()
    assert abs(bnpg.mismatch_coefficient(game) - M) <= 1e-10 * M


def test_hand_computed_coordination_example():
    # Two agents, two states, gamma = 0.5, mu = (1/2, 1/2). From any state the next state is 1 with
    # probability 0.8 if both agents play 1 and 0.2 otherwise. A policy that reaches state 1 with
    # probability p at every step gives d(1) = mu(1) + p gamma / (1 - gamma) = 0.5 + p, so
    # d(1) ranges over [0.7, 1.3] and d(0) = 2 - d(1) over [0.7, 1.3] too: M = 1.3 / 0.7 = 13/7.
    P = np.empty((2, 2, 2, 2))
    P[..., 1] = 0.2
    P[:, 1, 1, 1] = 0.8
    P[..., 0] = 1.0 - P[..., 1]
    game = bnpg.MarkovGame(P, np.zeros((2, 2, 2)), [0.5, 0.5], 0.5)
    ext = bnpg.visitation_extremes(game)
    np.testing.assert_allclose(ext.d_min, [0.7, 0.7], rtol=1e-14)
    np.testing.assert_allclose(ext.d_max, [1.3, 1.3], rtol=1e-14)
    assert abs(bnpg.mismatch_coefficient(game) - 13 / 7) <= 1e-14
    # The maximiser of d(1) plays (1, 1) in both states; the minimiser avoids it.
    assert ext.argmax[1].tolist() == [3, 3]
    assert all(a != 3 for a in ext.argmin[1])


def test_assumption_1_violated():
    # Start in state 0 for sure; joint action (0, 0) stays there, anything else moves to state 1,
    # which then stays put. Policy (0, 0) never visits state 1: min d(1) = 0, so M = inf.
    P = np.zeros((2, 2, 2, 2))
    P[0, ..., 1] = 1.0
    P[0, 0, 0] = [1.0, 0.0]
    P[1, ..., 1] = 1.0
    game = bnpg.MarkovGame(P, np.zeros((2, 2, 2)), [1.0, 0.0], 0.9)
    d_min = bnpg.min_visitation(game)
    assert d_min[1] == 0.0
    assert abs(d_min[0] - 1.0) <= 1e-12  # leave at once: only t = 0 counts
    assert bnpg.mismatch_coefficient(game) == np.inf
    ext = bnpg.visitation_extremes(game)
    assert abs(ext.d_max[0] - 10.0) <= 1e-12 and abs(ext.d_max[1] - 9.0) <= 1e-12


def test_assumption_1_via_mu_alone():
    # A state that no action ever leads to but mu charges: d(s) >= mu(s) > 0 and M finite.
    P = np.zeros((2, 2, 2))
    P[:, :, 0] = 1.0  # everything moves to state 0
    game = bnpg.MarkovGame(P, np.zeros((2, 2)), [0.25, 0.75], 0.5)
    np.testing.assert_allclose(bnpg.min_visitation(game), [1.25, 0.75], rtol=1e-14)
    assert abs(bnpg.mismatch_coefficient(game) - 1.0) <= 1e-14


def test_m_does_not_mutate(game):
    before = snapshot(game.P, game.r, game.mu)
    bnpg.mismatch_coefficient(game)
    bnpg.visitation_extremes(game)
    for a, b in zip((game.P, game.r, game.mu), before, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("seed", range(5))
def test_assumption_1_violated_in_random_games(seed):
    # State 3 is reachable only when agent 0 plays 1 and mu gives it no mass: the policy in which
    # agent 0 always plays 0 never visits it, so min d(3) = 0 exactly and M = inf.
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(4), size=(4, 2, 2))
    P[:, 0, :, 3] = 0.0
    P /= P.sum(axis=-1, keepdims=True)
    mu = np.array([0.2, 0.3, 0.5, 0.0])
    game = bnpg.MarkovGame(P, rng.uniform(-1, 1, size=(4, 2, 2)), mu, 0.9)
    d_min = bnpg.min_visitation(game)
    assert d_min[3] == 0.0
    assert np.all(d_min[:3] > 0)
    assert bnpg.mismatch_coefficient(game) == np.inf
    # The minimiser of d(3) indeed has agent 0 playing 0 wherever it matters, and its d(3) is 0.
    argmin = bnpg.visitation_extremes(game).argmin[3]
    assert evaluate_by_series(game, deterministic_joint_by_hand(game, argmin))[2][3] == 0.0


def test_gamma_zero_visitation_is_mu():
    # With gamma = 0, d_mu^pi = mu for every policy: M = 1 when mu has full support.
    game = random_game(7, n_states=3, action_sizes=(2, 2), gamma=0.0)
    ext = bnpg.visitation_extremes(game)
    np.testing.assert_allclose(ext.d_min, game.mu, rtol=1e-15)
    np.testing.assert_allclose(ext.d_max, game.mu, rtol=1e-15)
    assert abs(bnpg.mismatch_coefficient(game) - 1.0) <= 1e-14
