"""The sharpened Lemmas 2 and 3 (bnpg.theory.sharpened): every step of the proofs, checked on its own.

The module's docstring proves the two lemmas in three steps: Lemma 1 solved for the local advantage
(S1), a pointwise bound on the advantage under the gradient threshold, and the performance-difference
lemma (S2, S3). Each step is checked here separately on random instances (several states, mixed
action sizes, DAGs whose edges run against the index order, parameters far from stationary), with
the visitation and the policy's marginals computed independently of bnpg (loops, scipy's softmax
and the Neumann series of ``tests/oracles.py``). The conclusions are then checked at approximate
stationary points reached by ascent, and the closed forms of ``sharp_threshold``, ``sharp_bound``,
``sharp_factor``, ``sharp_lambda`` and ``sharp_iteration_bound`` against arithmetic written out by
hand.

Tolerances: identities hold to 1e-10 times the value scale ``max|r| / (1 - gamma)``; the conclusions
of the lemmas get a rounding allowance of 1e-9 times the value scale; closed forms agree to 1e-13
relative.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from oracles import evaluate_by_series, joint_by_loops, local_probs

import bnpg
from bnpg.games.library import climbing_game, matching_game, penalty_game, search_game
from bnpg.theory import constants, sharpened
from bnpg.theory.sharpened import (
    paper_threshold_within,
    sharp_bound,
    sharp_factor,
    sharp_iteration_bound,
    sharp_lambda,
    sharp_threshold,
)
from tests.conftest import random_game, random_theta, reversed_full_dag

IDENTITY_TOL = 1e-10  # times the value scale
ROUNDING = 1e-9  # times the value scale: allowance on the lemmas' conclusions
REL = 1e-13  # closed forms


# --------------------------------------------------------------------------------------------
# Independent helpers
# --------------------------------------------------------------------------------------------


def value_scale(game):
    return max(float(np.abs(game.r).max()), 1e-300) / (1.0 - game.gamma)


def parent_count(game, dag, i):
    """K_i = |A^{P^i}|, by hand."""
    return math.prod(game.action_sizes[j] for j in dag.parents(i))


def marginal(pi, members):
    """pi(a^M | s) from a joint array, axes (s, *sorted(members))."""
    n = pi.ndim - 1
    others = tuple(1 + j for j in range(n) if j not in members)
    return pi.sum(axis=others) if others else pi


def family_marginal_in_joint(pi, dag, i):
    """pi(a^{P^i_+} | s), broadcast back to the joint shape."""
    n = pi.ndim - 1
    family = set(dag.parents(i)) | {i}
    others = tuple(1 + j for j in range(n) if j not in family)
    return pi.sum(axis=others, keepdims=True) if others else pi


class Point:
    """A policy with everything the proofs use: the library's gradient and local advantages, and the
    joint policy, visitation and values computed independently (loops, softmax, Neumann series)."""

    def __init__(self, game, dag, theta, lam):
        self.game, self.dag, self.lam = game, dag, lam
        self.policy = bnpg.BNPolicy(game, dag, theta)
        self.grads = bnpg.gradient(game, self.policy, lam)
        self.norm = bnpg.gradient_norm(self.grads)
        self.locals = local_probs(self.policy.theta)
        self.pi = joint_by_loops(game, dag, self.locals)
        self.V, self.Q, self.d = evaluate_by_series(game, self.pi)
        self.value = float(game.mu @ self.V)
        self.scale = value_scale(game)

    def c(self, i):
        return self.lam / (self.game.n_states * parent_count(self.game, self.dag, i))

    def parents_prob(self, i):
        """pi(a^{P^i} | s) in theta[i]'s layout without the last axis."""
        return marginal(self.pi, self.dag.parents(i))

    def dpp(self, i):
        """d(s) pi(a^{P^i} | s), shape (S, *parent sizes)."""
        pp = self.parents_prob(i)
        return self.d.reshape((-1,) + (1,) * (pp.ndim - 1)) * pp


def case_point(seed, n_states, sizes, dag, lam, gamma, scale=1.0):
    game = random_game(seed, n_states=n_states, action_sizes=sizes, gamma=gamma)
    return Point(game, dag, random_theta(seed + 100, game, dag, scale), lam)


#: Random instances far from stationary: (seed, |S|, sizes, DAG, lambda, gamma).
CASES = [
    (1, 3, (2, 3, 2), bnpg.DAG([[2], [0, 2], []]), 0.3, 0.8),  # fully correlated, 2 -> 0 -> 1
    (2, 2, (3, 2), bnpg.DAG([[1], []]), 0.05, 0.9),  # edge 1 -> 0
    (3, 1, (2, 2, 3), reversed_full_dag(3), 0.5, 0.6),  # fully correlated, all edges reversed
    (4, 4, (2, 3), bnpg.DAG.empty(2), 0.1, 0.7),
    (5, 2, (3, 1, 2), bnpg.DAG([[2], [0], []]), 0.2, 0.95),  # an agent without a choice
    (6, 3, (2, 2, 2, 2), bnpg.DAG([[1, 3], [], [1], [2]]), 0.15, 0.85),
    (7, 2, (3, 3), bnpg.DAG.full(2), 0.08, 0.5),
]
CASE_IDS = [f"case{c[0]}" for c in CASES]


