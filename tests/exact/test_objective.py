r"""The log-barrier objective L_lambda (Section 4.1) and its gradient (Lemma 1).

What these tests show about Lemma 1
-----------------------------------
Lemma 1 prints

    dL/dtheta^i_{s,b,c} = 1/(1-gamma) * d_mu(s, b) * pi^i(c | s, b) * A^i(s, b, c)
                          + lambda / (|S| |A^{P^i}|) * (1/|A^i| - pi^i(c | s, b)),

with d_mu(s, b) = d_mu(s) * pi(b | s) and d_mu the *unnormalised* visitation of Section 2 (it sums to
1/(1-gamma)). Central finite differences of L_lambda, computed here from an implementation of the
objective that shares no code with bnpg, say:

* with d_mu as defined in Section 2 the value term must carry the factor 1, not 1/(1-gamma):
  ``lemma1_gradient(..., value_factor=1.0)`` agrees with finite differences to about 1e-10;
* the printed form (``lemma1_gradient`` with its default factor 1/(1-gamma)) has a value term that is
  exactly 1/(1-gamma) times the true one, so it disagrees with finite differences whenever
  gamma > 0 (by a relative gamma/(1-gamma) when lambda = 0) and agrees only at gamma = 0;
* the printed form is right if d_mu is read as the *normalised* visitation (1-gamma) d_mu, which is
  a probability distribution; the test below evaluates the printed expression with that d and
  matches finite differences.

The barrier term of Lemma 1 is right as printed.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from oracles import (
    evaluate_by_series,
    family_to_theta,
    finite_difference,
    joint_by_loops,
    local_probs,
    partial_q_by_loops,
    theta_shapes,
)
from scipy.special import log_softmax
from scipy.stats import entropy

import bnpg
from tests.conftest import random_game, random_policy, relative_error, reversed_full_dag, snapshot

# --------------------------------------------------------------------------------------------
# An independent implementation of L_lambda on a flat parameter vector
# --------------------------------------------------------------------------------------------


def unflatten(game, dag, x):
    out, k = [], 0
    for shape in theta_shapes(game, dag):
        size = int(np.prod(shape))
        out.append(np.asarray(x[k : k + size]).reshape(shape))
        k += size
    assert k == x.size
    return out


def own_barrier(game, theta):
    r"""``sum_i ( mean_{s,b,c} log pi^i(c|s,b) + log |A^i| )`` from scipy's log_softmax."""
    return sum(
        float(log_softmax(t, axis=-1).mean()) + np.log(game.action_sizes[i])
        for i, t in enumerate(theta)
    )


def own_objective(game, dag, lam):
    def f(x):
        theta = unflatten(game, dag, x)
        pi = joint_by_loops(game, dag, local_probs(theta))
        V, _, _ = evaluate_by_series(game, pi)
        return float(game.mu @ V) + lam * own_barrier(game, theta)

    return f


def flat(grads):
    return np.concatenate([np.ravel(g) for g in grads])


CASES = {
    # name: (game seed, n_states, action sizes, gamma, dag, lam, theta scale)
    "chain_lam0": (0, 3, (2, 2), 0.9, bnpg.DAG.chain(2), 0.0, 1.0),
    "mixed_back_edges": (1, 3, (2, 3, 2), 0.8, bnpg.DAG([[2], [0, 2], []]), 0.1, 1.0),
    "mixed_reversed_full": (2, 2, (2, 3, 2), 0.9, reversed_full_dag(3), 0.05, 1.5),
    "edge_2_to_0_only": (3, 3, (3, 2, 2), 0.7, bnpg.DAG([[2], [], []]), 0.3, 1.0),
    "product": (4, 4, (2, 2, 2), 0.6, bnpg.DAG.empty(3), 0.2, 1.0),
    "gamma0": (5, 2, (2, 3), 0.0, bnpg.DAG([[1], []]), 0.5, 1.0),
    "four_agents": (6, 2, (2, 2, 2, 2), 0.85, bnpg.DAG([[3], [0, 3], [], [2]]), 0.02, 1.0),
}


