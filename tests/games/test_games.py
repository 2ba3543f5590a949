"""The game library (bnpg.games), checked against the published matrices and the written design.

Every expected array is written out here, independently of bnpg.games: the climbing and penalty
payoffs as printed by Claus and Boutilier (1998), the matching reward by a loop, and the search game's
reward and transitions by enumerating sets of cells and per-cell Bernoulli outcomes (bnpg.games uses
bitmask arithmetic). Optimal values of the one-state games are computed by hand
(V* = max payoff / (1 - gamma), since the state never changes); the search game's optimal values by
an independent linear program (oracles.lp_optimal_values) on the joint-action MDP.
"""

from __future__ import annotations

import itertools
from collections import deque

import numpy as np
import pytest
from oracles import joint_mdp, lp_optimal_values

import bnpg
from bnpg.games.library import (
    climbing_game,
    matching_game,
    penalty_game,
    penalty_payoff,
    random_game,
    search_game,
)
from tests.conftest import snapshot

# Claus and Boutilier (1998), rows: agent 0, columns: agent 1.
CLIMBING = [[11, -30, 0], [-30, 7, 6], [0, 0, 5]]


def penalty_matrix(k):
    return [[10, 0, k], [0, 2, 0], [k, 0, 10]]


def deterministic_product(game, actions, big=50.0):
    """A product policy putting mass 1 - O(exp(-big)) on ``actions`` (one per agent) in every state."""
    theta = []
    for i, a in enumerate(actions):
        t = np.zeros((game.n_states, game.action_sizes[i]))
        t[:, a] = big
        theta.append(t)
    return bnpg.BNPolicy(game, bnpg.DAG.empty(game.n_agents), theta)


# -- the one-state games ------------------------------------------------------------------------


@pytest.mark.parametrize("gamma", [0.0, 0.5, 0.9, 0.99])
def test_climbing_game_matches_the_published_matrix_and_its_optimal_value(gamma):
    game = climbing_game(gamma=gamma)
    assert game.n_states == 1 and game.action_sizes == (3, 3) and game.gamma == gamma
    assert np.array_equal(game.r[0], np.array(CLIMBING, dtype=float))
    assert np.array_equal(game.P, np.ones((1, 3, 3, 1)))
    assert np.array_equal(game.mu, [1.0])
    # one state visited forever: V* = 11 / (1 - gamma)
    assert bnpg.optimal_value(game) == pytest.approx(11 / (1 - gamma), rel=1e-12)


def test_climbing_game_uniform_partner_makes_the_optimal_action_look_worst():
    # gamma = 0: Q(a0) under a uniform partner is the row mean of the payoff matrix
    game = climbing_game(gamma=0.0)
    q0 = bnpg.partial_q(game, bnpg.BNPolicy(game, bnpg.DAG.empty(2)), [0])[0]
    assert np.allclose(q0, [-19 / 3, -17 / 3, 5 / 3], rtol=0, atol=1e-14)
    assert q0.argmax() == 2 and q0.argmin() == 0


def test_climbing_game_equilibria_as_documented():
    gamma = 0.5
    game = climbing_game(gamma=gamma)
    # (1, 1) is a Nash equilibrium: against column 1 the rows pay (-30, 7, 0), against row 1 the
    # columns pay (-30, 7, 6); both agents already play the best.
    assert bnpg.nash_gap(game, deterministic_product(game, (1, 1))) < 1e-12
    assert bnpg.nash_gap(game, deterministic_product(game, (0, 0))) < 1e-12
    # (2, 2) is not: agent 0 switching to row 1 earns 6 instead of 5 per step.
    assert bnpg.nash_gap(game, deterministic_product(game, (2, 2))) == pytest.approx(
        (6 - 5) / (1 - gamma), rel=1e-9
    )
    # the suboptimal equilibrium (1, 1) loses (11 - 7) / (1 - gamma)
    assert bnpg.optimality_gap(game, deterministic_product(game, (1, 1))) == pytest.approx(
        (11 - 7) / (1 - gamma), rel=1e-9
    )


@pytest.mark.parametrize("k", [0.0, -3.0, -10.0, -100.0])
@pytest.mark.parametrize("gamma", [0.0, 0.9])
def test_penalty_game_matches_the_published_matrix_and_its_optimal_value(k, gamma):
    game = penalty_game(k=k, gamma=gamma)
    assert game.n_states == 1 and game.action_sizes == (3, 3)
    assert np.array_equal(game.r[0], np.array(penalty_matrix(k), dtype=float))
    assert np.array_equal(game.P, np.ones((1, 3, 3, 1)))
    assert bnpg.optimal_value(game) == pytest.approx(10 / (1 - gamma), rel=1e-12)
    assert np.array_equal(penalty_payoff(k), np.array(penalty_matrix(k), dtype=float))


