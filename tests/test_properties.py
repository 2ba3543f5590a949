"""Properties over generated games, DAGs (any numbering) and parameters, with hypothesis.

Examples are derandomised (the same on every run) and bounded so that the file runs in well under a
minute. Hypothesis draws only a seed per example (besides a test's own choices, such as ``lam`` and
the backend); everything else comes from ``np.random.default_rng(seed)`` with the distributions
below, so hypothesis's preference for zeros, ``False`` and first options cannot make the examples
trivial. (Shrinking then only moves to another seed; a failure's notes name the seed, and
:func:`setup_from_seed` rebuilds the example.)

* **Games**: 1-3 states; one agent with probability 0.1, else 2 or 3 agents, each with 2 or 3
  actions, and with probability 0.1 one of them has a single action (so most games with several
  agents mix action sizes); Dirichlet kernels, sparse (about half of the next states zeroed) half
  of the time; rewards uniform on ``[-1, 1]`` times 1 or 10; a full-support ``mu``. ``gamma`` is 0
  with probability 0.05, one of 0.9, 0.95, 0.99 with probability 0.35, else ``0.99 sqrt(U)`` for a
  uniform ``U``: spread over ``[0, 0.99]``, most of it at long horizons.
* **DAGs**: the agents are shuffled and each forward edge of the shuffled order is kept with
  probability 1/2 (redrawn until there is one), so edges from a higher to a lower index are as
  common as the others; with probability 0.08 the DAG is empty and with 0.12 it is complete.
* **Parameters**, entries in ``[-bound, bound]``: independent normal entries with a scale drawn
  log-uniformly from ``[0.2, bound / 2]``, clipped (probability 0.81); extreme entries, half at
  ``+-bound`` and half uniform on ``[-bound, bound]`` (0.16); uniform local policies, written as a
  random constant per row (0.03). With edges, the local policies then depend on the parents' actions
  except where a single-action agent is involved. The extreme-theta test instead draws each entry
  from ``-1e4``, ``1e4``, 0, uniform on ``[-1e4, 1e4]`` and standard normal, with Dirichlet weights
  drawn per example.

:func:`test_examples_are_informative` replays, for each property test, the very examples that test
runs (the same strategies, settings and seed, see :func:`property_test`) and fails when the share
of informative ones falls below the floors ``MIN_*`` (policies that depend on the parents' actions,
non-uniform policies, ``gamma >= 0.5`` and ``>= 0.9``, edges, backward edges, mixed action sizes).
"""

from __future__ import annotations

import inspect
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, seed, settings
from hypothesis import strategies as st
from oracles import (
    evaluate_by_series,
    finite_difference,
    joint_actions,
    kernel_by_loops,
    local_probs,
    policy_joint,
    resolvent,
    theta_shapes,
)

import bnpg
from tests.conftest import BACKENDS, random_arrays, relative_error

SETTINGS = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --------------------------------------------------------------------------------------------
# Generators: functions of a numpy generator, wrapped as strategies that draw only its seed
# --------------------------------------------------------------------------------------------


def random_discount(rng):
    """0 (probability 0.05), 0.9 / 0.95 / 0.99 (0.35), else ``0.99 sqrt(U)``."""
    u = rng.random()
    if u < 0.05:
        return 0.0
    if u < 0.40:
        return float(rng.choice([0.9, 0.95, 0.99]))
    return 0.99 * float(np.sqrt(rng.random()))


def random_game_from(rng, gamma=None, max_agents=3, max_states=3, max_actions=3):
    n_states = int(rng.integers(1, max_states + 1))
    n_agents = 1 if max_agents == 1 or rng.random() < 0.1 else int(rng.integers(2, max_agents + 1))
    sizes = [int(rng.integers(min(2, max_actions), max_actions + 1)) for _ in range(n_agents)]
    if rng.random() < 0.1:  # an agent without a choice
        sizes[rng.integers(n_agents)] = 1
    P, r, mu = random_arrays(rng, n_states, sizes, zero_fraction=float(rng.choice([0.0, 0.5])))
    r = r * float(rng.choice([1.0, 10.0]))
    return bnpg.MarkovGame(P, r, mu, random_discount(rng) if gamma is None else gamma)


def random_dag_from(rng, n_agents):
    order = rng.permutation(n_agents)
    u = rng.random()
    p = 0.0 if u < 0.08 else 1.0 if u < 0.2 else 0.5
    while True:
        parents = [[] for _ in range(n_agents)]
        for b in range(n_agents):
            for a in range(b):
                if rng.random() < p:
                    parents[order[b]].append(int(order[a]))
        if p == 0.0 or n_agents == 1 or any(parents):
            return bnpg.DAG(parents)


