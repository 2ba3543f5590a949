r"""The paper's two assumptions, each a function that checks it exactly on a game and returns a
:class:`~bnpg.paper.verdict.Verdict`.

* :func:`assumption1`, Assumption 1: :math:`\min_\pi d_\mu^\pi(s) > 0` for every state (exact, by policy iteration);
* :func:`assumption2`, Assumption 2: :math:`\max_{\pi,s} V_\pi(s) - \min_{\pi,s} V_\pi(s) \le (r_{\max}-r_{\min})/(1-\gamma)`.

Comparisons allow :data:`~bnpg.paper.shared.TOLERANCE` times the game's value scale for rounding.
"""

from __future__ import annotations

from bnpg.exact.mdp import optimal_solution, worst_solution
from bnpg.exact.mismatch import mismatch_coefficient, visitation_extremes
from bnpg.model.game import MarkovGame
from bnpg.paper.shared import TOLERANCE, value_scale, within
from bnpg.paper.verdict import Verdict
from bnpg.theory.constants import value_range_bound

__all__ = ["assumption1", "assumption2"]


def assumption1(game: MarkovGame) -> Verdict:
    r"""Assumption 1: every state has positive discounted visitation under every policy.

    Exact: :math:`\min_\pi d_\mu^\pi(s)` is an optimal value of a finite MDP (see :mod:`bnpg.exact.mismatch`).

    >>> import bnpg
    >>> v = bnpg.paper.assumption1(bnpg.games.search_game(2, 3, gamma=0.9))
    >>> v.holds_as_printed, v.measured > 0
    (True, True)
    """
    ext = visitation_extremes(game)
    d_min = float(ext.d_min.min())
    holds = bool(d_min > 0)
    M = mismatch_coefficient(game)
    return Verdict(
        statement="assumption-1", title="every state is visited under every policy", hypothesis_met=None,
        measured=d_min, bound_printed=0.0, bound_corrected=0.0, holds_as_printed=holds, holds_corrected=holds,
        parameters={}, details={"min_visitation": ext.d_min, "max_visitation": ext.d_max, "M": M},
        summary=f"min over policies and states of d_mu(s) = {d_min:.4g}: "
        + (f"Assumption 1 holds, M = {M:.6g}" if holds else "Assumption 1 fails, M is infinite"),
    )


def assumption2(game: MarkovGame) -> Verdict:
    r"""Assumption 2 as the proofs use it: values span at most :math:`(r_{\max} - r_{\min})/(1-\gamma)`.

    Exact: the largest and smallest values over all policies, state by state, by policy iteration.

    >>> import bnpg
    >>> bnpg.paper.assumption2(bnpg.games.climbing_game(gamma=0.5)).status
    'holds'
    """
    v_max, v_min = optimal_solution(game).V, worst_solution(game).V
    span = float(v_max.max() - v_min.min())
    bound = value_range_bound(game)
    holds = within(span, bound, game) and bool(
        v_min.min() >= game.r_min / (1 - game.gamma) - TOLERANCE * value_scale(game)
        and v_max.max() <= game.r_max / (1 - game.gamma) + TOLERANCE * value_scale(game))
    return Verdict(
        statement="assumption-2", title="bounded rewards bound the values", hypothesis_met=None,
        measured=span, bound_printed=bound, bound_corrected=bound, holds_as_printed=holds, holds_corrected=holds,
        parameters={},
        details={"r_min": game.r_min, "r_max": game.r_max, "V_min": float(v_min.min()), "V_max": float(v_max.max())},
        summary=f"values range over {span:.6g}, within (r_max - r_min)/(1 - gamma) = {bound:.6g}",
    )
