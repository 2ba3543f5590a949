r"""The curvature of :math:`L_\lambda` that Lemma 4 bounds, measured (paper, Lemma 4, Appendix A).

Lemma 4 states that the regularised objective of Section 4.1 is :math:`\beta_\lambda`-smooth,
:math:`\|\nabla L_\lambda(\theta) - \nabla L_\lambda(\theta')\| \le \beta_\lambda \|\theta - \theta'\|`, with
:math:`\beta_\lambda` of :func:`bnpg.theory.constants.smoothness_bound`. For a twice differentiable function
this is the same as :math:`\sup_\theta \max |\operatorname{eig} \nabla^2 L_\lambda(\theta)| \le \beta_\lambda`,
and it implies :math:`|u^\top \nabla^2 L_\lambda(\theta) u| \le \beta_\lambda` for every unit vector
:math:`u`. This module measures both quantities at chosen points, from the finite differences of the
exact gradient in :mod:`bnpg.dynamics.finite_differences`.

Every value measured at finitely many points is a *lower* bound on the smoothness constant
:math:`\beta^\star = \sup_\theta \max |\operatorname{eig} \nabla^2 L_\lambda(\theta)|`, so a measurement above
:math:`\beta_\lambda` would refute Lemma 4, while the ratio :math:`\beta_\lambda / \text{measured}` is an
*upper* bound on the slack :math:`\beta_\lambda / \beta^\star`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bnpg._validation import as_generator, integer, non_negative, positive
from bnpg.dynamics.ascent import gradient_ascent
from bnpg.dynamics.finite_differences import HESSIAN_STEP, directional_curvature, hessian
from bnpg.model.dag import DAG
from bnpg.model.game import MarkovGame
from bnpg.model.policy import BNPolicy, check_game_and_dag, check_policy
from bnpg.theory.constants import smoothness_bound

__all__ = [
    "CurvatureReport",
    "climb_curvature",
    "max_curvature",
    "measure_curvature",
    "random_unit_directions",
    "trajectory_policies",
]


def max_curvature(
    game: MarkovGame, policy: BNPolicy, lam: float = 0.0, *, h: float = HESSIAN_STEP
) -> float:
    r""":math:`\max |\operatorname{eig} \nabla^2 L_\lambda(\theta)|`, the local smoothness at :math:`\theta`.

    Examples
    --------
    The bandit of :func:`hessian` at :math:`\pi = (1/4, 3/4)`: the eigenvalues of
    :math:`\frac{3}{32} \begin{pmatrix} -1 & 1 \\ 1 & -1 \end{pmatrix}` are :math:`0` and :math:`-3/16`.

    >>> import numpy as np, bnpg
    >>> from bnpg import curvature
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 1)), [[0.0, 1.0]], [1.0], 0.0)
    >>> policy = bnpg.BNPolicy(game, bnpg.DAG.empty(1), [[[0.0, np.log(3.0)]]])
    >>> round(curvature.max_curvature(game, policy), 8)
    0.1875
    """
    H = hessian(game, policy, lam, h=h)
    return float(np.max(np.abs(np.linalg.eigvalsh(H))))


def random_unit_directions(n_params: int, count: int, seed) -> np.ndarray:
    """``count`` directions drawn uniformly from the unit sphere in ``n_params`` dimensions.

    Parameters
    ----------
    n_params, count : int
        Both ``>= 1``.
    seed : int or numpy.random.Generator

    Returns
    -------
    ndarray, shape (count, n_params)
        Rows of unit Euclidean norm (normalised standard normal vectors).

    Examples
    --------
    >>> import numpy as np, bnpg
    >>> from bnpg import curvature
    >>> U = curvature.random_unit_directions(5, 3, seed=0)
    >>> U.shape, bool(np.allclose(np.linalg.norm(U, axis=1), 1.0))
    ((3, 5), True)
    """
    n_params = integer("n_params", n_params, minimum=1)
    count = integer("count", count, minimum=1)
    rng = as_generator(seed)
    z = rng.standard_normal((count, n_params))
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def trajectory_policies(
    game: MarkovGame, policy: BNPolicy, *, lam: float, eta: float, steps: int, every: int
) -> list[BNPolicy]:
    r"""The iterates :math:`\theta_0, \theta_k, \theta_{2k}, \dots` of the dynamics (2)-(3).

    Runs :func:`bnpg.gradient_ascent` in segments of ``every`` steps and keeps the policy at the end of
    each segment.

    Parameters
    ----------
    game : MarkovGame
    policy : BNPolicy
        :math:`\theta_0` (not modified).
    lam, eta : float
        As in :func:`bnpg.gradient_ascent`.
    steps : int
        Total number of updates, a multiple of ``every``.
    every : int
        Updates between two kept iterates, ``>= 1``.

    Returns
    -------
    list of BNPolicy
        ``steps // every + 1`` policies, the first being ``policy``.

    Examples
    --------
    A one-state bandit with rewards ``[0, 1]`` and :math:`\gamma = 1/2`: :math:`V = 2 \pi_1`, so each step
    adds :math:`\pm 2 \pi_0 \pi_1` to the two parameters.

    >>> import numpy as np, bnpg
    >>> from bnpg import curvature
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 1)), [[0.0, 1.0]], [1.0], 0.5)
    >>> run = curvature.trajectory_policies(game, bnpg.BNPolicy(game, bnpg.DAG.empty(1)),
    ...                                      lam=0.0, eta=1.0, steps=4, every=2)
    >>> [round(float(p.local(0)[0, 1]), 4) for p in run]
    [0.5, 0.8565, 0.9318]
    """
    check_policy(game, policy)
    steps = integer("steps", steps, minimum=0)
    every = integer("every", every, minimum=1)
    if steps % every:
        raise ValueError(f"steps ({steps}) must be a multiple of every ({every})")
    out = [policy]
    current = policy
    for _ in range(steps // every):
        current = gradient_ascent(
            game, current, lam=lam, eta=eta, steps=every, record_every=every, metrics=()
        ).policy
        out.append(current)
    return out


def climb_curvature(
    game: MarkovGame,
    policy: BNPolicy,
    lam: float = 0.0,
    *,
    seed,
    iterations: int = 100,
    step: float = 0.5,
    h: float = HESSIAN_STEP,
) -> tuple[BNPolicy, float]:
    r"""Stochastic hill climbing on :math:`\theta \mapsto \max |\operatorname{eig} \nabla^2 L_\lambda(\theta)|`.

    A local search for points of large curvature, to probe Lemma 4 harder than random points do.
    Each iteration proposes :math:`\theta + \sigma z` with :math:`z` standard normal, keeps it if the
    curvature grows and otherwise halves :math:`\sigma` (restoring it to ``step`` once it falls below
    ``step / 64``).

    Parameters
    ----------
    game : MarkovGame
    policy : BNPolicy
        The starting point (not modified).
    lam : float, default 0
    seed : int or numpy.random.Generator
    iterations : int, default 100
        Number of proposals; each costs one Hessian, ``2 * n_params`` gradients.
    step : float, default 0.5
        Initial proposal scale :math:`\sigma > 0`.
    h : float, default 1e-4

    Returns
    -------
    (BNPolicy, float)
        The best point found and its curvature; never below the starting point's.

    Examples
    --------
    >>> import numpy as np, bnpg
    >>> from bnpg import curvature
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 1)), [[0.0, 1.0]], [1.0], 0.0)
    >>> start = bnpg.BNPolicy(game, bnpg.DAG.empty(1))
    >>> best, c = curvature.climb_curvature(game, start, seed=0, iterations=50)
    >>> bool(c > curvature.max_curvature(game, start)), c == curvature.max_curvature(game, best)
    (True, True)
    """
    check_policy(game, policy)
    lam = non_negative("lam", lam)
    iterations = integer("iterations", iterations, minimum=0)
    step = positive("step", step)
    h = positive("h", h)
    rng = as_generator(seed)
    best = policy
    best_value = max_curvature(game, policy, lam, h=h)
    x = policy.flat()
    sigma = step
    for _ in range(iterations):
        candidate = policy.with_flat(x + sigma * rng.standard_normal(x.size))
        value = max_curvature(game, candidate, lam, h=h)
        if value > best_value:
            best, best_value, x = candidate, value, candidate.flat()
        else:
            sigma = sigma / 2 if sigma / 2 >= step / 64 else step
    return best, best_value


@dataclass(frozen=True)
class CurvatureReport:
    r"""Largest curvature of :math:`L_\lambda` found on one game and DAG, next to :math:`\beta_\lambda`.

    Attributes
    ----------
    directional : float
        :math:`\max |u^\top \nabla^2 L_\lambda(\theta)\, u|` over random points and random unit directions.
    spectral : float
        :math:`\max |\operatorname{eig} \nabla^2 L_\lambda(\theta)|` over the same random points.
    trajectory : float
        :math:`\max |\operatorname{eig} \nabla^2 L_\lambda(\theta_t)|` over iterates of gradient ascent.
    bound : float
        :math:`\beta_\lambda` of Lemma 4 (:func:`bnpg.smoothness_bound`).
    directional_error : float
        Largest change of a directional value when ``h`` is halved (an estimate of its error).
    asymmetry : float
        Largest :math:`|H - H^\top|` entry of an unsymmetrised Hessian, relative to :math:`\max |H|`.
    eta : float
        The step size of the trajectory.
    """

    directional: float
    spectral: float
    trajectory: float
    bound: float
    directional_error: float
    asymmetry: float
    eta: float

    @property
    def measured(self) -> float:
        """The largest of the three measured curvatures."""
        return max(self.directional, self.spectral, self.trajectory)

    @property
    def ratio(self) -> float:
        r""":math:`\beta_\lambda /` :attr:`measured`, an upper bound on the slack of Lemma 4 on this game."""
        return self.bound / self.measured


def measure_curvature(
    game: MarkovGame,
    dag: DAG,
    lam: float,
    *,
    seed,
    n_points: int = 3,
    n_directions: int = 20,
    scale: float = 1.0,
    eta: float | None = None,
    steps: int = 300,
    every: int = 50,
    h: float = HESSIAN_STEP,
    max_hessians: int | None = None,
) -> CurvatureReport:
    r"""Measure the largest curvature of :math:`L_\lambda` three ways (see :class:`CurvatureReport`).

    Parameters
    ----------
    game : MarkovGame
    dag : DAG
    lam : float
        :math:`\lambda \ge 0`.
    seed : int or numpy.random.Generator
        Draws the random points (``BNPolicy.random`` with ``scale``), the directions and the start of
        the trajectory (the first random point).
    n_points, n_directions : int
        Random points, and random unit directions per point.
    scale : float, default 1
        Standard deviation of the random parameters.
    eta : float, optional
        Step size of the trajectory. ``None`` means :math:`1 / (2 c_0)`, with :math:`c_0` the largest
        curvature at the first random point (1 if that is 0): a step that is stable near the start, far longer than
        the theorems' :math:`1/\beta_\lambda` when the bound is loose, so that a few hundred steps
        travel along the gradient flow rather than stay at :math:`\theta_0`.
    steps, every : int, default 300 and 50
        As in :func:`trajectory_policies`.
    h : float, default 1e-4
    max_hessians : int, optional
        At most this many full Hessians (``>= 1``; each costs ``2 * n_params`` gradients), the
        dominant cost on large games. They go to the first random points, then to the last iterates
        of the trajectory; the other points are measured along their random directions only, and
        the trajectory is not run when no Hessian is left for it. ``None`` (the default) computes
        all ``n_points + steps // every`` of them. The trajectory's first iterate is the first
        random point, whose Hessian is never computed twice.

    Returns
    -------
    CurvatureReport

    Examples
    --------
    >>> import numpy as np, bnpg
    >>> from bnpg import curvature
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.5)
    >>> rep = curvature.measure_curvature(game, bnpg.DAG.chain(2), 0.1, seed=0, n_points=2,
    ...                                    n_directions=3, steps=20, every=10)
    >>> round(rep.bound, 10)  # 8 * 2 * 1 / 0.5**3 + 2 * 0.1 / 1 + 2 * 0.1 / 2
    128.3
    >>> bool(rep.measured <= rep.bound)
    True

    With one Hessian, only the first random point's is computed and the trajectory is not run:

    >>> one = curvature.measure_curvature(game, bnpg.DAG.chain(2), 0.1, seed=0, n_points=2,
    ...                                    n_directions=3, steps=20, every=10, max_hessians=1)
    >>> one.directional == rep.directional, one.trajectory == one.spectral <= rep.spectral
    (True, True)
    """
    check_game_and_dag(game, dag)
    bound = smoothness_bound(game, dag, lam)
    n_points = integer("n_points", n_points, minimum=1)
    n_directions = integer("n_directions", n_directions, minimum=1)
    scale = non_negative("scale", scale)
    h = positive("h", h)
    if eta is not None:
        eta = positive("eta", eta)
    steps = integer("steps", steps, minimum=0)
    every = integer("every", every, minimum=1)
    if steps % every:
        raise ValueError(f"steps ({steps}) must be a multiple of every ({every})")
    n_iterates = steps // every
    if max_hessians is None:
        max_hessians = n_points + n_iterates
    max_hessians = integer("max_hessians", max_hessians, minimum=1)
    rng = as_generator(seed)
    points = [BNPolicy.random(game, dag, rng, scale) for _ in range(n_points)]
    directional = spectral = error = asym = first = 0.0
    for k, policy in enumerate(points):
        for u in random_unit_directions(policy.n_params, n_directions, rng):
            c = directional_curvature(game, policy, u, lam, h=h)
            c_half = directional_curvature(game, policy, u, lam, h=h / 2)
            directional = max(directional, abs(c))
            error = max(error, abs(c - c_half))
        if k >= max_hessians:
            continue
        H = hessian(game, policy, lam, h=h, symmetrise=False)
        size = float(np.max(np.abs(H)))
        asym = max(asym, float(np.max(np.abs(H - H.T))) / size if size else 0.0)
        local = float(np.max(np.abs(np.linalg.eigvalsh((H + H.T) / 2))))
        spectral = max(spectral, local)
        if k == 0:
            first = local
            if eta is None:
                eta = 1.0 / (2.0 * local) if local else 1.0
    trajectory = first  # the trajectory's first iterate is points[0]
    left = min(max_hessians - min(n_points, max_hessians), n_iterates)
    if left:
        run = trajectory_policies(game, points[0], lam=lam, eta=eta, steps=steps, every=every)
        for policy in run[len(run) - left:]:
            trajectory = max(trajectory, max_curvature(game, policy, lam, h=h))
    return CurvatureReport(directional, spectral, trajectory, bound, error, asym, eta)
