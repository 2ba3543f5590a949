"""The game library: the cooperative games of the book (climbing, penalty, matching, search,
jackpot, random games; :mod:`~bnpg.games.library`), the predecessor's coordination game
(:mod:`~bnpg.games.coordination`) and the shipped witnesses.
"""

from .coordination import (
    COORDINATION_MARGINS,
    PREDECESSOR_DAGS,
    coordination_reward,
    predecessor_scale,
    state_bits,
)
from .library import (
    CLIMBING_PAYOFF,
    climbing_game,
    coordination_game,
    jackpot_game,
    matching_game,
    penalty_game,
    penalty_payoff,
    predecessor_dag,
    random_game,
    search_game,
    witness,
)

__all__ = [
    "CLIMBING_PAYOFF",
    "COORDINATION_MARGINS",
    "PREDECESSOR_DAGS",
    "climbing_game",
    "coordination_game",
    "coordination_reward",
    "jackpot_game",
    "matching_game",
    "penalty_game",
    "penalty_payoff",
    "predecessor_dag",
    "predecessor_scale",
    "random_game",
    "search_game",
    "state_bits",
    "witness",
]
