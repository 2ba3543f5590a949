"""Tests of bnpg.theory.symbolic.bounds and bnpg.theory.symbolic.audit: the re-derived iteration bounds and the audit verdicts.

The expected expressions are written out here by hand, each with its derivation in a comment, and
compared with bnpg's by symbolic equality; the expected verdicts follow from those hand derivations.
The numbers for concrete games are in tests/theory/test_constants.py.
"""

import numpy as np
import pytest
import sympy as sp

from bnpg.theory.symbolic import audit, bounds
from bnpg.theory.symbolic.bounds import (
    A_I,
    A_MAX,
    A_P,
    BETA,
    EPS,
    ETA,
    LAM,
    SIGMA_A,
    SIGMA_P,
    A,
    H,
    M,
    N,
    R,
    S,
)


def same(a, b) -> bool:
    return sp.simplify(sp.expand(a - b)) == 0


@pytest.fixture(scope="module")
def audit1():
    return {c.label: c for c in audit.audit_theorem(1)}


@pytest.fixture(scope="module")
def audit2():
    return {c.label: c for c in audit.audit_theorem(2)}


@pytest.fixture(scope="module")
def lemma_checks():
    return {c.label: c for c in audit.audit_lemmas()}


# --------------------------------------------------------------------------------------------
# Re-derived expressions
# --------------------------------------------------------------------------------------------


def test_theorem1_rederived_by_hand():
    # T >= 2 beta R / (tau^2 (1-gamma)) with tau = lam / (2 |S| |A| m) gives
    # T >= 8 beta |S|^2 |A|^2 m^2 R / (lam^2 (1-gamma)); lam = eps / (2M) turns 1/lam^2 into
    # 4 M^2 / eps^2, i.e. 32 M^2 |S|^2 |A|^2 m^2 beta R / (eps^2 (1-gamma)). With
    # beta = 8 N R / (1-gamma)^3 + 2 lam Sigma_P / |S|: the first term is 256 N M^2 |S|^2 |A|^2 m^2 R^2
    # / ((1-gamma)^4 eps^2); the second is 64 lam M^2 |S| |A|^2 m^2 Sigma_P R / (eps^2 (1-gamma))
    # = 32 M |S| |A|^2 m^2 Sigma_P R / (eps (1-gamma)).
    hand = (256 * N * M**2 * S**2 * A**2 * A_MAX**2 * R**2 / (H**4 * EPS**2)
            + 32 * M * S * A**2 * A_MAX**2 * SIGMA_P * R / (EPS * H))
    assert same(bounds.iteration_bound_expression(1, as_printed=False), hand)
    assert same(bounds.derived_iteration_bound(1), hand)


def test_theorem2_rederived_by_hand():
    # Same route with lam = eps / (2^(N+1) N M): 1/lam^2 = 2^(2N+2) N^2 M^2 / eps^2, so
    # T >= 2^(2N+5) N^2 M^2 |S|^2 |A|^2 m^2 beta R / (eps^2 (1-gamma)). The beta term 8 N R/(1-gamma)^3
    # gives 2^(2N+8) N^3 ...; the term 2 lam Sigma_P / |S| gives 2^(2N+6) lam N^2 M^2 |S| ... / eps^2
    # = 2^(N+5) N M |S| |A|^2 m^2 Sigma_P R / (eps (1-gamma)).
    hand = (2 ** (2 * N + 8) * N**3 * M**2 * S**2 * A**2 * A_MAX**2 * R**2 / (EPS**2 * H**4)
            + 2 ** (N + 5) * N * M * S * A**2 * A_MAX**2 * SIGMA_P * R / (EPS * H))
    assert same(bounds.iteration_bound_expression(2, as_printed=False), hand)