def random_theta_from(rng, game, dag, bound):
    shapes = theta_shapes(game, dag)
    u = rng.random()
    if u < 0.03:  # uniform local policies: a constant per row (softmax is shift-invariant)
        return [np.repeat(rng.uniform(-bound, bound, (*s[:-1], 1)), s[-1], axis=-1) for s in shapes]
    if u < 0.19:  # extreme magnitudes
        return [
            np.where(
                rng.random(s) < 0.5,
                bound * rng.choice([-1.0, 1.0], size=s),
                rng.uniform(-bound, bound, size=s),
            )
            for s in shapes
        ]
    scale = float(np.exp(rng.uniform(np.log(0.2), np.log(bound / 2))))
    return [np.clip(scale * rng.standard_normal(s), -bound, bound) for s in shapes]


def extreme_theta_from(rng, game, dag, bound=1e4):
    weights = rng.dirichlet(np.ones(5))  # -bound, bound, 0, uniform on [-bound, bound], N(0, 1)
    theta = []
    for s in theta_shapes(game, dag):
        options = np.stack(
            [
                np.full(s, -bound),
                np.full(s, bound),
                np.zeros(s),
                rng.uniform(-bound, bound, size=s),
                rng.standard_normal(s),
            ]
        )
        theta.append(np.choose(rng.choice(5, size=s, p=weights), options))
    return theta


def setup_from_seed(example_seed, bound=20.0, gamma=None, extreme=False, **game_kwargs):
    """The ``(game, policy)`` that :func:`setups` draws for ``example_seed`` with these arguments."""
    rng = np.random.default_rng(example_seed)
    game = random_game_from(rng, gamma=gamma, **game_kwargs)
    dag = random_dag_from(rng, game.n_agents)
    if extreme:
        theta = extreme_theta_from(rng, game, dag, bound)
    else:
        theta = random_theta_from(rng, game, dag, bound)
    return game, bnpg.BNPolicy(game, dag, theta)


@st.composite
def setups(draw, bound=20.0, gamma=None, extreme=False, **game_kwargs):
    """``(game, policy)`` with theta entries in ``[-bound, bound]``."""
    kwargs = dict(bound=bound, gamma=gamma, extreme=extreme, **game_kwargs)
    seed_ = draw(st.integers(0, 2**32 - 1))
    game, policy = setup_from_seed(seed_, **kwargs)
    note(f"setup_from_seed({seed_}, **{kwargs}) -> {policy!r}")
    return game, policy


# The strategies of the property tests, shared with test_examples_are_informative.
SETUPS = setups()
GAP_SETUPS = setups(bound=8.0)
GRADIENT_SETUPS = setups(bound=4.0)
EXTREME_SETUPS = setups(bound=1e4, extreme=True)
LONG_HORIZON_SETUPS = setups(gamma=0.999)
MUTATION_SETUPS = setups(bound=5.0)

#: name -> (settings, {argument: strategy}) of every property test, filled by :func:`property_test`.
PROPERTIES: dict[str, tuple] = {}


def property_test(settings_, *strategies):
    """``@settings_ @given(*strategies)`` (by argument name), with a seed fixed by the test's name.

    The explicit seed (derived from the name, so still the same on every run) is what lets
    :func:`drawn_examples` replay exactly the examples the test runs: hypothesis's sequence of
    examples is fixed by the seed, the settings and the strategies, whereas ``derandomize`` alone
    seeds from a hash of the test's source.
    """

    def decorate(test):
        kwargs = dict(zip(inspect.signature(test).parameters, strategies, strict=True))
        PROPERTIES[test.__name__] = (settings_, kwargs)
        return seed(zlib.crc32(test.__name__.encode()))(settings_(given(**kwargs)(test)))

    return decorate


@property_test(SETTINGS, SETUPS)
def test_joint_sums_to_one_and_is_the_product_of_locals(setup):
    game, policy = setup
    pi = policy.joint()
    np.testing.assert_allclose(pi.reshape(game.n_states, -1).sum(axis=1), 1.0, rtol=0, atol=1e-13)
    np.testing.assert_allclose(pi, policy_joint(policy), rtol=1e-12, atol=1e-300)


@property_test(SETTINGS, SETUPS)
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


