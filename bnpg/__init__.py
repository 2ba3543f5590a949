"""bnpg: exact Bayesian-network policy gradients for tabular cooperative Markov games.

A companion to Chen, Zhang, Kuang, Shen, Ozer and Zhang, "Convergence Rates of Bayesian Network
Policy Gradient for Cooperative Multi-Agent Reinforcement Learning". Each module implements one
concept of the paper; see its docstring for the equation it computes. The subpackages are the
layers the data flows through, each importing only from those before it: :mod:`bnpg.model` ->
:mod:`bnpg.backends` -> :mod:`bnpg.exact` -> :mod:`bnpg.theory` -> :mod:`bnpg.dynamics` ->
:mod:`bnpg.sampling` -> :mod:`bnpg.paper` -> :mod:`bnpg.games` -> :mod:`bnpg.experiments` ->
:mod:`bnpg.cli`. :mod:`bnpg.paper` holds every
numbered statement as a function returning a verdict, and ``bnpg check GAME.npz`` runs them all.
"""

from bnpg import _moved
from bnpg._version import __version__
from bnpg.dynamics.ascent import Trajectory, ascend, gradient_ascent
from bnpg.exact.evaluation import (
    Evaluation,
    evaluate,
    local_advantage,
    partial_q,
    value,
    visitation,
)
from bnpg.exact.gaps import best_response, best_response_value, nash_gap, nash_gaps, optimality_gap
from bnpg.exact.mdp import optimal_solution, optimal_value, worst_value
from bnpg.exact.mismatch import min_visitation, mismatch_coefficient, visitation_extremes
from bnpg.exact.objective import gradient, gradient_norm, lemma1_gradient, log_barrier, objective
from bnpg.model.dag import DAG
from bnpg.model.game import MarkovGame
from bnpg.model.policy import BNPolicy
from bnpg.theory.constants import smoothness_bound

_moved.install()

#: Subpackages and modules loaded on first use (sympy and matplotlib are slow to import).
_LAZY = (
    "backends", "book", "cli", "data", "dynamics", "exact", "experiments", "games", "model", "paper",
    "plotting", "sampling", "theory",
)


def __getattr__(name):
    import importlib

    if name in _LAZY:
        return importlib.import_module(f"{__name__}.{name}")
    if f"{__name__}.{name}" in _moved.MOVED:
        return importlib.import_module(_moved.MOVED[f"{__name__}.{name}"])
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
