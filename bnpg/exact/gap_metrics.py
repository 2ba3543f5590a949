r"""The gaps of Definitions 1-2 as metrics a run records, by name.

A run of the dynamics records, at chosen iterates :math:`\theta_t`, the Nash gap (Definition 1)

.. math::

    \mathrm{NashGap}(\theta) = \max_i \big( \max_{\pi'^i} V_{\pi'^i, \pi^{-i}_\theta}(\mu) - V_\theta(\mu) \big)
    \qquad (1)

and the optimality gap (Definition 2)

.. math::

    \mathrm{OptGap}(\theta) = V^*(\mu) - V_\theta(\mu), \qquad V^*(\mu) = \max_\pi V_\pi(\mu). \qquad (2)

:data:`GAP_FUNCTIONS` maps each name to a function of the game that returns the gap as a function
``(policy, value) -> float`` of an iterate and its value :math:`V_\theta(\mu)` as the run computed it:
what depends on the game only (:math:`V^*` in (2)) is computed once per run, and (2) subtracts the
run's own :math:`V_\theta(\mu)`, so that ``value + optimality_gap`` is :math:`V^*` to the last bit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from bnpg.exact.gaps import nash_gap
from bnpg.exact.mdp import optimal_value
from bnpg.model.game import MarkovGame
from bnpg.model.policy import BNPolicy

__all__ = ["GAP_FUNCTIONS", "nash_gap_metric", "optimality_gap_metric"]

#: A gap as a function of an iterate and its value :math:`V_\theta(\mu)`.
GapOfIterate = Callable[[BNPolicy, float], float]


def nash_gap_metric(game: MarkovGame) -> GapOfIterate:
    """Eq. (1) as a function of ``(policy, value)`` (the value is not needed).

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.0)
    >>> policy = bnpg.BNPolicy(game, bnpg.DAG.empty(2))
    >>> nash_gap_metric(game)(policy, 0.5) == bnpg.nash_gap(game, policy)
    True
    """

    def gap(policy: BNPolicy, value: float) -> float:
        return nash_gap(game, policy)

    return gap


def optimality_gap_metric(game: MarkovGame) -> GapOfIterate:
    """Eq. (2) as a function of ``(policy, value)``: :math:`V^*(\\mu)`, computed once, minus ``value``.

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.0)
    >>> policy = bnpg.BNPolicy(game, bnpg.DAG.full(2))
    >>> optimality_gap_metric(game)(policy, bnpg.value(game, policy))   # V* = 1, V = 1/2
    0.5
    """
    v_star = optimal_value(game)

    def gap(policy: BNPolicy, value: float) -> float:
        return v_star - value

    return gap


#: The gap metrics by name: each maps a game to a function ``(policy, value) -> float``.
GAP_FUNCTIONS: Mapping[str, Callable[[MarkovGame], GapOfIterate]] = MappingProxyType({
    "nash_gap": nash_gap_metric,
    "optimality_gap": optimality_gap_metric,
})
