r"""The line search of the backtracking ascents (:func:`bnpg.dynamics.ascent.armijo_ascent`,
:func:`bnpg.dynamics.ascent.path_ascent`).

From :math:`\theta` with gradient :math:`g = \nabla L_\lambda(\theta)`, a trial step :math:`\eta_t` is
accepted when the sufficient-increase (Armijo) condition holds,

.. math::

    L_\lambda(\theta + \eta_t g) \ge L_\lambda(\theta) + \delta \eta_t \|g\|^2,
    \qquad \delta = 10^{-4}, \qquad (4)

(:math:`\delta` is :data:`ARMIJO`), and halved otherwise; the first trial of every step is :math:`\min(2 \eta_{t-1}, \mathrm{cap}(\|g\|^2))`,
the cap being the caller's (a multiple of the first step, or a longest move).

**What floating point can resolve.** Near a maximum the increase (4) asks for,
:math:`\delta\eta_t\|\nabla L_\lambda\|^2`, falls below the rounding error of :math:`L_\lambda` itself;
comparing two values of :math:`L_\lambda` then decides by rounding, which differs between CPUs. Below
that resolution (:data:`RESOLUTION` times :math:`|L_\lambda|`) the test is made on the gradients instead,
as in the approximate Armijo condition of Hager and Zhang (2005): with
:math:`\phi(t) = L_\lambda(\theta + t g)`, the trapezoid rule
:math:`\phi(\eta_t) - \phi(0) \approx \eta_t (\phi'(0) + \phi'(\eta_t))/2` turns (4) into

.. math::

    g \cdot \nabla L_\lambda(\theta + \eta_t g) \ge (2\delta - 1)\|g\|^2, \qquad (5)

which the gradients resolve.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ARMIJO", "RESOLUTION", "run_backtracking", "sufficient_increase"]

#: Relative size of a change of :math:`L_\lambda` below which two values are not compared directly.
RESOLUTION = 2.0**-40
#: The sufficient-increase constant :math:`\delta` of (4).
ARMIJO = 1e-4


def sufficient_increase(value, v_new, grad, g_new, step, norm2) -> bool:
    """The Armijo condition (4), on the values where they resolve it and by (5) below that.

    ``value`` and ``v_new`` are :math:`L_\\lambda` before and after the trial step ``step`` along
    ``grad`` (with ``norm2 = |grad|^2``), ``g_new`` the gradient after it.

    >>> import numpy as np
    >>> g = np.array([1.0])
    >>> sufficient_increase(0.0, 0.5, g, g, 1.0, 1.0), sufficient_increase(0.0, 0.0, g, -g, 1.0, 1.0)
    (True, False)
    """
    resolution = RESOLUTION * max(abs(value), abs(v_new))
    if ARMIJO * step * norm2 > resolution:
        return v_new >= value + ARMIJO * step * norm2
    return v_new >= value - resolution and float(grad @ g_new) >= (2 * ARMIJO - 1) * norm2


def run_backtracking(f, lam, record, x, *, max_steps, record_every, done, full_rows, first, cap):
    """Backtracking ascent of ``value + lam * barrier`` from ``x``.

    Returns the last iterate, its step and its ``(value, barrier, gradient)``.

    ``f(x) -> (value, barrier, gradient)``; ``record(t, x, value, barrier, gradient) -> row`` keeps
    the iterates at ``t = 0, record_every, ...`` (every one with ``full_rows``, which ``stop_below``
    needs); ``done(row)`` ends the run; the first trial step is ``min(2 * previous, cap(|g|^2))``,
    with ``first`` as the previous step at the start.

    Examples
    --------
    >>> import numpy as np
    >>> def f(x):   # L(x) = -(x - 3)^2 / 2, no barrier
    ...     return -0.5 * float((x - 3) @ (x - 3)), 0.0, 3 - x
    >>> x, t, _ = run_backtracking(f, 0.0, lambda t, x, v, b, g: {"grad_norm": float(np.abs(g).max())},
    ...                            np.zeros(1), max_steps=10, record_every=1,
    ...                            done=lambda row: row["grad_norm"] == 0, full_rows=True, first=1.0,
    ...                            cap=lambda norm2: np.inf)
    >>> x.tolist(), t
    ([3.0], 1)
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
            if sufficient_increase(objective, o_new, grad, g_new, step, norm2):
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
