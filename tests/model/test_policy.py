"""BNPolicy: tabular softmax local policies and the joint policy they induce (Section 3, Eq. 1)."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
from oracles import joint_actions, local_probs, policy_joint, theta_shapes

import bnpg
from tests.conftest import random_game, random_policy, random_theta, reversed_full_dag

DAGS_3 = {
    "empty": bnpg.DAG.empty(3),
    "chain": bnpg.DAG.chain(3),
    "full": bnpg.DAG.full(3),
    "back": bnpg.DAG([[2], [0, 2], []]),  # 2 -> 0, 2 -> 1, 0 -> 1
    "reversed_full": reversed_full_dag(3),
    "v": bnpg.DAG([[], [], [0, 1]]),
}


@pytest.fixture(params=sorted(DAGS_3))
def dag3(request):
    return DAGS_3[request.param]


# --------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------


def test_theta_shapes_follow_the_convention(game_232, dag3):
    policy = bnpg.BNPolicy(game_232, dag3)
    assert [t.shape for t in policy.theta] == theta_shapes(game_232, dag3)
    assert policy.n_params == sum(int(np.prod(s)) for s in theta_shapes(game_232, dag3))
    for i, lay in enumerate(policy.structure.layouts):
        assert lay.parents == dag3.parents(i)
        assert lay.family == tuple(sorted((*dag3.parents(i), i)))
        assert lay.n_parent_actions == int(np.prod([game_232.action_sizes[j] for j in dag3.parents(i)]))


def test_default_theta_is_zero_and_uniform(game_232, dag3):
    policy = bnpg.BNPolicy(game_232, dag3)
    for i, t in enumerate(policy.theta):
        np.testing.assert_array_equal(t, 0.0)
        np.testing.assert_allclose(policy.local(i), 1.0 / game_232.action_sizes[i], rtol=1e-15)
    np.testing.assert_allclose(policy.joint(), 1.0 / game_232.n_joint_actions, rtol=1e-14)


def test_edge_from_higher_to_lower_index(game_232):
    # Agent 0 observes agent 2: theta[0] is (S, A_2, A_0) and the joint uses the right axes.
    dag = bnpg.DAG([[2], [], []])
    theta = [np.zeros((3, 2, 2)), np.zeros((3, 3)), np.zeros((3, 2))]
    theta[0][:, 0, :] = [10.0, -10.0]  # agent 2 plays 0  => agent 0 very likely plays 0
    theta[0][:, 1, :] = [-10.0, 10.0]  # agent 2 plays 1  => agent 0 very likely plays 1
    policy = bnpg.BNPolicy(game_232, dag, theta)
    assert policy.theta[0].shape == (3, 2, 2)
    pi = policy.joint()
    sigmoid_20 = 1.0 / (1.0 + np.exp(-20.0))
    for s in range(3):
        for a0, a1, a2 in itertools.product(range(2), range(3), range(2)):
            expected = (sigmoid_20 if a0 == a2 else 1.0 - sigmoid_20) / 3.0 / 2.0
            assert abs(pi[s, a0, a1, a2] - expected) <= 1e-15
    np.testing.assert_allclose(pi, policy_joint(policy), rtol=1e-13, atol=0)


def test_theta_is_copied_and_read_only(game_232, dag3):
    theta = random_theta(0, game_232, dag3)
    before = [t.copy() for t in theta]
    policy = bnpg.BNPolicy(game_232, dag3, theta)
    joint_before = policy_joint(policy)
    for t in theta:
        t += 100.0
    for t, b in zip(policy.theta, before, strict=True):
        np.testing.assert_array_equal(t, b)
        assert not t.flags.writeable
    np.testing.assert_allclose(policy.joint(), joint_before, rtol=1e-13)
    assert not policy.joint().flags.writeable
    assert not policy.local(0).flags.writeable


def test_random_policy(game_232, dag3):
    a = bnpg.BNPolicy.random(game_232, dag3, seed=3, scale=2.0)
    b = bnpg.BNPolicy.random(game_232, dag3, seed=np.random.default_rng(3), scale=2.0)
    for x, y in zip(a.theta, b.theta, strict=True):
        np.testing.assert_array_equal(x, y)
    zero = bnpg.BNPolicy.random(game_232, dag3, seed=3, scale=0.0)
    assert all(np.all(t == 0.0) for t in zero.theta)
    flat = np.concatenate([t.ravel() for t in bnpg.BNPolicy.random(game_232, bnpg.DAG.full(3), 0, 1.0).theta])
    # Normal(0, 1) entries: sample standard deviation of 63 draws within 0.5 of 1 (std error 0.09).
    assert flat.size == 3 * 2 + 3 * 2 * 3 + 3 * 6 * 2
    assert abs(flat.std() - 1.0) < 0.5


# --------------------------------------------------------------------------------------------
# Local policies, softmax stability
# --------------------------------------------------------------------------------------------


def test_local_is_softmax(game_232, dag3):
    policy = random_policy(1, game_232, dag3, scale=3.0)
    for i, expected in enumerate(local_probs(policy.theta)):
        np.testing.assert_allclose(policy.local(i), expected, rtol=1e-13, atol=0)
        np.testing.assert_allclose(policy.log_local(i), np.log(expected), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(policy.local(i).sum(axis=-1), 1.0, rtol=0, atol=1e-15)


def test_softmax_is_invariant_to_shifts(game_232, dag3):
    policy = random_policy(2, game_232, dag3)
    shifted = policy.with_theta([t + 1234.5 for t in policy.theta])
    for i in range(3):
        np.testing.assert_allclose(shifted.local(i), policy.local(i), rtol=1e-12, atol=1e-300)


def test_extreme_theta_is_stable(game_232, dag3):
    theta = random_theta(4, game_232, dag3, scale=1.0)
    theta = [1e4 * np.sign(t) for t in theta]  # entries exactly +-1e4
    theta[0].flat[0] = -1e4
    policy = bnpg.BNPolicy(game_232, dag3, theta)
    for i in range(3):
        local = policy.local(i)
        assert np.all(np.isfinite(local))
        np.testing.assert_allclose(local.sum(axis=-1), 1.0, rtol=0, atol=1e-15)
        log_local = policy.log_local(i)
        assert np.all(np.isfinite(log_local))
        # log pi = theta - logsumexp(theta); with entries +-1e4 the spread is exactly 2e4 or 0.
        t = policy.theta[i]
        m = t.max(axis=-1, keepdims=True)
        k = (t == m).sum(axis=-1, keepdims=True)
        np.testing.assert_allclose(log_local, t - m - np.log(k), rtol=1e-15, atol=1e-12)
    pi = policy.joint()
    assert np.all(np.isfinite(pi))
    np.testing.assert_allclose(pi.reshape(3, -1).sum(axis=1), 1.0, rtol=0, atol=1e-14)


# --------------------------------------------------------------------------------------------
# Joint, marginals, conditionals
# --------------------------------------------------------------------------------------------


def test_joint_matches_loops_and_sums_to_one(game_232, dag3):
    policy = random_policy(5, game_232, dag3, scale=2.0)
    pi = policy.joint()
    assert pi.shape == (3, 2, 3, 2)
    np.testing.assert_allclose(pi, policy_joint(policy), rtol=1e-13, atol=0)
    np.testing.assert_allclose(pi.reshape(3, -1).sum(axis=1), 1.0, rtol=0, atol=1e-14)


def test_marginalising_the_joint_reproduces_every_local(game_232, dag3):
    # pi(a^i | s, a^{P^i}) = pi(a^{P^i}, a^i | s) / pi(a^{P^i} | s), sums by explicit loops.
    policy = random_policy(6, game_232, dag3, scale=2.0)
    pi = policy.joint()
    sizes = game_232.action_sizes
    for i in range(3):
        parents = dag3.parents(i)
        local = policy.local(i)
        num = np.zeros(local.shape)
        den = np.zeros(local.shape[:-1])
        for s in range(3):
            for a in joint_actions(sizes):
                b = tuple(a[j] for j in parents)
                num[(s, *b, a[i])] += pi[(s, *a)]
                den[(s, *b)] += pi[(s, *a)]
        np.testing.assert_allclose(num / den[..., None], local, rtol=1e-12, atol=0)


def test_marginal(game_232, dag3):
    policy = random_policy(7, game_232, dag3)
    pi = policy_joint(policy)
    for members in ([], [0], [2], [0, 2], [2, 0], [0, 1, 2]):
        marg = policy.marginal(members)
        keep = sorted(members)
        expected = np.zeros((3, *[game_232.action_sizes[j] for j in keep]))
        for s in range(3):
            for a in joint_actions(game_232.action_sizes):
                expected[(s, *[a[j] for j in keep])] += pi[(s, *a)]
        np.testing.assert_allclose(marg, expected, rtol=1e-13, atol=0)
    assert policy.marginal(range(3)).flags.writeable  # a copy, not the cached joint


def test_conditional_matches_its_definition(game_232, dag3):
    policy = random_policy(8, game_232, dag3, scale=2.0)
    pi = policy_joint(policy)
    sizes = game_232.action_sizes
    for members in ([0], [1], [1, 2], [0, 2], [0, 1, 2]):
        cond = policy.conditional(members)
        assert cond.shape == pi.shape
        for s in range(3):
            for a in joint_actions(sizes):
                # pi^M(a^M | s, a^{-M}) = pi(a) / sum over a^M with a^{-M} fixed
                den = 0.0
                for alt in itertools.product(*[range(sizes[j]) for j in members]):
                    b = list(a)
                    for j, x in zip(members, alt, strict=True):
                        b[j] = x
                    den += pi[(s, *b)]
                assert abs(cond[(s, *a)] - pi[(s, *a)] / den) <= 1e-13 * max(1.0, cond[(s, *a)])


def test_conditional_of_a_leaf_family_is_its_local():
    # For an agent without children, pi^{{i}}(a^i | s, a^{-i}) = pi^i(a^i | s, a^{P^i}).
    game = random_game(3, n_states=2, action_sizes=(2, 3, 2))
    dag = bnpg.DAG([[2], [0, 2], []])  # agent 1 has no children
    policy = random_policy(9, game, dag, scale=2.0)
    cond = policy.conditional([1])
    local = policy.local(1)  # (S, A_0, A_2, A_1)
    np.testing.assert_allclose(cond, local.transpose(0, 1, 3, 2), rtol=1e-13)


def test_conditional_is_nan_where_undefined():
    game = random_game(0, n_states=1, action_sizes=(2, 2))
    policy = bnpg.BNPolicy(game, bnpg.DAG.empty(2), [[[0.0, -1e4]], [[0.0, 0.0]]])
    # pi(a^0 = 1 | s) = exp(-1e4) underflows to exactly 0, so pi^{1}(. | s, a^0 = 1) is undefined.
    assert policy.local(0)[0, 1] == 0.0
    cond = policy.conditional([1])
    assert np.all(np.isnan(cond[0, 1]))
    np.testing.assert_allclose(cond[0, 0], [0.5, 0.5], rtol=1e-15)


# --------------------------------------------------------------------------------------------
# Sampling
# --------------------------------------------------------------------------------------------


def test_sampling_frequencies_match_the_joint():
    # n draws at a state: each joint action's count is Binomial(n, p). We require
    # |freq - p| <= 5 sqrt(p (1 - p) / n) + 1e-12 for all 12 actions (a false alarm has probability
    # below 12 * 6e-7 per state). 20000 draws at state 0, 5000 at state 1.
    game = random_game(12, n_states=2, action_sizes=(2, 3, 2))
    dag = bnpg.DAG([[2], [0, 2], []])  # topological order 2, 0, 1
    policy = random_policy(13, game, dag, scale=1.0)
    pi = policy_joint(policy)
    rng = np.random.default_rng(2024)
    for s, n in ((0, 20_000), (1, 5_000)):
        counts = np.zeros(game.action_sizes)
        for _ in range(n):
            a = policy.sample(s, rng)
            counts[a] += 1
        assert len(a) == 3 and all(isinstance(x, int) for x in a)
        freq = counts / n
        p = pi[s]
        assert np.all(np.abs(freq - p) <= 5 * np.sqrt(p * (1 - p) / n) + 1e-12)


def test_sampling_is_reproducible_and_uses_only_the_generator(game_232, dag3):
    policy = random_policy(14, game_232, dag3)
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    draws_a = [policy.sample(1, rng_a) for _ in range(50)]
    draws_b = [policy.sample(1, rng_b) for _ in range(50)]
    assert draws_a == draws_b


def test_sampling_respects_deterministic_locals():
    game = random_game(1, n_states=2, action_sizes=(2, 3, 2))
    dag = bnpg.DAG([[2], [0, 2], []])
    theta = [np.zeros(s) for s in theta_shapes(game, dag)]
    theta[2][:] = [-1e4, 1e4]  # agent 2 plays 1
    theta[0][:, 1] = [1e4, -1e4]  # then agent 0 plays 0
    theta[1][:, 0, 1] = [-1e4, -1e4, 1e4]  # then agent 1 plays 2
    policy = bnpg.BNPolicy(game, dag, theta)
    rng = np.random.default_rng(0)
    assert {policy.sample(s, rng) for s in (0, 1) for _ in range(20)} == {(0, 2, 1)}


# --------------------------------------------------------------------------------------------
# Flat vectors and derived policies
# --------------------------------------------------------------------------------------------


def test_flat_round_trip(game_232, dag3):
    policy = random_policy(15, game_232, dag3)
    flat = policy.flat()
    assert flat.shape == (policy.n_params,)
    np.testing.assert_array_equal(flat, np.concatenate([t.ravel() for t in policy.theta]))
    again = policy.with_flat(flat)
    for a, b in zip(again.theta, policy.theta, strict=True):
        np.testing.assert_array_equal(a, b)
    vec = np.arange(policy.n_params, dtype=float)
    before = vec.copy()
    other = policy.with_flat(vec)
    np.testing.assert_array_equal(other.flat(), vec)
    np.testing.assert_array_equal(vec, before)
    vec[0] = 1e9  # the new policy holds its own copy
    assert other.flat()[0] == 0.0
    assert other.game is policy.game and other.dag == policy.dag


def test_with_theta_does_not_touch_the_original(game_232, dag3):
    policy = random_policy(16, game_232, dag3)
    before = [t.copy() for t in policy.theta]
    pi_before = policy.joint().copy()
    policy.with_theta([t + 1.0 for t in policy.theta])
    policy.with_flat(np.zeros(policy.n_params))
    for t, b in zip(policy.theta, before, strict=True):
        np.testing.assert_array_equal(t, b)
    np.testing.assert_array_equal(policy.joint(), pi_before)


def test_queries_do_not_mutate(game_232, dag3):
    policy = random_policy(17, game_232, dag3)
    before = [t.copy() for t in policy.theta]
    policy.joint()
    policy.marginal([0, 2])
    policy.conditional([1])
    for i in range(3):
        policy.local(i)
        policy.log_local(i)
    policy.sample(0, np.random.default_rng(0))
    for t, b in zip(policy.theta, before, strict=True):
        np.testing.assert_array_equal(t, b)


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def test_theta_validation(game_232):
    dag = bnpg.DAG([[2], [0, 2], []])
    good = random_theta(0, game_232, dag)
    with pytest.raises(ValueError, match=re.escape("theta must hold one array per agent (3), got 2")):
        bnpg.BNPolicy(game_232, dag, good[:2])
    bad = list(good)
    bad[1] = np.zeros((3, 3, 2, 2))
    with pytest.raises(ValueError, match=re.escape("theta[1] must have shape (3, 2, 2, 3)")):
        bnpg.BNPolicy(game_232, dag, bad)
    bad = list(good)
    bad[0] = good[0].copy()
    bad[0][1, 0, 1] = np.nan
    with pytest.raises(ValueError, match=re.escape("theta[0][1, 0, 1] is") + ".*finite"):
        bnpg.BNPolicy(game_232, dag, bad)
    bad[0][1, 0, 1] = np.inf
    with pytest.raises(ValueError, match=re.escape("theta[0][1, 0, 1]")):
        bnpg.BNPolicy(game_232, dag, bad)
    for wrong in (good[2].astype(bool), good[2].astype(complex), good[2].astype(str), "theta"):
        bad = list(good)
        bad[2] = wrong
        with pytest.raises(TypeError, match=re.escape("theta[2]")):
            bnpg.BNPolicy(game_232, dag, bad)
    with pytest.raises(TypeError, match="theta must be a list with one array per agent"):
        bnpg.BNPolicy(game_232, dag, np.zeros((3, 2, 2)))
    with pytest.raises(TypeError, match="theta must be a list"):
        bnpg.BNPolicy(game_232, dag, 3.0)


def test_constructor_type_and_agent_count_errors(game_232):
    dag = bnpg.DAG.chain(3)
    with pytest.raises(TypeError, match="game must be a MarkovGame"):
        bnpg.BNPolicy("game", dag)
    with pytest.raises(TypeError, match="dag must be a DAG"):
        bnpg.BNPolicy(game_232, [[], [0], [1]])
    with pytest.raises(ValueError, match="dag has 2 agents but the game has 3"):
        bnpg.BNPolicy(game_232, bnpg.DAG.chain(2))


def test_method_argument_errors(game_232):
    policy = random_policy(0, game_232, bnpg.DAG.chain(3))
    with pytest.raises(ValueError, match=re.escape("vector must have shape")):
        policy.with_flat(np.zeros(policy.n_params + 1))
    with pytest.raises(ValueError, match=re.escape("vector[3] is")):
        policy.with_flat(np.where(np.arange(policy.n_params) == 3, np.nan, 0.0))
    with pytest.raises(TypeError, match="vector"):
        policy.with_flat(np.zeros(policy.n_params, dtype=bool))
    with pytest.raises(ValueError, match="i must be an agent in 0..2, got 3"):
        policy.local(3)
    with pytest.raises(TypeError, match="i must be an integer"):
        policy.log_local(0.0)
    with pytest.raises(ValueError, match="agents entry must be an agent"):
        policy.marginal([0, 5])
    with pytest.raises(ValueError, match="agents lists an agent more than once"):
        policy.marginal([1, 1])
    with pytest.raises(TypeError, match="agents must be an iterable"):
        policy.conditional(1)
    with pytest.raises(ValueError, match=re.escape("s must be a state in 0..2, got 3")):
        policy.sample(3, np.random.default_rng(0))
    with pytest.raises(TypeError, match="s must be an integer"):
        policy.sample(True, np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        policy.sample(0, 42)
    with pytest.raises(ValueError, match="scale must be >= 0, got -1.0"):
        bnpg.BNPolicy.random(game_232, bnpg.DAG.chain(3), seed=0, scale=-1.0)
    with pytest.raises(TypeError, match="seed must be"):
        bnpg.BNPolicy.random(game_232, bnpg.DAG.chain(3), seed="0")
