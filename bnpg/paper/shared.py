r"""What the statement functions of :mod:`bnpg.paper` share: the rounding allowance of their
comparisons, the checks of their common arguments, and the formatting of their summaries.

Comparisons allow :data:`TOLERANCE` times the game's value scale
:math:`\max(|r_{\min}|, |r_{\max}|)/(1-\gamma)` (:func:`value_scale`) for the rounding of exact
computations (:func:`within`).
"""

from __future__ import annotations

from bnpg.model.dag import DAG
from bnpg.model.game import MarkovGame
from bnpg.model.policy import BNPolicy, check_game_and_dag, check_policy
from bnpg.theory.constants import mismatch_of

__all__ = ["TOLERANCE", "dag_lists", "degenerate_game", "mismatch", "number", "relative", "start_policy",
           "value_scale", "within"]

#: Relative allowance, in units of the game's value scale, for rounding in exact comparisons.
TOLERANCE = 1e-10


def value_scale(game: MarkovGame) -> float:
    r"""The game's value scale :math:`\max(|r_{\min}|, |r_{\max}|)/(1-\gamma)` (at least ``1e-300``).

    Examples
    --------
    >>> import bnpg
    >>> value_scale(bnpg.games.climbing_game(gamma=0.5))
    60.0
    """
    return max(abs(game.r_min), abs(game.r_max), 1e-300) / (1 - game.gamma)


def within(measured: float | None, bound: float | None, game: MarkovGame) -> bool | None:
    """Whether ``measured <= bound`` up to :data:`TOLERANCE` times the value scale; ``None`` when
    either is missing.

    Examples
    --------
    >>> import bnpg
    >>> game = bnpg.games.climbing_game(gamma=0.5)
    >>> within(1.0 + 1e-12, 1.0, game), within(1.1, 1.0, game), within(None, 1.0, game)
    (True, False, None)
    """
    if bound is None or measured is None:
        return None
    return bool(measured <= bound + TOLERANCE * value_scale(game))


def degenerate_game(game: MarkovGame) -> list[str]:
    r"""What makes ``game`` a degenerate case of the paper's statements, in words (empty if nothing).

    Named: equal rewards (every policy is optimal, every gap and every bound built on
    :math:`r_{\max} - r_{\min}` is 0), no agent with a choice, and a single agent (its Nash gap is its
    optimality gap). A verdict joins them, with its own cases, in ``details["degenerate"]``.

    Examples
    --------
    >>> import numpy as np, bnpg
    >>> flat = bnpg.MarkovGame(np.ones((1, 2, 1)), np.full((1, 2), 3.0), [1.0], 0.5)
    >>> degenerate_game(flat)
    ['all rewards are equal: every gap is 0', 'one agent: its Nash gap is its optimality gap']
    >>> degenerate_game(bnpg.games.climbing_game(gamma=0.5))
    []
    """
    out = []
    if game.r_max == game.r_min:
        out.append("all rewards are equal: every gap is 0")
    if max(game.action_sizes) == 1:
        out.append("no agent has a choice")
    if game.n_agents == 1:
        out.append("one agent: its Nash gap is its optimality gap")
    return out


def start_policy(game: MarkovGame, start) -> BNPolicy:
    """A policy from a DAG (its uniform policy) or a policy of ``game`` (returned as it is).

    Examples
    --------
    >>> import bnpg
    >>> game = bnpg.games.climbing_game(gamma=0.5)
    >>> start_policy(game, bnpg.DAG.empty(2)).dag == bnpg.DAG.empty(2)
    True
    """
    if isinstance(start, DAG):
        check_game_and_dag(game, start)
        return BNPolicy(game, start)
    check_policy(game, start)
    return start


def mismatch(game: MarkovGame, M) -> float:
    """``M`` checked (``inf`` allowed: Assumption 1 fails), or computed exactly when ``None``.

    Examples
    --------
    >>> import bnpg
    >>> game = bnpg.games.climbing_game(gamma=0.5)
    >>> mismatch(game, None), mismatch(game, float("inf"))
    (1.0, inf)
    """
    return mismatch_of(game, M, infinite_ok=True)


def dag_lists(dag: DAG) -> list[list[int]]:
    """The parents of every agent as lists, as a verdict records them.

    Examples
    --------
    >>> import bnpg
    >>> dag_lists(bnpg.DAG.full(3))
    [[], [0], [0, 1]]
    """
    return [list(p) for p in dag.parent_lists]


def relative(x: float) -> str:
    """A relative error for a summary; below 1e-9 its digits are rounding noise and are not shown.

    Examples
    --------
    >>> relative(0.25), relative(1e-12)
    ('0.25', 'less than 1e-9')
    """
    return f"{x:.3g}" if x >= 1e-9 else "less than 1e-9"


def number(x) -> str:
    """``x`` with four significant digits for a summary, ``"-"`` for ``None``.

    Examples
    --------
    >>> number(None), number(2 / 3)
    ('-', '0.6667')
    """
    return "-" if x is None else f"{x:.4g}"
