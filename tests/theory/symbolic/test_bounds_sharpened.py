"""Tests of the sharpened iteration bounds of bnpg.theory.symbolic.bounds against hand derivations and bnpg.theory.sharpened.

The expected expressions are written out by hand, each with its derivation in a comment, and compared
by symbolic equality (``same``); the numbers for concrete games come from bnpg.theory.sharpened and
bnpg.theory.constants, which compute them in floating point without sympy, and are compared to a relative
tolerance of 1e-12 (``close``).
"""

import math

import numpy as np
import pytest
import sympy as sp

import bnpg
from bnpg.games import library as games
from bnpg.theory import constants, sharpened
from bnpg.theory.symbolic import bounds
from bnpg.theory.symbolic.bounds import (
    A_MAX,
    EPS,
    KAPPA,
    LAM,
    RHO,
    SIGMA_K,
    SIGMA_P,
    A,
    H,
    M,
    N,
    R,
    S,
)

REL = 1e-12


def same(a, b) -> bool:
    return sp.simplify(sp.expand(a - b)) == 0


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL, abs_tol=0.0)


# T >= 2 beta R / (tau^2 (1-gamma)) (A.3, A.5). Theorem 1, tau = lam / (|S| kappa):
# T >= 2 beta R |S|^2 kappa^2 / (lam^2 (1-gamma)); lam = eps / (rho M) makes 1/lam^2 = rho^2 M^2 / eps^2.
# beta = 8 N R / (1-gamma)^3 + 2 lam Sigma_P / |S|: the first part gives
# 16 N R^2 |S|^2 kappa^2 rho^2 M^2 / ((1-gamma)^4 eps^2); the second 4 lam Sigma_P R |S| kappa^2 rho^2 M^2
# / (eps^2 (1-gamma)) = 4 Sigma_P R |S| kappa^2 rho M / ((1-gamma) eps).
HAND_T1 = (16 * N * R**2 * S**2 * KAPPA**2 * RHO**2 * M**2 / (H**4 * EPS**2)
           + 4 * SIGMA_P * R * S * KAPPA**2 * RHO * M / (H * EPS))
# Theorem 2, tau = lam / (|S| |A| sqrt(Sigma_k)): tau^2 = lam^2 / (|S|^2 |A|^2 Sigma_k), so the same
# steps with kappa^2 replaced by |A|^2 Sigma_k.
HAND_T2 = (16 * N * R**2 * S**2 * A**2 * SIGMA_K * RHO**2 * M**2 / (H**4 * EPS**2)
           + 4 * SIGMA_P * R * S * A**2 * SIGMA_K * RHO * M / (H * EPS))
HAND = {1: HAND_T1, 2: HAND_T2}


# --------------------------------------------------------------------------------------------
# Symbolic expressions
# --------------------------------------------------------------------------------------------


def test_building_blocks_by_hand():
    assert same(bounds.sharp_threshold_expression(2), LAM / (S * KAPPA))
    assert same(bounds.sharp_threshold_expression(3), LAM / (S * A * sp.sqrt(SIGMA_K)))
    # rho lam M = eps, for either theorem
    assert same(bounds.sharp_lambda_choice(1), EPS / (RHO * M))
    assert same(bounds.sharp_lambda_choice(2), EPS / (RHO * M))


@pytest.mark.parametrize("theorem", [1, 2])
def test_sharpened_iteration_bound_by_hand(theorem):
    derived = bounds.sharpened_iteration_bound(theorem)
    assert same(derived, HAND[theorem])
    # expanded: exactly the two terms, one in R^2 / eps^2 and one in R / eps
    assert isinstance(derived, sp.Add) and len(derived.args) == 2
    assert {sp.degree(t, R) for t in derived.args} == {1, 2}


def test_the_two_theorems_differ():
    # the hand expressions are not interchangeable: the comparison tells the theorems apart
    assert not same(bounds.sharpened_iteration_bound(1), HAND_T2)
    assert not same(bounds.sharpened_iteration_bound(2), HAND_T1)