def test_printed_expressions_with_the_proofs_lambda():
    # Theorem 1 prints ... + 32 lam M |S| m^2 Sigma_P R / ((1-gamma) eps); with lam = eps/(2M) the
    # second term is 16 |S| m^2 Sigma_P R / (1-gamma). Theorem 2 prints no lambda.
    t1 = (256 * N * M**2 * S**2 * A_MAX**2 * R**2 / (H**4 * EPS**2)
          + 16 * S * A_MAX**2 * SIGMA_P * R / H)
    t2 = (2 ** (N + 8) * N**3 * M**2 * S**2 * A**2 * A_MAX**2 * R**2 / (EPS**2 * H**4)
          + 8 * N * M * S * A**2 * A_MAX**2 * R * SIGMA_P / (EPS * H))
    assert same(bounds.iteration_bound_expression(1, as_printed=True), t1)
    assert same(bounds.iteration_bound_expression(2, as_printed=True), t2)


def test_derivation_with_the_a3_threshold_and_beta():
    # tau = lam / (2 |S| m): T >= 8 beta |S|^2 m^2 R / (lam^2 (1-gamma)); with A.3's beta the lambda
    # term gives 64 lam M^2 |S| m^2 Sigma_A R / (eps^2 (1-gamma)) = 32 M |S| m^2 Sigma_A R / (eps (1-gamma)).
    hand = (256 * N * M**2 * S**2 * A_MAX**2 * R**2 / (H**4 * EPS**2)
            + 32 * M * S * A_MAX**2 * SIGMA_A * R / (EPS * H))
    assert same(bounds.derived_iteration_bound(1, threshold="A.3", beta_form="A.3"), hand)


def test_building_blocks():
    assert same(bounds.beta_lambda("lemma4"), 8 * N * R / H**3 + 2 * LAM * SIGMA_P / S)
    assert same(bounds.beta_lambda("A.3"), 8 * N * R / H**3 + 2 * LAM * SIGMA_A / S)
    assert same(bounds.gradient_threshold_expression("lemma"), LAM / (2 * S * A * A_MAX))
    assert same(bounds.gradient_threshold_expression("A.3"), LAM / (2 * S * A_MAX))
    assert same(bounds.lambda_choice_expression(1), EPS / (2 * M))
    assert same(bounds.lambda_choice_expression(2), EPS / (2 ** (N + 1) * N * M))
    tau = sp.Symbol("tau", positive=True)
    # sqrt(2 beta R / (T (1-gamma))) <= tau  <=>  T >= 2 beta R / (tau^2 (1-gamma))
    assert same(bounds.solve_for_iterations(tau), 2 * BETA * R / (tau**2 * H))


def test_step_size_factor_by_hand():
    # gain per step eta (1 - beta eta / 2) |g|^2; T min|g|^2 <= (L* - L0) / (eta (1 - beta eta/2));
    # divided by 2 beta (L* - L0): 1 / (beta eta (2 - beta eta)).
    assert same(bounds.step_size_factor(), 1 / (BETA * ETA * (2 - BETA * ETA)))
    assert bounds.step_size_factor().subs(ETA, 1 / (2 * BETA)) == sp.Rational(4, 3)