@pytest.fixture(scope="module", params=CASES, ids=CASE_IDS)
def point(request):
    return case_point(*request.param)


def blocks(point, i):
    """Yield (index, gradient block, local policy block, d(s) pi(p|s)) for every (s, p) of agent i."""
    g = point.grads[i]
    local = point.locals[i]
    dpp = point.dpp(i)
    for idx in np.ndindex(g.shape[:-1]):
        yield idx, g[idx], local[idx], dpp[idx]


# --------------------------------------------------------------------------------------------
# 1. Lemma 1 solved for the local advantage (S1), and the geometry of a block
# --------------------------------------------------------------------------------------------


def test_instances_are_far_from_stationary(point):
    # the identities below are checked at points that are not approximate stationary points
    tau2 = sharp_threshold(point.game, point.dag, point.lam, lemma=2)
    assert point.norm > 10 * tau2


def test_local_advantage_identity_s1(point):
    game = point.game
    worst = 0.0
    for i, k in enumerate(game.action_sizes):
        A = bnpg.local_advantage(game, point.policy, i)
        c = point.c(i)
        dpp = point.dpp(i)[..., None]
        g = point.grads[i]
        s1 = c / dpp + (g - c / k) / (dpp * point.locals[i])
        worst = max(worst, float(np.abs(A - s1).max()))
    assert worst <= IDENTITY_TOL * point.scale


def test_gradient_blocks_sum_to_zero_and_their_largest_entry_is_bounded(point):
    tol = 1e-12 * (point.scale + point.lam)
    for i, k in enumerate(point.game.action_sizes):
        for _, g, _, _ in blocks(point, i):
            assert abs(float(g.sum())) <= tol
            assert float(g.max()) <= math.sqrt(1.0 - 1.0 / k) * float(np.linalg.norm(g)) + tol


# --------------------------------------------------------------------------------------------
# 2. The pointwise bound under the threshold
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lam_factor", [1.0, 10.0, 100.0])
def test_pointwise_advantage_bound_where_block_entries_are_small(lam_factor):
    qualifying = 0
    for seed, S, sizes, dag, lam, gamma in CASES:
        point = case_point(seed, S, sizes, dag, lam * lam_factor, gamma)
        for i, k in enumerate(point.game.action_sizes):
            A = bnpg.local_advantage(point.game, point.policy, i)
            c = point.c(i)
            for idx, g, _, dpp in blocks(point, i):
                if not np.all(g <= c / k):
                    continue
                qualifying += 1
                bound = (c * (1 - 1 / k) + g) / dpp
                assert np.all(A[idx] <= bound + IDENTITY_TOL * point.scale), (seed, i, idx)
    assert qualifying > 0  # the hypothesis is met somewhere, so the check is not empty


# --------------------------------------------------------------------------------------------
# 3. The performance-difference steps
# --------------------------------------------------------------------------------------------


def deviation(point, i):
    """Agent i's exact best response: its gain (bnpg), the deviated local policy, and the
    deviated visitation and value (loops and the Neumann series)."""
    game = point.game
    sol = bnpg.best_response(game, point.policy, i)
    local_dev = np.eye(game.action_sizes[i])[sol.rule]
    replaced = list(point.locals)
    replaced[i] = local_dev
    V_dev, _, d_dev = evaluate_by_series(game, joint_by_loops(game, point.dag, replaced))
    gain = sol.value - bnpg.evaluate(game, point.policy).value
    return gain, local_dev, d_dev, float(game.mu @ V_dev), sol.value


def test_performance_difference_for_a_best_response(point):
    game = point.game
    tol = IDENTITY_TOL * point.scale
    for i in range(game.n_agents):
        gain, local_dev, d_dev, value_dev, br_value = deviation(point, i)
        assert value_dev == pytest.approx(br_value, abs=tol)  # the rule is worth what bnpg says
        assert gain >= -tol
        A = bnpg.local_advantage(game, point.policy, i)
        pp = point.parents_prob(i)
        inner = (pp[..., None] * local_dev * A).reshape(game.n_states, -1).sum(axis=1)
        assert abs(gain - float(d_dev @ inner)) <= tol


FULL_CASES = [c for c in CASES if c[3].is_fully_correlated]


