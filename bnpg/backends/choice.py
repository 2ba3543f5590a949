r"""Where :math:`L_\lambda` and its gradient are computed: the numpy reference or the compiled kernel.

Every exact gradient of the package, one at a time (:func:`bnpg.gradient`) or millions in a run of
the dynamics (2)-(3), is computed either by the numpy code of :mod:`bnpg.exact` or by the compiled
kernel of :mod:`bnpg.backends.numba_kernels`; both give the same numbers to round-off. This module is
the one place where that choice is made.

**The cost rule.** Loading the compiled kernel costs about one second per process (about ten once
per install, to compile it), so ``"auto"`` uses it only for work that repays that. The numpy path
costs, per evaluation of :math:`\nabla L_\lambda`, about

.. math::

    t_{\text{numpy}}(n) = n \,(1.5 \cdot 10^{-4} + 4 \cdot 10^{-9}\, |P|) \text{ seconds} \qquad (1)

for ``n`` evaluations on a game whose transition array has :math:`|P| = |\mathcal S|^2 |\mathcal A|`
entries (:func:`numpy_seconds`), and ``"auto"`` picks the kernel when

.. math::

    t_{\text{numpy}}(n) > t_{\text{compile}} = 0.5 \text{ seconds} \qquad (2)

(:data:`AUTO_COMPILE_SECONDS`), and numba is installed.

**The configured default.** The environment variable ``BNPG_BACKEND`` (``"auto"``, ``"numpy"`` or
``"numba"``; unset means ``"auto"``) is read by :func:`configured_backend` only, each time a choice
is made. When it names a backend, every request for ``"auto"`` gets that backend; explicit requests
for ``"numpy"`` or ``"numba"`` are always honoured.

**The plans.** The kernels read the game and the DAG through a :class:`~bnpg.backends.numba_kernels.Plan`
built once per (game, DAG layout) pair by :func:`plan_for` and reused by every policy that shares the
layout; :func:`compiled_kernel` binds a plan to the kernels, or returns ``None`` when the numpy path
is chosen.
"""

from __future__ import annotations

import os
import weakref
from dataclasses import dataclass

import numpy as np

from bnpg.backends import numba_kernels as _fast

__all__ = [
    "AUTO_COMPILE_SECONDS",
    "BACKENDS",
    "ENVIRONMENT_VARIABLE",
    "CompiledKernel",
    "compiled_kernel",
    "configured_backend",
    "numpy_seconds",
    "plan_for",
    "resolve_backend",
]

#: The backends a caller can request.
BACKENDS = ("auto", "numpy", "numba")
#: The environment variable holding the default backend (:func:`configured_backend`).
ENVIRONMENT_VARIABLE = "BNPG_BACKEND"
#: Under ``"auto"`` the compiled kernel is used when the numpy path would take longer than this many
#: seconds (Eq. 2; :func:`numpy_seconds`).
AUTO_COMPILE_SECONDS = 0.5


def configured_backend() -> str:
    """The default backend: the value of ``BNPG_BACKEND``, ``"auto"`` when it is unset or empty.

    Returns
    -------
    str
        One of :data:`BACKENDS`.

    Raises
    ------
    ValueError
        If ``BNPG_BACKEND`` holds anything else.

    Examples
    --------
    >>> import os
    >>> configured_backend() == (os.environ.get("BNPG_BACKEND") or "auto")
    True
    """
    value = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
    if not value:
        return "auto"
    if value not in BACKENDS:
        raise ValueError(
            f"the environment variable {ENVIRONMENT_VARIABLE} must be 'auto', 'numpy' or 'numba', got {value!r}"
        )
    return value


def numpy_seconds(game, evaluations: int) -> float:
    """A rough estimate of the numpy path's time for ``evaluations`` gradients of ``L_lambda`` on ``game`` (Eq. 1).

    About 150 microseconds of fixed cost per evaluation plus 4 nanoseconds per entry of ``P``, as
    measured on this project's development machine (from one state and 9 joint actions to 50 states
    and 18); only its order of magnitude matters.

    Parameters
    ----------
    game : bnpg.MarkovGame
    evaluations : int
        Number of gradients.

    Examples
    --------
    >>> from bnpg import games
    >>> round(numpy_seconds(games.climbing_game(), 10_000), 3)
    1.5
    """
    return evaluations * (1.5e-4 + 4e-9 * game.P.size)


