"""The two classes of deviation of a best response: Definition 1's (state and parents' actions) and
the state-only class of Chen and Zhang's code, checked by enumeration and against each other.

Enumeration: every deterministic, state-dependent rule of the deviating agent (for the state class,
the rules that ignore the parents' actions), the joint policy built by loops with the agent's factor
replaced, valued by the Neumann series; no bnpg numerics.
"""

from __future__ import annotations

import numpy as np
import pytest
from oracles import enumerated_best_response, evaluate_by_series, joint_by_loops, local_probs

import bnpg
from tests.conftest import random_game, random_policy

CASES = [
    (30, (2, 2, 2), bnpg.DAG.chain(3)),
    (31, (2, 3), bnpg.DAG([[1], []])),          # the edge runs against index order
    (32, (2, 2, 2), bnpg.DAG([[2], [0, 2], []])),
    (33, (3, 2), bnpg.DAG.full(2)),
    (34, (2, 2, 2), bnpg.DAG.empty(3)),
]


@pytest.mark.parametrize("seed, sizes, dag", CASES)
def test_state_class_by_enumeration(seed, sizes, dag):
    game = random_game(seed, n_states=2, action_sizes=sizes, gamma=0.9)
    policy = random_policy(seed + 100, game, dag, scale=2.0)
    V, _, _ = evaluate_by_series(game, joint_by_loops(game, dag, local_probs(policy.theta)))
    value = float(game.mu @ V)
    gaps = bnpg.nash_gaps(game, policy, deviation="state")
    for i in range(game.n_agents):
        best = enumerated_best_response(game, policy, i, state_only=True)
        assert abs(bnpg.best_response_value(game, policy, i, deviation="state") - best) <= 1e-10
        assert abs(gaps[i] - (best - value)) <= 1e-10
        sol = bnpg.best_response(game, policy, i, deviation="state")
        assert sol.rule.shape == (game.n_states,)


@pytest.mark.parametrize("seed, sizes, dag", CASES)
def test_parents_class_by_enumeration(seed, sizes, dag):
    game = random_game(seed, n_states=2, action_sizes=sizes, gamma=0.9)
    policy = random_policy(seed + 100, game, dag, scale=2.0)
    for i in range(game.n_agents):
        best = enumerated_best_response(game, policy, i, state_only=False)
        assert abs(bnpg.best_response_value(game, policy, i, deviation="parents") - best) <= 1e-10


@pytest.mark.parametrize("seed", range(12))
def test_state_class_never_beats_definition_1(seed):
    # 0 <= max_i g_i(state) <= max_i g_i(parents), agent by agent g_i(state) <= g_i(parents), and
    # equality for agents without parents.
    rng = np.random.default_rng(seed)
    sizes = tuple(int(k) for k in rng.integers(2, 4, size=int(rng.integers(2, 4))))
    game = random_game(seed, n_states=int(rng.integers(1, 4)), action_sizes=sizes, gamma=0.8)
    dag = bnpg.DAG.random(len(sizes), 0.7, seed)
    policy = random_policy(seed + 7, game, dag, scale=3.0)
    state = bnpg.nash_gaps(game, policy, deviation="state")
    parents = bnpg.nash_gaps(game, policy)
    tol = 1e-10
    assert np.all(state <= parents + tol)
    assert np.all(parents >= -tol)
    for i in range(len(sizes)):
        if not dag.parents(i):
            assert abs(state[i] - parents[i]) <= tol
    assert -tol <= bnpg.nash_gap(game, policy, deviation="state") <= bnpg.nash_gap(game, policy) + tol


def test_classes_agree_on_product_policies():
    game = random_game(3, n_states=3, action_sizes=(2, 3, 2))
    policy = random_policy(4, game, bnpg.DAG.empty(3), scale=2.0)
    np.testing.assert_allclose(bnpg.nash_gaps(game, policy, deviation="state"),
                               bnpg.nash_gaps(game, policy), rtol=0, atol=1e-12)


def test_state_gap_of_an_agent_with_parents_can_be_negative():
    # One state, gamma = 0, reward 1 for matching; agent 0 uniform, agent 1 copies it with
    # probability p = softmax(2, 0)[0]. V = p. A state-only deviation of agent 1 matches with
    # probability 1/2, so its gap is 1/2 - p < 0; Definition 1's deviation copies exactly: 1 - p.
    game = bnpg.games.matching_game(2, 2, gamma=0.0)
    theta = [np.zeros((1, 2)), np.array([[[2.0, 0.0], [0.0, 2.0]]])]
    policy = bnpg.BNPolicy(game, bnpg.DAG.chain(2), theta)
    p = np.exp(2.0) / (np.exp(2.0) + 1.0)
    state = bnpg.nash_gaps(game, policy, deviation="state")
    assert abs(state[1] - (0.5 - p)) <= 1e-15
    assert abs(bnpg.nash_gaps(game, policy)[1] - (1 - p)) <= 1e-15
    assert abs(state[0]) <= 1e-15   # agent 0's deviations do not change agent 1's copying


def test_a_state_only_equilibrium_that_definition_1_rejects():
    # The uniform chain policy on the matching game: no state-only deviation gains, but agent 1
    # gains 1/2 by copying agent 0 (Definition 1).
    game = bnpg.games.matching_game(2, 2, gamma=0.0)
    policy = bnpg.BNPolicy(game, bnpg.DAG.chain(2))
    assert bnpg.nash_gap(game, policy, deviation="state") == 0.0
    assert bnpg.nash_gap(game, policy) == 0.5


@pytest.mark.parametrize("fn", [bnpg.nash_gap, bnpg.nash_gaps])
def test_unknown_deviation_class_is_refused(fn):
    game = bnpg.games.matching_game(2, 2)
    with pytest.raises(ValueError, match="deviation must be one of"):
        fn(game, bnpg.BNPolicy(game, bnpg.DAG.chain(2)), deviation="joint")
    with pytest.raises(ValueError, match="deviation"):
        bnpg.best_response(game, bnpg.BNPolicy(game, bnpg.DAG.chain(2)), 0, deviation=None)