@pytest.mark.parametrize("k", [-3.0, -8.0, -10.0])
def test_penalty_game_uniform_partner_values(k):
    game = penalty_game(k=k, gamma=0.0)
    q0 = bnpg.partial_q(game, bnpg.BNPolicy(game, bnpg.DAG.empty(2)), [0])[0]
    assert np.allclose(q0, [(10 + k) / 3, 2 / 3, (10 + k) / 3], rtol=0, atol=1e-14)
    # the safe action is preferred exactly when k < -8
    assert (q0[1] > q0[0]) == (k < -8)


def test_penalty_game_safe_equilibrium():
    game = penalty_game(k=-10, gamma=0.5)
    safe = deterministic_product(game, (1, 1))
    assert bnpg.nash_gap(game, safe) < 1e-12  # deviating from (1, 1) earns 0 instead of 2
    assert bnpg.optimality_gap(game, safe) == pytest.approx((10 - 2) / 0.5, rel=1e-9)


@pytest.mark.parametrize("n_agents, n_actions", [(1, 3), (2, 2), (2, 3), (3, 2), (3, 3)])
def test_matching_game_reward_value_and_uniform_equilibrium(n_agents, n_actions):
    gamma = 0.8
    game = matching_game(n_agents, n_actions, gamma=gamma)
    assert game.n_states == 1 and game.action_sizes == (n_actions,) * n_agents
    for a in itertools.product(range(n_actions), repeat=n_agents):
        assert game.r[(0, *a)] == (1.0 if len(set(a)) == 1 else 0.0)
    assert bnpg.optimal_value(game) == pytest.approx(1 / (1 - gamma), rel=1e-12)
    uniform = bnpg.BNPolicy(game, bnpg.DAG.empty(n_agents))
    # n matching joint actions out of n^N, each of probability n^-N
    assert bnpg.value(game, uniform) == pytest.approx(
        n_actions ** (1 - n_agents) / (1 - gamma), rel=1e-12
    )
    # every unilateral deviation matches the others with the same probability: gap 0
    assert bnpg.nash_gap(game, uniform) == pytest.approx(0.0, abs=1e-12)


# -- random games ------------------------------------------------------------------------------


def test_random_game_is_reproducible_and_seed_dependent():
    a = random_game(3, (2, 3), seed=5, sparsity=0.4, reward_range=(-1, 2))
    b = random_game(3, (2, 3), seed=5, sparsity=0.4, reward_range=(-1, 2))
    c = random_game(3, (2, 3), seed=6, sparsity=0.4, reward_range=(-1, 2))
    assert a == b and a != c
    # a Generator is drawn from: the same fresh Generator gives the same game
    d = random_game(3, (2, 3), seed=np.random.default_rng(5), sparsity=0.4, reward_range=(-1, 2))
    e = random_game(3, (2, 3), seed=np.random.default_rng(5), sparsity=0.4, reward_range=(-1, 2))
    assert d == e


@pytest.mark.parametrize(
    "n_states, sparsity, zeros", [(4, 0.0, 0), (4, 0.25, 1), (4, 0.5, 2), (4, 0.74, 2),
                                  (4, 0.75, 3), (4, 1.0, 3), (1, 1.0, 0), (5, 0.6, 3)]
)
def test_random_game_sparsity_counts_zeros_per_row(n_states, sparsity, zeros):
    # zeros = min(floor(sparsity * S), S - 1), written out by hand in the parameters
    game = random_game(n_states, (2, 2), seed=1, sparsity=sparsity)
    rows = game.P.reshape(-1, n_states)
    assert np.all((rows == 0).sum(axis=1) == zeros)
    assert np.allclose(rows.sum(axis=1), 1.0, rtol=0, atol=1e-14)


def test_random_game_rewards_and_default_mu():
    lo, hi = -2.0, 3.0
    game = random_game(40, (4, 5), seed=2, reward_range=(lo, hi), gamma=0.7)
    r = game.r.ravel()
    assert r.min() >= lo and r.max() < hi
    # 800 i.i.d. uniform draws: the mean is within 4 standard errors of (lo + hi) / 2
    assert abs(r.mean() - (lo + hi) / 2) < 4 * (hi - lo) / np.sqrt(12 * r.size)
    assert np.array_equal(game.mu, np.full(40, 1 / 40))
    assert game.gamma == 0.7
    constant = random_game(2, (2,), seed=0, reward_range=(1.5, 1.5))
    assert np.all(constant.r == 1.5)