def test_sharpening_ratio_by_hand():
    # Theorem 1: 16 N R^2 |S|^2 kappa^2 rho^2 M^2 against the corrected 256 N M^2 |S|^2 |A|^2 m^2 R^2
    # (same (1-gamma)^4 eps^2): kappa^2 rho^2 / (16 |A|^2 m^2), m = max_i |A^i|.
    assert same(bounds.sharpening_ratio(1), KAPPA**2 * RHO**2 / (16 * A**2 * A_MAX**2))
    # Theorem 2: 16 N |A|^2 Sigma_k rho^2 against 2^(2N+8) N^3 |A|^2 m^2: Sigma_k rho^2 / (2^(2N+4) N^2 m^2).
    assert same(bounds.sharpening_ratio(2), SIGMA_K * RHO**2 / (2 ** (2 * N + 4) * N**2 * A_MAX**2))


def test_latex_names_the_new_symbols():
    text = bounds.latex(KAPPA**2 * RHO * SIGMA_K)
    assert r"\kappa" in text and r"\rho" in text and r"\Sigma_k" in text
    assert "kappa" not in text.replace(r"\kappa", "")  # no raw symbol name left


# --------------------------------------------------------------------------------------------
# Exact parameters of concrete games (hand-computed)
# --------------------------------------------------------------------------------------------


def test_game_parameters_climbing_game():
    # one state, two agents with 3 actions. Empty DAG: K = (1, 1), kappa = sqrt(3 * 2) = sqrt(6);
    # rho_2 = 1 - 1/3 + sqrt(1 * 1 * (2/3)) / (1 * sqrt(6)) = 2/3 + 1/3 = 1.
    game = games.climbing_game()
    p = bounds.game_parameters(game, bnpg.DAG.empty(2), theorem=1)
    assert p[KAPPA] == sp.sqrt(6) and p[SIGMA_K] == sp.Rational(4, 3) and p[RHO] == 1
    assert p[R] == 41 and p[S] == 1 and p[A] == 9
    # Chain: K = (1, 3), kappa = 3 sqrt(6); agent 0: 2/3 + sqrt(2/3) / (3 sqrt 6) = 2/3 + 1/9;
    # agent 1: 2/3 + sqrt(3 * 2/3) / (3 sqrt 6) = 2/3 + 1/(3 sqrt 3), the larger.
    p = bounds.game_parameters(game, bnpg.DAG.chain(2), theorem=1)
    assert p[KAPPA] == 3 * sp.sqrt(6)
    assert same(p[RHO], sp.Rational(2, 3) + 1 / (3 * sp.sqrt(3)))
    # rho_3 = 1 - 1/|A| + 1/(sqrt(|S|) |A|) = 1 - 1/9 + 1/9 = 1
    assert bounds.game_parameters(game, bnpg.DAG.full(2), theorem=2)[RHO] == 1


def test_game_parameters_matching_and_search_games():
    # matching_game(3, 2), full DAG: K = (1, 2, 4), kappa = 4 sqrt(2), Sigma_k = 3/2;
    # rho_2 = max_i 1/2 + sqrt(K_i / 2) / (4 sqrt 2) = 1/2 + sqrt(4)/8 = 3/4; rho_3 = 1 - 1/8 + 1/8 = 1.
    game = games.matching_game(3, 2)
    p = bounds.game_parameters(game, bnpg.DAG.full(3), theorem=1)
    assert p[KAPPA] == 4 * sp.sqrt(2) and p[SIGMA_K] == sp.Rational(3, 2) and p[RHO] == sp.Rational(3, 4)
    assert bounds.game_parameters(game, bnpg.DAG.full(3), theorem=2)[RHO] == 1
    # search_game(2, 2): four states, two agents with two actions. Empty DAG: kappa = sqrt(2),
    # rho_2 = 1/2 + sqrt(1 * 1 * (1/2) * 4) / (4 sqrt 2) = 1/2 + 1/4. Full DAG: kappa = 2 sqrt(2),
    # rho_2 = 1/2 + sqrt(4 * 2 * (1/2)) / (4 * 2 sqrt 2) = 1/2 + sqrt(2)/8; rho_3 = 1 - 1/4 + 1/(2 * 4).
    game = games.search_game(2, 2)
    assert bounds.game_parameters(game, bnpg.DAG.empty(2), theorem=1)[RHO] == sp.Rational(3, 4)
    p = bounds.game_parameters(game, bnpg.DAG.full(2), theorem=1)
    assert p[KAPPA] == 2 * sp.sqrt(2) and same(p[RHO], sp.Rational(1, 2) + sp.sqrt(2) / 8)
    assert bounds.game_parameters(game, bnpg.DAG.full(2), theorem=2)[RHO] == sp.Rational(7, 8)


