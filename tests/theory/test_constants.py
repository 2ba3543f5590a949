"""Tests of bnpg.theory.constants: the paper's constants as numbers, by hand and against bnpg.theory.symbolic.bounds' sympy forms."""

import numpy as np
import pytest
import sympy as sp

import bnpg
from bnpg.theory import constants
from bnpg.theory.symbolic import bounds
from bnpg.theory.symbolic.bounds import A_MAX, EPS, LAM, SIGMA_A, SIGMA_P, A, H, M, N, R, S
from tests.conftest import random_game


@pytest.fixture
def matching_game():
    """One state, two agents with two actions, reward 1 on matching actions, gamma = 1/2 (M = 1)."""
    return bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.5)


def test_iteration_bound_matching_game_by_hand(matching_game):
    # N = 2, |S| = 1, |A| = 4, m = 2, R = 1, 1-gamma = 1/2, M = 1 (one state: d = 2 for every policy),
    # chain DAG: Sigma_P = 1 + 1/2. eps = 1.
    dag = bnpg.DAG.chain(2)
    # Theorem 1 printed: 256*2*4/(1/16) + 16*1*4*1.5/(1/2) = 32768 + 192
    assert constants.iteration_bound(matching_game, dag, 1.0, theorem=1, form="printed") == 32960.0
    # Theorem 1 re-derived: 256*2*16*4*16 + 32*16*4*1.5*2 = 524288 + 6144
    assert constants.iteration_bound(matching_game, dag, 1.0, theorem=1, form="corrected") == 530432.0
    # Theorem 2 printed: 2^10*8*16*4*16 + 8*2*16*4*1.5*2 = 8388608 + 3072
    assert constants.iteration_bound(matching_game, dag, 1.0, theorem=2, form="printed") == 8391680.0
    # Theorem 2 re-derived: 2^12*8*16*4*16 + 2^7*2*16*4*1.5*2 = 33554432 + 49152
    assert constants.iteration_bound(matching_game, dag, 1.0, theorem=2, form="corrected") == 33603584.0
    # M = None computes M = 1 for this game
    assert constants.iteration_bound(matching_game, dag, 1.0, theorem=1, form="printed", M=1.0) == 32960.0


def test_iteration_bound_multistate_by_hand():
    rng = np.random.default_rng(5)
    sizes = (2, 3, 2)
    P = rng.dirichlet(np.ones(3), size=(3, *sizes))
    r = rng.uniform(-1.0, 2.0, size=(3, *sizes))
    game = bnpg.MarkovGame(P, r, rng.dirichlet(np.ones(3)), 0.8)
    dag = bnpg.DAG([[2], [0, 2], []])  # parents' action counts: 2, 4, 1
    Mv, eps = 2.5, 0.3
    n, s, a, m = 3, 3, 12, 3
    rr = float(r.max() - r.min())
    h = 1 - 0.8
    sig_p = 1 / 2 + 1 / 4 + 1
    t1_printed = (256 * n * Mv**2 * s**2 * m**2 * rr**2 / (h**4 * eps**2)
                  + 32 * (eps / (2 * Mv)) * Mv * s * m**2 * sig_p * rr / (h * eps))
    t1_derived = (256 * n * Mv**2 * s**2 * a**2 * m**2 * rr**2 / (h**4 * eps**2)
                  + 32 * Mv * s * a**2 * m**2 * sig_p * rr / (eps * h))
    got = constants.iteration_bound(game, dag, eps, theorem=1, form="printed", M=Mv)
    assert got == pytest.approx(t1_printed, rel=1e-12)
    got = constants.iteration_bound(game, dag, eps, theorem=1, form="corrected", M=Mv)
    assert got == pytest.approx(t1_derived, rel=1e-12)
    full = bnpg.DAG.full(3)  # parents' action counts: 1, 2, 6
    sig_full = 1 + 1 / 2 + 1 / 6
    t2_printed = (2**11 * n**3 * Mv**2 * s**2 * a**2 * m**2 * rr**2 / (eps**2 * h**4)
                  + 8 * n * Mv * s * a**2 * m**2 * rr * sig_full / (eps * h))
    t2_derived = (2**14 * n**3 * Mv**2 * s**2 * a**2 * m**2 * rr**2 / (eps**2 * h**4)
                  + 2**8 * n * Mv * s * a**2 * m**2 * rr * sig_full / (eps * h))
    assert constants.iteration_bound(game, full, eps, theorem=2, form="printed", M=Mv) == pytest.approx(t2_printed, rel=1e-12)
    assert constants.iteration_bound(game, full, eps, theorem=2, form="corrected", M=Mv) == pytest.approx(t2_derived, rel=1e-12)
    # M = None uses the exact mismatch coefficient
    exact_m = bnpg.mismatch_coefficient(game)
    assert constants.iteration_bound(game, dag, eps, theorem=1, form="corrected") == pytest.approx(
        constants.iteration_bound(game, dag, eps, theorem=1, form="corrected", M=exact_m), rel=1e-15)