def test_step_size_below_one_over_beta_breaks_the_printed_inequality():
    # f(x) = -(beta/2) x^2 is beta-smooth with sup f = 0. Ascent with eta = c / beta gives
    # x_t = (1-c)^t x_0 and |f'(x_t)|^2 = beta^2 x_0^2 (1-c)^(2t). A.3's inequality claims
    # min_{t<T} |f'|^2 <= 2 beta (f* - f(x_0)) / T = beta^2 x_0^2 / T.
    beta, x0, c, T = 3.0, 1.0, 0.05, 10
    xs = x0 * (1 - c) ** np.arange(T)
    min_sq = float(np.min((beta * xs) ** 2))
    printed_rhs = 2 * beta * (0.0 - (-(beta / 2) * x0**2)) / T
    assert min_sq > printed_rhs  # 0.95^18 = 0.397 > 1/10: violated for eta = 1/(20 beta) <= 1/beta
    factor = float(bounds.step_size_factor().subs({ETA: c / beta, BETA: beta}))
    assert factor == pytest.approx(1 / (c * (2 - c)), rel=1e-14)
    assert min_sq <= factor * printed_rhs  # the corrected inequality holds
    # at eta = 1/beta (c = 1) the first step lands on the maximiser: min_{t<T} |f'|^2 is beta^2 x_0^2
    # at T = 1, equal to the printed bound, and 0 from T = 2 on: the printed inequality holds
    for horizon in range(1, 6):
        xs_exact = x0 * (1 - 1.0) ** np.arange(horizon)
        bound = 2 * beta * (beta / 2) * x0**2 / horizon
        assert float(np.min((beta * xs_exact) ** 2)) <= bound
    assert float((beta * x0) ** 2) == 2 * beta * (beta / 2) * x0**2  # equality at T = 1


# --------------------------------------------------------------------------------------------
# Audit verdicts (expected from the hand derivations above and in bnpg/theory/symbolic/bounds.py's docstrings)
# --------------------------------------------------------------------------------------------

THEOREM1_VERDICTS = {
    "threshold imposed in A.3 vs Lemma 2's": "fails",  # lacks the factor 1/|A|
    "A.3: solving for T": "holds",
    "A.3: lambda = eps/(2M) substituted": "holds",
    "A.3: beta_lambda expanded": "holds",
    "A.3: lambda removed from the second term": "fails",  # a lambda is left over
    "beta_lambda of A.3 vs Lemma 4": "fails",  # |A^i| in place of |A^{P^i}|
    "Theorem 1 statement vs A.3's last line": "fails",  # Sigma_P vs Sigma_A
    "Theorem 1 statement vs derivation with A.3's threshold": "fails",
    "Theorem 1 statement vs re-derived bound": "fails",
}

THEOREM2_VERDICTS = {
    "threshold imposed in A.5 vs Lemma 3's": "holds",
    "A.5: solving for T": "holds",
    "A.5: lambda = eps/(2^(N+1) N M) substituted": "fails",  # (2^(N+1))^2 = 2^(2N+2), not 2^(N+1)
    "A.5: beta_lambda expanded": "holds",
    "A.5: lambda removed from the second term": "fails",  # 32, not 8
    "Theorem 2 statement vs A.5's last line": "holds",
    "Theorem 2 statement vs re-derived bound": "fails",
}


def test_theorem1_verdicts(audit1):
    assert {k: c.verdict for k, c in audit1.items()} == THEOREM1_VERDICTS


def test_theorem2_verdicts(audit2):
    assert {k: c.verdict for k, c in audit2.items()} == THEOREM2_VERDICTS


def test_comparison_outcomes_are_the_audits_own_vocabulary(audit1, audit2, lemma_checks):
    outcomes = {c.verdict for checks in (audit1, audit2, lemma_checks) for c in checks.values()}
    assert outcomes == set(audit.COMPARISON_OUTCOMES) == {"holds", "valid but loose", "fails"}
    assert not hasattr(audit, "VERDICTS")


def test_symbolic_names_differ_from_the_numeric_ones():
    from bnpg.theory import constants, sharpened

    for name in ("gradient_threshold", "sharp_threshold"):
        assert not hasattr(bounds, name)
        assert hasattr(constants, name) or hasattr(sharpened, name)
    assert bounds.lambda_choice is bounds.lambda_choice_expression