@functools.cache
def build_case(name):
    seed, S, sizes, gamma, dag, lam, scale = CASES[name]
    game = random_game(seed, n_states=S, action_sizes=sizes, gamma=gamma)
    policy = random_policy(1000 + seed, game, dag, scale=scale)
    return game, policy, lam


@functools.cache
def case_fd(name):
    """Finite-difference gradient of the independent L_lambda for a case (computed once)."""
    game, policy, lam = build_case(name)
    fd = finite_difference(own_objective(game, policy.dag, lam), policy.flat())
    fd.flags.writeable = False
    return fd


@pytest.fixture(params=sorted(CASES))
def case(request):
    return build_case(request.param)


@pytest.fixture
def fd(request, case):
    return case_fd(request.node.callspec.params["case"])


# --------------------------------------------------------------------------------------------
# The objective
# --------------------------------------------------------------------------------------------


def test_objective_matches_independent_implementation(case):
    game, policy, lam = case
    expected = own_objective(game, policy.dag, lam)(policy.flat())
    got = bnpg.objective(game, policy, lam)
    assert abs(got - expected) <= 1e-12 * (1 + abs(expected)) / (1 - game.gamma)
    # lambda = 0 leaves the value alone, against the same independent implementation
    value_only = own_objective(game, policy.dag, 0.0)(policy.flat())
    assert abs(bnpg.objective(game, policy, 0.0) - value_only) <= 1e-12 * (1 + abs(value_only)) / (1 - game.gamma)


def test_log_barrier_is_minus_the_mean_kl_from_uniform(case):
    # -sum_i E_{(s, b) ~ Unif} KL(Unif_{A^i} || pi^i(. | s, b)), with scipy's entropy(p, q) = KL(p || q).
    game, policy, _ = case
    expected = 0.0
    for i, local in enumerate(local_probs(policy.theta)):
        A = game.action_sizes[i]
        rows = local.reshape(-1, A)
        expected -= np.mean([entropy(np.full(A, 1.0 / A), q) for q in rows])
    assert abs(bnpg.log_barrier(policy) - expected) <= 1e-12 * (1 + abs(expected))
    assert bnpg.log_barrier(policy) < 0


def test_log_barrier_is_zero_exactly_at_uniform(game_232):
    policy = bnpg.BNPolicy(game_232, bnpg.DAG.full(3))
    assert abs(bnpg.log_barrier(policy)) <= 1e-15
    shifted = policy.with_theta([t + 7.0 for t in policy.theta])  # still uniform
    assert abs(bnpg.log_barrier(shifted)) <= 1e-14


def test_hand_computed_objective(matching_game):
    # Product policy (0.7, 0.3) x (0.4, 0.6), gamma = 0.5: V = 0.92 (see test_evaluation).
    # Barrier: (log 0.7 + log 0.3)/2 + log 2 + (log 0.4 + log 0.6)/2 + log 2.
    theta = [np.log([[0.7, 0.3]]), np.log([[0.4, 0.6]])]
    policy = bnpg.BNPolicy(matching_game, bnpg.DAG.empty(2), theta)
    barrier = 0.5 * np.log(0.7 * 0.3) + 0.5 * np.log(0.4 * 0.6) + 2 * np.log(2.0)
    assert abs(bnpg.log_barrier(policy) - barrier) <= 1e-15
    assert abs(bnpg.objective(matching_game, policy, 0.25) - (0.92 + 0.25 * barrier)) <= 1e-15


# --------------------------------------------------------------------------------------------
# The exact gradient against finite differences
# --------------------------------------------------------------------------------------------


def test_gradient_matches_finite_differences(case, fd, backend):
    game, policy, lam = case
    grads = bnpg.gradient(game, policy, lam, backend=backend)
    assert [g.shape for g in grads] == [t.shape for t in policy.theta]
    err = relative_error(flat(grads), fd)
    assert err <= 1e-9, err  # the issue asks for 1e-6; the fourth-order stencil reaches ~1e-12


