"""Random instances and the lemma studies of bnpg.experiments.studies.lemmas.

Independent routes used here: every number :func:`lemma_record` reports is recomputed, the Nash gap
by a linear program over all deterministic best-response rules (oracles.best_response_mdp),
the optimal value by a linear program on joint actions, values by the Neumann series, and ``M`` by
enumerating every deterministic joint policy.
"""

from __future__ import annotations

import numpy as np
import pytest
from oracles import (
    best_response_mdp,
    brute_force_m,
    evaluate_by_series,
    joint_mdp,
    local_probs,
    lp_optimal_values,
    policy_joint,
)

import bnpg
from bnpg.dynamics.ascent import ascend
from bnpg.experiments.instances import common_start, lemma_instance
from bnpg.experiments.studies.correlation import correlation_compare
from bnpg.experiments.studies.lemmas import lemma2_study, lemma3_study, lemma_record
from bnpg.experiments.sweeps import SweepOptions
from bnpg.games.library import penalty_game, random_game

# -- instances and records ----------------------------------------------------------------------


def test_lemma_instance_is_deterministic_and_within_its_ranges():
    for k in range(6):
        a = lemma_instance(9, k, n_states=(1, 3), n_agents=(2, 3), n_actions=(2, 4),
                           lam_range=(0.02, 0.05), gamma_range=(0.3, 0.6))
        b = lemma_instance(9, k, n_states=(1, 3), n_agents=(2, 3), n_actions=(2, 4),
                           lam_range=(0.02, 0.05), gamma_range=(0.3, 0.6))
        assert a.game == b.game and a.dag == b.dag and a.lam == b.lam
        assert np.array_equal(a.policy.flat(), b.policy.flat())
        assert a.game.n_states in (1, 3) and a.game.n_agents in (2, 3)
        assert set(a.game.action_sizes) <= {2, 4}
        assert 0.02 <= a.lam <= 0.05 and 0.3 <= a.game.gamma <= 0.6
        assert np.allclose(a.game.mu, 1 / a.game.n_states)
    assert lemma_instance(9, 0).game != lemma_instance(9, 1).game
    assert lemma_instance(9, 0).game != lemma_instance(10, 0).game
    assert all(lemma_instance(1, k, full=True).dag.is_fully_correlated for k in range(5))


@pytest.mark.parametrize(
    "kwargs, error, name",
    [
        (dict(n_states=()), ValueError, "n_states"),
        (dict(n_states="2"), TypeError, "n_states"),
        (dict(n_actions=(2, 0)), ValueError, "n_actions"),
        (dict(lam_range=(0.0, 0.1)), ValueError, "lam_range"),
        (dict(lam_range=(0.1, 0.01)), ValueError, "lam_range"),
        (dict(lam_range=0.1), TypeError, "lam_range"),
        (dict(gamma_range=(0.5, 1.0)), ValueError, "gamma_range"),
        (dict(init_scale=-1.0), ValueError, "init_scale"),
        (dict(edge_prob=1.5), ValueError, "edge_prob"),
        (dict(sparsity=2.0), ValueError, "sparsity"),
    ],
)
def test_lemma_instance_rejects_bad_options(kwargs, error, name):
    with pytest.raises(error, match=name):
        lemma_instance(0, 0, **kwargs)


@pytest.mark.parametrize("seed, index", [(0, 0), (0, 1)])
def test_lemma_instance_rejects_bad_seed_and_index(seed, index):
    with pytest.raises(ValueError, match="seed"):
        lemma_instance(-1, index)
    with pytest.raises(ValueError, match="index"):
        lemma_instance(seed, -1)


