r"""The algebra of the iteration bounds, re-derived with sympy (paper, Lemma 4, Theorems 1-2, Appendix A).

This module is symbolic: its functions return sympy expressions, never numbers of a game; the
floating-point formulas are in :mod:`bnpg.theory.constants` and :mod:`bnpg.theory.sharpened`, and a
quantity in both forms ends here in ``_expression`` (e.g. :func:`gradient_threshold_expression`).

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

This module holds the printed lines as sympy expressions (:data:`PRINTED`) and re-derives each of
them (:func:`derived_iteration_bound`); :mod:`bnpg.theory.symbolic.audit` compares the two. :func:`game_parameters`
gives the exact value of every symbol on a concrete game, so that an expression here can be set
against the floating-point formula of :mod:`bnpg.theory.constants` that the rest of the library uses.

The symbols are positive; :math:`1-\gamma` is one symbol, so that powers of it stay monomials.
The sums over agents enter through two symbols, :math:`\Sigma_{\mathcal P} = \sum_i 1/|\mathcal A^{\mathcal P^i}|`
and :math:`\Sigma_{\mathcal A} = \sum_i 1/|\mathcal A^i|`.

**The sharpened lemmas** (:mod:`bnpg.theory.sharpened`) hold under :math:`\tau_2^\sharp = \lambda/(|\mathcal S|\kappa)`,
:math:`\kappa = \max_{i:\,|\mathcal A^i|\ge2}|\mathcal A^{\mathcal P^i}|\sqrt{|\mathcal A^i|(|\mathcal A^i|-1)}`, and
:math:`\tau_3^\sharp = \lambda/(|\mathcal S||\mathcal A|\sqrt{\Sigma_k})`, :math:`\Sigma_k = \sum_i(1-1/|\mathcal A^i|)`, with
conclusion :math:`\rho\lambda M` (:math:`\rho \le 1`); :math:`\lambda^\sharp = \epsilon/(\rho M)` and the same derivation give
:math:`T_1^\sharp = 16NR^2|\mathcal S|^2\kappa^2\rho^2M^2/((1-\gamma)^4\epsilon^2) + 4\Sigma_{\mathcal P}R|\mathcal S|\kappa^2\rho M/((1-\gamma)\epsilon)`
(:math:`R = r_{\max}-r_{\min}`), and :math:`T_2^\sharp` is the same with :math:`|\mathcal A|^2\Sigma_k` for :math:`\kappa^2`.
"""

from __future__ import annotations

import math
from fractions import Fraction

import sympy as sp

from bnpg._validation import fully_correlated
from bnpg.model.dag import DAG
from bnpg.model.game import MarkovGame
from bnpg.model.policy import check_game_and_dag
from bnpg.theory.constants import check_theorem, mismatch_of

__all__ = [
    "A", "A_I", "A_MAX", "A_P", "BETA", "EPS", "ETA", "H", "KAPPA", "LAM", "LATEX_NAMES", "M", "N",
    "PRINTED", "R", "RHO", "S", "SIGMA_A", "SIGMA_K", "SIGMA_P", "T", "beta_lambda",
    "derived_iteration_bound", "game_parameters", "gradient_threshold_expression", "iteration_bound_expression",
    "lambda_choice_expression", "latex", "printed", "sharp_lambda_choice", "sharp_threshold_expression",
    "sharpened_iteration_bound", "sharpening_ratio", "smoothness_inequality", "solve_for_iterations",
    "step_size_factor",
]

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
#: :math:`\kappa = \max_{i:\,|\mathcal A^i|\ge2} |\mathcal A^{\mathcal P^i}|\sqrt{|\mathcal A^i|(|\mathcal A^i|-1)}` (sharpened Lemma 2).
KAPPA = sp.Symbol("kappa", positive=True)
#: :math:`\Sigma_k = \sum_i (1 - 1/|\mathcal A^i|)` (sharpened Lemma 3).
SIGMA_K = sp.Symbol("Sigma_k", positive=True)
#: :math:`\rho \le 1`, the sharpened conclusion at its threshold over :math:`\lambda M` (:func:`bnpg.theory.sharpened.sharp_factor`).
RHO = sp.Symbol("rho", positive=True)
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
    KAPPA: r"\kappa",
    SIGMA_K: r"\Sigma_k",
    RHO: r"\rho",
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

    Examples
    --------
    >>> from bnpg import bounds
    >>> difference = bounds.beta_lambda("lemma4") - bounds.beta_lambda("A.3")
    >>> difference.equals(2 * bounds.LAM * (bounds.SIGMA_P - bounds.SIGMA_A) / bounds.S)
    True
    """
    if form not in _BETA_FORMS:
        raise ValueError(f"form must be one of {_BETA_FORMS}, got {form!r}")
    sigma = SIGMA_P if form == "lemma4" else SIGMA_A
    return 8 * N * R / H**3 + sp.Rational(2) * LAM / S * sigma


def gradient_threshold_expression(which: str = "lemma") -> sp.Expr:
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
    >>> bounds.solve_for_iterations(bounds.gradient_threshold_expression("A.3"))
    8*(r_max-r_min)*beta*max|A^i|**2*|S|**2/((1-gamma)*lambda**2)
    """
    roots = sp.solve(sp.Eq(smoothness_inequality(), threshold**2), T)
    if len(roots) != 1:  # pragma: no cover - a positive threshold always has one root
        raise ValueError(f"expected one root for T, got {roots}")
    return roots[0]


