r"""Exact policy evaluation (paper, Sections 2 and 3).

For a joint policy :math:`\pi` let :math:`P_\pi(s, s') = \sum_a \pi(a \mid s) P(s' \mid s, a)` and
:math:`r_\pi(s) = \sum_a \pi(a \mid s) r(s, a)`. Everything is obtained from two linear solves:

.. math::

    \begin{aligned}
    V_\pi &= (I - \gamma P_\pi)^{-1} r_\pi, \qquad d_\mu^\pi{}^\top = \mu^\top (I - \gamma P_\pi)^{-1},\\
    Q_\pi(s, a) &= r(s, a) + \gamma \sum_{s'} P(s' \mid s, a) V_\pi(s').
    \end{aligned}

:math:`d_\mu^\pi(s) = \mathbb E_{s_0 \sim \mu} \sum_t \gamma^t \Pr^\pi(s_t = s \mid s_0)` is the
*unnormalised* discounted visitation measure of Section 2; it sums to :math:`1/(1-\gamma)`.

For a subset :math:`\mathcal M` of agents, the partial-action value of Section 3 is
:math:`Q_\pi(s, a^{\mathcal M}) = \mathbb E_{a^{-\mathcal M} \sim \pi^{-\mathcal M}(\cdot \mid s, a^{\mathcal M})}
Q_\pi(s, a^{\mathcal M}, a^{-\mathcal M})`, and the local advantage defined under Lemma 1 is
:math:`A^i_\theta(s, a^{\mathcal P^i}, a^i) = Q_\theta(s, a^{\mathcal P^i_+}) - Q_\theta(s, a^{\mathcal P^i})`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bnpg._validation import agent_index, read_only
from bnpg.model.game import MarkovGame
from bnpg.model.policy import BNPolicy, check_policy

__all__ = [
    "Evaluation",
    "evaluate",
    "evaluate_joint",
    "kernel",
    "local_advantage",
    "partial_q",
    "value",
    "visitation",
    "weighted_q",
]


@dataclass(frozen=True)
class Evaluation:
    """Exact evaluation of a joint policy.

    Attributes
    ----------
    V : ndarray, shape (S,)
        State values :math:`V_\\pi(s)`.
    Q : ndarray, shape (S, A_0, ..., A_{N-1})
        Action values :math:`Q_\\pi(s, a)`.
    d : ndarray, shape (S,)
        Unnormalised discounted visitation :math:`d_\\mu^\\pi(s)`, summing to ``1/(1-gamma)``.
    pi : ndarray, shape (S, A_0, ..., A_{N-1})
        The joint policy evaluated.
    value : float
        :math:`V_\\pi(\\mu)`.
    """

    V: np.ndarray
    Q: np.ndarray
    d: np.ndarray
    pi: np.ndarray
    value: float


def kernel(game: MarkovGame, pi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(P_pi, r_pi)`` of a joint policy array ``pi[s, a_0, ..., a_{N-1}]``.

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.5)
    >>> P_pi, r_pi = kernel(game, np.full((1, 2, 2), 0.25))
    >>> P_pi, r_pi
    (array([[1.]]), array([0.5]))"""
    S = game.n_states
    flat = pi.reshape(S, -1)
    P_pi = np.einsum("sa,sat->st", flat, game.P.reshape(S, -1, S))
    r_pi = np.einsum("sa,sa->s", flat, game.r.reshape(S, -1))
    return P_pi, r_pi


def evaluate_joint(game: MarkovGame, pi: np.ndarray) -> Evaluation:
    """Evaluate any joint policy array ``pi[s, a_0, ..., a_{N-1}]`` (not necessarily a BN policy).

    The caller guarantees that ``pi`` has the game's joint shape and sums to 1 over the actions.

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.5)
    >>> evaluate_joint(game, np.array([[[1.0, 0.0], [0.0, 0.0]]])).value   # always (0, 0): 1 / (1 - 0.5)
    2.0
    """
    S = game.n_states
    P_pi, r_pi = kernel(game, pi)
    M = np.eye(S) - game.gamma * P_pi
    V = np.linalg.solve(M, r_pi)
    d = np.linalg.solve(M.T, game.mu)
    Q = game.r + game.gamma * (game.P.reshape(-1, S) @ V).reshape(game.r.shape)
    return Evaluation(
        V=read_only(V), Q=read_only(Q), d=read_only(d), pi=pi, value=float(game.mu @ V)
    )