@pytest.mark.parametrize("full", [False, True])
def test_lemma_record_agrees_with_independent_computations(full):
    inst = lemma_instance(2, 5, full=full, n_states=(2,), n_agents=(2,), n_actions=(2,))
    rec = lemma_record(inst)
    game, lam = inst.game, inst.lam
    run = ascend(game, inst.policy, lam, threshold=bnpg.theory.constants.gradient_threshold(game, lam))  # as in lemma_record
    policy = run.policy
    V, _, _ = evaluate_by_series(game, policy_joint(policy))
    value = float(game.mu @ V)
    best = []
    for i in range(2):
        R, K, _ = best_response_mdp(game, policy, i)
        best.append(float(game.mu @ lp_optimal_values(R, K, game.gamma)))
    nash = max(best) - value
    R, K = joint_mdp(game)
    optimum = float(game.mu @ lp_optimal_values(R, K, game.gamma))
    M = brute_force_m(game)
    assert rec["value"] == pytest.approx(value, rel=1e-10)
    assert rec["nash_gap"] == pytest.approx(nash, rel=1e-6, abs=1e-10)
    assert rec["optimality_gap"] == pytest.approx(optimum - value, rel=1e-6, abs=1e-10)
    assert rec["M"] == pytest.approx(M, rel=1e-9)
    assert rec["nash_bound"] == pytest.approx(2 * lam * M, rel=1e-9)
    assert rec["optimality_bound"] == pytest.approx(2**3 * 2 * lam * M, rel=1e-9)
    assert rec["threshold"] == pytest.approx(lam / (2 * 2 * 4 * 2), rel=1e-15)
    assert rec["met"] and rec["grad_norm"] <= rec["threshold"]
    assert rec["n_edges"] == inst.dag.n_edges and rec["n_joint"] == 4
    pis = local_probs(policy.theta)
    assert rec["min_local_ratio"] == pytest.approx(min(4 * p.min() for p in pis), rel=1e-12)


def test_lemma_record_rejects_non_instances():
    with pytest.raises(TypeError, match="instance"):
        lemma_record((1, 2, 3))


# -- the lemmas on tiny sweeps ------------------------------------------------------------------


def test_lemma2_holds_on_a_tiny_sweep():
    out = lemma2_study(12, seed=3, n_agents=(2, 3), n_actions=(2,))
    assert out["met"].all()
    assert np.all(out["nash_gap"] <= out["nash_bound"])
    assert out["study"] == "lemma2" and out["index"].tolist() == list(range(12))


