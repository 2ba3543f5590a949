"""The dynamics layer (paper, Equations 2-3): gradient ascent on L_lambda by four methods
(:mod:`~bnpg.dynamics.ascent`), their line search (:mod:`~bnpg.dynamics.line_search`), the runs they
return and the metrics they record (:mod:`~bnpg.dynamics.trajectory`), first crossings of a target gap
(:mod:`~bnpg.dynamics.convergence`), curvature along runs (:mod:`~bnpg.dynamics.curvature`)
and finite differences (:mod:`~bnpg.dynamics.finite_differences`).
"""

from .ascent import (
    METHODS,
    armijo_ascent,
    ascend,
    check_threshold,
    fixed_step_ascent,
    gradient_ascent,
    lbfgs_ascent,
    path_ascent,
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
from .line_search import ARMIJO, RESOLUTION, run_backtracking, sufficient_increase
from .trajectory import (
    DEFAULT_METRICS,
    METRICS,
    Metric,
    Recorder,
    Trajectory,
    check_metrics,
    metric_functions,
    metric_name,
)

__all__ = [
    "ARMIJO",
    "Crossing",
    "CurvatureReport",
    "DEFAULT_METRICS",
    "HESSIAN_STEP",
    "METHODS",
    "METRICS",
    "Metric",
    "RESOLUTION",
    "Recorder",
    "Trajectory",
    "actual_gain",
    "armijo_ascent",
    "ascend",
    "central_difference",
    "check_metrics",
    "check_threshold",
    "climb_curvature",
    "directional_curvature",
    "envelope_violations",
    "first_crossing",
    "fixed_step_ascent",
    "gradient_ascent",
    "gradient_envelope",
    "hessian",
    "lbfgs_ascent",
    "max_curvature",
    "measure_curvature",
    "metric_functions",
    "metric_name",
    "path_ascent",
    "random_unit_directions",
    "run_backtracking",
    "running_min",
    "sufficient_increase",
    "trajectory_policies",
]
