"""The chain game and the witnesses of bnpg.theory.witnesses, against the exact library and exact arithmetic.

* The chain game's closed forms (module docstring) are checked against bnpg's exact gradient, value
  and optimality gap on random small games, and against an independent telescoped form of W_0.
* The shipped witnesses are checked against the sharpened lemmas (bnpg.theory.sharpened): they meet the
  hypothesis and come within a factor 0.9 of the bound (measured ratios in the tests).
* The 33-agent game that breaks the printed Lemma 3 is recomputed in exact arithmetic
  (fractions.Fraction, in the field Q(sqrt 66)), from the recursion of the docstring written out
  here, not from chain_rewards.

Tolerances: gradients to 1e-9 relative to the size of the targets; values and gaps to 1e-10 times
the value scale; shipped arrays to 1e-12 relative.
"""

from __future__ import annotations

import itertools
import math
import os
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
import pytest

import bnpg
from bnpg.theory import witnesses
from bnpg.theory.sharpened import sharp_bound, sharp_threshold
from bnpg.theory.witnesses import (
    chain_game,
    chain_rewards,
    chain_theta,
    lemma2_witness,
    lemma3_witness,
    save_witnesses,
    threshold_breach,
    witness,
)

# --------------------------------------------------------------------------------------------
# 1. The chain game against the library
# --------------------------------------------------------------------------------------------


def random_chain(seed):
    """Random sizes (N in 1..3, k in 1..3, at least one k >= 2), lambda, gamma, targets x and p."""
    rng = np.random.default_rng([77, seed])
    n = int(rng.integers(1, 4))
    sizes = [int(k) for k in rng.integers(1, 4, size=n)]
    if max(sizes) == 1:
        sizes[int(rng.integers(n))] = int(rng.integers(2, 4))
    lam = float(np.exp(rng.uniform(np.log(1e-2), np.log(1.0))))
    gamma = float(rng.uniform(0.0, 0.95))
    x = np.array([rng.normal(0.0, lam) if k > 1 else 0.0 for k in sizes])
    p = np.array([rng.uniform(0.1, 0.9) if k > 1 else 1.0 for k in sizes])
    return sizes, lam, gamma, x, p


def chain_targets(sizes, x):
    """The gradient the chain game should have: x_j, -x_j/(k_j-1), ... on block j, 0 elsewhere."""
    out = []
    for j, k in enumerate(sizes):
        t = np.zeros((1, *sizes[:j], k))
        if k > 1:
            t[(0,) + (0,) * j] = [x[j]] + [-x[j] / (k - 1)] * (k - 1)
        out.append(t)
    return out


def first_deviation_reward(a, R):
    for j, aj in enumerate(a):
        if aj != 0:
            return R[j]
    return 0.0


SEEDS = range(24)


def test_random_chains_cover_mixed_sizes():
    drawn = [random_chain(s)[0] for s in SEEDS]
    assert {len(s) for s in drawn} == {1, 2, 3}
    assert any(1 in s for s in drawn) and any(len(set(s)) > 1 for s in drawn)


