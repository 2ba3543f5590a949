r"""The audit of the paper's algebra: every printed line set against its re-derivation (Appendix A).

:func:`compare` simplifies the difference and the ratio of a printed expression and a re-derived one
with sympy and gives a verdict: ``"holds"`` (equal), ``"valid but loose"`` (unequal, but sympy proves
the inequality in the direction the paper's step allows) or ``"fails"``. A :class:`Comparison` also
records the ratio term by term (terms are told apart by their power of :math:`r_{\max}-r_{\min}`).
:func:`audit_theorem` walks through the proof of Theorem 1 or 2 line by line (Appendices A.3 and
A.5) with the transcriptions and derivations of :mod:`bnpg.theory.symbolic.bounds`; :func:`audit_lemmas` checks the
smaller steps: Lemma 1's regulariser, inequalities (4) and (5), the chain of Lemma 2 and the factor
chain of Appendix A.4.

This module is symbolic: it compares sympy expressions, never numbers of a game. The outcome of a
comparison is one of :data:`COMPARISON_OUTCOMES`; the book's general verdicts on the paper's
statements are another vocabulary, :data:`bnpg.paper.catalogue.VERDICTS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import sympy as sp

from bnpg.theory.symbolic.bounds import (
    A_I,
    A_P,
    BETA,
    LAM,
    PRINTED,
    H,
    N,
    R,
    S,
    beta_lambda,
    derived_iteration_bound,
    lambda_choice_expression,
    solve_for_iterations,
)

__all__ = ["COMPARISON_OUTCOMES", "Comparison", "audit_lemmas", "audit_theorem", "compare", "lemma1_gradient_rhs",
           "softmax_barrier_gradients"]


# ------------------------------------------------------------------------------------------------
# Comparison
# ------------------------------------------------------------------------------------------------


def _simplified(expr):
    if isinstance(expr, sp.MatrixBase):
        return expr.applyfunc(lambda e: sp.simplify(sp.powsimp(sp.expand(e))))
    return sp.simplify(sp.powsimp(sp.expand(expr)))


def _is_zero(expr) -> bool:
    expr = _simplified(expr)
    if isinstance(expr, sp.MatrixBase):
        return bool(expr.is_zero_matrix)
    return expr == 0


def _nonnegative(expr) -> bool:
    """True only if sympy proves ``expr >= 0`` (for a matrix: every entry) under the symbols' assumptions."""
    if isinstance(expr, sp.MatrixBase):
        return all(_nonnegative(e) for e in expr)
    forms = (
        lambda e: sp.simplify(e),
        lambda e: sp.factor(sp.simplify(e)),
        lambda e: sp.factor_terms(sp.collect(sp.expand(e), 2**N)),
    )
    return any(form(expr).is_nonnegative is True for form in forms)


def _terms(expr: sp.Expr) -> dict:
    """Coefficients of the powers of r_max - r_min in the expanded expression."""
    return sp.collect(sp.powsimp(sp.expand(expr)), R, evaluate=False)


#: The outcomes a :class:`Comparison` can carry in its ``verdict`` (not the book's general verdicts,
#: :data:`bnpg.paper.catalogue.VERDICTS`).
COMPARISON_OUTCOMES = ("holds", "valid but loose", "fails")
_RELATIONS = ("==", "<=", ">=")


