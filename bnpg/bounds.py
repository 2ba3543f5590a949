r"""The algebra of the iteration bounds, re-derived with sympy (paper, Lemma 4, Theorems 1-2, Appendix A).

Both theorems are proved the same way. Gradient ascent on a :math:`\beta_\lambda`-smooth objective
with step :math:`\eta = 1/\beta_\lambda` gains at least :math:`\|\nabla L_\lambda\|^2 / (2\beta_\lambda)`
per step, so after ``T`` steps

.. math::

    \min_{t < T} \|\nabla_\theta L_\lambda(\theta_t)\|_2^2
    \le \frac{2\beta_\lambda (L_\lambda(\theta^*) - L_\lambda(\theta_0))}{T}
    \le \frac{2\beta_\lambda (r_{\max} - r_{\min})}{T (1-\gamma)}
    \qquad \text{(A.3, A.5)}.

Requiring the right-hand side to be at most :math:`\tau^2`, where :math:`\tau` is the gradient threshold
of the lemma the theorem invokes, gives :math:`T \ge 2\beta_\lambda (r_{\max}-r_{\min}) / (\tau^2 (1-\gamma))`.
The lemmas state the same threshold,

.. math::

    \tau = \frac{\lambda}{2 |\mathcal S| |\mathcal A| \max_i |\mathcal A^i|}
    \qquad \text{(Lemma 2 and Lemma 3; } |\mathcal A| \text{ the joint action space)},

and their conclusions fix :math:`\lambda`: a :math:`2\lambda M`-Nash policy (Lemma 2) asks for
:math:`\lambda = \epsilon / (2M)`, a :math:`2^{N+1} N \lambda M`-optimal one (Lemma 3) for
:math:`\lambda = \epsilon / (2^{N+1} N M)`. Lemma 4 gives the smoothness constant

.. math::

    \beta_\lambda = \frac{8N(r_{\max}-r_{\min})}{(1-\gamma)^3}
                  + \sum_i \frac{2\lambda}{|\mathcal S| |\mathcal A^{\mathcal P^i}|},

which the theorem statements and Appendix A.5 repeat; Appendix A.3 writes :math:`|\mathcal A^i|` in place
of :math:`|\mathcal A^{\mathcal P^i}|` (:func:`beta_lambda` carries both forms).

This module holds the printed lines as sympy expressions (:data:`PRINTED`), re-derives each of them
(:func:`derived_iteration_bound`), and compares the two (:func:`compare`, :func:`audit_theorem`,
:func:`audit_lemmas`). A :class:`Comparison` records the simplified difference, the ratio, the ratio
term by term (terms are told apart by their power of :math:`r_{\max}-r_{\min}`) and a verdict.
:func:`iteration_bound` evaluates either bound on a concrete game.

The symbols are positive; :math:`1-\gamma` is one symbol, so that powers of it stay monomials.
The sums over agents enter through two symbols, :math:`\Sigma_{\mathcal P} = \sum_i 1/|\mathcal A^{\mathcal P^i}|`
and :math:`\Sigma_{\mathcal A} = \sum_i 1/|\mathcal A^i|`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction

import sympy as sp

from ._validation import game_and_dag, positive, real_scalar
from .dag import DAG
from .game import MarkovGame
from .gaps import mismatch_coefficient

# ------------------------------------------------------------------------------------------------
# Symbols
# ------------------------------------------------------------------------------------------------

#: Number of agents :math:`N`.
N = sp.Symbol("N", positive=True, integer=True)
#: :math:`|\mathcal S|`.
S = sp.Symbol("|S|", positive=True)
#: :math:`|\mathcal A|`, the size of the joint action space.
A = sp.Symbol("|A|", positive=True)
#: :math:`\max_i |\mathcal A^i|`.
A_MAX = sp.Symbol("max|A^i|", positive=True)
#: :math:`|\mathcal A^i|` of one agent ``i``.
A_I = sp.Symbol("|A^i|", positive=True)
#: :math:`|\mathcal A^{\mathcal P^i}|` of one agent ``i`` (its parents' joint actions).
A_P = sp.Symbol("|A^Pi|", positive=True)
#: :math:`\sum_i 1/|\mathcal A^{\mathcal P^i}|`.
SIGMA_P = sp.Symbol("Sigma_P", positive=True)
#: :math:`\sum_i 1/|\mathcal A^i|`.
SIGMA_A = sp.Symbol("Sigma_A", positive=True)
#: :math:`r_{\max} - r_{\min}`.
R = sp.Symbol("(r_max-r_min)", positive=True)
#: :math:`1 - \gamma`.
H = sp.Symbol("(1-gamma)", positive=True)
#: Target gap :math:`\epsilon`.
EPS = sp.Symbol("epsilon", positive=True)
#: Regularisation strength :math:`\lambda`.
LAM = sp.Symbol("lambda", positive=True)
#: Mismatch coefficient :math:`M`.
M = sp.Symbol("M", positive=True)
_M_SYMBOL = M  # for functions whose keyword argument ``M`` shadows the symbol
#: Smoothness constant :math:`\beta_\lambda` (kept symbolic until substituted).
BETA = sp.Symbol("beta", positive=True)
#: Number of iterations :math:`T`.
T = sp.Symbol("T", positive=True)
#: Step size :math:`\eta`.
ETA = sp.Symbol("eta", positive=True)

#: LaTeX for every symbol above, for :func:`latex`.
LATEX_NAMES = {
    N: "N",
    S: r"|\mathcal{S}|",
    A: r"|\mathcal{A}|",
    A_MAX: r"\max_i |\mathcal{A}^i|",
    A_I: r"|\mathcal{A}^i|",
    A_P: r"|\mathcal{A}^{\mathcal{P}^i}|",
    SIGMA_P: r"\Sigma_{\mathcal{P}}",
    SIGMA_A: r"\Sigma_{\mathcal{A}}",
    R: r"(r_{\max} - r_{\min})",
    H: r"(1-\gamma)",
    EPS: r"\epsilon",
    LAM: r"\lambda",
    M: "M",
    BETA: r"\beta_\lambda",
    T: "T",
    ETA: r"\eta",
}


def latex(expr) -> str:
    r"""LaTeX of a bounds expression with the paper's notation.

    >>> from bnpg import bounds
    >>> bounds.latex(bounds.LAM / (2 * bounds.S))
    '\\frac{\\lambda}{2 |\\mathcal{S}|}'
    """
    return sp.latex(expr, symbol_names=LATEX_NAMES)


# ------------------------------------------------------------------------------------------------
# The printed lines
# ------------------------------------------------------------------------------------------------

_THEOREM1_FIRST = 256 * N * M**2 * S**2 * A_MAX**2 * R**2 / (H**4 * EPS**2)
_THEOREM2_FIRST = 2 ** (N + 8) * N**3 * M**2 * S**2 * A**2 * A_MAX**2 * R**2 / (EPS**2 * H**4)

#: Every printed line the audit checks, transcribed as it appears in the paper. Keys name the place.
PRINTED: dict[str, sp.Expr] = {
    # smoothness constant
    "Lemma 4: beta_lambda": 8 * N * R / H**3 + 2 * LAM / S * SIGMA_P,
    "A.3: beta_lambda": 8 * N * R / H**3 + 2 * LAM / S * SIGMA_A,
    "A.5: beta_lambda": 8 * N * R / H**3 + 2 * LAM / S * SIGMA_P,
    # gradient thresholds
    "Lemma 2: threshold": LAM / (2 * S * A * A_MAX),
    "Lemma 3: threshold": LAM / (2 * S * A * A_MAX),
    "A.3: threshold": LAM / (2 * S * A_MAX),
    "A.5: threshold": LAM / (2 * S * A * A_MAX),
    # the lambda each proof chooses
    "A.3: lambda": EPS / (2 * M),
    "A.5: lambda": EPS / (2 ** (N + 1) * N * M),
    # Theorem 1 and its proof
    "Theorem 1: T": _THEOREM1_FIRST + 32 * LAM * M * S * A_MAX**2 * SIGMA_P * R / (H * EPS),
    "A.3: T after solving": 8 * BETA * S**2 * A_MAX**2 * R / (LAM**2 * H),
    "A.3: T with lambda": 32 * M**2 * S**2 * A_MAX**2 * BETA * R / (EPS**2 * H),
    "A.3: T with beta": _THEOREM1_FIRST + 64 * LAM * M**2 * S * A_MAX**2 * SIGMA_A * R / (H * EPS**2),
    "A.3: T final": _THEOREM1_FIRST + 32 * LAM * M * S * A_MAX**2 * SIGMA_A * R / (H * EPS),
    # Theorem 2 and its proof
    "Theorem 2: T": _THEOREM2_FIRST + 8 * N * M * S * A**2 * A_MAX**2 * R * SIGMA_P / (EPS * H),
    "A.5: T after solving": 8 * BETA * S**2 * A**2 * A_MAX**2 * R / (LAM**2 * H),
    "A.5: T with lambda": 2 ** (N + 5) * N**2 * M**2 * S**2 * A**2 * A_MAX**2 * BETA * R / (EPS**2 * H),
    "A.5: T with beta": _THEOREM2_FIRST
    + 2 ** (N + 5) * N**2 * M**2 * S**2 * A**2 * A_MAX**2 * R * (2 * LAM / S * SIGMA_P) / (EPS**2 * H),
    "A.5: T final": _THEOREM2_FIRST + 8 * N * M * S * A**2 * A_MAX**2 * R * SIGMA_P / (EPS * H),
}


def printed(key: str) -> sp.Expr:
    """The transcription of one printed line (see :data:`PRINTED` for the keys).

    >>> from bnpg import bounds
    >>> bounds.printed("A.3: lambda")
    epsilon/(2*M)
    """
    if not isinstance(key, str):
        raise TypeError(f"key must be a str, got {type(key).__name__}")
    if key not in PRINTED:
        raise ValueError(f"key {key!r} is not a printed line; choose from {sorted(PRINTED)}")
    return PRINTED[key]


# ------------------------------------------------------------------------------------------------
# Re-derivation
# ------------------------------------------------------------------------------------------------

_BETA_FORMS = ("lemma4", "A.3")
_THRESHOLDS = ("lemma", "A.3")


def beta_lambda(form: str = "lemma4") -> sp.Expr:
    r""":math:`\beta_\lambda` in one of the two forms the paper prints.

    Parameters
    ----------
    form : {"lemma4", "A.3"}
        ``"lemma4"``: :math:`8N(r_{\max}-r_{\min})/(1-\gamma)^3 + \sum_i 2\lambda/(|\mathcal S||\mathcal A^{\mathcal P^i}|)`,
        as in Lemma 4, both theorem statements and Appendix A.5. ``"A.3"``: the same with
        :math:`|\mathcal A^i|` in place of :math:`|\mathcal A^{\mathcal P^i}|`, as in Appendix A.3.

    >>> from bnpg import bounds
    >>> difference = bounds.beta_lambda("lemma4") - bounds.beta_lambda("A.3")
    >>> difference.equals(2 * bounds.LAM * (bounds.SIGMA_P - bounds.SIGMA_A) / bounds.S)
    True
    """
    if form not in _BETA_FORMS:
        raise ValueError(f"form must be one of {_BETA_FORMS}, got {form!r}")
    sigma = SIGMA_P if form == "lemma4" else SIGMA_A
    return 8 * N * R / H**3 + sp.Rational(2) * LAM / S * sigma


def gradient_threshold(which: str = "lemma") -> sp.Expr:
    r"""The gradient-norm threshold :math:`\tau` under which a lemma applies.

    Parameters
    ----------
    which : {"lemma", "A.3"}
        ``"lemma"``: :math:`\lambda/(2|\mathcal S||\mathcal A|\max_i|\mathcal A^i|)`, as Lemmas 2 and 3
        state it (and A.5 uses it). ``"A.3"``: :math:`\lambda/(2|\mathcal S|\max_i|\mathcal A^i|)`, the
        threshold Appendix A.3 imposes (the product-policy threshold, without :math:`|\mathcal A|`).
    """
    if which not in _THRESHOLDS:
        raise ValueError(f"which must be one of {_THRESHOLDS}, got {which!r}")
    return LAM / (2 * S * A * A_MAX) if which == "lemma" else LAM / (2 * S * A_MAX)


def smoothness_inequality() -> sp.Expr:
    r"""The bound on :math:`\min_{t<T} \|\nabla L_\lambda(\theta_t)\|_2^2` of A.3 and A.5: :math:`2\beta_\lambda (r_{\max}-r_{\min}) / (T(1-\gamma))`."""
    return 2 * BETA * R / (T * H)


def solve_for_iterations(threshold: sp.Expr) -> sp.Expr:
    r"""The smallest ``T`` with :math:`\sqrt{2\beta_\lambda (r_{\max}-r_{\min}) / (T(1-\gamma))} \le \tau`.

    The left side decreases in ``T``, so the inequality holds exactly for ``T`` at or above the root
    of the equality, which sympy solves for.

    >>> from bnpg import bounds
    >>> bounds.solve_for_iterations(bounds.gradient_threshold("A.3"))
    8*(r_max-r_min)*beta*max|A^i|**2*|S|**2/((1-gamma)*lambda**2)
    """
    roots = sp.solve(sp.Eq(smoothness_inequality(), threshold**2), T)
    if len(roots) != 1:  # pragma: no cover - a positive threshold always has one root
        raise ValueError(f"expected one root for T, got {roots}")
    return roots[0]


def lambda_choice(theorem: int) -> sp.Expr:
    r"""The :math:`\lambda` that makes the lemma's guarantee equal :math:`\epsilon`.

    Theorem 1 invokes Lemma 2 (:math:`2\lambda M`-Nash), Theorem 2 invokes Lemma 3
    (:math:`2^{N+1}N\lambda M`-optimal); the guarantee is solved for :math:`\lambda`.

    >>> from bnpg import bounds
    >>> bounds.lambda_choice(2)
    2**(-N - 1)*epsilon/(M*N)
    """
    theorem = _theorem(theorem)
    guarantee = 2 * LAM * M if theorem == 1 else 2 ** (N + 1) * N * LAM * M
    (root,) = sp.solve(sp.Eq(guarantee, EPS), LAM)
    return root


def derived_iteration_bound(
    theorem: int, *, threshold: str = "lemma", beta_form: str = "lemma4"
) -> sp.Expr:
    r"""Re-derived iteration bound: solve for ``T``, substitute :math:`\beta_\lambda`, then :math:`\lambda`.

    Parameters
    ----------
    theorem : {1, 2}
    threshold : {"lemma", "A.3"}
        The gradient threshold imposed (see :func:`gradient_threshold`).
    beta_form : {"lemma4", "A.3"}
        The form of :math:`\beta_\lambda` (see :func:`beta_lambda`).

    Returns
    -------
    sympy.Expr
        Expanded: one term in :math:`(r_{\max}-r_{\min})^2` and one in :math:`r_{\max}-r_{\min}`.

    With A.3's own threshold and :math:`\beta_\lambda`, the derivation gives A.3's last line
    without its stray :math:`\lambda`:

    >>> from bnpg import bounds
    >>> from bnpg.bounds import N, M, S, A_MAX, SIGMA_A, R, H, EPS
    >>> T1 = bounds.derived_iteration_bound(1, threshold="A.3", beta_form="A.3")
    >>> T1.equals(256 * N * M**2 * S**2 * A_MAX**2 * R**2 / (H**4 * EPS**2)
    ...           + 32 * M * S * A_MAX**2 * SIGMA_A * R / (H * EPS))
    True
    """
    theorem = _theorem(theorem)
    t_min = solve_for_iterations(gradient_threshold(threshold))
    t_min = t_min.subs(BETA, beta_lambda(beta_form)).subs(LAM, lambda_choice(theorem))
    return sp.powsimp(sp.expand(t_min))


def iteration_bound_expression(theorem: int, as_printed: bool) -> sp.Expr:
    r"""The iteration bound of Theorem 1 or 2 as a sympy expression in :math:`\epsilon, M, N, \dots`.

    Parameters
    ----------
    theorem : {1, 2}
    as_printed : bool
        ``True``: the expression printed in the theorem statement, with :math:`\lambda` replaced by the
        value its proof chooses (:func:`lambda_choice`). ``False``: the bound re-derived from the
        smoothness inequality with the threshold exactly as Lemma 2 / Lemma 3 state it and
        :math:`\beta_\lambda` of Lemma 4 (:func:`derived_iteration_bound`).

    Examples
    --------
    >>> from bnpg import bounds
    >>> from bnpg.bounds import N, M, S, A, A_MAX, SIGMA_P, R, H, EPS
    >>> T2 = bounds.iteration_bound_expression(2, as_printed=False)
    >>> T2.equals(2 ** (2 * N + 8) * N**3 * M**2 * S**2 * A**2 * A_MAX**2 * R**2 / (EPS**2 * H**4)
    ...           + 2 ** (N + 5) * N * M * S * A**2 * A_MAX**2 * R * SIGMA_P / (EPS * H))
    True
    """
    theorem = _theorem(theorem)
    if not isinstance(as_printed, bool):
        raise TypeError(f"as_printed must be a bool, got {type(as_printed).__name__}")
    if as_printed:
        key = f"Theorem {theorem}: T"
        return sp.powsimp(sp.expand(PRINTED[key].subs(LAM, lambda_choice(theorem))))
    return derived_iteration_bound(theorem)


def step_size_factor() -> sp.Expr:
    r"""How much larger ``T`` must be for a step size :math:`\eta` other than :math:`1/\beta_\lambda`.

    The ascent inequality for a :math:`\beta`-smooth objective,
    :math:`L(\theta + \eta g) \ge L(\theta) + \eta(1 - \beta\eta/2)\|g\|^2` with :math:`g = \nabla L(\theta)`,
    summed over ``T`` steps gives :math:`\min_t \|g_t\|^2 \le (L^* - L_0) / (T\eta(1-\beta\eta/2))`.
    Divided by the :math:`2\beta(L^*-L_0)/T` of A.3 and A.5 this is the returned factor
    :math:`1/(\beta\eta(2-\beta\eta))`: 1 at :math:`\eta = 1/\beta`, larger for every other
    :math:`\eta \in (0, 2/\beta)`.

    >>> from bnpg import bounds
    >>> sp_factor = bounds.step_size_factor()
    >>> sp_factor.subs(bounds.ETA, 1 / bounds.BETA), sp_factor.subs(bounds.ETA, 1 / (10 * bounds.BETA))
    (1, 100/19)
    """
    gain = ETA * (1 - BETA * ETA / 2)  # per-step gain per unit of squared gradient norm
    return sp.simplify((1 / gain) / (2 * BETA))


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


#: The verdicts a :class:`Comparison` can carry.
VERDICTS = ("holds", "valid but loose", "fails")
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
    >>> from bnpg import bounds
    >>> c = bounds.compare("x", "nowhere", 2 * bounds.LAM, bounds.LAM + bounds.LAM)
    >>> c.verdict, c.ratio
    ('holds', 1)
    >>> c = bounds.compare("x", "nowhere", 3 * bounds.LAM * bounds.R, bounds.LAM * bounds.R)
    >>> c.verdict, c.difference, c.term_ratios
    ('fails', 2*(r_max-r_min)*lambda, {(r_max-r_min): 3})
    >>> bounds.compare("x", "nowhere", 3 * bounds.LAM, bounds.LAM, relation=">=").verdict
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
        Replacements for some of the transcriptions in :data:`PRINTED` (same keys), e.g. to check that
        the audit catches an error planted in one of them. ``None`` audits the paper as transcribed.

    Returns
    -------
    list of Comparison

    >>> from bnpg import bounds
    >>> [c.verdict for c in bounds.audit_theorem(2)]
    ['holds', 'holds', 'fails', 'holds', 'fails', 'holds', 'fails']
    """
    theorem = _theorem(theorem)
    P = dict(PRINTED)
    if lines is not None:
        if not isinstance(lines, Mapping):
            raise TypeError(f"lines must be a mapping of printed-line keys to expressions, got {type(lines).__name__}")
        unknown = sorted(set(lines) - set(PRINTED))
        if unknown:
            raise ValueError(f"lines has keys {unknown} that are not printed lines; see bounds.PRINTED")
        P.update({k: sp.sympify(v) for k, v in lines.items()})
    lam_star = lambda_choice(theorem)
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

    >>> from bnpg import bounds
    >>> checks = bounds.audit_lemmas()
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