def test_gradient_matches_finite_differences_of_bnpg_objective(backend):
    game = random_game(7, n_states=3, action_sizes=(2, 3, 2), gamma=0.9)
    dag = bnpg.DAG([[1, 2], [2], []])  # both edges into 0 come from higher indices
    policy = random_policy(8, game, dag, scale=1.0)
    lam = 0.07

    def f(x):
        return bnpg.objective(game, policy.with_flat(x), lam)

    fd = finite_difference(f, policy.flat())
    assert relative_error(flat(bnpg.gradient(game, policy, lam, backend=backend)), fd) <= 1e-9


def test_gradient_sums_to_zero_over_each_local_action_set(case, backend):
    # pi^i is invariant to adding a constant to theta^i[s, b, :], so the gradient sums to 0 there.
    game, policy, lam = case
    for g in bnpg.gradient(game, policy, lam, backend=backend):
        np.testing.assert_allclose(g.sum(axis=-1), 0.0, rtol=0, atol=1e-12 / (1 - game.gamma))


def test_gradient_norm():
    grads = [np.array([[3.0, 0.0]]), np.array([[[0.0, 4.0], [12.0, 0.0]]])]
    assert bnpg.gradient_norm(grads) == 13.0


# --------------------------------------------------------------------------------------------
# Lemma 1 as printed versus the exact gradient
# --------------------------------------------------------------------------------------------


def independent_barrier_gradient(game, policy, lam):
    out = []
    for i, local in enumerate(local_probs(policy.theta)):
        n_parent = int(np.prod([game.action_sizes[j] for j in policy.dag.parents(i)]))
        out.append(lam / (game.n_states * n_parent) * (1.0 / game.action_sizes[i] - local))
    return out


def printed_lemma1(game, policy, lam, visitation_scale):
    r"""Lemma 1's right-hand side as printed, with ``d`` replaced by ``visitation_scale * d_mu``.

    Every ingredient by loops: d_mu from the Neumann series, pi(b | s) and the advantage from explicit
    sums over joint actions.
    """
    dag = policy.dag
    pi = joint_by_loops(game, dag, local_probs(policy.theta))
    _, Q, d = evaluate_by_series(game, pi)
    d = visitation_scale * d
    out = []
    barrier = independent_barrier_gradient(game, policy, lam)
    locals_ = local_probs(policy.theta)
    for i in range(game.n_agents):
        parents = dag.parents(i)
        q_family = family_to_theta(game, dag, i, partial_q_by_loops(game, pi, Q, (*parents, i)))
        q_parents = partial_q_by_loops(game, pi, Q, parents)
        advantage = q_family - q_parents[..., None]
        marg = np.zeros(q_parents.shape)  # pi(b | s)
        for idx in np.ndindex(pi.shape):
            s, a = idx[0], idx[1:]
            marg[(s, *[a[j] for j in parents])] += pi[idx]
        d_sb = d.reshape((-1,) + (1,) * len(parents)) * marg
        value_term = d_sb[..., None] * locals_[i] * advantage / (1.0 - game.gamma)
        out.append(value_term + barrier[i])
    return out


def test_lemma1_with_unit_factor_matches_finite_differences(case, fd):
    game, policy, lam = case
    exact_form = flat(bnpg.lemma1_gradient(game, policy, lam, value_factor=1.0))
    assert relative_error(exact_form, fd) <= 1e-9
    np.testing.assert_allclose(
        exact_form, flat(bnpg.gradient(game, policy, lam)), rtol=0, atol=1e-12 / (1 - game.gamma)
    )