def test_theorem1_ratios(audit1):
    assert same(audit1["threshold imposed in A.3 vs Lemma 2's"].ratio, A)
    stray = audit1["A.3: lambda removed from the second term"].term_ratios
    assert same(stray[R], LAM) and same(stray[R**2], 1)
    beta = audit1["beta_lambda of A.3 vs Lemma 4"]
    assert same(beta.difference, 2 * LAM * (SIGMA_A - SIGMA_P) / S)
    final = audit1["Theorem 1 statement vs re-derived bound"].term_ratios
    # printed R^2 term lacks |A|^2; printed R term is 16 |S| m^2 Sigma_P / (1-gamma) against
    # 32 M |S| |A|^2 m^2 Sigma_P / (eps (1-gamma)): ratio eps / (2 M |A|^2)
    assert same(final[R**2], 1 / A**2)
    assert same(final[R], EPS / (2 * M * A**2))


def test_theorem2_ratios(audit2):
    assert same(audit2["A.5: lambda = eps/(2^(N+1) N M) substituted"].ratio, 2 ** (-N))
    assert same(audit2["A.5: lambda removed from the second term"].term_ratios[R], sp.Rational(1, 4))
    final = audit2["Theorem 2 statement vs re-derived bound"].term_ratios
    assert same(final[R**2], 2 ** (-N))  # 2^(N+8) vs 2^(2N+8)
    assert same(final[R], 2 ** (-N - 2))  # 8 vs 2^(N+5)


def test_planted_error_is_caught():
    # A.3's beta-expanded line is correct as transcribed; change 256 to 265 and the step fails.
    good = bounds.PRINTED["A.3: T with beta"]
    planted = good.subs(256, 265) if good.has(256) else None
    assert planted is not None and not same(planted, good)
    checks = {c.label: c for c in audit.audit_theorem(1, lines={"A.3: T with beta": planted})}
    step = checks["A.3: beta_lambda expanded"]
    assert step.verdict == "fails"
    assert same(step.term_ratios[R**2], sp.Rational(265, 256))
    assert same(step.term_ratios[R], 1)
    # the next step now compares against the planted line and still fails (it failed before too)
    assert checks["A.3: lambda removed from the second term"].verdict == "fails"


def test_planted_exponent_error_in_theorem2_is_caught():
    # Replace the correct 2^(2N+8) by 2^(2N+7) in an otherwise correct bound.
    correct = (2 ** (2 * N + 8) * N**3 * M**2 * S**2 * A**2 * A_MAX**2 * R**2 / (EPS**2 * H**4)
               + 2 ** (N + 5) * N * M * S * A**2 * A_MAX**2 * SIGMA_P * R / (EPS * H))
    planted = correct.subs(2 ** (2 * N + 8), 2 ** (2 * N + 7))
    assert audit.compare("ok", "-", correct, bounds.derived_iteration_bound(2)).verdict == "holds"
    c = audit.compare("planted", "-", planted, bounds.derived_iteration_bound(2), relation=">=")
    assert c.verdict == "fails"
    assert same(c.term_ratios[R**2], sp.Rational(1, 2)) and same(c.term_ratios[R], 1)
    # a correct transcription written in another form is still recognised as equal
    factored = sp.factor(correct)
    assert audit.compare("factored", "-", factored, bounds.derived_iteration_bound(2)).verdict == "holds"


def test_planted_sign_error_is_caught():
    derivs, printed_terms = audit.softmax_barrier_gradients(3)
    assert audit.compare("ok", "-", sp.Matrix(printed_terms), sp.Matrix(derivs)).verdict == "holds"
    wrong = sp.Matrix([-t for t in printed_terms])
    assert audit.compare("sign", "-", wrong, sp.Matrix(derivs)).verdict == "fails"


def test_loose_and_failing_inequalities():
    assert audit.compare("x", "-", 2 * LAM, LAM, relation=">=").verdict == "valid but loose"
    assert audit.compare("x", "-", 2 * LAM, LAM, relation="<=").verdict == "fails"
    assert audit.compare("x", "-", LAM / 2, LAM, relation="<=").verdict == "valid but loose"
    # sign unknown to sympy: not established, so it fails
    assert audit.compare("x", "-", H * LAM, LAM, relation=">=").verdict == "fails"


# --------------------------------------------------------------------------------------------
# The smaller steps
# --------------------------------------------------------------------------------------------

