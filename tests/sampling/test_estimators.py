"""Sampled policy-gradient estimates (bnpg.sampling.estimators) and the dynamics they drive (bnpg.sampling.ascent).

What is checked, and against what (never against the estimator's own output):

* **unbiasedness** of REINFORCE (leave-one-out baseline) and of the exact-critic actor-critic under the
  geometric horizon: the estimate agrees with the exact gradient :func:`bnpg.gradient` on several
  games (mixed action sizes with a DAG whose edges run against the index order, a 2-state game, the
  one-state penalty and climbing games, with and without the barrier), by :func:`agreement` and by a
  z test written out here;
* the **closed-form means** of :func:`expected_gradient`: for a fixed horizon, REINFORCE's mean is the
  gradient of the truncated objective ``V_H + lam * barrier`` (central finite differences of ``V_H``
  computed by loops from the local softmaxes); the actor-critic means (exact critic, fixed or
  geometric horizon, or a critic array) equal ``sum_s w(s) sum_a pi(a|s) F(s, a) grad log pi(a|s)``
  evaluated by loops over joint actions; the truncated means approach the exact gradient within a
  bound derived below;
* **power**: a truncation bias and two planted bugs (the parents' actions ignored when the score picks
  its row; a baseline that sees the episode it corrects) are detected;
* the **standard errors** match the spread of independent estimates;
* the mechanics on small batches, recomputed by hand (returns, leave-one-out baseline, TD errors,
  softmax scores), and LSTD against its definition and against the exact values;
* bad input, reproducibility, no mutation; :func:`sampled_ascent`.

Statistical thresholds (fixed seeds, so every test is deterministic): an estimate agrees with a mean
when its largest ``|z|`` over the ``m`` random entries is within the two-sided normal quantile at
``ALPHA / m`` (Bonferroni, ``ALPHA = 1e-4``); a bias counts as detected when that bound is exceeded.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from oracles import evaluate_by_series, kernel_by_loops, local_probs, policy_joint
from scipy import stats
from scipy.special import log_softmax

import bnpg
from bnpg.dynamics.finite_differences import central_difference
from bnpg.games import library as games
from bnpg.sampling import estimators as sampled
from bnpg.sampling.ascent import sampled_ascent
from bnpg.sampling.episodes import simulate
from bnpg.sampling.estimators import (
    Agreement,
    Estimate,
    agreement,
    expected_gradient,
    gradient_estimate,
    lstd_critic,
    per_episode_terms,
)
from tests.conftest import random_game, random_policy, snapshot

ALPHA = 1e-4
#: Parents 0 <- {1, 2}, 1 <- {2}: every edge goes from a higher to a lower index.
BACK_PARENTS = [[1, 2], [2], []]


def flat(grads):
    return np.concatenate([np.ravel(g) for g in grads])


def bonferroni(m, alpha=ALPHA):
    """Two-sided normal quantile at ``alpha / m``."""
    return float(stats.norm.isf(alpha / (2 * m)))


def exact_gradient(game, policy, lam):
    return bnpg.gradient(game, policy, lam, backend="numpy")


def make_case(name):
    """``(game, policy, lam)`` of a named instance."""
    if name == "back-232":  # 3 states, sizes (2, 3, 2), edges against the index order, barrier on
        game = random_game(3, n_states=3, action_sizes=(2, 3, 2), gamma=0.8)
        return game, random_policy(103, game, bnpg.DAG(BACK_PARENTS)), 0.1
    if name == "two-state":
        game = random_game(8, n_states=2, action_sizes=(2, 2), gamma=0.9)
        return game, random_policy(108, game, bnpg.DAG.chain(2)), 0.0
    if name == "penalty":  # one state
        game = games.penalty_game(gamma=0.5)
        return game, random_policy(109, game, bnpg.DAG.full(2), scale=0.5), 0.05
    if name == "climbing-empty":
        game = games.climbing_game(gamma=0.6)
        return game, random_policy(110, game, bnpg.DAG.empty(2), scale=0.5), 0.0
    raise KeyError(name)


CASES = ["back-232", "two-state", "penalty", "climbing-empty"]
ESTIMATORS = [("reinforce", "batch"), ("actor-critic", "exact")]


def own_z(est, reference):
    """``(estimate - reference) / stderr`` over every entry (all stderrs must be positive)."""
    se = est.flat_stderr()
    assert np.all(se > 0), "every entry should be random here"
    return (est.flat() - flat(reference)) / se


# --------------------------------------------------------------------------------------------
# Independent routes to the means
# --------------------------------------------------------------------------------------------


def barrier_by_hand(policy, lam):
    """``lam / (|S| |A^{P^i}|) * (1/|A^i| - pi^i)`` from scipy's softmax."""
    out = []
    for p in local_probs(policy.theta):
        n_rows = int(np.prod(p.shape[:-1]))  # |S| |A^{P^i}|
        out.append(lam / n_rows * (1.0 / p.shape[-1] - p))
    return out


def score_sum_by_loops(game, policy, weight, F):
    r"""``sum_s w(s) sum_a pi(a|s) F(s, a) grad_{theta^i} log pi^i(a^i | s, a^{P^i})`` by loops over
    joint actions; the softmax score of row ``(s, b)`` is ``e_{a^i} - pi^i(. | s, b)``."""
    locals_ = local_probs(policy.theta)
    pi = policy_joint(policy)
    out = [np.zeros(p.shape) for p in locals_]
    for s in range(game.n_states):
        for a in itertools.product(*[range(k) for k in game.action_sizes]):
            c = weight[s] * pi[(s, *a)] * F[(s, *a)]
            for i in range(game.n_agents):
                row = (s, *[a[j] for j in policy.dag.parents(i)])
                score = -locals_[i][row]
                score[a[i]] += 1.0
                out[i][row] += c * score
    return out


