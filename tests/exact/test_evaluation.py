"""Exact evaluation: V, Q, d_mu, partial-action values and local advantages (Sections 2-3, Lemma 1).

Independent routes: value iteration run to a certified 1e-13 error, the Neumann series summed by
repeated squaring (with its remainder bound), the truncated visitation series, and explicit loops
over joint actions for every conditional expectation.
"""

from __future__ import annotations

import numpy as np
import pytest
from oracles import (
    evaluate_by_series,
    family_to_theta,
    joint_actions,
    kernel_by_loops,
    partial_q_by_loops,
    policy_joint,
)

import bnpg
from tests.conftest import random_game, random_policy, reversed_full_dag, snapshot

CASES = [
    # (game seed, n_states, action sizes, gamma, dag)
    (0, 3, (2, 2), 0.9, bnpg.DAG.chain(2)),
    (1, 4, (2, 3, 2), 0.8, bnpg.DAG([[2], [0, 2], []])),
    (2, 2, (3, 2), 0.0, bnpg.DAG([[1], []])),
    (3, 3, (2, 2, 2), 0.95, reversed_full_dag(3)),
    (4, 5, (2, 2, 3), 0.5, bnpg.DAG.empty(3)),
]


@pytest.fixture(params=range(len(CASES)), ids=[f"case{k}" for k in range(len(CASES))])
def case(request):
    seed, S, sizes, gamma, dag = CASES[request.param]
    game = random_game(seed, n_states=S, action_sizes=sizes, gamma=gamma)
    policy = random_policy(100 + seed, game, dag, scale=1.5)
    return game, policy


def value_iteration(game, pi, tol=1e-13):
    r"""``V <- r_pi + gamma P_pi V`` until the certified error ``gamma/(1-gamma) ||V_k - V_{k-1}||`` is below ``tol``."""
    P_pi, r_pi = kernel_by_loops(game, pi)
    V = np.zeros(game.n_states)
    g = game.gamma
    while True:
        new = r_pi + g * P_pi @ V
        step = np.max(np.abs(new - V))
        V = new
        if g == 0 or g / (1 - g) * step <= tol:
            return V


def test_value_matches_value_iteration(case):
    game, policy = case
    pi = policy_joint(policy)
    V_vi = value_iteration(game, pi)
    ev = bnpg.evaluate(game, policy)
    np.testing.assert_allclose(ev.V, V_vi, rtol=0, atol=1e-11)
    assert abs(ev.value - game.mu @ V_vi) <= 1e-11
    assert abs(bnpg.value(game, policy) - game.mu @ V_vi) <= 1e-11


