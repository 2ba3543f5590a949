"""The exact layer (paper, Sections 2-4, Lemma 1, Definitions 1-2): every quantity the paper
defines, computed by linear solves and policy iteration, never by simulation.

Values, action values and visitations (:mod:`~bnpg.exact.evaluation`), the objective
L_lambda and its gradient (:mod:`~bnpg.exact.objective`), the MDP solver and the optimal value
(:mod:`~bnpg.exact.mdp`), best responses, Nash and optimality gaps (:mod:`~bnpg.exact.gaps`) and
the mismatch coefficient M (:mod:`~bnpg.exact.mismatch`).
"""
from .evaluation import (
    Evaluation,
    evaluate,
    evaluate_joint,
    kernel,
    local_advantage,
    partial_q,
    value,
    visitation,
    weighted_q,
)
from .gaps import (
    DEVIATIONS,
    best_response,
    best_response_value,
    deviation_mdp,
    nash_gap,
    nash_gaps,
    optimality_gap,
)
from .mdp import (
    TIE_TOLERANCE,
    Solution,
    joint_mdp,
    optimal_solution,
    optimal_value,
    policy_iteration,
    worst_solution,
    worst_value,
)
from .mismatch import (
    VisitationExtremes,
    min_visitation,
    mismatch_coefficient,
    visitation_extremes,
)
from .objective import (
    FlatObjective,
    barrier_gradient,
    evaluation_and_gradient,
    gradient,
    gradient_norm,
    lemma1_gradient,
    log_barrier,
    objective,
    value_gradient,
)

__all__ = [
    "DEVIATIONS",
    "Evaluation",
    "FlatObjective",
    "Solution",
    "TIE_TOLERANCE",
    "VisitationExtremes",
    "barrier_gradient",
    "best_response",
    "best_response_value",
    "deviation_mdp",
    "evaluate",
    "evaluate_joint",
    "evaluation_and_gradient",
    "gradient",
    "gradient_norm",
    "joint_mdp",
    "kernel",
    "lemma1_gradient",
    "local_advantage",
    "log_barrier",
    "min_visitation",
    "mismatch_coefficient",
    "nash_gap",
    "nash_gaps",
    "objective",
    "optimal_solution",
    "optimal_value",
    "optimality_gap",
    "partial_q",
    "policy_iteration",
    "value",
    "value_gradient",
    "visitation",
    "visitation_extremes",
    "weighted_q",
    "worst_solution",
    "worst_value",
]