def visitation_by_hand(game, policy, H):
    """``sum_{t<H} gamma^t mu P_pi^t`` (``H=None``: the full series, from the Neumann series)."""
    if H is None:
        return evaluate_by_series(game, policy_joint(policy))[2]
    P_pi, _ = kernel_by_loops(game, policy_joint(policy))
    p, d = np.array(game.mu, dtype=float), np.zeros(game.n_states)
    for t in range(H):
        d += game.gamma**t * p
        p = p @ P_pi
    return d


def q_of_critic(game, V):
    """``r(s, a) + gamma sum_s' P(s' | s, a) V(s')`` by loops."""
    F = np.zeros(game.r.shape)
    for s in range(game.n_states):
        for a in itertools.product(*[range(k) for k in game.action_sizes]):
            F[(s, *a)] = game.r[(s, *a)] + game.gamma * float(game.P[(s, *a)] @ V)
    return F


def truncated_objective(game, H, lam):
    """``policy -> sum_{t<H} gamma^t mu P_pi^t r_pi + lam * barrier``, by loops and scipy."""

    def f(policy):
        P_pi, r_pi = kernel_by_loops(game, policy_joint(policy))
        p, total = np.array(game.mu, dtype=float), 0.0
        for t in range(H):
            total += game.gamma**t * float(p @ r_pi)
            p = p @ P_pi
        barrier = sum(float(log_softmax(t, axis=-1).mean()) + np.log(t.shape[-1]) for t in policy.theta)
        return total + lam * barrier

    return f


# --------------------------------------------------------------------------------------------
# 1. Unbiasedness under the geometric horizon
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method, critic", ESTIMATORS)
@pytest.mark.parametrize("name", CASES)
def test_geometric_estimates_are_unbiased(name, method, critic):
    game, policy, lam = make_case(name)
    ref = exact_gradient(game, policy, lam)
    est = gradient_estimate(game, policy, lam, episodes=30_000, horizon="geometric",
                            rng=np.random.default_rng(1), method=method, critic=critic)
    agree = agreement(est, ref)
    assert agree.agrees, agree.max_abs_z
    # the same verdict written out here: every entry is random, max |z| within Bonferroni
    z = own_z(est, ref)
    m = z.size
    assert np.abs(z).max() <= bonferroni(m)
    assert agree.threshold == pytest.approx(bonferroni(m), rel=1e-12)
    assert agree.max_abs_z == pytest.approx(float(np.abs(z).max()), rel=1e-12)
    # the check has resolution: the errors are small next to the gradient being estimated
    value_part = flat(ref) - flat(barrier_by_hand(policy, lam))
    assert np.linalg.norm(est.flat_stderr()) < 0.1 * np.linalg.norm(value_part)


def test_expected_gradient_geometric_is_the_exact_gradient():
    for name in CASES:
        game, policy, lam = make_case(name)
        ref = flat(exact_gradient(game, policy, lam))
        for method, critic in (("reinforce", "exact"), ("actor-critic", "exact")):
            got = flat(expected_gradient(game, policy, lam, horizon="geometric", method=method,
                                         critic=critic))
            np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12 * max(1.0, np.abs(ref).max()))


# --------------------------------------------------------------------------------------------
# 2. Fixed horizon: the truncated means
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("H", [1, 3, 7])
@pytest.mark.parametrize("name", ["back-232", "two-state", "penalty"])
def test_truncated_reinforce_mean_is_the_gradient_of_the_truncated_objective(name, H):
    """Central differences (h = 1e-5) of ``V_H + lam * barrier``: truncation ``h^2 f'''/6`` and round-off
    ``1e-16 |f| / h`` are both below 1e-10 on these games (|f| < 20), so 1e-8 is a strict bound."""
    game, policy, lam = make_case(name)
    fd = flat(central_difference(truncated_objective(game, H, lam), policy, h=1e-5))
    got = flat(expected_gradient(game, policy, lam, horizon=H))
    np.testing.assert_allclose(got, fd, rtol=0, atol=1e-8)
    # the barrier part is the exact barrier gradient
    np.testing.assert_allclose(got - flat(expected_gradient(game, policy, 0.0, horizon=H)),
                               flat(barrier_by_hand(policy, lam)), rtol=0, atol=1e-15)


@pytest.mark.parametrize("H", [1, 4, None])
@pytest.mark.parametrize("name", ["back-232", "two-state", "penalty"])
def test_actor_critic_means_by_loops(name, H):
    """Exact critic: ``sum_s d^H(s) sum_a pi grad log pi Q``; a critic array ``Vhat``: ``Q`` replaced by
    ``r + gamma P Vhat`` (``H=None`` is the geometric horizon, ``d^H`` the full visitation)."""
    game, policy, lam = make_case(name)
    horizon = "geometric" if H is None else H
    V, Q, _ = evaluate_by_series(game, policy_joint(policy))
    d = visitation_by_hand(game, policy, H)
    bar = flat(barrier_by_hand(policy, lam))
    want = flat(score_sum_by_loops(game, policy, d, Q)) + bar
    got = flat(expected_gradient(game, policy, lam, horizon=horizon, method="actor-critic", critic="exact"))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    V_hat = V + np.linspace(-1.0, 2.0, game.n_states) ** 2 + 0.5  # not V, nor V plus a constant
    want = flat(score_sum_by_loops(game, policy, d, q_of_critic(game, V_hat))) + bar
    got = flat(expected_gradient(game, policy, lam, horizon=horizon, method="actor-critic", critic=V_hat))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("method, critic", ESTIMATORS)
