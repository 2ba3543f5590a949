"""The sweeps of bnpg.experiments and the command line ``python -m bnpg``.

Independent routes used here:

* stationarity of the points :func:`ascend` returns is checked with fourth-order finite differences
  of :func:`bnpg.objective` (tests.conftest.finite_difference), and on a one-agent, one-state game
  against the stationarity equation derived by hand;
* every number :func:`lemma_record` reports is recomputed: the Nash gap by a linear program over all
  deterministic best-response rules (tests.conftest.best_response_mdp), the optimal value by a linear
  program on joint actions, values by the Neumann series, and ``M`` by enumerating every
  deterministic joint policy;
* the command line is run in a subprocess and its file compared with the in-process sweep.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import bnpg
from bnpg.experiments import (
    Instance,
    _embed,
    ascend,
    correlation_run,
    correlation_sweep,
    lemma2_sweep,
    lemma3_sweep,
    lemma_instance,
    lemma_record,
    load_instance,
    load_results,
    save_instance,
    save_results,
    stationarity_threshold,
)
from bnpg.games import climbing_game, penalty_game, random_game
from tests.conftest import (
    best_response_mdp,
    evaluate_by_series,
    finite_difference,
    joint_mdp,
    local_probs,
    lp_optimal_values,
    policy_joint,
    snapshot,
)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fd_gradient_norm(game, policy, lam):
    """Norm of the gradient of L_lambda by finite differences of bnpg.objective."""
    def f(x):
        return bnpg.objective(game, policy.with_flat(x), lam)

    return float(np.linalg.norm(finite_difference(f, policy.flat())))


# -- the threshold and the ascent ---------------------------------------------------------------


def test_stationarity_threshold_by_hand():
    # |S| = 3, |A| = 2 * 3 = 6, max |A^i| = 3: lambda / (2 * 3 * 6 * 3) = lambda / 108
    game = random_game(3, (2, 3), seed=0)
    assert stationarity_threshold(game, 0.054) == pytest.approx(0.054 / 108, rel=1e-15)
    assert stationarity_threshold(climbing_game(), 0.1) == pytest.approx(0.1 / 54, rel=1e-15)
    with pytest.raises(ValueError, match="lam"):
        stationarity_threshold(game, -1.0)
    with pytest.raises(TypeError, match="game"):
        stationarity_threshold("game", 0.1)


@pytest.mark.parametrize("method", ["armijo", "lbfgs"])
def test_ascend_reaches_a_point_that_is_stationary_by_finite_differences(method):
    inst = lemma_instance(4, 2, n_agents=(2,), n_actions=(2, 3))
    (before,) = snapshot(inst.policy.flat())
    start = bnpg.objective(inst.game, inst.policy, inst.lam)
    run = ascend(inst.game, inst.policy, inst.lam, method=method)
    tol = stationarity_threshold(inst.game, inst.lam)
    assert run.met and run.tol == tol and run.method == method
    assert np.array_equal(inst.policy.flat(), before)  # the start is not modified
    assert run.objective == pytest.approx(bnpg.objective(inst.game, run.policy, inst.lam), rel=1e-12)
    assert run.objective > start
    # the finite-difference error is about 1e-10 here, far below tol (~1e-4)
    fd = fd_gradient_norm(inst.game, run.policy, inst.lam)
    assert abs(fd - run.grad_norm) < 1e-8
    assert fd <= tol


@pytest.mark.parametrize("method", ["armijo", "lbfgs"])
def test_ascend_solves_the_hand_derived_bandit_equation(method):
    # one agent, one state, rewards r, discount gamma: V = sum_c pi_c r_c / (1 - gamma) and
    # dL/dtheta_c = pi_c (r_c - sum_b pi_b r_b) / (1 - gamma) + lam (1/|A| - pi_c).
    r = np.array([1.0, 0.2, -0.5, 0.7])
    gamma, lam = 0.6, 0.05
    game = bnpg.MarkovGame(np.ones((1, 4, 1)), r[None], [1.0], gamma)
    policy = bnpg.BNPolicy(game, bnpg.DAG.empty(1))
    tol = 1e-9
    run = ascend(game, policy, lam, tol=tol, method=method, max_iter=10_000)
    pi = local_probs(run.policy.theta)[0][0]
    residual = pi * (r - pi @ r) / (1 - gamma) + lam * (1 / 4 - pi)
    assert run.met
    assert np.linalg.norm(residual) <= tol * (1 + 1e-6)


def test_ascend_without_iterations_returns_the_start():
    inst = lemma_instance(0, 0)
    run = ascend(inst.game, inst.policy, inst.lam, max_iter=0)
    assert run.iterations == 0 and not run.met
    assert np.array_equal(run.policy.flat(), inst.policy.flat())


@pytest.mark.parametrize(
    "kwargs, error, name",
    [
        (dict(method="newton"), ValueError, "method"),
        (dict(tol=0.0), ValueError, "tol"),
        (dict(max_iter=-1), ValueError, "max_iter"),
        (dict(max_iter=2.0), TypeError, "max_iter"),
        (dict(eta=0.0), ValueError, "eta"),
        (dict(lam=-0.1), ValueError, "lam"),
    ],
)
def test_ascend_rejects_bad_arguments(kwargs, error, name):
    inst = lemma_instance(0, 0)
    args = dict(lam=inst.lam)
    args.update(kwargs)
    with pytest.raises(error, match=name):
        ascend(inst.game, inst.policy, **args)


def test_ascend_refuses_a_policy_of_another_game():
    inst = lemma_instance(0, 0)
    with pytest.raises(ValueError, match="different game"):
        ascend(random_game(inst.game.n_states, inst.game.action_sizes, seed=99), inst.policy, 0.1)


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


def brute_force_m(game):
    """M = max_s max_pi d(s) / min_pi d(s), over every deterministic joint policy (enumerated)."""
    S, n_joint = game.n_states, game.n_joint_actions
    ds = []
    for choice in itertools.product(range(n_joint), repeat=S):
        pi = np.zeros((S, n_joint))
        pi[np.arange(S), choice] = 1.0
        ds.append(evaluate_by_series(game, pi.reshape((S,) + game.action_sizes))[2])
    ds = np.array(ds)
    return float(np.max(ds.max(axis=0) / ds.min(axis=0)))


@pytest.mark.parametrize("full", [False, True])
def test_lemma_record_agrees_with_independent_computations(full):
    inst = lemma_instance(2, 5, full=full, n_states=(2,), n_agents=(2,), n_actions=(2,))
    rec = lemma_record(inst)
    game, lam = inst.game, inst.lam
    run = ascend(game, inst.policy, lam)  # deterministic: the same point as inside lemma_record
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
    out = lemma2_sweep(12, seed=3, n_agents=(2, 3), n_actions=(2,))
    assert out["met"].all()
    assert np.all(out["nash_gap"] <= out["nash_bound"])
    assert out["sweep"] == "lemma2" and out["index"].tolist() == list(range(12))


def test_lemma3_holds_on_a_tiny_sweep():
    out = lemma3_sweep(12, seed=3, n_agents=(2, 3), n_actions=(2,))
    assert out["met"].all()
    assert np.all(out["optimality_gap"] <= out["optimality_bound"])
    assert np.all(out["n_edges"] == out["n_agents"] * (out["n_agents"] - 1) // 2)


def test_sweep_is_deterministic_and_prefix_stable():
    a = lemma2_sweep(3, seed=5)
    b = lemma2_sweep(5, seed=5)
    for key in ("nash_gap", "M", "lam", "gamma", "grad_norm", "iterations"):
        assert np.array_equal(a[key], b[key][:3])


def test_sweeps_report_points_that_miss_the_threshold():
    out = lemma2_sweep(4, seed=0, max_iter=1)
    assert len(out["met"]) == 4 and not out["met"].all()
    assert np.all(out["met"] == (out["grad_norm"] <= out["threshold"]))


def test_sweep_progress_wrapper_sees_every_instance():
    seen = []

    def progress(iterable):
        for k in iterable:
            seen.append(k)
            yield k

    lemma3_sweep(3, seed=0, progress=progress)
    assert seen == [0, 1, 2]


def test_sweeps_reject_bad_arguments():
    with pytest.raises(ValueError, match="n_instances"):
        lemma2_sweep(0, seed=0)
    with pytest.raises(ValueError, match="seed"):
        lemma3_sweep(1, seed=-2)
    with pytest.raises(ValueError, match="method"):
        lemma2_sweep(1, seed=0, method="sgd")
    with pytest.raises(TypeError, match="not_an_option"):
        lemma2_sweep(1, seed=0, not_an_option=1)


# -- correlation -------------------------------------------------------------------------------


def test_embed_starts_every_dag_from_the_same_joint_policy():
    game = random_game(2, (2, 3, 2), seed=1)
    rng = np.random.default_rng(0)
    theta = [rng.standard_normal((2, k)) for k in (2, 3, 2)]
    product = policy_joint(bnpg.BNPolicy(game, bnpg.DAG.empty(3), theta))
    for dag in (bnpg.DAG.chain(3), bnpg.DAG.full(3), bnpg.DAG([[2], [0, 2], []])):
        assert np.allclose(policy_joint(_embed(game, dag, theta)), product, rtol=1e-13, atol=0)


@pytest.mark.parametrize("gamma", [0.0, 0.5])
def test_correlation_run_on_the_penalty_game(gamma):
    game = penalty_game(k=-10, gamma=gamma)
    out = correlation_run(game, [np.zeros((1, 3)), np.zeros((1, 3))], max_iter=500)
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


def test_correlation_run_rejects_bad_starts():
    game = climbing_game()
    with pytest.raises(ValueError, match="product_theta"):
        correlation_run(game, [np.zeros((1, 3))])
    with pytest.raises(ValueError, match=r"product_theta\[1\]"):
        correlation_run(game, [np.zeros((1, 3)), np.zeros((1, 2))])
    with pytest.raises(TypeError, match="dags"):
        correlation_run(game, [np.zeros((1, 3))] * 2, dags={"x": "not a dag"})


def test_correlation_sweep_is_deterministic_and_consistent():
    a = correlation_sweep(3, seed=2, max_iter=200)
    b = correlation_sweep(3, seed=2, max_iter=200)
    for key, value in a.items():
        assert np.array_equal(value, b[key])
    # with two agents the chain and the full DAG are the same graph: identical runs
    assert np.array_equal(a["chain_value"], a["full_value"])
    assert np.all(a["product_gap"] >= -1e-9)
    assert np.all(a["product_reached"] == (a["product_gap"] <= 0.01 * (a["optimal_value"] - a["worst_value"])))


# -- files -------------------------------------------------------------------------------------


@pytest.mark.parametrize("ext", [".npz", ".json"])
def test_results_round_trip(tmp_path, ext):
    results = {
        "x": np.array([1.5, -np.inf, np.nan]),
        "met": np.array([True, False, True]),
        "index": np.arange(3),
        "sweep": "lemma2",
        "seed": 4,
        "option_lam_range": np.array([0.01, 0.1]),
    }
    path = tmp_path / "sub" / f"r{ext}"
    save_results(path, results)
    back = load_results(path)
    assert set(back) == set(results)
    assert np.array_equal(back["x"], results["x"], equal_nan=True)
    assert back["met"].dtype == bool and back["met"].tolist() == [True, False, True]
    assert back["index"].tolist() == [0, 1, 2]
    assert str(back["sweep"]) == "lemma2" and int(back["seed"]) == 4
    assert np.array_equal(back["option_lam_range"], [0.01, 0.1])


def test_results_files_refuse_bad_input(tmp_path):
    with pytest.raises(ValueError, match="path"):
        save_results(tmp_path / "r.csv", {"x": np.zeros(2)})
    with pytest.raises(TypeError, match="results"):
        save_results(tmp_path / "r.npz", [1, 2])
    with pytest.raises(TypeError, match="object"):
        save_results(tmp_path / "r.npz", {"x": np.array([{}, 1], dtype=object)})
    with pytest.raises(ValueError, match="path"):
        load_results(tmp_path / "r.txt")


def test_instance_round_trip(tmp_path):
    inst = lemma_instance(3, 7, n_agents=(3,), edge_prob=0.7)
    path = tmp_path / "point.npz"
    run = ascend(inst.game, inst.policy, inst.lam)
    save_instance(path, inst.game, inst.dag, inst.lam, run.policy)
    game, dag, lam, policy = load_instance(path)
    assert game == inst.game and dag == inst.dag and lam == inst.lam
    assert np.array_equal(policy.flat(), run.policy.flat())
    assert bnpg.nash_gap(game, policy) == bnpg.nash_gap(inst.game, run.policy)
    assert isinstance(inst, Instance)
    with pytest.raises(ValueError, match="dag"):
        save_instance(path, inst.game, bnpg.DAG.full(3) if inst.dag != bnpg.DAG.full(3)
                      else bnpg.DAG.empty(3), inst.lam, run.policy)
    other = tmp_path / "game.npz"
    inst.game.save(other)
    with pytest.raises(ValueError, match="instance"):
        load_instance(other)


# -- the command line --------------------------------------------------------------------------


def run_cli(*args):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(
        [sys.executable, "-m", "bnpg", *args], capture_output=True, text=True, cwd=REPO, env=env,
        timeout=120,
    )


def test_cli_lemma2_writes_the_same_results_as_the_function(tmp_path):
    out = tmp_path / "results" / "lemma2.npz"
    proc = run_cli("lemma2", "--instances", "3", "--seed", "1", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "3/3" in proc.stderr  # the progress bar goes to stderr
    assert "3 met the gradient threshold" in proc.stdout
    back = load_results(out)
    direct = lemma2_sweep(3, seed=1)
    assert set(back) == set(direct)
    for key in ("nash_gap", "nash_bound", "M", "met", "grad_norm", "index", "lam"):
        assert np.array_equal(back[key], direct[key])


def test_cli_correlation_json(tmp_path):
    out = tmp_path / "corr.json"
    proc = run_cli("correlation", "--instances", "2", "--seed", "0", "--max-iter", "100",
                   "--states", "2", "--actions", "2", "--no-progress", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    with open(out, encoding="utf-8") as fh:
        raw = json.load(fh)
    assert raw["sweep"] == "correlation" and len(raw["product_value"]) == 2
    direct = correlation_sweep(2, seed=0, max_iter=100, n_states=(2,), n_actions=(2,))
    assert np.array_equal(load_results(out)["chain_value"], direct["chain_value"])


def test_cli_reports_bad_arguments():
    proc = run_cli("lemma2", "--instances", "0", "--out", "unused.npz", "--no-progress")
    assert proc.returncode == 2 and "n_instances" in proc.stderr
    proc = run_cli("lemma9", "--out", "x.npz")
    assert proc.returncode == 2 and "invalid choice" in proc.stderr
    proc = run_cli("lemma2", "--states", "2,x", "--out", "x.npz")
    assert proc.returncode == 2 and "integers" in proc.stderr
    assert not os.path.exists(os.path.join(REPO, "unused.npz"))