@dataclass(frozen=True)
class Comparison:
    r"""One printed expression set against its re-derivation.

    Attributes
    ----------
    label : str
        What is compared.
    where : str
        The place in the paper.
    printed, derived : sympy.Expr or sympy.Matrix
        The transcription and the re-derived expression.
    reference : str
        How ``derived`` was obtained.
    relation : str
        What the paper's step needs: ``"=="`` (an identity), ``"<="`` (the printed expression is a
        lower bound, so it may be smaller than the derived one) or ``">="`` (an upper bound).
    difference : sympy.Expr
        ``simplify(printed - derived)``; zero exactly when the verdict is ``"holds"``.
    ratio : sympy.Expr
        ``simplify(printed / derived)`` (entrywise for matrices).
    term_ratios : dict
        For each power of :math:`r_{\max}-r_{\min}` present, the ratio of the printed coefficient to
        the derived one (``0`` if the printed expression lacks the term, ``oo`` if the derived one does).
        Empty for matrices.
    verdict : str
        ``"holds"`` (equal), ``"valid but loose"`` (unequal, but sympy proves the inequality in the
        direction ``relation`` allows) or ``"fails"``.
    """

    label: str
    where: str
    printed: sp.Expr
    derived: sp.Expr
    reference: str
    relation: str
    difference: sp.Expr
    ratio: sp.Expr
    term_ratios: dict = field(default_factory=dict)
    verdict: str = "holds"

    @property
    def holds(self) -> bool:
        """True for "holds" and "valid but loose": the printed step is correct as an (in)equality."""
        return self.verdict != "fails"


def compare(
    label: str, where: str, printed_expr, derived_expr, reference: str = "", *, relation: str = "=="
) -> Comparison:
    """Compare a printed expression with a re-derived one by symbolic simplification.

    Parameters
    ----------
    label, where, reference : str
        Descriptions carried into the result.
    printed_expr, derived_expr : sympy expression or Matrix
    relation : {"==", "<=", ">="}
        ``"<="``: the printed step is correct whenever printed <= derived (a lower bound);
        ``">="``: whenever printed >= derived (an upper bound, or a sufficient number of iterations).

    Examples
    --------
    >>> from bnpg import audit, bounds
    >>> c = audit.compare("x", "nowhere", 2 * bounds.LAM, bounds.LAM + bounds.LAM)
    >>> c.verdict, c.ratio
    ('holds', 1)
    >>> c = audit.compare("x", "nowhere", 3 * bounds.LAM * bounds.R, bounds.LAM * bounds.R)
    >>> c.verdict, c.difference, c.term_ratios
    ('fails', 2*(r_max-r_min)*lambda, {(r_max-r_min): 3})
    >>> audit.compare("x", "nowhere", 3 * bounds.LAM, bounds.LAM, relation=">=").verdict
    'valid but loose'
    """
    if relation not in _RELATIONS:
        raise ValueError(f"relation must be one of {_RELATIONS}, got {relation!r}")
    matrix = isinstance(printed_expr, sp.MatrixBase) or isinstance(derived_expr, sp.MatrixBase)
    p = sp.Matrix(printed_expr) if matrix else sp.sympify(printed_expr)
    d = sp.Matrix(derived_expr) if matrix else sp.sympify(derived_expr)
    if matrix and p.shape != d.shape:
        raise ValueError(f"printed has shape {p.shape}, derived has shape {d.shape}")
    holds = _is_zero(p - d)
    difference = (sp.zeros(*p.shape) if matrix else sp.Integer(0)) if holds else _simplified(p - d)
    if matrix:
        ratio = sp.Matrix(p.shape[0], p.shape[1], [sp.simplify(a / b) for a, b in zip(p, d, strict=True)])
        term_ratios = {}
    else:
        ratio = sp.Integer(1) if holds else sp.simplify(sp.powsimp(p / d)) if d != 0 else sp.zoo
        tp, td = _terms(p), _terms(d)
        term_ratios = {}
        for key in sorted(set(tp) | set(td), key=sp.default_sort_key):
            if key not in td:
                term_ratios[key] = sp.oo
            elif key not in tp:
                term_ratios[key] = sp.Integer(0)
            else:
                term_ratios[key] = sp.simplify(sp.powsimp(tp[key] / td[key]))
    if holds:
        verdict = "holds"
    elif relation == "<=" and _nonnegative(d - p) or relation == ">=" and _nonnegative(p - d):
        verdict = "valid but loose"
    else:
        verdict = "fails"
    return Comparison(
        label=label,
        where=where,
        printed=p,
        derived=d,
        reference=reference,
        relation=relation,
        difference=difference,
        ratio=ratio,
        term_ratios=term_ratios,
        verdict=verdict,
    )


