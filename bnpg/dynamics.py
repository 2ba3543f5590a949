r"""Policy-gradient dynamics with log-barrier regularisation (paper, Equations 2-3, Lemma 4).

Every agent ascends the common objective with the same fixed step size:

.. math::

    \theta^i_{t+1} = \theta^i_t + \eta \nabla_{\theta^i} L_\lambda(\theta_t) \qquad (2)

entry by entry, :math:`\theta^{i,t+1}_{s,a^{\mathcal P^i},a^i} = \theta^{i,t}_{s,a^{\mathcal P^i},a^i}
+ \eta\, \partial L_\lambda(\theta_t) / \partial \theta^i_{s,a^{\mathcal P^i},a^i}` (3). The gradient is
the exact one of :func:`bnpg.gradient`.

Lemma 4 states that :math:`L_\lambda` is :math:`\beta_\lambda`-smooth with

.. math::

    \beta_\lambda = \frac{8N(r_{\max} - r_{\min})}{(1-\gamma)^3}
                  + \sum_i \frac{2\lambda}{|\mathcal S| |\mathcal A^{\mathcal P^i}|},

and Theorems 1-2 take :math:`\eta \le 1/\beta_\lambda`; :func:`smoothness_bound` evaluates it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from ._validation import game_and_dag, integer, non_negative, positive, real_scalar, same_game
from .dag import DAG
from .game import MarkovGame
from .gaps import nash_gap, optimal_value
from .objective import evaluation_and_gradient, log_barrier, resolve_backend
from .policy import BNPolicy

#: Metrics :func:`gradient_ascent` can record.
METRICS = ("objective", "value", "grad_norm", "nash_gap", "optimality_gap")
DEFAULT_METRICS = ("objective", "value", "grad_norm")


def smoothness_bound(game: MarkovGame, dag: DAG, lam: float) -> float:
    r""":math:`\beta_\lambda` of Lemma 4 for this game and DAG.

    Examples
    --------
    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.5)
    >>> bnpg.smoothness_bound(game, bnpg.DAG.empty(2), lam=0.0)   # 8 * 2 * 1 / 0.5**3
    128.0
    """
    game_and_dag(game, dag)
    lam = non_negative("lam", lam)
    n = game.n_agents
    spread = game.r_max - game.r_min
    parent_sizes = [int(np.prod([game.action_sizes[j] for j in dag.parents(i)])) for i in range(n)]
    return 8 * n * spread / (1 - game.gamma) ** 3 + sum(
        2 * lam / (game.n_states * b) for b in parent_sizes
    )


@dataclass(frozen=True)
class Trajectory:
    """A run of the dynamics (2)-(3).

    Attributes
    ----------
    policy : BNPolicy
        The policy after the last step.
    steps : ndarray of int
        The step indices ``t`` at which metrics were recorded (``theta_t``, before update ``t+1``).
    metrics : dict of str to ndarray
        One array per recorded metric, aligned with ``steps``.
    lam, eta : float
        The regularisation and the step size used.
    """

    policy: BNPolicy
    steps: np.ndarray
    metrics: dict = field(default_factory=dict)
    lam: float = 0.0
    eta: float = 0.0

    def __getattr__(self, name):
        metrics = self.__dict__.get("metrics", {})
        if name in metrics:
            return metrics[name]
        raise AttributeError(name)

    def first_step_below(self, metric: str, threshold: float) -> int | None:
        """The first recorded step whose ``metric`` is at most ``threshold`` (``None`` if never)."""
        values = self.metrics[metric]
        hits = np.flatnonzero(values <= threshold)
        return int(self.steps[hits[0]]) if hits.size else None


def _check_metrics(metrics) -> tuple[str, ...]:
    if isinstance(metrics, str) or not isinstance(metrics, Iterable):
        raise TypeError(f"metrics must be a sequence of metric names, got {metrics!r}")
    metrics = tuple(metrics)
    for m in metrics:
        if m not in METRICS:
            raise ValueError(f"metrics contains {m!r}; choose from {METRICS}")
    return metrics


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
    r"""Run the policy-gradient dynamics (2)-(3) on :math:`L_\lambda` with exact gradients.

    Parameters
    ----------
    game : MarkovGame
    policy : BNPolicy
        The initial policy :math:`\theta_0` (not modified).
    lam : float
        :math:`\lambda \ge 0`.
    eta : float
        Step size :math:`\eta > 0` (the theorems take :math:`\eta \le 1/\beta_\lambda`).
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
        ``"numba"`` advances between records inside the compiled kernel of :mod:`bnpg._fast`;
        ``"auto"`` uses it when numba is installed. Both give the same trajectory to round-off.

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
    same_game(game, policy)
    lam = non_negative("lam", lam)
    eta = positive("eta", eta)
    steps = integer("steps", steps, minimum=0)
    record_every = integer("record_every", record_every, minimum=1)
    metrics = _check_metrics(metrics)
    stop_below = {} if stop_below is None else dict(stop_below)
    for m, thr in stop_below.items():
        if m not in metrics:
            raise ValueError(f"stop_below names {m!r}, which is not among metrics {metrics}")
        stop_below[m] = real_scalar(f"stop_below[{m!r}]", thr)
    fast = resolve_backend(backend) == "numba"
    v_star = optimal_value(game) if "optimality_gap" in metrics else None

    if fast:
        from . import _fast

        plan = policy.structure.plan(game)

        def advance(flat: np.ndarray, n: int) -> np.ndarray:
            return _fast.ascend(plan, flat, n, eta, lam)

        def measure(flat: np.ndarray) -> tuple[float, float, float]:
            v, barrier, grad = _fast.value_and_gradient(plan, flat, lam)
            return v, barrier, float(np.sqrt(grad @ grad))

    else:

        def numpy_gradient(flat: np.ndarray) -> tuple[BNPolicy, float, np.ndarray]:
            current = policy.with_flat(flat)
            ev, grads = evaluation_and_gradient(game, current, lam)
            return current, ev.value, np.concatenate([g.ravel() for g in grads])

        def advance(flat: np.ndarray, n: int) -> np.ndarray:
            for _ in range(n):
                flat = flat + eta * numpy_gradient(flat)[2]
            return flat

        def measure(flat: np.ndarray) -> tuple[float, float, float]:
            current, v, grad = numpy_gradient(flat)
            return v, log_barrier(current), float(np.sqrt(grad @ grad))

    records: dict[str, list[float]] = {m: [] for m in metrics}
    recorded: list[int] = []
    flat = policy.flat()
    t = 0
    while True:
        v, barrier, norm = measure(flat)
        row = {"objective": v + lam * barrier, "value": v, "grad_norm": norm}
        if "nash_gap" in metrics:
            row["nash_gap"] = nash_gap(game, policy.with_flat(flat))
        if v_star is not None:
            row["optimality_gap"] = v_star - v
        for m in metrics:
            records[m].append(row[m])
        recorded.append(t)
        if stop_below and all(row[m] <= thr for m, thr in stop_below.items()):
            break
        if t == steps:
            break
        n = min(record_every - t % record_every, steps - t)
        flat = advance(flat, n)
        t += n
    return Trajectory(
        policy=policy.with_flat(flat),
        steps=np.array(recorded, dtype=int),
        metrics={m: np.array(v) for m, v in records.items()},
        lam=lam,
        eta=eta,
    )
