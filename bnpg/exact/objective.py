r"""The log-barrier objective :math:`L_\lambda` and its exact gradient (paper, Section 4.1, Lemma 1).

.. math::

    L_\lambda(\theta) = V_\theta(\mu) + \lambda \sum_{i} \Big(
        \frac{1}{|\mathcal S| |\mathcal A^{\mathcal P^i}| |\mathcal A^i|}
        \sum_{s, a^{\mathcal P^i}, a^i} \log \pi^i_{\theta^i}(a^i \mid s, a^{\mathcal P^i})
        + \log |\mathcal A^i| \Big),

i.e. :math:`V_\theta(\mu)` minus :math:`\lambda` times each agent's mean KL divergence from the
uniform distribution to its local policy.

**The gradient.** Differentiating :math:`\pi(a \mid s) = \prod_j \pi^j(a^j \mid s, a^{\mathcal P^j})`
inside the policy gradient theorem :math:`\nabla V_\theta(\mu) = \sum_s d_\mu^{\pi_\theta}(s)
\sum_a \nabla \pi_\theta(a \mid s) Q_\theta(s, a)` gives, with the *unnormalised* visitation
:math:`d_\mu` of Section 2 and :math:`d_\mu(s, a^{\mathcal P^i}) = d_\mu(s)\,\pi(a^{\mathcal P^i} \mid s)`,

.. math::

    \begin{aligned}
    \frac{\partial L_\lambda}{\partial \theta^i_{s, a^{\mathcal P^i}, a^i}}
    ={}& d_\mu^{\pi_\theta}(s, a^{\mathcal P^i})\, \pi^i(a^i \mid s, a^{\mathcal P^i})\,
      A^i_\theta(s, a^{\mathcal P^i}, a^i) \\
    &+ \frac{\lambda}{|\mathcal S| |\mathcal A^{\mathcal P^i}|}
      \Big( \frac{1}{|\mathcal A^i|} - \pi^i(a^i \mid s, a^{\mathcal P^i}) \Big).
    \end{aligned}

Lemma 1 as printed carries an extra factor :math:`1/(1-\gamma)` in front of the first term. That
factor is right only for the *normalised* visitation :math:`(1-\gamma) d_\mu`; with :math:`d_\mu` as
the paper defines it in Section 2, the printed value term is :math:`1/(1-\gamma)` times too large.
The tests (``tests/exact/test_objective.py``) settle this against central finite differences;
:func:`lemma1_gradient` evaluates the printed formula so the two can be compared.

:func:`gradient` computes the same quantity without dividing by :math:`\pi(a^{\mathcal P^i} \mid s)`:
with :math:`W(s, a) = d_\mu(s) \pi(a \mid s) Q(s, a)` summed onto agent ``i``'s family,
:math:`\partial V / \partial \theta^i_{s,b,c} = W_i(s,b,c) - \pi^i(c \mid s,b) \sum_{c'} W_i(s,b,c')`,
which stays finite when probabilities underflow.
"""

from __future__ import annotations

import numpy as np

from bnpg._validation import non_negative, real_scalar
from bnpg.backends.choice import compiled_kernel
from bnpg.exact.evaluation import Evaluation, evaluate, local_advantage
from bnpg.model.game import MarkovGame
from bnpg.model.policy import BNPolicy, check_policy

__all__ = [
    "FlatObjective",
    "barrier_gradient",
    "evaluation_and_gradient",
    "gradient",
    "gradient_norm",
    "lemma1_gradient",
    "log_barrier",
    "objective",
    "value_gradient",
]


def log_barrier(policy: BNPolicy) -> float:
    r"""The regulariser without its :math:`\lambda`: :math:`-\sum_i \mathbb E_{s, a^{\mathcal P^i}}
    \mathrm{KL}(\mathrm{Unif}_{\mathcal A^i}, \pi^i(\cdot \mid s, a^{\mathcal P^i}))` (Section 4.1). At most 0.

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 1)), [[0.0, 1.0]], [1.0], 0.5)
    >>> bnpg.log_barrier(bnpg.BNPolicy(game, bnpg.DAG.empty(1)))
    0.0
    """
    if not isinstance(policy, BNPolicy):
        raise TypeError(f"policy must be a BNPolicy, got {type(policy).__name__}")
    total = 0.0
    for i, size in enumerate(policy.game.action_sizes):
        total += float(policy.log_local(i).mean()) + float(np.log(size))
    return total


