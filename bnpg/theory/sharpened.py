r"""Lemmas 2 and 3 with the best constants their argument gives, and Theorems 1 and 2 re-derived from them.

Notation: :math:`k_i = |\mathcal A^i|`, :math:`K_i = |\mathcal A^{\mathcal P^i}|`, :math:`|\mathcal A|` the
number of joint actions, :math:`d = d_\mu^{\pi_\theta}` the unnormalised visitation, :math:`g` the
gradient of :math:`L_\lambda` and :math:`g_{s,p}` its block at agent :math:`i`, state :math:`s` and parents'
actions :math:`p`. Lemma 1 (corrected, errata E1) solved for the local advantage gives, at every
:math:`\theta`,

.. math::

    A^i(s,p,a) = \frac{c_i}{d(s)\pi(p\mid s)}
               + \frac{g_{s,p}(a) - c_i/k_i}{d(s)\pi(p\mid s)\,\pi^i(a\mid s,p)},
    \qquad c_i = \frac{\lambda}{|\mathcal S| K_i},                                    \tag{S1}

and every block sums to zero, so its largest entry is at most :math:`\sqrt{1-1/k_i}\,\|g_{s,p}\|_2` (S2).
The labels (S1)-(S3) are those of the book's chapter on sharper constants, where (S3) is the telescoping
identity below.

**Lemma 2, sharpened.** If :math:`\|g\|_2 \le \tau \le \tau_2^\sharp = \min_{i:\,k_i\ge2}
\lambda/(|\mathcal S| K_i\sqrt{k_i(k_i-1)})`, every entry of every block is at most :math:`c_i/k_i`, (S1)
gives :math:`A^i(s,p,a) \le (c_i(1-1/k_i) + \max_a g_{s,p}(a))/(d(s)\pi(p\mid s))`, and the
performance-difference lemma for agent :math:`i`'s deviation (visitation :math:`d'`) gives

.. math::

    \begin{aligned}
    \text{gain}_i &\le \sum_s \frac{d'(s)}{d(s)}\sum_p \Big(c_i(1-\tfrac1{k_i})
                       + \sqrt{1-\tfrac1{k_i}}\,\|g_{s,p}\|\Big) \\
    &\le M\Big(\lambda(1-\tfrac1{k_i}) + \sqrt{|\mathcal S|K_i(1-\tfrac1{k_i})}\,\tau\Big) \le \lambda M. \qquad (L2)
    \end{aligned}

**Lemma 3, sharpened.** On a fully-correlated DAG the local advantages telescope (errata E11):
:math:`Q(s,a) - V(s) = \lambda/(|\mathcal S|d(s)) + (G_s(a) - \lambda/(|\mathcal S||\mathcal A|))/(d(s)\pi(a\mid s))`
with :math:`G_s(a) = \sum_i g_i\,\pi(a\mid s)/\pi(a^{\mathcal P^i_+}\mid s) \le \sqrt{\Sigma_k}\,\|g_s\|`,
:math:`\Sigma_k = \sum_i(1-1/k_i)`. If :math:`\|g\|_2 \le \tau \le \tau_3^\sharp =
\lambda/(|\mathcal S||\mathcal A|\sqrt{\Sigma_k})`, then

.. math::

    V^\star(\mu) - V_\theta(\mu) \le M\Big(\lambda(1-\tfrac1{|\mathcal A|}) + \sqrt{|\mathcal S|\Sigma_k}\,\tau\Big)
    \le \lambda M, \tag{L3}

with no condition on :math:`N`. The paper's threshold :math:`\lambda/(2|\mathcal S||\mathcal A|\max_i k_i)`
is within :math:`\tau_3^\sharp` exactly when :math:`\Sigma_k \le 4\max_i k_i^2`
(:func:`paper_threshold_within`).

**Tightness, in the worst case over game structures.** Neither threshold can be raised for every
game: for any :math:`\tau > \tau^\sharp` some one-state games have points with :math:`\|g\| \le \tau`
and gap / :math:`\lambda M` as large as one likes; and the constant :math:`\lambda M` is attained in
the limit on particular one-state games (:mod:`bnpg.theory.witnesses`). For a given structure
(state count, action sizes, network) the best constant is that structure's own
:math:`\rho\lambda M` with :math:`\rho` = :func:`sharp_factor`, which can be below 1.

**Theorems 1 and 2, sharpened.** With :math:`\rho` = (L2) or (L3) at :math:`\tau^\sharp` divided by
:math:`\lambda M` (:func:`sharp_factor`, at most 1), the choice :math:`\lambda^\sharp = \epsilon/(\rho M)` makes
the conclusion :math:`\epsilon`, and the ascent inequality asks for
:math:`T^\sharp = 2\beta_{\lambda^\sharp} G / \tau^\sharp(\lambda^\sharp)^2` (:func:`sharp_iteration_bound`).
"""