def lambda_choice_expression(theorem: int) -> sp.Expr:
    r"""The :math:`\lambda` that makes the lemma's guarantee equal :math:`\epsilon`.

    Theorem 1 invokes Lemma 2 (:math:`2\lambda M`-Nash), Theorem 2 invokes Lemma 3
    (:math:`2^{N+1}N\lambda M`-optimal); the guarantee is solved for :math:`\lambda`.

    >>> from bnpg import bounds
    >>> bounds.lambda_choice_expression(2)
    2**(-N - 1)*epsilon/(M*N)
    """
    theorem = check_theorem(theorem)
    guarantee = 2 * LAM * M if theorem == 1 else 2 ** (N + 1) * N * LAM * M
    (root,) = sp.solve(sp.Eq(guarantee, EPS), LAM)
    return root


#: :func:`lambda_choice_expression` under the name the book's chapter on the audit calls it by.
lambda_choice = lambda_choice_expression


def derived_iteration_bound(
    theorem: int, *, threshold: str = "lemma", beta_form: str = "lemma4"
) -> sp.Expr:
    r"""Re-derived iteration bound: solve for ``T``, substitute :math:`\beta_\lambda`, then :math:`\lambda`.

    Parameters
    ----------
    theorem : {1, 2}
    threshold : {"lemma", "A.3"}
        The gradient threshold imposed (see :func:`gradient_threshold_expression`).
    beta_form : {"lemma4", "A.3"}
        The form of :math:`\beta_\lambda` (see :func:`beta_lambda`).

    Returns
    -------
    sympy.Expr
        Expanded: one term in :math:`(r_{\max}-r_{\min})^2` and one in :math:`r_{\max}-r_{\min}`.

    Examples
    --------
    With A.3's own threshold and :math:`\beta_\lambda`, the derivation gives A.3's last line
    without its stray :math:`\lambda`:

    >>> from bnpg import bounds
    >>> from bnpg.theory.symbolic.bounds import N, M, S, A_MAX, SIGMA_A, R, H, EPS
    >>> T1 = bounds.derived_iteration_bound(1, threshold="A.3", beta_form="A.3")
    >>> T1.equals(256 * N * M**2 * S**2 * A_MAX**2 * R**2 / (H**4 * EPS**2)
    ...           + 32 * M * S * A_MAX**2 * SIGMA_A * R / (H * EPS))
    True
    """
    theorem = check_theorem(theorem)
    tau, beta = gradient_threshold_expression(threshold), beta_lambda(beta_form)
    return _iterations(tau, beta, lambda_choice_expression(theorem))


def _iterations(threshold: sp.Expr, beta: sp.Expr, lam: sp.Expr) -> sp.Expr:
    t_min = solve_for_iterations(threshold).subs(BETA, beta).subs(LAM, lam)
    return sp.powsimp(sp.expand(t_min))