# ------------------------------------------------------------------------------------------------
# Numbers for a game
# ------------------------------------------------------------------------------------------------


def _theorem(theorem) -> int:
    if isinstance(theorem, bool) or not isinstance(theorem, int):
        raise TypeError(f"theorem must be the int 1 or 2, got {type(theorem).__name__} {theorem!r}")
    if theorem not in (1, 2):
        raise ValueError(f"theorem must be 1 or 2, got {theorem}")
    return theorem


def game_parameters(game: MarkovGame, dag: DAG, *, M=None) -> dict:
    r"""The constants of the bounds for a game and a DAG, as exact rationals keyed by symbol.

    ``|A^{P^i}|`` is the product of the parents' action counts in ``dag``; :math:`r_{\max}-r_{\min}`
    comes from the game's rewards; ``M=None`` computes :func:`bnpg.mismatch_coefficient`.
    Floats are converted exactly (their binary value), so a bound is evaluated with one rounding.

    Raises
    ------
    ValueError
        If the DAG has another number of agents, ``M`` is below 1 or Assumption 1 fails (``M`` infinite).

    >>> import numpy as np, bnpg
    >>> from bnpg import bounds
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 3, 1)), np.zeros((1, 2, 3)), [1.0], 0.5)
    >>> p = bounds.game_parameters(game, bnpg.DAG.chain(2))
    >>> p[bounds.SIGMA_P], p[bounds.SIGMA_A], p[bounds.A], p[bounds.M]
    (3/2, 5/6, 6, 1)
    """
    game_and_dag(game, dag)
    if M is None:
        M_value = mismatch_coefficient(game)
        if not math.isfinite(M_value):
            raise ValueError(
                "the game violates Assumption 1 (some state can have zero visitation), so M is infinite"
            )
    else:
        M_value = positive("M", M)
        if M_value < 1.0:
            raise ValueError(f"M must be >= 1 (take pi = pi' in its definition), got {M_value!r}")
    sizes = game.action_sizes
    parent_sizes = [math.prod(sizes[j] for j in dag.parents(i)) for i in range(game.n_agents)]
    return {
        N: sp.Integer(game.n_agents),
        S: sp.Integer(game.n_states),
        A: sp.Integer(game.n_joint_actions),
        A_MAX: sp.Integer(max(sizes)),
        SIGMA_P: sp.Rational(sum(Fraction(1, b) for b in parent_sizes)),
        SIGMA_A: sp.Rational(sum(Fraction(1, a) for a in sizes)),
        R: sp.Rational(game.r_max) - sp.Rational(game.r_min),
        H: 1 - sp.Rational(game.gamma),
        _M_SYMBOL: sp.Rational(M_value),
    }