@pytest.mark.parametrize("case", FULL_CASES, ids=[f"case{c[0]}" for c in FULL_CASES])
def test_telescoped_advantage_identity_s3(case):
    # Q(s,a) - V(s) = lam/(|S| d) + (G_s(a) - lam/(|S||A|)) / (d pi(a|s)),
    # G_s(a) = sum_i g_i(s, a^{P^i}, a^i) pi(a|s) / pi(a^{P^i_+}|s) <= sqrt(Sigma_k) ||g_s||
    point = case_point(*case)
    game, dag, lam = point.game, point.dag, point.lam
    S, n_joint = game.n_states, game.n_joint_actions
    sigma = sum(1 - 1 / k for k in game.action_sizes)
    G = np.zeros_like(point.pi)
    for i in range(game.n_agents):
        G += (point.policy.structure.to_joint_axes(i, point.grads[i])
              * point.pi / family_marginal_in_joint(point.pi, dag, i))
    d = point.d.reshape((-1,) + (1,) * game.n_agents)
    rhs = lam / (S * d) + (G - lam / (S * n_joint)) / (d * point.pi)
    lhs = point.Q - point.V.reshape(d.shape)
    assert np.abs(lhs - rhs).max() <= IDENTITY_TOL * point.scale
    for s in range(S):
        g_s = math.sqrt(sum(float((g[s] ** 2).sum()) for g in point.grads))
        assert G[s].max() <= math.sqrt(sigma) * g_s + 1e-12 * point.scale


@pytest.mark.parametrize("case", FULL_CASES, ids=[f"case{c[0]}" for c in FULL_CASES])
def test_performance_difference_for_an_optimal_policy(case):
    point = case_point(*case)
    game = point.game
    sol = bnpg.optimal_solution(game)
    pi_star = np.zeros((game.n_states, game.n_joint_actions))
    pi_star[np.arange(game.n_states), sol.rule] = 1.0
    pi_star = pi_star.reshape(point.pi.shape)
    V_star, _, d_star = evaluate_by_series(game, pi_star)
    tol = IDENTITY_TOL * point.scale
    assert float(game.mu @ V_star) == pytest.approx(sol.value, abs=tol)
    adv = point.Q - point.V.reshape((-1,) + (1,) * game.n_agents)
    pdl = float(d_star @ (pi_star * adv).reshape(game.n_states, -1).sum(axis=1))
    assert bnpg.optimality_gap(game, point.policy) == pytest.approx(pdl, abs=tol)


# --------------------------------------------------------------------------------------------
# 4. The conclusions at approximate stationary points
# --------------------------------------------------------------------------------------------


def stationary_instance(k):
    """Instance k: random game (1-3 states, 1-3 agents, 1-3 actions), a random DAG (fully
    correlated for even k, in a shuffled order of agents), lambda log-uniform on [0.01, 0.3]."""
    rng = np.random.default_rng([2024, k])
    S = int(rng.integers(1, 4))
    N = int(rng.integers(1, 4))
    sizes = tuple(int(a) for a in rng.integers(1, 4, size=N))
    if max(sizes) == 1:
        sizes = (2,) + sizes[1:]
    gamma = float(rng.uniform(0.5, 0.9))
    lam = float(np.exp(rng.uniform(np.log(0.01), np.log(0.3))))
    game = random_game(int(rng.integers(2**31)), n_states=S, action_sizes=sizes, gamma=gamma)
    dag = bnpg.DAG.random(N, 1.0 if k % 2 == 0 else 0.5, seed=rng)
    start = bnpg.BNPolicy(game, dag, random_theta(int(rng.integers(2**31)), game, dag))
    return game, dag, lam, start


N_STATIONARY = 20


@pytest.fixture(scope="module")
def stationary_points():
    out = []
    for k in range(N_STATIONARY):
        game, dag, lam, start = stationary_instance(k)
        tau = sharp_threshold(game, dag, lam, lemma=2)
        if dag.is_fully_correlated:
            tau = min(tau, sharp_threshold(game, dag, lam, lemma=3))
        run = bnpg.ascend(game, start, lam, method="lbfgs", threshold=0.9 * tau, max_steps=5000)
        assert run.met, k
        out.append((k, Point(game, dag, run.policy.theta, lam), tau))
    return out


def test_stationary_instances_cover_the_cases(stationary_points):
    dags = [p.dag for _, p, _ in stationary_points]
    assert sum(d.is_fully_correlated for d in dags) >= 8
    assert sum(not d.is_fully_correlated and d.n_edges > 0 for d in dags) >= 3
    # some edge runs from a higher to a lower index
    assert any(j > i for d in dags for i in range(d.n_agents) for j in d.parents(i))
    assert any(p.game.n_states > 1 for _, p, _ in stationary_points)
    assert any(len(set(p.game.action_sizes)) > 1 for _, p, _ in stationary_points)