def test_lemma1_as_printed_is_off_by_one_over_one_minus_gamma(case, fd):
    game, policy, lam = case
    g = game.gamma
    barrier = flat(independent_barrier_gradient(game, policy, lam))
    printed = flat(bnpg.lemma1_gradient(game, policy, lam))
    # Its value term is exactly 1/(1-gamma) times the true value term ...
    true_value_term = fd - barrier
    assert relative_error(printed - barrier, true_value_term / (1.0 - g)) <= 1e-9
    # ... so it misses finite differences by exactly gamma/(1-gamma) times the value term:
    # ||printed - fd|| / ||fd|| = gamma/(1-gamma) * ||value term|| / ||fd||, which is 0 only at gamma = 0
    # (and equals gamma/(1-gamma) itself when lambda = 0).
    err = relative_error(printed, fd)
    predicted = g / (1.0 - g) * np.linalg.norm(true_value_term) / np.linalg.norm(fd)
    assert abs(err - predicted) <= 1e-9 * max(1.0, predicted)
    if g == 0:
        assert err <= 1e-9
    else:
        assert err > 1.0  # every case here has gamma >= 0.6: the printed gradient is far off
    if lam == 0:
        assert abs(err - g / (1.0 - g)) <= 1e-9 * max(1.0, err)


def test_printed_lemma1_matches_with_the_normalised_visitation(case, fd):
    game, policy, lam = case
    normalised = flat(printed_lemma1(game, policy, lam, visitation_scale=1.0 - game.gamma))
    assert relative_error(normalised, fd) <= 1e-9
    unnormalised = flat(printed_lemma1(game, policy, lam, visitation_scale=1.0))
    np.testing.assert_allclose(
        unnormalised, flat(bnpg.lemma1_gradient(game, policy, lam)), rtol=0, atol=1e-11 / (1 - game.gamma) ** 2
    )


def test_printed_lemma1_on_the_matching_game(matching_game):
    # Chain 0 -> 1, uniform, gamma = 0.5: dV/dtheta^1_{s, b, c} = d(s) pi(b) pi^1(c|b) A^1(b, c)
    # = 2 * 0.5 * 0.5 * (1[b = c] - 0.5) = 0.5 (1[b = c] - 0.5): entries +-0.25.
    policy = bnpg.BNPolicy(matching_game, bnpg.DAG.chain(2))
    expected = 0.5 * (np.eye(2) - 0.5)
    np.testing.assert_allclose(bnpg.gradient(matching_game, policy)[1][0], expected, atol=1e-15)
    np.testing.assert_allclose(bnpg.lemma1_gradient(matching_game, policy)[1][0], 2 * expected, atol=1e-15)
    fd = finite_difference(own_objective(matching_game, policy.dag, 0.0), policy.flat())
    np.testing.assert_allclose(fd[2:], expected.ravel(), atol=1e-10)


# --------------------------------------------------------------------------------------------
# The barrier's gradient
# --------------------------------------------------------------------------------------------


def test_barrier_gradient_matches_finite_differences(case, backend):
    game, policy, lam = case
    lam = 0.3  # any positive value: the barrier does not depend on the game's rewards
    dag = policy.dag

    def barrier(x):
        return lam * own_barrier(game, unflatten(game, dag, x))

    fd = finite_difference(barrier, policy.flat())
    diff = flat(bnpg.gradient(game, policy, lam, backend=backend)) - flat(
        bnpg.gradient(game, policy, 0.0, backend=backend)
    )
    assert relative_error(diff, fd) <= 1e-8
    np.testing.assert_allclose(diff, flat(independent_barrier_gradient(game, policy, lam)), rtol=0, atol=1e-13)


def test_functions_do_not_mutate_inputs(case, backend):
    game, policy, lam = case
    theta_before = snapshot(*policy.theta)
    game_before = snapshot(game.P, game.r, game.mu)
    bnpg.objective(game, policy, lam)
    bnpg.gradient(game, policy, lam, backend=backend)
    bnpg.lemma1_gradient(game, policy, lam)
    bnpg.log_barrier(policy)
    for a, b in zip(policy.theta, theta_before, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip((game.P, game.r, game.mu), game_before, strict=True):
        np.testing.assert_array_equal(a, b)