@pytest.mark.parametrize("seed", SEEDS)
def test_chain_game_has_the_target_gradient(seed):
    sizes, lam, gamma, x, p = random_chain(seed)
    R, W = chain_rewards(sizes, lam, x, p, gamma)
    game = chain_game(sizes, R, gamma)
    # the reward is that of the first agent whose action is not 0 (0 if none), by enumeration
    for a in itertools.product(*[range(k) for k in sizes]):
        assert game.r[(0, *a)] == first_deviation_reward(a, R)
    policy = bnpg.BNPolicy(game, bnpg.DAG.full(len(sizes)), chain_theta(sizes, p))
    # the policy plays 0 with probability p_j on the chain block and is uniform elsewhere
    for j, k in enumerate(sizes):
        local = policy.local(j)
        for idx in np.ndindex(local.shape[:-1]):
            chain = all(b == 0 for b in idx[1:])
            want = [p[j]] + [(1 - p[j]) / (k - 1)] * (k - 1) if chain and k > 1 else [1 / k] * k
            np.testing.assert_allclose(local[idx], want, rtol=1e-13, atol=0)
    grads = bnpg.gradient(game, policy, lam)
    targets = chain_targets(sizes, x)
    scale = max(float(np.linalg.norm(np.concatenate([t.ravel() for t in targets]))), lam)
    for g, t in zip(grads, targets, strict=True):
        assert np.abs(g - t).max() <= 1e-9 * scale
    # the closed-form norm (sum_j x_j^2 k_j/(k_j-1))^(1/2)
    norm = math.sqrt(sum(xj**2 * k / (k - 1) for xj, k in zip(x, sizes, strict=True) if k > 1))
    assert bnpg.gradient_norm(grads) == pytest.approx(norm, rel=1e-9, abs=1e-9 * lam)
    # V = d W_0 and the optimality gap d (max(R_star, max_j R_j) - W_0), max over reachable rewards
    d = 1 / (1 - gamma)
    value_scale = d * max(1.0, float(np.abs(R).max()))
    assert bnpg.evaluate(game, policy).value == pytest.approx(d * W[0], abs=1e-10 * value_scale)
    best = max([0.0] + [R[j] for j, k in enumerate(sizes) if k > 1])
    assert bnpg.optimality_gap(game, policy) == pytest.approx(d * (best - W[0]),
                                                              abs=1e-10 * value_scale)


@pytest.mark.parametrize("seed", SEEDS)
def test_chain_w0_telescopes(seed):
    # (1 - p_j) D_j = (x_j/d + c_j p_j - c_{j+1}) / pi_{j+1} with c_{j+1} = c_j / k_j, so
    # W_0 = -(1/d) (sum_j x_j / pi_{j+1} + lam - lam / (|A| pi_N)): an independent route to W_0
    sizes, lam, gamma, x, p = random_chain(seed)
    _, W = chain_rewards(sizes, lam, x, p, gamma)
    d = 1 / (1 - gamma)
    reach = np.cumprod(p)  # pi_1, ..., pi_N
    w0 = -(float(np.sum(x / reach)) + lam - lam / (math.prod(sizes) * reach[-1])) / d
    assert W[0] == pytest.approx(w0, rel=1e-12, abs=1e-12 * lam)
    assert W[-1] == 0.0


@pytest.mark.parametrize("seed", range(8))
def test_threshold_breach_closed_forms_match_the_library(seed):
    rng = np.random.default_rng([78, seed])
    sizes = [int(k) for k in rng.integers(2, 4, size=int(rng.integers(1, 4)))]
    lam = float(rng.uniform(0.05, 1.0))
    gamma = float(rng.uniform(0.0, 0.9))
    tau = sharp_threshold(chain_game(sizes, np.zeros(len(sizes))), bnpg.DAG.full(len(sizes)), lam,
                          lemma=3)
    b = threshold_breach(sizes, lam, float(rng.uniform(0.2, 3.0)) * tau, float(rng.uniform(0.05, 0.5)),
                         rest=float(rng.uniform(0.5, 0.95)), gamma=gamma)
    game = chain_game(sizes, b.R, gamma)
    policy = bnpg.BNPolicy(game, bnpg.DAG.full(len(sizes)), chain_theta(sizes, b.p))
    assert bnpg.gradient_norm(bnpg.gradient(game, policy, lam)) == pytest.approx(b.grad_norm, rel=1e-9)
    scale = max(1.0, float(np.abs(b.R).max())) / (1 - gamma)
    assert bnpg.optimality_gap(game, policy) == pytest.approx(b.gap, abs=1e-10 * scale)
    assert b.ratio == pytest.approx(b.gap / lam, rel=1e-15)


# --------------------------------------------------------------------------------------------
# 2. The shipped witnesses
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["lemma-2", "lemma-3"])
def shipped(request):
    return witness(request.param)


def exact_gap(w):
    policy = w.policy
    return bnpg.nash_gap(w.game, policy) if w.name == "lemma-2" else bnpg.optimality_gap(w.game, policy)


def test_shipped_witness_fields(shipped):
    w = shipped
    assert w.name in witnesses.WITNESSES
    assert isinstance(w.game, bnpg.MarkovGame) and isinstance(w.dag, bnpg.DAG)
    assert len(w.theta) == w.game.n_agents
    bnpg.BNPolicy(w.game, w.dag, w.theta)  # the point fits the game and the DAG
    assert w.lam > 0 and w.threshold > 0 and w.bound > 0
    assert w.game.n_states == 1
    if w.name == "lemma-3":
        assert w.dag.is_fully_correlated


