"""The sampling layer (paper, Section 5): episodes drawn from a Bayesian-network policy
(:mod:`~bnpg.sampling.episodes`), sampled estimates of the gradient of L_lambda
(:mod:`~bnpg.sampling.estimators`) and the dynamics run on them
(:mod:`~bnpg.sampling.ascent`).
"""

from .ascent import (
    sampled_ascent,
)
from .episodes import (
    Episodes,
    check_episodes,
    check_horizon,
    simulate,
)
from .estimators import (
    CRITICS,
    ESTIMATORS,
    Agreement,
    Estimate,
    agreement,
    check_estimator,
    expected_gradient,
    gradient_estimate,
    lstd_critic,
    per_episode_terms,
)

__all__ = [
    "Agreement",
    "CRITICS",
    "Episodes",
    "Estimate",
    "ESTIMATORS",
    "agreement",
    "check_episodes",
    "check_estimator",
    "check_horizon",
    "expected_gradient",
    "gradient_estimate",
    "lstd_critic",
    "per_episode_terms",
    "sampled_ascent",
    "simulate",
]
