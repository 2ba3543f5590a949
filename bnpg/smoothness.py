r"""Finite-difference derivatives of :math:`L_\lambda` and the curvature Lemma 4 bounds (paper, Appendix A).

Lemma 4 states that the regularised objective of Section 4.1 is :math:`\beta_\lambda`-smooth,

.. math::

    \|\nabla L_\lambda(\theta) - \nabla L_\lambda(\theta')\| \le \beta_\lambda \|\theta - \theta'\|,
    \qquad
    \beta_\lambda = \frac{8N(r_{\max} - r_{\min})}{(1-\gamma)^3}
                  + \sum_i \frac{2\lambda}{|\mathcal S| |\mathcal A^{\mathcal P^i}|}.

For a twice differentiable function this is the same as
:math:`\sup_\theta \max |\operatorname{eig} \nabla^2 L_\lambda(\theta)| \le \beta_\lambda`, and it implies
:math:`|u^\top \nabla^2 L_\lambda(\theta) u| \le \beta_\lambda` for every unit vector :math:`u`. This
module measures both quantities at given points, from central differences of the *exact* gradient
:func:`bnpg.gradient` (itself checked against differences of :func:`bnpg.objective`):

.. math::

    u^\top \nabla^2 L_\lambda(\theta)\, u \approx
    \frac{\big(\nabla L_\lambda(\theta + h u) - \nabla L_\lambda(\theta - h u)\big) \cdot u}{2h},
    \qquad
    \nabla^2 L_\lambda(\theta)\, e_j \approx
    \frac{\nabla L_\lambda(\theta + h e_j) - \nabla L_\lambda(\theta - h e_j)}{2h},

both with an error :math:`O(h^2)` from truncation plus :math:`O(\epsilon_{\text{mach}} / h)` from
rounding. The Hessian built column by column is symmetrised, :math:`(H + H^\top)/2`; its asymmetry
before that step is a by-product that measures the error.

Every value measured at finitely many points is a *lower* bound on the smoothness constant
:math:`\beta^\star = \sup_\theta \max |\operatorname{eig} \nabla^2 L_\lambda(\theta)|`, so a measurement above
:math:`\beta_\lambda` (:func:`bnpg.smoothness_bound`) would refute Lemma 4, while the ratio
:math:`\beta_\lambda / \text{measured}` is an *upper* bound on the slack :math:`\beta_\lambda / \beta^\star`.

:func:`central_difference` is the first-order counterpart: central differences of any scalar
function of the parameters, the independent route against which Lemma 1 is checked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._validation import as_generator, integer, non_negative, positive, real_array, same_game
from .dag import DAG
from .dynamics import gradient_ascent, smoothness_bound
from .game import MarkovGame
from .objective import gradient
from .policy import BNPolicy

#: Default step of the second-order differences (their error is about ``1e-9`` relative on small games).
HESSIAN_STEP = 1e-4


def _step(h: float) -> float:
    return positive("h", h)


def _flat_gradient(game: MarkovGame, policy: BNPolicy, lam: float) -> np.ndarray:
    return np.concatenate([g.ravel() for g in gradient(game, policy, lam)])


def central_difference(
    f: Callable[[BNPolicy], float], policy: BNPolicy, *, h: float = 1e-5
) -> list[np.ndarray]:
    r"""Central differences :math:`(f(\theta + h e_j) - f(\theta - h e_j)) / (2h)` for every parameter.

    Parameters
    ----------
    f : callable
        A scalar function of a :class:`~bnpg.BNPolicy`, e.g. ``lambda p: bnpg.objective(game, p, lam)``.
    policy : BNPolicy
        The point :math:`\theta` (not modified).
    h : float, default 1e-5
        The step; the error is :math:`O(h^2)` plus rounding :math:`O(\epsilon_{\text{mach}} |f| / h)`.

    Returns
    -------
    list of ndarray
        One array per agent, shaped like ``policy.theta[i]``.

    Examples
    --------
    A one-state bandit with :math:`\gamma = 0`: :math:`\partial V / \partial \theta_a = \pi_a (r_a - \bar r)`,
    which is ``[-0.25, 0.25]`` at the uniform policy over rewards ``[0, 1]``.

    >>> import numpy as np, bnpg
    >>> from bnpg import smoothness
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 1)), [[0.0, 1.0]], [1.0], 0.0)
    >>> policy = bnpg.BNPolicy(game, bnpg.DAG.empty(1))
    >>> fd = smoothness.central_difference(lambda p: bnpg.value(game, p), policy)
    >>> np.round(fd[0], 9)
    array([[-0.25,  0.25]])
    """
    if not callable(f):
        raise TypeError(f"f must be a callable of a BNPolicy, got {type(f).__name__}")
    if not isinstance(policy, BNPolicy):
        raise TypeError(f"policy must be a BNPolicy, got {type(policy).__name__}")
    h = _step(h)
    x = policy.flat()
    out = np.empty_like(x)
    for j in range(x.size):
        step = np.zeros_like(x)
        step[j] = h
        out[j] = (float(f(policy.with_flat(x + step))) - float(f(policy.with_flat(x - step)))) / (2 * h)
    return policy.unflatten(out)


def _unit(policy: BNPolicy, direction) -> np.ndarray:
    u = real_array("direction", direction)
    if u.shape != (policy.n_params,):
        raise ValueError(f"direction must have shape ({policy.n_params},), got {u.shape}")
    norm = float(np.linalg.norm(u))
    if norm == 0.0:
        raise ValueError("direction must be a non-zero vector")
    return u / norm


def directional_curvature(
    game: MarkovGame, policy: BNPolicy, direction, lam: float = 0.0, *, h: float = HESSIAN_STEP
) -> float:
    r"""Second directional derivative :math:`u^\top \nabla^2 L_\lambda(\theta)\, u` along a unit vector.

    Parameters
    ----------
    game : MarkovGame
    policy : BNPolicy
        The point :math:`\theta`.
    direction : array_like, shape (n_params,)
        A non-zero vector in the layout of :meth:`BNPolicy.flat`; it is scaled to unit length.
    lam : float, default 0
        :math:`\lambda \ge 0`.
    h : float, default 1e-4
        Step of the central difference of the exact gradient.

    Examples
    --------
    A one-state bandit with :math:`\gamma = 0`, rewards ``[0, 1]``, :math:`\theta = (0, \log 3)` and
    :math:`u = (-1, 1)/\sqrt 2`: along the line, :math:`V(\theta + t u) = \sigma(\log 3 + \sqrt 2\, t)` with
    :math:`\sigma` the logistic function, so the curvature is :math:`2 \sigma''(\log 3)
    = 2 \sigma (1 - \sigma)(1 - 2 \sigma) = -3/16` at :math:`\sigma = 3/4`.

    >>> import numpy as np, bnpg
    >>> from bnpg import smoothness
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 1)), [[0.0, 1.0]], [1.0], 0.0)
    >>> policy = bnpg.BNPolicy(game, bnpg.DAG.empty(1), [[[0.0, np.log(3.0)]]])
    >>> round(smoothness.directional_curvature(game, policy, [-1.0, 1.0]), 8)
    -0.1875
    """
    same_game(game, policy)
    lam = non_negative("lam", lam)
    h = _step(h)
    u = _unit(policy, direction)
    x = policy.flat()
    g_plus = _flat_gradient(game, policy.with_flat(x + h * u), lam)
    g_minus = _flat_gradient(game, policy.with_flat(x - h * u), lam)
    return float((g_plus - g_minus) @ u / (2 * h))


def hessian(
    game: MarkovGame,
    policy: BNPolicy,
    lam: float = 0.0,
    *,
    h: float = HESSIAN_STEP,
    symmetrise: bool = True,
) -> np.ndarray:
    r"""The Hessian :math:`\nabla^2 L_\lambda(\theta)`, column by column from differences of the exact gradient.

    Parameters
    ----------
    game : MarkovGame
    policy : BNPolicy
    lam : float, default 0
    h : float, default 1e-4
    symmetrise : bool, default True
        Return :math:`(H + H^\top)/2`; ``False`` returns the raw columns, whose asymmetry measures the
        finite-difference error.

    Returns
    -------
    ndarray, shape (n_params, n_params)
        Rows and columns in the layout of :meth:`BNPolicy.flat`. It costs ``2 * n_params`` gradients.

    Examples
    --------
    A one-state bandit with :math:`\gamma = 0` and rewards ``[0, 1]``: from
    :math:`\partial V / \partial \theta_a = \pi_a (r_a - \bar r)`, the Hessian is
    :math:`H_{ab} = \delta_{ab} \pi_a c_a - \pi_a \pi_b (c_a + c_b)` with :math:`c = r - \bar r`. At
    :math:`\pi = (1/4, 3/4)`, :math:`c = (-3/4, 1/4)` and :math:`H = \frac{3}{32} \begin{pmatrix} -1 & 1 \\ 1 & -1
    \end{pmatrix}`.

    >>> import numpy as np, bnpg
    >>> from bnpg import smoothness
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 1)), [[0.0, 1.0]], [1.0], 0.0)
    >>> policy = bnpg.BNPolicy(game, bnpg.DAG.empty(1), [[[0.0, np.log(3.0)]]])
    >>> np.round(smoothness.hessian(game, policy) * 32 / 3, 8)
    array([[-1.,  1.],
           [ 1., -1.]])
    """
    same_game(game, policy)
    lam = non_negative("lam", lam)
    h = _step(h)
    if not isinstance(symmetrise, (bool, np.bool_)):
        raise TypeError(f"symmetrise must be a bool, got {type(symmetrise).__name__}")
    x = policy.flat()
    n = x.size
    H = np.empty((n, n))
    for j in range(n):
        step = np.zeros(n)
        step[j] = h
        g_plus = _flat_gradient(game, policy.with_flat(x + step), lam)
        g_minus = _flat_gradient(game, policy.with_flat(x - step), lam)
        H[:, j] = (g_plus - g_minus) / (2 * h)
    return (H + H.T) / 2 if symmetrise else H


def max_curvature(
    game: MarkovGame, policy: BNPolicy, lam: float = 0.0, *, h: float = HESSIAN_STEP
) -> float:
    r""":math:`\max |\operatorname{eig} \nabla^2 L_\lambda(\theta)|`, the local smoothness at :math:`\theta`.

    Examples
    --------
    The bandit of :func:`hessian` at :math:`\pi = (1/4, 3/4)`: the eigenvalues of
    :math:`\frac{3}{32} \begin{pmatrix} -1 & 1 \\ 1 & -1 \end{pmatrix}` are :math:`0` and :math:`-3/16`.

    >>> import numpy as np, bnpg
    >>> from bnpg import smoothness
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 1)), [[0.0, 1.0]], [1.0], 0.0)
    >>> policy = bnpg.BNPolicy(game, bnpg.DAG.empty(1), [[[0.0, np.log(3.0)]]])
    >>> round(smoothness.max_curvature(game, policy), 8)
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
    >>> from bnpg import smoothness
    >>> U = smoothness.random_unit_directions(5, 3, seed=0)
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
    >>> from bnpg import smoothness
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 1)), [[0.0, 1.0]], [1.0], 0.5)
    >>> run = smoothness.trajectory_policies(game, bnpg.BNPolicy(game, bnpg.DAG.empty(1)),
    ...                                      lam=0.0, eta=1.0, steps=4, every=2)
    >>> [round(float(p.local(0)[0, 1]), 4) for p in run]
    [0.5, 0.8565, 0.9318]
    """
    same_game(game, policy)
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
    >>> from bnpg import smoothness
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 1)), [[0.0, 1.0]], [1.0], 0.0)
    >>> start = bnpg.BNPolicy(game, bnpg.DAG.empty(1))
    >>> best, c = smoothness.climb_curvature(game, start, seed=0, iterations=50)
    >>> bool(c > smoothness.max_curvature(game, start)), c == smoothness.max_curvature(game, best)
    (True, True)
    """
    same_game(game, policy)
    lam = non_negative("lam", lam)
    iterations = integer("iterations", iterations, minimum=0)
    step = positive("step", step)
    h = _step(h)
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

    Returns
    -------
    CurvatureReport

    Examples
    --------
    >>> import numpy as np, bnpg
    >>> from bnpg import smoothness
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.5)
    >>> rep = smoothness.measure_curvature(game, bnpg.DAG.chain(2), 0.1, seed=0, n_points=2,
    ...                                    n_directions=3, steps=20, every=10)
    >>> round(rep.bound, 10)  # 8 * 2 * 1 / 0.5**3 + 2 * 0.1 / 1 + 2 * 0.1 / 2
    128.3
    >>> bool(rep.measured <= rep.bound)
    True
    """
    if not isinstance(dag, DAG):
        raise TypeError(f"dag must be a DAG, got {type(dag).__name__}")
    bound = smoothness_bound(game, dag, lam)
    n_points = integer("n_points", n_points, minimum=1)
    n_directions = integer("n_directions", n_directions, minimum=1)
    scale = non_negative("scale", scale)
    h = _step(h)
    if eta is not None:
        eta = positive("eta", eta)
    steps = integer("steps", steps, minimum=0)
    every = integer("every", every, minimum=1)
    if steps % every:
        raise ValueError(f"steps ({steps}) must be a multiple of every ({every})")
    rng = as_generator(seed)
    points = [BNPolicy.random(game, dag, rng, scale) for _ in range(n_points)]
    directional = spectral = error = asym = 0.0
    for k, policy in enumerate(points):
        for u in random_unit_directions(policy.n_params, n_directions, rng):
            c = directional_curvature(game, policy, u, lam, h=h)
            c_half = directional_curvature(game, policy, u, lam, h=h / 2)
            directional = max(directional, abs(c))
            error = max(error, abs(c - c_half))
        H = hessian(game, policy, lam, h=h, symmetrise=False)
        size = float(np.max(np.abs(H)))
        asym = max(asym, float(np.max(np.abs(H - H.T))) / size if size else 0.0)
        local = float(np.max(np.abs(np.linalg.eigvalsh((H + H.T) / 2))))
        spectral = max(spectral, local)
        if k == 0 and eta is None:
            eta = 1.0 / (2.0 * local) if local else 1.0
    trajectory = 0.0
    for policy in trajectory_policies(game, points[0], lam=lam, eta=eta, steps=steps, every=every):
        trajectory = max(trajectory, max_curvature(game, policy, lam, h=h))
    return CurvatureReport(directional, spectral, trajectory, bound, error, asym, eta)