def test_shipped_threshold_and_bound(shipped):
    w = shipped
    lemma = 2 if w.name == "lemma-2" else 3
    assert w.threshold == pytest.approx(sharp_threshold(w.game, w.dag, w.lam, lemma=lemma), rel=1e-14)
    # by hand: lemma-2 is sizes (3, 2) on the empty DAG, tau2 = lam / sqrt(3 * 2); lemma-3 is sizes
    # (2, 3, 2) on the full DAG, |A| = 12, Sigma = 1/2 + 2/3 + 1/2 = 5/3, tau3 = lam / (12 sqrt(5/3))
    by_hand = w.lam / math.sqrt(6) if lemma == 2 else w.lam / (12 * math.sqrt(5 / 3))
    assert w.threshold == pytest.approx(by_hand, rel=1e-14)
    M = bnpg.mismatch_coefficient(w.game)
    assert M == pytest.approx(1.0, rel=1e-12)  # one state: d = 1/(1-gamma) for every policy
    assert w.bound == pytest.approx(sharp_bound(w.game, w.dag, w.lam, 1.0, lemma=lemma,
                                                grad_norm=w.threshold), rel=1e-14)
    assert w.bound == pytest.approx(w.lam * M, rel=1e-12)


# Measured (this machine): lemma-2 gap/bound = 0.99999999944 (= 1 - 1e-9/(3 * 0.6), the threshold's
# 1e-9 margin at p0 = 0.6), lemma-3 gap/bound = 0.99999166 (delta = 1e-4); both norms are
# threshold * (1 - 1e-9).
def test_shipped_witness_meets_the_hypothesis_and_nearly_attains_the_bound(shipped):
    w = shipped
    norm = bnpg.gradient_norm(bnpg.gradient(w.game, w.policy, w.lam))
    assert norm <= w.threshold
    ratio = exact_gap(w) / w.bound
    assert 0.9 <= ratio <= 1 + 1e-9
    m = w.measure()
    assert m["grad_norm"] == pytest.approx(norm, rel=1e-12)
    assert m["ratio"] == pytest.approx(ratio, rel=1e-12)


def witness_arrays(w):
    return {"P": w.game.P, "r": w.game.r, "mu": w.game.mu, "gamma": w.game.gamma, "lam": w.lam,
            "threshold": w.threshold, "bound": w.bound,
            **{f"theta{i}": t for i, t in enumerate(w.theta)}}


def assert_arrays_close(a, b):
    assert set(a) == set(b)
    for key in a:
        x, y = np.asarray(a[key], dtype=float), np.asarray(b[key], dtype=float)
        assert x.shape == y.shape, key
        assert np.abs(x - y).max(initial=0.0) <= 1e-12 * max(np.abs(y).max(initial=0.0), 1e-300), key


@pytest.mark.parametrize("name, build", [("lemma-2", lemma2_witness), ("lemma-3", lemma3_witness)])
def test_shipped_files_equal_fresh_witnesses(name, build):
    shipped, fresh = witness(name), build()
    assert_arrays_close(witness_arrays(shipped), witness_arrays(fresh))
    assert shipped.dag == fresh.dag and shipped.name == fresh.name


def test_save_witnesses_round_trips(tmp_path):
    paths = save_witnesses(tmp_path)
    assert sorted(os.path.basename(p) for p in paths) == ["witness-lemma-2.npz", "witness-lemma-3.npz"]
    assert sorted(os.listdir(tmp_path)) == ["witness-lemma-2.npz", "witness-lemma-3.npz"]  # no temp files
    for path, name in zip(paths, ("lemma-2", "lemma-3"), strict=True):
        with np.load(path) as z:
            saved = {k: z[k] for k in z.files}
        parents = saved.pop("parents")
        dag = bnpg.DAG([[int(j) for j in row if j >= 0] for row in parents])
        assert dag == witness(name).dag
        assert_arrays_close(saved, witness_arrays(witness(name)))
        assert os.stat(path).st_mode & 0o777 == 0o644
    with pytest.raises(ValueError, match="directory"):
        save_witnesses(tmp_path / "missing")