def evaluate(game: MarkovGame, policy: BNPolicy) -> Evaluation:
    r"""Exact :math:`V`, :math:`Q` and :math:`d_\mu` of a BN policy (Section 2).

    Parameters
    ----------
    game : MarkovGame
    policy : BNPolicy
        A policy built for ``game``.

    Returns
    -------
    Evaluation

    Examples
    --------
    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.9)
    >>> ev = bnpg.evaluate(game, bnpg.BNPolicy(game, bnpg.DAG.empty(2)))
    >>> round(ev.value, 12), round(float(ev.d.sum()), 12)
    (5.0, 10.0)
    """
    check_policy(game, policy)
    return evaluate_joint(game, policy.joint())


def value(game: MarkovGame, policy: BNPolicy) -> float:
    r""":math:`V_{\pi}(\mu)`, the quantity every agent maximises (Section 2).

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 1)), [[0.0, 1.0]], [1.0], 0.5)
    >>> bnpg.value(game, bnpg.BNPolicy(game, bnpg.DAG.empty(1)))
    1.0
    """
    return evaluate(game, policy).value


def visitation(game: MarkovGame, policy: BNPolicy) -> np.ndarray:
    r"""Unnormalised discounted state visitation :math:`d_\mu^\pi` (Section 2); sums to ``1/(1-gamma)``.

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 1)), [[0.0, 1.0]], [1.0], 0.5)
    >>> bnpg.visitation(game, bnpg.BNPolicy(game, bnpg.DAG.empty(1)))
    array([2.])
    """
    return evaluate(game, policy).d


def _evaluation_of(game: MarkovGame, policy: BNPolicy, ev: Evaluation | None) -> Evaluation:
    """``ev`` if it evaluates ``policy`` (checked by identity of the joint array), else a new one."""
    if ev is None:
        return evaluate(game, policy)
    if not isinstance(ev, Evaluation):
        raise TypeError(f"ev must be an Evaluation, got {type(ev).__name__}")
    if ev.pi is not policy.joint():
        raise ValueError("ev is not an evaluation of this policy (use bnpg.evaluate(game, policy))")
    return ev


def weighted_q(ev: Evaluation) -> np.ndarray:
    r""":math:`\pi(a \mid s) Q_\pi(s, a)`, the integrand of every partial-action value.

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.5)
    >>> weighted_q(bnpg.evaluate(game, bnpg.BNPolicy(game, bnpg.DAG.empty(2))))
    array([[[0.375, 0.125],
            [0.125, 0.375]]])"""
    return ev.pi * ev.Q


def partial_q(game: MarkovGame, policy: BNPolicy, agents, ev: Evaluation | None = None) -> np.ndarray:
    r"""Partial-action values :math:`Q_\pi(s, a^{\mathcal M})` of Section 3.

    Parameters
    ----------
    game, policy
    agents : iterable of int
        The subset :math:`\mathcal M`; the result's axes follow ``sorted(agents)``.
    ev : Evaluation, optional
        A ready evaluation of ``policy`` to reuse.

    Returns
    -------
    ndarray, shape (S, *[A_j for j in sorted(agents)])
        ``nan`` where :math:`\pi(a^{\mathcal M} \mid s) = 0` (the conditional expectation is undefined).

    Examples
    --------
    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.0)
    >>> bnpg.partial_q(game, bnpg.BNPolicy(game, bnpg.DAG.empty(2)), [0])
    array([[0.5, 0.5]])
    """
    check_policy(game, policy)
    members = policy.agent_set("agents", agents)
    ev = _evaluation_of(game, policy, ev)
    others = tuple(1 + j for j in range(game.n_agents) if j not in members)
    num = weighted_q(ev).sum(axis=others) if others else weighted_q(ev)
    den = ev.pi.sum(axis=others) if others else ev.pi
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def local_advantage(game: MarkovGame, policy: BNPolicy, i: int, ev: Evaluation | None = None) -> np.ndarray:
    r"""Local advantage :math:`A^i_\theta(s, a^{\mathcal P^i}, a^i) = Q_\theta(s, a^{\mathcal P^i_+}) - Q_\theta(s, a^{\mathcal P^i})` (Lemma 1).

    Returned in ``theta[i]``'s layout, ``(S, *parent sizes, A_i)``; ``nan`` where the parents'
    actions have probability zero.

    Examples
    --------
    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.0)
    >>> bnpg.local_advantage(game, bnpg.BNPolicy(game, bnpg.DAG.chain(2)), 1)
    array([[[ 0.5, -0.5],
            [-0.5,  0.5]]])
    """
    check_policy(game, policy)
    i = agent_index("i", i, game.n_agents)
    ev = _evaluation_of(game, policy, ev)
    lay = policy.structure.layouts[i]
    q_family = partial_q(game, policy, lay.family, ev).transpose(lay.to_theta)
    q_parents = partial_q(game, policy, lay.parents, ev)[..., None]
    return q_family - q_parents