def test_lemma2_conclusion_at_stationary_points(stationary_points):
    for k, point, tau in stationary_points:
        game, dag, lam = point.game, point.dag, point.lam
        assert point.norm <= tau
        M = bnpg.mismatch_coefficient(game)
        allowance = ROUNDING * point.scale
        # the hypothesis makes every block entry at most c_i / k_i ...
        for i, ki in enumerate(game.action_sizes):
            c = point.c(i)
            A = bnpg.local_advantage(game, point.policy, i)
            for idx, g, _, dpp in blocks(point, i):
                assert np.all(g <= c / ki + 1e-15 * c), (k, i, idx)
                # ... hence the pointwise bound of step 2
                assert np.all(A[idx] <= (c * (1 - 1 / ki) + g) / dpp + IDENTITY_TOL * point.scale)
        bound = sharp_bound(game, dag, lam, M, lemma=2, grad_norm=point.norm)
        gaps = bnpg.nash_gaps(game, point.policy)
        for i, ki in enumerate(game.action_sizes):
            gain, _, d_dev, _, _ = deviation(point, i)
            assert gain == pytest.approx(gaps[i], abs=IDENTITY_TOL * point.scale)
            # S2, first inequality: sum_s d'(s)/d(s) sum_p (c_i (1 - 1/k_i) + sqrt(1 - 1/k_i) ||g_sp||)
            block_norms = np.linalg.norm(point.grads[i], axis=-1).reshape(game.n_states, -1)
            per_state = (point.c(i) * (1 - 1 / ki) * block_norms.shape[1]
                         + math.sqrt(1 - 1 / ki) * block_norms.sum(axis=1))
            middle = float((d_dev / point.d) @ per_state)
            assert gain <= middle + allowance, (k, i)
            # S2, second inequality, for agent i
            K = parent_count(game, dag, i)
            assert middle <= M * (lam * (1 - 1 / ki) + math.sqrt(game.n_states * K * (1 - 1 / ki))
                                  * point.norm) + allowance
        assert float(gaps.max()) <= bound + allowance, k
        assert bound <= lam * M * (1 + 1e-12)


def test_lemma3_conclusion_at_stationary_points(stationary_points):
    checked = 0
    for k, point, _ in stationary_points:
        game, dag, lam = point.game, point.dag, point.lam
        if not dag.is_fully_correlated:
            continue
        checked += 1
        assert point.norm <= sharp_threshold(game, dag, lam, lemma=3)
        M = bnpg.mismatch_coefficient(game)
        bound = sharp_bound(game, dag, lam, M, lemma=3, grad_norm=point.norm)
        gap = bnpg.optimality_gap(game, point.policy)
        # S3, first inequality: sum_s d*(s)/d(s) (lam (1 - 1/|A|)/|S| + sqrt(Sigma_k) ||g_s||)
        sol = bnpg.optimal_solution(game)
        pi_star = np.zeros((game.n_states, game.n_joint_actions))
        pi_star[np.arange(game.n_states), sol.rule] = 1.0
        _, _, d_star = evaluate_by_series(game, pi_star.reshape(point.pi.shape))
        sigma = sum(1 - 1 / a for a in game.action_sizes)
        g_s = np.sqrt(sum((g.reshape(game.n_states, -1) ** 2).sum(axis=1) for g in point.grads))
        middle = float((d_star / point.d) @ (lam * (1 - 1 / game.n_joint_actions) / game.n_states
                                             + math.sqrt(sigma) * g_s))
        allowance = ROUNDING * point.scale
        assert gap <= middle + allowance, k
        assert middle <= bound + allowance, k
        assert bound <= lam * M * (1 + 1e-12)
    assert checked >= 8


# --------------------------------------------------------------------------------------------
# 5. The closed forms by hand
# --------------------------------------------------------------------------------------------


def test_closed_forms_climbing_game_full_dag():
    # one state, k = (3, 3), full DAG: K = (1, 3), |A| = 9, Sigma_k = 2/3 + 2/3 = 4/3
    game, dag, lam, M, g = climbing_game(), bnpg.DAG.full(2), 0.3, 2.0, 0.01
    # tau2 = lam / (S max_i K_i sqrt(k_i (k_i - 1))) = lam / (3 sqrt 6)
    assert sharp_threshold(game, dag, lam, lemma=2) == pytest.approx(lam / (3 * math.sqrt(6)), rel=REL)
    # tau3 = lam / (S |A| sqrt(Sigma_k)) = lam / (9 sqrt(4/3)) = lam sqrt(3) / 18
    assert sharp_threshold(game, dag, lam, lemma=3) == pytest.approx(lam * math.sqrt(3) / 18, rel=REL)
    # (S2): M max_i (lam (1 - 1/k_i) + sqrt(S K_i (1 - 1/k_i)) g); agent 1 (K = 3): 2 lam/3 + sqrt(2) g
    assert sharp_bound(game, dag, lam, M, lemma=2, grad_norm=g) == pytest.approx(
        M * (2 * lam / 3 + math.sqrt(2) * g), rel=REL)
    # (S3): M (lam (1 - 1/9) + sqrt(1 * 4/3) g)
    assert sharp_bound(game, dag, lam, M, lemma=3, grad_norm=g) == pytest.approx(
        M * (8 * lam / 9 + 2 / math.sqrt(3) * g), rel=REL)
    # rho2 = 2/3 + sqrt(2) / (3 sqrt 6) = 2/3 + 1/(3 sqrt 3); rho3 = 8/9 + (2/sqrt3)(sqrt3/18) = 1
    assert sharp_factor(game, dag, lemma=2) == pytest.approx(2 / 3 + 1 / (3 * math.sqrt(3)), rel=REL)
    assert sharp_factor(game, dag, lemma=3) == pytest.approx(1.0, rel=REL)
    # default grad_norm is the threshold: bound = rho lam M
    assert sharp_bound(game, dag, lam, M, lemma=2) == pytest.approx(
        (2 / 3 + 1 / (3 * math.sqrt(3))) * lam * M, rel=REL)