@pytest.mark.parametrize("name", ["back-232", "two-state", "penalty"])
def test_fixed_horizon_estimates_agree_with_their_truncated_mean(name, method, critic):
    game, policy, lam = make_case(name)
    H = 3
    mean = expected_gradient(game, policy, lam, horizon=H, method=method, critic="exact")
    est = gradient_estimate(game, policy, lam, episodes=30_000, horizon=H, rng=np.random.default_rng(2),
                            method=method, critic=critic)
    assert agreement(est, mean).agrees
    assert np.abs(own_z(est, mean)).max() <= bonferroni(est.flat().size)


@pytest.mark.parametrize("name", ["back-232", "two-state"])
def test_truncated_means_converge_to_the_exact_gradient(name):
    r"""With ``R = max |r|`` and the softmax score bounded by 1 entrywise:

    * REINFORCE: ``E_H - grad = sum_{t<H} gamma^t E[score_t (Q_{H-t-1} - Q)]
      - sum_{t>=H} gamma^t E[score_t Q]``
      with ``|Q - Q_k| <= gamma^(k+1) R/(1-gamma)`` and ``|Q| <= R/(1-gamma)``, so the difference is at most
      ``gamma^H R/(1-gamma) (H + 1/(1-gamma))``;
    * the exact-critic actor-critic only loses the tail: at most ``gamma^H R/(1-gamma)^2``.

    Both are checked up to ``ROUND = 1e-13``, the round-off of the sums (entries of order 1).
    """
    ROUND = 1e-13
    game, policy, lam = make_case(name)
    g, R = game.gamma, float(np.abs(game.r).max())
    full = flat(exact_gradient(game, policy, lam))
    previous = {"reinforce": np.inf, "actor-critic": np.inf}
    for H in (1, 2, 4, 8, 16, 32, 64, 128, 256):
        for method, bound in (("reinforce", g**H * R / (1 - g) * (H + 1 / (1 - g))),
                              ("actor-critic", g**H * R / (1 - g) ** 2)):
            diff = np.abs(flat(expected_gradient(game, policy, lam, horizon=H, method=method)) - full).max()
            assert diff <= bound + ROUND
            if H == 256:
                assert bound < 1e-6  # so the bound pins the long-horizon means down
            # not a theorem, but true on these instances: strictly closer at every doubling
            assert diff < previous[method] or diff <= ROUND
            previous[method] = diff
        if H == 1:
            assert previous["reinforce"] > 1e-2  # the truncation is visible at short horizons


# --------------------------------------------------------------------------------------------
# 3. The truncation bias is detected
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method, critic", ESTIMATORS)
def test_short_horizon_bias_is_detected(method, critic):
    game, policy, lam = make_case("two-state")  # gamma = 0.9
    assert game.gamma == 0.9
    est = gradient_estimate(game, policy, lam, episodes=50_000, horizon=2, rng=np.random.default_rng(3),
                            method=method, critic=critic)
    exact = agreement(est, exact_gradient(game, policy, lam))
    assert not exact.agrees and exact.max_abs_z > exact.threshold
    assert agreement(est, expected_gradient(game, policy, lam, horizon=2, method=method)).agrees


# --------------------------------------------------------------------------------------------
# 4. Planted bias is caught
# --------------------------------------------------------------------------------------------


def rows_ignoring_parents(policy, i, states, actions):
    """The planted bug: the row of parent configuration 0 in state ``s``, whatever the parents did."""
    return states * policy.structure.layouts[i].n_parent_actions


def own_episode_baseline(batch, returns, n_states):
    """The planted bug: the mean return-to-go at ``s_t`` over the steps of the *same* episode."""
    out = np.zeros(returns.shape)
    for s in range(n_states):
        here = batch.alive & (batch.states[:, :-1] == s)
        count = here.sum(axis=1)
        mean = np.divide(np.where(here, returns, 0.0).sum(axis=1), count,
                         out=np.zeros(count.shape), where=count > 0)
        out = np.where(here, mean[:, None], out)
    return out


def returns_as_baseline(batch, returns, n_states):
    """The planted bug: the baseline is the step's own return-to-go, so the signal vanishes."""
    return np.where(batch.alive, returns, 0.0)


@pytest.mark.parametrize("method, critic", ESTIMATORS)
def test_ignoring_the_parents_actions_is_caught(monkeypatch, method, critic):
    game, policy, _ = make_case("back-232")
    # the local tables differ across parent configurations, so the right row matters
    for i in (0, 1):
        local = policy.local(i).reshape(game.n_states, -1, game.action_sizes[i])
        assert np.abs(local - local[:, :1]).max() > 0.1
    ref = exact_gradient(game, policy, 0.0)
    kwargs = dict(episodes=20_000, horizon="geometric", method=method, critic=critic)
    assert agreement(gradient_estimate(game, policy, 0.0, rng=np.random.default_rng(4), **kwargs), ref).agrees
    monkeypatch.setattr(sampled, "_local_rows", rows_ignoring_parents)
    bad = agreement(gradient_estimate(game, policy, 0.0, rng=np.random.default_rng(4), **kwargs), ref)
    assert not bad.agrees
    assert bad.max_abs_z > bad.threshold  # caught by the z test, not only by the entries left at 0


@pytest.mark.parametrize("planted", [own_episode_baseline, returns_as_baseline])
def test_a_baseline_that_sees_its_own_episode_is_caught(monkeypatch, planted):
    game, policy, _ = make_case("back-232")
    ref = exact_gradient(game, policy, 0.0)
    kwargs = dict(episodes=20_000, horizon="geometric", method="reinforce")
    assert agreement(gradient_estimate(game, policy, 0.0, rng=np.random.default_rng(5), **kwargs), ref).agrees
    monkeypatch.setattr(sampled, "_leave_one_out_baseline", planted)
    bad = gradient_estimate(game, policy, 0.0, rng=np.random.default_rng(5), **kwargs)
    assert not agreement(bad, ref).agrees


