r"""Ascent on :math:`L_\lambda`: the policy-gradient dynamics (2)-(3) and faster routes to stationary points.

**The dynamics of the theorems.** Every agent ascends the common objective with the same fixed step:

.. math::

    \theta^i_{t+1} = \theta^i_t + \eta \nabla_{\theta^i} L_\lambda(\theta_t) \qquad (2)

entry by entry, :math:`\theta^{i,t+1}_{s,a^{\mathcal P^i},a^i} = \theta^{i,t}_{s,a^{\mathcal P^i},a^i}
+ \eta\, \partial L_\lambda(\theta_t) / \partial \theta^i_{s,a^{\mathcal P^i},a^i}` (3), with the exact
gradient of :func:`bnpg.gradient`. This is :func:`fixed_step_ascent` (``method="fixed"`` of
:func:`ascend`), also available with the theorems' vocabulary as :func:`gradient_ascent`.

**Approximate stationary points.** Lemmas 2 and 3 speak of points with
:math:`\|\nabla L_\lambda(\theta)\|_2 \le \tau`, whatever produced them, so :func:`ascend` also reaches
them by quicker routes, all along the same exact gradient:

* :func:`armijo_ascent` (``"armijo"``): :math:`\theta \leftarrow \theta + \eta_t \nabla L_\lambda(\theta)`
  with a backtracking step: :math:`\eta_t` starts at twice the previous accepted step (at most
  ``1e6 * eta``, the first trial step) and is halved until the sufficient-increase condition

  .. math::

      L_\lambda(\theta_{t+1}) \ge L_\lambda(\theta_t) + \delta \eta_t \|\nabla L_\lambda(\theta_t)\|^2,
      \qquad \delta = 10^{-4} \qquad (4)

  holds;
* :func:`path_ascent` (``"path"``): the same with every step at most ``max_move`` long, so the
  iterates stay near the path of the gradient flow of which (2) is a discretisation;
* :func:`lbfgs_ascent` (``"lbfgs"``): ``scipy.optimize.minimize(method="L-BFGS-B")`` on :math:`-L_\lambda`.

The sufficient-increase test, on values where floating point resolves (4) and on gradients below
that, and the backtracking loop are those of :mod:`bnpg.dynamics.line_search`.

Every run returns a :class:`~bnpg.dynamics.trajectory.Trajectory`; the gradients come from
:class:`bnpg.exact.objective.FlatObjective`, on the backend :mod:`bnpg.backends` chooses.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from bnpg._validation import integer, non_negative, positive, stop_thresholds
from bnpg.dynamics.line_search import ARMIJO, RESOLUTION, run_backtracking
from bnpg.dynamics.trajectory import (
    DEFAULT_METRICS,
    METRICS,
    Metric,
    Recorder,
    Trajectory,
    check_metrics,
    metric_name,
)
from bnpg.exact.objective import FlatObjective
from bnpg.model.game import MarkovGame
from bnpg.model.policy import BNPolicy, check_policy

__all__ = [
    "ARMIJO",
    "DEFAULT_METRICS",
    "METHODS",
    "METRICS",
    "RESOLUTION",
    "Trajectory",
    "armijo_ascent",
    "ascend",
    "check_metrics",
    "check_threshold",
    "fixed_step_ascent",
    "gradient_ascent",
    "lbfgs_ascent",
    "path_ascent",
]

#: Ways of climbing :math:`L_\lambda` (see the module docstring), the ``method`` of :func:`ascend`.
METHODS = ("fixed", "armijo", "path", "lbfgs")


def check_threshold(threshold) -> float | None:
    """``threshold`` as a positive float, or ``None``; a string or anything else is a clear error.

    >>> check_threshold(None), check_threshold(1)
    (None, 1.0)
    >>> try:
    ...     check_threshold("lemma")
    ... except TypeError as exc:
    ...     print(str(exc).split(';')[0])
    threshold must be a number or None, got 'lemma'
    """
    if threshold is None:
        return None
    if isinstance(threshold, str):
        raise TypeError(
            f"threshold must be a number or None, got {threshold!r}; for the threshold of Lemmas 2-3 "
            "pass bnpg.theory.constants.gradient_threshold(game, lam)"
        )
    return positive("threshold", threshold)


def _prepare(game, policy, lam, max_steps, threshold, metrics, stop_below):
    """The arguments every method shares, checked; ``grad_norm`` is added when a threshold needs it."""
    check_policy(game, policy)
    lam = non_negative("lam", lam)
    max_steps = integer("max_steps", max_steps, minimum=0)
    threshold = check_threshold(threshold)
    metrics = check_metrics(metrics)
    names = tuple(metric_name(m) for m in metrics)
    stops = stop_thresholds(stop_below, names)
    if threshold is not None and "grad_norm" not in names:
        metrics = metrics + ("grad_norm",)
    return lam, max_steps, threshold, metrics, stops


def _stop_rule(threshold: float | None, stops: dict):
    """``True`` for a row at or below the gradient threshold, or at or below every ``stop_below`` value."""

    def done(row: dict) -> bool:
        if threshold is not None and row["grad_norm"] <= threshold:
            return True
        return bool(stops) and all(row[m] <= v for m, v in stops.items())

    return done


def _trajectory(policy, x, recorder, f, *, lam, method, eta, n, threshold) -> Trajectory:
    steps, arrays = recorder.arrays()
    return Trajectory(
        policy=policy.with_flat(x), steps=steps, metrics=arrays, lam=lam, method=method, eta=eta,
        n_steps=n, n_evaluations=f.evaluations, threshold=threshold,
    )


def fixed_step_ascent(
    game: MarkovGame,
    policy: BNPolicy,
    lam: float,
    *,
    eta: float,
    max_steps: int = 5000,
    threshold: float | None = None,
    record_every: int = 1,
    metrics: Iterable[Metric] = DEFAULT_METRICS,
    stop_below: dict | None = None,
    backend: str = "auto",
) -> Trajectory:
    r"""The dynamics (2)-(3): ``max_steps`` updates :math:`\theta \leftarrow \theta + \eta \nabla L_\lambda(\theta)`.

    Parameters
    ----------
    game : MarkovGame
    policy : BNPolicy
        The starting point :math:`\theta_0` (not modified).
    lam : float
        :math:`\lambda \ge 0`.
    eta : float
        The step :math:`\eta > 0` (the theorems take :math:`\eta = 1/\beta_\lambda`).
    max_steps : int, default 5000
        Largest number of updates.
    threshold : float or None, default None
        Stop at the first recorded iterate whose gradient norm is at most this (for the hypothesis of
        Lemmas 2-3, :func:`bnpg.theory.constants.gradient_threshold`); ``None``: no such rule.
    record_every : int, default 1
        Record the metrics at ``t = 0, record_every, 2 record_every, ...`` and at the last iterate.
    metrics : sequence of str or callable
        Names from :data:`~bnpg.dynamics.trajectory.METRICS`, or functions ``(game, policy) -> float`` recorded under their
        ``__name__``.
    stop_below : dict, optional
        ``{metric: value}``: stop at the first recorded iterate where every listed metric is at most
        its value (the metrics must be recorded).
    backend : {"auto", "numpy", "numba"}, default "auto"
        ``"numba"`` advances between records inside the compiled kernel; ``"auto"`` weighs
        ``max_steps`` gradients (:func:`bnpg.backends.resolve_backend`). Same numbers to round-off.

    Returns
    -------
    Trajectory

    Examples
    --------
    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.5)
    >>> start = bnpg.BNPolicy.random(game, bnpg.DAG.full(2), seed=0)
    >>> run = fixed_step_ascent(game, start, 0.01, eta=0.5, max_steps=200, record_every=100)
    >>> run.steps.tolist(), run.method, bool(run.value[-1] > run.value[0])
    ([0, 100, 200], 'fixed', True)
    """
    eta = positive("eta", eta)
    lam, max_steps, threshold, metrics, stops = _prepare(game, policy, lam, max_steps, threshold, metrics,
                                                         stop_below)
    record_every = integer("record_every", record_every, minimum=1)
    f = FlatObjective(game, policy, lam, backend=backend, evaluations=max_steps)
    recorder = Recorder(game, policy, lam, metrics)
    x, n = _run_fixed(f, recorder, policy.flat(), eta, max_steps, record_every, _stop_rule(threshold, stops))
    return _trajectory(policy, x, recorder, f, lam=lam, method="fixed", eta=eta, n=n, threshold=threshold)


def armijo_ascent(
    game: MarkovGame,
    policy: BNPolicy,
    lam: float,
    *,
    eta: float = 1.0,
    max_steps: int = 5000,
    threshold: float | None = None,
    record_every: int | None = None,
    metrics: Iterable[Metric] = DEFAULT_METRICS,
    stop_below: dict | None = None,
    backend: str = "auto",
) -> Trajectory:
    r"""Backtracking ascent on :math:`L_\lambda` under the sufficient-increase condition (4)-(5).

    Parameters
    ----------
    game, policy, lam, max_steps, threshold, metrics, stop_below, backend
        As in :func:`fixed_step_ascent` (``"auto"`` weighs ``2 max_steps`` gradients).
    eta : float, default 1
        The first trial step; later trials start at twice the previous accepted step, at most ``1e6 * eta``.
    record_every : int, optional
        Record at ``t = 0, record_every, ...`` and at the last iterate; default: the first and the last
        iterate only (every step is inspected for the threshold all the same).

    Returns
    -------
    Trajectory

    Examples
    --------
    >>> import bnpg
    >>> from bnpg.theory.constants import gradient_threshold
    >>> game = bnpg.games.climbing_game(gamma=0.5)
    >>> tau = gradient_threshold(game, 0.1)
    >>> run = armijo_ascent(game, bnpg.BNPolicy.random(game, bnpg.DAG.full(2), seed=1), 0.1, threshold=tau)
    >>> run.met, run.final("grad_norm") <= tau
    (True, True)
    """
    eta = positive("eta", eta)
    return _backtracking(game, policy, lam, "armijo", eta, max_steps, threshold, record_every, metrics,
                         stop_below, backend, first=eta, cap=lambda norm2: 1e6 * eta)


def path_ascent(
    game: MarkovGame,
    policy: BNPolicy,
    lam: float,
    *,
    max_move: float = 0.1,
    max_steps: int = 5000,
    threshold: float | None = None,
    record_every: int | None = None,
    metrics: Iterable[Metric] = DEFAULT_METRICS,
    stop_below: dict | None = None,
    backend: str = "auto",
) -> Trajectory:
    r"""Backtracking ascent (4)-(5) in steps at most ``max_move`` long, near the path of the gradient flow.

    Parameters
    ----------
    game, policy, lam, max_steps, threshold, record_every, metrics, stop_below, backend
        As in :func:`armijo_ascent`.
    max_move : float, default 0.1
        Longest step in parameter space: the trial step is at most ``max_move / |grad L_lambda|``.

    Returns
    -------
    Trajectory
        Its ``eta`` is ``nan``.

    Examples
    --------
    >>> import bnpg
    >>> game = bnpg.games.climbing_game(gamma=0.5)
    >>> start = bnpg.BNPolicy.random(game, bnpg.DAG.full(2), seed=1)
    >>> run = path_ascent(game, start, 0.1, max_move=0.05, max_steps=20)
    >>> run.n_steps, bool(run.objective[-1] > run.objective[0])
    (20, True)
    """
    max_move = positive("max_move", max_move)
    return _backtracking(game, policy, lam, "path", float("nan"), max_steps, threshold, record_every, metrics,
                         stop_below, backend, first=np.inf, cap=lambda norm2: max_move / np.sqrt(norm2))


def _backtracking(game, policy, lam, method, eta, max_steps, threshold, record_every, metrics, stop_below,
                  backend, *, first, cap) -> Trajectory:
    lam, max_steps, threshold, metrics, stops = _prepare(game, policy, lam, max_steps, threshold, metrics,
                                                         stop_below)
    record_every = integer("record_every", max(max_steps, 1) if record_every is None else record_every,
                           minimum=1)
    f = FlatObjective(game, policy, lam, backend=backend, evaluations=2 * max_steps)
    recorder = Recorder(game, policy, lam, metrics)
    x, n, last = run_backtracking(f, lam, recorder.record, policy.flat(), max_steps=max_steps,
                                   record_every=record_every, done=_stop_rule(threshold, stops),
                                   full_rows=bool(stops), first=first, cap=cap)
    if recorder.steps[-1] != n:
        recorder.record(n, x, *last)
    return _trajectory(policy, x, recorder, f, lam=lam, method=method, eta=eta, n=n, threshold=threshold)


def lbfgs_ascent(
    game: MarkovGame,
    policy: BNPolicy,
    lam: float,
    *,
    max_steps: int = 5000,
    threshold: float | None = None,
    metrics: Iterable[Metric] = DEFAULT_METRICS,
    backend: str = "auto",
) -> Trajectory:
    r"""``scipy.optimize.minimize(method="L-BFGS-B")`` on :math:`-L_\lambda`, to gradient norm ``threshold``.

    Parameters
    ----------
    game, policy, lam, metrics, backend
        As in :func:`fixed_step_ascent` (``"auto"`` weighs ``2 max_steps`` gradients).
    max_steps : int, default 5000
        Largest number of L-BFGS iterations.
    threshold : float or None, default None
        The gradient norm to reach (L-BFGS-B's ``gtol`` is ``threshold / sqrt(n_params)``, its
        infinity-norm equivalent); ``None`` runs ``max_steps`` iterations or until L-BFGS stops.

    Returns
    -------
    Trajectory
        Recorded at the start and at the last iterate; its ``eta`` is ``nan``.

    Examples
    --------
    >>> import bnpg
    >>> game = bnpg.games.climbing_game(gamma=0.5)
    >>> run = lbfgs_ascent(game, bnpg.BNPolicy.random(game, bnpg.DAG.full(2), seed=1), 0.1, threshold=1e-6)
    >>> run.met, run.steps.tolist()[0]
    (True, 0)
    """
    lam, max_steps, threshold, metrics, _ = _prepare(game, policy, lam, max_steps, threshold, metrics, None)
    f = FlatObjective(game, policy, lam, backend=backend, evaluations=2 * max_steps)
    recorder = Recorder(game, policy, lam, metrics)
    x, n = _run_lbfgs(f, recorder, policy.flat(), max_steps, threshold)
    return _trajectory(policy, x, recorder, f, lam=lam, method="lbfgs", eta=float("nan"), n=n,
                       threshold=threshold)


def ascend(
    game: MarkovGame,
    policy: BNPolicy,
    lam: float,
    *,
    method: str = "armijo",
    eta: float | None = None,
    max_steps: int = 5000,
    threshold: float | None = None,
    record_every: int | None = None,
    metrics: Iterable[Metric] = DEFAULT_METRICS,
    stop_below: dict | None = None,
    max_move: float = 0.1,
    backend: str = "auto",
) -> Trajectory:
    r"""Climb :math:`L_\lambda` from ``policy`` by one of :data:`METHODS` (see the module docstring).

    The front end of :func:`fixed_step_ascent`, :func:`armijo_ascent`, :func:`path_ascent` and
    :func:`lbfgs_ascent`: each receives the arguments it uses, and the others are ignored.

    Parameters
    ----------
    game : MarkovGame
    policy : BNPolicy
        The starting point :math:`\theta_0` (not modified).
    lam : float
        :math:`\lambda \ge 0`.
    method : {"fixed", "armijo", "path", "lbfgs"}, default "armijo"
    eta : float, optional
        The step of ``"fixed"`` (required there); the first trial step of ``"armijo"`` (default 1).
    max_steps : int, default 5000
        Largest number of updates.
    threshold : float or None, default None
        Stop at the first recorded iterate whose gradient norm is at most this; for the hypothesis of
        Lemmas 2-3 pass :func:`bnpg.theory.constants.gradient_threshold`. ``None`` disables the rule.
    record_every : int, optional
        Default: every step for ``"fixed"``; the first and the last iterate for ``"armijo"`` and
        ``"path"``. Not used by ``"lbfgs"``.
    metrics : sequence of str or callable
        Names from :data:`~bnpg.dynamics.trajectory.METRICS`, or functions ``(game, policy) -> float``.
    stop_below : dict, optional
        ``{metric: value}`` (not used by ``"lbfgs"``).
    max_move : float, default 0.1
        Longest step of ``"path"``.
    backend : {"auto", "numpy", "numba"}
        Where :math:`L_\lambda` and its gradient are computed (:func:`bnpg.backends.resolve_backend`).

    Returns
    -------
    Trajectory

    Examples
    --------
    >>> import bnpg
    >>> from bnpg.games import climbing_game
    >>> from bnpg.theory.constants import gradient_threshold
    >>> game = climbing_game(gamma=0.5)
    >>> start = bnpg.BNPolicy.random(game, bnpg.DAG.full(2), seed=1)
    >>> run = bnpg.ascend(game, start, lam=0.1, threshold=gradient_threshold(game, 0.1))
    >>> run.met, run.method
    (True, 'armijo')
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    common = dict(max_steps=max_steps, threshold=threshold, metrics=metrics, backend=backend)
    if method == "lbfgs":
        return lbfgs_ascent(game, policy, lam, **common)
    common.update(record_every=record_every, stop_below=stop_below)
    if method == "path":
        return path_ascent(game, policy, lam, max_move=max_move, **common)
    if method == "armijo":
        return armijo_ascent(game, policy, lam, eta=1.0 if eta is None else eta, **common)
    if eta is None:
        raise ValueError('method="fixed" needs a step size eta')
    return fixed_step_ascent(game, policy, lam, eta=eta, **{**common, "record_every": 1 if record_every is None else record_every})


def _run_fixed(f: FlatObjective, rec: Recorder, x, eta, max_steps, record_every, done):
    t = 0
    while True:
        row = rec.record(t, x, *f(x))
        if done(row) or t == max_steps:
            return x, t
        n = min(record_every - t % record_every, max_steps - t)
        x = f.advance(x, n, eta)
        t += n


def _run_lbfgs(f: FlatObjective, rec: Recorder, x0, max_steps, threshold):
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
    metrics: Iterable[Metric] = DEFAULT_METRICS,
    stop_below: dict | None = None,
    backend: str = "auto",
) -> Trajectory:
    r"""Run the policy-gradient dynamics (2)-(3) for ``steps`` updates: :func:`fixed_step_ascent` without a threshold.

    Parameters
    ----------
    game, policy, lam, eta, record_every, metrics, stop_below, backend
        As in :func:`fixed_step_ascent`.
    steps : int
        Number of updates, ``>= 0``.

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
    return fixed_step_ascent(
        game, policy, lam, eta=eta, max_steps=steps, threshold=None, record_every=record_every,
        metrics=metrics, stop_below=stop_below, backend=backend,
    )
