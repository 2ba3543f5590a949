r"""Compiled exact gradient steps (optional; needs numba).

The dynamics (2)-(3) spend their time in one computation repeated millions of times: from
:math:`\theta`, form the local softmax policies, the joint policy, :math:`P_\pi` and :math:`r_\pi`
(one pass over :math:`P`), two linear solves for :math:`V` and :math:`d_\mu`, :math:`Q = r + \gamma P V`
(a second pass over :math:`P`), and finally the Lemma 1 gradient
:math:`W_i(s,b,c) - \pi^i(c \mid s,b) \sum_{c'} W_i(s,b,c')` plus the barrier term, where
:math:`W = d_\mu \pi Q` summed onto agent ``i``'s family. This module does exactly that in compiled
loops, driven by an *index plan* computed once per (game shape, DAG): for every agent and every flat
joint action, the position of the matching entry inside that agent's parameter block.

Everything here is a private accelerator of :mod:`bnpg.objective` and :mod:`bnpg.dynamics`; the
numpy code there is the reference, and the tests require both to agree to 1e-12. Without numba the
package works unchanged on the numpy path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

try:  # pragma: no cover - exercised where numba is installed
    import numba

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised where numba is absent
    numba = None
    HAVE_NUMBA = False


@dataclass(frozen=True)
class Plan:
    """Index plan of a (game, DAG) pair, the only input of the kernels besides theta."""

    P: np.ndarray  # (S, nA, S), C-contiguous
    r: np.ndarray  # (S, nA)
    mu: np.ndarray  # (S,)
    gamma: float
    offsets: np.ndarray  # (N+1,) start of each agent's block in the flat theta
    block: np.ndarray  # (N,) B_i * C_i, entries per state of agent i
    n_actions: np.ndarray  # (N,) C_i
    n_parent_actions: np.ndarray  # (N,) B_i
    index: np.ndarray  # (nA, N) flat (b, c) position of joint action a inside agent i's block


def make_plan(game, structure) -> Plan:
    """Build the index plan for ``game`` and a :class:`bnpg.policy.Structure`."""
    S = game.n_states
    sizes = game.action_sizes
    n_joint = game.n_joint_actions
    joint_idx = np.indices(sizes).reshape(len(sizes), n_joint)  # (N, nA): each agent's action
    index = np.empty((n_joint, len(sizes)), dtype=np.int64)
    for i, lay in enumerate(structure.layouts):
        dims = [sizes[j] for j in lay.parents] + [sizes[i]]
        coords = [joint_idx[j] for j in lay.parents] + [joint_idx[i]]
        index[:, i] = np.ravel_multi_index(coords, dims)
    layouts = structure.layouts
    return Plan(
        P=np.ascontiguousarray(game.P.reshape(S, n_joint, S)),
        r=np.ascontiguousarray(game.r.reshape(S, n_joint)),
        mu=np.ascontiguousarray(game.mu),
        gamma=float(game.gamma),
        offsets=np.asarray(structure.offsets, dtype=np.int64),
        block=np.array([lay.n_parent_actions * sizes[i] for i, lay in enumerate(layouts)], dtype=np.int64),
        n_actions=np.array(sizes, dtype=np.int64),
        n_parent_actions=np.array([lay.n_parent_actions for lay in layouts], dtype=np.int64),
        index=index,
    )


def _solve_pair(A, b, c, x, y):  # pragma: no cover - compiled
    """Solve ``A x = b`` and ``A^T y = c`` by one LU factorisation without pivoting.

    ``A = I - gamma P_pi`` is strictly diagonally dominant by rows (and its transpose by columns), so
    Gaussian elimination without pivoting is stable. ``A`` is overwritten by its LU factors.
    """
    n = A.shape[0]
    for k in range(n):
        piv = A[k, k]
        for i in range(k + 1, n):
            A[i, k] /= piv
            f = A[i, k]
            if f != 0.0:
                for j in range(k + 1, n):
                    A[i, j] -= f * A[k, j]
    # A x = b: L z = b, U x = z
    for i in range(n):
        acc = b[i]
        for j in range(i):
            acc -= A[i, j] * x[j]
        x[i] = acc
    for i in range(n - 1, -1, -1):
        acc = x[i]
        for j in range(i + 1, n):
            acc -= A[i, j] * x[j]
        x[i] = acc / A[i, i]
    # A^T y = c: U^T z = c, L^T y = z
    for i in range(n):
        acc = c[i]
        for j in range(i):
            acc -= A[j, i] * y[j]
        y[i] = acc / A[i, i]
    for i in range(n - 1, -1, -1):
        acc = y[i]
        for j in range(i + 1, n):
            acc -= A[j, i] * y[j]
        y[i] = acc


def _value_and_gradient(theta, P, r, mu, gamma, lam, offsets, block, n_actions, n_parent_actions,
                        index, grad, loc, with_barrier):  # pragma: no cover - compiled
    """Fill ``grad`` with the exact gradient of L_lambda at ``theta``; return (V(mu), barrier, |grad|^2).

    ``loc`` is scratch of theta's size that receives the local probabilities. The barrier (one
    logarithm per softmax) is only computed when ``with_barrier`` is true; otherwise its place in
    the result holds the sum of the ``log |A^i|``.
    """
    S = P.shape[0]
    nA = P.shape[1]
    N = offsets.shape[0] - 1
    barrier = 0.0
    # local softmax policies, and (if asked) the log-barrier: mean log-probability + log |A^i|
    for i in range(N):
        C = n_actions[i]
        groups = S * n_parent_actions[i]
        total = 0.0
        for g in range(groups):
            at = offsets[i] + g * C
            top = 0
            m = theta[at]
            for c in range(1, C):
                if theta[at + c] > m:
                    m = theta[at + c]
                    top = c
            z = 0.0
            for c in range(C):
                e = 1.0 if c == top else np.exp(theta[at + c] - m)  # exp(0) = 1 needs no call
                loc[at + c] = e
                z += e
            inv = 1.0 / z
            for c in range(C):
                loc[at + c] *= inv
            if with_barrier:
                logz = np.log(z)
                for c in range(C):
                    total += theta[at + c] - m - logz
        barrier += total / (groups * C) + np.log(C)
    # joint policy, P_pi and r_pi (first pass over P)
    joint = np.empty((S, nA))
    A = np.zeros((S, S))
    rpi = np.zeros(S)
    base = np.empty(N, dtype=np.int64)  # start of state s inside each agent's block
    for s in range(S):
        for i in range(N):
            base[i] = offsets[i] + s * block[i]
        for a in range(nA):
            p = 1.0
            for i in range(N):
                p *= loc[base[i] + index[a, i]]
            joint[s, a] = p
            rpi[s] += p * r[s, a]
            if p != 0.0:
                gp = gamma * p
                for t in range(S):
                    A[s, t] -= gp * P[s, a, t]
        A[s, s] += 1.0
    V = np.empty(S)
    d = np.empty(S)
    _solve_pair(A, rpi, mu, V, d)
    value = 0.0
    for s in range(S):
        value += mu[s] * V[s]
    # W = d pi Q with Q = r + gamma P V (second pass over P), summed onto each agent's family
    for k in range(grad.shape[0]):
        grad[k] = 0.0
    for s in range(S):
        for i in range(N):
            base[i] = offsets[i] + s * block[i]
        for a in range(nA):
            w = joint[s, a]
            if w == 0.0:
                continue
            q = 0.0
            for t in range(S):
                q += P[s, a, t] * V[t]
            w *= d[s] * (r[s, a] + gamma * q)
            for i in range(N):
                grad[base[i] + index[a, i]] += w
    # grad_i(s,b,c) = W_i(s,b,c) - pi^i(c|s,b) sum_c' W_i(s,b,c') + barrier gradient
    norm2 = 0.0
    for i in range(N):
        C = n_actions[i]
        groups = S * n_parent_actions[i]
        scale = lam / (S * n_parent_actions[i])
        for g in range(groups):
            base = offsets[i] + g * C
            tot = 0.0
            for c in range(C):
                tot += grad[base + c]
            for c in range(C):
                v = grad[base + c] - loc[base + c] * tot + scale * (1.0 / C - loc[base + c])
                grad[base + c] = v
                norm2 += v * v
    return value, barrier, norm2


def _ascend(theta, steps, eta, P, r, mu, gamma, lam, offsets, block, n_actions, n_parent_actions,
            index):  # pragma: no cover - compiled
    """Apply ``steps`` updates theta <- theta + eta grad L_lambda(theta) in place."""
    grad = np.empty_like(theta)
    loc = np.empty_like(theta)
    for _ in range(steps):
        _value_and_gradient(theta, P, r, mu, gamma, lam, offsets, block, n_actions, n_parent_actions,
                            index, grad, loc, False)
        for k in range(theta.shape[0]):
            theta[k] += eta * grad[k]


if HAVE_NUMBA:  # pragma: no branch
    _solve_pair = numba.njit(cache=True)(_solve_pair)
    # fastmath lets the compiler vectorise the dot products over next states (reassociation only;
    # the tests hold the result to 1e-12 of the numpy path)
    _value_and_gradient = numba.njit(cache=True, fastmath=True)(_value_and_gradient)
    _ascend = numba.njit(cache=True)(_ascend)


def value_and_gradient(plan: Plan, theta: np.ndarray, lam: float, with_barrier: bool = True):
    """Exact ``(V(mu), barrier, gradient as a flat vector)`` at the flat parameters ``theta``.

    With ``with_barrier=False`` the barrier is not computed and returned as ``nan``.
    """
    theta = np.ascontiguousarray(theta, dtype=np.float64)
    grad = np.empty_like(theta)
    loc = np.empty_like(theta)
    value, barrier, _ = _value_and_gradient(
        theta, plan.P, plan.r, plan.mu, plan.gamma, float(lam), plan.offsets, plan.block,
        plan.n_actions, plan.n_parent_actions, plan.index, grad, loc, bool(with_barrier),
    )
    return value, (barrier if with_barrier else float("nan")), grad


def ascend(plan: Plan, theta: np.ndarray, steps: int, eta: float, lam: float) -> np.ndarray:
    """``steps`` exact updates of Eq. 3 from the flat ``theta``; returns a new array."""
    out = np.array(theta, dtype=np.float64, copy=True)
    _ascend(
        out, int(steps), float(eta), plan.P, plan.r, plan.mu, plan.gamma, float(lam), plan.offsets,
        plan.block, plan.n_actions, plan.n_parent_actions, plan.index,
    )
    return out
