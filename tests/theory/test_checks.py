"""The argument checks the theory and the statements share (bnpg._validation): the game's type, the
mismatch coefficient and the fully-correlated DAG; each error names the argument and the problem,
in every function that checks it."""

from __future__ import annotations

import math

import numpy as np
import pytest

import bnpg
from bnpg._validation import fully_correlated, instance_of, mismatch_value
from bnpg.theory import constants, sharpened
from bnpg.theory.symbolic import bounds

GAME = bnpg.games.matching_game(2, 2, gamma=0.5)


def test_instance_of_names_the_argument_and_both_types():
    assert instance_of("game", GAME, bnpg.MarkovGame) is GAME
    with pytest.raises(TypeError, match="^game must be a MarkovGame, got str$"):
        instance_of("game", "g", bnpg.MarkovGame)
    with pytest.raises(TypeError, match="^policy must be a BNPolicy, got MarkovGame$"):
        instance_of("policy", GAME, bnpg.BNPolicy)


@pytest.mark.parametrize("call", [
    lambda: constants.gradient_threshold("g", 0.1),
    lambda: constants.value_range_bound(None),
    lambda: bnpg.mismatch_coefficient(np.zeros(2)),
    lambda: bnpg.optimal_value(1),
    lambda: bnpg.worst_value("g"),
])
def test_every_function_refuses_a_game_of_the_wrong_type(call):
    with pytest.raises(TypeError, match="^game must be a MarkovGame, got "):
        call()


def test_mismatch_value_names_the_argument():
    assert mismatch_value("M", 1) == 1.0 and isinstance(mismatch_value("M", np.float64(2.5)), float)
    assert mismatch_value("M", math.inf, infinite_ok=True) == math.inf
    with pytest.raises(ValueError, match=r"^M must be >= 1 \(take pi = pi' in its definition\), got 0\.5$"):
        mismatch_value("M", 0.5)
    with pytest.raises(ValueError, match="^M must be > 0"):
        mismatch_value("M", 0)
    with pytest.raises(ValueError, match="^M must be finite"):
        mismatch_value("M", math.inf)
    with pytest.raises(TypeError, match="^M must be a real number"):
        mismatch_value("M", "2")


@pytest.mark.parametrize("call", [
    lambda: constants.lemma2_bound(0.1, 0.5),
    lambda: constants.lemma3_bound(GAME, 0.1, 0.5),
    lambda: constants.theory_setting(GAME, bnpg.DAG.full(2), 0.1, theorem=1, M=0.5),
    lambda: sharpened.sharp_bound(GAME, bnpg.DAG.full(2), 0.1, 0.5, lemma=2),
    lambda: sharpened.sharp_lambda(GAME, bnpg.DAG.full(2), 0.1, 0.5, theorem=1),
    lambda: bounds.game_parameters(GAME, bnpg.DAG.full(2), M=0.5),
    lambda: bnpg.paper.lemma2(GAME, bnpg.DAG.full(2), 0.1, M=0.5, max_steps=1),
])
def test_every_function_refuses_a_mismatch_below_one(call):
    with pytest.raises(ValueError, match=r"^M must be >= 1 \(take pi = pi' in its definition\), got 0\.5$"):
        call()


def test_mismatch_of_computes_or_checks():
    assert constants.mismatch_of(GAME) == bnpg.mismatch_coefficient(GAME)
    assert constants.mismatch_of(GAME, 3) == 3.0
    with pytest.raises(ValueError, match="^M must be >= 1"):
        constants.mismatch_of(GAME, 0.9)


def test_fully_correlated_names_what_needs_it_and_the_argument():
    full = bnpg.DAG.full(3)
    assert fully_correlated("dag", full, needed_by="lemma 3") is full
    pattern = (r"^theorem 2 needs a fully-correlated DAG \(Definition 3\): dag must be fully correlated, "
               r"got DAG\(\[\[\], \[0\], \[1\]\]\) with 2 of 3 edges$")
    with pytest.raises(ValueError, match=pattern):
        fully_correlated("dag", bnpg.DAG.chain(3), needed_by="theorem 2")


@pytest.mark.parametrize("call, needed_by, name", [
    (lambda: sharpened.sharp_threshold(GAME, bnpg.DAG.empty(2), 0.1, lemma=3), "lemma 3", "dag"),
    (lambda: sharpened.sharp_iteration_bound(GAME, bnpg.DAG.empty(2), 0.1, theorem=2, M=1.0), "theorem 2", "dag"),
    (lambda: constants.theory_setting(GAME, bnpg.DAG.empty(2), 0.1, theorem=2), "theorem 2", "dag"),
    (lambda: bounds.game_parameters(GAME, bnpg.DAG.empty(2), theorem=2), "theorem=2", "dag"),
    (lambda: bnpg.paper.lemma3(GAME, 0.1, start=bnpg.DAG.empty(2)), "lemma 3", "start"),
    (lambda: bnpg.theory.telescoped_advantage(GAME, bnpg.BNPolicy(GAME, bnpg.DAG.empty(2)), 0.1),
     "the telescoping identity", "policy.dag"),
])
def test_every_function_refuses_a_dag_that_is_not_fully_correlated(call, needed_by, name):
    with pytest.raises(ValueError, match=rf"^{needed_by} needs a fully-correlated DAG \(Definition 3\): "
                                         rf"{name} must be fully correlated, got DAG"):
        call()
