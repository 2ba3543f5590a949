r"""Ascent on :math:`L_\lambda`: the policy-gradient dynamics (2)-(3) and faster routes to stationary points.

**The dynamics of the theorems.** Every agent ascends the common objective with the same fixed step:

.. math::

    \theta^i_{t+1} = \theta^i_t + \eta \nabla_{\theta^i} L_\lambda(\theta_t) \qquad (2)

entry by entry, :math:`\theta^{i,t+1}_{s,a^{\mathcal P^i},a^i} = \theta^{i,t}_{s,a^{\mathcal P^i},a^i}
+ \eta\, \partial L_\lambda(\theta_t) / \partial \theta^i_{s,a^{\mathcal P^i},a^i}` (3), with the exact
gradient of :func:`bnpg.gradient`. This is ``method="fixed"`` of :func:`ascend`, also available under
its own name :func:`gradient_ascent`.

**Approximate stationary points.** Lemmas 2 and 3 speak of points with
:math:`\|\nabla L_\lambda(\theta)\|_2 \le \tau`, whatever produced them, so :func:`ascend` also reaches
them by quicker routes, all along the same exact gradient:

* ``"armijo"``: :math:`\theta \leftarrow \theta + \eta_t \nabla L_\lambda(\theta)` with a backtracking
  step: :math:`\eta_t` starts at twice the previous accepted step (at most ``1e6 * eta``) and is halved
  until the sufficient-increase condition :math:`L_\lambda(\theta_{t+1}) \ge L_\lambda(\theta_t) + \delta
  \eta_t \|\nabla L_\lambda(\theta_t)\|^2`, :math:`\delta = 10^{-4}`, holds;
* ``"path"``: the same with every step at most ``max_move`` long, so the iterates stay near the path
  of the gradient flow of which (2) is a discretisation;
* ``"lbfgs"``: ``scipy.optimize.minimize(method="L-BFGS-B")`` on :math:`-L_\lambda`.

**What floating point can resolve.** Near a maximum the increase the condition asks for,
:math:`\delta\eta_t\|\nabla L_\lambda\|^2`, falls below the rounding error of :math:`L_\lambda` itself;
comparing two values of :math:`L_\lambda` then decides by rounding, which differs between CPUs. Below
that resolution (:data:`RESOLUTION` times :math:`|L_\lambda|`) the test is made on the gradients instead,
as in the approximate Armijo condition of Hager and Zhang (2005): with
:math:`\phi(t) = L_\lambda(\theta + t g)`, the trapezoid rule
:math:`\phi(\eta_t) - \phi(0) \approx \eta_t (\phi'(0) + \phi'(\eta_t))/2` turns the condition into
:math:`g \cdot \nabla L_\lambda(\theta + \eta_t g) \ge (2\delta - 1)\|g\|^2`, which the gradients resolve.

Every run returns a :class:`Trajectory`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from bnpg._validation import integer, non_negative, positive, stop_thresholds
from bnpg.exact.gaps import nash_gap, optimal_value
from bnpg.exact.objective import evaluation_and_gradient, log_barrier, resolve_backend
from bnpg.model.game import MarkovGame
from bnpg.model.policy import BNPolicy, check_policy
from bnpg.theory.constants import gradient_threshold

__all__ = [
    "DEFAULT_METRICS",
    "METHODS",
    "METRICS",
    "RESOLUTION",
    "Trajectory",
    "ascend",
    "check_metrics",
    "gradient_ascent",
]

#: Ways of climbing :math:`L_\lambda` (see the module docstring).
METHODS = ("fixed", "armijo", "path", "lbfgs")
#: Metrics a run can record.
METRICS = ("objective", "value", "grad_norm", "nash_gap", "optimality_gap")
DEFAULT_METRICS = ("objective", "value", "grad_norm")
#: Relative size of a change of :math:`L_\lambda` below which two values are not compared directly.
RESOLUTION = 2.0**-40
#: Sufficient-increase constant of the backtracking methods.
ARMIJO = 1e-4


@dataclass(frozen=True)
class Trajectory:
    r"""A run of :func:`ascend` (or of :func:`gradient_ascent`, or of :func:`bnpg.dynamics.convergence.first_crossing`).

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
        One of :data:`METHODS`.
    eta : float
        The fixed step (``"fixed"``) or the first trial step (the backtracking methods; ``nan`` for
        ``"lbfgs"``).
    n_steps : int
        Updates taken (accepted steps of a backtracking method, iterations of L-BFGS).
    n_evaluations : int
        Evaluations of :math:`L_\lambda` and its gradient (the fixed method's compiled steps included).
    threshold : float or None
        The gradient norm at which the run was to stop; ``None`` if it had no such rule.
    crossing : bnpg.dynamics.convergence.Crossing or None
        The gap evaluations of :func:`bnpg.dynamics.convergence.first_crossing`; ``None`` otherwise.
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
    crossing: object | None = None

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


def check_metrics(metrics) -> tuple[str, ...]:
    """``metrics`` as a tuple of names from :data:`METRICS`; anything else is a clear error.

    >>> check_metrics(["value", "nash_gap"])
    ('value', 'nash_gap')
    """
    if isinstance(metrics, str) or not isinstance(metrics, Iterable):
        raise TypeError(f"metrics must be a sequence of metric names, got {metrics!r}")
    metrics = tuple(metrics)
    for m in metrics:
        if m not in METRICS:
            raise ValueError(f"metrics contains {m!r}; choose from {METRICS}")
    return metrics


class _Objective:
    """``L_lambda``, its gradient and the fixed-step dynamics on flat parameter vectors, per backend."""

    def __init__(self, game: MarkovGame, policy: BNPolicy, lam: float, backend: str, evaluations: int):
        self.game, self.template, self.lam = game, policy, lam
        self.fast = resolve_backend(backend, game, evaluations) == "numba"
        self.evaluations = 0
        if self.fast:
            from bnpg.backends import numba_kernels as _fast

            self._fast = _fast
            self.plan = policy.structure.plan(game)

    def __call__(self, x: np.ndarray) -> tuple[float, float, np.ndarray]:
        """``(V(mu), barrier, gradient)`` at ``x``."""
        self.evaluations += 1
        if self.fast:
            return self._fast.value_and_gradient(self.plan, x, self.lam)
        current = self.template.with_flat(x)
        ev, grads = evaluation_and_gradient(self.game, current, self.lam)
        return ev.value, log_barrier(current), np.concatenate([g.ravel() for g in grads])

    def objective(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        value, barrier, grad = self(x)
        return (value + self.lam * barrier if self.lam else value), grad

    def advance(self, x: np.ndarray, n: int, eta: float) -> np.ndarray:
        """``n`` steps of the dynamics (2) from ``x``."""
        self.evaluations += n
        if self.fast:
            return self._fast.ascend(self.plan, x, n, eta, self.lam)
        for _ in range(n):
            self.evaluations -= 1
            x = x + eta * self(x)[2]
        return x


class _Recorder:
    """Collects the metrics of the iterates a run records."""

    def __init__(self, game: MarkovGame, template: BNPolicy, lam: float, metrics: tuple[str, ...]):
        self.game, self.template, self.lam, self.metrics = game, template, lam, metrics
        self.v_star = optimal_value(game) if "optimality_gap" in metrics else None
        self.steps: list[int] = []
        self.rows: dict[str, list[float]] = {m: [] for m in metrics}

    def record(self, t: int, x: np.ndarray, value: float, barrier: float, grad: np.ndarray) -> dict:
        row = {
            "objective": value + self.lam * barrier,
            "value": value,
            "grad_norm": float(np.sqrt(grad @ grad)),
        }
        if "nash_gap" in self.metrics:
            row["nash_gap"] = nash_gap(self.game, self.template.with_flat(x))
        if self.v_star is not None:
            row["optimality_gap"] = self.v_star - value
        for m in self.metrics:
            self.rows[m].append(row[m])
        self.steps.append(t)
        return row

    def arrays(self) -> tuple[np.ndarray, dict]:
        return np.array(self.steps, dtype=int), {m: np.array(v) for m, v in self.rows.items()}


def ascend(
    game: MarkovGame,
    policy: BNPolicy,
    lam: float,
    *,
    method: str = "armijo",
    eta: float | None = None,
    max_steps: int = 5000,
    threshold: float | str | None = "lemma",
    record_every: int | None = None,
    metrics: Iterable[str] = DEFAULT_METRICS,
    stop_below: dict | None = None,
    max_move: float = 0.1,
    backend: str = "auto",
) -> Trajectory:
    r"""Climb :math:`L_\lambda` from ``policy`` (see the module docstring for the methods).

    Parameters
    ----------
    game : MarkovGame
    policy : BNPolicy
        The starting point :math:`\theta_0` (not modified).
    lam : float
        :math:`\lambda \ge 0`.
    method : {"fixed", "armijo", "path", "lbfgs"}, default "armijo"
    eta : float, optional
        The step of ``"fixed"`` (required there); the first trial step of ``"armijo"`` (default 1);
        ignored by the others.
    max_steps : int, default 5000
        Largest number of updates.
    threshold : float, "lemma" or None, default "lemma"
        Stop at the first recorded iterate whose gradient norm is at most this; ``"lemma"`` means
        :func:`bnpg.theory.constants.gradient_threshold`, the hypothesis of Lemmas 2-3; ``None`` disables the
        rule (the run takes ``max_steps`` updates, unless ``stop_below`` or a line search ends it).
    record_every : int, optional
        Record the metrics at ``t = 0, record_every, 2 record_every, ...`` and at the last iterate.
        Default: every step for ``"fixed"``; the first and the last iterate for the other methods
        (every step is inspected for the threshold all the same).
    metrics : sequence of str
        Any of :data:`METRICS`.
    stop_below : dict, optional
        ``{metric: value}``: stop at the first recorded iterate where every listed metric is at most
        its value (the metrics must be recorded).
    max_move : float, default 0.1
        Longest step of ``"path"``, in parameter space.
    backend : {"auto", "numpy", "numba"}
        Where :math:`L_\lambda` and its gradient are computed; ``"auto"`` picks the compiled kernel of
        ``bnpg.backends.numba_kernels`` when numba is installed and ``max_steps`` steps are enough work to repay
        loading it (:func:`bnpg.exact.objective.resolve_backend`). Both give the same numbers to round-off.

    Returns
    -------
    Trajectory

    Examples
    --------
    >>> import bnpg
    >>> from bnpg.games import climbing_game
    >>> game = climbing_game(gamma=0.5)
    >>> run = bnpg.ascend(game, bnpg.BNPolicy.random(game, bnpg.DAG.full(2), seed=1), lam=0.1)
    >>> run.met, run.final("grad_norm") <= bnpg.theory.constants.gradient_threshold(game, 0.1)
    (True, True)
    """
    check_policy(game, policy)
    lam = non_negative("lam", lam)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "fixed":
        if eta is None:
            raise ValueError('method="fixed" needs a step size eta')
        eta = positive("eta", eta)
    elif method == "armijo":
        eta = 1.0 if eta is None else positive("eta", eta)
    else:
        eta = float("nan")
    max_steps = integer("max_steps", max_steps, minimum=0)
    if isinstance(threshold, str):
        if threshold != "lemma":
            raise ValueError(f"threshold must be a number, 'lemma' or None, got {threshold!r}")
        threshold = gradient_threshold(game, lam)
    elif threshold is not None:
        threshold = positive("threshold", threshold)
    if record_every is None:
        record_every = 1 if method == "fixed" else max(max_steps, 1)
    record_every = integer("record_every", record_every, minimum=1)
    metrics = check_metrics(metrics)
    stops = stop_thresholds(stop_below, metrics)
    if threshold is not None and "grad_norm" not in metrics:
        metrics = metrics + ("grad_norm",)
    max_move = positive("max_move", max_move)

    f = _Objective(game, policy, lam, backend, evaluations=max_steps * (1 if method == "fixed" else 2))
    recorder = _Recorder(game, policy, lam, metrics)
    done = _stop_rule(threshold, stops)
    if method == "fixed":
        x, n = _run_fixed(f, recorder, policy.flat(), eta, max_steps, record_every, done)
    elif method == "lbfgs":
        x, n = _run_lbfgs(f, recorder, policy.flat(), max_steps, threshold)
    else:
        cap = (lambda norm2: 1e6 * eta) if method == "armijo" else (lambda norm2: max_move / np.sqrt(norm2))
        first = eta if method == "armijo" else np.inf
        x, n, last = _run_backtracking(f, lam, recorder.record, policy.flat(), max_steps=max_steps,
                                       record_every=record_every, done=done, full_rows=bool(stops),
                                       first=first, cap=cap)
        if recorder.steps[-1] != n:
            recorder.record(n, x, *last)
    steps, arrays = recorder.arrays()
    return Trajectory(
        policy=policy.with_flat(x), steps=steps, metrics=arrays, lam=lam, method=method, eta=eta,
        n_steps=n, n_evaluations=f.evaluations, threshold=threshold,
    )


def _stop_rule(threshold: float | None, stops: dict):
    """``True`` for a row at or below the gradient threshold, or at or below every ``stop_below`` value."""

    def done(row: dict) -> bool:
        if threshold is not None and row["grad_norm"] <= threshold:
            return True
        return bool(stops) and all(row[m] <= v for m, v in stops.items())

    return done


def _run_fixed(f: _Objective, rec: _Recorder, x, eta, max_steps, record_every, done):
    t = 0
    while True:
        row = rec.record(t, x, *f(x))
        if done(row) or t == max_steps:
            return x, t
        n = min(record_every - t % record_every, max_steps - t)
        x = f.advance(x, n, eta)
        t += n


def _sufficient_increase(value, v_new, grad, g_new, step, norm2) -> bool:
    """The Armijo condition, on the values where they resolve it and on the gradients below that."""
    resolution = RESOLUTION * max(abs(value), abs(v_new))
    if ARMIJO * step * norm2 > resolution:
        return v_new >= value + ARMIJO * step * norm2
    return v_new >= value - resolution and float(grad @ g_new) >= (2 * ARMIJO - 1) * norm2


def _run_backtracking(f, lam, record, x, *, max_steps, record_every, done, full_rows, first, cap):
    """Backtracking ascent of ``value + lam * barrier`` from ``x``.

    Returns the last iterate, its step and its ``(value, barrier, gradient)``.

    ``f(x) -> (value, barrier, gradient)``; ``record(t, x, value, barrier, gradient) -> row`` keeps
    the iterates at ``t = 0, record_every, ...`` (every one with ``full_rows``, which ``stop_below``
    needs); ``done(row)`` ends the run; the first trial step is ``min(2 * previous, cap(|g|^2))``,
    with ``first`` as the previous step at the start.
    """
    value, barrier, grad = f(x)
    objective = value + lam * barrier
    row = record(0, x, value, barrier, grad)
    norm2 = float(grad @ grad)
    previous, t = first, 0
    while t < max_steps and not done(row):
        step = min(2.0 * previous, cap(norm2))
        while True:
            x_new = x + step * grad
            v_new, b_new, g_new = f(x_new)
            o_new = v_new + lam * b_new
            if _sufficient_increase(objective, o_new, grad, g_new, step, norm2):
                break
            step *= 0.5
            if step < 1e-300:
                break
        if step < 1e-300:  # no step increases L_lambda: a maximum to round-off
            break
        x, value, barrier, grad, objective = x_new, v_new, b_new, g_new, o_new
        norm2 = float(grad @ grad)
        previous = step
        t += 1
        if full_rows or t % record_every == 0:
            row = record(t, x, value, barrier, grad)
        else:
            row = {"grad_norm": float(np.sqrt(norm2))}
    return x, t, (value, barrier, grad)


def _run_lbfgs(f: _Objective, rec: _Recorder, x0, max_steps, threshold):
    try:
        from scipy.optimize import minimize
    except ImportError:  # pragma: no cover - scipy is in the test and book extras
        raise ImportError('method="lbfgs" needs scipy; install it or use method="armijo"') from None

    def negative(x):
        objective, grad = f.objective(x)
        return -objective, -grad

    value, barrier, grad = f(x0)
    rec.record(0, x0, value, barrier, grad)
    x, n = x0, 0
    met = threshold is not None and np.sqrt(grad @ grad) <= threshold
    if not met and max_steps > 0:
        gtol = 0.0 if threshold is None else threshold / np.sqrt(x0.size)
        res = minimize(negative, x0, jac=True, method="L-BFGS-B", options={
            "maxiter": max_steps, "gtol": gtol, "ftol": 0.0, "maxcor": 30, "maxls": 50})
        x, n = res.x, int(res.nit)
        rec.record(n, x, *f(x))
    return x, n


def gradient_ascent(
    game: MarkovGame,
    policy: BNPolicy,
    *,
    lam: float,
    eta: float,
    steps: int,
    record_every: int = 1,
    metrics: Iterable[str] = DEFAULT_METRICS,
    stop_below: dict | None = None,
    backend: str = "auto",
) -> Trajectory:
    r"""Run the policy-gradient dynamics (2)-(3) for ``steps`` updates: :func:`ascend` with ``method="fixed"``.

    Parameters
    ----------
    game : MarkovGame
    policy : BNPolicy
        The initial policy :math:`\theta_0` (not modified).
    lam : float
        :math:`\lambda \ge 0`.
    eta : float
        Step size :math:`\eta > 0` (the theorems take :math:`\eta = 1/\beta_\lambda`).
    steps : int
        Number of updates, ``>= 0``.
    record_every : int, default 1
        Record metrics at ``t = 0, record_every, 2 record_every, ...`` and at the last step.
    metrics : sequence of str
        Any of ``"objective"``, ``"value"``, ``"grad_norm"``, ``"nash_gap"``, ``"optimality_gap"``.
    stop_below : dict, optional
        ``{metric: threshold}``: stop at the first recorded step where every listed metric is at
        most its threshold (the metrics must be among those recorded).
    backend : {"auto", "numpy", "numba"}
        ``"numba"`` advances between records inside the compiled kernel of ``bnpg.backends.numba_kernels``;
        ``"auto"`` uses it when numba is installed and ``steps`` is enough work to repay loading it.
        Both give the same trajectory to round-off.

    Returns
    -------
    Trajectory

    Examples
    --------
    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.5)
    >>> policy = bnpg.BNPolicy.random(game, bnpg.DAG.full(2), seed=0)
    >>> run = bnpg.gradient_ascent(game, policy, lam=0.01, eta=0.5, steps=200, record_every=100)
    >>> run.steps.tolist(), bool(run.value[-1] > run.value[0])
    ([0, 100, 200], True)
    """
    return ascend(
        game, policy, lam, method="fixed", eta=eta, max_steps=steps, threshold=None,
        record_every=record_every, metrics=metrics, stop_below=stop_below, backend=backend,
    )