LEMMA_VERDICTS = {
    "Lemma 1: barrier term (softmax, 3 actions)": "holds",
    "A.1: term (2) as derivative of lambda E[KL]": "holds",
    "A.1: term (2) as derivative of its printed middle expression": "fails",
    "(4): pi^i >= 1/(2|A^i|)": "holds",
    "(5), first line: A^i from (i) [printed Lemma 1, c = 1/(1-gamma)]": "holds",
    "(5), bound on A^i [printed Lemma 1, c = 1/(1-gamma)]": "holds",
    "(5), first line: A^i from (i) [Section 2's d, c = 1]": "fails",
    "(5), bound on A^i [Section 2's d, c = 1]": "fails",
    "A.2: expectation over parents' actions of the bound (5)": "fails",
    "Lemma 2: chain before max over states [as printed]": "holds",
    "Lemma 2: chain before max over states [Section 2's d]": "holds",
    "(6) vs (5): denominator": "fails",
    "A.4: sum over a^{-P^i} of prod_j 1/(2|A^j|) (N = 3, i = 3)": "holds",
    "A.4: 2^(-N)/|A^Pi| vs the product over the parents only (N = 3, i = 3)": "valid but loose",
    "(7) from (5) and the marginal bound": "holds",
    "A.4: sum over agents, N 2^(N+1) vs sum_i 2^i": "valid but loose",
}


def test_lemma_step_verdicts(lemma_checks):
    assert {k: c.verdict for k, c in lemma_checks.items()} == LEMMA_VERDICTS


def test_lemma_step_ratios(lemma_checks):
    # the middle line of A.1's (2) differentiates -lambda E[KL], the opposite sign
    assert same(lemma_checks["A.1: term (2) as derivative of its printed middle expression"].ratio, -1)
    # with d unnormalised, (5) is (1-gamma) times too small
    assert same(lemma_checks["(5), bound on A^i [Section 2's d, c = 1]"].ratio, H)
    # E_b[1/pbar(b)] = |A^Pi| = 3, which the printed line drops
    assert list(lemma_checks["A.2: expectation over parents' actions of the bound (5)"].ratio) == [
        sp.Rational(1, 3), sp.Rational(1, 3)]
    assert same(lemma_checks["(6) vs (5): denominator"].ratio, A_P / A_I)
    # 2^-3 / (a1 a2) against (1/(2 a1)) (1/(2 a2)) = 2^-2 / (a1 a2)
    assert lemma_checks["A.4: 2^(-N)/|A^Pi| vs the product over the parents only (N = 3, i = 3)"].ratio == sp.Rational(1, 2)
    # sum_{i=1}^N 2^i = 2^(N+1) - 2
    assert same(lemma_checks["A.4: sum over agents, N 2^(N+1) vs sum_i 2^i"].derived, 2 ** (N + 1) - 2)


def test_regulariser_gradient_with_four_actions():
    derivs, printed_terms = audit.softmax_barrier_gradients(4)
    for dv, pt in zip(derivs, printed_terms, strict=True):
        assert sp.simplify(dv - pt) == 0


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def test_validation():
    with pytest.raises(ValueError, match="relation"):
        audit.compare("x", "-", LAM, LAM, relation="<")
    with pytest.raises(ValueError, match="form"):
        bounds.beta_lambda("A.5")
    with pytest.raises(ValueError, match="which"):
        bounds.gradient_threshold_expression("Lemma 2")
    with pytest.raises(ValueError, match="key"):
        bounds.printed("Theorem 3: T")
    with pytest.raises(ValueError, match="lines"):
        audit.audit_theorem(1, lines={"Theorem 3: T": LAM})
    with pytest.raises(ValueError, match="theorem"):
        audit.audit_theorem(3)
    with pytest.raises(TypeError, match="theorem"):
        bounds.lambda_choice_expression("1")