# --------------------------------------------------------------------------------------------
# 5. The standard errors tell the truth
# --------------------------------------------------------------------------------------------


def variance_z(values, reported):
    r"""z statistics of ``var(values) = mean(reported^2)``, entry by entry, over ``K`` rows.

    The sample variance of ``K`` independent estimates has variance ``(mu_4 - sigma^4 (K-3)/(K-1)) / K``
    (``mu_4`` the fourth central moment: heavy tails, as for rarely visited rows, are accounted for);
    the mean of the ``K`` reported variances has variance ``var(reported^2) / K``. Both are estimated
    from the same ``K`` rows."""
    K = values.shape[0]
    dev = values - values.mean(axis=0)
    s2 = (dev**2).sum(axis=0) / (K - 1)
    mu4 = (dev**4).mean(axis=0)
    r2 = reported**2
    se = np.sqrt((mu4 - s2**2 * (K - 3) / (K - 1)) / K + r2.var(axis=0, ddof=1) / K)
    return (s2 - r2.mean(axis=0)) / se


@pytest.mark.parametrize("horizon", ["geometric", 4])
@pytest.mark.parametrize("method, critic", ESTIMATORS)
def test_stderr_matches_the_spread_of_independent_estimates(method, critic, horizon):
    r"""``K = 200`` independent estimates of 1000 episodes each: the variance of the estimates must equal
    the mean squared reported stderr (``E[stderr^2] = Var(estimate)`` for independent episodes, and
    nearly so with the leave-one-out baseline), entry by entry within Bonferroni (:func:`variance_z`).

    The mean of the stderrs themselves is not the right reference: for a row visited in few episodes
    of a batch the reported stderr is very skewed, and its mean falls well below sigma (Jensen). Batches
    of 1000 episodes keep the estimates close to normal, so that the fourth moments in
    :func:`variance_z` are well estimated from ``K`` rows."""
    game, policy, lam = make_case("back-232")
    K, B = 200, 1000
    rng = np.random.default_rng(6)
    ests = [gradient_estimate(game, policy, lam, episodes=B, horizon=horizon, rng=rng, method=method,
                              critic=critic) for _ in range(K)]
    values = np.array([e.flat() for e in ests])
    errs = np.array([e.flat_stderr() for e in ests])
    m = values.shape[1]
    z = variance_z(values, errs)
    assert np.abs(z).max() <= bonferroni(m)
    ratio = values.std(axis=0, ddof=1) / np.sqrt((errs**2).mean(axis=0))
    assert np.all((0.75 < ratio) & (ratio < 1.33)), (ratio.min(), ratio.max())
    # power: standard errors 30% too small or too large would be caught
    for factor in (0.7, 1.3):
        assert np.abs(variance_z(values, factor * errs)).max() > bonferroni(m)


# --------------------------------------------------------------------------------------------
# 6. Critics
# --------------------------------------------------------------------------------------------


def test_array_critic_estimate_has_the_biased_mean():
    game, policy, lam = make_case("back-232")
    V = evaluate_by_series(game, policy_joint(policy))[0]
    V_hat = V + np.array([1.0, -1.0, 0.5])  # a wrong critic
    biased = expected_gradient(game, policy, lam, horizon="geometric", method="actor-critic", critic=V_hat)
    exact = exact_gradient(game, policy, lam)
    est = gradient_estimate(game, policy, lam, episodes=30_000, horizon="geometric",
                            rng=np.random.default_rng(7), method="actor-critic", critic=V_hat)
    assert est.critic == "array"
    assert agreement(est, biased).agrees
    assert not agreement(est, exact).agrees  # the bias is real and this batch resolves it


def test_array_critic_at_the_exact_values_or_shifted_by_a_constant_is_unbiased():
    """``Vhat = V + c`` turns ``Q`` into ``Q + gamma c``, which the softmax score sums to zero."""
    game, policy, lam = make_case("back-232")
    V = evaluate_by_series(game, policy_joint(policy))[0]
    exact = flat(exact_gradient(game, policy, lam))
    for V_hat in (V, V + 3.0, list(V - 1.5)):
        got = flat(expected_gradient(game, policy, lam, horizon="geometric", method="actor-critic",
                                     critic=V_hat))
        np.testing.assert_allclose(got, exact, rtol=0, atol=1e-12)
    # and the non-constant shift is not
    got = flat(expected_gradient(game, policy, lam, horizon="geometric", method="actor-critic",
                                 critic=V + np.array([1.0, -1.0, 0.5])))
    assert np.abs(got - exact).max() > 1e-2


def lstd_by_loops(batch, S):
    counts, visits, reward = np.zeros((S, S)), np.zeros(S), np.zeros(S)
    B, L = batch.alive.shape
    for e in range(B):
        for t in range(L):
            if batch.alive[e, t]:
                s, nxt = batch.states[e, t], batch.states[e, t + 1]
                counts[s, nxt] += 1
                visits[s] += 1
                reward[s] += batch.rewards[e, t]
    P_hat = np.zeros((S, S))
    r_hat = np.zeros(S)
    for s in range(S):
        if visits[s]:
            P_hat[s] = counts[s] / visits[s]
            r_hat[s] = reward[s] / visits[s]
    return np.linalg.inv(np.eye(S) - batch.gamma * P_hat) @ r_hat


@pytest.mark.parametrize("horizon", [3, "geometric"])
def test_lstd_critic_by_hand(horizon):
    game, policy, _ = make_case("back-232")
    batch = simulate(game, policy, episodes=40, horizon=horizon, rng=np.random.default_rng(8))
    np.testing.assert_allclose(lstd_critic(batch, game.n_states), lstd_by_loops(batch, game.n_states),
                               rtol=1e-12, atol=1e-13)