def test_game_parameters_kappa_is_the_largest_width():
    # actions (3, 2, 5), edge 0 -> 1: K = (1, 3, 1). Widths K_i sqrt(k_i (k_i - 1)): sqrt(6), 3 sqrt(2)
    # and sqrt(20). Agent 1 has the largest K_i k_i (6 against 3 and 5) but agent 2 the largest width.
    game = games.random_game(1, (3, 2, 5), seed=3)
    p = bounds.game_parameters(game, bnpg.DAG([[], [0], []]), theorem=1)
    assert p[KAPPA] == 2 * sp.sqrt(5)
    # rho_2: agent 2 gives 4/5 + sqrt(4/5) / (2 sqrt 5) = 1, above agent 0's 2/3 + sqrt(2/3) / (2 sqrt 5)
    # and agent 1's 1/2 + sqrt(3/2) / (2 sqrt 5)
    assert p[RHO] == 1 and p[SIGMA_K] == sp.Rational(2, 3) + sp.Rational(1, 2) + sp.Rational(4, 5)


def test_game_parameters_without_theorem_or_choice():
    game = games.matching_game(3, 2)
    p = bounds.game_parameters(game, bnpg.DAG.chain(3))
    assert RHO not in p and KAPPA in p and SIGMA_K in p
    # the keys every earlier caller reads are still there, with the same values
    assert p[N] == 3 and p[S] == 1 and p[A] == 8 and p[A_MAX] == 2 and p[M] == 1
    assert p[SIGMA_P] == 1 + sp.Rational(1, 2) + sp.Rational(1, 2)
    # agents 0 and 2 have one action: kappa and Sigma_k come from agent 1 alone (K_1 = 1, k_1 = 2)
    mixed = bnpg.MarkovGame(np.ones((1, 1, 2, 1, 1)), np.zeros((1, 1, 2, 1)), [1.0], 0.5)
    p = bounds.game_parameters(mixed, bnpg.DAG.chain(3), theorem=1)
    assert p[KAPPA] == sp.sqrt(2) and p[SIGMA_K] == sp.Rational(1, 2)
    # rho_2 = 1/2 + sqrt(1 * 1 * 1/2) / sqrt(2) = 1: the agents without a choice contribute 0
    assert p[RHO] == 1 == sharpened.sharp_factor(mixed, bnpg.DAG.chain(3), lemma=2)
    # no agent has a choice: no threshold is finite, sharp_lambda refuses, the three are left out
    idle = bnpg.MarkovGame(np.ones((1, 1, 1, 1)), np.zeros((1, 1, 1)), [1.0], 0.5)
    p = bounds.game_parameters(idle, bnpg.DAG.full(2), theorem=2)
    assert not {KAPPA, SIGMA_K, RHO} & set(p)
    with pytest.raises(ValueError, match="no agent has a choice"):
        sharpened.sharp_lambda(idle, bnpg.DAG.full(2), 0.1, theorem=2)


# --------------------------------------------------------------------------------------------
# Numbers: the symbolic bound on the game's exact parameters against bnpg.theory.sharpened
# --------------------------------------------------------------------------------------------

CASES = [
    (games.climbing_game(), "empty"), (games.climbing_game(), "chain"), (games.climbing_game(), "full"),
    (games.matching_game(3, 2), "empty"), (games.matching_game(3, 2), "chain"),
    (games.matching_game(3, 2), "full"),
    (games.random_game(2, (2, 3), seed=7), "empty"), (games.random_game(2, (2, 3), seed=7), "chain"),
    (games.random_game(3, (3, 2, 2), seed=11, gamma=0.6), "full"),
    (games.search_game(2, 2), "empty"), (games.search_game(2, 2), "full"),
    (games.random_game(1, (3, 2, 5), seed=3), "0->1"),
]
DAGS = {"empty": bnpg.DAG.empty, "chain": bnpg.DAG.chain, "full": bnpg.DAG.full,
        "0->1": lambda n: bnpg.DAG([[], [0], []])}


def theorems_for(dag):
    return (1, 2) if dag.is_fully_correlated else (1,)


def ids(case):
    game, dag = case
    return f"{game.n_states}s-{'x'.join(map(str, game.action_sizes))}-{dag}"


def evaluate(expr, game, dag, eps, theorem, M=None) -> float:
    values = bounds.game_parameters(game, dag, theorem=theorem, M=M)
    values[EPS] = sp.Rational(eps)
    out = expr.subs(values)
    assert not out.free_symbols, out.free_symbols
    return float(out)


