"""Best responses, Nash gap and optimality gap (Definitions 1-2), checked against independent solvers.

The independent solver is a linear program (``scipy.optimize.linprog`` with HiGHS) on an explicit MDP
whose reward and kernel are built by loops over joint actions:

* agent ``i``'s best response: at each state an action is a whole deterministic rule ``b -> c``
  (all ``|A^i|^{|A^{P^i}|}`` of them), and the joint policy is the BN policy with agent ``i``'s factor
  replaced by that rule, so the agents downstream of ``i`` keep reacting to its action;
* the optimal value: the MDP on joint actions.

On tiny games we also enumerate every deterministic (state-dependent) policy and evaluate each one.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from oracles import (
    best_response_mdp,
    deterministic_joint_by_hand,
    enumerated_best_response,
    evaluate_by_series,
    joint_actions,
    joint_by_loops,
    joint_mdp,
    local_probs,
    lp_optimal_values,
    policy_joint,
    rules_of,
)

import bnpg
from bnpg.model.policy import deterministic_joint, replace_local
from tests.conftest import random_game, random_policy, reversed_full_dag, snapshot

CASES = {
    "chain2": (0, 3, (2, 2), 0.9, bnpg.DAG.chain(2)),
    "mixed_back": (1, 3, (2, 3, 2), 0.8, bnpg.DAG([[2], [0, 2], []])),
    "reversed_full": (2, 2, (2, 3, 2), 0.95, reversed_full_dag(3)),
    "product3": (3, 4, (2, 2, 3), 0.7, bnpg.DAG.empty(3)),
    "gamma0": (4, 3, (3, 2), 0.0, bnpg.DAG([[1], []])),
    "sparse_kernel": (5, 4, (2, 2), 0.9, bnpg.DAG([[1], []])),
}


@pytest.fixture(params=sorted(CASES))
def case(request):
    seed, S, sizes, gamma, dag = CASES[request.param]
    kwargs = {"zero_fraction": 0.6} if request.param == "sparse_kernel" else {}
    game = random_game(seed, n_states=S, action_sizes=sizes, gamma=gamma, **kwargs)
    policy = random_policy(50 + seed, game, dag, scale=1.5)
    return game, policy


# --------------------------------------------------------------------------------------------
# Best responses against the LP
# --------------------------------------------------------------------------------------------


def test_best_response_matches_lp(case):
    game, policy = case
    for i in range(game.n_agents):
        R, K, _ = best_response_mdp(game, policy, i)
        V_lp = lp_optimal_values(R, K, game.gamma)
        sol = bnpg.best_response(game, policy, i)
        np.testing.assert_allclose(sol.V, V_lp, rtol=0, atol=1e-9)
        assert abs(sol.value - game.mu @ V_lp) <= 1e-9
        assert abs(bnpg.best_response_value(game, policy, i) - game.mu @ V_lp) <= 1e-9


def test_best_response_rule_attains_its_value(case):
    game, policy = case
    dag = policy.dag
    for i in range(game.n_agents):
        sol = bnpg.best_response(game, policy, i)
        assert sol.rule.shape == policy.theta[i].shape[:-1]
        assert sol.rule.dtype.kind == "i"
        local = np.zeros(policy.theta[i].shape)
        for idx in np.ndindex(sol.rule.shape):
            local[(*idx, sol.rule[idx])] = 1.0
        locals_ = local_probs(policy.theta)
        locals_[i] = local
        pi = joint_by_loops(game, dag, locals_)
        V, _, _ = evaluate_by_series(game, pi)
        np.testing.assert_allclose(V, sol.V, rtol=0, atol=1e-10 / (1 - game.gamma))


def test_no_stochastic_deviation_beats_the_best_response(case):
    game, policy = case
    rng = np.random.default_rng(9)
    locals_ = local_probs(policy.theta)
    for i in range(game.n_agents):
        best = bnpg.best_response_value(game, policy, i)
        for _ in range(20):
            trial = list(locals_)
            trial[i] = rng.dirichlet(np.ones(game.action_sizes[i]) * 0.5, size=locals_[i].shape[:-1])
            V, _, _ = evaluate_by_series(game, joint_by_loops(game, policy.dag, trial))
            assert game.mu @ V <= best + 1e-10


@pytest.mark.parametrize(
    "seed, sizes, dag",
    [
        (20, (2, 2, 2), bnpg.DAG.chain(3)),
        (21, (2, 3), bnpg.DAG([[1], []])),
        (22, (2, 2, 2), bnpg.DAG([[2], [0, 2], []])),
        (23, (3, 2), bnpg.DAG.empty(2)),
    ],
)
def test_best_response_by_enumeration(seed, sizes, dag):
    # Every deterministic, state-dependent policy of agent i: the joint policy by loops with agent
    # i's factor replaced, valued by the Neumann series (no bnpg numerics).
    game = random_game(seed, n_states=2, action_sizes=sizes, gamma=0.9)
    policy = random_policy(seed + 100, game, dag, scale=2.0)
    for i in range(game.n_agents):
        best = enumerated_best_response(game, policy, i)
        assert abs(bnpg.best_response_value(game, policy, i) - best) <= 1e-10


def test_replace_local_and_deterministic_joint(case):
    game, policy = case
    # Replacing a factor by itself gives back the joint policy.
    pi = policy_joint(policy)
    for i in range(game.n_agents):
        np.testing.assert_allclose(replace_local(policy, i, policy.local(i)), pi, rtol=1e-13, atol=0)
    flat_actions = np.arange(game.n_states) % game.n_joint_actions
    det = deterministic_joint(game, flat_actions)
    for s in range(game.n_states):
        a = np.unravel_index(flat_actions[s], game.action_sizes)
        assert det[(s, *a)] == 1.0 and det[s].sum() == 1.0


# --------------------------------------------------------------------------------------------
# Optimal value against the LP and enumeration
# --------------------------------------------------------------------------------------------


def test_optimal_value_matches_lp(case):
    game, _ = case
    R, K = joint_mdp(game)
    V_lp = lp_optimal_values(R, K, game.gamma)
    sol = bnpg.optimal_solution(game)
    np.testing.assert_allclose(sol.V, V_lp, rtol=0, atol=1e-9)
    assert abs(bnpg.optimal_value(game) - game.mu @ V_lp) <= 1e-9
    # The returned deterministic joint policy attains it.
    V, _, _ = evaluate_by_series(game, deterministic_joint(game, sol.rule))
    np.testing.assert_allclose(V, V_lp, rtol=0, atol=1e-9)


@pytest.mark.parametrize("seed, S, sizes", [(30, 2, (2, 2)), (31, 3, (2, 2)), (32, 2, (3, 2)), (33, 2, (2, 2, 2))])
def test_optimal_value_by_enumeration(seed, S, sizes):
    game = random_game(seed, n_states=S, action_sizes=sizes, gamma=0.85)
    best = max(
        float(game.mu @ evaluate_by_series(game, deterministic_joint_by_hand(game, choice))[0])
        for choice in itertools.product(range(game.n_joint_actions), repeat=S)
    )
    assert abs(bnpg.optimal_value(game) - best) <= 1e-10


def test_gaps_match_lp(case):
    game, policy = case
    V_pi, _, _ = evaluate_by_series(game, policy_joint(policy))
    value = game.mu @ V_pi
    R, K = joint_mdp(game)
    v_star = game.mu @ lp_optimal_values(R, K, game.gamma)
    br = [game.mu @ lp_optimal_values(*best_response_mdp(game, policy, i)[:2], game.gamma)
          for i in range(game.n_agents)]
    np.testing.assert_allclose(bnpg.nash_gaps(game, policy), np.array(br) - value, rtol=0, atol=1e-9)
    assert abs(bnpg.nash_gap(game, policy) - (max(br) - value)) <= 1e-9
    assert abs(bnpg.optimality_gap(game, policy) - (v_star - value)) <= 1e-9


def test_gap_ordering_over_random_policies():
    # 0 <= Nash-gap <= optimality-gap: a best response is one particular joint policy.
    rng = np.random.default_rng(0)
    for k in range(25):
        n = int(rng.integers(1, 4))
        sizes = tuple(int(x) for x in rng.integers(1, 4, size=n))
        game = random_game(1000 + k, n_states=int(rng.integers(1, 4)), action_sizes=sizes,
                           gamma=float(rng.uniform(0, 0.95)))
        dag = bnpg.DAG.random(n, 0.5, rng)
        policy = random_policy(2000 + k, game, dag, scale=float(rng.uniform(0.1, 5)))
        gaps = bnpg.nash_gaps(game, policy)
        assert np.all(gaps >= -1e-10)
        assert bnpg.nash_gap(game, policy) <= bnpg.optimality_gap(game, policy) + 1e-10


def test_fully_correlated_optimum_is_a_bn_policy():
    # With the complete DAG the optimal deterministic joint policy is representable; driving theta
    # towards it (entries +-1e4, probabilities exactly 0 or 1 in float64) closes both gaps.
    game = random_game(40, n_states=3, action_sizes=(2, 3), gamma=0.8)
    sol = bnpg.optimal_solution(game)
    dag = bnpg.DAG.full(2)
    theta = [np.full((3, 2), -1e4), np.full((3, 2, 3), -1e4)]
    for s in range(3):
        a0, a1 = np.unravel_index(sol.rule[s], game.action_sizes)
        theta[0][s, a0] = 1e4
        theta[1][s, :, a1] = 1e4
    policy = bnpg.BNPolicy(game, dag, theta)
    assert abs(bnpg.optimality_gap(game, policy)) <= 1e-12
    assert abs(bnpg.nash_gap(game, policy)) <= 1e-12


# --------------------------------------------------------------------------------------------
# Hand computations on one-state matching games
# --------------------------------------------------------------------------------------------


def test_matching_game_product_policy_by_hand(matching_game):
    # Pr[a^0 = 0] = p = 0.7, Pr[a^1 = 0] = q = 0.4, gamma = 0.5, one state (so every value is the
    # one-step expectation divided by 1 - gamma = 0.5):
    #   V = (p q + (1-p)(1-q)) / 0.5 = 0.92,
    #   agent 0's best response matches agent 1's likelier action: max(q, 1-q) / 0.5 = 1.2,
    #   agent 1's: max(p, 1-p) / 0.5 = 1.4,  optimum 1 / 0.5 = 2.
    theta = [np.log([[0.7, 0.3]]), np.log([[0.4, 0.6]])]
    policy = bnpg.BNPolicy(matching_game, bnpg.DAG.empty(2), theta)
    assert abs(bnpg.best_response_value(matching_game, policy, 0) - 1.2) <= 1e-14
    assert abs(bnpg.best_response_value(matching_game, policy, 1) - 1.4) <= 1e-14
    np.testing.assert_allclose(bnpg.nash_gaps(matching_game, policy), [0.28, 0.48], atol=1e-14)
    assert abs(bnpg.nash_gap(matching_game, policy) - 0.48) <= 1e-14
    assert bnpg.optimal_value(matching_game) == 2.0
    assert abs(bnpg.optimality_gap(matching_game, policy) - 1.08) <= 1e-14
    assert bnpg.best_response(matching_game, policy, 0).rule.tolist() == [1]
    assert bnpg.best_response(matching_game, policy, 1).rule.tolist() == [0]


def test_matching_game_chain_policy_by_hand(matching_game):
    # Chain 0 -> 1 with p = Pr[a^0 = 0] = 0.7, q0 = Pr[a^1 = 0 | a^0 = 0] = 0.2,
    # q1 = Pr[a^1 = 0 | a^0 = 1] = 0.9:  V = (p q0 + (1-p)(1-q1)) / 0.5 = (0.14 + 0.03) / 0.5 = 0.34.
    # Agent 1 sees a^0 and copies it: 1 / 0.5 = 2. Agent 0 picks the action agent 1 is likelier to
    # match: max(q0, 1 - q1) / 0.5 = 0.4.
    theta = [np.log([[0.7, 0.3]]), np.log([[[0.2, 0.8], [0.9, 0.1]]])]
    policy = bnpg.BNPolicy(matching_game, bnpg.DAG.chain(2), theta)
    assert abs(bnpg.value(matching_game, policy) - 0.34) <= 1e-14
    assert abs(bnpg.best_response_value(matching_game, policy, 0) - 0.4) <= 1e-14
    assert abs(bnpg.best_response_value(matching_game, policy, 1) - 2.0) <= 1e-14
    assert bnpg.best_response(matching_game, policy, 1).rule.tolist() == [[0, 1]]
    assert abs(bnpg.nash_gap(matching_game, policy) - 1.66) <= 1e-14


def test_descendants_keep_reacting_to_a_deviation():
    # Coordination game r = diag(2, 1), gamma = 0.5, chain 0 -> 1. Agent 0 plays 1; agent 1 plays
    # 1 after a^0 = 1 but *copies* a^0 = 0. Agent 0's deviation to 0 is then answered by agent 1
    # with 0, earning 2 / 0.5 = 4, against V = 1 / 0.5 = 2: Nash-gap 2. Had agent 1's response been
    # frozen at its marginal (always 1) the deviation would earn 0 and the gap would be 0.
    game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.diag([2.0, 1.0])[None], [1.0], 0.5)
    big = 1e4
    theta = [np.array([[-big, big]]), np.array([[[big, -big], [-big, big]]])]
    policy = bnpg.BNPolicy(game, bnpg.DAG.chain(2), theta)
    assert bnpg.value(game, policy) == 2.0
    assert bnpg.best_response_value(game, policy, 0) == 4.0
    assert bnpg.best_response_value(game, policy, 1) == 2.0
    assert bnpg.nash_gap(game, policy) == 2.0
    # The product policy (1, 1) is a strict Nash equilibrium that is not optimal.
    product = bnpg.BNPolicy(game, bnpg.DAG.empty(2), [np.array([[-big, big]])] * 2)
    assert bnpg.nash_gap(game, product) == 0.0
    assert bnpg.optimality_gap(game, product) == 2.0


def test_one_agent_game_best_response_is_the_optimum():
    # With a single agent, its best response is the optimal policy of the MDP.
    game = random_game(41, n_states=4, action_sizes=(3,), gamma=0.9)
    policy = random_policy(42, game, bnpg.DAG.empty(1))
    assert abs(bnpg.best_response_value(game, policy, 0) - bnpg.optimal_value(game)) <= 1e-12
    assert abs(bnpg.nash_gap(game, policy) - bnpg.optimality_gap(game, policy)) <= 1e-12


def test_gaps_do_not_mutate(case):
    game, policy = case
    theta_before = snapshot(*policy.theta)
    game_before = snapshot(game.P, game.r, game.mu)
    joint_before = policy.joint().copy()
    bnpg.nash_gap(game, policy)
    bnpg.optimality_gap(game, policy)
    bnpg.best_response(game, policy, 0)
    replace_local(policy, 0, policy.local(0))
    for a, b in zip(policy.theta, theta_before, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip((game.P, game.r, game.mu), game_before, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(policy.joint(), joint_before)


def test_joint_actions_helper_is_complete():
    # Guard for the enumeration helpers used above.
    assert len(joint_actions((2, 3, 2))) == 12
    game = random_game(0, n_states=1, action_sizes=(2, 3))
    _, rules = rules_of(game, bnpg.DAG([[1], []]), 0)
    assert len(rules) == 2**3


def near_tie_game(delta, n_dummy_actions=None):
    r"""Two states, gamma = 0.9, start in state 0. In state 0, action 0 earns 1 and stays; action 1
    earns 0 and moves to state 1, which earns c and returns to state 0. Staying is worth 10;
    alternating is worth 0.9 c / 0.19, set to 10 + delta. Immediate reward favours staying, so policy
    iteration must notice a gain of 0.19 delta to find the optimum. With a dummy second agent (whose
    action changes nothing) the same problem is agent 0's best response."""
    c = (10.0 + delta) * 0.19 / 0.9
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = 1.0
    P[0, 1, 1] = 1.0
    P[1, :, 0] = 1.0
    r = np.array([[1.0, 0.0], [c, c]])
    if n_dummy_actions:
        P = np.repeat(P[:, :, None, :], n_dummy_actions, axis=2)
        r = np.repeat(r[:, :, None], n_dummy_actions, axis=2)
    return bnpg.MarkovGame(P, r, [1.0, 0.0], 0.9)


@pytest.mark.parametrize("delta", [1e-7, 1e-9])
def test_policy_iteration_resolves_near_ties(delta):
    game = near_tie_game(delta)
    sol = bnpg.optimal_solution(game)
    assert sol.rule[0] == 1
    assert abs(sol.value - (10.0 + delta)) <= 1e-12
    R, K = joint_mdp(game)
    assert abs(game.mu @ lp_optimal_values(R, K, game.gamma) - (10.0 + delta)) <= 1e-9
    # The same decision as agent 0's best response, agent 1 being a dummy.
    game2 = near_tie_game(delta, n_dummy_actions=2)
    policy = bnpg.BNPolicy(game2, bnpg.DAG.empty(2))
    br = bnpg.best_response(game2, policy, 0)
    assert br.rule[0] == 1
    assert abs(br.value - (10.0 + delta)) <= 1e-12
    # And the optimal value when staying is better by delta.
    assert abs(bnpg.optimal_value(near_tie_game(-delta)) - 10.0) <= 1e-12