def test_random_game_uniform_mu_guarantees_assumption_1():
    # d(s) >= mu(s) = 1/S for every policy, and d(s) <= 1/(1-gamma), so M <= S / (1 - gamma)
    for seed in range(5):
        game = random_game(3, (2, 2), seed=seed, sparsity=1.0, gamma=0.8)
        assert np.all(bnpg.min_visitation(game) >= 1 / 3 - 1e-12)
        assert bnpg.mismatch_coefficient(game) <= 3 / (1 - 0.8) + 1e-9


def reachable(game, flat_actions, start):
    """States reachable from ``start`` under a deterministic joint policy, by breadth-first search."""
    P = game.P.reshape(game.n_states, -1, game.n_states)
    seen, queue = set(start), deque(start)
    while queue:
        s = queue.popleft()
        for t in np.flatnonzero(P[s, flat_actions[s]] > 0):
            if int(t) not in seen:
                seen.add(int(t))
                queue.append(int(t))
    return seen


def test_random_game_with_point_mass_mu_and_sparse_p_can_break_assumption_1():
    mu = [1.0, 0.0, 0.0, 0.0]
    failures = 0
    for seed in range(10):
        game = random_game(4, (2, 2), seed=seed, sparsity=1.0, mu=mu)
        assert np.array_equal(game.mu, mu)
        ext = bnpg.visitation_extremes(game)
        for x in np.flatnonzero(ext.d_min == 0):
            # independent check: under the minimising policy, x is not reachable from state 0
            assert x not in reachable(game, ext.argmin[x], [0])
            failures += 1
        if np.any(ext.d_min == 0):
            assert bnpg.mismatch_coefficient(game) == np.inf
    assert failures > 0


def test_random_game_does_not_modify_its_inputs():
    mu = np.array([0.2, 0.3, 0.5])
    sizes = [2, 2]
    (before,) = snapshot(mu)
    random_game(3, sizes, seed=0, mu=mu)
    assert np.array_equal(mu, before) and sizes == [2, 2]


@pytest.mark.parametrize(
    "kwargs, error, name",
    [
        (dict(n_states=0), ValueError, "n_states"),
        (dict(n_states=2.0), TypeError, "n_states"),
        (dict(action_sizes=3), TypeError, "action_sizes"),
        (dict(action_sizes=[]), ValueError, "action_sizes"),
        (dict(action_sizes=[2, 0]), ValueError, r"action_sizes\[1\]"),
        (dict(action_sizes=[2, 1.5]), TypeError, r"action_sizes\[1\]"),
        (dict(seed="a"), TypeError, "seed"),
        (dict(seed=1.5), TypeError, "seed"),
        (dict(gamma=1.0), ValueError, "gamma"),
        (dict(gamma="0.5"), TypeError, "gamma"),
        (dict(sparsity=-0.1), ValueError, "sparsity"),
        (dict(sparsity=1.1), ValueError, "sparsity"),
        (dict(reward_range=(1.0, 0.0)), ValueError, "reward_range"),
        (dict(reward_range=(0.0,)), ValueError, "reward_range"),
        (dict(reward_range=5), TypeError, "reward_range"),
        (dict(reward_range=(0.0, np.inf)), ValueError, r"reward_range\[1\]"),
        (dict(mu=[0.5, 0.5]), ValueError, "mu"),
        (dict(mu=[0.5, 0.6, -0.1]), ValueError, "mu"),
    ],
)
def test_random_game_rejects_bad_arguments(kwargs, error, name):
    args = dict(n_states=3, action_sizes=(2, 2), seed=0)
    args.update(kwargs)
    with pytest.raises(error, match=name):
        random_game(args.pop("n_states"), args.pop("action_sizes"), **args)


# -- the search game ---------------------------------------------------------------------------


def search_design(n_agents, n_cells, p):
    """Reward and transitions of the documented design, by sets of cells and per-cell outcomes."""
    cells = range(n_cells)
    subsets = [frozenset(c for c in cells if code >> c & 1) for code in range(2**n_cells)]
    index = {u: code for code, u in enumerate(subsets)}
    S = len(subsets)
    r = np.zeros((S,) + (n_cells,) * n_agents)
    P = np.zeros((S,) + (n_cells,) * n_agents + (S,))
    for U in subsets:
        s = index[U]
        for a in itertools.product(cells, repeat=n_agents):
            chosen = set(a)
            r[(s, *a)] = len(U & chosen)
            remaining = U - chosen
            # each cell: still needed -> needed; otherwise needed with probability p
            for outcome in itertools.product([False, True], repeat=n_cells):
                prob = 1.0
                for c in cells:
                    if c in remaining:
                        prob *= 1.0 if outcome[c] else 0.0
                    else:
                        prob *= p if outcome[c] else 1.0 - p
                nxt = frozenset(c for c in cells if outcome[c])
                P[(s, *a, index[nxt])] += prob
    return r, P