@pytest.mark.parametrize("name", ["x", "lemma-1", "lemma2", ""])
def test_unknown_witness_is_refused(name):
    with pytest.raises(ValueError, match="name"):
        witness(name)


# --------------------------------------------------------------------------------------------
# 3. Tightness in the limit
# --------------------------------------------------------------------------------------------


def test_lemma3_witness_ratio_tends_to_one():
    # measured: 1 - ratio = 8.56e-4, 8.36e-5, 8.34e-6 for delta = 1e-2, 1e-3, 1e-4: about delta/|A|
    deltas = (1e-2, 1e-3, 1e-4)
    ratios = []
    for delta in deltas:
        w = lemma3_witness(delta=delta)
        assert bnpg.gradient_norm(bnpg.gradient(w.game, w.policy, w.lam)) <= w.threshold
        ratios.append(exact_gap(w) / w.bound)
    assert ratios[0] < ratios[1] < ratios[2] <= 1 + 1e-9
    slopes = [(1 - r) / delta for r, delta in zip(ratios, deltas, strict=True)]
    assert max(slopes) / min(slopes) < 1.1  # 1 - ratio proportional to delta
    assert 0 < min(slopes)


# --------------------------------------------------------------------------------------------
# 4. The 33-agent breach of the printed Lemma 3, in exact arithmetic
# --------------------------------------------------------------------------------------------


class Surd:
    """a + b sqrt(n) with rational a, b: exact arithmetic in Q(sqrt n)."""

    def __init__(self, a, b=0, n=66):
        self.a, self.b, self.n = Fraction(a), Fraction(b), n

    def _lift(self, other):
        return other if isinstance(other, Surd) else Surd(other, 0, self.n)

    def __add__(self, other):
        other = self._lift(other)
        return Surd(self.a + other.a, self.b + other.b, self.n)

    def __sub__(self, other):
        other = self._lift(other)
        return Surd(self.a - other.a, self.b - other.b, self.n)

    def __mul__(self, other):
        other = self._lift(other)
        return Surd(self.a * other.a + self.n * self.b * other.b,
                    self.a * other.b + self.b * other.a, self.n)

    def __truediv__(self, q):
        q = Fraction(q)
        return Surd(self.a / q, self.b / q, self.n)

    def sign(self):
        """The exact sign of a + b sqrt(n)."""
        sa, sb = (self.a > 0) - (self.a < 0), (self.b > 0) - (self.b < 0)
        if sa == sb or sb == 0:
            return sa
        if sa == 0:
            return sb
        # opposite signs: compare a^2 with n b^2
        big = self.a**2 - self.n * self.b**2
        return sa if big > 0 else (sb if big < 0 else 0)

    def decimal(self, digits=60):
        with localcontext() as ctx:
            ctx.prec = digits
            frac = lambda f: Decimal(f.numerator) / Decimal(f.denominator)  # noqa: E731
            return frac(self.a) + frac(self.b) * Decimal(self.n).sqrt()


def surd_max(values):
    best = values[0]
    for v in values[1:]:
        if (v - best).sign() > 0:
            best = v
    return best


