r"""Central differences of :math:`L_\lambda` and of its exact gradient: the independent routes to derivatives.

First order, for any scalar function :math:`f` of the parameters (Lemma 1 is checked this way):

.. math::

    \frac{\partial f}{\partial \theta_j} \approx \frac{f(\theta + h e_j) - f(\theta - h e_j)}{2h}.

Second order, from the *exact* gradient :func:`bnpg.gradient` (itself checked against the first-order
differences of :func:`bnpg.objective`):

.. math::

    \begin{aligned}
    u^\top \nabla^2 L_\lambda(\theta)\, u &\approx
    \frac{\big(\nabla L_\lambda(\theta + h u) - \nabla L_\lambda(\theta - h u)\big) \cdot u}{2h},\\
    \nabla^2 L_\lambda(\theta)\, e_j &\approx
    \frac{\nabla L_\lambda(\theta + h e_j) - \nabla L_\lambda(\theta - h e_j)}{2h},
    \end{aligned}

each with an error :math:`O(h^2)` from truncation plus :math:`O(\epsilon_{\text{mach}} / h)` from
rounding. The Hessian built column by column is symmetrised, :math:`(H + H^\top)/2`; its asymmetry
before that step is a by-product that measures the error.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bnpg._validation import non_negative, positive, real_array
from bnpg.exact.objective import gradient
from bnpg.model.game import MarkovGame
from bnpg.model.policy import BNPolicy, check_policy

__all__ = ["HESSIAN_STEP", "central_difference", "directional_curvature", "hessian"]

#: Default step of the second-order differences (their error is about ``1e-9`` relative on small games).
HESSIAN_STEP = 1e-4


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
    >>> from bnpg import finite_differences
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 1)), [[0.0, 1.0]], [1.0], 0.0)
    >>> policy = bnpg.BNPolicy(game, bnpg.DAG.empty(1))
    >>> fd = finite_differences.central_difference(lambda p: bnpg.value(game, p), policy)
    >>> np.round(fd[0], 9)
    array([[-0.25,  0.25]])
    """
    if not callable(f):
        raise TypeError(f"f must be a callable of a BNPolicy, got {type(f).__name__}")
    if not isinstance(policy, BNPolicy):
        raise TypeError(f"policy must be a BNPolicy, got {type(policy).__name__}")
    h = positive("h", h)
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
    >>> from bnpg import finite_differences
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 1)), [[0.0, 1.0]], [1.0], 0.0)
    >>> policy = bnpg.BNPolicy(game, bnpg.DAG.empty(1), [[[0.0, np.log(3.0)]]])
    >>> round(finite_differences.directional_curvature(game, policy, [-1.0, 1.0]), 8)
    -0.1875
    """
    check_policy(game, policy)
    lam = non_negative("lam", lam)
    h = positive("h", h)
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
    >>> from bnpg import finite_differences
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 1)), [[0.0, 1.0]], [1.0], 0.0)
    >>> policy = bnpg.BNPolicy(game, bnpg.DAG.empty(1), [[[0.0, np.log(3.0)]]])
    >>> np.round(finite_differences.hessian(game, policy) * 32 / 3, 8)
    array([[-1.,  1.],
           [ 1., -1.]])
    """
    check_policy(game, policy)
    lam = non_negative("lam", lam)
    h = positive("h", h)
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
