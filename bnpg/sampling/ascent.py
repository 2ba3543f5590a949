r"""The policy-gradient dynamics (2) driven by sampled gradients, watched with exact metrics.

The exact dynamics of the theorems take :math:`\theta_{t+1} = \theta_t + \eta \nabla L_\lambda(\theta_t)`
(2). A model-free learner only has an estimate :math:`\hat g_t` of that gradient, made from a fresh
batch of episodes at every step (:func:`bnpg.sampling.estimators.gradient_estimate`):

.. math::

    \theta_{t+1} = \theta_t + \eta\, \hat g_t, \qquad
    \mathbb E[\hat g_t \mid \theta_t] = \nabla L_\lambda(\theta_t) \text{ for an unbiased estimator.}

The learner never sees the exact quantities; the run records them all the same (value, objective,
exact gradient norm, Nash gap, optimality gap, by linear solves and policy iteration), together with the
number of actions drawn so far, so that a sampled run and an exact one are compared on the same scale:
steps, and samples.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from bnpg._validation import integer, non_negative, positive, stop_thresholds
from bnpg.dynamics.trajectory import (
    Metric,
    Trajectory,
    check_metrics,
    metric_functions,
    metric_name,
)
from bnpg.exact.evaluation import evaluate
from bnpg.exact.objective import gradient, gradient_norm, log_barrier
from bnpg.model.game import MarkovGame
from bnpg.model.policy import BNPolicy, check_policy
from bnpg.sampling.episodes import check_episodes, check_horizon
from bnpg.sampling.estimators import check_estimator, gradient_estimate

__all__ = ["sampled_ascent"]


def sampled_ascent(
    game: MarkovGame,
    policy: BNPolicy,
    lam: float,
    *,
    eta: float,
    steps: int,
    episodes: int,
    horizon,
    rng: np.random.Generator,
    method: str = "reinforce",
    critic="batch",
    record_every: int = 1,
    metrics: Iterable[Metric] = ("value",),
    stop_below: dict | None = None,
) -> Trajectory:
    r"""Run ``steps`` updates :math:`\theta \leftarrow \theta + \eta \hat g` from ``policy``.

    Parameters
    ----------
    game : MarkovGame
    policy : BNPolicy
        The starting point (not modified).
    lam : float
        :math:`\lambda \ge 0`.
    eta : float
        The step size, positive.
    steps : int
        Largest number of updates.
    episodes, horizon, method, critic
        As in :func:`bnpg.sampling.estimators.gradient_estimate`; every update draws a fresh batch from ``rng``.
    rng : numpy.random.Generator
    record_every : int, default 1
        Record the exact metrics at ``t = 0, record_every, ...`` and at the last iterate.
    metrics : sequence of str or callable
        Any of :data:`bnpg.dynamics.trajectory.METRICS`, or functions ``(game, policy) -> float`` recorded under
        their ``__name__``, computed exactly at the recorded iterates. The metric ``"agent_steps"``,
        the actions drawn before the recorded iterate, is always recorded.
    stop_below : dict, optional
        ``{metric: value}``: stop at the first recorded iterate where every listed metric is at most
        its value.

    Returns
    -------
    Trajectory
        ``method`` is ``"sampled " + method``; ``n_evaluations`` counts the gradient estimates.

    Examples
    --------
    >>> import numpy as np, bnpg
    >>> from bnpg.sampling.ascent import sampled_ascent
    >>> game = bnpg.games.penalty_game(gamma=0.5)
    >>> run = sampled_ascent(game, bnpg.BNPolicy(game, bnpg.DAG.full(2)), 0.01, eta=0.05, steps=200,
    ...                      episodes=50, horizon="geometric", rng=np.random.default_rng(0),
    ...                      record_every=100, metrics=("value",))
    >>> run.steps.tolist(), bool(run.value[-1] > run.value[0])
    ([0, 100, 200], True)
    """
    check_policy(game, policy)
    lam = non_negative("lam", lam)
    eta = positive("eta", eta)
    steps = integer("steps", steps, minimum=0)
    episodes = check_episodes(episodes)
    horizon = check_horizon(horizon)
    method, _ = check_estimator(method, critic, game.n_states)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    record_every = integer("record_every", record_every, minimum=1)
    metrics = check_metrics(metrics)
    names = tuple(metric_name(m) for m in metrics)
    if "agent_steps" in names:
        raise ValueError("metrics contains a function named 'agent_steps', which sampled_ascent always records")
    stops = stop_thresholds(stop_below, names)
    extra = metric_functions(game, metrics)

    rows = {m: [] for m in (*names, "agent_steps")}
    recorded: list[int] = []
    drawn = 0

    def record(t: int, current: BNPolicy) -> bool:
        value = evaluate(game, current).value
        row = {"value": value, "objective": value + lam * log_barrier(current), "agent_steps": drawn}
        if "grad_norm" in names:
            row["grad_norm"] = gradient_norm(gradient(game, current, lam, backend="numpy"))
        for name, metric in extra.items():
            row[name] = metric(current, value)
        for m in rows:
            rows[m].append(row[m])
        recorded.append(t)
        return bool(stops) and all(row[m] <= v for m, v in stops.items())

    current = policy
    done = record(0, current)
    t = 0
    while not done and t < steps:
        est = gradient_estimate(game, current, lam, episodes=episodes, horizon=horizon, rng=rng,
                                method=method, critic=critic)
        drawn += est.agent_steps
        current = current.with_theta([th + eta * g for th, g in zip(current.theta, est.gradient, strict=True)])
        t += 1
        if t % record_every == 0 or t == steps:
            done = record(t, current)
    return Trajectory(
        policy=current, steps=np.array(recorded, dtype=int),
        metrics={m: np.array(v, dtype=int if m == "agent_steps" else float) for m, v in rows.items()},
        lam=lam, method=f"sampled {method}", eta=eta, n_steps=t, n_evaluations=t, threshold=None,
    )
