"""Simulated episodes of a Markov game under a BN policy (bnpg.sampling.episodes).

What is checked, and against what:

* the layout of a batch (shapes, ranges, ``alive``, zeros where no step was taken), its
  reproducibility from a seed, and that nothing but the generator is changed;
* the sampling distribution, against exact probabilities built without bnpg's numerics (loops over
  joint actions and scipy's softmax, ``tests/oracles.py``): the pair ``(s_0, a_0)`` must follow
  ``mu(s) pi(a | s)``, ``s_1`` must follow ``mu P_pi`` and ``(s_1, a_1)`` must follow
  ``(mu P_pi)(s) pi(a | s)``, on a DAG whose edges run against the index order and mixed action sizes;
* the geometric horizon: episode lengths are geometric with continuation ``gamma``, and the mean
  return is the exact value ``V(mu)`` (Neumann series); a fixed horizon ``H`` has mean
  ``sum_{t<H} gamma^t mu P_pi^t r_pi`` computed here by hand;
* ``weights``, ``returns`` and ``discounted_returns`` against explicit loops;
* bad input.

Statistical checks use fixed seeds, so they are deterministic. Each states its threshold: a
chi-square goodness-of-fit p-value must exceed ``ALPHA = 1e-4``, and a z statistic must stay within
the two-sided normal quantile at ``ALPHA`` (3.89).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from oracles import evaluate_by_series, kernel_by_loops, local_probs, policy_joint
from scipy import stats

import bnpg
from bnpg.sampling.episodes import Episodes, check_episodes, check_horizon, simulate
from tests.conftest import random_game, random_policy, snapshot

ALPHA = 1e-4
Z_MAX = float(stats.norm.isf(ALPHA / 2))  # two-sided normal quantile at ALPHA, about 3.89

#: Parents 0 <- {1, 2}, 1 <- {2}: every edge goes from a higher to a lower index.
BACK_PARENTS = [[1, 2], [2], []]


def back_case(seed=3, gamma=0.8):
    game = random_game(seed, n_states=3, action_sizes=(2, 3, 2), gamma=gamma)
    dag = bnpg.DAG(BACK_PARENTS)
    return game, dag, random_policy(seed + 100, game, dag)


def chi_square_p(counts, probs):
    """p-value of Pearson's chi-square test of ``counts`` against ``probs``.

    Cells of zero probability must have zero counts and are dropped; the cells expecting fewer than
    5 counts are pooled into one (with the next smallest cells if the pool still expects fewer than
    5), so that every cell expects at least 5 (the condition of the chi-square approximation)."""
    counts, probs = np.ravel(counts).astype(float), np.ravel(probs).astype(float)
    assert abs(probs.sum() - 1) < 1e-12
    assert np.all(counts[probs == 0] == 0)
    keep = probs > 0
    counts, probs = counts[keep], probs[keep]
    n = counts.sum()
    order = np.argsort(probs)
    small = int((n * probs < 5).sum())  # pool every cell expecting < 5, and more until the pool has 5
    k = max(small, int(np.searchsorted(np.cumsum(probs[order]) * n, 5.0)) + 1) if small else 0
    if k > 1:
        pooled = order[:k]
        counts = np.append(np.delete(counts, pooled), counts[pooled].sum())
        probs = np.append(np.delete(probs, pooled), probs[pooled].sum())
    expected = n * probs
    assert expected.min() >= 5 and probs.size >= 2
    stat = float(((counts - expected) ** 2 / expected).sum())
    return float(stats.chi2.sf(stat, probs.size - 1))


def state_action_counts(game, states, actions):
    """Counts of ``(s, a_0, ..., a_{N-1})`` over the rows of ``states`` (B,) and ``actions`` (B, N)."""
    counts = np.zeros((game.n_states, *game.action_sizes))
    np.add.at(counts, (states, *actions.T), 1)
    return counts


# --------------------------------------------------------------------------------------------
# Layout, reproducibility, no mutation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("horizon", [1, 4])
def test_fixed_horizon_layout(horizon):
    game, dag, policy = back_case()
    B = 50
    batch = simulate(game, policy, episodes=B, horizon=horizon, rng=np.random.default_rng(0))
    assert isinstance(batch, Episodes)
    assert batch.states.shape == (B, horizon + 1)
    assert batch.actions.shape == (B, horizon, 3)
    assert batch.rewards.shape == (B, horizon)
    assert batch.alive.shape == (B, horizon) and batch.alive.dtype == bool
    assert batch.alive.all()
    assert batch.horizon == horizon and batch.gamma == game.gamma
    assert np.issubdtype(batch.states.dtype, np.integer) and np.issubdtype(batch.actions.dtype, np.integer)
    assert batch.states.min() >= 0 and batch.states.max() < game.n_states
    for i, k in enumerate(game.action_sizes):
        assert batch.actions[..., i].min() >= 0 and batch.actions[..., i].max() < k
    # the rewards are those of the game at the (state, joint action) of each step
    expected = game.r[(batch.states[:, :-1], *np.moveaxis(batch.actions, 2, 0))]
    np.testing.assert_array_equal(batch.rewards, expected)
    assert batch.n_episodes == B
    assert batch.n_steps == B * horizon
    assert batch.n_agent_steps == B * horizon * 3


def test_transitions_only_where_the_game_allows():
    """A deterministic cycle 0 -> 1 -> 2 -> 0 whatever the actions: every transition follows it."""
    S, sizes = 3, (2, 3, 2)
    P = np.zeros((S, *sizes, S))
    for s in range(S):
        P[s, ..., (s + 1) % S] = 1.0
    r = np.random.default_rng(0).uniform(-1, 1, (S, *sizes))
    game = bnpg.MarkovGame(P, r, [0.0, 1.0, 0.0], 0.7)
    policy = random_policy(1, game, bnpg.DAG(BACK_PARENTS))
    batch = simulate(game, policy, episodes=20, horizon=5, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(batch.states[:, 0], 1)  # mu puts all its mass on state 1
    np.testing.assert_array_equal(batch.states[:, 1:], (batch.states[:, :-1] + 1) % S)


@pytest.mark.parametrize("horizon", [3, "geometric"])
def test_same_seed_same_episodes_and_rng_is_advanced(horizon):
    game, dag, policy = back_case()
    a = simulate(game, policy, episodes=200, horizon=horizon, rng=np.random.default_rng(7))
    b = simulate(game, policy, episodes=200, horizon=horizon, rng=np.random.default_rng(7))
    for name in ("states", "actions", "rewards", "alive"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    rng = np.random.default_rng(7)
    first = simulate(game, policy, episodes=200, horizon=horizon, rng=rng)
    second = simulate(game, policy, episodes=200, horizon=horizon, rng=rng)
    np.testing.assert_array_equal(first.actions, a.actions)
    # two batches of 200 episodes drawn one after the other from the same generator differ
    assert first.states.shape != second.states.shape or not np.array_equal(first.states, second.states)
    assert first.actions.shape != second.actions.shape or not np.array_equal(first.actions, second.actions)


def test_inputs_not_mutated_and_outputs_read_only():
    game, dag, policy = back_case()
    before = snapshot(*policy.theta, game.P, game.r, game.mu)
    joint_before = np.array(policy.joint(), copy=True)
    batch = simulate(game, policy, episodes=30, horizon="geometric", rng=np.random.default_rng(2))
    for old, new in zip(before, (*policy.theta, game.P, game.r, game.mu), strict=True):
        np.testing.assert_array_equal(old, new)
    np.testing.assert_array_equal(joint_before, policy.joint())
    for name in ("states", "actions", "rewards", "alive"):
        arr = getattr(batch, name)
        assert not arr.flags.writeable
        with pytest.raises(ValueError):
            arr.flat[0] = 1


def test_geometric_layout():
    """Every episode takes at least one step; ``alive`` is a prefix; nothing is recorded after the end."""
    game, dag, policy = back_case()
    batch = simulate(game, policy, episodes=2000, horizon="geometric", rng=np.random.default_rng(4))
    L = batch.alive.shape[1]
    assert batch.states.shape == (2000, L + 1) and batch.actions.shape == (2000, L, 3)
    assert batch.alive[:, 0].all()
    lengths = batch.alive.sum(axis=1)
    assert lengths.max() == L  # padded to the longest episode, no further
    np.testing.assert_array_equal(batch.alive, np.arange(L)[None, :] < lengths[:, None])
    dead = ~batch.alive
    assert np.all(batch.rewards[dead] == 0) and np.all(batch.actions[dead] == 0)
    # states[e, t + 1] is drawn after every step taken; later entries are padding (0)
    after = np.arange(L + 1)[None, :] > lengths[:, None]
    assert np.all(batch.states[after] == 0)
    assert batch.n_steps == lengths.sum() and batch.n_agent_steps == 3 * lengths.sum()


# --------------------------------------------------------------------------------------------
# The sampling distribution, against exact probabilities by enumeration
# --------------------------------------------------------------------------------------------


def test_first_step_follows_mu_times_the_joint_policy():
    """``(s_0, a_0)`` ~ ``mu(s) pi(a | s)``, with ``pi`` the product of the local conditionals (loops)."""
    game, dag, policy = back_case()
    batch = simulate(game, policy, episodes=100_000, horizon=1, rng=np.random.default_rng(10))
    counts = state_action_counts(game, batch.states[:, 0], batch.actions[:, 0])
    pi = policy_joint(policy)
    np.testing.assert_allclose(pi, policy.joint(), rtol=0, atol=1e-14)
    exact = game.mu[:, None, None, None] * pi
    assert chi_square_p(counts, exact) > ALPHA
    # The test has power: a sampler that drew the agents in index order (so that agents 0 and 1
    # would read their parents' actions before those are drawn, as 0) is rejected.
    locals_ = local_probs(policy.theta)
    wrong = np.zeros_like(pi)
    for s in range(game.n_states):
        for a in itertools.product(*[range(k) for k in game.action_sizes]):
            wrong[(s, *a)] = locals_[0][s, 0, 0, a[0]] * locals_[1][s, 0, a[1]] * locals_[2][s, a[2]]
    assert chi_square_p(counts, game.mu[:, None, None, None] * wrong) < 1e-30


def test_first_step_in_a_fixed_initial_state_follows_policy_joint():
    """With all of ``mu`` on one state, the joint actions at ``t = 0`` follow ``policy.joint()[s]``."""
    base, dag, _ = back_case()
    game = bnpg.MarkovGame(base.P, base.r, [0.0, 0.0, 1.0], base.gamma)
    policy = random_policy(5, game, dag, scale=1.5)
    batch = simulate(game, policy, episodes=60_000, horizon=1, rng=np.random.default_rng(11))
    np.testing.assert_array_equal(batch.states[:, 0], 2)
    counts = np.zeros(game.action_sizes)
    np.add.at(counts, tuple(batch.actions[:, 0].T), 1)
    assert chi_square_p(counts, policy.joint()[2]) > ALPHA
    # per-cell z within the Bonferroni bound over the 12 cells
    p = policy_joint(policy)[2]
    z = (counts / 60_000 - p) / np.sqrt(p * (1 - p) / 60_000)
    assert np.abs(z).max() <= stats.norm.isf(ALPHA / (2 * p.size))


def test_second_state_and_step_follow_the_chain():
    """``s_1`` ~ ``mu P_pi`` and ``(s_1, a_1)`` ~ ``(mu P_pi)(s) pi(a | s)``, ``P_pi`` built by loops."""
    game, dag, policy = back_case()
    batch = simulate(game, policy, episodes=100_000, horizon=2, rng=np.random.default_rng(12))
    pi = policy_joint(policy)
    P_pi, _ = kernel_by_loops(game, pi)
    p1 = game.mu @ P_pi
    assert chi_square_p(np.bincount(batch.states[:, 1], minlength=game.n_states), p1) > ALPHA
    counts = state_action_counts(game, batch.states[:, 1], batch.actions[:, 1])
    assert chi_square_p(counts, p1[:, None, None, None] * pi) > ALPHA
    # and the transition out of (s_0, a_0) follows P(. | s_0, a_0): the triple (s_0, a_0, s_1)
    triple = np.zeros((game.n_states, *game.action_sizes, game.n_states))
    np.add.at(triple, (batch.states[:, 0], *batch.actions[:, 0].T, batch.states[:, 1]), 1)
    exact = (game.mu[:, None, None, None] * pi)[..., None] * game.P
    assert chi_square_p(triple, exact) > ALPHA


# --------------------------------------------------------------------------------------------
# The geometric horizon and the mean returns
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("gamma", [0.5, 0.8])
def test_geometric_lengths(gamma):
    """``P(T = k) = gamma^(k-1) (1 - gamma)``: mean ``1/(1-gamma)``, sd ``sqrt(gamma)/(1-gamma)``."""
    game, dag, policy = back_case(gamma=gamma)
    B = 100_000
    batch = simulate(game, policy, episodes=B, horizon="geometric", rng=np.random.default_rng(20))
    T = batch.alive.sum(axis=1)
    z = (T.mean() - 1 / (1 - gamma)) / (np.sqrt(gamma) / (1 - gamma) / np.sqrt(B))
    assert abs(z) <= Z_MAX
    # the whole distribution: cells T = 1..K-1 and the tail T >= K (P(T >= K) = gamma^(K-1))
    K = T.max() + 1
    probs = np.append(gamma ** np.arange(K - 1) * (1 - gamma), gamma ** (K - 1))
    counts = np.append(np.bincount(T, minlength=K)[1:K], (T >= K).sum())
    assert chi_square_p(counts, probs) > ALPHA


def test_geometric_mean_return_is_the_exact_value():
    game, dag, policy = back_case(gamma=0.8)
    B = 50_000
    batch = simulate(game, policy, episodes=B, horizon="geometric", rng=np.random.default_rng(21))
    G = batch.discounted_returns()
    V, _, _ = evaluate_by_series(game, policy_joint(policy))
    exact = float(game.mu @ V)
    assert exact == pytest.approx(bnpg.evaluate(game, policy).value, abs=1e-12)
    z = (G.mean() - exact) / (G.std(ddof=1) / np.sqrt(B))
    assert abs(z) <= Z_MAX
    # power: the truncation to a couple of steps would be far outside these error bars
    assert abs(exact - truncated_value(game, policy, 2)) > 10 * G.std(ddof=1) / np.sqrt(B)


def truncated_value(game, policy, H):
    """``sum_{t<H} gamma^t mu P_pi^t r_pi`` by hand (loops for ``P_pi`` and ``r_pi``)."""
    P_pi, r_pi = kernel_by_loops(game, policy_joint(policy))
    p, total = np.array(game.mu, dtype=float), 0.0
    for t in range(H):
        total += game.gamma**t * float(p @ r_pi)
        p = p @ P_pi
    return total


@pytest.mark.parametrize("H", [1, 4])
def test_fixed_horizon_mean_return_is_the_truncated_value(H):
    game, dag, policy = back_case(gamma=0.8)
    B = 50_000
    batch = simulate(game, policy, episodes=B, horizon=H, rng=np.random.default_rng(22 + H))
    G = batch.discounted_returns()
    z = (G.mean() - truncated_value(game, policy, H)) / (G.std(ddof=1) / np.sqrt(B))
    assert abs(z) <= Z_MAX


# --------------------------------------------------------------------------------------------
# weights, returns, discounted returns: explicit loops
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("horizon", [5, "geometric"])
def test_returns_weights_and_discounted_returns_by_loops(horizon):
    game, dag, policy = back_case(gamma=0.7)
    batch = simulate(game, policy, episodes=12, horizon=horizon, rng=np.random.default_rng(30))
    B, L = batch.alive.shape
    if horizon == "geometric":
        assert len(set(batch.alive.sum(axis=1))) > 1  # the batch has episodes of different lengths
    g = game.gamma
    c = 1.0 if horizon == "geometric" else g
    G = np.zeros((B, L))
    W = np.zeros((B, L))
    total = np.zeros(B)
    for e in range(B):
        for t in range(L):
            if not batch.alive[e, t]:
                continue
            W[e, t] = 1.0 if horizon == "geometric" else g**t
            total[e] += W[e, t] * game.r[(batch.states[e, t], *batch.actions[e, t])]
            for k in range(t, L):
                if batch.alive[e, k]:
                    G[e, t] += c ** (k - t) * game.r[(batch.states[e, k], *batch.actions[e, k])]
    np.testing.assert_allclose(batch.returns(), G, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(batch.discounted_returns(), total, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(batch.weights(), W, rtol=1e-15, atol=0)
    # For a fixed horizon the discounted return is the return-to-go at t = 0
    if horizon != "geometric":
        np.testing.assert_allclose(batch.returns()[:, 0], total, rtol=1e-13)


def test_returns_by_hand_on_a_tiny_batch():
    """Hand-made batch: rewards (1, 2, 3), gamma = 0.5, fixed horizon: G = (1 + 1 + 0.75, 2 + 1.5, 3)."""
    batch = Episodes(
        states=np.zeros((1, 4), dtype=int), actions=np.zeros((1, 3, 1), dtype=int),
        rewards=np.array([[1.0, 2.0, 3.0]]), alive=np.ones((1, 3), dtype=bool), horizon=3, gamma=0.5,
    )
    np.testing.assert_allclose(batch.returns(), [[2.75, 3.5, 3.0]], rtol=1e-15)
    np.testing.assert_allclose(batch.discounted_returns(), [2.75], rtol=1e-15)
    geo = Episodes(
        states=np.zeros((2, 4), dtype=int), actions=np.zeros((2, 3, 1), dtype=int),
        rewards=np.array([[1.0, 2.0, 3.0], [4.0, 0.0, 0.0]]),
        alive=np.array([[True, True, True], [True, False, False]]), horizon="geometric", gamma=0.5,
    )
    np.testing.assert_allclose(geo.returns(), [[6.0, 5.0, 3.0], [4.0, 0.0, 0.0]], rtol=1e-15)
    np.testing.assert_allclose(geo.discounted_returns(), [6.0, 4.0], rtol=1e-15)


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("episodes", [0, -1])
def test_episodes_must_be_positive(episodes):
    game, dag, policy = back_case()
    with pytest.raises(ValueError, match="episodes"):
        simulate(game, policy, episodes=episodes, horizon=3, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="episodes"):
        check_episodes(episodes)


@pytest.mark.parametrize("episodes", [2.0, True, "10", None])
def test_episodes_must_be_an_integer(episodes):
    game, dag, policy = back_case()
    with pytest.raises(TypeError, match="episodes"):
        simulate(game, policy, episodes=episodes, horizon=3, rng=np.random.default_rng(0))


@pytest.mark.parametrize("horizon", [0, -3, "forever", "Geometric"])
def test_horizon_must_be_positive_or_geometric(horizon):
    game, dag, policy = back_case()
    with pytest.raises(ValueError, match="horizon"):
        simulate(game, policy, episodes=5, horizon=horizon, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="horizon"):
        check_horizon(horizon)


@pytest.mark.parametrize("horizon", [2.5, True, 3.0, None])
def test_horizon_must_be_an_int(horizon):
    game, dag, policy = back_case()
    with pytest.raises(TypeError, match="horizon"):
        simulate(game, policy, episodes=5, horizon=horizon, rng=np.random.default_rng(0))


def test_numpy_integers_are_accepted():
    game, dag, policy = back_case()
    batch = simulate(game, policy, episodes=np.int64(4), horizon=np.int32(2), rng=np.random.default_rng(0))
    assert batch.states.shape == (4, 3) and batch.horizon == 2 and type(batch.horizon) is int


@pytest.mark.parametrize("rng", [0, None, np.random.RandomState(0), "seed"])
def test_rng_must_be_a_generator(rng):
    game, dag, policy = back_case()
    with pytest.raises(TypeError, match="rng"):
        simulate(game, policy, episodes=5, horizon=3, rng=rng)


def test_policy_of_another_game_is_refused():
    game, dag, policy = back_case(seed=3)
    other = random_game(4, n_states=3, action_sizes=(2, 3, 2), gamma=0.8)  # same shapes
    with pytest.raises(ValueError, match="different game"):
        simulate(other, policy, episodes=5, horizon=3, rng=np.random.default_rng(0))
    smaller = random_game(4, n_states=2, action_sizes=(2, 3, 2), gamma=0.8)
    with pytest.raises(ValueError, match="different game"):
        simulate(smaller, policy, episodes=5, horizon=3, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="policy"):
        simulate(game, policy.theta, episodes=5, horizon=3, rng=np.random.default_rng(0))


def test_equal_game_is_accepted():
    game, dag, policy = back_case()
    twin = bnpg.MarkovGame(game.P, game.r, game.mu, game.gamma)
    a = simulate(twin, policy, episodes=5, horizon=3, rng=np.random.default_rng(0))
    b = simulate(game, policy, episodes=5, horizon=3, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(a.actions, b.actions)