def test_closed_forms_three_agents_edges_against_index_order(game_232, dag_back):
    # 3 states, k = (2, 3, 2), parents 0 <- {2}, 1 <- {0, 2}: K = (2, 4, 1); 3 edges: fully correlated
    game, dag, lam, M, g = game_232, dag_back, 0.2, 3.0, 1e-3
    assert dag.is_fully_correlated
    assert constants.parent_action_counts(game, dag) == (2, 4, 1)
    # widths K_i sqrt(k_i (k_i - 1)): 2 sqrt 2, 4 sqrt 6, sqrt 2; tau2 = lam / (3 * 4 sqrt 6)
    tau2 = lam / (12 * math.sqrt(6))
    assert sharp_threshold(game, dag, lam, lemma=2) == pytest.approx(tau2, rel=REL)
    # (S2) per agent: lam/2 + sqrt(3) g, 2 lam/3 + sqrt(8) g, lam/2 + sqrt(3/2) g: agent 1 is largest
    assert sharp_bound(game, dag, lam, M, lemma=2, grad_norm=g) == pytest.approx(
        M * (2 * lam / 3 + 2 * math.sqrt(2) * g), rel=REL)
    # rho2 = 2/3 + 2 sqrt 2 / (12 sqrt 6) = 2/3 + 1/(6 sqrt 3)
    assert sharp_factor(game, dag, lemma=2) == pytest.approx(2 / 3 + 1 / (6 * math.sqrt(3)), rel=REL)
    # |A| = 12, Sigma_k = 1/2 + 2/3 + 1/2 = 5/3: tau3 = lam / (3 * 12 sqrt(5/3))
    assert sharp_threshold(game, dag, lam, lemma=3) == pytest.approx(
        lam / (36 * math.sqrt(5 / 3)), rel=REL)
    # (S3): M (11 lam / 12 + sqrt(3 * 5/3) g); rho3 = 11/12 + sqrt5 / (36 sqrt(5/3)) = 11/12 + sqrt3/36
    assert sharp_bound(game, dag, lam, M, lemma=3, grad_norm=g) == pytest.approx(
        M * (11 * lam / 12 + math.sqrt(5) * g), rel=REL)
    assert sharp_factor(game, dag, lemma=3) == pytest.approx(11 / 12 + math.sqrt(3) / 36, rel=REL)
    # the paper's threshold lam / (2 * 3 * 12 * 3) = lam / 216
    assert constants.gradient_threshold(game, lam) == pytest.approx(lam / 216, rel=REL)


def test_closed_forms_matching_game_chain_and_full():
    game, lam, M, g = matching_game(3, 2), 0.1, 1.5, 0.02
    # chain: K = (1, 2, 2), every k = 2: tau2 = lam / (2 sqrt 2); (S2) = M (lam/2 + sqrt(1*2*1/2) g)
    chain = bnpg.DAG.chain(3)
    assert sharp_threshold(game, chain, lam, lemma=2) == pytest.approx(lam / (2 * math.sqrt(2)), rel=REL)
    assert sharp_bound(game, chain, lam, M, lemma=2, grad_norm=g) == pytest.approx(
        M * (lam / 2 + g), rel=REL)
    assert sharp_factor(game, chain, lemma=2) == pytest.approx(0.5 + 1 / (2 * math.sqrt(2)), rel=REL)
    # full: K = (1, 2, 4): tau2 = lam / (4 sqrt 2); |A| = 8, Sigma = 3/2: tau3 = lam / (8 sqrt(3/2))
    full = bnpg.DAG.full(3)
    assert sharp_threshold(game, full, lam, lemma=2) == pytest.approx(lam / (4 * math.sqrt(2)), rel=REL)
    assert sharp_threshold(game, full, lam, lemma=3) == pytest.approx(
        lam / (8 * math.sqrt(1.5)), rel=REL)
    g = 0.005  # below tau3 = 0.0102...
    assert sharp_bound(game, full, lam, M, lemma=3, grad_norm=g) == pytest.approx(
        M * (7 * lam / 8 + math.sqrt(1.5) * g), rel=REL)
    assert sharp_factor(game, full, lemma=3) == pytest.approx(1.0, rel=REL)