def test_33_agent_breach_exactly():
    N, lam = 33, Fraction(1)
    sizes = [2] * N
    n_joint = 2**N
    # the paper's threshold lam / (2 |S| |A| max k) = 1 / (2 * 2^33 * 2) = 2^-35
    tau = lam / (2 * 1 * n_joint * 2)
    assert tau == Fraction(1, 2**35)
    # x_j proportional to 1 - 1/k_j = 1/2 for every j, all equal, at norm tau:
    # norm^2 = sum_j x_j^2 k_j/(k_j-1) = 33 * 2 x^2 = tau^2, so x = tau / sqrt(66) = (tau/66) sqrt(66)
    x = Surd(0, tau / 66)
    norm2 = x * x * Fraction(2 * N)
    assert norm2.b == 0 and norm2.a == tau**2  # the gradient norm is the paper's threshold exactly
    # the recursion of the module docstring, with d = 1 (gamma = 0), one state (c_j = lam / K_j)
    p = [Fraction(1, 10**25)] + [1 - Fraction(1, 10**9)] * (N - 1)
    reach = [Fraction(1)]
    for j in range(1, N):
        reach.append(reach[-1] * p[j - 1])
    W = [None] * (N + 1)
    R = [None] * N
    W[N] = Surd(0)  # R_star = 0
    for j in reversed(range(N)):
        k, c = sizes[j], lam / 2**j
        D = (x - c * (Fraction(1, k) - p[j])) / (reach[j] * p[j] * (1 - p[j]))
        R[j] = W[j + 1] - D
        W[j] = W[j + 1] - D * (1 - p[j])
    gap = surd_max([Surd(0)] + R) - W[0]  # d (max(R_star, max_j R_j) - W_0), d = 1
    printed = Fraction(2 ** (N + 1) * N) * lam  # 2^(N+1) N lambda M with M = 1
    assert (gap - printed).sign() > 0  # beyond the printed Lemma 3
    exact = gap.decimal()  # 18049945155592.134...
    assert exact > 3 * Decimal(printed.numerator)  # about 1.805e13 against 5.67e11
    # the library, in floating point: the same norm, and the same gap to 1e-6 relative
    b = threshold_breach(sizes, 1.0, 2.0**-35, p0=1e-25)
    assert b.grad_norm == pytest.approx(2.0**-35, rel=1e-14)
    assert b.ratio > 2**34 * 33
    assert float(abs(Decimal(b.gap) - exact) / exact) <= 1e-6


# --------------------------------------------------------------------------------------------
# 5. Beyond the thresholds: no bound of the form C lambda M
# --------------------------------------------------------------------------------------------


def tau3_of(sizes, lam):
    return sharp_threshold(chain_game(sizes, np.zeros(len(sizes))), bnpg.DAG.full(len(sizes)), lam,
                           lemma=3)


# measured for sizes (2, 3, 2), lam = 0.1: ratio * p0 = 0.0833 = (f - 1)/|A| at f = 2, growing
# 1.08, 9.3, 834 at f = 1.01 for p0 = 1e-2, 1e-4, 1e-6
@pytest.mark.parametrize("f", [1.01, 1.5, 2.0])
def test_lemma3_gap_unbounded_beyond_tau3(f):
    sizes, lam = (2, 3, 2), 0.1
    n_joint = math.prod(sizes)
    tau = tau3_of(sizes, lam)
    ratios = [threshold_breach(sizes, lam, f * tau, p0).ratio for p0 in (1e-2, 1e-4, 1e-6)]
    assert ratios[0] < ratios[1] < ratios[2]
    assert 50 < ratios[2] / ratios[1] < 150  # like 1/p0
    # from the telescoped W_0 (test_chain_w0_telescopes): ratio ~ (f - 1)/(|A| p0) + 1
    assert ratios[2] * 1e-6 == pytest.approx((f - 1) / n_joint, rel=0.02)


@pytest.mark.parametrize("sizes", [(2, 3, 2), (3,), (2, 2, 2, 2)])
def test_lemma3_gap_bounded_at_and_below_tau3(sizes):
    # at f = 1 the targets x_j are rounded to doubles, which can put the point a few ulps beyond
    # tau3; the gap grows like (f - 1)/(|A| p0), so the allowance is 1e-9 + 1e-15/p0
    lam = 0.1
    tau = tau3_of(sizes, lam)
    for f in (0.0, 0.5, 0.9, 1.0):
        for p0 in (0.5, 1e-2, 1e-4, 1e-6, 1e-9):
            b = threshold_breach(sizes, lam, f * tau, p0)
            assert b.grad_norm <= tau * (1 + 1e-15)
            assert b.ratio <= 1 + 1e-9 + 1e-15 / p0, (f, p0)


