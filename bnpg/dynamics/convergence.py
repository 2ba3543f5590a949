r"""The dynamics (2)-(3) run with the step size and regularisation of Theorems 1-2 (paper, Section 4.2, Appendix A.3, A.5).

**The theorems' parameters.** For a target :math:`\epsilon > 0`, Theorem 1 (Nash gap) takes
:math:`\lambda = \epsilon / (2M)` and Theorem 2 (optimality gap, fully-correlated DAG) takes
:math:`\lambda = \epsilon / (2^{N+1} N M)`; both take the step :math:`\eta = 1/\beta_\lambda` of
Lemma 4. :func:`bnpg.theory.constants.theory_setting` computes these numbers for a game and a DAG, together
with the gradient threshold of Lemmas 2-3, :math:`\tau = \lambda / (2 |\mathcal S| |\mathcal A| \max_i |\mathcal A^i|)`.

**First crossing.** The theorems bound the first ``T`` with :math:`\min_{t<T} \text{gap}_t \le \epsilon`,
where :math:`\text{gap}_t` is the gap of the iterate :math:`\theta_t` (``t`` updates after
:math:`\theta_0`). Since :math:`\min_{t<T} \text{gap}_t \le \epsilon` first holds at
:math:`T = t^\star + 1`, with :math:`t^\star` the first iterate whose gap is at most :math:`\epsilon`,
:func:`first_crossing` reports :math:`T_{\text{obs}} = t^\star + 1`. A Nash gap costs a few best
responses, so it is not evaluated at every step. The gap is evaluated at geometric checkpoints
:math:`c_0 = 0`, :math:`c_{k+1} = \max(c_k + 1, \lceil g\, c_k \rceil)`; at the first checkpoint
:math:`c_k` where it is at most :math:`\epsilon`, the interval :math:`(c_{k-1}, c_k]` is cut into
``split`` equal parts, the first part whose right end is at most :math:`\epsilon` is cut again, and so
on down to single steps. The reported :math:`t^\star` is therefore an iterate whose gap is at most
:math:`\epsilon` and whose predecessor (if any) has a gap above :math:`\epsilon`; it is the first such
iterate unless the gap dipped below :math:`\epsilon` and rose again between two inspected iterates
before it. In every case the true first crossing is *at most* the reported one, so
:math:`T_{\text{obs}} \le T_{\text{bound}}` is a valid check of a theorem, while a claim that a run
needs *more* than some number of steps requires more (a monotone gap, for instance).

**The envelope of the proofs.** Gradient ascent with :math:`\eta = 1/\beta_\lambda` on a
:math:`\beta_\lambda`-smooth objective gains at least :math:`\|\nabla L_\lambda(\theta_t)\|^2 / (2\beta_\lambda)`
per step, so

.. math::

    \begin{aligned}
    \min_{t<T} \|\nabla L_\lambda(\theta_t)\|_2^2 &\le \frac{2\beta_\lambda (L_\lambda(\theta_T) -
    L_\lambda(\theta_0))}{T} \\ &\le \frac{2\beta_\lambda (L_{\sup} - L_\lambda(\theta_0))}{T},
    \qquad L_{\sup} = V^\star(\mu),
    \end{aligned}

because the log barrier is at most 0. Appendices A.3 and A.5 bound the gain
:math:`L_\lambda(\theta^\star) - L_\lambda(\theta_0)` by :math:`(r_{\max} - r_{\min})/(1-\gamma)`;
:func:`gradient_envelope` evaluates the right-hand side for any gain;
:func:`bnpg.theory.constants.value_range_bound` is the gain the proofs use and :func:`actual_gain` the true
one, :math:`V^\star(\mu) - L_\lambda(\theta_0)`. With the true gain, the same argument needs
:math:`T = 2\beta_\lambda (V^\star(\mu) - L_\lambda(\theta_0)) / \tau^2` iterations
(:func:`bnpg.theory.constants.iteration_bound` with ``form="corrected"`` and ``gain=``).
"""

from __future__ import annotations

import math

import numpy as np