def test_closed_forms_with_agents_without_a_choice():
    # two states, k = (1, 3), full DAG: K = (1, 1); agent 0 has no choice and is left out of tau2
    game = random_game(9, n_states=2, action_sizes=(1, 3))
    dag, lam, M, g = bnpg.DAG.full(2), 0.4, 2.5, 0.01
    assert sharp_threshold(game, dag, lam, lemma=2) == pytest.approx(lam / (2 * math.sqrt(6)), rel=REL)
    # Sigma = 2/3, |A| = 3: tau3 = lam / (2 * 3 sqrt(2/3))
    assert sharp_threshold(game, dag, lam, lemma=3) == pytest.approx(
        lam / (6 * math.sqrt(2 / 3)), rel=REL)
    # (S2) = M max(0, 2 lam/3 + sqrt(2 * 1 * 2/3) g); (S3) = M (2 lam/3 + sqrt(2 * 2/3) g)
    for lemma in (2, 3):
        assert sharp_bound(game, dag, lam, M, lemma=lemma, grad_norm=g) == pytest.approx(
            M * (2 * lam / 3 + 2 / math.sqrt(3) * g), rel=REL)
        # rho = 2/3 + 1/(3 sqrt 2) for both
        assert sharp_factor(game, dag, lemma=lemma) == pytest.approx(
            2 / 3 + 1 / (3 * math.sqrt(2)), rel=REL)
    # nobody has a choice: no threshold, nothing to bound
    trivial = random_game(9, n_states=2, action_sizes=(1, 1))
    assert sharp_threshold(trivial, bnpg.DAG.full(2), lam, lemma=2) == math.inf
    assert sharp_threshold(trivial, bnpg.DAG.full(2), lam, lemma=3) == math.inf
    assert sharp_bound(trivial, bnpg.DAG.full(2), lam, M, lemma=3) == 0.0
    assert sharp_factor(trivial, bnpg.DAG.full(2), lemma=2) == 0.0


def all_instances():
    for seed, S, sizes, dag, lam, gamma in CASES:
        yield random_game(seed, n_states=S, action_sizes=sizes, gamma=gamma), dag, lam
    for k in range(N_STATIONARY):
        game, dag, lam, _ = stationary_instance(k)
        yield game, dag, lam
    for game in (climbing_game(), penalty_game(), matching_game(3, 2), search_game(2, 3)):
        for dag in (bnpg.DAG.empty(game.n_agents), bnpg.DAG.full(game.n_agents)):
            yield game, dag, 0.1


def test_paper_threshold_against_the_sharpened_ones():
    # every game small enough to build has Sigma_k <= 4 max k^2 (a breach needs >= 33 agents), so the
    # "False" side of paper_threshold_within is checked on size lists below
    n = 0
    for game, dag, lam in all_instances():
        n += 1
        paper = constants.gradient_threshold(game, lam)
        assert paper <= sharp_threshold(game, dag, lam, lemma=2)
        if dag.is_fully_correlated:
            within = paper <= sharp_threshold(game, dag, lam, lemma=3)
            assert within == paper_threshold_within(game)
            assert within == paper_threshold_within(game.action_sizes)
    assert n >= 30


def exact_within(sizes):
    """sum_i (1 - 1/k_i) <= 4 max k^2, in rational arithmetic."""
    return sum(1 - Fraction(1, k) for k in sizes) <= 4 * max(sizes) ** 2


def old_condition(sizes):
    """Errata E11's sqrt(N) <= 2 max k, i.e. N <= 4 max k^2."""
    return len(sizes) <= 4 * max(sizes) ** 2


@pytest.mark.parametrize("sizes, expected", [
    ([2] * 32, True),  # Sigma = 16 = 4 * 2^2
    ([2] * 33, False),  # Sigma = 16.5
    ([3] * 81, False),  # Sigma = 54 > 36
    ([3] * 50, True),
    ([5] * 125, True),  # Sigma = 100 = 4 * 5^2
    ([5] * 126, False),
    ([2] * 40 + [3], True),  # max k = 3: Sigma = 20 + 2/3 <= 36
    ([1] * 100 + [2], True),  # agents without a choice add nothing
    ([2], True),
])
def test_paper_threshold_within_matches_the_condition(sizes, expected):
    assert exact_within(sizes) is expected
    assert paper_threshold_within(sizes) is expected


def test_paper_threshold_within_on_an_exact_boundary_with_thirds():
    # 54 agents with 3 actions: Sigma = 54 * 2/3 = 36 = 4 * 3^2 exactly, so the paper's threshold
    # lam / (2 |S| |A| 3) equals tau3 = lam / (|S| |A| sqrt 36) and is within it
    sizes = [3] * 54
    assert exact_within(sizes)
    assert paper_threshold_within(sizes) is True


def test_paper_threshold_within_is_weaker_than_the_old_condition():
    lists = [[2] * n for n in range(1, 40)] + [[3] * n for n in range(1, 90, 7)] + [
        [2] * 17, [2, 3] * 20, [4] * 70]
    for sizes in lists:
        if old_condition(sizes):  # Sigma_k <= N, so the old condition implies the new one
            assert paper_threshold_within(sizes)
    # 17 agents with two actions: sqrt(17) > 4 fails the old condition, Sigma = 8.5 <= 16 meets the new
    assert not old_condition([2] * 17)
    assert paper_threshold_within([2] * 17)


# --------------------------------------------------------------------------------------------
# 6. The sharpened theorems: lambda and T
# --------------------------------------------------------------------------------------------

BOOK_GAMES = [
    ("climbing", climbing_game()),
    ("penalty", penalty_game()),
    ("matching-2", matching_game(2, 2)),
    ("matching-3", matching_game(3, 2)),
    ("search", search_game(2, 3)),
]