from __future__ import annotations

import math
from fractions import Fraction

from bnpg._validation import action_counts, fully_correlated, mismatch_value, non_negative, positive
from bnpg.model.dag import DAG
from bnpg.model.game import MarkovGame
from bnpg.model.policy import check_game_and_dag
from bnpg.theory.constants import (
    check_theorem,
    mismatch_of,
    parent_action_counts,
    smoothness_bound,
    value_range_bound,
)

__all__ = [
    "LEMMAS",
    "paper_threshold_within",
    "sharp_bound",
    "sharp_factor",
    "sharp_iteration_bound",
    "sharp_lambda",
    "sharp_threshold",
]

#: The two sharpened statements, by the number of the paper's lemma.
LEMMAS = (2, 3)


def _lemma(lemma) -> int:
    if isinstance(lemma, bool) or not isinstance(lemma, int):
        raise TypeError(f"lemma must be the int 2 or 3, got {type(lemma).__name__} {lemma!r}")
    if lemma not in LEMMAS:
        raise ValueError(f"lemma must be 2 or 3, got {lemma!r}")
    return int(lemma)


def _check(game: MarkovGame, dag: DAG, lemma) -> int:
    check_game_and_dag(game, dag)
    lemma = _lemma(lemma)
    if lemma == 3:
        fully_correlated("dag", dag, needed_by="lemma 3")
    return lemma


def _sigma_k(game: MarkovGame) -> float:
    return sum(1.0 - 1.0 / k for k in game.action_sizes)


def sharp_threshold(game: MarkovGame, dag: DAG, lam: float, *, lemma: int) -> float:
    r"""The weakest gradient threshold under which the sharpened lemma holds: :math:`\tau_2^\sharp` or :math:`\tau_3^\sharp`.

    Parameters
    ----------
    game : MarkovGame
    dag : DAG
        Fully correlated for ``lemma=3``.
    lam : float
        :math:`\lambda \ge 0`.
    lemma : {2, 3}

    Returns
    -------
    float
        ``lemma=2``: :math:`\min_{i:\,k_i\ge2}\lambda/(|\mathcal S|K_i\sqrt{k_i(k_i-1)})`;
        ``lemma=3``: :math:`\lambda/(|\mathcal S||\mathcal A|\sqrt{\sum_i(1-1/k_i)})`. ``inf`` when
        no agent has a choice.

    Examples
    --------
    Two agents with two actions on one state: on the empty DAG every agent has :math:`K_i = 1`,
    on the full DAG agent 1 has :math:`K_1 = 2`; Lemma 3 has :math:`\sum_i(1-1/k_i) = 1`.

    >>> import bnpg
    >>> game = bnpg.games.matching_game(2, 2)
    >>> sharp_threshold(game, bnpg.DAG.empty(2), 1.0, lemma=2) == 1 / 2**0.5
    True
    >>> sharp_threshold(game, bnpg.DAG.full(2), 1.0, lemma=2) == 1 / (2 * 2**0.5)
    True
    >>> sharp_threshold(game, bnpg.DAG.full(2), 1.0, lemma=3)
    0.25
    """
    lemma = _check(game, dag, lemma)
    lam = non_negative("lam", lam)
    S, sizes = game.n_states, game.action_sizes
    if lemma == 2:
        counts = parent_action_counts(game, dag)
        widths = [K * math.sqrt(k * (k - 1)) for K, k in zip(counts, sizes, strict=True) if k > 1]
        return lam / (S * max(widths)) if widths else math.inf
    sigma = _sigma_k(game)
    return lam / (S * game.n_joint_actions * math.sqrt(sigma)) if sigma > 0 else math.inf