@property_test(SETTINGS, SETUPS)
def test_v_is_the_policy_average_of_q(setup):
    game, policy = setup
    ev = bnpg.evaluate(game, policy)
    scale = (1.0 + np.abs(game.r).max()) / (1.0 - game.gamma)
    avg = (ev.pi * ev.Q).reshape(game.n_states, -1).sum(axis=1)
    np.testing.assert_allclose(ev.V, avg, rtol=0, atol=1e-12 * scale)
    V, _, d = evaluate_by_series(game, policy_joint(policy))
    np.testing.assert_allclose(ev.V, V, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(ev.d, d, rtol=0, atol=1e-12 / (1 - game.gamma))


@property_test(SETTINGS, GAP_SETUPS)
def test_gap_ordering(setup):
    game, policy = setup
    scale = (1.0 + np.abs(game.r).max()) / (1.0 - game.gamma)
    tol = 1e-12 * scale
    gaps = bnpg.nash_gaps(game, policy)
    assert np.all(gaps >= -tol)
    assert bnpg.nash_gap(game, policy) <= bnpg.optimality_gap(game, policy) + tol
    assert bnpg.optimality_gap(game, policy) >= -tol


@property_test(
    SETTINGS,
    GRADIENT_SETUPS,
    st.sampled_from([0.0, 0.05, 1.0]),
    st.sampled_from(BACKENDS),
)
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


@property_test(
    SETTINGS,
    EXTREME_SETUPS,
    st.sampled_from([0.0, 0.01, 1.0]),
    st.sampled_from(BACKENDS),
)
def test_extreme_theta_gives_finite_objective_and_gradient(setup, lam, backend):
    game, policy = setup
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


@property_test(SETTINGS, LONG_HORIZON_SETUPS)
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


@property_test(SETTINGS, MUTATION_SETUPS, st.sampled_from(BACKENDS))
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


# --------------------------------------------------------------------------------------------
# The examples are informative
# --------------------------------------------------------------------------------------------

# Floors on the share of informative examples among the 100 each property test runs. The generators
# give, in expectation (4000 seeds), 0.90, 0.96, 0.80, 0.46, 0.83, 0.49 and 0.66; each floor is at
# least three standard deviations of a 100-example share below that.
MIN_DEPENDENT = 0.8  # of examples with an edge: some local policy depends on its parents' actions
MIN_NON_UNIFORM = 0.8  # some local policy is not uniform
MIN_GAMMA_HALF = 0.5  # gamma >= 0.5
MIN_GAMMA_HIGH = 0.2  # gamma >= 0.9
MIN_EDGE = 0.7  # the DAG has at least one edge
MIN_BACKWARD = 0.3  # the DAG has an edge from a higher to a lower index
MIN_MIXED = 0.5  # of examples with two or more agents: the agents' numbers of actions differ

FLOORS = {
    "dependent": MIN_DEPENDENT,
    "non_uniform": MIN_NON_UNIFORM,
    "gamma_half": MIN_GAMMA_HALF,
    "gamma_high": MIN_GAMMA_HIGH,
    "edge": MIN_EDGE,
    "backward": MIN_BACKWARD,
    "mixed": MIN_MIXED,
}


def drawn_examples(name):
    """The setups the property test ``name`` runs: its strategies, settings and seed, replayed."""
    settings_, kwargs = PROPERTIES[name]
    drawn = []

    def collect(**example):
        drawn.append(example["setup"])

    seed(zlib.crc32(name.encode()))(settings_(given(**kwargs)(collect)))()
    return drawn


def informative(game, policy):
    """Which features behind the floors the example has (None where one does not apply).

    Local policies come from scipy's softmax of theta (oracles); two rows differ when some
    probability differs by more than 1e-6.
    """
    dag = policy.dag
    locals_ = local_probs(policy.theta)
    has_edge = any(dag.parents(i) for i in range(game.n_agents))
    dependent = False
    for i, p in enumerate(locals_):
        if dag.parents(i):
            rows = p.reshape(game.n_states, -1, p.shape[-1])
            dependent |= bool(np.abs(rows - rows[:, :1]).max() > 1e-6)
    return {
        "dependent": dependent if has_edge else None,
        "non_uniform": any(np.abs(p - 1.0 / p.shape[-1]).max() > 1e-6 for p in locals_),
        "gamma_half": game.gamma >= 0.5,
        "gamma_high": game.gamma >= 0.9,
        "edge": has_edge,
        "backward": any(j > i for i in range(game.n_agents) for j in dag.parents(i)),
        "mixed": len(set(game.action_sizes)) > 1 if game.n_agents >= 2 else None,
    }


@pytest.mark.parametrize("name", sorted(PROPERTIES))
def test_examples_are_informative(name):
    examples = drawn_examples(name)
    assert len(examples) == PROPERTIES[name][0].max_examples
    features = [informative(game, policy) for game, policy in examples]
    shares = {}
    for key in FLOORS:
        values = [f[key] for f in features if f[key] is not None]
        shares[key] = (sum(values) / len(values), len(values))
    report = ", ".join(f"{k} {s:.2f} of {n} (floor {FLOORS[k]})" for k, (s, n) in shares.items())
    low = [k for k, (s, _) in shares.items() if s < FLOORS[k]]
    assert not low, f"{name}: too few informative examples ({', '.join(low)}): {report}"
