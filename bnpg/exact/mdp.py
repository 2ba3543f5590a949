r"""Finite Markov decision processes solved exactly by policy iteration (the solver behind Definitions 1-2).

A *factored* MDP on states :math:`\mathcal S` has, at every state ``s``, a vector of choices
:math:`c(s, b) \in \{0, \dots, C-1\}`, one for each ``b`` in ``0..B-1``; the reward and the kernel
add up over ``b``:

.. math::

    r_c(s) = \sum_b R(s, b, c(s, b)), \qquad P_c(s' \mid s) = \sum_b K(s, b, c(s, b), s').

Its Bellman operator maximises separately for every ``(s, b)``, so :func:`policy_iteration` improves
every choice at once: each evaluation is the exact linear solve
:math:`V = (I - \gamma P_c)^{-1} r_c`, each improvement switches ``c(s, b)`` only where the gain
exceeds round-off (:data:`TIE_TOLERANCE` times the value scale), so the iteration stops after
finitely many steps at an exactly greedy, hence optimal, deterministic rule. A best response
(:mod:`bnpg.exact.gaps`) is such an MDP with ``b`` the parents' actions; the whole game over joint
actions (:func:`joint_mdp`) has ``B = 1``, which gives the optimal value :math:`V^*(\mu)` of
Definition 2 and, with the reward negated, the smallest value over all policies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bnpg._validation import instance_of
from bnpg.model.game import MarkovGame

__all__ = [
    "Solution",
    "TIE_TOLERANCE",
    "joint_mdp",
    "optimal_solution",
    "optimal_value",
    "policy_iteration",
    "worst_solution",
    "worst_value",
]

#: Improvements smaller than this (relative to the value scale) are treated as ties.
TIE_TOLERANCE = 1e-14


@dataclass(frozen=True)
class Solution:
    """A solved (factored) MDP.

    Attributes
    ----------
    V : ndarray, shape (S,)
        Optimal state values.
    rule : ndarray of int
        Optimal deterministic choices; shape ``(S, *parent sizes)`` for a best response,
        ``(S,)`` of flat joint-action indices for the joint MDP.
    value : float
        :math:`\\mu^\\top V`.
    iterations : int
        Policy-iteration steps (evaluations) used.
    """

    V: np.ndarray
    rule: np.ndarray
    value: float
    iterations: int


def policy_iteration(R: np.ndarray, K: np.ndarray, gamma: float, mu: np.ndarray, *, max_iter: int = 10_000) -> Solution:
    r"""Maximise over rules ``c(s, b)`` the discounted value of reward ``sum_b R[s, b, c(s, b)]``.

    Parameters
    ----------
    R : ndarray, shape (S, B, C)
    K : ndarray, shape (S, B, C, S)
        ``sum_b K[s, b, c(s, b), :]`` must be a probability vector for every rule.
    gamma : float
    mu : ndarray, shape (S,)

    Returns
    -------
    Solution
        ``rule`` has shape ``(S, B)``.

    Examples
    --------
    One state, two actions paying 0 and 1, discount 1/2: the optimum is 1 / (1 - 1/2).

    >>> import numpy as np
    >>> sol = policy_iteration(np.array([[[0.0, 1.0]]]), np.ones((1, 1, 2, 1)), 0.5, np.ones(1))
    >>> sol.rule.tolist(), sol.value
    ([[1]], 2.0)
    """
    S, B, C = R.shape
    scale = 1.0 + float(np.abs(R).max()) / (1.0 - gamma)
    rule = R.argmax(axis=-1)
    s_idx = np.arange(S)[:, None]
    b_idx = np.arange(B)[None, :]
    eye = np.eye(S)
    for it in range(1, max_iter + 1):
        r_pi = R[s_idx, b_idx, rule].sum(axis=1)
        P_pi = K[s_idx, b_idx, rule].sum(axis=1)
        V = np.linalg.solve(eye - gamma * P_pi, r_pi)
        Qc = R + gamma * (K @ V)
        current = np.take_along_axis(Qc, rule[..., None], axis=-1)[..., 0]
        best = Qc.argmax(axis=-1)
        gain = Qc.max(axis=-1) - current
        improve = gain > TIE_TOLERANCE * scale
        if not improve.any():
            return Solution(V=V, rule=rule, value=float(mu @ V), iterations=it)
        rule = np.where(improve, best, rule)
    raise RuntimeError(f"policy iteration did not stop within max_iter={max_iter} steps")


def joint_mdp(game: MarkovGame) -> tuple[np.ndarray, np.ndarray]:
    """The game as one MDP over joint actions, in :func:`policy_iteration`'s layout ``(R, K)``.

    >>> import numpy as np, bnpg
    >>> R, K = joint_mdp(bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.5))
    >>> R.shape, K.shape
    ((1, 1, 4), (1, 1, 4, 1))
    """
    S = game.n_states
    return game.r.reshape(S, 1, -1), game.P.reshape(S, 1, -1, S)


def optimal_solution(game: MarkovGame) -> Solution:
    """Optimal values and a deterministic optimal joint policy (flat joint-action index per state).

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.5)
    >>> sol = bnpg.optimal_solution(game)
    >>> sol.value, np.unravel_index(sol.rule[0], game.action_sizes) in [(0, 0), (1, 1)]
    (2.0, True)
    """
    instance_of("game", game, MarkovGame)
    R, K = joint_mdp(game)
    sol = policy_iteration(R, K, game.gamma, game.mu)
    return Solution(V=sol.V, rule=sol.rule[:, 0], value=sol.value, iterations=sol.iterations)


def optimal_value(game: MarkovGame) -> float:
    r""":math:`\max_{\pi^*} V_{\pi^*}(\mu)` over all joint policies (Definition 2).

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.5)
    >>> bnpg.optimal_value(game)
    2.0
    """
    return optimal_solution(game).value


def worst_solution(game: MarkovGame) -> Solution:
    r"""The smallest values over all joint policies: :math:`\min_\pi V_\pi(s)` for every state.

    The optimal solution of the game with reward :math:`-r`, negated; ``rule`` is a deterministic
    joint policy attaining every minimum at once.

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.5)
    >>> worst_solution(game).value   # always mismatch: 0 per step
    0.0
    """
    instance_of("game", game, MarkovGame)
    R, K = joint_mdp(game)
    sol = policy_iteration(-R, K, game.gamma, game.mu)
    return Solution(V=-sol.V, rule=sol.rule[:, 0], value=0.0 - sol.value, iterations=sol.iterations)


def worst_value(game: MarkovGame) -> float:
    r""":math:`\min_\pi V_\pi(\mu)` over all joint policies.

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 1)), [[-1.0, 1.0]], [1.0], 0.5)
    >>> bnpg.worst_value(game), bnpg.optimal_value(game)
    (-2.0, 2.0)
    """
    return worst_solution(game).value
