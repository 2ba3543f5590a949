r"""The paper's constants as numbers, each with one home (Lemmas 2-4, Theorems 1-2, Appendix A).

Every other module, every notebook and the command line take these numbers from here; the symbolic
audit of :mod:`bnpg.theory.symbolic.bounds` re-derives the same formulas with sympy and the tests check that the two
agree. Notation: :math:`R = r_{\max} - r_{\min}`, :math:`|\mathcal A|` the number of joint actions,
:math:`|\mathcal A^{\mathcal P^i}|` the number of joint actions of agent ``i``'s parents,
:math:`\Sigma_{\mathcal P} = \sum_i 1/|\mathcal A^{\mathcal P^i}|`.

=====================================  ===========================================================================
:func:`gradient_threshold`             :math:`\tau = \lambda / (2|\mathcal S||\mathcal A|\max_i|\mathcal A^i|)`, the hypothesis of Lemmas 2-3
:func:`lemma2_bound`                   :math:`2\lambda M`, Lemma 2's Nash gap
:func:`lemma3_bound`                   :math:`2^{N+1}N\lambda M` as printed (sharpened: :mod:`bnpg.theory.sharpened`)
:func:`smoothness_bound`               :math:`\beta_\lambda = 8NR/(1-\gamma)^3 + \sum_i 2\lambda/(|\mathcal S||\mathcal A^{\mathcal P^i}|)` (Lemma 4)
:func:`value_range_bound`              :math:`R/(1-\gamma)`, the bound on :math:`V_{\max} - V_{\min}` used in A.3 and A.5
:func:`lambda_choice`                  :math:`\epsilon/(2M)` (Theorem 1), :math:`\epsilon/(2^{N+1}NM)` (Theorem 2)
:func:`iteration_bound`                the theorems' :math:`T`, printed and re-derived (errata E5-E9)
:func:`theory_setting`                 :math:`\lambda`, :math:`\beta_\lambda`, :math:`\eta = 1/\beta_\lambda` and :math:`\tau` of a theorem
=====================================  ===========================================================================

**The iteration bounds.** Both theorems rest on the ascent inequality for a
:math:`\beta_\lambda`-smooth objective with :math:`\eta = 1/\beta_\lambda`,
:math:`\min_{t<T}\|\nabla L_\lambda(\theta_t)\|^2 \le 2\beta_\lambda\, G / T`, where :math:`G` bounds the
gain :math:`L_\lambda(\theta^*) - L_\lambda(\theta_0)`; asking for :math:`\tau^2` gives

.. math::

    T \ge \frac{2 \beta_\lambda G}{\tau^2}, \qquad G = \frac{R}{1-\gamma} \text{ in the proofs}.

The *corrected* bound is this expression with the lemmas' own threshold and Lemma 4's
:math:`\beta_\lambda`; the *printed* one is the theorem statement with the proof's :math:`\lambda`:

.. math::

    \begin{aligned}
    T_1^{\text{printed}} &= \frac{256 N M^2|\mathcal S|^2\max_i|\mathcal A^i|^2R^2}{(1-\gamma)^4\epsilon^2}
    + \frac{32\lambda M|\mathcal S|\max_i|\mathcal A^i|^2\Sigma_{\mathcal P}R}{(1-\gamma)\epsilon},\\
    T_2^{\text{printed}} &= \frac{2^{N+8}N^3M^2|\mathcal S|^2|\mathcal A|^2\max_i|\mathcal A^i|^2R^2}{\epsilon^2(1-\gamma)^4}
    \\ &\qquad + \frac{8NM|\mathcal S||\mathcal A|^2\max_i|\mathcal A^i|^2R\,\Sigma_{\mathcal P}}{\epsilon(1-\gamma)}.
    \end{aligned}
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bnpg._validation import fully_correlated, instance_of, mismatch_value, non_negative, positive
from bnpg.exact.mismatch import mismatch_coefficient
from bnpg.model.dag import DAG
from bnpg.model.game import MarkovGame
from bnpg.model.policy import check_game_and_dag

__all__ = [
    "BETA_FORMS",
    "BOUND_FORMS",
    "GAP_METRICS",
    "TheorySetting",
    "check_theorem",
    "gradient_threshold",
    "iteration_bound",
    "lambda_choice",
    "lemma2_bound",
    "lemma3_bound",
    "mismatch_of",
    "parent_action_counts",
    "smoothness_bound",
    "theory_setting",
    "value_range_bound",
]

#: Forms of :math:`\beta_\lambda`: Lemma 4's, and Appendix A.3's with :math:`|\mathcal A^i|` in place of :math:`|\mathcal A^{\mathcal P^i}|`.
BETA_FORMS = ("lemma4", "A.3")
#: Forms of a bound: as the paper prints it, and as this book corrects it.
BOUND_FORMS = ("printed", "corrected")
#: The gap each theorem controls: Definition 1 (Theorem 1) and Definition 2 (Theorem 2).
GAP_METRICS = ("nash_gap", "optimality_gap")


def _game(game) -> MarkovGame:
    return instance_of("game", game, MarkovGame)


def _form(form: str, choices: tuple[str, ...]) -> str:
    if form not in choices:
        raise ValueError(f"form must be one of {choices}, got {form!r}")
    return form


def check_theorem(theorem) -> int:
    """``theorem`` as the int 1 or 2, refusing anything else (booleans and floats included)."""
    if isinstance(theorem, bool) or not isinstance(theorem, int):
        raise TypeError(f"theorem must be the int 1 or 2, got {type(theorem).__name__} {theorem!r}")
    if theorem not in (1, 2):
        raise ValueError(f"theorem must be 1 or 2, got {theorem}")
    return theorem


def mismatch_of(game: MarkovGame, M=None, *, infinite_ok: bool = False) -> float:
    """The mismatch coefficient ``M`` checked (a number >= 1), or the game's, computed exactly, when
    ``M`` is ``None``.

    An infinite coefficient (the game violates Assumption 1) is an error unless ``infinite_ok``.

    Examples
    --------
    >>> from bnpg import games
    >>> mismatch_of(games.climbing_game()), mismatch_of(games.climbing_game(), 2)
    (1.0, 2.0)
    """
    if M is None:
        M = mismatch_coefficient(game)
        if not infinite_ok and not math.isfinite(M):
            raise ValueError(
                "the game violates Assumption 1 (some state can have zero visitation), so M is infinite"
            )
    return mismatch_value("M", M, infinite_ok=infinite_ok)


def parent_action_counts(game: MarkovGame, dag: DAG) -> tuple[int, ...]:
    r""":math:`|\mathcal A^{\mathcal P^i}|` for every agent (1 for an agent without parents).

    >>> from bnpg import games, DAG
    >>> parent_action_counts(games.random_game(1, (2, 3, 2), seed=0), DAG.full(3))
    (1, 2, 6)
    """
    check_game_and_dag(game, dag)
    sizes = game.action_sizes
    return tuple(math.prod(sizes[j] for j in dag.parents(i)) for i in range(game.n_agents))


def gradient_threshold(game: MarkovGame, lam: float) -> float:
    r"""The hypothesis of Lemmas 2 and 3: :math:`\|\nabla_\theta L_\lambda\|_2 \le \lambda / (2|\mathcal S||\mathcal A|\max_i|\mathcal A^i|)`.

    >>> from bnpg import games
    >>> gradient_threshold(games.climbing_game(), 0.54) == 0.54 / (2 * 1 * 9 * 3)
    True
    """
    game = _game(game)
    lam = non_negative("lam", lam)
    return lam / (2 * game.n_states * game.n_joint_actions * max(game.action_sizes))


def lemma2_bound(lam: float, M: float) -> float:
    r"""Lemma 2's conclusion: a point meeting :func:`gradient_threshold` is :math:`2\lambda M`-Nash.

    The book's errata (E2, E4) leave this constant as printed; the sharpened form, at most
    :math:`\lambda M`, is :func:`bnpg.theory.sharpened.sharp_bound`.

    >>> lemma2_bound(0.1, 3.0)
    0.6000000000000001
    """
    return 2.0 * non_negative("lam", lam) * mismatch_value("M", M)


def lemma3_bound(game: MarkovGame, lam: float, M: float) -> float:
    r"""Lemma 3's conclusion as printed: on a fully-correlated network, an optimality gap of at most :math:`2^{N+1} N \lambda M`.

    The book's sharpened form, at most :math:`\lambda M`, is :func:`bnpg.theory.sharpened.sharp_bound`.

    Examples
    --------
    >>> from bnpg import games
    >>> lemma3_bound(games.climbing_game(), 0.1, 1.0)   # 2^3 * 2 * 0.1
    1.6
    """
    game = _game(game)
    lam = non_negative("lam", lam)
    M = mismatch_value("M", M)
    n = game.n_agents
    return 2.0 ** (n + 1) * n * lam * M


def smoothness_bound(game: MarkovGame, dag: DAG, lam: float, *, form: str = "lemma4") -> float:
    r""":math:`\beta_\lambda` of Lemma 4 for this game and DAG.

    Parameters
    ----------
    game : MarkovGame
    dag : DAG
    lam : float
        :math:`\lambda \ge 0`.
    form : {"lemma4", "A.3"}
        ``"lemma4"`` (Lemma 4, the theorem statements and A.5):
        :math:`8N R/(1-\gamma)^3 + \sum_i 2\lambda/(|\mathcal S||\mathcal A^{\mathcal P^i}|)`;
        ``"A.3"`` (Appendix A.3, errata E7): the same with :math:`|\mathcal A^i|` in the sum.

    Examples
    --------
    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.5)
    >>> bnpg.smoothness_bound(game, bnpg.DAG.empty(2), lam=0.0)   # 8 * 2 * 1 / 0.5**3
    128.0
    """
    counts = parent_action_counts(game, dag)
    lam = non_negative("lam", lam)
    if _form(form, BETA_FORMS) == "A.3":
        counts = game.action_sizes
    spread = game.r_max - game.r_min
    return 8 * game.n_agents * spread / (1 - game.gamma) ** 3 + sum(
        2 * lam / (game.n_states * b) for b in counts
    )


def value_range_bound(game: MarkovGame) -> float:
    r""":math:`(r_{\max} - r_{\min})/(1-\gamma)`, the bound A.3 and A.5 put on :math:`L_\lambda(\theta^*) - L_\lambda(\theta_0)`.

    >>> from bnpg import games
    >>> value_range_bound(games.matching_game(2, 2, gamma=0.5))
    2.0
    """
    game = _game(game)
    return (game.r_max - game.r_min) / (1 - game.gamma)


def lambda_choice(game: MarkovGame, eps: float, M: float, *, theorem: int) -> float:
    r"""The regularisation the theorems choose: :math:`\epsilon/(2M)` (Theorem 1), :math:`\epsilon/(2^{N+1}NM)` (Theorem 2).

    Each makes the conclusion of the lemma the theorem invokes (:func:`lemma2_bound`,
    :func:`lemma3_bound` as printed) equal to :math:`\epsilon`.

    >>> from bnpg import games
    >>> game = games.climbing_game()
    >>> lambda_choice(game, 0.8, 2.0, theorem=1), lambda_choice(game, 0.8, 2.0, theorem=2)
    (0.2, 0.025)
    """
    game = _game(game)
    theorem = check_theorem(theorem)
    eps = positive("eps", eps)
    M = mismatch_value("M", M)
    n = game.n_agents
    return eps / (2 * M) if theorem == 1 else eps / (2 ** (n + 1) * n * M)


def iteration_bound(
    game: MarkovGame,
    dag: DAG,
    eps: float,
    *,
    theorem: int,
    form: str = "printed",
    M: float | None = None,
    gain: float | None = None,
) -> float:
    r"""The number of iterations Theorem 1 or 2 asks for on a concrete game (see the module docstring).

    Parameters
    ----------
    game : MarkovGame
    dag : DAG
        Theorem 2 requires a fully-correlated DAG (Definition 3).
    eps : float
        Target Nash gap (Theorem 1) or optimality gap (Theorem 2), ``> 0``.
    theorem : {1, 2}
    form : {"printed", "corrected"}
        ``"printed"``: the theorem statement with the proof's :math:`\lambda`. ``"corrected"``:
        :math:`2\beta_\lambda G/\tau^2` with Lemma 4's :math:`\beta_\lambda`, the lemmas' :math:`\tau`
        and the same :math:`\lambda` (errata E5-E9). Both assume :math:`\eta = 1/\beta_\lambda`.
    M : float, optional
        Mismatch coefficient; ``None`` computes it exactly (:func:`bnpg.mismatch_coefficient`).
    gain : float, optional
        Only with ``form="corrected"``: a bound :math:`G` on :math:`L_\lambda(\theta^*) - L_\lambda(\theta_0)`
        in place of the proofs' :func:`value_range_bound` (for instance
        :math:`V^\star(\mu) - L_\lambda(\theta_0)` from a start that is not uniform, errata E13).

    Returns
    -------
    float
        The bound on ``T`` (not rounded up to an integer).

    Examples
    --------
    One state, two agents with two actions, rewards in [0, 1], gamma = 1/2, so M = 1; for the chain
    :math:`\Sigma_{\mathcal P} = 3/2`. Theorem 1 as printed with eps = 1:
    256 * 2 * 4 / (1/2)^4 + 16 * 4 * (3/2) / (1/2) = 32768 + 192.

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.5)
    >>> iteration_bound(game, bnpg.DAG.chain(2), 1.0, theorem=1)
    32960.0
    """
    setting = theory_setting(game, dag, eps, theorem=theorem, M=M)
    form = _form(form, BOUND_FORMS)
    if form == "corrected":
        gain = value_range_bound(game) if gain is None else non_negative("gain", gain)
        return 2.0 * setting.beta * gain / setting.threshold**2
    if gain is not None:
        raise ValueError("gain applies only to form='corrected'; the printed bound fixes its own")
    n, S = game.n_agents, game.n_states
    A, a_max = game.n_joint_actions, max(game.action_sizes)
    R, h, M = game.r_max - game.r_min, 1 - game.gamma, setting.M
    sigma = sum(1.0 / b for b in parent_action_counts(game, dag))
    if theorem == 1:
        return (256 * n * M**2 * S**2 * a_max**2 * R**2 / (h**4 * eps**2)
                + 32 * setting.lam * M * S * a_max**2 * sigma * R / (h * eps))
    return (2.0 ** (n + 8) * n**3 * M**2 * S**2 * A**2 * a_max**2 * R**2 / (eps**2 * h**4)
            + 8 * n * M * S * A**2 * a_max**2 * R * sigma / (eps * h))


@dataclass(frozen=True)
class TheorySetting:
    r"""The numbers Theorem 1 or 2 fixes for a game, a DAG and a target :math:`\epsilon`.

    Attributes
    ----------
    theorem : int
        1 (Nash gap) or 2 (optimality gap).
    eps : float
        The target gap.
    M : float
        Mismatch coefficient.
    lam : float
        :func:`lambda_choice`.
    beta : float
        :math:`\beta_\lambda` of Lemma 4 at this :math:`\lambda` (:func:`smoothness_bound`).
    eta : float
        :math:`1/\beta_\lambda`.
    threshold : float
        :func:`gradient_threshold` at this :math:`\lambda`.
    metric : str
        ``"nash_gap"`` or ``"optimality_gap"``.
    """

    theorem: int
    eps: float
    M: float
    lam: float
    beta: float
    eta: float
    threshold: float
    metric: str


def theory_setting(game: MarkovGame, dag: DAG, eps: float, *, theorem: int, M=None) -> TheorySetting:
    r"""The regularisation, step size and gradient threshold of Theorem 1 or 2.

    Parameters
    ----------
    game : MarkovGame
    dag : DAG
        Theorem 2 requires a fully-correlated DAG (Definition 3).
    eps : float
        Target gap, ``> 0``.
    theorem : {1, 2}
    M : float, optional
        Mismatch coefficient; ``None`` computes it exactly (:func:`bnpg.mismatch_coefficient`).

    Raises
    ------
    ValueError
        For Theorem 2 with a DAG that is not fully correlated, for ``M < 1`` or an infinite ``M``
        (Assumption 1 fails).

    Examples
    --------
    One state, two agents with two actions, rewards in [0, 1], gamma = 1/2, so M = 1 and
    beta = 8 * 2 * 1 / (1/2)^3 + 2 lam (1 + 1) = 128 + 4 lam; with eps = 1/2, lam = 1/4.

    >>> import bnpg
    >>> from bnpg import games
    >>> s = theory_setting(games.matching_game(2, 2, gamma=0.5), bnpg.DAG.empty(2), 0.5, theorem=1)
    >>> s.lam, s.beta, s.threshold   # tau = (1/4) / (2 * 1 * 4 * 2)
    (0.25, 129.0, 0.015625)
    """
    check_game_and_dag(game, dag)
    theorem = check_theorem(theorem)
    eps = positive("eps", eps)
    if theorem == 2:
        fully_correlated("dag", dag, needed_by="theorem 2")
    M = mismatch_of(game, M)
    lam = lambda_choice(game, eps, M, theorem=theorem)
    beta = smoothness_bound(game, dag, lam)
    return TheorySetting(
        theorem=theorem, eps=eps, M=M, lam=lam, beta=beta, eta=1.0 / beta,
        threshold=gradient_threshold(game, lam), metric=GAP_METRICS[theorem - 1],
    )