def test_lstd_critic_gives_zero_to_a_state_never_left():
    """State 2 is unreachable (mu and every transition avoid it): its value is 0 by convention, and
    the two others are the values of a game on them alone."""
    rng = np.random.default_rng(0)
    P = np.zeros((3, 2, 3))
    P[:2, :, :2] = rng.dirichlet(np.ones(2), size=(2, 2))
    P[2, :, 2] = 1.0
    r = rng.uniform(-1, 1, (3, 2))
    game = bnpg.MarkovGame(P, r, [0.5, 0.5, 0.0], 0.5)
    batch = simulate(game, bnpg.BNPolicy(game, bnpg.DAG.empty(1)), episodes=50, horizon=4,
                     rng=np.random.default_rng(1))
    assert not np.any(batch.states == 2)
    V_hat = lstd_critic(batch, 3)
    assert V_hat[2] == 0.0
    np.testing.assert_allclose(V_hat, lstd_by_loops(batch, 3), rtol=1e-12)


def test_lstd_critic_approaches_the_exact_values():
    r"""``Vhat - V = (I - gamma Phat)^{-1} deltabar`` exactly, where ``deltabar(s)`` is the mean TD error
    ``r_t + gamma V(s_{t+1}) - V(s_t)`` of the exact ``V`` over the transitions out of ``s``. TD errors
    are martingale differences, so ``deltabar(s)`` has variance ``var(delta | s) / n_s`` and the
    states' means are uncorrelated: the standard error below is the delta method's, and each state's
    ``|z|`` must stay within Bonferroni over the states."""
    game, policy, _ = make_case("back-232")
    S = game.n_states
    batch = simulate(game, policy, episodes=20_000, horizon="geometric", rng=np.random.default_rng(9))
    V = evaluate_by_series(game, policy_joint(policy))[0]
    V_hat = lstd_critic(batch, S)
    s = batch.states[:, :-1][batch.alive]
    delta = batch.rewards[batch.alive] + game.gamma * V[batch.states[:, 1:][batch.alive]] - V[s]
    n = np.bincount(s, minlength=S)
    var = np.array([delta[s == k].var(ddof=1) for k in range(S)])
    counts = np.zeros((S, S))
    np.add.at(counts, (s, batch.states[:, 1:][batch.alive]), 1)
    A = np.linalg.inv(np.eye(S) - game.gamma * counts / n[:, None])
    se = np.sqrt(np.diag(A @ np.diag(var / n) @ A.T))
    z = (V_hat - V) / se
    assert np.abs(z).max() <= bonferroni(S)
    # the comparison is sharp: it pins every value to 1% of the value scale max|r| / (1 - gamma)
    assert bonferroni(S) * se.max() < 0.01 * np.abs(game.r).max() / (1 - game.gamma)


def test_batch_critic_estimate_is_consistent():
    """The batch critic's bias is of order 1/B, below the noise of 1/sqrt(B) for a large batch."""
    game, policy, lam = make_case("back-232")
    est = gradient_estimate(game, policy, lam, episodes=40_000, horizon="geometric",
                            rng=np.random.default_rng(10), method="actor-critic", critic="batch")
    assert est.critic == "batch"
    assert agreement(est, exact_gradient(game, policy, lam)).agrees


def test_expected_gradient_refuses_the_batch_critic():
    game, policy, lam = make_case("penalty")
    with pytest.raises(ValueError, match="batch"):
        expected_gradient(game, policy, lam, horizon="geometric", method="actor-critic", critic="batch")


# --------------------------------------------------------------------------------------------
# 7. Structure of the entries, and the mechanics by hand
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("horizon", [3, "geometric"])
@pytest.mark.parametrize("method, critic", [*ESTIMATORS, ("actor-critic", "batch")])
def test_every_local_row_sums_to_zero(method, critic, horizon):
    game, policy, _ = make_case("back-232")
    est = gradient_estimate(game, policy, 0.0, episodes=500, horizon=horizon, rng=np.random.default_rng(11),
                            method=method, critic=critic)
    for g in est.gradient:
        scale = np.abs(g).sum(axis=-1)
        assert scale.min() > 0  # every row was visited, so the check is not about zeros
        assert np.all(np.abs(g.sum(axis=-1)) <= 1e-12 * scale)


def test_local_rows_index_the_theta_table():
    game, policy, _ = make_case("back-232")
    rng = np.random.default_rng(12)
    states = rng.integers(0, game.n_states, 200)
    actions = np.stack([rng.integers(0, k, 200) for k in game.action_sizes], axis=1)
    for i in range(game.n_agents):
        shape = policy.theta[i].shape[:-1]  # (S, *parent sizes), parents ascending
        parents = bnpg.DAG(BACK_PARENTS).parents(i)
        want = np.ravel_multi_index((states, *[actions[:, j] for j in parents]), shape)
        np.testing.assert_array_equal(sampled._local_rows(policy, i, states, actions), want)


def terms_by_loops(game, policy, batch, signal):
    """Per-episode ``sum_t signal_t (e_{a^i_t} - pi^i(. | s_t, b_t))`` placed at row ``(s_t, b_t)``."""
    locals_ = local_probs(policy.theta)
    B, L = batch.alive.shape
    out = [np.zeros((B, *p.shape)) for p in locals_]
    for e in range(B):
        for t in range(L):
            if not batch.alive[e, t]:
                continue
            s, a = batch.states[e, t], batch.actions[e, t]
            for i in range(game.n_agents):
                row = (s, *[a[j] for j in policy.dag.parents(i)])
                score = -locals_[i][row]
                score[a[i]] += 1.0
                out[i][(e, *row)] += signal[e, t] * score
    return out


