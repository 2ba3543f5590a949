"""The verdicts at the edges of the paper's statements, each case built by hand.

Each expected verdict is read from the statement: Theorem 1 (2) claims that the smallest Nash
(optimality) gap among the iterates t < T is at most eps for every T >= the bound, T counting
iterates (T >= 1); Lemmas 2-3 claim a bound at points meeting a gradient threshold; all of them
assume Assumption 1 (a finite M).
"""

import math

import numpy as np
import pytest

import bnpg
from bnpg import paper
from bnpg.paper import theorems

HALF = 0.5


def one_state(rewards, gamma=HALF):
    """A one-state game with the given reward table (one axis per agent)."""
    r = np.asarray(rewards, dtype=float)[None]
    return bnpg.MarkovGame(np.ones(r.shape + (1,)), r, [1.0], gamma)


def constant_game():
    # two agents with two actions, every reward 1/2: every policy is optimal, r_max - r_min = 0
    return one_state(np.full((2, 2), 0.5))


def test_constant_rewards_theorems_hold_with_bounds_of_zero():
    # bounds of 0 claim min over t < 1 of the gap (the start's gap) is <= eps; it is 0
    game = constant_game()
    for v in (paper.theorem1(game, bnpg.DAG.chain(2), 0.1), paper.theorem2(game, 0.1)):
        assert v.bound_printed == v.bound_corrected == v.bound_sharpened == 0.0
        assert v.measured == 1.0 and v.details["steps_run"] == 0
        assert v.status == "holds" and v.holds_as_printed and v.holds_corrected and v.holds_sharpened
        assert "target met at the start" in v.details["degenerate"]
        assert "all rewards are equal" in v.details["degenerate"]
        assert "observed T = 1" in v.summary and "no step run" in v.summary
        assert "after T = 1 steps" not in v.summary


def test_constant_rewards_lemmas_and_assumptions_hold():
    game = constant_game()
    l2 = paper.lemma2(game, bnpg.DAG.empty(2), 0.1)
    l3 = paper.lemma3(game, 0.1)
    for v in (l2, l3):
        # the uniform start has gradient 0, so it meets the threshold; every gap is 0
        assert v.hypothesis_met is True and v.measured == pytest.approx(0.0, abs=1e-12)
        assert v.status == "holds" and "start meets the threshold" in v.details["degenerate"]
    assert paper.assumption2(game).status == "holds"
    # the printed gradient formula is exact when every advantage is 0
    assert paper.lemma1(game, bnpg.BNPolicy.random(game, bnpg.DAG.chain(2), seed=0), 0.1).status == "holds"


def test_target_met_at_the_start_with_varying_rewards():
    # rewards 1 and 2 on the diagonal: against a uniform partner action 1 earns 1 a step, the uniform
    # policy 3/4, so the uniform Nash gap is (1 - 3/4) / (1 - gamma) = 1/2 <= eps = 0.6
    game = one_state([[1.0, 0.0], [0.0, 2.0]])
    v = paper.theorem1(game, bnpg.DAG.empty(2), 0.6)
    assert v.details["initial_gap"] == pytest.approx(0.5) and v.measured == 1.0
    assert v.details["steps_run"] == 0 and v.bound_printed > 1
    assert v.status == "holds" and v.details["degenerate"] == "target met at the start"


def test_one_agent_theorems_and_lemmas():
    # one agent with two actions and rewards 0, 1: Nash gap = optimality gap; the paper's statements apply
    game = one_state([0.0, 1.0])
    t1, t2 = paper.theorem1(game, bnpg.DAG.empty(1), 0.25), paper.theorem2(game, 0.25)
    assert t1.status == t2.status == "holds" and t1.measured > 1 and t2.measured > 1
    assert "one agent" in t1.details["degenerate"]
    assert paper.lemma2(game, bnpg.DAG.empty(1), 0.1).status == "holds"
    assert paper.lemma3(game, 0.1).status == "holds"


def test_one_agent_without_a_choice():
    # a single action: every policy is optimal, the sharpened theorem needs no lambda
    game = one_state([1.0])
    v = paper.theorem1(game, bnpg.DAG.empty(1), 0.1)
    assert v.status == "holds" and v.measured == 1.0
    assert v.details["lam_sharpened"] is None and v.details["T_sharpened_at_lam_sharpened"] is None
    assert "no agent has a choice" in v.details["degenerate"]