def test_game_parameters(matching_game):
    p = bounds.game_parameters(matching_game, bnpg.DAG.empty(2))
    assert p[N] == 2 and p[S] == 1 and p[A] == 4 and p[A_MAX] == 2
    assert p[SIGMA_P] == 2 and p[SIGMA_A] == 1 and p[R] == 1 and p[H] == sp.Rational(1, 2)
    assert p[M] == 1


GAMES = [
    (random_game(1, n_states=2, action_sizes=(2, 3), gamma=0.7), bnpg.DAG.chain(2)),
    (random_game(2, n_states=3, action_sizes=(2, 3, 2), gamma=0.9), bnpg.DAG([[2], [0, 2], []])),
    (random_game(3, n_states=1, action_sizes=(3, 3, 2), gamma=0.0), bnpg.DAG.full(3)),
    (random_game(4, n_states=4, action_sizes=(4, 2), gamma=0.99), bnpg.DAG.empty(2)),
]


@pytest.mark.parametrize("game, dag", GAMES)
@pytest.mark.parametrize("eps", [0.05, 1.7])
def test_numbers_agree_with_the_symbolic_forms(game, dag, eps):
    # the floating-point formulas of bnpg.theory.constants against bnpg.theory.symbolic.bounds' sympy expressions, evaluated
    # exactly on the game's rational parameters
    values = bounds.game_parameters(game, dag)
    values[EPS] = sp.Rational(eps)
    exact = {sym: float(val) for sym, val in values.items()}
    Mv = exact[M]
    lam = {1: float(bounds.lambda_choice(1).subs(values)), 2: float(bounds.lambda_choice(2).subs(values))}
    assert constants.lambda_choice(game, eps, Mv, theorem=1) == pytest.approx(lam[1], rel=1e-14)
    assert constants.lambda_choice(game, eps, Mv, theorem=2) == pytest.approx(lam[2], rel=1e-14)
    for form, sym_form in (("lemma4", "lemma4"), ("A.3", "A.3")):
        beta = float(bounds.beta_lambda(sym_form).subs(values).subs(LAM, sp.Rational(lam[1])))
        assert constants.smoothness_bound(game, dag, lam[1], form=form) == pytest.approx(beta, rel=1e-13)
    tau = float(bounds.gradient_threshold_expression("lemma").subs(values).subs(LAM, sp.Rational(lam[1])))
    assert constants.gradient_threshold(game, lam[1]) == pytest.approx(tau, rel=1e-14)
    for theorem in (1, 2):
        if theorem == 2 and not dag.is_fully_correlated:
            continue
        for form, printed in (("printed", True), ("corrected", False)):
            symbolic = float(bounds.iteration_bound_expression(theorem, printed).subs(values))
            got = constants.iteration_bound(game, dag, eps, theorem=theorem, form=form)
            assert got == pytest.approx(symbolic, rel=1e-12)


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def test_lemma_bounds_by_hand(matching_game):
    assert constants.gradient_threshold(matching_game, 0.16) == 0.16 / (2 * 1 * 4 * 2)
    assert constants.lemma2_bound(0.25, 3.0) == 1.5
    # 2^(N+1) N lambda M with N = 2: 16 lambda M
    assert constants.lemma3_bound(matching_game, 0.25, 3.0) == 12.0
    # 16 agents with one action and one with two: E11's condition sqrt(N) <= 2 max_i |A^i| fails
    # (N = 17 > 16), the sharpened one counts only choices: sum_i (1 - 1/|A^i|) = 1/2 <= 16
    many = bnpg.MarkovGame(np.ones((1,) + (1,) * 16 + (2, 1)), np.zeros((1,) + (1,) * 16 + (2,)), [1.0], 0.5)
    assert many.n_agents == 17 and bnpg.theory.sharpened.paper_threshold_within(many)
    assert constants.lemma3_bound(many, 0.1, 1.0) == 2.0**18 * 17 * 0.1
    assert constants.value_range_bound(matching_game) == 2.0
    assert constants.parent_action_counts(matching_game, bnpg.DAG.chain(2)) == (1, 2)


