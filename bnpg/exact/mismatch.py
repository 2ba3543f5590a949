r"""The mismatch coefficient M and the extreme visitation measures (Assumption 1, Lemma 2).

:math:`M = \max_{\pi, \pi'} \| d_\mu^\pi / d_\mu^{\pi'} \|_\infty`. The maximum over the pair splits
state by state, :math:`M = \max_s \max_\pi d_\mu^\pi(s) / \min_{\pi'} d_\mu^{\pi'}(s)`, and for a
fixed target state ``x``, :math:`d_\mu^\pi(x)` is the value :math:`V_\pi(\mu)` of the reward
:math:`\mathbb 1[s = x]`. Its maximum and minimum over all policies are the optimal values of two
MDPs (reward :math:`\pm \mathbb 1[s = x]`, solved by :func:`bnpg.exact.mdp.policy_iteration`),
attained by deterministic stationary joint policies; deterministic joint policies are product
policies, hence BN policies for every DAG (as limits of softmax parameters). So the
:math:`2|\mathcal S|` policy iterations of :func:`visitation_extremes` give ``M`` exactly, with no
sampling of policies, and ``min d`` checks Assumption 1 (every state visited under every policy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bnpg._validation import instance_of
from bnpg.exact.mdp import joint_mdp, policy_iteration
from bnpg.model.game import MarkovGame

__all__ = ["VisitationExtremes", "min_visitation", "mismatch_coefficient", "visitation_extremes"]


@dataclass(frozen=True)
class VisitationExtremes:
    r"""Per-state extremes of :math:`d_\mu^\pi(s)` over all policies.

    Attributes
    ----------
    d_min, d_max : ndarray, shape (S,)
        :math:`\min_\pi d_\mu^\pi(s)` and :math:`\max_\pi d_\mu^\pi(s)`.
    argmin, argmax : ndarray of int, shape (S, S)
        Row ``x`` is a deterministic joint policy (flat joint-action index per state) attaining
        ``d_min[x]`` (resp. ``d_max[x]``).
    iterations : int
        Policy-iteration steps used in total.
    """

    d_min: np.ndarray
    d_max: np.ndarray
    argmin: np.ndarray
    argmax: np.ndarray
    iterations: int


def visitation_extremes(game: MarkovGame) -> VisitationExtremes:
    r"""Exact :math:`\min_\pi d_\mu^\pi(s)` and :math:`\max_\pi d_\mu^\pi(s)` for every state ``s``.

    Each is the optimal value of an MDP with reward :math:`\pm \mathbb 1[s_t = s]`, solved by
    policy iteration (see the module docstring for why this is exact).

    >>> import numpy as np, bnpg
    >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1; P[:, 1, 1] = 1   # action k moves to state k
    >>> game = bnpg.MarkovGame(P, np.zeros((2, 2)), [1.0, 0.0], 0.5)
    >>> ext = bnpg.visitation_extremes(game)
    >>> ext.d_min, ext.d_max
    (array([1., 0.]), array([2., 1.]))
    """
    instance_of("game", game, MarkovGame)
    S = game.n_states
    _, K = joint_mdp(game)
    n_joint = K.shape[2]
    d_min, d_max = np.empty(S), np.empty(S)
    arg_min, arg_max = np.empty((S, S), dtype=int), np.empty((S, S), dtype=int)
    total = 0
    for x in range(S):
        R = np.zeros((S, 1, n_joint))
        R[x] = 1.0
        hi = policy_iteration(R, K, game.gamma, game.mu)
        lo = policy_iteration(-R, K, game.gamma, game.mu)
        d_max[x], arg_max[x] = hi.value, hi.rule[:, 0]
        d_min[x], arg_min[x] = 0.0 - lo.value, lo.rule[:, 0]
        total += hi.iterations + lo.iterations
    return VisitationExtremes(d_min, d_max, arg_min, arg_max, total)


def min_visitation(game: MarkovGame) -> np.ndarray:
    r""":math:`\min_\pi d_\mu^\pi(s)` per state; Assumption 1 holds iff every entry is positive.

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.full((2, 2, 2), 0.5), np.zeros((2, 2)), [0.5, 0.5], 0.5)
    >>> bnpg.min_visitation(game)
    array([1., 1.])
    """
    return visitation_extremes(game).d_min


def mismatch_coefficient(game: MarkovGame) -> float:
    r"""Exact :math:`M = \max_{\pi, \pi'} \| d_\mu^\pi / d_\mu^{\pi'} \|_\infty` (Lemma 2).

    ``inf`` when Assumption 1 fails (some state can be avoided entirely).

    >>> import numpy as np, bnpg
    >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1; P[:, 1, 1] = 1
    >>> game = bnpg.MarkovGame(P, np.zeros((2, 2)), [0.5, 0.5], 0.5)
    >>> float(bnpg.mismatch_coefficient(game))   # state 1: at most 0.5 + 0.5 * 2 = 1.5, at least 0.5
    3.0
    """
    ext = visitation_extremes(game)
    with np.errstate(divide="ignore"):
        ratios = np.where(ext.d_min > 0, ext.d_max / np.where(ext.d_min > 0, ext.d_min, 1.0), np.inf)
    return float(ratios.max())