def iteration_bound_expression(theorem: int, as_printed: bool) -> sp.Expr:
    r"""The iteration bound of Theorem 1 or 2 as a sympy expression in :math:`\epsilon, M, N, \dots`.

    Parameters
    ----------
    theorem : {1, 2}
    as_printed : bool
        ``True``: the expression printed in the theorem statement, with :math:`\lambda` replaced by the
        value its proof chooses (:func:`lambda_choice_expression`). ``False``: the bound re-derived from the
        smoothness inequality with the threshold exactly as Lemma 2 / Lemma 3 state it and
        :math:`\beta_\lambda` of Lemma 4 (:func:`derived_iteration_bound`).

    Examples
    --------
    >>> from bnpg import bounds
    >>> from bnpg.theory.symbolic.bounds import N, M, S, A, A_MAX, SIGMA_P, R, H, EPS
    >>> T2 = bounds.iteration_bound_expression(2, as_printed=False)
    >>> T2.equals(2 ** (2 * N + 8) * N**3 * M**2 * S**2 * A**2 * A_MAX**2 * R**2 / (EPS**2 * H**4)
    ...           + 2 ** (N + 5) * N * M * S * A**2 * A_MAX**2 * R * SIGMA_P / (EPS * H))
    True
    """
    theorem = check_theorem(theorem)
    if not isinstance(as_printed, bool):
        raise TypeError(f"as_printed must be a bool, got {type(as_printed).__name__}")
    if as_printed:
        key = f"Theorem {theorem}: T"
        return sp.powsimp(sp.expand(PRINTED[key].subs(LAM, lambda_choice_expression(theorem))))
    return derived_iteration_bound(theorem)


# ------------------------------------------------------------------------------------------------
# The sharpened bounds (bnpg.theory.sharpened)
# ------------------------------------------------------------------------------------------------


def sharp_threshold_expression(lemma: int) -> sp.Expr:
    r"""The sharpened threshold: :math:`\lambda/(|\mathcal S|\kappa)` (``lemma=2``), :math:`\lambda/(|\mathcal S||\mathcal A|\sqrt{\Sigma_k})` (3).

    >>> from bnpg import bounds
    >>> bounds.sharp_threshold_expression(2), bounds.sharp_threshold_expression(3)
    (lambda/(kappa*|S|), lambda/(sqrt(Sigma_k)*|A|*|S|))
    """
    if isinstance(lemma, bool) or not isinstance(lemma, int):
        raise TypeError(f"lemma must be the int 2 or 3, got {type(lemma).__name__} {lemma!r}")
    if lemma not in (2, 3):
        raise ValueError(f"lemma must be 2 or 3, got {lemma}")
    return LAM / (S * KAPPA) if lemma == 2 else LAM / (S * A * sp.sqrt(SIGMA_K))


def sharp_lambda_choice(theorem: int) -> sp.Expr:
    r"""The :math:`\lambda` that makes the sharpened guarantee :math:`\rho\lambda M` equal :math:`\epsilon` (:data:`RHO`: :math:`\rho_2`, :math:`\rho_3`).

    >>> from bnpg import bounds
    >>> bounds.sharp_lambda_choice(1)
    epsilon/(M*rho)
    """
    check_theorem(theorem)  # the two differ only in what RHO stands for
    return sp.solve(sp.Eq(RHO * LAM * M, EPS), LAM)[0]


def sharpened_iteration_bound(theorem: int) -> sp.Expr:
    r"""Sharpened ``T``: solve for it at :func:`sharp_threshold_expression`, substitute Lemma 4's :math:`\beta_\lambda`, then :func:`sharp_lambda_choice`.

    Theorem 1 invokes Lemma 2, Theorem 2 Lemma 3; in floating point: :func:`bnpg.theory.sharpened.sharp_iteration_bound`.

    >>> from bnpg import bounds
    >>> from bnpg.theory.symbolic.bounds import N, M, S, KAPPA, RHO, SIGMA_P, R, H, EPS
    >>> bounds.sharpened_iteration_bound(1).equals(16 * N * R**2 * S**2 * KAPPA**2 * RHO**2 * M**2 / (H**4 * EPS**2)
    ...                                            + 4 * SIGMA_P * R * S * KAPPA**2 * RHO * M / (H * EPS))
    True
    """
    theorem = check_theorem(theorem)
    return _iterations(sharp_threshold_expression(theorem + 1), beta_lambda("lemma4"),
                       sharp_lambda_choice(theorem))