@pytest.mark.parametrize("name, game", BOOK_GAMES, ids=[b[0] for b in BOOK_GAMES])
def test_sharp_lambda_makes_the_conclusion_eps(name, game):
    M = bnpg.mismatch_coefficient(game)
    for theorem, dag in ((1, bnpg.DAG.empty(game.n_agents)), (1, bnpg.DAG.chain(game.n_agents)),
                         (2, bnpg.DAG.full(game.n_agents))):
        for eps in (0.1, 0.02):
            lam = sharp_lambda(game, dag, eps, theorem=theorem)
            rho = sharp_factor(game, dag, lemma=theorem + 1)
            assert rho * M * lam == pytest.approx(eps, rel=1e-12)
            assert sharp_bound(game, dag, lam, M, lemma=theorem + 1) == pytest.approx(eps, rel=1e-12)
            # never smaller than the paper's choice eps/(2M) or eps/(2^{N+1} N M)
            assert lam > constants.lambda_choice(game, eps, M, theorem=theorem)


@pytest.mark.parametrize("name, game", BOOK_GAMES, ids=[b[0] for b in BOOK_GAMES])
def test_sharp_iteration_bound_below_the_corrected_one(name, game):
    for theorem, dag in ((1, bnpg.DAG.empty(game.n_agents)), (1, bnpg.DAG.chain(game.n_agents)),
                         (2, bnpg.DAG.full(game.n_agents))):
        sharp = sharp_iteration_bound(game, dag, 0.1, theorem=theorem)
        corrected = constants.iteration_bound(game, dag, 0.1, theorem=theorem, form="corrected")
        assert 0 < sharp < corrected


def test_sharp_iteration_bound_by_hand():
    # climbing game, Theorem 1 on the empty DAG: K = 1, tau2 = lam/sqrt 6 and (S2) = max_i
    # (2 lam/3 + sqrt(2/3) lam/sqrt 6) = lam, so rho = 1; one state, M = 1: lam = eps.
    # R = 11 - (-30) = 41, gamma = 0.9: beta = 8 * 2 * 41 / 0.1^3 + 2 lam (1 + 1) = 656000 + 4 lam,
    # G = 41 / 0.1 = 410, T = 2 beta G / tau^2 = 2 beta * 410 * 6 / lam^2.
    game, dag, eps = climbing_game(), bnpg.DAG.empty(2), 0.5
    assert sharp_lambda(game, dag, eps, 1.0, theorem=1) == pytest.approx(eps, rel=REL)
    beta = 656000 + 4 * eps
    assert sharp_iteration_bound(game, dag, eps, theorem=1) == pytest.approx(
        2 * beta * 410 * 6 / eps**2, rel=1e-12)
    # with the paper's lambda = eps / 2 (allowed: the conclusion lam M = eps/2 <= eps)
    assert sharp_iteration_bound(game, dag, eps, theorem=1, lam=eps / 2) == pytest.approx(
        2 * (656000 + 2 * eps) * 410 * 6 / (eps / 2) ** 2, rel=1e-12)


def test_a_lambda_beyond_eps_is_refused():
    game, dag = matching_game(2, 2), bnpg.DAG.full(2)
    lam = sharp_lambda(game, dag, 0.1, 1.0, theorem=2)
    sharp_iteration_bound(game, dag, 0.1, theorem=2, lam=lam)  # exactly eps: accepted
    with pytest.raises(ValueError, match="lam"):
        sharp_iteration_bound(game, dag, 0.1, theorem=2, lam=1.01 * lam)
    with pytest.raises(ValueError, match="lam"):
        sharp_iteration_bound(climbing_game(), bnpg.DAG.chain(2), 0.1, theorem=1, lam=0.2)


# --------------------------------------------------------------------------------------------
# 7. Bad input
# --------------------------------------------------------------------------------------------


def test_bad_lemma_is_refused():
    game, dag = matching_game(2, 2), bnpg.DAG.full(2)
    for lemma in (1, 4, 0, -2):
        with pytest.raises(ValueError, match="lemma"):
            sharp_threshold(game, dag, 0.1, lemma=lemma)
        with pytest.raises(ValueError, match="lemma"):
            sharp_bound(game, dag, 0.1, 1.0, lemma=lemma)
        with pytest.raises(ValueError, match="lemma"):
            sharp_factor(game, dag, lemma=lemma)
    # not an int at all (a bool, a string, a float): refused too, naming the argument
    for lemma in (True, "2", 2.5, None):
        with pytest.raises((ValueError, TypeError), match="lemma"):
            sharp_threshold(game, dag, 0.1, lemma=lemma)
        with pytest.raises((ValueError, TypeError), match="lemma"):
            sharp_bound(game, dag, 0.1, 1.0, lemma=lemma)
        with pytest.raises((ValueError, TypeError), match="lemma"):
            sharp_factor(game, dag, lemma=lemma)


