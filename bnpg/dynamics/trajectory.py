r"""A run of the dynamics and what it records at its iterates.

A run of an ascent on :math:`L_\lambda` visits iterates :math:`\theta_0, \theta_1, \dots` and records,
at chosen steps ``t``, some of

.. math::

    L_\lambda(\theta_t) = V_{\theta_t}(\mu) + \lambda\, \mathrm{barrier}(\theta_t), \qquad
    V_{\theta_t}(\mu), \qquad \|\nabla L_\lambda(\theta_t)\|_2 \qquad (1)

(``"objective"``, ``"value"``, ``"grad_norm"``: by-products of the gradient the run computes anyway),
the gaps of Definitions 1-2 (``"nash_gap"``, ``"optimality_gap"``: resolved by name through
:data:`bnpg.exact.gap_metrics.GAP_FUNCTIONS`), and any function ``(game, policy) -> float`` the
caller passes, recorded under its ``__name__``. The result is a :class:`Trajectory`; a run that
looks for the first iterate with a gap at most :math:`\epsilon` also carries its :class:`Crossing`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from bnpg.exact.gap_metrics import GAP_FUNCTIONS
from bnpg.model.game import MarkovGame
from bnpg.model.policy import BNPolicy

__all__ = [
    "Crossing",
    "DEFAULT_METRICS",
    "METRICS",
    "Metric",
    "Recorder",
    "Trajectory",
    "check_metrics",
    "metric_functions",
    "metric_name",
]

#: The metrics every run computes from its gradient evaluations (Eq. 1).
GRADIENT_METRICS = ("objective", "value", "grad_norm")
#: Metrics a run can record by name.
METRICS = GRADIENT_METRICS + tuple(GAP_FUNCTIONS)
#: What a run records unless told otherwise.
DEFAULT_METRICS = GRADIENT_METRICS
#: A metric: a name from :data:`METRICS`, or a function ``(game, policy) -> float``.
Metric = str | Callable[[MarkovGame, BNPolicy], float]


@dataclass(frozen=True)
class Crossing:
    r"""The gap evaluations of :func:`bnpg.dynamics.convergence.first_crossing` (the ``crossing`` of its :class:`Trajectory`).

    Attributes
    ----------
    metric : str
        ``"nash_gap"`` or ``"optimality_gap"``.
    eps : float
        The target gap.
    gap_steps : ndarray of int
        Every step at which the gap was evaluated (checkpoints and refinement), increasing.
    gaps : ndarray of float
        The gap at ``gap_steps``.
    checkpoints : ndarray of int
        The geometric checkpoints (a subset of ``gap_steps``).
    first_below : int or None
        :math:`t^\star`, the iterate found as the first with gap at most ``eps``; ``None`` if no
        inspected iterate qualifies.

    Examples
    --------
    >>> import numpy as np
    >>> c = Crossing("nash_gap", 0.5, np.array([0, 2, 3]), np.array([1.0, 0.4, 0.6]), np.array([0, 3]), 2)
    >>> c.T_observed, c.reached, c.checkpoint_gaps().tolist(), c.max_gap_after_crossing()
    (3, True, [1.0, 0.6], 0.6)
    """

    metric: str
    eps: float
    gap_steps: np.ndarray
    gaps: np.ndarray
    checkpoints: np.ndarray
    first_below: int | None

    @property
    def T_observed(self) -> int | None:
        r""":math:`t^\star + 1`, the first ``T`` with :math:`\min_{t<T}\text{gap}_t \le \epsilon` (``None`` if not reached)."""
        return None if self.first_below is None else self.first_below + 1

    @property
    def reached(self) -> bool:
        """Whether an inspected iterate has gap at most ``eps``."""
        return self.first_below is not None

    def checkpoint_gaps(self) -> np.ndarray:
        """The gaps at :attr:`checkpoints`."""
        return self.gaps[np.searchsorted(self.gap_steps, self.checkpoints)]

    def running_min_gap(self) -> tuple[np.ndarray, np.ndarray]:
        r"""``(T, m)`` with ``m[k]`` the smallest gap among the inspected iterates :math:`t < T_k`.

        ``T_k = gap_steps[k] + 1``; ``m[k]`` is an upper bound on :math:`\min_{t<T_k}\text{gap}_t`.
        """
        return self.gap_steps + 1, np.minimum.accumulate(np.asarray(self.gaps, dtype=float))

    def max_gap_after_crossing(self) -> float | None:
        """The largest gap at an inspected iterate after :attr:`first_below` (``None`` if not reached)."""
        if self.first_below is None:
            return None
        after = self.gaps[self.gap_steps > self.first_below]
        return float(after.max()) if after.size else float(self.gaps[self.gap_steps == self.first_below][0])


@dataclass(frozen=True)
class Trajectory:
    r"""A run of :func:`bnpg.ascend` (or of a method function, :func:`bnpg.gradient_ascent`,
    :func:`bnpg.dynamics.convergence.first_crossing` or :func:`bnpg.sampling.sampled_ascent`).

    Attributes
    ----------
    policy : BNPolicy
        The last iterate.
    steps : ndarray of int
        The step indices ``t`` at which metrics were recorded (``theta_t``, before update ``t + 1``).
    metrics : dict of str to ndarray
        One array per recorded metric, aligned with ``steps``; also readable as attributes
        (``run.value``, ``run.grad_norm``, ...).
    lam : float
        :math:`\lambda`.
    method : str
        One of :data:`bnpg.dynamics.ascent.METHODS` (``"sampled ..."`` for a sampled run).
    eta : float
        The fixed step (``"fixed"``) or the first trial step (``"armijo"``); ``nan`` for the others.
    n_steps : int
        Updates taken (accepted steps of a backtracking method, iterations of L-BFGS).
    n_evaluations : int
        Evaluations of :math:`L_\lambda` and its gradient (the fixed method's compiled steps included).
    threshold : float or None
        The gradient norm at which the run was to stop; ``None`` if it had no such rule.
    crossing : Crossing or None
        The gap evaluations of :func:`bnpg.dynamics.convergence.first_crossing`; ``None`` otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> run = Trajectory(policy=None, steps=np.array([0, 5]), metrics={"value": np.array([1.0, 2.0])})
    >>> run.value.tolist(), run.final("value"), run.first_step_below("value", 1.5)
    ([1.0, 2.0], 2.0, 0)
    """

    policy: BNPolicy
    steps: np.ndarray
    metrics: dict = field(default_factory=dict)
    lam: float = 0.0
    method: str = "fixed"
    eta: float = float("nan")
    n_steps: int = 0
    n_evaluations: int = 0
    threshold: float | None = None
    crossing: Crossing | None = None

    def __getattr__(self, name):
        metrics = self.__dict__.get("metrics", {})
        if name in metrics:
            return metrics[name]
        raise AttributeError(name)

    def final(self, metric: str) -> float:
        """The last recorded value of ``metric``."""
        return float(self.metrics[metric][-1])

    @property
    def met(self) -> bool:
        """Whether the last recorded gradient norm is at most :attr:`threshold`."""
        if self.threshold is None or "grad_norm" not in self.metrics:
            return False
        return bool(self.final("grad_norm") <= self.threshold)

    def first_step_below(self, metric: str, threshold: float) -> int | None:
        """The first recorded step whose ``metric`` is at most ``threshold`` (``None`` if never)."""
        values = self.metrics[metric]
        hits = np.flatnonzero(values <= threshold)
        return int(self.steps[hits[0]]) if hits.size else None

    @property
    def T_observed(self) -> int | None:
        """:attr:`crossing` ``.T_observed`` (see :class:`bnpg.dynamics.convergence.Crossing`)."""
        if self.crossing is None:
            raise AttributeError("T_observed: this run did not track a gap")
        return self.crossing.T_observed

    @property
    def reached(self) -> bool:
        """:attr:`crossing` ``.reached`` (see :class:`bnpg.dynamics.convergence.Crossing`)."""
        if self.crossing is None:
            raise AttributeError("reached: this run did not track a gap")
        return self.crossing.reached


def metric_name(metric: Metric) -> str:
    """The name a metric is recorded under: itself, or a function's ``__name__``.

    >>> def entropy(game, policy):
    ...     return 0.0
    >>> metric_name("value"), metric_name(entropy)
    ('value', 'entropy')
    """
    return metric if isinstance(metric, str) else getattr(metric, "__name__", type(metric).__name__)


def check_metrics(metrics) -> tuple[Metric, ...]:
    """``metrics`` as a tuple of names from :data:`METRICS` and functions ``(game, policy) -> float``.

    Raises
    ------
    TypeError
        If ``metrics`` is not a sequence, or holds something that is neither a name nor callable.
    ValueError
        For an unknown name, or two metrics recorded under the same name (a function named like a
        metric of :data:`METRICS` included).

    Examples
    --------
    >>> check_metrics(["value", "nash_gap"])
    ('value', 'nash_gap')
    >>> def entropy(game, policy):
    ...     return 0.0
    >>> [metric_name(m) for m in check_metrics(("value", entropy))]
    ['value', 'entropy']
    """
    if isinstance(metrics, str) or not isinstance(metrics, Iterable):
        raise TypeError(f"metrics must be a sequence of metric names or functions, got {metrics!r}")
    metrics = tuple(metrics)
    seen: set[str] = set()
    for m in metrics:
        if isinstance(m, str):
            if m not in METRICS:
                raise ValueError(f"metrics contains {m!r}; choose from {METRICS} or pass a function")
        elif not callable(m):
            raise TypeError(f"metrics must hold names or functions (game, policy) -> float, got {m!r}")
        elif metric_name(m) in METRICS:
            raise ValueError(f"metrics contains a function named {metric_name(m)!r}, the name of a built-in metric")
        if metric_name(m) in seen:
            raise ValueError(f"metrics records {metric_name(m)!r} twice")
        seen.add(metric_name(m))
    return metrics


def metric_functions(game: MarkovGame, metrics: tuple[Metric, ...]) -> dict[str, Callable[[BNPolicy, float], float]]:
    """The metrics beyond Eq. (1), by name, each as a function ``(policy, value) -> float`` of an iterate.

    Gap names are resolved through :data:`bnpg.exact.gap_metrics.GAP_FUNCTIONS` (their game-level
    constants computed here, once); a function ``f`` becomes ``lambda policy, value: f(game, policy)``.

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 1)), [[0.0, 1.0]], [1.0], 0.0)
    >>> def half(game, policy):
    ...     return 0.5
    >>> gaps = metric_functions(game, ("value", "optimality_gap", half))
    >>> sorted(gaps), gaps["optimality_gap"](bnpg.BNPolicy(game, bnpg.DAG.empty(1)), 0.5)
    (['half', 'optimality_gap'], 0.5)
    """
    out = {}
    for m in metrics:
        if isinstance(m, str):
            if m in GAP_FUNCTIONS:
                out[m] = GAP_FUNCTIONS[m](game)
        else:
            out[metric_name(m)] = _on_game(game, m)
    return out


def _on_game(game: MarkovGame, function) -> Callable[[BNPolicy, float], float]:
    def metric(policy: BNPolicy, value: float) -> float:
        return float(function(game, policy))

    return metric


class Recorder:
    """Collects the metrics of the iterates a run records, from flat parameter vectors.

    Parameters
    ----------
    game : MarkovGame
    template : BNPolicy
        Gives the layout of the flat vectors (:meth:`BNPolicy.with_flat`).
    lam : float
    metrics : tuple
        Checked by :func:`check_metrics`.

    Examples
    --------
    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 1)), [[0.0, 1.0]], [1.0], 0.0)
    >>> rec = Recorder(game, bnpg.BNPolicy(game, bnpg.DAG.empty(1)), 0.1, ("value", "grad_norm"))
    >>> rec.record(0, np.zeros(2), 0.5, 0.0, np.array([3.0, 4.0]))["grad_norm"]
    5.0
    >>> steps, arrays = rec.arrays()
    >>> steps.tolist(), arrays["value"].tolist()
    ([0], [0.5])
    """

    def __init__(self, game: MarkovGame, template: BNPolicy, lam: float, metrics: tuple[Metric, ...]):
        self.template, self.lam = template, lam
        self.names = tuple(metric_name(m) for m in metrics)
        self.extra = metric_functions(game, metrics)
        self.steps: list[int] = []
        self.rows: dict[str, list[float]] = {m: [] for m in self.names}

    def record(self, t: int, x: np.ndarray, value: float, barrier: float, grad: np.ndarray) -> dict:
        """Record iterate ``t`` (flat parameters ``x``) from its value, barrier and gradient; return its row."""
        row = {
            "objective": value + self.lam * barrier,
            "value": value,
            "grad_norm": float(np.sqrt(grad @ grad)),
        }
        if self.extra:
            policy = self.template.with_flat(x)
            for name, metric in self.extra.items():
                row[name] = metric(policy, value)
        for m in self.names:
            self.rows[m].append(row[m])
        self.steps.append(t)
        return row

    def arrays(self) -> tuple[np.ndarray, dict]:
        """The recorded steps and one array per metric."""
        return np.array(self.steps, dtype=int), {m: np.array(v) for m, v in self.rows.items()}
