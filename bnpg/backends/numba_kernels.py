r"""Compiled exact gradient steps (optional; needs numba).

The dynamics (2)-(3) spend their time in one computation repeated millions of times: from
:math:`\theta`, form the local softmax policies (1), the joint policy
:math:`\pi(a \mid s) = \prod_i \pi^i(a^i \mid s, a^{\mathcal P^i})`, :math:`P_\pi` and :math:`r_\pi`
(one pass over :math:`P`), two linear solves for :math:`V` and :math:`d_\mu`,
:math:`Q = r + \gamma P V` (a second pass over :math:`P`), and finally the Lemma 1 gradient

.. math::

    \begin{aligned}
    \frac{\partial V(\mu)}{\partial \theta^i_{s,b,c}}
        &= W_i(s,b,c) - \pi^i(c \mid s,b) \sum_{c'} W_i(s,b,c'), \\
    W_i(s, b, c) &= \sum_{a:\, a^{\mathcal P^i} = b,\, a^i = c} d_\mu(s)\, \pi(a \mid s)\, Q(s, a),
    \end{aligned}

plus the barrier term :math:`\frac{\lambda}{|\mathcal S| |\mathcal A^{\mathcal P^i}|}(1/|\mathcal A^i| - \pi^i)`.

This module does exactly that in compiled loops, driven by a *plan* computed once per (game, DAG).
Agents are visited in a topological order :math:`o_1, \dots, o_N`; level :math:`j` of the plan is
the set of joint actions of the first :math:`j` agents of that order, flattened. Then

* the joint policy is a prefix product: :math:`J_j(x, c) = J_{j-1}(x)\, \pi^{o_j}(c \mid s, b_j(x))`,
  where :math:`b_j(x)` (the table ``pidx``) reads the parents' actions out of :math:`x`; this costs
  :math:`\sum_j \prod_{l \le j} |\mathcal A^{o_l}|` products per state instead of :math:`N |\mathcal A|`;
* the family sums :math:`W_i` are the reverse: summing :math:`M_N = d_\mu \pi Q` over the last agent's
  action gives :math:`M_{N-1}`, and so on, and agent :math:`o_j` collects :math:`M_j(x, c)` at
  :math:`(b_j(x), c)`;
* the two passes over :math:`P` read four rows at a time, so that the loops over next states are
  vectorised with independent accumulators;
* the exponentials of the softmax are evaluated by a vectorisable polynomial
  (``_exp_nonpositive``), accurate to a few units in the last place.

Everything here is a private accelerator of :mod:`bnpg.exact.objective` and :mod:`bnpg.dynamics`; the
numpy code there is the reference, and the tests require both to agree to 1e-12. Without numba the
package works unchanged on the numpy path.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from math import factorial

import numpy as np

__all__ = ["HAVE_NUMBA", "Plan", "ascend", "exp_nonpositive", "make_plan", "value_and_gradient"]

#: Whether numba can be imported; it is imported, and the kernels compiled (or loaded from numba's
#: cache), only when a kernel is first called, so that work too small to repay that never pays it.
HAVE_NUMBA = importlib.util.find_spec("numba") is not None


@dataclass(frozen=True)
class Plan:
    """Everything the kernels read besides theta, for one (game, DAG) pair."""

    P: np.ndarray  # (S, nA, S), C-contiguous
    r: np.ndarray  # (S, nA)
    mu: np.ndarray  # (S,)
    gamma: float
    offsets: np.ndarray  # (N+1,) start of each agent's block in the flat theta
    block: np.ndarray  # (N,) B_i * C_i, entries per state of agent i
    n_actions: np.ndarray  # (N,) C_i
    n_parent_actions: np.ndarray  # (N,) B_i
    order: np.ndarray  # (N,) a topological order o_1..o_N
    level: np.ndarray  # (N+1,) prod_{l<=j} C_{o_l}: size of level j (level 0 has one entry)
    pstart: np.ndarray  # (N+1,) start of level j's rows inside pidx
    pidx: np.ndarray  # parent configuration b_{j+1}(x) of o_{j+1} for every x of level j
    perm: np.ndarray  # (nA,) flat joint action (agent order) of every x of level N

    @property
    def arrays(self) -> tuple:
        """The plan as the tuple the compiled kernels take."""
        return (
            self.P, self.r, self.mu, self.gamma, self.offsets, self.block, self.n_actions,
            self.n_parent_actions, self.order, self.level, self.pstart, self.pidx, self.perm,
        )


def make_plan(game, structure) -> Plan:
    """Build the plan for ``game`` and a :class:`bnpg.model.policy.Structure`.

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 3, 1)), np.zeros((1, 2, 3)), [1.0], 0.5)
    >>> plan = make_plan(game, bnpg.model.policy.Structure(1, (2, 3), bnpg.DAG([[1], []])))
    >>> plan.order.tolist(), plan.level.tolist(), plan.pidx.tolist()
    ([1, 0], [1, 3, 6], [0, 0, 1, 2])
    >>> plan.perm.tolist()   # x = (a^1, a^0) in topological order -> a = (a^0, a^1)
    [0, 3, 1, 4, 2, 5]
    """
    S = game.n_states
    sizes = game.action_sizes
    n = len(sizes)
    n_joint = game.n_joint_actions
    layouts = structure.layouts
    order = np.array(structure.dag.topological_order, dtype=np.int64)
    level = np.ones(n + 1, dtype=np.int64)
    for j, o in enumerate(order):
        level[j + 1] = level[j] * sizes[o]
    pstart = np.zeros(n + 1, dtype=np.int64)
    pstart[1:] = np.cumsum(level[:n])
    pidx = np.zeros(pstart[-1], dtype=np.int64)
    for j, o in enumerate(order):
        parents = layouts[o].parents
        if parents:
            # actions of the first j agents for every x of level j, then the parents' configuration
            prefix = np.indices([sizes[k] for k in order[:j]]).reshape(j, -1)
            where = {int(k): row for row, k in enumerate(order[:j])}
            pidx[pstart[j] : pstart[j + 1]] = np.ravel_multi_index(
                [prefix[where[p]] for p in parents], [sizes[p] for p in parents]
            )
    topo = np.indices([sizes[o] for o in order]).reshape(n, n_joint)
    coords = [topo[int(np.flatnonzero(order == i)[0])] for i in range(n)]
    return Plan(
        P=np.ascontiguousarray(game.P.reshape(S, n_joint, S)),
        r=np.ascontiguousarray(game.r.reshape(S, n_joint)),
        mu=np.ascontiguousarray(game.mu),
        gamma=float(game.gamma),
        offsets=np.asarray(structure.offsets, dtype=np.int64),
        block=np.array([lay.n_parent_actions * sizes[i] for i, lay in enumerate(layouts)], dtype=np.int64),
        n_actions=np.array(sizes, dtype=np.int64),
        n_parent_actions=np.array([lay.n_parent_actions for lay in layouts], dtype=np.int64),
        order=order,
        level=level,
        pstart=pstart,
        pidx=pidx,
        perm=np.ravel_multi_index(coords, sizes).astype(np.int64),
    )


# exp(x) = 2^n exp(r), n = round(x / ln 2), r = x - n ln 2 split in two parts (Cody and Waite), so that
# |r| <= ln(2) / 2 and the Taylor polynomial of degree 13 is accurate to 4e-18 relative.
_INV_LN2 = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # ln 2 with its last 32 bits zero: n * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_SHIFT = 6755399441055744.0  # 1.5 * 2^52: adding it rounds to an integer held in the low bits
_TAYLOR = tuple(1.0 / factorial(k) for k in range(14))


def _exp_nonpositive(x):  # pragma: no cover - compiled
    """Replace every entry of ``x`` (all <= 0) by its exponential, in place.

    A loop without calls or branches, so that the compiler vectorises it. Below -746 the result is
    0, as for ``np.exp``; between -745 and -708 it is subnormal, reached as the product of two
    normal powers of two. Relative error against ``np.exp`` <= 5e-16 on normal results (tested).
    """
    shift_bits = np.float64(_SHIFT).view(np.int64)
    c = _TAYLOR
    for k in range(x.shape[0]):
        v = x[k]
        v = v if v > -746.0 else -746.0
        t = v * _INV_LN2 + _SHIFT
        n = t - _SHIFT
        r = (v - n * _LN2_HI) - n * _LN2_LO
        p = c[13]
        for j in range(12, -1, -1):  # Horner's scheme; the compiler unrolls it
            p = p * r + c[j]
        m = np.float64(t).view(np.int64) - shift_bits  # n as an integer
        h = m >> 1
        x[k] = p * np.int64((h + 1023) << 52).view(np.float64) * np.int64((m - h + 1023) << 52).view(np.float64)


def _local_policies(theta, loc, offsets, n_actions):  # pragma: no cover - compiled
    """Softmax of every group of ``C_i`` consecutive parameters into ``loc`` (Eq. 1)."""
    for i in range(offsets.shape[0] - 1):
        C = n_actions[i]
        if C == 2:  # the common action counts get loops the compiler can unroll
            for at in range(offsets[i], offsets[i + 1], 2):
                m = max(theta[at], theta[at + 1])
                loc[at] = theta[at] - m
                loc[at + 1] = theta[at + 1] - m
        elif C == 3:
            for at in range(offsets[i], offsets[i + 1], 3):
                m = max(max(theta[at], theta[at + 1]), theta[at + 2])
                loc[at] = theta[at] - m
                loc[at + 1] = theta[at + 1] - m
                loc[at + 2] = theta[at + 2] - m
        else:
            for at in range(offsets[i], offsets[i + 1], C):
                m = theta[at]
                for c in range(1, C):
                    m = max(m, theta[at + c])
                for c in range(C):
                    loc[at + c] = theta[at + c] - m
    _exp_nonpositive(loc)
    for i in range(offsets.shape[0] - 1):
        C = n_actions[i]
        if C == 2:
            for at in range(offsets[i], offsets[i + 1], 2):
                inv = 1.0 / (loc[at] + loc[at + 1])
                loc[at] *= inv
                loc[at + 1] *= inv
        elif C == 3:
            for at in range(offsets[i], offsets[i + 1], 3):
                inv = 1.0 / (loc[at] + loc[at + 1] + loc[at + 2])
                loc[at] *= inv
                loc[at + 1] *= inv
                loc[at + 2] *= inv
        else:
            for at in range(offsets[i], offsets[i + 1], C):
                z = 0.0
                for c in range(C):
                    z += loc[at + c]
                inv = 1.0 / z
                for c in range(C):
                    loc[at + c] *= inv


def _log_barrier(theta, offsets, n_actions, n_parent_actions, S):  # pragma: no cover - compiled
    """The barrier of L_lambda: sum_i mean_{s,b,c} log pi^i(c | s, b) + log |A^i|."""
    barrier = 0.0
    for i in range(offsets.shape[0] - 1):
        C = n_actions[i]
        total = 0.0
        for at in range(offsets[i], offsets[i + 1], C):
            m = theta[at]
            for c in range(1, C):
                m = max(m, theta[at + c])
            z = 0.0
            for c in range(C):
                z += np.exp(theta[at + c] - m)
            logz = np.log(z)
            for c in range(C):
                total += theta[at + c] - m - logz
        barrier += total / (S * n_parent_actions[i] * C) + np.log(C)
    return barrier


def _joint_row(loc, s, order, offsets, block, n_actions, level, pstart, pidx, out, scratch):  # pragma: no cover - compiled
    """pi(. | s) over the flat actions x of the last level (topological order), by prefix products."""
    N = order.shape[0]
    cur, nxt = (out, scratch) if N % 2 == 0 else (scratch, out)  # the last level lands in out
    cur[0] = 1.0
    for j in range(N):
        i = order[j]
        C = n_actions[i]
        base = offsets[i] + s * block[i]
        for x in range(level[j]):
            p = cur[x]
            at = base + pidx[pstart[j] + x] * C
            for c in range(C):
                nxt[x * C + c] = p * loc[at + c]
        cur, nxt = nxt, cur


def _transition_row(joint_s, P, r, perm, gamma, s, row):  # pragma: no cover - compiled
    """Row s of I - gamma P_pi into ``row``; returns r_pi(s). Reads P[s] once, four actions at a time."""
    S = P.shape[0]
    nA = P.shape[1]
    for t in range(S):
        row[t] = 0.0
    rs = 0.0
    x = 0
    while x + 4 <= nA:
        a0, a1, a2, a3 = perm[x], perm[x + 1], perm[x + 2], perm[x + 3]
        p0, p1, p2, p3 = joint_s[x], joint_s[x + 1], joint_s[x + 2], joint_s[x + 3]
        rs += p0 * r[s, a0] + p1 * r[s, a1] + p2 * r[s, a2] + p3 * r[s, a3]
        P0, P1, P2, P3 = P[s, a0], P[s, a1], P[s, a2], P[s, a3]
        for t in range(S):
            row[t] += p0 * P0[t] + p1 * P1[t] + p2 * P2[t] + p3 * P3[t]
        x += 4
    for y in range(x, nA):
        a0 = perm[y]
        p0 = joint_s[y]
        rs += p0 * r[s, a0]
        P0 = P[s, a0]
        for t in range(S):
            row[t] += p0 * P0[t]
    for t in range(S):
        row[t] *= -gamma
    row[s] += 1.0
    return rs


def _weighted_action_values(joint_s, P, r, perm, gamma, V, d_s, s, out):  # pragma: no cover - compiled
    """out[x] = d(s) pi(x | s) Q(s, x), Q = r + gamma P V. Reads P[s] once, four actions at a time."""
    S = P.shape[0]
    nA = P.shape[1]
    x = 0
    while x + 4 <= nA:
        a0, a1, a2, a3 = perm[x], perm[x + 1], perm[x + 2], perm[x + 3]
        P0, P1, P2, P3 = P[s, a0], P[s, a1], P[s, a2], P[s, a3]
        q0 = q1 = q2 = q3 = 0.0
        for t in range(S):
            v = V[t]
            q0 += P0[t] * v
            q1 += P1[t] * v
            q2 += P2[t] * v
            q3 += P3[t] * v
        out[x] = d_s * joint_s[x] * (r[s, a0] + gamma * q0)
        out[x + 1] = d_s * joint_s[x + 1] * (r[s, a1] + gamma * q1)
        out[x + 2] = d_s * joint_s[x + 2] * (r[s, a2] + gamma * q2)
        out[x + 3] = d_s * joint_s[x + 3] * (r[s, a3] + gamma * q3)
        x += 4
    for y in range(x, nA):
        a0 = perm[y]
        P0 = P[s, a0]
        q0 = 0.0
        for t in range(S):
            q0 += P0[t] * V[t]
        out[y] = d_s * joint_s[y] * (r[s, a0] + gamma * q0)


def _family_sums(M, s, order, offsets, block, n_actions, level, pstart, pidx, W):  # pragma: no cover - compiled
    """Add W_i(s, ., .) for every agent to ``W``, summing ``M`` (level N) down the levels in place."""
    for j in range(order.shape[0] - 1, -1, -1):
        i = order[j]
        C = n_actions[i]
        base = offsets[i] + s * block[i]
        for x in range(level[j]):  # M[x] is overwritten only after M[x * C : x * C + C] is read
            at = base + pidx[pstart[j] + x] * C
            total = 0.0
            for c in range(C):
                m = M[x * C + c]
                W[at + c] += m
                total += m
            M[x] = total


def _finish_gradient(grad, loc, lam, offsets, n_actions, n_parent_actions, S):  # pragma: no cover - compiled
    """W -> W - pi sum_c W + lam / (S B_i) (1 / C_i - pi), in place (Lemma 1 plus the barrier)."""
    for i in range(offsets.shape[0] - 1):
        C = n_actions[i]
        scale = lam / (S * n_parent_actions[i])
        uniform = scale / C
        for at in range(offsets[i], offsets[i + 1], C):
            total = scale
            for c in range(C):
                total += grad[at + c]
            for c in range(C):
                grad[at + c] += uniform - loc[at + c] * total


def _gradient(theta, plan, lam, grad, loc, joint, scratch, A, rpi, V, d):  # pragma: no cover - compiled
    """Fill ``grad`` (and ``loc`` with the local policies); return V(mu). The rest is workspace."""
    P, r, mu, gamma, offsets, block, n_actions, n_parent_actions, order, level, pstart, pidx, perm = plan
    S = P.shape[0]
    _local_policies(theta, loc, offsets, n_actions)
    for s in range(S):  # first pass over P
        _joint_row(loc, s, order, offsets, block, n_actions, level, pstart, pidx, joint[s], scratch)
        rpi[s] = _transition_row(joint[s], P, r, perm, gamma, s, A[s])
    _solve_pair(A, rpi, mu, V, d)
    for k in range(grad.shape[0]):
        grad[k] = 0.0
    for s in range(S):  # second pass over P
        _weighted_action_values(joint[s], P, r, perm, gamma, V, d[s], s, scratch)
        _family_sums(scratch, s, order, offsets, block, n_actions, level, pstart, pidx, grad)
    _finish_gradient(grad, loc, lam, offsets, n_actions, n_parent_actions, S)
    value = 0.0
    for s in range(S):
        value += mu[s] * V[s]
    return value


def _workspace(theta, plan):  # pragma: no cover - compiled
    S = plan[0].shape[0]
    nA = plan[0].shape[1]
    return (np.empty_like(theta), np.empty((S, nA)), np.empty(nA), np.empty((S, S)), np.empty(S),
            np.empty(S), np.empty(S))


def _value_and_gradient(theta, plan, lam, grad, with_barrier):  # pragma: no cover - compiled
    """Fill ``grad`` with the exact gradient of L_lambda at ``theta``; return (V(mu), barrier).

    The barrier (one logarithm per softmax) is computed only when ``with_barrier`` is true.
    """
    loc, joint, scratch, A, rpi, V, d = _workspace(theta, plan)
    value = _gradient(theta, plan, lam, grad, loc, joint, scratch, A, rpi, V, d)
    barrier = np.nan
    if with_barrier:
        barrier = _log_barrier(theta, plan[4], plan[6], plan[7], plan[0].shape[0])
    return value, barrier


def _ascend(theta, steps, eta, plan, lam):  # pragma: no cover - compiled
    """Apply ``steps`` updates theta <- theta + eta grad L_lambda(theta) in place."""
    grad = np.empty_like(theta)
    loc, joint, scratch, A, rpi, V, d = _workspace(theta, plan)
    for _ in range(steps):
        _gradient(theta, plan, lam, grad, loc, joint, scratch, A, rpi, V, d)
        for k in range(theta.shape[0]):
            theta[k] += eta * grad[k]


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


_KERNELS: dict = {}


def _kernels() -> dict:
    """The compiled kernels, compiled (or loaded from numba's cache) on first use."""
    if not _KERNELS:
        if not HAVE_NUMBA:
            raise ImportError("the compiled kernels need numba, which is not installed")
        import numba

        exact = numba.njit(cache=True)  # IEEE arithmetic: the exponential's rounding tricks rely on it
        # fastmath lets the compiler reassociate sums (vectorised dot products over next states); the
        # tests hold the result to 1e-12 of the numpy path
        vector = numba.njit(cache=True, fastmath=True)
        compiled = {
            "_exp_nonpositive": numba.njit(cache=True, fastmath={"contract"})(_exp_nonpositive),
            "_solve_pair": exact(_solve_pair),
            "_log_barrier": exact(_log_barrier),
            "_local_policies": vector(_local_policies),
            "_joint_row": vector(_joint_row),
            "_transition_row": vector(_transition_row),
            "_weighted_action_values": vector(_weighted_action_values),
            "_family_sums": vector(_family_sums),
            "_finish_gradient": vector(_finish_gradient),
        }
        # the kernels call each other through the module's globals: bind the compiled versions there
        globals().update(compiled)
        for name in ("_gradient", "_workspace", "_value_and_gradient", "_ascend"):
            compiled[name] = exact(globals()[name])
        globals().update(compiled)
        _KERNELS.update(compiled)
    return _KERNELS


def value_and_gradient(plan: Plan, theta: np.ndarray, lam: float, with_barrier: bool = True):
    """Exact ``(V(mu), barrier, gradient as a flat vector)`` at the flat parameters ``theta``.

    With ``with_barrier=False`` the barrier is not computed and returned as ``nan``.
    """
    theta = np.ascontiguousarray(theta, dtype=np.float64)
    grad = np.empty_like(theta)
    kernel = _kernels()["_value_and_gradient"]
    value, barrier = kernel(theta, plan.arrays, float(lam), grad, bool(with_barrier))
    return value, barrier, grad


def exp_nonpositive(x: np.ndarray) -> np.ndarray:
    """The kernels' exponential of an array of non-positive numbers (a new array)."""
    out = np.array(x, dtype=np.float64, copy=True).ravel()
    _kernels()["_exp_nonpositive"](out)
    return out.reshape(np.shape(x))


def ascend(plan: Plan, theta: np.ndarray, steps: int, eta: float, lam: float) -> np.ndarray:
    """``steps`` exact updates of Eq. 3 from the flat ``theta``; returns a new array."""
    out = np.array(theta, dtype=np.float64, copy=True)
    _kernels()["_ascend"](out, int(steps), float(eta), plan.arrays, float(lam))
    return out
