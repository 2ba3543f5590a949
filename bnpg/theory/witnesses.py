r"""Games on which the sharpened Lemmas 2-3 are tight, and games on which any larger threshold fails (:mod:`bnpg.theory.sharpened`).

**The chain game.** One state, agents :math:`0, \dots, N-1` with :math:`k_j` actions on the
fully-correlated DAG, and a reward that depends only on the first agent whose action is not 0:
:math:`r(a) = R_j` if :math:`a^0 = \dots = a^{j-1} = 0 \ne a^j`, and :math:`r(0, \dots, 0) = R_\star = 0`.
The policy plays 0 with probability :math:`p_j` at the *chain block* (all parents played 0) and is
uniform elsewhere. Off the chain the reward is already decided, so every local advantage and every
barrier term vanishes there: the gradient lives on the :math:`N` chain blocks. On block :math:`j`,
with :math:`\pi_j = p_0\cdots p_{j-1}`, :math:`d = 1/(1-\gamma)`, :math:`c_j = \lambda/K_j` and
:math:`D_j = W_{j+1} - R_j` (:math:`W_j` the expected reward once the first :math:`j` agents played 0),

.. math::

    \begin{aligned}
    g_j(0) &= d\,\pi_j p_j (1-p_j) D_j + c_j\Big(\frac{1}{k_j} - p_j\Big), \\
    g_j(b) &= -\frac{g_j(0)}{k_j - 1}\ (b \ne 0), \qquad W_j = W_{j+1} - (1-p_j) D_j.
    \end{aligned}

Any target :math:`x_j = g_j(0)` is met by solving the first equation for :math:`D_j`, from the last
agent back (:func:`chain_rewards`); the gradient norm is then
:math:`\big(\sum_j x_j^2 k_j/(k_j-1)\big)^{1/2}` and the optimality gap
:math:`d(\max(R_\star, \max_j R_j) - W_0)`, in :math:`O(N)` for any :math:`N`.

* **Lemma 3's constant is attained** (so it is tight over all structures): :math:`x_j \propto 1 - 1/k_j` at norm :math:`\tau_3^\sharp` and every
  :math:`p_j \to 1` give an optimality gap :math:`\to \lambda M` (:func:`lemma3_witness`).
* **Lemma 2's constant is attained** (so it is tight over all structures): one agent's bandit (the chain with one agent, others indifferent, empty
  DAG) at :math:`x_0 = \lambda/k_0` has a Nash gap of exactly :math:`\lambda` for every :math:`p_0`
  (:func:`lemma2_witness`).
* **No larger threshold works** (:func:`threshold_breach`): at norm :math:`f\tau^\sharp`, :math:`f > 1`,
  the gap grows like :math:`(f-1)/p_0` as :math:`p_0 \to 0`; at the paper's threshold this happens
  as soon as :math:`\sum_j(1-1/k_j) > 4\max_j k_j^2` (33 agents with two actions).

:func:`witness` loads the witnesses shipped with the package (made by :func:`save_witnesses`).
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from importlib import resources

import numpy as np

from bnpg._validation import (
    action_counts,
    discount_factor,
    non_negative,
    positive,
    probability,
    real_scalar,
)
from bnpg.exact.gaps import nash_gap, optimality_gap
from bnpg.exact.objective import gradient, gradient_norm
from bnpg.model.dag import DAG
from bnpg.model.game import MarkovGame
from bnpg.model.policy import BNPolicy
from bnpg.theory.sharpened import sharp_bound, sharp_threshold

__all__ = [
    "WITNESSES",
    "Breach",
    "Witness",
    "chain_game",
    "chain_rewards",
    "chain_theta",
    "lemma2_witness",
    "lemma3_witness",
    "save_witnesses",
    "threshold_breach",
    "witness",
]

#: The shipped witnesses, by the statement they are tight for.
WITNESSES = ("lemma-2", "lemma-3")


def _check_p(sizes, p) -> None:
    for j, (k, pj) in enumerate(zip(sizes, p, strict=True)):
        if k == 1 and pj != 1:
            raise ValueError(f"agent {j} has one action: p[{j}] must be 1, got {float(pj)!r}")
        if k > 1 and not 0 < pj < 1:
            raise ValueError(f"p[{j}] must be in (0, 1), got {float(pj)!r}")


def _per_agent(name: str, values, n: int, check) -> np.ndarray:
    arr = np.array([check(f"{name}[{j}]", v) for j, v in enumerate(values)], dtype=float)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have one entry per agent ({n}), got {len(arr)}")
    return arr


def _recursion(sizes, lam, x, p, d):
    # the chain recursion from the last agent back, in whatever arithmetic its inputs carry
    # (floats for games, fractions for exact values); returns (R, W)
    _check_p(sizes, p)
    n = len(sizes)
    R, W = [None] * n, [None] * (n + 1)
    W[n] = 0 * lam
    reach, counts = [1 + 0 * lam], [1]
    for j in range(n - 1):
        reach.append(reach[-1] * p[j])
        counts.append(counts[-1] * sizes[j])
    for j in reversed(range(n)):
        k = sizes[j]
        if k == 1:
            if x[j] != 0 or p[j] != 1:
                raise ValueError(f"agent {j} has one action: x[{j}] must be 0 and p[{j}] must be 1")
            R[j], W[j] = W[j + 1], W[j + 1]
            continue
        c = lam / counts[j]
        D = (x[j] - c * (1 / (k + 0 * lam) - p[j])) / (d * reach[j] * p[j] * (1 - p[j]))
        R[j] = W[j + 1] - D
        W[j] = W[j + 1] - (1 - p[j]) * D
    return R, W


def chain_rewards(sizes, lam: float, x, p, gamma: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    r"""The chain game's first-deviation rewards :math:`R_j` that put :math:`g_j(0) = x_j` on every chain block.

    Parameters
    ----------
    sizes : sequence of int
        :math:`k_j`; an agent with one action needs ``x[j] = 0`` and ``p[j] = 1``.
    lam : float
        :math:`\lambda \ge 0`.
    x : sequence of float
        The gradient entries of action 0 on the chain blocks.
    p : sequence of float
        :math:`p_j \in (0, 1)` (or 1 for an agent with one action).
    gamma : float, default 0

    Returns
    -------
    (ndarray, ndarray)
        :math:`R_0, \dots, R_{N-1}` and :math:`W_0, \dots, W_N` (:math:`W_N = R_\star = 0`).

    Examples
    --------
    One agent with two actions at :math:`p = 1/2`, :math:`\lambda = 1`: :math:`g(0) = p(1-p)D = D/4`,
    so :math:`x = 1/2` needs :math:`D = 2`:

    >>> chain_rewards([2], 1.0, [0.5], [0.5])
    (array([-2.]), array([-1.,  0.]))
    """
    sizes = action_counts("sizes", sizes)
    n = len(sizes)
    lam = non_negative("lam", lam)
    x = _per_agent("x", x, n, real_scalar)
    p = _per_agent("p", p, n, probability)
    gamma = discount_factor("gamma", gamma)
    R, W = _recursion(sizes, lam, [float(v) for v in x], [float(v) for v in p], 1.0 / (1.0 - gamma))
    return np.array(R, dtype=float), np.array(W, dtype=float)


def chain_game(sizes, R, gamma: float = 0.0) -> MarkovGame:
    r"""The one-state game with reward :math:`R_j` for a first non-zero action by agent :math:`j` and 0 for all zeros.

    >>> chain_game([2, 2], [3.0, 1.0]).r[0]
    array([[0., 1.],
           [3., 3.]])
    """
    sizes = action_counts("sizes", sizes)
    R = np.asarray(R, dtype=float)
    if R.shape != (len(sizes),):
        raise ValueError(f"R must have one entry per agent ({len(sizes)}), got shape {R.shape}")
    r = np.zeros(sizes)
    decided = np.zeros(sizes, dtype=bool)
    for j, k in enumerate(sizes):
        nonzero = (np.arange(k) != 0).reshape((1,) * j + (k,) + (1,) * (len(sizes) - j - 1))
        first = nonzero & ~decided
        r = np.where(first, R[j], r)
        decided = decided | nonzero
    return MarkovGame(np.ones((1, *sizes, 1)), r[None], [1.0], gamma)


def chain_theta(sizes, p) -> list[np.ndarray]:
    r"""Parameters on :meth:`bnpg.DAG.full` that play 0 with probability :math:`p_j` on the chain block, uniformly elsewhere.

    >>> import bnpg
    >>> game = chain_game([2, 3], [0.0, 0.0])
    >>> policy = bnpg.BNPolicy(game, bnpg.DAG.full(2), chain_theta([2, 3], [0.5, 0.8]))
    >>> policy.local(1)[0, 0].round(3).tolist(), policy.local(1)[0, 1].round(3).tolist()
    ([0.8, 0.1, 0.1], [0.333, 0.333, 0.333])
    """
    sizes = action_counts("sizes", sizes)
    p = _per_agent("p", p, len(sizes), probability)
    _check_p(sizes, p)
    theta = []
    for j, k in enumerate(sizes):
        t = np.zeros((1, *sizes[:j], k))
        if k > 1:
            t[(0,) + (0,) * j + (0,)] = math.log(p[j] * (k - 1) / (1.0 - p[j]))
        theta.append(t)
    return theta


@dataclass(frozen=True)
class Witness:
    r"""A point meeting a sharpened lemma's hypothesis whose gap comes close to the lemma's bound.

    Attributes
    ----------
    name : str
        ``"lemma-2"`` or ``"lemma-3"``.
    game : MarkovGame
    dag : DAG
    theta : tuple of ndarray
        The point, in the layout of :class:`bnpg.BNPolicy`.
    lam : float
    threshold : float
        :func:`bnpg.theory.sharpened.sharp_threshold`: the hypothesis :math:`\|\nabla L_\lambda\|_2 \le` threshold.
    bound : float
        :func:`bnpg.theory.sharpened.sharp_bound` at the threshold: the conclusion.
    """

    name: str
    game: MarkovGame
    dag: DAG
    theta: tuple
    lam: float
    threshold: float
    bound: float

    @property
    def policy(self) -> BNPolicy:
        return BNPolicy(self.game, self.dag, self.theta)

    def measure(self) -> dict:
        """The gradient norm and gap at the point, computed exactly, and their ratios to the claims."""
        policy = self.policy
        norm = gradient_norm(gradient(self.game, policy, self.lam))
        gap = nash_gap(self.game, policy) if self.name == "lemma-2" else optimality_gap(self.game, policy)
        return {"grad_norm": norm, "gap": gap, "norm_ratio": norm / self.threshold, "ratio": gap / self.bound}


def _inside(tau: float) -> float:
    # a hair inside the threshold, so that the rounding of the gradient cannot push it out
    return tau * (1.0 - 1e-9)


def lemma3_witness(sizes=(2, 3, 2), lam: float = 0.1, delta: float = 1e-4, gamma: float = 0.9) -> Witness:
    r"""The chain game at the sharpened Lemma 3's threshold with every :math:`p_j = 1 - \delta`.

    Its optimality gap divided by the bound tends to 1 as :math:`\delta \to 0`.

    >>> w = lemma3_witness((2, 2), delta=1e-3)
    >>> m = w.measure()
    >>> m["norm_ratio"] <= 1, 0.99 < m["ratio"] <= 1
    (True, True)
    """
    sizes = action_counts("sizes", sizes)
    if max(sizes) < 2:
        raise ValueError(f"sizes must give some agent a choice, got {sizes!r}")
    lam = positive("lam", lam)
    delta = positive("delta", delta)
    if delta >= 1:
        raise ValueError(f"delta must be in (0, 1), got {delta!r}")
    weights = np.array([1.0 - 1.0 / k for k in sizes])
    p = np.where(np.array(sizes) > 1, 1.0 - delta, 1.0)
    probe = chain_game(sizes, np.zeros(len(sizes)), gamma)
    dag = DAG.full(len(sizes))
    tau = sharp_threshold(probe, dag, lam, lemma=3)
    x = _inside(tau) * weights / math.sqrt(weights.sum())
    R, _ = chain_rewards(sizes, lam, x, p, gamma)
    game = chain_game(sizes, R, gamma)
    return Witness("lemma-3", game, dag, tuple(chain_theta(sizes, p)), lam, tau,
                   sharp_bound(game, dag, lam, 1.0, lemma=3))


def lemma2_witness(sizes=(3, 2), lam: float = 0.1, p0: float = 0.6, gamma: float = 0.9) -> Witness:
    r"""Agent 0's bandit on the empty DAG at the sharpened Lemma 2's threshold: Nash gap :math:`\lambda`, the bound.

    Agent 0 must have the most actions (it sets :math:`\tau_2^\sharp`); the reward ignores the others.

    >>> m = lemma2_witness().measure()
    >>> m["norm_ratio"] <= 1, abs(m["ratio"] - 1) < 1e-8
    (True, True)
    """
    sizes = action_counts("sizes", sizes)
    if sizes[0] < 2 or sizes[0] != max(sizes):
        raise ValueError(f"sizes[0] must be the largest number of actions and at least 2, got {sizes!r}")
    lam = positive("lam", lam)
    gamma = discount_factor("gamma", gamma)
    k = sizes[0]
    R, _ = chain_rewards([k], lam, [_inside(lam / math.sqrt(k * (k - 1))) * math.sqrt((k - 1) / k)], [p0], gamma)
    bandit = chain_game([k], R, gamma)
    r = np.broadcast_to(bandit.r.reshape((1, k) + (1,) * (len(sizes) - 1)), (1, *sizes)).copy()
    game = MarkovGame(np.ones((1, *sizes, 1)), r, [1.0], gamma)
    dag = DAG.empty(len(sizes))
    theta = [np.zeros((1, s)) for s in sizes]
    theta[0] = chain_theta([k], [p0])[0]
    tau = sharp_threshold(game, dag, lam, lemma=2)
    return Witness("lemma-2", game, dag, tuple(theta), lam, tau, sharp_bound(game, dag, lam, 1.0, lemma=2))


@dataclass(frozen=True)
class Breach:
    r"""A chain-game point at a given gradient norm, with its gradient norm and optimality gap computed exactly.

    Attributes: ``sizes``, ``lam``, ``grad_norm``, ``gap`` (optimality gap), ``ratio`` (gap / :math:`\lambda M`,
    :math:`M = 1`), ``R`` and ``p`` (to build it with :func:`chain_game` and :func:`chain_theta` when small).
    """

    sizes: tuple
    lam: float
    grad_norm: float
    gap: float
    ratio: float
    R: np.ndarray
    p: np.ndarray


def threshold_breach(sizes, lam: float, grad_norm: float, p0: float, *, rest: float = 1 - 1e-9,
                     gamma: float = 0.0) -> Breach:
    r"""The chain game at gradient norm ``grad_norm`` with :math:`p_0` = ``p0`` and every other :math:`p_j` = ``rest``.

    The gradient is spread as :math:`x_j \propto 1 - 1/k_j`, which makes :math:`\sum_j x_j` largest for its
    norm. When ``grad_norm`` exceeds :math:`\tau_3^\sharp`, the gap grows without bound as ``p0`` shrinks.
    The recursion runs in exact rational arithmetic on the floating-point inputs (the terms it adds
    are of order :math:`1/p_0` and cancel), so the gap and the norm are exact for the stored ``x``
    before their final rounding; ``x`` itself is ``grad_norm`` spread and rounded once.

    >>> b = threshold_breach([2] * 33, 1.0, 1.0 / (2 * 2**33 * 2), p0=1e-25)   # the paper's threshold
    >>> b.ratio > 2**34 * 33                          # beyond the printed 2^(N+1) N lambda M
    True
    """
    sizes = action_counts("sizes", sizes)
    lam = positive("lam", lam)
    grad_norm = non_negative("grad_norm", grad_norm)
    p0, rest = probability("p0", p0), probability("rest", rest)
    gamma = discount_factor("gamma", gamma)
    weights = [1.0 - 1.0 / k for k in sizes]
    if sum(weights) == 0:
        raise ValueError("sizes: no agent has a choice")
    if sizes[0] < 2:
        raise ValueError(f"sizes[0] must be at least 2 (p0 is the first agent's probability), got {sizes!r}")
    x = [grad_norm * w / math.sqrt(sum(weights)) for w in weights]
    p = [rest if k > 1 else 1.0 for k in sizes]
    p[0] = p0
    exact = [Fraction(v) for v in x], [Fraction(v) for v in p]
    R, W = _recursion(sizes, Fraction(lam), *exact, 1 / (1 - Fraction(gamma)))
    gap = (max(Fraction(0), max(R)) - W[0]) / (1 - Fraction(gamma))
    norm2 = sum(xj**2 * k / (k - 1) for xj, k in zip(exact[0], sizes, strict=True) if k > 1)
    return Breach(sizes, lam, math.sqrt(norm2), float(gap), float(gap / Fraction(lam)),
                  np.array([float(v) for v in R]), np.array(p))


def _file(name: str) -> str:
    return f"witness-{name}.npz"


def save_witnesses(directory) -> list[str]:
    """Write the shipped witnesses to ``directory`` (each file renamed into place when complete)."""
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise ValueError(f"directory {directory!r} does not exist")
    paths = []
    for w in (lemma2_witness(), lemma3_witness()):
        arrays = {"P": w.game.P, "r": w.game.r, "mu": w.game.mu, "gamma": w.game.gamma, "lam": w.lam,
                  "threshold": w.threshold, "bound": w.bound,
                  "parents": np.array([list(p) + [-1] * (w.dag.n_agents - len(p)) for p in w.dag.parent_lists]),
                  **{f"theta{i}": t for i, t in enumerate(w.theta)}}
        path = os.path.join(directory, _file(w.name))
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".npz.tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **arrays)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
        paths.append(path)
    return paths


def witness(name: str) -> Witness:
    r"""A shipped witness: ``"lemma-2"`` or ``"lemma-3"`` (see the module docstring).

    >>> w = witness("lemma-3")
    >>> w.game.action_sizes, w.dag.is_fully_correlated, round(w.measure()["ratio"], 3)
    ((2, 3, 2), True, 1.0)
    """
    if name not in WITNESSES:
        raise ValueError(f"name must be one of {WITNESSES}, got {name!r}")
    with resources.files("bnpg.data").joinpath(_file(name)).open("rb") as fh, np.load(fh) as z:
        game = MarkovGame(z["P"], z["r"], z["mu"], float(z["gamma"]))
        dag = DAG([[int(j) for j in row if j >= 0] for row in z["parents"]])
        theta = tuple(z[f"theta{i}"] for i in range(game.n_agents))
        return Witness(name, game, dag, theta, float(z["lam"]), float(z["threshold"]), float(z["bound"]))