@pytest.mark.parametrize("n_agents, n_cells, p", [(2, 3, 0.5), (2, 2, 0.3), (3, 2, 0.7), (1, 3, 0.2)])
def test_search_game_matches_the_design(n_agents, n_cells, p):
    game = search_game(n_agents, n_cells, p_new=p, gamma=0.9)
    r, P = search_design(n_agents, n_cells, p)
    assert game.n_states == 2**n_cells and game.action_sizes == (n_cells,) * n_agents
    assert np.array_equal(game.r, r)
    assert np.allclose(game.P, P, rtol=0, atol=1e-15)
    mu = np.zeros(2**n_cells)
    mu[0] = 1.0
    assert np.array_equal(game.mu, mu)


@pytest.mark.parametrize("n_agents, n_cells, p, gamma", [(2, 3, 0.5, 0.9), (2, 4, 0.3, 0.8)])
def test_search_game_assumption_1_and_finite_m(n_agents, n_cells, p, gamma):
    game = search_game(n_agents, n_cells, p_new=p, gamma=gamma)
    d_min = bnpg.min_visitation(game)
    # hand bound: d(0) >= mu(0) = 1 and d(U) >= gamma p^|U| (1 - p)^(n_cells - |U|) (one step from 0)
    size = np.array([bin(s).count("1") for s in range(game.n_states)])
    lower = gamma * p**size * (1 - p) ** (n_cells - size)
    lower[0] = 1.0
    assert np.all(d_min >= lower * (1 - 1e-12))
    M = bnpg.mismatch_coefficient(game)
    assert np.isfinite(M) and M <= (1 / (1 - gamma)) / lower.min() * (1 + 1e-12)


def test_search_game_optimal_value_and_greedy_covering():
    n_agents, n_cells, p, gamma = 2, 3, 0.5, 0.9
    game = search_game(n_agents, n_cells, p_new=p, gamma=gamma)
    R, K = joint_mdp(game)
    v_lp = lp_optimal_values(R, K, gamma)
    sol = bnpg.optimal_solution(game)
    assert np.allclose(sol.V, v_lp, rtol=1e-8, atol=0)
    # the documented optimal behaviour: cover min(|U|, N) distinct cells of U in every state
    for s in range(game.n_states):
        a = np.unravel_index(sol.rule[s], game.action_sizes)
        U = {c for c in range(n_cells) if s >> c & 1}
        assert len(U & set(int(x) for x in a)) == min(len(U), n_agents)


def test_search_game_product_gradient_keeps_identical_agents_identical():
    # the game is symmetric in the agents, so equal parameters get equal exact gradients
    game = search_game(2, 3, p_new=0.4, gamma=0.9)
    rng = np.random.default_rng(3)
    t = rng.standard_normal((game.n_states, 3))
    policy = bnpg.BNPolicy(game, bnpg.DAG.empty(2), [t, t])
    g0, g1 = bnpg.gradient(game, policy, lam=0.01)
    assert np.allclose(g0, g1, rtol=0, atol=1e-14)


@pytest.mark.parametrize(
    "kwargs, error, name",
    [
        (dict(n_agents=0), ValueError, "n_agents"),
        (dict(n_cells=0), ValueError, "n_cells"),
        (dict(n_cells=2.5), TypeError, "n_cells"),
        (dict(p_new=0.0), ValueError, "p_new"),
        (dict(p_new=1.0), ValueError, "p_new"),
        (dict(gamma=-0.1), ValueError, "gamma"),
        (dict(mu=[1.0, 0.0]), ValueError, "mu"),
    ],
)
def test_search_game_rejects_bad_arguments(kwargs, error, name):
    with pytest.raises(error, match=name):
        search_game(**kwargs)


@pytest.mark.parametrize(
    "call, error, name",
    [
        (lambda: climbing_game(gamma=1.0), ValueError, "gamma"),
        (lambda: penalty_game(k=1.0), ValueError, "k"),
        (lambda: penalty_game(k="a"), TypeError, "k"),
        (lambda: penalty_game(gamma=True), TypeError, "gamma"),
        (lambda: matching_game(0, 2), ValueError, "n_agents"),
        (lambda: matching_game(2, 0), ValueError, "n_actions"),
        (lambda: matching_game(2, 2, gamma=1.5), ValueError, "gamma"),
    ],
)
def test_single_state_games_reject_bad_arguments(call, error, name):
    with pytest.raises(error, match=name):
        call()