def resolve_backend(backend: str = "auto", game=None, evaluations: int = 1) -> str:
    """``"numba"`` or ``"numpy"`` for a requested backend.

    Parameters
    ----------
    backend : {"auto", "numpy", "numba"}, default "auto"
        ``"auto"`` means :func:`configured_backend` when ``BNPG_BACKEND`` names a backend, and otherwise
        the compiled kernel when numba is installed and the work is large enough to repay loading it:
        ``evaluations`` gradients on ``game`` estimated to take the numpy path more than
        :data:`AUTO_COMPILE_SECONDS` (Eq. 2; without a game, whenever numba is installed).
    game : bnpg.MarkovGame, optional
    evaluations : int, default 1

    Raises
    ------
    ValueError
        For an unknown ``backend``, or ``"numba"`` (requested or configured) without numba.

    Examples
    --------
    >>> from bnpg import games
    >>> resolve_backend("numpy")
    'numpy'
    >>> import os
    >>> small = resolve_backend("auto", games.climbing_game(), evaluations=500)  # too little to compile for
    >>> small == ("numpy" if configured_backend() == "auto" else configured_backend())
    True
    """
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise ValueError(f"backend must be 'auto', 'numpy' or 'numba', got {backend!r}")
    if backend == "auto":
        backend = configured_backend()
    if backend == "numba" and not _fast.HAVE_NUMBA:
        raise ValueError("backend='numba' needs numba, which this environment lacks (pip install numba)")
    if backend == "auto":
        if not _fast.HAVE_NUMBA:
            return "numpy"
        if game is not None and numpy_seconds(game, evaluations) <= AUTO_COMPILE_SECONDS:
            return "numpy"
        return "numba"
    return backend


_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def plan_for(game, structure) -> _fast.Plan:
    """The kernels' plan for ``game`` and a :class:`bnpg.model.policy.Structure`, built once and reused.

    The plan of the last game seen is kept for as long as ``structure`` lives, so that every policy
    derived from the same one (they share their structure) reuses it; another game object, even an
    equal one, gets a fresh plan.

    Examples
    --------
    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.5)
    >>> policy = bnpg.BNPolicy(game, bnpg.DAG.chain(2))
    >>> plan_for(game, policy.structure) is plan_for(game, policy.with_flat(policy.flat() + 1).structure)
    True
    """
    cached = _PLANS.get(structure)
    if cached is None or cached[0] is not game:
        cached = (game, _fast.make_plan(game, structure))
        _PLANS[structure] = cached
    return cached[1]


@dataclass(frozen=True)
class CompiledKernel:
    """The compiled kernels bound to one plan: exact :math:`V`, barrier and gradient on flat parameters."""

    plan: _fast.Plan

    def value_and_gradient(self, theta: np.ndarray, lam: float, *, with_barrier: bool = True):
        """``(V(mu), barrier, flat gradient of L_lambda)`` at ``theta``; the barrier is ``nan`` without ``with_barrier``."""
        return _fast.value_and_gradient(self.plan, theta, lam, with_barrier)

    def ascend(self, theta: np.ndarray, steps: int, eta: float, lam: float) -> np.ndarray:
        """``steps`` fixed-step updates (2) from ``theta``; a new array."""
        return _fast.ascend(self.plan, theta, steps, eta, lam)


def compiled_kernel(game, structure, backend: str = "auto", evaluations: int = 1) -> CompiledKernel | None:
    """The compiled kernel for ``game`` and ``structure`` if :func:`resolve_backend` picks it, else ``None``.

    This is the one dispatch between the two paths: the callers run the numpy reference when it
    returns ``None``.

    Examples
    --------
    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 1)), [[0.0, 1.0]], [1.0], 0.5)
    >>> compiled_kernel(game, bnpg.BNPolicy(game, bnpg.DAG.empty(1)).structure, "numpy") is None
    True
    """
    if resolve_backend(backend, game, evaluations) != "numba":
        return None
    return CompiledKernel(plan_for(game, structure))
