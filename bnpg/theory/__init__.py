"""The theory layer (paper, Lemmas 2-4, Theorems 1-2, Appendix A): the paper's constants as
printed and as corrected, each with one home (:mod:`~bnpg.theory.constants`), the sharpened
forms (:mod:`~bnpg.theory.sharpened`), the telescoping identity behind Lemma 3
(:mod:`~bnpg.theory.telescoping`) and the games on which the sharpened bounds are tight
(:mod:`~bnpg.theory.witnesses`). The symbolic derivations (sympy) live apart in
:mod:`bnpg.theory.symbolic`, imported only on request.
"""

from .constants import (
    BETA_FORMS,
    BOUND_FORMS,
    GAP_METRICS,
    TheorySetting,
    check_theorem,
    gradient_threshold,
    iteration_bound,
    lambda_choice,
    lemma2_bound,
    lemma3_bound,
    mismatch_of,
    parent_action_counts,
    smoothness_bound,
    theory_setting,
    value_range_bound,
)
from .sharpened import (
    LEMMAS,
    paper_threshold_within,
    sharp_bound,
    sharp_factor,
    sharp_iteration_bound,
    sharp_lambda,
    sharp_threshold,
)
from .telescoping import (
    advantage_ratio,
    optimal_visitation,
    performance_difference_bound,
    proof_step_ratios,
    telescoped_advantage,
)
from .witnesses import (
    WITNESSES,
    Breach,
    Witness,
    chain_game,
    chain_rewards,
    chain_theta,
    lemma2_witness,
    lemma3_witness,
    save_witnesses,
    threshold_breach,
    witness,
)

__all__ = [
    "BETA_FORMS",
    "BOUND_FORMS",
    "Breach",
    "GAP_METRICS",
    "LEMMAS",
    "TheorySetting",
    "WITNESSES",
    "Witness",
    "advantage_ratio",
    "chain_game",
    "chain_rewards",
    "chain_theta",
    "check_theorem",
    "gradient_threshold",
    "iteration_bound",
    "lambda_choice",
    "lemma2_bound",
    "lemma2_witness",
    "lemma3_bound",
    "mismatch_of",
    "lemma3_witness",
    "optimal_visitation",
    "paper_threshold_within",
    "parent_action_counts",
    "performance_difference_bound",
    "proof_step_ratios",
    "save_witnesses",
    "sharp_bound",
    "sharp_factor",
    "sharp_iteration_bound",
    "sharp_lambda",
    "sharp_threshold",
    "smoothness_bound",
    "telescoped_advantage",
    "theory_setting",
    "threshold_breach",
    "value_range_bound",
    "witness",
]
