"""bnpg: exact Bayesian-network policy gradients for tabular cooperative Markov games.

A companion to Chen, Zhang, Kuang, Shen, Ozer and Zhang, "Convergence Rates of Bayesian Network
Policy Gradient for Cooperative Multi-Agent Reinforcement Learning". Each module implements one
concept of the paper; see its docstring for the equation it computes. :mod:`bnpg.paper` holds every
numbered statement as a function returning a verdict, and ``bnpg check GAME.npz`` runs them all.
"""

from ._version import __version__
from .constants import smoothness_bound
from .dag import DAG
from .dynamics import Trajectory, ascend, gradient_ascent
from .evaluation import Evaluation, evaluate, local_advantage, partial_q, value, visitation
from .game import MarkovGame
from .gaps import (
    best_response,
    best_response_value,
    min_visitation,
    mismatch_coefficient,
    nash_gap,
    nash_gaps,
    optimal_solution,
    optimal_value,
    optimality_gap,
    visitation_extremes,
    worst_value,
)
from .objective import gradient, gradient_norm, lemma1_gradient, log_barrier, objective
from .policy import BNPolicy

#: Submodules loaded on first use (sympy and matplotlib are slow to import).
_LAZY = (
    "audit", "book", "bounds", "cli", "convergence", "curvature", "data", "episodes", "finite_differences",
    "games", "instances", "paper", "plotting", "report", "results", "sampled", "sampled_dynamics", "sharpened",
    "studies", "sweeps", "telescoping", "verdict", "witnesses",
)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DAG",
    "BNPolicy",
    "Evaluation",
    "MarkovGame",
    "Trajectory",
    "__version__",
    "ascend",
    "best_response",
    "best_response_value",
    "evaluate",
    "gradient",
    "gradient_ascent",
    "gradient_norm",
    "lemma1_gradient",
    "local_advantage",
    "log_barrier",
    "mismatch_coefficient",
    "min_visitation",
    "nash_gap",
    "nash_gaps",
    "objective",
    "optimal_solution",
    "optimal_value",
    "optimality_gap",
    "partial_q",
    "smoothness_bound",
    "value",
    "visitation",
    "visitation_extremes",
    "worst_value",
]
