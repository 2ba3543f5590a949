"""The model layer (paper, Sections 2-3, Equation 1): what a game, a network of agents and a
Bayesian-network policy are, validated once when built and read-only afterwards.

Nothing here computes a value: :mod:`bnpg.exact` does, from these objects.
"""

from .dag import (
    DAG,
)
from .game import (
    SUM_TOLERANCE,
    MarkovGame,
)
from .policy import (
    AgentLayout,
    BNPolicy,
    Structure,
    check_game_and_dag,
    check_policy,
    log_softmax,
    softmax,
)

__all__ = [
    "AgentLayout",
    "BNPolicy",
    "DAG",
    "MarkovGame",
    "SUM_TOLERANCE",
    "Structure",
    "check_game_and_dag",
    "check_policy",
    "log_softmax",
    "softmax",
]