def objective(game: MarkovGame, policy: BNPolicy, lam: float) -> float:
    r""":math:`L_\lambda(\theta) = V_\theta(\mu) + \lambda \cdot` :func:`log_barrier` (Section 4.1).

    Parameters
    ----------
    game : MarkovGame
    policy : BNPolicy
    lam : float
        Regularisation strength :math:`\lambda \ge 0`.

    Examples
    --------
    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 1)), [[0.0, 1.0]], [1.0], 0.5)
    >>> policy = bnpg.BNPolicy(game, bnpg.DAG.empty(1), [[[0.0, np.log(3.0)]]])
    >>> round(bnpg.objective(game, policy, lam=0.0), 12)
    1.5
    """
    check_policy(game, policy)
    lam = non_negative("lam", lam)
    return evaluate(game, policy).value + lam * log_barrier(policy)


def barrier_gradient(policy: BNPolicy, i: int, lam: float) -> np.ndarray:
    r"""Gradient of the regulariser for agent ``i``: :math:`\frac{\lambda}{|\mathcal S||\mathcal A^{\mathcal P^i}|}(\frac{1}{|\mathcal A^i|} - \pi^i)`.

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.5)
    >>> policy = bnpg.BNPolicy(game, bnpg.DAG.empty(2), [[[0.0, np.log(3.0)]], [[0.0, 0.0]]])
    >>> barrier_gradient(policy, 0, lam=1.0)
    array([[ 0.25, -0.25]])"""
    lay = policy.structure.layouts[i]
    size = policy.game.action_sizes[i]
    scale = lam / (policy.game.n_states * lay.n_parent_actions)
    return scale * (1.0 / size - policy.local(i))


def value_gradient(policy: BNPolicy, ev: Evaluation) -> list[np.ndarray]:
    r""":math:`\nabla_{\theta^i} V_\theta(\mu)` for every agent, from a ready evaluation.

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.5)
    >>> policy = bnpg.BNPolicy(game, bnpg.DAG.chain(2))
    >>> value_gradient(policy, bnpg.evaluate(game, policy))[1]   # agent 1 learns to copy agent 0
    array([[[ 0.25, -0.25],
            [-0.25,  0.25]]])"""
    st = policy.structure
    w = ev.d.reshape((-1,) + (1,) * policy.game.n_agents) * ev.pi * ev.Q
    grads = []
    for i in range(policy.game.n_agents):
        wi = st.to_theta_axes(i, w)
        grads.append(wi - policy.local(i) * wi.sum(axis=-1, keepdims=True))
    return grads


def gradient(
    game: MarkovGame, policy: BNPolicy, lam: float = 0.0, *, backend: str = "auto"
) -> list[np.ndarray]:
    r"""Exact :math:`\nabla_\theta L_\lambda(\theta)` (Lemma 1, with the unnormalised :math:`d_\mu`).

    Parameters
    ----------
    game : MarkovGame
    policy : BNPolicy
    lam : float, default 0
        :math:`\lambda \ge 0`; ``0`` gives :math:`\nabla V_\theta(\mu)`.
    backend : {"auto", "numpy", "numba"}
        ``"numba"`` runs the compiled kernel of ``bnpg.backends.numba_kernels`` (same result to round-off);
        ``"auto"`` uses it when numba is installed and one gradient is costly enough to repay loading
        it, or as ``BNPG_BACKEND`` says (see :func:`bnpg.backends.resolve_backend`).

    Returns
    -------
    list of ndarray
        One array per agent, shaped like ``policy.theta[i]``.

    Examples
    --------
    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 1)), [[0.0, 1.0]], [1.0], 0.5)
    >>> bnpg.gradient(game, bnpg.BNPolicy(game, bnpg.DAG.empty(1)))[0]
    array([[-0.5,  0.5]])
    """
    check_policy(game, policy)
    lam = non_negative("lam", lam)
    kernel = compiled_kernel(game, policy.structure, backend)
    if kernel is not None:
        return policy.unflatten(kernel.value_and_gradient(policy.flat(), lam, with_barrier=False)[2])
    return evaluation_and_gradient(game, policy, lam)[1]