def sharpening_ratio(theorem: int) -> sp.Expr:
    r"""Sharpened over corrected ``T`` (:func:`derived_iteration_bound`) in the :math:`1/\epsilon^2` terms, which dominate as :math:`\epsilon \to 0`.

    >>> from bnpg import bounds
    >>> bounds.sharpening_ratio(1)
    kappa**2*rho**2/(16*max|A^i|**2*|A|**2)
    """
    theorem = check_theorem(theorem)
    sharp, corrected = (sp.expand(t).coeff(EPS, -2)
                        for t in (sharpened_iteration_bound(theorem), derived_iteration_bound(theorem)))
    return sp.simplify(sharp / corrected)


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
# Numbers for a game
# ------------------------------------------------------------------------------------------------


def game_parameters(game: MarkovGame, dag: DAG, *, M=None, theorem=None) -> dict:
    r"""The constants of the bounds for a game and a DAG, exact (rationals, square roots) and keyed by symbol.

    ``|A^{P^i}|`` is the product of the parents' action counts in ``dag``; :math:`r_{\max}-r_{\min}`
    comes from the game's rewards; ``M=None`` computes :func:`bnpg.mismatch_coefficient`.
    Floats are converted exactly (their binary value), so a bound is evaluated with one rounding.
    :data:`KAPPA` and :data:`SIGMA_K` are left out if no agent has a choice; :data:`RHO` comes only with
    ``theorem``, as :func:`bnpg.theory.sharpened.sharp_factor` has it: :math:`\rho_2` on ``dag`` (1), :math:`\rho_3` (2).

    Raises
    ------
    ValueError
        If the DAG has another number of agents, ``M`` is below 1 or Assumption 1 fails (``M`` infinite),
        or for ``theorem=2`` with a DAG that is not fully correlated.

    Examples
    --------
    >>> import numpy as np, bnpg
    >>> from bnpg import bounds
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 3, 1)), np.zeros((1, 2, 3)), [1.0], 0.5)
    >>> p = bounds.game_parameters(game, bnpg.DAG.chain(2))
    >>> p[bounds.SIGMA_P], p[bounds.SIGMA_A], p[bounds.A], p[bounds.M]
    (3/2, 5/6, 6, 1)
    >>> p[bounds.KAPPA], p[bounds.SIGMA_K], bounds.game_parameters(game, bnpg.DAG.chain(2), theorem=1)[bounds.RHO]
    (2*sqrt(6), 7/6, sqrt(2)/6 + 2/3)
    """
    check_game_and_dag(game, dag)
    if theorem is not None and check_theorem(theorem) == 2:
        fully_correlated("dag", dag, needed_by="theorem=2")
    M_value = mismatch_of(game, M)
    sizes = game.action_sizes
    parent_sizes = [math.prod(sizes[j] for j in dag.parents(i)) for i in range(game.n_agents)]
    values = {
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
    pairs = list(zip(parent_sizes, sizes, strict=True))
    if any(k > 1 for _, k in pairs):  # else no threshold is finite and the three are undefined
        K, k = max(pairs, key=lambda p: p[0] ** 2 * p[1] * (p[1] - 1))
        n, kappa = game.n_states, K * sp.sqrt(k * (k - 1))
        values[KAPPA], values[SIGMA_K] = kappa, sp.Rational(sum(1 - Fraction(1, a) for a in sizes))
        if theorem == 1:  # (L2) at tau_2 over lambda M: the largest over the agents
            values[RHO] = sp.Max(*(1 - sp.Rational(1, a) + sp.sqrt(sp.Rational(b * (a - 1), n * a)) / kappa
                                   for b, a in pairs))
        elif theorem == 2:  # (L3) at tau_3 over lambda M
            values[RHO] = 1 - 1 / values[A] + 1 / (sp.sqrt(n) * values[A])
    return values