@pytest.mark.parametrize("k", [2, 3, 5])
def test_lemma2_bandit_gap(k):
    # one agent with k actions: tau2 = lam / sqrt(k (k-1)) and a norm f tau2 puts x_0 = f lam / k on
    # action 0, so D_0 = lam ((f - 1)/k + p0) / (d p0 (1 - p0)). If D_0 > 0, action 0 (reward 0) is
    # best and the Nash gap (= optimality gap) is -d W_0 = d (1 - p0) D_0 = lam (1 + (f - 1)/(k p0));
    # otherwise the other actions are best and the gap is -d p0 D_0 = lam ((1 - f)/k - p0)/(1 - p0)
    lam, gamma = 0.2, 0.5
    tau2 = sharp_threshold(chain_game([k], [0.0]), bnpg.DAG.empty(1), lam, lemma=2)
    assert tau2 == pytest.approx(lam / math.sqrt(k * (k - 1)), rel=1e-14)
    for f, p0 in itertools.product((1.5, 1.1, 1.0, 0.5), (1e-1, 1e-2, 1e-4, 1e-6)):
        b = threshold_breach([k], lam, f * tau2, p0, gamma=gamma)
        e = (f - 1) / k + p0
        expected = 1 + (f - 1) / (k * p0) if e > 0 else -e / (1 - p0)
        assert b.ratio == pytest.approx(expected, rel=1e-9)
        if p0 >= 1e-4:  # the bandit built and solved by the library
            game = chain_game([k], b.R, gamma)
            policy = bnpg.BNPolicy(game, bnpg.DAG.empty(1), chain_theta([k], b.p))
            scale = max(1.0, float(np.abs(b.R).max())) / (1 - gamma)
            assert bnpg.gradient_norm(bnpg.gradient(game, policy, lam)) == pytest.approx(
                f * tau2, rel=1e-9)
            assert bnpg.nash_gap(game, policy) == pytest.approx(b.gap, abs=1e-10 * scale)
            if f <= 1:
                assert bnpg.nash_gap(game, policy) <= sharp_bound(
                    game, bnpg.DAG.empty(1), lam, 1.0, lemma=2, grad_norm=f * tau2) + 1e-10 * scale
        if f <= 1:  # allowance for the rounding of x_0 (see test_lemma3_gap_bounded_at_and_below_tau3)
            assert b.ratio <= 1 + 1e-12 + 1e-15 / p0
    # beyond: unbounded as p0 shrinks
    big = [threshold_breach([k], lam, 1.1 * tau2, p0).ratio for p0 in (1e-2, 1e-4, 1e-6)]
    assert big[0] < big[1] < big[2] and big[2] > 1e4 / k


# --------------------------------------------------------------------------------------------
# 6. Bad input
# --------------------------------------------------------------------------------------------


def test_chain_rewards_bad_input():
    with pytest.raises(ValueError, match="x must have one entry per agent"):
        chain_rewards([2, 2], 1.0, [0.1], [0.5, 0.5])
    with pytest.raises(ValueError, match="p must have one entry per agent"):
        chain_rewards([2, 2], 1.0, [0.1, 0.1], [0.5])
    for bad in (0.0, 1.0):
        with pytest.raises(ValueError, match=r"p\[1\] must be in \(0, 1\)"):
            chain_rewards([2, 2], 1.0, [0.1, 0.1], [0.5, bad])
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match=r"p\[0\]"):
            chain_rewards([2], 1.0, [0.1], [bad])
    with pytest.raises(ValueError, match=r"x\[0\] must be 0"):
        chain_rewards([1, 2], 1.0, [0.1, 0.1], [1.0, 0.5])
    with pytest.raises(ValueError, match=r"p\[0\] must be 1"):
        chain_rewards([1, 2], 1.0, [0.0, 0.1], [0.5, 0.5])
    with pytest.raises(ValueError, match="lam"):
        chain_rewards([2], -1.0, [0.1], [0.5])
    for sizes in ([], [0], [2, -1], [2.0], [True]):
        with pytest.raises(ValueError, match="sizes"):
            chain_rewards(sizes, 1.0, [0.1] * len(sizes), [0.5] * len(sizes))