def sharp_bound(game: MarkovGame, dag: DAG, lam: float, M: float, *, lemma: int,
                grad_norm: float | None = None) -> float:
    r"""The sharpened conclusion (L2) or (L3) at points with :math:`\|\nabla L_\lambda\|_2 \le` ``grad_norm``.

    Parameters
    ----------
    game, dag, lam
        As in :func:`sharp_threshold`.
    M : float
        The mismatch coefficient, ``>= 1``.
    lemma : {2, 3}
        2: a bound on the Nash gap (Definition 1); 3: on the optimality gap.
    grad_norm : float, optional
        The gradient bound :math:`\tau` the points meet; default :func:`sharp_threshold`, where the
        bound is :func:`sharp_factor` times :math:`\lambda M`.

    Raises
    ------
    ValueError
        If ``grad_norm`` exceeds :func:`sharp_threshold`: beyond it no bound of the form
        :math:`C\lambda M` holds (:mod:`bnpg.theory.witnesses`).

    Examples
    --------
    On one state with :math:`K_i = 1` both bounds are :math:`\lambda M` at the threshold:

    >>> import bnpg
    >>> game = bnpg.games.matching_game(2, 2)
    >>> sharp_bound(game, bnpg.DAG.empty(2), 0.1, 1.0, lemma=2)
    0.1
    >>> sharp_bound(game, bnpg.DAG.full(2), 0.5, 1.0, lemma=3, grad_norm=0.0)   # lambda (1 - 1/4)
    0.375
    """
    lemma = _check(game, dag, lemma)
    lam = non_negative("lam", lam)
    M = mismatch_value("M", M)
    limit = sharp_threshold(game, dag, lam, lemma=lemma)
    tau = limit if grad_norm is None else non_negative("grad_norm", grad_norm)
    if tau > limit:
        raise ValueError(
            f"grad_norm = {tau!r} exceeds the sharpened Lemma {lemma}'s threshold {limit!r}; "
            "beyond it the gap is not bounded by any multiple of lambda M"
        )
    if math.isinf(tau):
        return 0.0
    S, sizes = game.n_states, game.action_sizes
    if lemma == 2:
        counts = parent_action_counts(game, dag)
        return M * max(lam * (1 - 1 / k) + math.sqrt(S * K * (1 - 1 / k)) * tau
                       for K, k in zip(counts, sizes, strict=True))
    return M * (lam * (1 - 1 / game.n_joint_actions) + math.sqrt(S * _sigma_k(game)) * tau)


def sharp_factor(game: MarkovGame, dag: DAG, *, lemma: int) -> float:
    r""":math:`\rho`: the sharpened conclusion at its own threshold divided by :math:`\lambda M` (at most 1).

    .. math::

        \rho_2 = \max_i\Big(1 - \tfrac{1}{k_i} + \frac{\sqrt{|\mathcal S| K_i(1-1/k_i)}}{|\mathcal S|\,\max_j K_j\sqrt{k_j(k_j-1)}}\Big),

    .. math::

        \rho_3 = 1 - \frac{1}{|\mathcal A|} + \frac{1}{\sqrt{|\mathcal S|}\,|\mathcal A|}.

    >>> import bnpg
    >>> game = bnpg.games.matching_game(2, 2)
    >>> sharp_factor(game, bnpg.DAG.full(2), lemma=3)
    1.0
    >>> round(sharp_factor(game, bnpg.DAG.full(2), lemma=2), 6)   # 1/2 + 1/(2 sqrt 2)
    0.853553
    """
    lemma = _check(game, dag, lemma)
    if math.isinf(sharp_threshold(game, dag, 1.0, lemma=lemma)):
        return 0.0
    return sharp_bound(game, dag, 1.0, 1.0, lemma=lemma)