def iteration_bound(game: MarkovGame, dag: DAG, eps: float, *, theorem: int, as_printed: bool, M=None) -> float:
    r"""The number of iterations Theorem 1 or 2 asks for on a concrete game.

    Parameters
    ----------
    game : MarkovGame
    dag : DAG
        The Bayesian network; Theorem 2 requires it to be fully correlated (Definition 3).
    eps : float
        Target Nash gap (Theorem 1) or optimality gap (Theorem 2), ``> 0``.
    theorem : {1, 2}
    as_printed : bool
        ``True``: the bound printed in the theorem; ``False``: the re-derived one
        (see :func:`iteration_bound_expression`). Both assume the step size :math:`\eta = 1/\beta_\lambda`
        (see :func:`step_size_factor` for any other step).
    M : float, optional
        Mismatch coefficient; ``None`` computes it exactly (:func:`bnpg.mismatch_coefficient`).

    Returns
    -------
    float
        The bound on ``T`` (not rounded up to an integer).

    Examples
    --------
    One state, two agents with two actions, rewards in [0, 1], gamma = 1/2, so M = 1, |S| = 1,
    |A| = 4, max|A^i| = 2, and for the chain sum_i 1/|A^{P^i}| = 1 + 1/2. Theorem 1 as printed,
    eps = 1: 256 * 2 * 4 / (1/2)^4 + 16 * 1 * 4 * (3/2) / (1/2) = 32768 + 192.

    >>> import numpy as np, bnpg
    >>> from bnpg import bounds
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.5)
    >>> bounds.iteration_bound(game, bnpg.DAG.chain(2), 1.0, theorem=1, as_printed=True)
    32960.0
    """
    theorem = _theorem(theorem)
    if not isinstance(as_printed, bool):
        raise TypeError(f"as_printed must be a bool, got {type(as_printed).__name__}")
    eps = positive("eps", eps)
    if not isinstance(dag, DAG):
        raise TypeError(f"dag must be a DAG, got {type(dag).__name__}")
    if theorem == 2 and not dag.is_fully_correlated:
        raise ValueError(
            f"theorem 2 needs a fully-correlated DAG (N(N-1)/2 edges, Definition 3); dag has "
            f"{dag.n_edges} of {dag.n_agents * (dag.n_agents - 1) // 2} edges"
        )
    values = game_parameters(game, dag, M=M)
    values[EPS] = sp.Rational(real_scalar("eps", eps))
    expr = iteration_bound_expression(theorem, as_printed)
    exact = expr.subs(values)
    if exact.free_symbols:  # pragma: no cover - every symbol is given a value above
        raise ValueError(f"unresolved symbols {exact.free_symbols}")
    return float(exact)
