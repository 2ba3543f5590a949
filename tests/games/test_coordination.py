"""The coordination game of Chen and Zhang (ICML 2023): transitions and rewards checked by hand,
their DAG constructors, and the optimum in closed form."""

from __future__ import annotations

import itertools
from math import comb

import numpy as np
import pytest

import bnpg
from bnpg.games.coordination import (
    coordination_game,
    coordination_reward,
    predecessor_dag,
    predecessor_scale,
    state_bits,
)


def test_two_agent_transitions_by_hand():
    # Bits are (agent 0, agent 1), agent 0 most significant: states 00, 01, 10, 11 = 0, 1, 2, 3.
    # Each next bit copies the agent's action w.p. 0.9; the current state does not matter.
    game = coordination_game(2, eps=0.1, gamma=0.95)
    expected = {
        (0, 0): [0.81, 0.09, 0.09, 0.01],
        (0, 1): [0.09, 0.81, 0.01, 0.09],
        (1, 0): [0.09, 0.01, 0.81, 0.09],
        (1, 1): [0.01, 0.09, 0.09, 0.81],
    }
    for s in range(4):
        for a, row in expected.items():
            np.testing.assert_allclose(game.P[(s, *a)], row, rtol=0, atol=1e-15)


def test_two_agent_rewards_by_hand():
    # |zeros - ones| = 2 > margin 1 at 00 (pays 3) and 11 (pays 2); the split states pay 0.
    game = coordination_game(2)
    for s, pay in enumerate([3.0, 0.0, 0.0, 2.0]):
        assert np.all(game.r[s] == pay)
    np.testing.assert_array_equal(game.mu, np.full(4, 0.25))
    assert game.gamma == 0.95


def test_three_and_five_agent_rewards_by_counting():
    # n = 3, margin 1: one zero and two ones pays 1, two zeros pays 0, unanimity 3 (zeros) or 2.
    by_zeros3 = {3: 3.0, 2: 0.0, 1: 1.0, 0: 2.0}
    r3 = coordination_reward(3)
    for s, bits in enumerate(itertools.product((0, 1), repeat=3)):
        assert r3[s] == by_zeros3[bits.count(0)]
    # n = 5, margin 2: four or five zeros pay 3, four or five ones pay 2, three ones 1, three zeros 0.
    r5 = coordination_reward(5)
    counts = {pay: int((r5 == pay).sum()) for pay in (0.0, 1.0, 2.0, 3.0)}
    assert counts == {3.0: comb(5, 0) + comb(5, 1), 2.0: 6, 1.0: comb(5, 2), 0.0: comb(5, 3)}
    assert r5[0] == 3.0 and r5[31] == 2.0 and r5[0b00111] == 1.0 and r5[0b00011] == 0.0


def test_state_bits_agent_zero_first():
    assert state_bits(3)[0b100].tolist() == [1, 0, 0]
    assert state_bits(3)[0b001].tolist() == [0, 0, 1]


@pytest.mark.parametrize("n", [2, 3, 5])
def test_optimum_in_closed_form(n):
    # P does not depend on s, so V*(s) = r(s) + gamma * rbar / (1 - gamma), rbar the best expected
    # next reward over joint actions: all zeros, where the number of flipped bits is Binomial(n, eps).
    eps, gamma = 0.1, 0.95
    r = coordination_reward(n)
    bits = state_bits(n)
    best = -np.inf
    for target in range(2**n):  # expected next reward of every joint action, by counting flips
        flips = (bits != bits[target]).sum(axis=1)
        best = max(best, float(np.sum(eps**flips * (1 - eps) ** (n - flips) * r)))
    ones = bits.sum(axis=1)
    rbar_zeros = sum(comb(n, k) * eps**k * (1 - eps) ** (n - k) * r[ones == k][0] for k in range(n + 1))
    assert abs(best - rbar_zeros) <= 1e-13
    expected = r.mean() + gamma * best / (1 - gamma)
    assert abs(bnpg.optimal_value(coordination_game(n, eps, gamma)) - expected) <= 1e-11 * expected


def test_their_dags():
    assert predecessor_dag("all_ones", 4) == bnpg.DAG.full(4)
    assert predecessor_dag("all_zeros", 4) == bnpg.DAG.empty(4)
    # "line" stops one agent short: range(n - 2) edges, the last agent isolated.
    assert predecessor_dag("line", 2).n_edges == 0
    assert predecessor_dag("line", 3).edges == ((0, 1),)
    assert predecessor_dag("line", 5).edges == ((0, 1), (1, 2), (2, 3))
    assert predecessor_dag("line", 5).parents(4) == () and predecessor_dag("line", 5).children(3) == ()
    assert predecessor_dag("chain", 5) == bnpg.DAG.chain(5)


def test_scale_of_their_initial_weights():
    for n in (2, 3, 5):
        assert predecessor_scale(n) == pytest.approx(2**n * (1 / n), rel=1e-15)


def test_values_rescale_by_their_weights():
    # Their J = mu0 @ V with mu0 = 1/n per state: the same V, a different weight vector.
    n = 3
    game = coordination_game(n)
    policy = bnpg.BNPolicy.random(game, bnpg.DAG.full(n), seed=0)
    V = bnpg.evaluate(game, policy).V
    assert abs(np.full(2**n, 1 / n) @ V - predecessor_scale(n) * bnpg.value(game, policy)) <= 1e-12 * abs(V).max()


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="n"):
        coordination_game(0)
    with pytest.raises(ValueError, match="eps"):
        coordination_game(2, eps=1.5)
    with pytest.raises(ValueError, match="gamma"):
        coordination_game(2, gamma=1.0)
    with pytest.raises(ValueError, match="n=4 has no margin"):
        coordination_game(4)
    assert coordination_game(4, margin=1).n_states == 16
    with pytest.raises(ValueError, match="margin"):
        coordination_reward(3, margin=-1)
    with pytest.raises(ValueError, match="name must be one of"):
        predecessor_dag("tree", 3)