def paper_threshold_within(action_sizes) -> bool:
    r"""Whether the paper's threshold is within :math:`\tau_3^\sharp`: :math:`\sum_i(1-1/|\mathcal A^i|) \le 4\max_i|\mathcal A^i|^2`.

    Then the paper's Lemma 3 holds with :math:`\lambda M`; otherwise one-state games break it with
    any constant (:func:`bnpg.theory.witnesses.threshold_breach`). The condition relaxes errata E11's
    :math:`\sqrt N \le 2\max_i|\mathcal A^i|`; for two actions per agent it allows 32 agents instead of 16.

    Parameters
    ----------
    action_sizes : MarkovGame or sequence of int
        A game, or the agents' numbers of actions (so that games too large to build can be asked about).

    >>> paper_threshold_within([2] * 32), paper_threshold_within([2] * 33)
    (True, False)
    """
    sizes = action_sizes.action_sizes if isinstance(action_sizes, MarkovGame) else action_counts("action_sizes", action_sizes)
    # exact arithmetic: the boundary (e.g. 54 agents with three actions) must not depend on rounding
    return sum(Fraction(k - 1, k) for k in sizes) <= 4 * max(sizes) ** 2


def _theorem_lemma(game, dag, theorem) -> int:
    theorem = check_theorem(theorem)
    check_game_and_dag(game, dag)
    if theorem == 2:
        fully_correlated("dag", dag, needed_by="theorem 2")
    return theorem + 1


def sharp_lambda(game: MarkovGame, dag: DAG, eps: float, M: float | None = None, *, theorem: int) -> float:
    r""":math:`\lambda^\sharp = \epsilon/(\rho M)`: the regularisation that makes the sharpened conclusion :math:`\epsilon`.

    Compare :func:`bnpg.theory.constants.lambda_choice`: :math:`\epsilon/(2M)` (Theorem 1) and
    :math:`\epsilon/(2^{N+1}NM)` (Theorem 2).

    >>> import bnpg
    >>> sharp_lambda(bnpg.games.matching_game(2, 2), bnpg.DAG.full(2), 0.5, 1.0, theorem=2)
    0.5
    """
    lemma = _theorem_lemma(game, dag, theorem)
    eps = positive("eps", eps)
    rho = sharp_factor(game, dag, lemma=lemma)
    if rho == 0.0:
        raise ValueError("no agent has a choice: every policy is optimal and no lambda is needed")
    return eps / (rho * mismatch_of(game, M))


def sharp_iteration_bound(game: MarkovGame, dag: DAG, eps: float, *, theorem: int, M: float | None = None,
                          gain: float | None = None, lam: float | None = None) -> float:
    r"""The iterations the sharpened Theorem 1 or 2 asks for: :math:`T^\sharp = 2\beta_\lambda G/\tau^\sharp(\lambda)^2`.

    Parameters
    ----------
    game, dag, eps, theorem, M
        As in :func:`bnpg.theory.constants.iteration_bound`.
    gain : float, optional
        :math:`G`, default :func:`bnpg.theory.constants.value_range_bound`.
    lam : float, optional
        Default :func:`sharp_lambda`. Another :math:`\lambda` (for instance the paper's, to bound the
        run the paper prescribes) must make the sharpened conclusion at most ``eps``.

    Examples
    --------
    One state, two agents with two actions, rewards in [0, 1], gamma = 1/2, full DAG: M = 1,
    rho = 1, lambda = eps = 1, tau = 1/4, beta = 128 + 2 (1 + 1/2) = 131, G = 2, so
    T = 2 * 131 * 2 * 16:

    >>> import bnpg
    >>> sharp_iteration_bound(bnpg.games.matching_game(2, 2, gamma=0.5), bnpg.DAG.full(2), 1.0, theorem=2)
    8384.0
    """
    lemma = _theorem_lemma(game, dag, theorem)
    eps = positive("eps", eps)
    M = mismatch_of(game, M)
    lam = sharp_lambda(game, dag, eps, M, theorem=theorem) if lam is None else positive("lam", lam)
    conclusion = sharp_bound(game, dag, lam, M, lemma=lemma)
    if conclusion > eps * (1 + 1e-12):
        raise ValueError(f"lam = {lam!r} gives the sharpened conclusion {conclusion!r} > eps = {eps!r}")
    gain = value_range_bound(game) if gain is None else non_negative("gain", gain)
    tau = sharp_threshold(game, dag, lam, lemma=lemma)
    return 2.0 * smoothness_bound(game, dag, lam) * gain / tau**2