def audit_theorem(theorem: int, *, lines=None) -> list[Comparison]:
    r"""Every printed step of a theorem and its proof, compared with its re-derivation.

    Each intermediate line of A.3 / A.5 is compared with the previous *printed* line carried one step
    further (so a failure pins the step where the algebra breaks); the theorem statement is compared
    with the bound derived from the lemma's threshold, Lemma 4's :math:`\beta_\lambda` and the
    proof's :math:`\lambda`.

    Parameters
    ----------
    theorem : {1, 2}
    lines : mapping of str to sympy.Expr, optional
        Replacements for some of the transcriptions in :data:`bnpg.theory.symbolic.bounds.PRINTED` (same keys), e.g. to check that
        the audit catches an error planted in one of them. ``None`` audits the paper as transcribed.

    Returns
    -------
    list of Comparison

    Examples
    --------
    >>> from bnpg import audit
    >>> [c.verdict for c in audit.audit_theorem(2)]
    ['holds', 'holds', 'fails', 'holds', 'fails', 'holds', 'fails']
    """
    lam_star = lambda_choice_expression(theorem)  # also validates ``theorem``
    P = dict(PRINTED)
    if lines is not None:
        if not isinstance(lines, Mapping):
            raise TypeError(f"lines must be a mapping of printed-line keys to expressions, got {type(lines).__name__}")
        unknown = sorted(set(lines) - set(PRINTED))
        if unknown:
            raise ValueError(f"lines has keys {unknown} that are not printed lines; see bnpg.theory.symbolic.bounds.PRINTED")
        P.update({k: sp.sympify(v) for k, v in lines.items()})
    out = []
    if theorem == 1:
        out.append(compare(
            "threshold imposed in A.3 vs Lemma 2's", "Appendix A.3, first display",
            P["A.3: threshold"], P["Lemma 2: threshold"], "Lemma 2 as stated"))
        out.append(compare(
            "A.3: solving for T", "Appendix A.3, 'Solving the above inequality'",
            P["A.3: T after solving"], solve_for_iterations(P["A.3: threshold"]),
            "sympy solve with A.3's own threshold"))
        out.append(compare(
            "A.3: lambda = eps/(2M) substituted", "Appendix A.3, first line of the final display",
            P["A.3: T with lambda"], P["A.3: T after solving"].subs(LAM, lam_star),
            "previous printed line with lambda = eps/(2M)"))
        out.append(compare(
            "A.3: beta_lambda expanded", "Appendix A.3, second line of the final display",
            P["A.3: T with beta"], P["A.3: T with lambda"].subs(BETA, P["A.3: beta_lambda"]),
            "previous printed line with A.3's beta_lambda"))
        out.append(compare(
            "A.3: lambda removed from the second term", "Appendix A.3, last line",
            P["A.3: T final"], P["A.3: T with beta"].subs(LAM, lam_star),
            "previous printed line with lambda = eps/(2M)"))
        out.append(compare(
            "beta_lambda of A.3 vs Lemma 4", "Appendix A.3 vs Lemma 4",
            P["A.3: beta_lambda"], beta_lambda("lemma4"), "Lemma 4 as stated"))
        out.append(compare(
            "Theorem 1 statement vs A.3's last line", "Theorem 1 vs Appendix A.3",
            P["Theorem 1: T"], P["A.3: T final"], "A.3's last printed line"))
        out.append(compare(
            "Theorem 1 statement vs derivation with A.3's threshold", "Theorem 1",
            P["Theorem 1: T"].subs(LAM, lam_star),
            derived_iteration_bound(1, threshold="A.3", beta_form="lemma4"),
            "A.3's threshold, Lemma 4's beta, lambda = eps/(2M)", relation=">="))
        out.append(compare(
            "Theorem 1 statement vs re-derived bound", "Theorem 1",
            P["Theorem 1: T"].subs(LAM, lam_star), derived_iteration_bound(1),
            "Lemma 2's threshold, Lemma 4's beta, lambda = eps/(2M)", relation=">="))
    else:
        out.append(compare(
            "threshold imposed in A.5 vs Lemma 3's", "Appendix A.5, first display",
            P["A.5: threshold"], P["Lemma 3: threshold"], "Lemma 3 as stated"))
        out.append(compare(
            "A.5: solving for T", "Appendix A.5, 'Solving the above inequality'",
            P["A.5: T after solving"], solve_for_iterations(P["A.5: threshold"]),
            "sympy solve with A.5's threshold"))
        out.append(compare(
            "A.5: lambda = eps/(2^(N+1) N M) substituted", "Appendix A.5, first line of the final display",
            P["A.5: T with lambda"], P["A.5: T after solving"].subs(LAM, lam_star),
            "previous printed line with lambda = eps/(2^(N+1) N M)"))
        out.append(compare(
            "A.5: beta_lambda expanded", "Appendix A.5, second line of the final display",
            P["A.5: T with beta"], P["A.5: T with lambda"].subs(BETA, P["A.5: beta_lambda"]),
            "previous printed line with A.5's beta_lambda"))
        out.append(compare(
            "A.5: lambda removed from the second term", "Appendix A.5, last line",
            P["A.5: T final"], P["A.5: T with beta"].subs(LAM, lam_star),
            "previous printed line with lambda = eps/(2^(N+1) N M)"))
        out.append(compare(
            "Theorem 2 statement vs A.5's last line", "Theorem 2 vs Appendix A.5",
            P["Theorem 2: T"], P["A.5: T final"], "A.5's last printed line"))
        out.append(compare(
            "Theorem 2 statement vs re-derived bound", "Theorem 2",
            P["Theorem 2: T"], derived_iteration_bound(2),
            "Lemma 3's threshold, Lemma 4's beta, lambda = eps/(2^(N+1) N M)", relation=">="))
    return out