def test_lemma3_holds_on_a_tiny_sweep():
    out = lemma3_study(12, seed=3, n_agents=(2, 3), n_actions=(2,))
    assert out["met"].all()
    assert np.all(out["optimality_gap"] <= out["optimality_bound"])
    assert np.all(out["n_edges"] == out["n_agents"] * (out["n_agents"] - 1) // 2)


def test_sweep_is_deterministic_and_prefix_stable():
    a = lemma2_study(3, seed=5)
    b = lemma2_study(5, seed=5)
    for key in ("nash_gap", "M", "lam", "gamma", "grad_norm", "n_steps"):
        assert np.array_equal(a[key], b[key][:3])


def test_sweeps_report_points_that_miss_the_threshold():
    out = lemma2_study(4, seed=0, max_steps=1)
    assert len(out["met"]) == 4 and not out["met"].all()
    assert np.all(out["met"] == (out["grad_norm"] <= out["threshold"]))


def test_sweep_progress_counts_every_instance_and_ends_with_a_summary(capsys):
    lemma3_study(3, seed=0, sweep=SweepOptions(progress=True))
    err = capsys.readouterr().err
    assert "3/3" in err and "lemma3: 3 instances (0 resumed from the store) in" in err
    assert err.rstrip().endswith("on 1 worker process")


def test_sweeps_reject_bad_arguments():
    with pytest.raises(ValueError, match="n_instances"):
        lemma2_study(0, seed=0)
    with pytest.raises(ValueError, match="seed"):
        lemma3_study(1, seed=-2)
    with pytest.raises(ValueError, match="method"):
        lemma2_study(1, seed=0, method="sgd")
    with pytest.raises(TypeError, match="not_an_option"):
        lemma2_study(1, seed=0, not_an_option=1)


# -- correlation -------------------------------------------------------------------------------


def test_common_start_starts_every_dag_from_the_same_joint_policy():
    game = random_game(2, (2, 3, 2), seed=1)
    rng = np.random.default_rng(0)
    theta = [rng.standard_normal((2, k)) for k in (2, 3, 2)]
    product = policy_joint(bnpg.BNPolicy(game, bnpg.DAG.empty(3), theta))
    for dag in (bnpg.DAG.chain(3), bnpg.DAG.full(3), bnpg.DAG([[2], [0, 2], []])):
        assert np.allclose(policy_joint(common_start(game, dag, theta)), product, rtol=1e-13, atol=0)


@pytest.mark.parametrize("gamma", [0.0, 0.5])
def test_armijo_comparison_on_the_penalty_game(gamma):
    game = penalty_game(k=-10, gamma=gamma)
    out = correlation_compare(game, [np.zeros((1, 3)), np.zeros((1, 3))], lam=1e-3, method="armijo",
                              max_steps=500, reach_tol=1e-2)
    # hand values: optimum 10, worst outcome k = -10, uniform start (10 + 2 + 10 - 20) / 9 per step
    assert out["optimal_value"] == pytest.approx(10 / (1 - gamma), rel=1e-12)
    assert out["worst_value"] == pytest.approx(-10 / (1 - gamma), rel=1e-12)
    assert out["start_value"] == pytest.approx((2 / 9) / (1 - gamma), rel=1e-12)
    # from the symmetric start the product policy settles on the safe equilibrium (1, 1), worth 2
    # per step up to the barrier's pull (lam = 1e-3 moves it by about 1e-3 per step)
    assert out["product_value"] * (1 - gamma) == pytest.approx(2.0, abs=5e-3)
    assert not out["product_reached"]
    assert out["chain_reached"] and out["full_reached"]
    assert out["chain_gap"] <= 0.01 * 20 / (1 - gamma)


# -- the laws the instances are drawn from ------------------------------------------------------


def test_lemma_instances_follow_their_stated_laws():
    # lambda log-uniform on lam_range, gamma uniform on gamma_range, |S|, N, |A^i| uniform on the choices,
    # starting parameters normal with standard deviation init_scale; 600 instances, KS and chi-square
    # tests at level 1e-3, each also shown to reject the nearest wrong law.
    from scipy import stats

    lo, hi = 0.01, 1.0
    draws = [lemma_instance(11, k, n_states=(1, 2, 3), n_agents=(2, 3), n_actions=(2, 3),
                            lam_range=(lo, hi), gamma_range=(0.3, 0.8), init_scale=2.0)
             for k in range(600)]
    lams = np.array([d.lam for d in draws])
    log_law = stats.uniform(np.log(lo), np.log(hi) - np.log(lo))
    assert stats.kstest(np.log(lams), log_law.cdf).pvalue > 1e-3
    assert stats.kstest(lams, stats.uniform(lo, hi - lo).cdf).pvalue < 1e-6  # not uniform in lambda
    gammas = np.array([d.game.gamma for d in draws])
    assert 0.3 <= gammas.min() and gammas.max() <= 0.8
    assert stats.kstest(gammas, stats.uniform(0.3, 0.5).cdf).pvalue > 1e-3
    assert stats.kstest(gammas, stats.uniform(0.3, 0.7).cdf).pvalue < 1e-6  # the range matters
    for values, choices in (([d.game.n_states for d in draws], (1, 2, 3)),
                            ([d.game.n_agents for d in draws], (2, 3)),
                            ([k for d in draws for k in d.game.action_sizes], (2, 3))):
        counts = [values.count(c) for c in choices]
        assert sum(counts) == len(values)
        assert stats.chisquare(counts).pvalue > 1e-3
    theta = np.concatenate([d.policy.flat() for d in draws])
    assert abs(theta.std() / 2.0 - 1) < 0.02 and abs(theta.mean()) < 0.05
    assert stats.kstest(theta / 2.0, "norm").pvalue > 1e-3