def test_per_episode_terms_by_loops():
    game, policy, _ = make_case("back-232")
    batch = simulate(game, policy, episodes=25, horizon="geometric", rng=np.random.default_rng(13))
    signal = np.where(batch.alive, np.random.default_rng(14).normal(size=batch.alive.shape), 0.0)
    got = per_episode_terms(game, policy, batch, signal)
    want = terms_by_loops(game, policy, batch, signal)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-13)


def signal_by_loops(game, policy, batch, method):
    """``w_t Psi_t``: REINFORCE with the leave-one-out baseline, or the exact-critic TD error."""
    B, L = batch.alive.shape
    geometric = batch.horizon == "geometric"
    c = 1.0 if geometric else game.gamma
    r = lambda e, t: game.r[(batch.states[e, t], *batch.actions[e, t])]  # noqa: E731
    steps = [(e, t) for e in range(B) for t in range(L) if batch.alive[e, t]]
    G = {(e, t): sum(c ** (k - t) * r(e, k) for k in range(t, L) if batch.alive[e, k]) for e, t in steps}
    V = evaluate_by_series(game, policy_joint(policy))[0]
    out = np.zeros((B, L))
    for e, t in steps:
        w = 1.0 if geometric else game.gamma**t
        if method == "reinforce":
            others = [G[f, k] for f, k in steps if f != e and batch.states[f, k] == batch.states[e, t]]
            psi = G[e, t] - (np.mean(others) if others else 0.0)
        else:
            psi = r(e, t) + game.gamma * V[batch.states[e, t + 1]] - V[batch.states[e, t]]
        out[e, t] = w * psi
    return out