from bnpg._validation import integer, positive, real_scalar
from bnpg.backends.choice import resolve_backend
from bnpg.dynamics.ascent import gradient_ascent
from bnpg.dynamics.trajectory import Crossing, Trajectory
from bnpg.exact.evaluation import value
from bnpg.exact.gap_metrics import GAP_FUNCTIONS
from bnpg.exact.mdp import optimal_value
from bnpg.exact.objective import objective
from bnpg.model.game import MarkovGame
from bnpg.model.policy import BNPolicy, check_policy

__all__ = [
    "Crossing",
    "actual_gain",
    "envelope_violations",
    "first_crossing",
    "gradient_envelope",
    "running_min",
]


def actual_gain(game: MarkovGame, policy: BNPolicy, lam: float) -> float:
    r""":math:`V^\star(\mu) - L_\lambda(\theta_0)`: how much :math:`L_\lambda` can still rise from ``policy``.

    :math:`L_\lambda \le V_\theta(\mu) \le V^\star(\mu)` because the barrier term is
    :math:`-\lambda \sum_i \mathbb E[\mathrm{KL}] \le 0`, so this bounds the gain of any run from
    ``policy``. For the uniform policy the barrier is 0 and the gain is at most
    :func:`bnpg.theory.constants.value_range_bound`.

    >>> import bnpg
    >>> from bnpg import convergence, games
    >>> game = games.matching_game(2, 2, gamma=0.5)
    >>> convergence.actual_gain(game, bnpg.BNPolicy(game, bnpg.DAG.empty(2)), 0.25)   # 2 - 1
    1.0
    """
    check_policy(game, policy)
    lam = real_scalar("lam", lam)
    if lam < 0:
        raise ValueError(f"lam must be >= 0, got {lam!r}")
    return optimal_value(game) - objective(game, policy, lam)


def gradient_envelope(beta: float, gain: float, T) -> np.ndarray:
    r""":math:`\sqrt{2\beta\, \text{gain} / T}`, the bound on :math:`\min_{t<T}\|\nabla L_\lambda(\theta_t)\|_2` for :math:`\eta = 1/\beta`.

    Parameters
    ----------
    beta : float
        The smoothness constant used as ``1/eta``, ``> 0``.
    gain : float
        A bound on :math:`L_\lambda(\theta_T) - L_\lambda(\theta_0)`, ``>= 0``.
    T : int or array_like of int
        Numbers of iterates, each ``>= 1``.

    Returns
    -------
    ndarray of float, the shape of ``T``

    Examples
    --------
    >>> from bnpg import convergence
    >>> convergence.gradient_envelope(128.0, 2.0, [1, 4, 512]).tolist()
    [22.627416997969522, 11.313708498984761, 1.0]
    """
    beta = positive("beta", beta)
    gain = real_scalar("gain", gain)
    if gain < 0:
        raise ValueError(f"gain must be >= 0, got {gain!r}")
    T = np.asarray(T)
    if T.dtype == bool or not np.issubdtype(T.dtype, np.integer):
        raise TypeError(f"T must hold integers, got dtype {T.dtype}")
    if np.any(T < 1):
        raise ValueError(f"T must be >= 1, got minimum {int(T.min())}")
    return np.sqrt(2.0 * beta * gain / T.astype(float))


def running_min(values) -> np.ndarray:
    """``out[k] = min(values[:k + 1])``, a new array.

    >>> from bnpg import convergence
    >>> convergence.running_min([3.0, 1.0, 2.0, 0.5]).tolist()
    [3.0, 1.0, 1.0, 0.5]
    """
    arr = np.array(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"values must be one-dimensional, got shape {arr.shape}")
    return np.minimum.accumulate(arr) if arr.size else arr