# ------------------------------------------------------------------------------------------------
# The smaller steps: Lemma 1, (4), (5), the performance-difference chain, A.4
# ------------------------------------------------------------------------------------------------

#: Symbols of the lemma-level steps.
D_SB = sp.Symbol("d(s,a^Pi)", positive=True)  # d_mu(s, a^{P^i})
D_S = sp.Symbol("d(s)", positive=True)
PI = sp.Symbol("pi^i", positive=True)  # pi^i(a^i | s, a^{P^i})
G = sp.Symbol("g", real=True)  # the partial derivative of L_lambda
ADV = sp.Symbol("A^i", real=True)  # the local advantage
EPS_OPT = sp.Symbol("epsilon_opt", positive=True)
C = sp.Symbol("c", positive=True)  # the factor in front of Lemma 1's value term


def lemma1_gradient_rhs(c=None) -> sp.Expr:
    r"""Lemma 1's right-hand side :math:`c\,d(s,a^{\mathcal P^i})\pi^i A^i + \frac{\lambda}{|\mathcal S||\mathcal A^{\mathcal P^i}|}(\frac{1}{|\mathcal A^i|} - \pi^i)`.

    ``c=None`` keeps :math:`c` symbolic; the paper prints :math:`c = 1/(1-\gamma)`; with the
    unnormalised :math:`d_\mu` of Section 2 the true value is :math:`c = 1`.
    """
    c = C if c is None else sp.sympify(c)
    return c * D_SB * PI * ADV + LAM / (S * A_P) * (1 / A_I - PI)


def softmax_barrier_gradients(n_actions: int = 3) -> tuple[list[sp.Expr], list[sp.Expr]]:
    r"""Differentiate one block of the log barrier for a symbolic softmax, and Lemma 1's barrier term.

    For a block :math:`(s, a^{\mathcal P^i})` with :math:`\pi_k = e^{\theta_k} / \sum_l e^{\theta_l}`,
    the barrier contributes :math:`\frac{\lambda}{|\mathcal S||\mathcal A^{\mathcal P^i}| n}\sum_k \log\pi_k`
    to :math:`L_\lambda`. Returns the sympy derivatives with respect to each :math:`\theta_k` and the
    printed :math:`\frac{\lambda}{|\mathcal S||\mathcal A^{\mathcal P^i}|}(\frac1n - \pi_k)`, both in
    terms of :math:`\theta`.
    """
    n = int(n_actions)
    if n < 1:
        raise ValueError(f"n_actions must be >= 1, got {n_actions}")
    theta = sp.symbols(f"theta_1:{n + 1}", real=True)
    z = sum(sp.exp(t) for t in theta)
    pi = [sp.exp(t) / z for t in theta]
    block = LAM / (S * A_P * n) * sum(sp.log(p) for p in pi)
    derivs = [sp.diff(block, t) for t in theta]
    printed_terms = [LAM / (S * A_P) * (sp.Rational(1, n) - p) for p in pi]
    return derivs, printed_terms