def test_chain_game_bad_input():
    with pytest.raises(ValueError, match="R must have one entry per agent"):
        chain_game([2, 2], [0.1])
    with pytest.raises(ValueError, match="R must have one entry per agent"):
        chain_game([2], [[0.1]])
    with pytest.raises(ValueError, match="sizes"):
        chain_game([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="gamma"):
        chain_game([2, 2], [0.1, 0.2], gamma=1.0)


@pytest.mark.parametrize("bad", [0.0, 1.0])
def test_a_degenerate_first_p_is_refused_with_agents_after_it(bad):
    # p[0] in {0, 1} with agents after it: the agents after it are reached with probability p[0]
    with pytest.raises(ValueError, match=r"p\[0\] must be in \(0, 1\)"):
        chain_rewards([2, 2], 1.0, [0.1, 0.1], [bad, 0.5])
    with pytest.raises(ValueError, match=r"p0|p\[0\]"):
        threshold_breach([2, 2], 1.0, 1e-3, bad)


def test_chain_theta_bad_input():
    with pytest.raises(ValueError, match="p must have one entry per agent"):
        chain_theta([2, 2], [0.5])
    with pytest.raises(ValueError, match=r"p\[0\]"):
        chain_theta([2], [1.5])
    with pytest.raises(ValueError, match="sizes"):
        chain_theta([], [])


@pytest.mark.parametrize("bad", [0.0, 1.0])
def test_chain_theta_refuses_a_degenerate_p(bad):
    # an agent with a choice needs p in (0, 1), as chain_rewards demands: log(p (k-1) / (1-p))
    with pytest.raises(ValueError, match=r"p\[0\]"):
        chain_theta([2], [bad])


def test_threshold_breach_bad_input():
    with pytest.raises(ValueError, match="grad_norm"):
        threshold_breach([2], 1.0, -1e-3, 0.5)
    for lam in (0.0, -1.0):
        with pytest.raises(ValueError, match="lam"):
            threshold_breach([2], lam, 1e-3, 0.5)
    for p0 in (1.0, 1.5):
        with pytest.raises(ValueError, match=r"p0|p\[0\]"):
            threshold_breach([2, 2], 1.0, 1e-3, p0)
    with pytest.raises(ValueError, match=r"p\[1\]"):
        threshold_breach([2, 2], 1.0, 1e-3, 0.5, rest=1.0)
    with pytest.raises(ValueError, match="no agent has a choice"):
        threshold_breach([1, 1], 1.0, 1e-3, 0.5)


def test_witness_builders_bad_input():
    for sizes in ((2, 3), (1,), (2, 2, 3)):
        with pytest.raises(ValueError, match=r"sizes\[0\] must be the largest"):
            lemma2_witness(sizes)
    with pytest.raises(ValueError, match="lam"):
        lemma2_witness(lam=0.0)
    for p0 in (0.0, 1.0):
        with pytest.raises(ValueError, match=r"p\[0\]"):
            lemma2_witness(p0=p0)
    with pytest.raises(ValueError, match="lam"):
        lemma3_witness(lam=-0.1)
    for delta in (0.0, 1.0, 2.0):
        with pytest.raises(ValueError, match="delta"):
            lemma3_witness(delta=delta)


@pytest.mark.parametrize("call", [
    lambda: chain_rewards([2], 1.0, [0.1], [0.5], gamma=1.0),
    lambda: chain_rewards([2], 1.0, [0.1], [0.5], gamma=-0.5),
    lambda: threshold_breach([2], 1.0, 0.1, 0.5, gamma=1.0),
    lambda: lemma2_witness(gamma=1.0),
], ids=["chain_rewards-1", "chain_rewards-negative", "threshold_breach-1", "lemma2_witness-1"])
def test_gamma_outside_the_unit_interval_is_refused(call):
    # MarkovGame refuses gamma outside [0, 1) with a ValueError naming gamma; so should the closed forms
    with pytest.raises(ValueError, match="gamma"):
        call()


def test_inputs_are_not_mutated():
    sizes = [2, 3, 1]
    x = np.array([0.1, -0.2, 0.0])
    p = np.array([0.3, 0.6, 1.0])
    keep = (list(sizes), x.copy(), p.copy())
    R, _ = chain_rewards(sizes, 0.5, x, p, 0.3)
    R_keep = R.copy()
    chain_game(sizes, R, 0.3)
    chain_theta(sizes, p)
    threshold_breach(sizes, 0.5, 1e-3, 0.2)
    assert sizes == keep[0]
    assert np.array_equal(x, keep[1]) and np.array_equal(p, keep[2]) and np.array_equal(R, R_keep)
    sizes_tuple = (3, 2)
    lemma2_witness(sizes_tuple)
    lemma3_witness(sizes_tuple)
    assert sizes_tuple == (3, 2)