def envelope_violations(steps, grad_norm, beta: float, gain: float) -> np.ndarray:
    r"""Recorded steps at which the smallest recorded gradient norm so far exceeds the envelope.

    At a recorded step :math:`t_k` the smallest norm among the records :math:`t_0 \le \dots \le t_k` is
    compared with :func:`gradient_envelope` at :math:`T = t_k + 1`. The records are a subset of the
    iterates :math:`t < T`, so their minimum is at least :math:`\min_{t<T}\|\nabla L_\lambda(\theta_t)\|`:
    an empty result verifies the envelope at every recorded ``T``; a non-empty one is a violation only
    if the norm cannot be smaller between records.

    Parameters
    ----------
    steps : array_like of int, increasing
    grad_norm : array_like of float, aligned with ``steps``
    beta, gain : float
        As in :func:`gradient_envelope`.

    Returns
    -------
    ndarray of int
        The offending ``t_k``.

    Examples
    --------
    >>> from bnpg import convergence
    >>> convergence.envelope_violations([0, 1, 3], [0.5, 0.4, 0.3], 1.0, 0.05).tolist()   # sqrt(0.1 / T)
    [0, 1, 3]
    >>> convergence.envelope_violations([0, 1, 3], [0.2, 0.2, 0.1], 1.0, 0.05).tolist()
    []
    """
    steps = np.asarray(steps)
    if steps.dtype == bool or not np.issubdtype(steps.dtype, np.integer):
        raise TypeError(f"steps must hold integers, got dtype {steps.dtype}")
    norms = running_min(grad_norm)
    if norms.shape != steps.shape:
        raise ValueError(f"grad_norm must have shape {steps.shape} like steps, got {norms.shape}")
    if steps.size > 1 and np.any(np.diff(steps) <= 0):
        raise ValueError("steps must be strictly increasing")
    bound = gradient_envelope(beta, gain, steps + 1)
    return steps[norms > bound]


def _gap_function(game: MarkovGame, metric: str):
    """The gap ``metric`` (Definitions 1-2) as a function of the policy, through :data:`GAP_FUNCTIONS`."""
    gap = GAP_FUNCTIONS[metric](game)
    return lambda policy: gap(policy, value(game, policy))


def _advance(game: MarkovGame, policy: BNPolicy, lam: float, eta: float, n: int, backend: str) -> BNPolicy:
    if n == 0:
        return policy
    return gradient_ascent(
        game, policy, lam=lam, eta=eta, steps=n, record_every=n, metrics=("value",), backend=backend
    ).policy