def audit_lemmas() -> list[Comparison]:
    r"""The smaller steps: Lemma 1's regulariser, (4), (5), the Lemma 2 chain and A.4's factor chain.

    See the module's companion notebook (``08-bounds-audit``) for the discussion of each entry.

    >>> from bnpg import audit
    >>> checks = audit.audit_lemmas()
    >>> sum(c.holds for c in checks), len(checks)
    (11, 16)
    """
    out = []
    # Lemma 1, barrier term (3 actions)
    derivs, printed_terms = softmax_barrier_gradients(3)
    out.append(compare(
        "Lemma 1: barrier term (softmax, 3 actions)", "Lemma 1 / Appendix A.1",
        sp.Matrix(printed_terms), sp.Matrix(derivs), "sympy derivative of the log barrier"))
    # A.1, term (2): derivative of lambda * E[KL] vs of the bracket printed in its middle line
    n = 3
    theta = sp.symbols(f"theta_1:{n + 1}", real=True)
    z = sum(sp.exp(t) for t in theta)
    pi = [sp.exp(t) / z for t in theta]
    kl = sum(sp.Rational(1, n) * sp.log(sp.Rational(1, n) / p) for p in pi)
    term2_printed = -LAM / (S * A_P) * (sp.Rational(1, n) - pi[0])
    out.append(compare(
        "A.1: term (2) as derivative of lambda E[KL]", "Appendix A.1, term (2), result",
        term2_printed, sp.diff(LAM / (S * A_P) * kl, theta[0]), "sympy derivative of lambda KL / (|S||A^Pi|)"))
    bracket = LAM * (sum(sp.log(p) for p in pi) / (S * A_P * n) + sp.log(n) / (S * A_P))
    out.append(compare(
        "A.1: term (2) as derivative of its printed middle expression", "Appendix A.1, term (2), middle line",
        term2_printed, sp.diff(bracket, theta[0]), "sympy derivative of lambda (sum log pi / (|S||A^Pi||A^i|) + log|A^i|)"))
    # (4): the rearrangement
    boundary = sp.solve(sp.Eq(EPS_OPT, LAM / (S * A_P) * (1 / A_I - PI)), PI)[0]
    boundary = boundary.subs(EPS_OPT, LAM / (2 * S * A_P * A_I))
    out.append(compare(
        "(4): pi^i >= 1/(2|A^i|)", "Appendix A.2, (4)",
        1 / (2 * A_I), boundary, "sympy solve of eps_opt = barrier term (valid where A^i >= 0)"))
    # (5): solving (i) for A^i, then bounding
    printed_5a = H / D_SB * (G / PI + LAM / (S * A_P) * (1 - 1 / (PI * A_I)))
    printed_5 = 2 * H * LAM / (D_SB * S * A_P)
    for c, name in ((1 / H, "printed Lemma 1, c = 1/(1-gamma)"), (sp.Integer(1), "Section 2's d, c = 1")):
        solved = sp.solve(sp.Eq(G, lemma1_gradient_rhs(c)), ADV)[0]
        out.append(compare(
            f"(5), first line: A^i from (i) [{name}]", "Appendix A.2, (5), first line",
            printed_5a, solved, f"sympy solve of (i) with {name}"))
        bound = (1 / (c * D_SB)) * (2 * A_I * EPS_OPT + LAM / (S * A_P))
        bound = bound.subs(EPS_OPT, LAM / (2 * S * A_P * A_I))
        out.append(compare(
            f"(5), bound on A^i [{name}]", "Appendix A.2, (5), last line",
            printed_5, bound, f"worst case g = eps_opt, pi^i = 1/(2|A^i|) with {name}", relation=">="))
    # Lemma 2 chain: the sum over parents' actions, two states, three parents' actions
    d_new = sp.symbols("d'_1:3", positive=True)
    d_old = sp.symbols("d_1:3", positive=True)
    pbar = [sp.symbols(f"pbar_{s}_1:4", positive=True) for s in (1, 2)]
    n_s, n_b = 2, 3
    inner = [sum(pb * 2 * H * LAM / (d_old[s] * pb * n_s * n_b) for pb in pbar[s]) for s in range(2)]
    printed_inner = [2 * H * LAM / (d_old[s] * n_s * n_b) for s in range(2)]
    out.append(compare(
        "A.2: expectation over parents' actions of the bound (5)", "Appendix A.2, line after 'Q - V' drops",
        sp.Matrix(printed_inner), sp.Matrix(inner), "explicit sum, |S| = 2, |A^Pi| = 3", relation=">="))
    # the whole Lemma 2 chain: prefactor of the performance-difference lemma over c of Lemma 1
    for pdl, c, name in ((1 / H, 1 / H, "as printed"), (sp.Integer(1), sp.Integer(1), "Section 2's d")):
        chain = pdl * sum(d_new[s] * sum(pb * 2 * LAM / (c * d_old[s] * pb * n_s * n_b) for pb in pbar[s]) for s in range(2))
        target = 2 * LAM * sum(d_new[s] / d_old[s] for s in range(2)) / n_s  # <= 2 lambda M
        out.append(compare(
            f"Lemma 2: chain before max over states [{name}]", "Appendix A.2, before the last two inequalities",
            chain, target, "2 lambda (1/|S|) sum_s d'(s)/d(s), at most 2 lambda M", relation=">="))
    # A.4: (6) vs (5), the parents' marginal, (7), the sum over agents
    out.append(compare(
        "(6) vs (5): denominator", "Appendix A.4, (6)",
        2 * H * LAM / (D_SB * S * A_I), printed_5, "(5) as printed", relation=">="))
    sizes = sp.symbols("a_1:4", positive=True)  # three agents, agent 3 has parents {1, 2}
    per_agent = [1 / (2 * a) for a in sizes]
    prod_all = sp.Mul(*per_agent)
    marginal_printed_chain = prod_all * sizes[2]  # sum over a^{-P^3} = a^3 of the constant product
    out.append(compare(
        "A.4: sum over a^{-P^i} of prod_j 1/(2|A^j|) (N = 3, i = 3)", "Appendix A.4, parents' marginal",
        2 ** sp.Integer(-3) / (sizes[0] * sizes[1]), marginal_printed_chain, "explicit product", relation="<="))
    out.append(compare(
        "A.4: 2^(-N)/|A^Pi| vs the product over the parents only (N = 3, i = 3)", "Appendix A.4, parents' marginal",
        2 ** sp.Integer(-3) / (sizes[0] * sizes[1]), per_agent[0] * per_agent[1],
        "pi(a^{P^i}|s) = prod_{j in P^i} pi^j for a fully-correlated DAG", relation="<="))
    out.append(compare(
        "(7) from (5) and the marginal bound", "Appendix A.4, (7)",
        2 ** (N + 1) * H * LAM / (D_S * S), printed_5.subs(D_SB, D_S * 2 ** (-N) / A_P),
        "(5) with d(s, a^Pi) >= d(s) 2^(-N) / |A^Pi|", relation=">="))
    k = sp.Symbol("k", positive=True, integer=True)
    out.append(compare(
        "A.4: sum over agents, N 2^(N+1) vs sum_i 2^i", "Appendix A.4, telescoping",
        N * 2 ** (N + 1), sp.summation(2**k, (k, 1, N)),
        "per-agent constant 2^(|P^i|+1) = 2^i for the i-th agent in topological order", relation=">="))
    return out