class FlatObjective:
    r""":math:`V_\theta(\mu)`, the barrier and :math:`\nabla L_\lambda` on flat parameter vectors, on one backend.

    The backend is chosen once, for ``evaluations`` gradients, by :func:`bnpg.backends.compiled_kernel`
    (the compiled kernel, or ``None`` for the numpy reference of this module); the dynamics call it
    at every iterate.

    Parameters
    ----------
    game : MarkovGame
    policy : BNPolicy
        Supplies the DAG and the parameter layout (see :meth:`BNPolicy.flat`); its parameters are not read.
    lam : float
        :math:`\lambda \ge 0`.
    backend : {"auto", "numpy", "numba"}, default "auto"
    evaluations : int, default 1
        The work the choice of backend weighs.

    Attributes
    ----------
    backend : str
        ``"numpy"`` or ``"numba"``, as chosen.
    evaluations : int
        Gradients computed so far (the compiled fixed steps of :meth:`advance` included).

    Examples
    --------
    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 1)), [[0.0, 1.0]], [1.0], 0.5)
    >>> f = FlatObjective(game, bnpg.BNPolicy(game, bnpg.DAG.empty(1)), 0.0, backend="numpy")
    >>> value, barrier, grad = f(np.zeros(2))
    >>> value, barrier, grad.tolist(), f.evaluations
    (1.0, 0.0, [-0.5, 0.5], 1)
    """

    def __init__(self, game: MarkovGame, policy: BNPolicy, lam: float, *, backend: str = "auto",
                 evaluations: int = 1):
        check_policy(game, policy)
        self.game, self.template, self.lam = game, policy, non_negative("lam", lam)
        self._kernel = compiled_kernel(game, policy.structure, backend, evaluations)
        self.backend = "numpy" if self._kernel is None else "numba"
        self.evaluations = 0

    def __call__(self, x: np.ndarray, *, with_barrier: bool = True) -> tuple[float, float, np.ndarray]:
        """``(V(mu), barrier, flat gradient of L_lambda)`` at ``x``; the barrier is ``nan`` without ``with_barrier``."""
        self.evaluations += 1
        if self._kernel is not None:
            return self._kernel.value_and_gradient(x, self.lam, with_barrier=with_barrier)
        current = self.template.with_flat(x)
        ev, grads = evaluation_and_gradient(self.game, current, self.lam)
        barrier = log_barrier(current) if with_barrier else float("nan")
        return ev.value, barrier, np.concatenate([g.ravel() for g in grads])

    def objective(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        r""":math:`L_\lambda` and its flat gradient at ``x``."""
        value, barrier, grad = self(x)
        return (value + self.lam * barrier if self.lam else value), grad

    def advance(self, x: np.ndarray, n: int, eta: float) -> np.ndarray:
        """``n`` steps of the dynamics (2) from ``x``; a new array."""
        if self._kernel is not None:
            self.evaluations += n
            return self._kernel.ascend(x, n, eta, self.lam)
        for _ in range(n):
            x = x + eta * self(x)[2]
        return x


def evaluation_and_gradient(game: MarkovGame, policy: BNPolicy, lam: float) -> tuple[Evaluation, list[np.ndarray]]:
    r"""The exact evaluation of ``policy`` and :math:`\nabla_\theta L_\lambda` from it (numpy route).

    The callers have validated their arguments; :func:`gradient` is the checked entry point.

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 1)), [[0.0, 1.0]], [1.0], 0.5)
    >>> ev, grads = evaluation_and_gradient(game, bnpg.BNPolicy(game, bnpg.DAG.empty(1)), 0.0)
    >>> ev.value, grads[0]
    (1.0, array([[-0.5,  0.5]]))
    """
    ev = evaluate(game, policy)
    grads = value_gradient(policy, ev)
    if lam:
        grads = [g + barrier_gradient(policy, i, lam) for i, g in enumerate(grads)]
    return ev, grads


def gradient_norm(grads: list[np.ndarray]) -> float:
    """Euclidean norm of a gradient given as a list of arrays.

    >>> gradient_norm([np.array([3.0]), np.array([[4.0]])])
    5.0"""
    return float(np.sqrt(sum(float(np.sum(g * g)) for g in grads)))


def lemma1_gradient(
    game: MarkovGame, policy: BNPolicy, lam: float = 0.0, *, value_factor: float | None = None
) -> list[np.ndarray]:
    r"""Lemma 1's right-hand side, term by term: :math:`c\, d_\mu(s, a^{\mathcal P^i}) \pi^i A^i + \text{barrier}`.

    Parameters
    ----------
    value_factor : float, optional
        The factor :math:`c` in front of the value term. ``None`` means :math:`1/(1-\gamma)`, as
        printed in the paper; ``1.0`` gives the exact gradient for the unnormalised :math:`d_\mu`.

    Entries where :math:`d_\mu(s, a^{\mathcal P^i}) = 0` contribute 0 to the value term.

    Examples
    --------
    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 1)), [[0.0, 1.0]], [1.0], 0.5)
    >>> policy = bnpg.BNPolicy(game, bnpg.DAG.empty(1))
    >>> bnpg.lemma1_gradient(game, policy)[0]  # printed: twice the true gradient when gamma = 0.5
    array([[-1.,  1.]])
    """
    check_policy(game, policy)
    lam = non_negative("lam", lam)
    c = 1.0 / (1.0 - game.gamma) if value_factor is None else real_scalar("value_factor", value_factor)
    ev = evaluate(game, policy)
    grads = []
    for i in range(game.n_agents):
        lay = policy.structure.layouts[i]
        d_sb = ev.d.reshape((-1,) + (1,) * len(lay.parents)) * policy.marginal(lay.parents)
        adv = np.nan_to_num(local_advantage(game, policy, i, ev), nan=0.0)
        term = c * d_sb[..., None] * policy.local(i) * adv
        grads.append(term + barrier_gradient(policy, i, lam))
    return grads
