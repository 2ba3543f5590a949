"""bnpg.paper: every statement's verdict against independent computations.

Independent routes used here:

* ``M`` and the extremes of the visitation by enumerating every deterministic joint policy, with
  values from the Neumann series (oracles.evaluate_by_series);
* the largest and smallest values by linear programs on the joint-action MDP with rewards ``r`` and
  ``-r`` (oracles.lp_optimal_values);
* Lemma 1's printed right-hand side written out here from loop-built partial values
  (oracles.partial_q_by_loops), against fourth-order finite differences of ``L_lambda`` built
  from scipy's softmax and the Neumann series;
* Nash gaps from linear programs over every deterministic best-response rule;
* the theorems' first crossings by inspecting every iterate of the dynamics (2).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from oracles import (
    best_response_mdp,
    deterministic_visitations,
    evaluate_by_series,
    finite_difference,
    joint_mdp,
    lagrangian_by_series,
    lemma1_printed_by_loops,
    lp_optimal_values,
    policy_joint,
)

import bnpg
from bnpg import paper
from bnpg.paper import theorems
from bnpg.paper.verdict import Verdict
from tests.conftest import random_game, random_policy

GAME = random_game(7, n_states=2, action_sizes=(2, 3), gamma=0.8)
GAME3 = random_game(8, n_states=2, action_sizes=(2, 2, 2), gamma=0.6)


def value_of(game, policy):
    V, _, _ = evaluate_by_series(game, policy_joint(policy))
    return float(game.mu @ V)


def nash_gap_by_lp(game, policy):
    v = value_of(game, policy)
    best = []
    for i in range(game.n_agents):
        R, K, _ = best_response_mdp(game, policy, i)
        best.append(float(game.mu @ lp_optimal_values(R, K, game.gamma)))
    return max(best) - v


# -- the assumptions ------------------------------------------------------------------------------


def test_assumption1_against_enumeration():
    v = paper.assumption1(GAME)
    ds = deterministic_visitations(GAME)
    assert v.statement == "assumption-1" and v.status == "holds"
    assert v.measured == pytest.approx(ds.min(), rel=1e-10)
    assert v.details["M"] == pytest.approx(float((ds.max(axis=0) / ds.min(axis=0)).max()), rel=1e-10)


def test_assumption1_fails_where_a_state_can_be_avoided():
    # action 0 stays, action 1 switches; starting in state 0, staying forever never visits state 1
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = P[0, 1, 1] = P[1, 0, 1] = P[1, 1, 0] = 1.0
    game = bnpg.MarkovGame(P, np.array([[0.0, 1.0], [0.5, 0.2]]), [1.0, 0.0], 0.9)
    v = paper.assumption1(game)
    assert v.measured == 0.0 and v.holds_as_printed is False and v.status == "fails"
    assert math.isinf(v.details["M"])
    # the theorems then say nothing, and say so
    t = paper.theorem1(game, bnpg.DAG.empty(1), 0.5, max_steps=10)
    assert t.hypothesis_met is False and t.status == "undecided" and "Assumption 1" in t.summary


def test_assumption2_against_linear_programs():
    R, K = joint_mdp(GAME)
    v_max = lp_optimal_values(R, K, GAME.gamma)
    v_min = -lp_optimal_values(-R, K, GAME.gamma)
    v = paper.assumption2(GAME)
    assert v.measured == pytest.approx(v_max.max() - v_min.min(), rel=1e-8)
    assert v.bound_printed == pytest.approx((GAME.r_max - GAME.r_min) / (1 - GAME.gamma), rel=1e-15)
    assert v.status == "holds" and v.measured <= v.bound_printed


# -- Lemma 1 --------------------------------------------------------------------------------------


@pytest.mark.parametrize("gamma", [0.0, 0.8])
def test_lemma1_against_finite_differences(gamma):
    game = random_game(9, n_states=2, action_sizes=(2, 3), gamma=gamma)
    dag = bnpg.DAG([[1], []])  # agent 1 acts first
    policy = random_policy(3, game, dag)
    lam = 0.3
    fd = finite_difference(lagrangian_by_series(game, dag, lam), policy.flat())
    expected = float(np.abs(lemma1_printed_by_loops(game, policy, lam) - fd).max() / np.abs(fd).max())
    for reference in ("exact", "finite-differences"):
        v = paper.lemma1(game, policy, lam, reference=reference)
        assert v.measured == pytest.approx(expected, rel=1e-6, abs=1e-8)
        assert v.holds_corrected is True and v.details["corrected_error"] <= 1e-7
    # with gamma = 0 the printed factor 1/(1-gamma) is 1 and the formula is right as printed
    if gamma == 0.0:
        assert expected < 1e-8 and v.status == "holds"
    else:
        assert expected > 0.1 and v.status == "fails as printed"


def test_lemma1_rejects_an_unknown_reference():
    with pytest.raises(ValueError, match="reference"):
        paper.lemma1(GAME, bnpg.BNPolicy(GAME, bnpg.DAG.chain(2)), 0.1, reference="autograd")


# -- Lemmas 2 and 3 --------------------------------------------------------------------------------


def test_lemma2_against_linear_programs_and_enumeration():
    dag = bnpg.DAG([[1], []])
    start = random_policy(4, GAME, dag)
    lam = 0.05
    v = paper.lemma2(GAME, start, lam)
    ds = deterministic_visitations(GAME)
    M = float((ds.max(axis=0) / ds.min(axis=0)).max())
    fd_norm = float(np.linalg.norm(finite_difference(lagrangian_by_series(GAME, dag, lam), v.point.flat())))
    threshold = lam / (2 * 2 * 6 * 3)
    assert v.hypothesis_met is True and fd_norm <= threshold
    assert v.measured == pytest.approx(nash_gap_by_lp(GAME, v.point), rel=1e-6, abs=1e-10)
    assert v.bound_printed == pytest.approx(2 * lam * M, rel=1e-9)
    # sharpened (S2) at the paper's threshold: agent 0 (2 actions) has agent 1's 3 actions as parents
    sharpened = M * max(lam / 2 + (2 * 3 * (1 / 2)) ** 0.5 * threshold, lam * 2 / 3 + (2 * 1 * (2 / 3)) ** 0.5 * threshold)
    assert v.bound_corrected == v.bound_printed
    assert v.bound_sharpened == pytest.approx(sharpened, rel=1e-9) and v.measured <= v.bound_sharpened
    assert v.status == "holds" and v.parameters["method"] == "armijo"
    assert np.array_equal(start.flat(), random_policy(4, GAME, dag).flat())  # not modified


def test_lemma2_from_a_dag_starts_uniform_and_reports_a_missed_threshold():
    v = paper.lemma2(GAME, bnpg.DAG.chain(2), 0.05, max_steps=0)
    assert v.trajectory.n_steps == 0 and np.array_equal(v.point.flat(), np.zeros(v.point.n_params))
    assert v.hypothesis_met is False and v.holds_as_printed is None and v.status == "undecided"
    assert "no point met the threshold" in v.summary


def test_lemma3_against_linear_programs():
    lam = 0.05
    v = paper.lemma3(GAME3, lam)
    R, K = joint_mdp(GAME3)
    optimum = float(GAME3.mu @ lp_optimal_values(R, K, GAME3.gamma))
    ds = deterministic_visitations(GAME3)
    M = float((ds.max(axis=0) / ds.min(axis=0)).max())
    assert v.hypothesis_met is True
    assert v.measured == pytest.approx(optimum - value_of(GAME3, v.point), rel=1e-6, abs=1e-10)
    assert v.bound_printed == pytest.approx(2**4 * 3 * lam * M, rel=1e-9)
    # sharpened (S3) at the paper's threshold lambda / (2 |S| |A| max k): M (lambda (1 - 1/8) + sqrt(2 * 3/2) tau)
    assert v.bound_corrected == v.bound_printed
    assert v.bound_sharpened == pytest.approx(M * (lam * 7 / 8 + 3**0.5 * lam / (2 * 2 * 8 * 2)), rel=1e-9)
    assert v.bound_sharpened < lam * M
    assert v.status == "holds" and v.point.dag.is_fully_correlated
    assert v.details["advantage_ratio"] <= 1.0


def test_lemma3_refuses_a_dag_that_is_not_fully_correlated():
    with pytest.raises(ValueError, match="fully-correlated"):
        paper.lemma3(GAME3, 0.1, start=bnpg.DAG.chain(3))


# -- Lemma 4 ---------------------------------------------------------------------------------------


def test_lemma4_bound_by_hand():
    # 8 N (r_max - r_min) / (1 - gamma)^3 + sum_i 2 lambda / (|S| |A^{P^i}|), chain: |A^{P^i}| = 1, 2
    v = paper.lemma4(GAME, bnpg.DAG.chain(2), 0.2)
    beta = 8 * 2 * (GAME.r_max - GAME.r_min) / 0.2**3 + 2 * 0.2 / 2 * (1 + 1 / 2)
    assert v.bound_printed == pytest.approx(beta, rel=1e-14)
    assert 0 < v.measured <= beta and v.status == "holds"
    assert v.details["slack"] == pytest.approx(beta / v.measured, rel=1e-14)


# -- the theorems ----------------------------------------------------------------------------------


@pytest.mark.parametrize("number", [1, 2])
def test_theorems_against_every_step_inspection(number):
    game = bnpg.games.matching_game(2, 2, gamma=0.5)
    dag = bnpg.DAG.full(2)
    eps = 0.5
    v = paper.theorem1(game, dag, eps) if number == 1 else paper.theorem2(game, eps)
    s = bnpg.theory.constants.theory_setting(game, dag, eps, theorem=number)
    metric = ("nash_gap", "optimality_gap")[number - 1]
    dense = bnpg.gradient_ascent(game, bnpg.BNPolicy(game, dag), lam=s.lam, eta=s.eta, steps=10_000,
                                 metrics=(metric,), stop_below={metric: eps})
    assert v.measured == dense.first_step_below(metric, eps) + 1
    # M = 1 on a one-state game; Theorem 1 printed: 256 N M^2 |S|^2 m^2 R^2 / ((1-g)^4 eps^2) + ...
    if number == 1:
        printed = 256 * 2 * 4 / (0.5**4 * 0.25) + 32 * s.lam * 4 * (1 + 1 / 2) / (0.5 * 0.5)
    else:
        printed = 2**10 * 8 * 16 * 4 / (0.25 * 0.5**4) + 8 * 2 * 16 * 4 * (1 + 1 / 2) / (0.5 * 0.5)
    assert v.bound_printed == pytest.approx(printed, rel=1e-14)
    corrected = 2 * s.beta * 1 / (0.5 * s.threshold**2)
    assert v.bound_corrected == v.details["T_corrected"] == pytest.approx(corrected, rel=1e-14)
    # sharpened thresholds for two binary agents on one state, full DAG: lambda / (2 sqrt 2) (agent 1
    # has two parents' actions) and lambda / 4; the run's lambda is the paper's
    tau = s.lam / (2 * 2**0.5) if number == 1 else s.lam / 4
    assert v.bound_sharpened == v.details["T_sharpened"] == pytest.approx(2 * s.beta * 1 / (0.5 * tau**2), rel=1e-12)
    assert v.bound_sharpened < v.bound_corrected and v.details["lam"] == s.lam
    assert v.status == "holds" and v.holds_corrected is True and v.holds_sharpened is True


def test_theorem_budget_too_small_is_undecided():
    v = paper.theorem1(bnpg.games.climbing_game(gamma=0.5), bnpg.DAG.empty(2), 1.0, max_steps=3)
    assert v.measured is None and v.holds_as_printed is None and v.status == "undecided"
    assert v.details["steps_run"] == 3 and "after 3 steps" in v.summary


def test_theorem_fails_when_the_budget_covers_the_bound(monkeypatch):
    # With a bound of 3 steps and a budget of 5 that is not enough, the bound is refuted.
    monkeypatch.setattr(theorems, "iteration_bound", lambda *args, **kwargs: 3.0)
    monkeypatch.setattr(theorems.sharpened, "sharp_iteration_bound", lambda *args, **kwargs: 3.0)
    v = paper.theorem1(bnpg.games.climbing_game(gamma=0.5), bnpg.DAG.empty(2), 1.0, max_steps=5)
    assert v.measured is None and v.holds_as_printed is False and v.status == "fails"


# -- check and the report --------------------------------------------------------------------------


def test_check_runs_every_statement_with_its_defaults():
    report = paper.check(GAME, max_steps=50_000)
    assert [v.statement for v in report.verdicts] == list(paper.STATEMENTS)
    ds = deterministic_visitations(GAME)
    M = float((ds.max(axis=0) / ds.min(axis=0)).max())
    eps = 0.1 * (GAME.r_max - GAME.r_min) / (1 - GAME.gamma)
    assert report.constants["M"] == pytest.approx(M, rel=1e-10)
    assert report.parameters["eps"] == pytest.approx(eps, rel=1e-15)
    assert report.parameters["lam"] == pytest.approx(eps / (2 * M), rel=1e-10)
    assert report.parameters["dag"] == [[], [0]]
    assert report["lemma-3"].point.dag == bnpg.DAG.full(2)
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert set(data["statements"]) == set(paper.STATEMENTS)
    assert data["constants"]["beta_lambda"] == pytest.approx(
        8 * 2 * (GAME.r_max - GAME.r_min) / 0.2**3 + 2 * report.parameters["lam"] / 2 * (1 + 1 / 2), rel=1e-14)
    assert all(v.status != "fails" for v in report.verdicts if v.statement != "lemma-1")
    assert "lemma-2" in report.table() and report["lemma-1"].status == "fails as printed"
    with pytest.raises(KeyError, match="theorem-3"):
        report["theorem-3"]


@pytest.mark.parametrize(
    "printed, corrected, bound_corrected, status",
    [
        (True, True, 1.0, "holds"),
        (True, None, None, "holds"),
        (False, True, 1.0, "fails as printed"),
        (False, None, 1.0, "fails as printed"),
        (False, None, None, "fails"),
        (False, False, 1.0, "fails"),
        (True, False, 1.0, "corrected form fails"),
        (None, None, 1.0, "undecided"),
    ],
)
def test_verdict_status(printed, corrected, bound_corrected, status):
    v = Verdict(statement="x", title="x", hypothesis_met=True, measured=0.5, bound_printed=1.0,
                bound_corrected=bound_corrected, holds_as_printed=printed, holds_corrected=corrected)
    assert v.status == status
    assert v.to_dict()["status"] == status