def test_cases_cover_both_theorems_and_every_dag():
    kinds = {(kind, t) for game, kind in CASES for t in theorems_for(DAGS[kind](game.n_agents))}
    assert {("empty", 1), ("chain", 1), ("full", 1), ("full", 2)} <= kinds
    assert any(not DAGS[k](g.n_agents).is_fully_correlated for g, k in CASES)  # a chain of 3


@pytest.mark.parametrize("case", CASES, ids=ids)
@pytest.mark.parametrize("eps", [0.05, 1.7])
def test_symbolic_bound_matches_sharpened_numbers(case, eps):
    game, kind = case
    dag = DAGS[kind](game.n_agents)
    for theorem in theorems_for(dag):
        symbolic = evaluate(bounds.sharpened_iteration_bound(theorem), game, dag, eps, theorem)
        number = sharpened.sharp_iteration_bound(game, dag, eps, theorem=theorem)
        assert close(symbolic, number), (theorem, symbolic, number)


def test_symbolic_bound_with_a_given_M():
    game, dag = games.random_game(2, (2, 3), seed=7), bnpg.DAG.chain(2)
    symbolic = evaluate(bounds.sharpened_iteration_bound(1), game, dag, 0.3, 1, M=2.5)
    assert close(symbolic, sharpened.sharp_iteration_bound(game, dag, 0.3, theorem=1, M=2.5))
    # rho also matches sharp_factor on its own
    rho = float(bounds.game_parameters(game, dag, theorem=1)[RHO])
    assert close(rho, sharpened.sharp_factor(game, dag, lemma=2))


def leading_coefficient(bound, eps: float) -> float:
    # every bound here is a/eps^2 + b/eps, so f(eps) = eps^2 T(eps) = a + b eps and a = 2 f(eps) - f(2 eps)
    return 2 * eps**2 * bound(eps) - (2 * eps) ** 2 * bound(2 * eps)


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_sharpening_ratio_matches_the_numbers(case):
    game, kind = case
    dag = DAGS[kind](game.n_agents)
    for theorem in theorems_for(dag):
        def sharp(e, theorem=theorem):
            return sharpened.sharp_iteration_bound(game, dag, e, theorem=theorem)

        def corrected(e, theorem=theorem):
            return constants.iteration_bound(game, dag, e, theorem=theorem, form="corrected")

        numeric = leading_coefficient(sharp, 1e-3) / leading_coefficient(corrected, 1e-3)
        symbolic = evaluate(bounds.sharpening_ratio(theorem), game, dag, 1.0, theorem)
        assert close(numeric, symbolic), (theorem, numeric, symbolic)
        # the whole bounds at one eps: the ratio of the two symbolic expressions, evaluated
        whole = bounds.sharpened_iteration_bound(theorem) / bounds.derived_iteration_bound(theorem)
        assert close(sharp(0.2) / corrected(0.2), evaluate(whole, game, dag, 0.2, theorem))


@pytest.mark.parametrize("case", CASES, ids=ids)
@pytest.mark.parametrize("eps", [0.01, 0.5, 3.0])
def test_sharpened_bound_is_smaller_than_the_corrected_one(case, eps):
    game, kind = case
    dag = DAGS[kind](game.n_agents)
    m = max(game.action_sizes)
    for theorem in theorems_for(dag):
        sharp = sharpened.sharp_iteration_bound(game, dag, eps, theorem=theorem)
        assert sharp < constants.iteration_bound(game, dag, eps, theorem=theorem, form="corrected")
        ratio = float(bounds.sharpening_ratio(theorem).subs(bounds.game_parameters(game, dag, theorem=theorem)))
        # kappa < |A| (K_i k_i <= |A|), Sigma_k < N and rho <= 1 bound the leading ratio
        cap = 1 / (16 * m**2) if theorem == 1 else 1 / (2 ** (2 * game.n_agents + 4) * game.n_agents * m**2)
        assert 0 < ratio < cap


# --------------------------------------------------------------------------------------------
# Planted errors: the comparisons above tell a wrong constant from the right one
# --------------------------------------------------------------------------------------------