def test_lemma3_needs_a_fully_correlated_dag():
    game = matching_game(3, 2)
    for dag in (bnpg.DAG.empty(3), bnpg.DAG.chain(3), bnpg.DAG([[1], [], [1]])):
        with pytest.raises(ValueError, match="lemma 3 needs a fully-correlated DAG"):
            sharp_threshold(game, dag, 0.1, lemma=3)
        with pytest.raises(ValueError, match="lemma 3 needs a fully-correlated DAG"):
            sharp_bound(game, dag, 0.1, 1.0, lemma=3)
        with pytest.raises(ValueError, match="lemma 3 needs a fully-correlated DAG"):
            sharp_factor(game, dag, lemma=3)
        with pytest.raises(ValueError, match="theorem 2 needs a fully-correlated DAG"):
            sharp_lambda(game, dag, 0.1, 1.0, theorem=2)
        with pytest.raises(ValueError, match="theorem 2 needs a fully-correlated DAG"):
            sharp_iteration_bound(game, dag, 0.1, theorem=2)


def test_bad_numbers_are_refused_with_their_name():
    game, dag = climbing_game(), bnpg.DAG.full(2)
    with pytest.raises(ValueError, match="lam"):
        sharp_threshold(game, dag, -0.1, lemma=2)
    with pytest.raises(ValueError, match="lam"):
        sharp_bound(game, dag, -0.1, 1.0, lemma=3)
    for M in (0.5, 0.999):
        with pytest.raises(ValueError, match="M must be >= 1"):
            sharp_bound(game, dag, 0.1, M, lemma=2)
        with pytest.raises(ValueError, match="M must be >= 1"):
            sharp_lambda(game, dag, 0.1, M, theorem=1)
        with pytest.raises(ValueError, match="M must be >= 1"):
            sharp_iteration_bound(game, dag, 0.1, theorem=2, M=M)
    with pytest.raises(ValueError, match="M"):
        sharp_bound(game, dag, 0.1, 0.0, lemma=2)
    for lemma in (2, 3):
        tau = sharp_threshold(game, dag, 0.1, lemma=lemma)
        sharp_bound(game, dag, 0.1, 1.0, lemma=lemma, grad_norm=tau)  # at the threshold: fine
        with pytest.raises(ValueError, match="grad_norm"):
            sharp_bound(game, dag, 0.1, 1.0, lemma=lemma, grad_norm=tau * (1 + 1e-9))
        with pytest.raises(ValueError, match="grad_norm"):
            sharp_bound(game, dag, 0.1, 1.0, lemma=lemma, grad_norm=-1e-3)
    for eps in (0.0, -1.0):
        with pytest.raises(ValueError, match="eps"):
            sharp_lambda(game, dag, eps, 1.0, theorem=1)
        with pytest.raises(ValueError, match="eps"):
            sharp_iteration_bound(game, dag, eps, theorem=1)
    with pytest.raises(ValueError, match="gain"):
        sharp_iteration_bound(game, dag, 0.1, theorem=1, gain=-1.0)
    with pytest.raises(ValueError, match="lam"):
        sharp_iteration_bound(game, dag, 0.1, theorem=1, lam=-0.1)
    with pytest.raises(ValueError, match="theorem"):
        sharp_lambda(game, dag, 0.1, 1.0, theorem=3)
    with pytest.raises(TypeError, match="theorem"):
        sharp_lambda(game, dag, 0.1, 1.0, theorem=True)
    trivial = random_game(9, n_states=1, action_sizes=(1, 1))
    with pytest.raises(ValueError, match="no agent has a choice"):
        sharp_lambda(trivial, bnpg.DAG.full(2), 0.1, 1.0, theorem=2)


def test_bad_action_sizes_are_refused():
    for sizes in ([], [0], [2, 0], [2.0], [True, 2], "22"):
        with pytest.raises(ValueError, match="action_sizes"):
            paper_threshold_within(sizes)


@pytest.mark.parametrize("sizes", [None, 2])
def test_action_sizes_that_are_not_a_sequence_are_refused_with_their_name(sizes):
    # bnpg._validation: every refusal names the argument
    with pytest.raises((ValueError, TypeError), match="action_sizes"):
        paper_threshold_within(sizes)


def test_inputs_are_not_mutated():
    game = matching_game(2, 2)
    arrays = [np.array(game.P), np.array(game.r), np.array(game.mu)]
    dag = bnpg.DAG.full(2)
    sizes = [2, 3, 2]
    for lemma in (2, 3):
        sharp_threshold(game, dag, 0.1, lemma=lemma)
        sharp_bound(game, dag, 0.1, 1.0, lemma=lemma)
    sharp_iteration_bound(game, dag, 0.1, theorem=2)
    paper_threshold_within(sizes)
    assert sizes == [2, 3, 2]
    for before, after in zip(arrays, (game.P, game.r, game.mu), strict=True):
        assert np.array_equal(before, after)
    assert dag == bnpg.DAG.full(2)


def test_module_exports():
    assert set(sharpened.__all__) >= {"sharp_threshold", "sharp_bound", "sharp_factor",
                                      "paper_threshold_within", "sharp_lambda",
                                      "sharp_iteration_bound"}
    assert sharpened.LEMMAS == (2, 3)