def test_value_q_and_d_match_the_neumann_series(case):
    game, policy = case
    V, Q, d = evaluate_by_series(game, policy_joint(policy))
    ev = bnpg.evaluate(game, policy)
    scale = 1.0 / (1.0 - game.gamma)
    np.testing.assert_allclose(ev.V, V, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(ev.Q, Q, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(ev.d, d, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(bnpg.visitation(game, policy), d, rtol=0, atol=1e-12 * scale)
    assert ev.Q.shape == game.r.shape and ev.V.shape == ev.d.shape == (game.n_states,)


def test_q_bellman_identity(case):
    game, policy = case
    ev = bnpg.evaluate(game, policy)
    for s in range(game.n_states):
        for a in joint_actions(game.action_sizes):
            expected = game.r[(s, *a)] + game.gamma * sum(
                game.P[(s, *a, t)] * ev.V[t] for t in range(game.n_states)
            )
            assert abs(ev.Q[(s, *a)] - expected) <= 1e-12 * (1 + abs(expected))


def test_v_is_the_policy_average_of_q(case):
    game, policy = case
    ev = bnpg.evaluate(game, policy)
    pi = policy_joint(policy)
    for s in range(game.n_states):
        total = sum(pi[(s, *a)] * ev.Q[(s, *a)] for a in joint_actions(game.action_sizes))
        assert abs(ev.V[s] - total) <= 1e-12 * (1 + abs(total))


def test_visitation_sums_to_one_over_one_minus_gamma(case):
    game, policy = case
    d = bnpg.visitation(game, policy)
    assert np.all(d >= 0)
    assert abs(d.sum() - 1.0 / (1.0 - game.gamma)) <= 1e-12 / (1.0 - game.gamma)
    # d_mu(s) >= mu(s): the t = 0 term of the series.
    assert np.all(d >= game.mu - 1e-14)


def test_visitation_is_the_discounted_series(case):
    r"""``d = sum_t gamma^t mu P_pi^t``, truncated at T with remainder at most ``gamma^T / (1 - gamma)``."""
    game, policy = case
    P_pi, _ = kernel_by_loops(game, policy_joint(policy))
    g = game.gamma
    T = 1 if g == 0 else int(np.ceil(np.log(1e-14 * (1 - g)) / np.log(g)))
    term = game.mu.copy()
    total = np.zeros(game.n_states)
    for _ in range(T):
        total += term
        term = g * term @ P_pi
    bound = (g**T) / (1 - g)
    assert bound <= 1.01e-14
    d = bnpg.visitation(game, policy)
    assert np.all(d >= total - 1e-12)  # the remainder is non-negative
    assert np.all(d <= total + bound + 1e-12)


def test_value_equals_d_weighted_reward(case):
    # V(mu) = sum_s d_mu(s) r_pi(s): the unnormalised d carries the 1/(1-gamma) itself.
    game, policy = case
    ev = bnpg.evaluate(game, policy)
    _, r_pi = kernel_by_loops(game, policy_joint(policy))
    assert abs(ev.value - ev.d @ r_pi) <= 1e-12 / (1 - game.gamma)


def test_evaluate_joint_accepts_any_joint_policy(case):
    game, _ = case
    rng = np.random.default_rng(7)
    pi = rng.dirichlet(np.ones(game.n_joint_actions), size=game.n_states).reshape(game.r.shape)
    ev = bnpg.exact.evaluation.evaluate_joint(game, pi)
    V, Q, d = evaluate_by_series(game, pi)
    scale = 1.0 / (1.0 - game.gamma)
    np.testing.assert_allclose(ev.V, V, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(ev.Q, Q, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(ev.d, d, rtol=0, atol=1e-12 * scale)


def test_hand_computed_values(matching_game):
    # Matching game, gamma = 0.5, product policy with Pr[a^0 = 0] = 0.7, Pr[a^1 = 0] = 0.4:
    # r_pi = 0.7 * 0.4 + 0.3 * 0.6 = 0.46, V = 0.46 / (1 - 0.5) = 0.92,
    # Q(a) = r(a) + 0.5 * 0.92, d = 1 / (1 - 0.5) = 2.
    theta = [np.log([[0.7, 0.3]]), np.log([[0.4, 0.6]])]
    policy = bnpg.BNPolicy(matching_game, bnpg.DAG.empty(2), theta)
    ev = bnpg.evaluate(matching_game, policy)
    assert abs(ev.value - 0.92) <= 1e-15
    np.testing.assert_allclose(ev.Q[0], np.eye(2) + 0.46, rtol=1e-15)
    np.testing.assert_allclose(ev.d, [2.0], rtol=1e-15)


# --------------------------------------------------------------------------------------------
# Partial-action values and local advantages
# --------------------------------------------------------------------------------------------


SUBSETS = ([], [0], [1], [0, 1], [1, 0], [2], [0, 2], [1, 2], [0, 1, 2])


def test_partial_q_by_brute_force(case):
    game, policy = case
    pi = policy_joint(policy)
    _, Q, _ = evaluate_by_series(game, pi)
    tol = 1e-11 / (1 - game.gamma)
    for members in SUBSETS:
        if any(j >= game.n_agents for j in members):
            continue
        got = bnpg.partial_q(game, policy, members)
        expected = partial_q_by_loops(game, pi, Q, members)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=0, atol=tol)


def test_partial_q_extremes(case):
    game, policy = case
    ev = bnpg.evaluate(game, policy)
    scale = 1.0 / (1.0 - game.gamma)
    # M empty: Q(s, a^{}) = E_a Q(s, a) = V(s). M = everyone: Q itself.
    np.testing.assert_allclose(bnpg.partial_q(game, policy, []), ev.V, atol=1e-12 * scale, rtol=0)
    everyone = range(game.n_agents)
    np.testing.assert_allclose(bnpg.partial_q(game, policy, everyone), ev.Q, atol=1e-12 * scale, rtol=0)
    # Passing a ready evaluation gives the same numbers.
    np.testing.assert_array_equal(bnpg.partial_q(game, policy, [0], ev), bnpg.partial_q(game, policy, [0]))


def test_local_advantage_definition(case):
    # A^i(s, b, c) = Q(s, a^{P^i_+} = (b, c)) - Q(s, a^{P^i} = b), by loops, in theta's layout.
    game, policy = case
    pi = policy_joint(policy)
    _, Q, _ = evaluate_by_series(game, pi)
    dag = policy.dag
    tol = 1e-11 / (1 - game.gamma)
    for i in range(game.n_agents):
        parents = dag.parents(i)
        q_family = family_to_theta(game, dag, i, partial_q_by_loops(game, pi, Q, (*parents, i)))
        q_parents = partial_q_by_loops(game, pi, Q, parents)
        expected = q_family - q_parents[..., None]
        got = bnpg.local_advantage(game, policy, i)
        assert got.shape == policy.theta[i].shape
        np.testing.assert_allclose(got, expected, rtol=0, atol=tol)
        # The advantage averages to zero under the local policy.
        local = policy.local(i)
        np.testing.assert_allclose((local * got).sum(axis=-1), 0.0, rtol=0, atol=tol)


def test_local_advantage_for_an_edge_from_a_higher_index():
    # Agent 0 observes agent 2: theta[0] axes are (s, a^2, a^0); the family's joint axes are (0, 2).
    game = random_game(21, n_states=2, action_sizes=(3, 2, 2), gamma=0.7)
    dag = bnpg.DAG([[2], [], []])
    policy = random_policy(22, game, dag, scale=2.0)
    pi = policy_joint(policy)
    _, Q, _ = evaluate_by_series(game, pi)
    q_fam = partial_q_by_loops(game, pi, Q, [0, 2])  # axes (s, a^0, a^2)
    q_par = partial_q_by_loops(game, pi, Q, [2])  # axes (s, a^2)
    expected = q_fam.transpose(0, 2, 1) - q_par[..., None]
    np.testing.assert_allclose(bnpg.local_advantage(game, policy, 0), expected, rtol=0, atol=1e-12)


def test_hand_computed_local_advantage(matching_game):
    # Chain 0 -> 1, uniform: Q(a) = 1[a^0 = a^1] + 0.5 V with V = 0.5 / 0.5 = 1.
    # Q(s, a^0, a^1) - Q(s, a^0) = 1[a^0 = a^1] - 0.5.
    policy = bnpg.BNPolicy(matching_game, bnpg.DAG.chain(2))
    np.testing.assert_allclose(bnpg.local_advantage(matching_game, policy, 1)[0], np.eye(2) - 0.5, atol=1e-15)
    np.testing.assert_allclose(bnpg.local_advantage(matching_game, policy, 0), 0.0, atol=1e-15)


def test_partial_q_nan_where_undefined():
    game = random_game(0, n_states=1, action_sizes=(2, 2), gamma=0.5)
    policy = bnpg.BNPolicy(game, bnpg.DAG.empty(2), [[[0.0, -1e4]], [[0.0, 0.0]]])
    q0 = bnpg.partial_q(game, policy, [0])
    assert np.isnan(q0[0, 1]) and np.isfinite(q0[0, 0])


def test_evaluation_does_not_mutate(case):
    game, policy = case
    theta_before = snapshot(*policy.theta)
    game_before = snapshot(game.P, game.r, game.mu)
    bnpg.evaluate(game, policy)
    bnpg.partial_q(game, policy, [0])
    bnpg.local_advantage(game, policy, 0)
    for a, b in zip(policy.theta, theta_before, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip((game.P, game.r, game.mu), game_before, strict=True):
        np.testing.assert_array_equal(a, b)


def test_evaluation_results_are_read_only(case):
    game, policy = case
    ev = bnpg.evaluate(game, policy)
    for arr in (ev.V, ev.Q, ev.d):
        assert not arr.flags.writeable
