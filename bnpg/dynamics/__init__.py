"""The dynamics layer (paper, Equations 2-3): gradient ascent on L_lambda and its step rules
(:mod:`~bnpg.dynamics.ascent`), first crossings of a target gap
(:mod:`~bnpg.dynamics.convergence`), curvature along runs (:mod:`~bnpg.dynamics.curvature`)
and finite differences (:mod:`~bnpg.dynamics.finite_differences`).
"""

from .ascent import (
    DEFAULT_METRICS,
    METHODS,
    METRICS,
    RESOLUTION,
    Trajectory,
    ascend,
    check_metrics,
    gradient_ascent,
)
from .convergence import (
    Crossing,
    actual_gain,
    envelope_violations,
    first_crossing,
    gradient_envelope,
    running_min,
)
from .curvature import (
    CurvatureReport,
    climb_curvature,
    max_curvature,
    measure_curvature,
    random_unit_directions,
    trajectory_policies,
)
from .finite_differences import (
    HESSIAN_STEP,
    central_difference,
    directional_curvature,
    hessian,
)

__all__ = [
    "Crossing",
    "CurvatureReport",
    "DEFAULT_METRICS",
    "HESSIAN_STEP",
    "METHODS",
    "METRICS",
    "RESOLUTION",
    "Trajectory",
    "actual_gain",
    "ascend",
    "central_difference",
    "check_metrics",
    "climb_curvature",
    "directional_curvature",
    "envelope_violations",
    "first_crossing",
    "gradient_ascent",
    "gradient_envelope",
    "hessian",
    "max_curvature",
    "measure_curvature",
    "random_unit_directions",
    "running_min",
    "trajectory_policies",
]