PLANTED = {
    "16 halved": (8 * N * R**2 * S**2 * KAPPA**2 * RHO**2 * M**2 / (H**4 * EPS**2)
                  + 4 * SIGMA_P * R * S * KAPPA**2 * RHO * M / (H * EPS)),
    "4 halved": (16 * N * R**2 * S**2 * KAPPA**2 * RHO**2 * M**2 / (H**4 * EPS**2)
                 + 2 * SIGMA_P * R * S * KAPPA**2 * RHO * M / (H * EPS)),
    "rho^2 as rho": (16 * N * R**2 * S**2 * KAPPA**2 * RHO * M**2 / (H**4 * EPS**2)
                     + 4 * SIGMA_P * R * S * KAPPA**2 * RHO * M / (H * EPS)),
}


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_planted_error_is_caught_symbolically(name):
    planted = PLANTED[name]
    assert not same(planted, HAND_T1)
    assert not same(planted, bounds.sharpened_iteration_bound(1))
    # the correct bound written in another form is still recognised
    assert same(sp.factor(HAND_T1), bounds.sharpened_iteration_bound(1))


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_planted_error_is_caught_numerically(name):
    # on a game with rho < 1 every planted bound misses sharp_iteration_bound by far more than REL
    game, dag, eps = games.random_game(2, (2, 3), seed=7), bnpg.DAG.chain(2), 0.05
    rho = bounds.game_parameters(game, dag, theorem=1)[RHO]
    # kappa = 2 sqrt 6 (agent 1: K = 2, k = 3); agent 1: 2/3 + sqrt(2 * 2 * 2/3) / (2 * 2 sqrt 6) = 2/3 + 1/6
    assert rho == sp.Rational(5, 6)
    number = sharpened.sharp_iteration_bound(game, dag, eps, theorem=1)
    assert close(evaluate(HAND_T1, game, dag, eps, 1), number)
    assert not close(evaluate(PLANTED[name], game, dag, eps, 1), number)


def test_rho_squared_needs_a_game_with_rho_below_one():
    # with rho = 1 (climbing game, empty DAG) rho^2 and rho agree in value: only the symbolic
    # comparison, or a game with rho < 1 as above, catches that planted error
    game, dag = games.climbing_game(), bnpg.DAG.empty(2)
    number = sharpened.sharp_iteration_bound(game, dag, 0.05, theorem=1)
    assert close(evaluate(PLANTED["rho^2 as rho"], game, dag, 0.05, 1), number)
    assert not close(evaluate(PLANTED["16 halved"], game, dag, 0.05, 1), number)


def test_planted_ratio_is_caught():
    planted = KAPPA**2 * RHO**2 / (8 * A**2 * A_MAX**2)
    assert not same(planted, bounds.sharpening_ratio(1))
    game, dag = games.climbing_game(), bnpg.DAG.chain(2)
    value = float(planted.subs(bounds.game_parameters(game, dag, theorem=1)))
    assert not close(value, float(bounds.sharpening_ratio(1).subs(bounds.game_parameters(game, dag, theorem=1))))


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad, error", [(4, ValueError), (1, ValueError), (True, TypeError),
                                        (2.0, TypeError), ("2", TypeError)])
def test_sharp_threshold_refuses_bad_lemma(bad, error):
    with pytest.raises(error, match="lemma"):
        bounds.sharp_threshold_expression(bad)


@pytest.mark.parametrize("function", [bounds.sharp_lambda_choice, bounds.sharpened_iteration_bound,
                                      bounds.sharpening_ratio])
@pytest.mark.parametrize("bad, error", [(3, ValueError), (0, ValueError), (True, TypeError),
                                        (1.0, TypeError)])
def test_theorem_functions_refuse_bad_theorem(function, bad, error):
    with pytest.raises(error, match="theorem"):
        function(bad)


def test_game_parameters_refuses_bad_theorem():
    game = games.matching_game(3, 2)
    with pytest.raises(ValueError, match="theorem"):
        bounds.game_parameters(game, bnpg.DAG.full(3), theorem=3)
    with pytest.raises(TypeError, match="theorem"):
        bounds.game_parameters(game, bnpg.DAG.full(3), theorem=True)
    with pytest.raises(ValueError, match="theorem=2 needs a fully-correlated DAG"):
        bounds.game_parameters(game, bnpg.DAG.chain(3), theorem=2)
    with pytest.raises(ValueError, match="M must be >= 1"):
        bounds.game_parameters(game, bnpg.DAG.full(3), theorem=1, M=0.5)