@pytest.mark.parametrize("horizon", [3, "geometric"])
@pytest.mark.parametrize("method", ["reinforce", "actor-critic"])
def test_estimate_by_hand_on_a_small_batch(method, horizon):
    """The whole estimate recomputed from the same episodes (the estimator draws its batch first, with
    :func:`simulate`, from the generator it is given)."""
    game, policy, lam = make_case("back-232")
    B = 30
    est = gradient_estimate(game, policy, lam, episodes=B, horizon=horizon, rng=np.random.default_rng(15),
                            method=method, critic="exact")
    batch = simulate(game, policy, episodes=B, horizon=horizon, rng=np.random.default_rng(15))
    terms = terms_by_loops(game, policy, batch, signal_by_loops(game, policy, batch, method))
    for i, (t, bar) in enumerate(zip(terms, barrier_by_hand(policy, lam), strict=True)):
        np.testing.assert_allclose(est.gradient[i], t.mean(axis=0) + bar, rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(est.stderr[i], t.std(axis=0, ddof=1) / np.sqrt(B), rtol=1e-11, atol=1e-13)
    assert est.agent_steps == batch.n_steps * game.n_agents
    assert est.episodes == B and est.horizon == horizon and est.method == method


def test_one_episode_has_no_standard_error():
    game, policy, lam = make_case("penalty")
    est = gradient_estimate(game, policy, lam, episodes=1, horizon=2, rng=np.random.default_rng(0))
    assert all(np.isnan(e).all() for e in est.stderr)


# --------------------------------------------------------------------------------------------
# agreement
# --------------------------------------------------------------------------------------------


def hand_estimate(values, errs):
    return Estimate(gradient=[np.asarray(values, dtype=float)], stderr=[np.asarray(errs, dtype=float)],
                    method="reinforce", critic=None, horizon=1, episodes=2, agent_steps=2)


def test_agreement_by_hand():
    # four entries: threshold = the normal quantile at 1 - 1e-4 / 8
    est = hand_estimate([1.0, 2.0, 3.0, 4.0], [0.5, 0.5, 1.0, 2.0])
    ok = agreement(est, [[1.5, 2.0, 3.0, 4.0]])
    assert isinstance(ok, Agreement)
    assert ok.threshold == pytest.approx(float(stats.norm.isf(1e-4 / 8)), rel=1e-12)
    assert ok.max_abs_z == pytest.approx(1.0) and ok.agrees
    far = agreement(est, [[1.0, 2.0, 3.0, 4.0 + 2.0 * 4.5]])  # z = -4.5 > 4.37
    assert far.max_abs_z == pytest.approx(4.5) and not far.agrees
    # an entry with zero stderr must match to atol; it does not count towards Bonferroni
    exact_entry = hand_estimate([1.0, 2.0], [0.0, 1.0])
    got = agreement(exact_entry, [[1.0, 2.5]])
    assert got.agrees and got.threshold == pytest.approx(float(stats.norm.isf(1e-4 / 2)), rel=1e-12)
    assert not agreement(exact_entry, [[1.0 + 1e-9, 2.0]]).agrees


def test_agreement_bad_input():
    est = hand_estimate([1.0, 2.0], [1.0, 1.0])
    with pytest.raises(ValueError, match=r"reference\[0\] must have shape \(2,\)"):
        agreement(est, [[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="one per agent"):
        agreement(est, np.array([[1.0, 2.0]]))
    with pytest.raises(ValueError, match="one per agent"):
        agreement(est, [[1.0], [2.0]])
    for alpha in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError, match="alpha"):
            agreement(est, [[1.0, 2.0]], alpha=alpha)
    with pytest.raises(TypeError, match="Estimate"):
        agreement([np.array([1.0, 2.0])], [[1.0, 2.0]])


# --------------------------------------------------------------------------------------------
# 8. Bad input, no mutation
# --------------------------------------------------------------------------------------------


def estimate_kwargs(**changes):
    kw = dict(episodes=10, horizon=3, rng=np.random.default_rng(0), method="reinforce", critic="batch")
    kw.update(changes)
    return kw


@pytest.mark.parametrize("changes, match", [
    (dict(episodes=0), "episodes"),
    (dict(episodes=-5), "episodes"),
    (dict(horizon=0), "horizon"),
    (dict(horizon=-1), "horizon"),
    (dict(horizon="forever"), "horizon"),
    (dict(method="sarsa"), "method"),
    (dict(method="actor-critic", critic="monte-carlo"), "critic"),
    (dict(method="actor-critic", critic=np.zeros(4)), "critic"),
    (dict(method="actor-critic", critic=np.zeros((3, 1))), "critic"),
    (dict(method="actor-critic", critic=[0.0, np.nan, 1.0]), "critic"),
])
def test_gradient_estimate_bad_input(changes, match):
    game, policy, lam = make_case("back-232")
    with pytest.raises(ValueError, match=match):
        gradient_estimate(game, policy, lam, **estimate_kwargs(**changes))


def test_gradient_estimate_refuses_negative_lam_and_a_foreign_policy():
    game, policy, _ = make_case("back-232")
    with pytest.raises(ValueError, match="lam"):
        gradient_estimate(game, policy, -0.1, **estimate_kwargs())
    other = random_game(4, n_states=3, action_sizes=(2, 3, 2), gamma=0.8)
    with pytest.raises(ValueError, match="different game"):
        gradient_estimate(other, policy, 0.0, **estimate_kwargs())
    with pytest.raises(TypeError, match="rng"):
        gradient_estimate(game, policy, 0.0, **estimate_kwargs(rng=0))
    with pytest.raises(TypeError, match="horizon"):
        gradient_estimate(game, policy, 0.0, **estimate_kwargs(horizon=2.5))


@pytest.mark.parametrize("changes, match", [
    (dict(horizon=0), "horizon"),
    (dict(horizon="forever"), "horizon"),
    (dict(method="sarsa"), "method"),
    (dict(method="actor-critic", critic="monte-carlo"), "critic"),
    (dict(method="actor-critic", critic=np.zeros(4)), "critic"),
])
def test_expected_gradient_bad_input(changes, match):
    game, policy, lam = make_case("back-232")
    kw = dict(horizon=3, method="reinforce", critic="exact")
    kw.update(changes)
    with pytest.raises(ValueError, match=match):
        expected_gradient(game, policy, lam, **kw)
    with pytest.raises(ValueError, match="lam"):
        expected_gradient(game, policy, -1.0, horizon=3)
    other = random_game(4, n_states=3, action_sizes=(2, 3, 2), gamma=0.8)
    with pytest.raises(ValueError, match="different game"):
        expected_gradient(other, policy, 0.0, horizon=3)


def test_nothing_is_mutated():
    game, policy, lam = make_case("back-232")
    V_hat = np.array([0.1, -0.2, 0.3])
    before = snapshot(*policy.theta, game.P, game.r, game.mu, V_hat)
    for method, critic in (("reinforce", "batch"), ("actor-critic", V_hat), ("actor-critic", "batch")):
        est = gradient_estimate(game, policy, lam, episodes=50, horizon="geometric",
                                rng=np.random.default_rng(1), method=method, critic=critic)
        expected_gradient(game, policy, lam, horizon=4, method=method,
                          critic=V_hat if isinstance(critic, np.ndarray) else "exact")
        for arr in (*est.gradient, *est.stderr):
            assert not arr.flags.writeable
    for old, new in zip(before, (*policy.theta, game.P, game.r, game.mu, V_hat), strict=True):
        np.testing.assert_array_equal(old, new)


def test_a_refused_critic_leaves_the_generator_alone():
    game, policy, lam = make_case("back-232")
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    with pytest.raises(ValueError, match="critic"):
        gradient_estimate(game, policy, lam, episodes=10, horizon=3, rng=rng, method="actor-critic",
                          critic=np.zeros(4))
    assert rng.bit_generator.state == state


# --------------------------------------------------------------------------------------------
# 9. Reproducibility; sampled_ascent
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method, critic", [*ESTIMATORS, ("actor-critic", "batch")])
def test_same_seed_same_estimate(method, critic):
    game, policy, lam = make_case("back-232")
    kw = dict(episodes=300, horizon="geometric", method=method, critic=critic)
    a = gradient_estimate(game, policy, lam, rng=np.random.default_rng(16), **kw)
    b = gradient_estimate(game, policy, lam, rng=np.random.default_rng(16), **kw)
    np.testing.assert_array_equal(a.flat(), b.flat())
    np.testing.assert_array_equal(a.flat_stderr(), b.flat_stderr())
    assert a.agent_steps == b.agent_steps
    rng = np.random.default_rng(16)
    gradient_estimate(game, policy, lam, rng=rng, **kw)
    c = gradient_estimate(game, policy, lam, rng=rng, **kw)  # the generator has moved on
    assert not np.array_equal(a.flat(), c.flat())


def test_sampled_ascent_is_the_update_rule_and_is_reproducible():
    game, policy, lam = make_case("back-232")
    eta, steps, B, H = 0.3, 6, 40, 3
    kw = dict(eta=eta, steps=steps, episodes=B, horizon=H, method="actor-critic", critic="exact")
    before = snapshot(*policy.theta)
    run = sampled_ascent(game, policy, lam, rng=np.random.default_rng(17), **kw)
    again = sampled_ascent(game, policy, lam, rng=np.random.default_rng(17), **kw)
    for old, new in zip(before, policy.theta, strict=True):
        np.testing.assert_array_equal(old, new)
    np.testing.assert_array_equal(run.policy.flat(), again.policy.flat())
    np.testing.assert_array_equal(run.value, again.value)
    # theta <- theta + eta * estimate, one fresh batch per step from the same generator
    rng = np.random.default_rng(17)
    current = policy
    values = [bnpg.evaluate(game, current).value]
    for _ in range(steps):
        est = gradient_estimate(game, current, lam, episodes=B, horizon=H, rng=rng,
                                method="actor-critic", critic="exact")
        current = current.with_flat(current.flat() + eta * est.flat())
        values.append(bnpg.evaluate(game, current).value)
    np.testing.assert_allclose(run.policy.flat(), current.flat(), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(run.value, values, rtol=1e-12)
    np.testing.assert_array_equal(run.steps, np.arange(steps + 1))
    # a fixed horizon draws exactly B * H * N actions per step
    np.testing.assert_array_equal(run.agent_steps, B * H * game.n_agents * np.arange(steps + 1))
    assert run.n_steps == steps and run.n_evaluations == steps and run.method == "sampled actor-critic"


def test_sampled_ascent_on_the_penalty_game():
    """From the uniform policy (value 2/9 / (1 - 1/2) = 4/9) a correlated learner climbs towards an
    optimum worth 10 / (1 - 1/2) = 20; exact ascent with the same steps reaches 19.8."""
    game = games.penalty_game(gamma=0.5)
    policy = bnpg.BNPolicy(game, bnpg.DAG.full(2))
    run = sampled_ascent(game, policy, 0.01, eta=0.05, steps=200, episodes=50, horizon="geometric",
                         rng=np.random.default_rng(0), record_every=50, metrics=("value",))
    assert run.value[0] == pytest.approx(4 / 9, rel=1e-12)
    np.testing.assert_array_equal(run.steps, [0, 50, 100, 150, 200])
    assert np.all(np.diff(run.agent_steps) > 0) and run.agent_steps[0] == 0
    assert run.value[-1] >= 0.9 * 20  # most of the way to the optimum
    again = sampled_ascent(game, policy, 0.01, eta=0.05, steps=200, episodes=50, horizon="geometric",
                           rng=np.random.default_rng(0), record_every=50, metrics=("value",))
    np.testing.assert_array_equal(run.agent_steps, again.agent_steps)
    np.testing.assert_array_equal(run.policy.flat(), again.policy.flat())


def test_sampled_ascent_bad_input():
    game, policy, lam = make_case("penalty")
    kw = dict(eta=0.1, steps=3, episodes=5, horizon=2, rng=np.random.default_rng(0))
    for changes, match, error in [
        (dict(eta=0.0), "eta", ValueError), (dict(episodes=0), "episodes", ValueError),
        (dict(horizon="forever"), "horizon", ValueError), (dict(method="sarsa"), "method", ValueError),
        (dict(rng=0), "rng", TypeError), (dict(metrics=("speed",)), "metrics", ValueError),
    ]:
        with pytest.raises(error, match=match):
            sampled_ascent(game, policy, lam, **{**kw, **changes})
    with pytest.raises(ValueError, match="lam"):
        sampled_ascent(game, policy, -1.0, **kw)


def test_sampled_ascent_records_gap_names_and_functions():
    # the recorded iterates are re-created by the update rule (as above); the gaps are then computed
    # from the Neumann series and the linear programs of tests/oracles.py
    from oracles import best_response_mdp, joint_mdp, lp_optimal_values

    game, policy, lam = make_case("back-232")
    kw = dict(eta=0.3, steps=4, episodes=20, horizon=3, method="reinforce", record_every=2)

    def value_by_series(game, policy):
        V, _, _ = evaluate_by_series(game, policy_joint(policy))
        return float(game.mu @ V)

    run = sampled_ascent(game, policy, lam, rng=np.random.default_rng(5),
                         metrics=("nash_gap", "optimality_gap", value_by_series), **kw)
    assert set(run.metrics) == {"nash_gap", "optimality_gap", "value_by_series", "agent_steps"}
    rng = np.random.default_rng(5)
    current, iterates = policy, [policy]
    for _ in range(4):
        est = gradient_estimate(game, current, lam, episodes=20, horizon=3, rng=rng, method="reinforce")
        current = current.with_flat(current.flat() + 0.3 * est.flat())
        iterates.append(current)
    R, K = joint_mdp(game)
    optimum = float(game.mu @ lp_optimal_values(R, K, game.gamma))
    for k, t in enumerate(run.steps):
        value = value_by_series(game, iterates[t])
        best = [float(game.mu @ lp_optimal_values(*best_response_mdp(game, iterates[t], i)[:2], game.gamma))
                for i in range(game.n_agents)]
        assert run.value_by_series[k] == pytest.approx(value, rel=1e-12)
        assert run.optimality_gap[k] == pytest.approx(optimum - value, rel=1e-6, abs=1e-10)
        assert run.nash_gap[k] == pytest.approx(max(best) - value, rel=1e-6, abs=1e-10)
    with pytest.raises(ValueError, match="agent_steps"):
        def agent_steps(game, policy):
            return 0.0

        sampled_ascent(game, policy, lam, rng=np.random.default_rng(5), metrics=(agent_steps,), **kw)


def test_the_estimators_are_named_estimators():
    assert sampled.ESTIMATORS == ("reinforce", "actor-critic") and not hasattr(sampled, "METHODS")
    with pytest.raises(ValueError, match="reinforce"):
        sampled.check_estimator("sarsa", "batch", 2)


def test_agreement_refuses_agents_in_another_order():
    game, policy, lam = make_case("back-232")
    est = gradient_estimate(game, policy, lam, episodes=50, horizon=3, rng=np.random.default_rng(0))
    exact = bnpg.gradient(game, policy, lam)
    with pytest.raises(ValueError, match=r"reference\[0\] must have shape"):
        agreement(est, exact[::-1])


def test_lstd_critic_checks_its_arguments():
    game, policy, _ = make_case("back-232")
    batch = simulate(game, policy, episodes=20, horizon=3, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="n_states"):
        lstd_critic(batch, int(batch.states.max()))
    with pytest.raises(TypeError, match="batch"):
        lstd_critic("episodes", 3)