def test_corrected_bound_with_a_gain_by_hand(matching_game):
    # 2 beta G / tau^2; Theorem 1, eps = 1/2, product DAG: lambda = 1/4, beta = 129, tau = 1/64
    dag = bnpg.DAG.empty(2)
    assert constants.iteration_bound(matching_game, dag, 0.5, theorem=1, form="corrected", gain=2.0) == 2 * 129 * 2 * 64**2
    # with the proofs' gain R / (1 - gamma) = 2 it is the corrected bound
    assert constants.iteration_bound(matching_game, dag, 0.5, theorem=1, form="corrected") == 2 * 129 * 2 * 64**2
    with pytest.raises(ValueError, match="gain"):
        constants.iteration_bound(matching_game, dag, 0.5, theorem=1, gain=2.0)


def test_validation(matching_game):
    dag = bnpg.DAG.chain(2)
    with pytest.raises(ValueError, match="eps"):
        constants.iteration_bound(matching_game, dag, 0.0, theorem=1, form="printed")
    with pytest.raises(ValueError, match="eps"):
        constants.iteration_bound(matching_game, dag, -1.0, theorem=1, form="printed")
    with pytest.raises(ValueError, match="theorem"):
        constants.iteration_bound(matching_game, dag, 1.0, theorem=3, form="printed")
    with pytest.raises(TypeError, match="theorem"):
        constants.iteration_bound(matching_game, dag, 1.0, theorem="1", form="printed")
    with pytest.raises(ValueError, match="form"):
        constants.iteration_bound(matching_game, dag, 1.0, theorem=1, form="sharpened")
    with pytest.raises(ValueError, match="form"):
        constants.smoothness_bound(matching_game, dag, 1.0, form="A.5")
    with pytest.raises(ValueError, match="lam"):
        constants.gradient_threshold(matching_game, -1.0)
    with pytest.raises(TypeError, match="game"):
        constants.gradient_threshold("game", 0.1)
    with pytest.raises(ValueError, match="M"):
        constants.iteration_bound(matching_game, dag, 1.0, theorem=1, form="printed", M=0.5)
    with pytest.raises(ValueError, match="agents"):
        constants.iteration_bound(matching_game, bnpg.DAG.chain(3), 1.0, theorem=1, form="printed")
    with pytest.raises(TypeError, match="dag"):
        constants.iteration_bound(matching_game, [[], [0]], 1.0, theorem=1, form="printed")
    with pytest.raises(TypeError, match="game"):
        constants.iteration_bound(None, dag, 1.0, theorem=1, form="printed")


def test_theorem2_requires_a_fully_correlated_dag():
    game = bnpg.MarkovGame(np.ones((1, 2, 2, 2, 1)), np.arange(8.0).reshape(1, 2, 2, 2), [1.0], 0.5)
    with pytest.raises(ValueError, match="fully-correlated"):
        constants.iteration_bound(game, bnpg.DAG.chain(3), 1.0, theorem=2, form="printed")
    # Theorem 1 accepts any DAG; a reversed complete DAG is fully correlated
    constants.iteration_bound(game, bnpg.DAG.chain(3), 1.0, theorem=1, form="printed")
    reversed_full = bnpg.DAG([[1, 2], [2], []])
    # parents' action counts 4, 2, 1 as for DAG.full(3) up to order: the same bound
    assert constants.iteration_bound(game, reversed_full, 1.0, theorem=2, form="printed") == constants.iteration_bound(
        game, bnpg.DAG.full(3), 1.0, theorem=2, form="printed") > 0


def test_assumption1_failure_is_refused():
    # state 1 is never entered: mu = (1, 0) and every transition goes to state 0, so d(1) = 0
    P = np.zeros((2, 2, 2))
    P[..., 0] = 1.0
    game = bnpg.MarkovGame(P, np.array([[0.0, 1.0], [0.0, 1.0]]), [1.0, 0.0], 0.5)
    with pytest.raises(ValueError, match="Assumption 1"):
        constants.iteration_bound(game, bnpg.DAG.empty(1), 1.0, theorem=1, form="printed")
