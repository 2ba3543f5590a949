"""Properties over generated games, DAGs (any numbering) and parameters, with hypothesis.

Examples are derandomised (the same on every run) and bounded so that the file runs in well under a
minute. Games have 1-3 states, 1-3 agents with 1-3 actions each; DAGs are drawn by shuffling the
agents and keeping each forward edge of the shuffled order, so edges from a higher to a lower index
are common.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import bnpg
from tests.conftest import (
    BACKENDS,
    evaluate_by_series,
    finite_difference,
    joint_actions,
    kernel_by_loops,
    policy_joint,
    relative_error,
    resolvent,
    theta_shapes,
)

SETTINGS = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def games(draw, gamma=None, max_agents=3, max_states=3, max_actions=3):
    n_states = draw(st.integers(1, max_states))
    n_agents = draw(st.integers(1, max_agents))
    sizes = tuple(draw(st.lists(st.integers(1, max_actions), min_size=n_agents, max_size=n_agents)))
    if gamma is None:
        gamma = draw(st.sampled_from([0.0, 0.5, 0.9, 0.99]) | st.floats(0.0, 0.99))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = (n_states, *sizes)
    P = rng.dirichlet(np.ones(n_states), size=shape)
    if draw(st.booleans()):  # sparse kernels: zero out some next states, keep rows stochastic
        mask = rng.random(P.shape) < 0.5
        mask[..., 0] = False
        P = np.where(mask, 0.0, P)
        P /= P.sum(axis=-1, keepdims=True)
    r = rng.uniform(-1.0, 1.0, size=shape) * draw(st.sampled_from([1.0, 10.0]))
    mu = rng.dirichlet(np.ones(n_states))
    return bnpg.MarkovGame(P, r, mu, gamma)


@st.composite
def dags(draw, n_agents):
    order = draw(st.permutations(range(n_agents)))
    parents = [[] for _ in range(n_agents)]
    for b in range(n_agents):
        for a in range(b):
            if draw(st.booleans()):
                parents[order[b]].append(order[a])
    return bnpg.DAG(parents)


@st.composite
def setups(draw, bound=20.0, gamma=None, **game_kwargs):
    """``(game, policy)`` with theta entries in ``[-bound, bound]``."""
    game = draw(games(gamma=gamma, **game_kwargs))
    dag = draw(dags(game.n_agents))
    theta = [
        draw(hnp.arrays(np.float64, shape, elements=st.floats(-bound, bound, allow_nan=False)))
        for shape in theta_shapes(game, dag)
    ]
    return game, bnpg.BNPolicy(game, dag, theta)


@SETTINGS
@given(setups())
def test_joint_sums_to_one_and_is_the_product_of_locals(setup):
    game, policy = setup
    pi = policy.joint()
    np.testing.assert_allclose(pi.reshape(game.n_states, -1).sum(axis=1), 1.0, rtol=0, atol=1e-13)
    np.testing.assert_allclose(pi, policy_joint(policy), rtol=1e-12, atol=1e-300)


@SETTINGS
@given(setups())
def test_marginalising_the_joint_reproduces_each_local(setup):
    game, policy = setup
    pi = policy.joint()
    for i in range(game.n_agents):
        parents = policy.dag.parents(i)
        local = policy.local(i)
        num = np.zeros(local.shape)
        den = np.zeros(local.shape[:-1])
        for s in range(game.n_states):
            for a in joint_actions(game.action_sizes):
                b = tuple(a[j] for j in parents)
                num[(s, *b, a[i])] += pi[(s, *a)]
                den[(s, *b)] += pi[(s, *a)]
        # theta in [-20, 20] keeps every probability above e^-40 / 3 per agent: no underflow.
        np.testing.assert_allclose(num / den[..., None], local, rtol=1e-10, atol=0)


@SETTINGS
@given(setups())
def test_v_is_the_policy_average_of_q(setup):
    game, policy = setup
    ev = bnpg.evaluate(game, policy)
    scale = (1.0 + np.abs(game.r).max()) / (1.0 - game.gamma)
    avg = (ev.pi * ev.Q).reshape(game.n_states, -1).sum(axis=1)
    np.testing.assert_allclose(ev.V, avg, rtol=0, atol=1e-12 * scale)
    V, _, d = evaluate_by_series(game, policy_joint(policy))
    np.testing.assert_allclose(ev.V, V, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(ev.d, d, rtol=0, atol=1e-12 / (1 - game.gamma))


@SETTINGS
@given(setups(bound=8.0))
def test_gap_ordering(setup):
    game, policy = setup
    scale = (1.0 + np.abs(game.r).max()) / (1.0 - game.gamma)
    tol = 1e-12 * scale
    gaps = bnpg.nash_gaps(game, policy)
    assert np.all(gaps >= -tol)
    assert bnpg.nash_gap(game, policy) <= bnpg.optimality_gap(game, policy) + tol
    assert bnpg.optimality_gap(game, policy) >= -tol


@settings(SETTINGS, max_examples=40)
@given(setups(bound=4.0, max_actions=2), st.sampled_from([0.0, 0.05, 1.0]), st.sampled_from(BACKENDS))
def test_gradient_equals_finite_differences(setup, lam, backend):
    game, policy = setup

    def f(x):
        return bnpg.objective(game, policy.with_flat(x), lam)

    x = policy.flat()
    fd = finite_difference(f, x)
    g = np.concatenate([a.ravel() for a in bnpg.gradient(game, policy, lam, backend=backend)])
    # Relative 1e-6 as the issue asks, plus the stencil's round-off floor: each entry's error is at
    # most about (18 / 12h) * 1e-16 * |L| = 1.5e-13 |L| for h = 1e-3.
    floor = 1e-12 * np.sqrt(x.size) * (1.0 + abs(f(x)))
    assert np.linalg.norm(g - fd) <= 1e-6 * np.linalg.norm(fd) + floor, relative_error(g, fd)


@SETTINGS
@given(
    games(),
    st.data(),
    st.sampled_from([0.0, 0.01, 1.0]),
    st.sampled_from(BACKENDS),
)
def test_extreme_theta_gives_finite_objective_and_gradient(game, data, lam, backend):
    dag = data.draw(dags(game.n_agents))
    values = st.sampled_from([-1e4, 1e4, 0.0]) | st.floats(-1e4, 1e4)
    theta = [data.draw(hnp.arrays(np.float64, s, elements=values)) for s in theta_shapes(game, dag)]
    policy = bnpg.BNPolicy(game, dag, theta)
    L = bnpg.objective(game, policy, lam)
    assert np.isfinite(L)
    grads = bnpg.gradient(game, policy, lam, backend=backend)
    assert all(np.all(np.isfinite(g)) for g in grads)
    assert np.isfinite(bnpg.gradient_norm(grads))
    pi = policy.joint()
    assert np.all(np.isfinite(pi))
    np.testing.assert_allclose(pi.reshape(game.n_states, -1).sum(axis=1), 1.0, rtol=0, atol=1e-12)
    # The barrier is at least -sum_i (max spread of theta^i) = -2e4 per agent.
    assert bnpg.log_barrier(policy) >= -2e4 * game.n_agents - 1e-6


@SETTINGS
@given(setups(gamma=0.999))
def test_gamma_0999(setup):
    game, policy = setup
    ev = bnpg.evaluate(game, policy)
    for arr in (ev.V, ev.Q, ev.d):
        assert np.all(np.isfinite(arr))
    scale = np.abs(game.r).max() / (1.0 - game.gamma)
    # Bellman identities, relative to the value scale |r|_max / (1 - gamma) = 1000 |r|_max.
    Q = game.r + game.gamma * np.einsum("...t,t->...", game.P, ev.V)
    np.testing.assert_allclose(ev.Q, Q, rtol=0, atol=1e-8 * scale)
    P_pi, r_pi = kernel_by_loops(game, policy_joint(policy))
    np.testing.assert_allclose(ev.V, r_pi + game.gamma * P_pi @ ev.V, rtol=0, atol=1e-8 * scale)
    np.testing.assert_allclose(ev.V, resolvent(game.gamma, P_pi) @ r_pi, rtol=0, atol=1e-8 * scale)
    assert abs(ev.d.sum() - 1000.0) <= 1e-8 * 1000.0
    assert np.isfinite(bnpg.optimal_value(game))
    assert bnpg.nash_gap(game, policy) <= bnpg.optimality_gap(game, policy) + 1e-8 * scale


def _state(game, policy, extra):
    arrays = [game.P, game.r, game.mu, *policy.theta, *extra]
    return [np.array(a, copy=True) for a in arrays], [a.flags.writeable for a in arrays], arrays


@settings(SETTINGS, max_examples=25)
@given(setups(bound=5.0, max_actions=2), st.sampled_from(BACKENDS))
def test_no_function_mutates_its_inputs(setup, backend):
    game, policy = setup
    theta_in = [np.array(t) for t in policy.theta]  # caller-owned, writeable
    theta_copy = [t.copy() for t in theta_in]
    policy = bnpg.BNPolicy(game, policy.dag, theta_in)
    flat = policy.flat()
    flat_copy = flat.copy()
    agents = [0]
    copies, flags, arrays = _state(game, policy, [policy.joint()])
    ev = bnpg.evaluate(game, policy)
    ev_copies = [ev.V.copy(), ev.Q.copy(), ev.d.copy()]

    bnpg.value(game, policy)
    bnpg.visitation(game, policy)
    bnpg.partial_q(game, policy, agents, ev)
    bnpg.local_advantage(game, policy, 0, ev)
    bnpg.objective(game, policy, 0.1)
    bnpg.gradient(game, policy, 0.1, backend=backend)
    bnpg.lemma1_gradient(game, policy, 0.1)
    bnpg.log_barrier(policy)
    bnpg.best_response(game, policy, 0)
    bnpg.nash_gap(game, policy)
    bnpg.optimality_gap(game, policy)
    bnpg.mismatch_coefficient(game)
    bnpg.smoothness_bound(game, policy.dag, 0.1)
    bnpg.gradient_ascent(
        game, policy, lam=0.1, eta=0.1, steps=2, metrics=bnpg.dynamics.METRICS, backend=backend
    )
    policy.with_flat(flat)
    policy.marginal(agents)
    policy.conditional(agents)
    policy.sample(0, np.random.default_rng(0))

    assert agents == [0]
    np.testing.assert_array_equal(flat, flat_copy)
    for t, c in zip(theta_in, theta_copy, strict=True):
        np.testing.assert_array_equal(t, c)
        assert t.flags.writeable
    for a, c, f in zip(arrays, copies, flags, strict=True):
        np.testing.assert_array_equal(a, c)
        assert a.flags.writeable == f
    for a, c in zip((ev.V, ev.Q, ev.d), ev_copies, strict=True):
        np.testing.assert_array_equal(a, c)