def first_crossing(
    game: MarkovGame,
    policy: BNPolicy,
    *,
    lam: float,
    eta: float,
    eps: float,
    metric: str,
    max_steps: int,
    growth: float = 1.25,
    split: int = 16,
    records_per_segment: int = 8,
    stop_at_crossing: bool = False,
    backend: str = "auto",
) -> Trajectory:
    r"""Run (2)-(3) from ``policy`` and find the first iterate whose gap is at most ``eps``.

    Parameters
    ----------
    game : MarkovGame
    policy : BNPolicy
        :math:`\theta_0` (not modified).
    lam, eta : float
        :math:`\lambda \ge 0` and :math:`\eta > 0`.
    eps : float
        Target gap, ``> 0``.
    metric : {"nash_gap", "optimality_gap"}
    max_steps : int
        Number of updates to run, ``>= 0`` (the run stops earlier only with ``stop_at_crossing``).
    growth : float, default 1.25
        Ratio ``g > 1`` of the geometric checkpoints (see the module docstring).
    split : int, default 16
        Parts per refinement level, ``>= 2``.
    records_per_segment : int, default 8
        :math:`L_\lambda`, :math:`V` and :math:`\|\nabla L_\lambda\|` are recorded at about this many
        equally spaced steps between consecutive checkpoints (at every step of a shorter segment).
    stop_at_crossing : bool, default False
        Stop at the first checkpoint whose gap is at most ``eps`` (after refining the crossing).
    backend : {"auto", "numpy", "numba"}
        Chosen once for the whole run; ``"auto"`` weighs ``max_steps`` steps
        (:func:`bnpg.backends.resolve_backend`).

    Returns
    -------
    Trajectory
        Its ``crossing`` is the :class:`Crossing`; ``policy`` the last iterate run, ``n_steps`` its step.

    Examples
    --------
    >>> import bnpg
    >>> from bnpg import convergence, games
    >>> game = games.matching_game(2, 2, gamma=0.5)
    >>> start = bnpg.BNPolicy(game, bnpg.DAG.chain(2))   # uniform: optimality gap 2 - 1 = 1
    >>> run = convergence.first_crossing(game, start, lam=0.05, eta=0.1, eps=0.5,
    ...                                  metric="optimality_gap", max_steps=2000)
    >>> dense = bnpg.gradient_ascent(game, start, lam=0.05, eta=0.1, steps=2000,
    ...                              metrics=("optimality_gap",))
    >>> run.crossing.first_below == dense.first_step_below("optimality_gap", 0.5)
    True
    """
    check_policy(game, policy)
    lam = real_scalar("lam", lam)
    if lam < 0:
        raise ValueError(f"lam must be >= 0, got {lam!r}")
    eta = positive("eta", eta)
    eps = positive("eps", eps)
    if metric not in GAP_FUNCTIONS:
        raise ValueError(f"metric must be one of {tuple(GAP_FUNCTIONS)}, got {metric!r}")
    max_steps = integer("max_steps", max_steps, minimum=0)
    growth = real_scalar("growth", growth)
    if growth <= 1.0:
        raise ValueError(f"growth must be > 1, got {growth!r}")
    split = integer("split", split, minimum=2)
    records_per_segment = integer("records_per_segment", records_per_segment, minimum=1)
    if not isinstance(stop_at_crossing, bool):
        raise TypeError(f"stop_at_crossing must be a bool, got {type(stop_at_crossing).__name__}")

    backend = resolve_backend(backend, game, max_steps)
    gap_of = _gap_function(game, metric)
    gap_points: dict[int, float] = {}
    checkpoints: list[int] = []
    rec_steps: list[np.ndarray] = []
    rec = {"objective": [], "value": [], "grad_norm": []}
    first_below = None
    evaluations = 0

    t, current = 0, policy
    previous = None  # (t, policy) of the last checkpoint with gap above eps
    while True:
        gap = gap_of(current)
        gap_points[t] = gap
        checkpoints.append(t)
        if first_below is None and gap <= eps:
            if previous is None:
                first_below = t
            else:
                first_below = _refine(game, lam, eta, eps, gap_of, previous, t, split, gap_points, backend)
            if stop_at_crossing:
                break
        elif first_below is None:
            previous = (t, current)
        if t >= max_steps:
            break
        nxt = min(max_steps, max(t + 1, math.ceil(t * growth)))
        n = nxt - t
        every = max(1, math.ceil(n / records_per_segment))
        traj = gradient_ascent(
            game, current, lam=lam, eta=eta, steps=n, record_every=every,
            metrics=("objective", "value", "grad_norm"), backend=backend,
        )
        evaluations += traj.n_evaluations
        keep = slice(None) if not rec_steps else slice(1, None)  # the start is the previous end
        rec_steps.append(t + traj.steps[keep])
        for m in rec:
            rec[m].append(traj.metrics[m][keep])
        t, current = nxt, traj.policy
    if not rec_steps:  # max_steps 0, or a crossing at t = 0 with stop_at_crossing
        traj = gradient_ascent(game, current, lam=lam, eta=eta, steps=0,
                               metrics=("objective", "value", "grad_norm"), backend=backend)
        rec_steps.append(traj.steps)
        for m in rec:
            rec[m].append(traj.metrics[m])
    order = sorted(gap_points)
    crossing = Crossing(
        metric=metric, eps=eps, gap_steps=np.array(order, dtype=int),
        gaps=np.array([gap_points[k] for k in order]), checkpoints=np.array(checkpoints, dtype=int),
        first_below=first_below,
    )
    return Trajectory(
        policy=current, steps=np.concatenate(rec_steps),
        metrics={m: np.concatenate(v) for m, v in rec.items()}, lam=lam, method="fixed", eta=eta,
        n_steps=t, n_evaluations=evaluations, threshold=None, crossing=crossing,
    )


def _refine(game, lam, eta, eps, gap_of, previous, hi, split, gap_points, backend) -> int:
    """First inspected iterate in ``(lo, hi]`` with gap at most ``eps``, by nested subdivision.

    ``previous = (lo, policy at lo)`` has gap above ``eps``; the iterate ``hi`` has gap at most ``eps``.
    """
    lo, at_lo = previous
    while hi - lo > 1:
        width = math.ceil((hi - lo) / split)
        t, current = lo, at_lo
        while True:
            n = min(width, hi - t)
            nxt_policy = _advance(game, current, lam, eta, n, backend)
            nxt = t + n
            if nxt == hi:
                break
            gap = gap_of(nxt_policy)
            gap_points[nxt] = gap
            if gap <= eps:
                break
            t, current = nxt, nxt_policy
        lo, at_lo, hi = t, current, nxt
    return hi