def test_gamma_zero():
    # gamma = 0: values are the expected immediate reward; Lemma 1's factor 1/(1-gamma) is 1
    game = one_state(np.eye(2), gamma=0.0)
    v = paper.lemma1(game, bnpg.BNPolicy.random(game, bnpg.DAG.chain(2), seed=0), 0.1)
    assert v.status == "holds" and "gamma = 0" in v.details["degenerate"]
    assert paper.theorem1(game, bnpg.DAG.chain(2), 0.25).status == "holds"
    assert paper.lemma2(game, bnpg.DAG.empty(2), 0.1).status == "holds"


def unvisited_game():
    # two states, start in state 0 and stay there: state 1 is never visited, Assumption 1 fails
    P = np.zeros((2, 2, 2))
    P[:, :, 0] = 1.0
    return bnpg.MarkovGame(P, np.array([[0.0, 1.0], [0.0, 1.0]]), [1.0, 0.0], HALF)


def test_infinite_M_leaves_the_statements_that_need_it_undecided():
    game = unvisited_game()
    assert paper.assumption1(game).status == "fails"
    for v in (paper.theorem1(game, bnpg.DAG.empty(1), 0.1), paper.theorem2(game, 0.1),
              paper.lemma2(game, bnpg.DAG.empty(1), 0.1), paper.lemma3(game, 0.1)):
        assert math.isinf(v.details["M"]) and v.hypothesis_met is False
        assert v.status == "undecided" and "Assumption 1" in v.details["undecided"]


def test_lemma_threshold_not_reached_is_undecided():
    game = one_state([[1.0, 0.0], [0.0, 2.0]])
    for v in (paper.lemma2(game, bnpg.DAG.empty(2), 0.05, max_steps=0), paper.lemma3(game, 0.05, max_steps=0)):
        assert v.hypothesis_met is False and v.status == "undecided"
        assert "threshold" in v.details["undecided"]


def test_theorem_run_ending_before_the_bound_is_undecided():
    game = one_state([[1.0, 0.0], [0.0, 2.0]])
    v = paper.theorem1(game, bnpg.DAG.empty(2), 0.1, max_steps=2)
    assert v.measured is None and v.status == "undecided" and "max_steps" in v.details["undecided"]


def test_a_late_reported_crossing_is_checked_iterate_by_iterate(monkeypatch):
    # every bound 1 claims the start meets eps; the start's gap is 1/2 > eps, so each form fails
    game = one_state([[1.0, 0.0], [0.0, 2.0]])
    monkeypatch.setattr(theorems, "iteration_bound", lambda *args, **kwargs: 1.0)
    monkeypatch.setattr(theorems.sharpened, "sharp_iteration_bound", lambda *args, **kwargs: 1.0)
    v = paper.theorem1(game, bnpg.DAG.empty(2), 0.25)
    assert v.measured > 1 and v.status == "fails"
    # a bound of 2.5 claims T = 3: the observed T is compared with the integer the claim starts at
    assert theorems.claimed_T(2.5) == 3 and theorems.claimed_T(-4.0) == 1


def test_bound_names_agree_everywhere():
    game = one_state(np.eye(2))
    v = paper.theorem1(game, bnpg.DAG.chain(2), 0.25)
    d = v.to_dict()
    assert d["bound_printed"] == d["details"]["T_printed"]
    assert d["bound_corrected"] == d["details"]["T_corrected"]
    assert d["bound_sharpened"] == d["details"]["T_sharpened"]
    for name, value in (("printed", v.bound_printed), ("corrected", v.bound_corrected), ("sharpened", v.bound_sharpened)):
        assert f"{value:.4g} ({name})" in v.summary
    s = bnpg.theory.constants.theory_setting(game, bnpg.DAG.chain(2), 0.25, theorem=1)
    assert v.bound_sharpened == pytest.approx(bnpg.theory.sharpened.sharp_iteration_bound(
        game, bnpg.DAG.chain(2), 0.25, theorem=1, lam=s.lam), rel=1e-15)
    assert v.details["T_sharpened_at_lam_sharpened"] == pytest.approx(bnpg.theory.sharpened.sharp_iteration_bound(
        game, bnpg.DAG.chain(2), 0.25, theorem=1), rel=1e-15)
    table = paper.Report(verdicts=(v,)).table()
    assert "sharpened bound" in table.splitlines()[0]
