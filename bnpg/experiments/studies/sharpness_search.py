r"""How close multi-state games come to the sharpened Lemmas 2 and 3 (:mod:`bnpg.theory.sharpened`): the worst reward in closed form.

Fix :math:`P`, :math:`\mu`, :math:`\gamma`, the DAG, :math:`\theta` and :math:`\lambda`; let the reward
:math:`r \in \mathbb R^{|\mathcal S||\mathcal A|}` vary. The visitation :math:`d = d_\mu^{\pi_\theta}` does
not depend on :math:`r`, :math:`Q = r + \gamma P(I - \gamma P_\pi)^{-1} r_\pi` is linear in it and the
barrier's gradient :math:`b` does not involve it, so (:func:`gradient_map`, :func:`value_coefficients`)

.. math::

    \begin{aligned}
    V_\theta(\mu) &= \textstyle\sum_{s,a} d(s)\,\pi_\theta(a\mid s)\,r(s,a) = c_\theta^\top r, \\
    \nabla_\theta L_\lambda &= J r + b, \qquad J = \partial \nabla_\theta V_\theta(\mu) / \partial r .
    \end{aligned}

For a comparator joint policy :math:`\pi_c` (Lemma 3: a deterministic joint policy; Lemma 2: agent
:math:`i`'s deterministic rule over :math:`(s, a^{\mathcal P^i})`, the others unchanged) the gap is
:math:`V_{\pi_c}(\mu) - V_\theta(\mu) = c^\top r`, :math:`c = c_{\pi_c} - c_\theta`, and the worst reward solves

.. math::

    \max_r\ c^\top r \quad\text{subject to}\quad \|J r + b\|_2 \le \tau .                      \tag{W}

With the thin SVD :math:`J = U_k \Sigma_k V_k^\top` on the rank :math:`k` (:func:`worst_reward`):

* if :math:`c_\perp = c - V_k V_k^\top c \ne 0`, :math:`r + t\,c_\perp` keeps the gradient while the gap
  grows like :math:`t\|c_\perp\|^2`: (W) is unbounded, a counterexample to the lemma, and is reported
  (``unbounded``). The null space of :math:`J` holds the potential shapings
  :math:`\phi(s) - \gamma\sum_{s'}P(s'\mid s,a)\phi(s')` (constants among them), which add
  :math:`\mu^\top\phi` to every value, so :math:`c` is orthogonal to them;
* otherwise :math:`c = J^\top w`, :math:`w = U_k\Sigma_k^{-1}V_k^\top c \in \operatorname{range} J`. Split
  :math:`b = b_R + b_\perp` along :math:`\operatorname{range} J`: :math:`Jr + b = b_\perp + y` with
  :math:`y \in \operatorname{range} J` free, and :math:`c^\top r = w^\top(y - b_R)`. (W) is feasible iff
  :math:`\|b_\perp\| \le \tau`; with :math:`\rho = (\tau^2 - \|b_\perp\|^2)^{1/2}`,

  .. math::

      \max c^\top r = \rho\,\|w\| - w^\top b_R \quad\text{at}\quad y = \rho\,w/\|w\|, \quad
      r^\star = V_k \Sigma_k^{-1} U_k^\top (y - b_R),

  the gradient on the boundary; any null-space component may be added to :math:`r^\star`.

**The comparator** (:func:`worst_point`). From a guess (the least likely joint action in every state;
for Lemma 2 the best of each agent's least likely action at every :math:`(s, a^{\mathcal P^i})`), solve
(W), build the game, and replace the guess by the game's true optimum (policy iteration) or largest
best response. The true gap is at least the predicted one and (W) for the new comparator gives at
least the true gap, so the gap increases until the comparator stops changing.

**Scale.** :math:`(r, \lambda) \to (a r, a\lambda)` multiplies the gradient, :math:`\tau^\sharp`, the gap
and the bound by :math:`a`: every ratio is unchanged, and :math:`\lambda = 1` loses nothing.

**The search** (:func:`search_instance`, :func:`sharpness_search`): random transitions and DAGs, a random
search over :math:`\theta` of the gap at the worst reward, and the best point measured again with the
library: exact gradient norm (:math:`\le \tau`; (W) is solved with radius :math:`\tau(1-10^{-9})`), exact
gap, :math:`M` and ``ratio`` = gap / :func:`~bnpg.theory.sharpened.sharp_bound` at :math:`\tau`. The lemmas claim ``ratio <= 1``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from itertools import product

import numpy as np

from bnpg import _validation
from bnpg._validation import integer, integer_choices, interval, non_negative, positive, probability
from bnpg.exact import gaps, mdp, mismatch
from bnpg.exact.evaluation import evaluate, evaluate_joint
from bnpg.exact.objective import barrier_gradient, gradient, gradient_norm
from bnpg.experiments.instances import instance_rng
from bnpg.experiments.results import collate
from bnpg.experiments.sweeps import SweepOptions, run_sweep
from bnpg.games.library import random_game
from bnpg.model import policy as policy_arrays
from bnpg.model.dag import DAG
from bnpg.model.game import MarkovGame
from bnpg.model.policy import BNPolicy, check_policy
from bnpg.theory.sharpened import LEMMAS, sharp_bound, sharp_threshold

__all__ = ["INSIDE", "WorstPoint", "WorstReward", "gradient_map", "search_instance", "sharpness_search",
           "value_coefficients", "worst_point", "worst_reward"]

#: (W) is solved with radius ``tau * (1 - INSIDE)``, so that rounding cannot push the gradient out.
INSIDE = 1e-9

_FITS = 4  # radii tried by worst_point before a reward is given up as unmeasurable
_UNBOUNDED = 1e-8  # ||c_perp|| / ||c|| above this: c leaves the row space of J


def _lemma(lemma) -> int:
    if integer("lemma", lemma) not in LEMMAS:
        raise ValueError(f"lemma must be 2 or 3, got {lemma!r}")
    return int(lemma)


def gradient_map(game: MarkovGame, policy: BNPolicy, lam: float) -> tuple[np.ndarray, np.ndarray]:
    r"""``(J, b)`` with :math:`\nabla_\theta L_\lambda = J\,\mathrm{vec}(r) + b` for every reward on ``game``'s transitions.

    Rows follow :meth:`bnpg.BNPolicy.flat`, columns ``game.r`` in C order; ``game.r`` itself is not used.

    >>> import numpy as np, bnpg
    >>> game = bnpg.games.random_game(2, (2, 3), seed=0, gamma=0.7)
    >>> policy = bnpg.BNPolicy.random(game, bnpg.DAG.chain(2), seed=1)
    >>> J, b = gradient_map(game, policy, 0.5)
    >>> direct = np.concatenate([g.ravel() for g in bnpg.gradient(game, policy, 0.5)])
    >>> bool(np.allclose(J @ game.r.ravel() + b, direct, rtol=0, atol=1e-14))
    True
    """
    check_policy(game, policy)
    lam = non_negative("lam", lam)
    S, A, n = game.n_states, game.n_joint_actions, game.r.size
    ev = evaluate(game, policy)
    pi, P = ev.pi.reshape(S, A), game.P.reshape(S, A, S)
    system = np.eye(S) - game.gamma * np.einsum("sa,sat->st", pi, P)
    averaging = np.zeros((S, n))  # r -> r_pi
    averaging[np.repeat(np.arange(S), A), np.arange(n)] = pi.ravel()
    dQ = np.eye(n) + game.gamma * P.reshape(n, S) @ np.linalg.solve(system, averaging)
    dW = (ev.d[:, None] * pi).reshape(n, 1) * dQ  # W(s, a) = d(s) pi(a|s) Q(s, a)
    st, joint_shape, blocks = policy.structure, (S, *game.action_sizes), []
    for i, lay in enumerate(st.layouts):
        size, k = st.sizes[i], game.action_sizes[i]
        family = np.broadcast_to(st.to_joint_axes(i, np.arange(size).reshape(lay.theta_shape)), joint_shape)
        summed = np.zeros((size, n))
        np.add.at(summed, family.ravel(), dW)  # W summed onto agent i's family
        summed = summed.reshape(-1, k, n)
        local = policy.local(i).reshape(-1, k, 1)
        blocks.append((summed - local * summed.sum(axis=1, keepdims=True)).reshape(size, n))
    b = np.concatenate([barrier_gradient(policy, i, lam).ravel() for i in range(game.n_agents)])
    return np.vstack(blocks), b


def _joint_policy(game: MarkovGame, pi, name: str) -> np.ndarray:
    _validation.instance_of("game", game, MarkovGame)
    arr = np.array(pi, dtype=float)
    if arr.shape != (game.n_states, *game.action_sizes):
        raise ValueError(f"{name} must have the joint shape {(game.n_states, *game.action_sizes)}, got {arr.shape}")
    sums = arr.reshape(game.n_states, -1).sum(axis=1)
    if not np.all(np.isfinite(arr)) or arr.min() < 0 or not np.allclose(sums, 1.0, rtol=0, atol=1e-10):
        raise ValueError(f"{name} must be a joint policy: non-negative, summing to 1 in every state")
    return arr


def value_coefficients(game: MarkovGame, pi) -> np.ndarray:
    r""":math:`c_\pi(s, a) = d_\mu^\pi(s)\,\pi(a\mid s)`, so that :math:`V_\pi(\mu) = c_\pi^\top \mathrm{vec}(r)` for every reward.

    >>> import numpy as np, bnpg
    >>> game = bnpg.games.random_game(2, (2, 2), seed=0, gamma=0.5)
    >>> pi = np.full((2, 2, 2), 0.25)
    >>> bool(np.isclose(value_coefficients(game, pi) @ game.r.ravel(), evaluate_joint(game, pi).value))
    True
    """
    pi = _joint_policy(game, pi, "pi")
    return (evaluate_joint(game, pi).d.reshape((-1,) + (1,) * game.n_agents) * pi).ravel()


@dataclass(frozen=True)
class WorstReward:
    r"""The solution of (W) for one (policy, comparator) pair.

    Attributes: ``r`` (the maximiser, shaped like ``game.r``, with no component in the null space of
    :math:`J`; when unbounded, the smallest reward meeting the constraint; ``None`` when infeasible),
    ``gap`` (:math:`c^\top r`; ``inf`` when unbounded, ``-inf`` when infeasible), ``feasible``
    (:math:`\|b_\perp\| \le \tau`), ``unbounded`` (:math:`c` leaves the row space of :math:`J`: a
    counterexample), ``null_residual`` (:math:`\|c_\perp\|/\|c\|`) and ``direction``
    (:math:`c_\perp/\|c_\perp\|` when unbounded: adding any multiple keeps the gradient).
    """

    r: np.ndarray | None
    gap: float
    feasible: bool
    unbounded: bool
    null_residual: float
    direction: np.ndarray | None = None


def _decompose(J: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    U, s, Vt = np.linalg.svd(J, full_matrices=False)
    k = int(np.sum(s > s[0] * max(J.shape) * np.finfo(float).eps)) if s.size and s[0] > 0 else 0
    return U[:, :k], s[:k], Vt[:k]


def _solve(svd, b: np.ndarray, c: np.ndarray, radius: float, shape: tuple) -> WorstReward:
    U, s, Vt = svd
    c_perp = c - Vt.T @ (Vt @ c)
    norm_c = float(np.linalg.norm(c))
    residual = float(np.linalg.norm(c_perp)) / norm_c if norm_c > 0 else 0.0
    unbounded = residual > _UNBOUNDED
    b_R = U @ (U.T @ b)
    slack = radius**2 - float(np.sum((b - b_R) ** 2))
    if slack < 0:
        return WorstReward(None, -np.inf, False, unbounded, residual)
    if unbounded:
        r = Vt.T @ ((U.T @ -b_R) / s)
        return WorstReward(r.reshape(shape), np.inf, True, True, residual,
                           (c_perp / np.linalg.norm(c_perp)).reshape(shape))
    w = U @ ((Vt @ c) / s)
    norm_w = float(np.linalg.norm(w))
    y = np.sqrt(slack) * w / norm_w if norm_w > 0 else np.zeros_like(w)
    r = Vt.T @ ((U.T @ (y - b_R)) / s)
    return WorstReward(r.reshape(shape), float(c @ r), True, False, residual)


def worst_reward(game: MarkovGame, policy: BNPolicy, lam: float, comparator, tau: float) -> WorstReward:
    r"""The reward maximising :math:`V_{\pi_c}(\mu) - V_\theta(\mu)` subject to :math:`\|\nabla L_\lambda\|_2 \le \tau`: problem (W).

    ``game`` supplies :math:`P`, :math:`\mu`, :math:`\gamma` (not its reward), ``policy`` (built for it)
    :math:`\theta`, ``comparator`` the joint policy :math:`\pi_c` (shape ``(S, A_0, ..., A_{N-1})``),
    ``lam`` :math:`\lambda \ge 0` and ``tau`` the radius, used as given (:func:`worst_point` passes
    :math:`\tau(1-10^{-9})`). Returns a :class:`WorstReward`.

    One state, one agent, two actions, uniform policy, :math:`\gamma = 0`, comparator "always 1": the
    gradient is :math:`(r_0 - r_1)(1, -1)/4`, so :math:`|r_1 - r_0| \le 2\sqrt 2\,\tau` and the gap
    :math:`(r_1 - r_0)/2` is at most :math:`\sqrt 2\,\tau`:

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 1)), [[0.0, 0.0]], [1.0], 0.0)
    >>> out = worst_reward(game, bnpg.BNPolicy(game, bnpg.DAG.empty(1)), 0.0, [[0.0, 1.0]], 0.5)
    >>> round(out.gap, 6), out.unbounded, out.r.round(6).tolist()
    (0.707107, False, [[-0.707107, 0.707107]])
    """
    check_policy(game, policy)
    lam = non_negative("lam", lam)
    pi_c = _joint_policy(game, comparator, "comparator")
    tau = non_negative("tau", tau)
    J, b = gradient_map(game, policy, lam)
    c = value_coefficients(game, pi_c) - value_coefficients(game, policy.joint())
    return _solve(_decompose(J), b, c, tau, game.r.shape)


@dataclass(frozen=True)
class WorstPoint:
    """The worst reward for a policy once the comparator has stopped changing (:func:`worst_point`).

    Attributes: ``reward`` (:class:`WorstReward` for the last comparator), ``game`` (the game with
    that reward; ``None`` if (W) was infeasible or unbounded), ``policy`` (the parameters on
    ``game``), ``gap`` (its true Nash gap for Lemma 2, optimality gap for Lemma 3), ``comparator``
    (the joint policy of the true optimum or largest best response), ``agent`` (that best response's
    agent, ``-1`` for Lemma 3) and ``rounds`` (solves of (W) used).
    """

    reward: WorstReward
    game: MarkovGame | None
    policy: BNPolicy | None
    gap: float
    comparator: np.ndarray | None
    agent: int
    rounds: int


def _true_comparator(game: MarkovGame, policy: BNPolicy, lemma: int) -> tuple[np.ndarray, float, int]:
    value = evaluate(game, policy).value
    if lemma == 3:
        sol = mdp.optimal_solution(game)
        return policy_arrays.deterministic_joint(game, sol.rule), sol.value - value, -1
    solutions = [gaps.best_response(game, policy, i) for i in range(game.n_agents)]
    i = int(np.argmax([sol.value for sol in solutions]))
    rule = np.eye(game.action_sizes[i])[solutions[i].rule]
    return policy_arrays.replace_local(policy, i, rule), solutions[i].value - value, i


def _first_guesses(game: MarkovGame, policy: BNPolicy, lemma: int) -> list[np.ndarray]:
    if lemma == 3:
        return [policy_arrays.deterministic_joint(game, policy.joint().reshape(game.n_states, -1).argmin(axis=1))]
    return [policy_arrays.replace_local(policy, i, np.eye(k)[policy.local(i).argmin(axis=-1)])
            for i, k in enumerate(game.action_sizes)]


def worst_point(game: MarkovGame, policy: BNPolicy, lam: float, tau: float, *, lemma: int,
                rounds: int = 6) -> WorstPoint:
    r"""Solve (W) for ``policy`` and replace the comparator by the built game's true one until it stops changing.

    ``game``, ``policy`` and ``lam`` as in :func:`worst_reward`; ``tau`` is the gradient bound: (W) is
    solved with radius :math:`\tau(1 - 10^{-9})`, shrunk further if the exact gradient norm of the
    built game (:func:`bnpg.gradient`) still exceeds :math:`\tau`. ``lemma`` 2: agents' deterministic
    deviations and the Nash gap; 3: deterministic joint policies and the optimality gap (on a
    fully-correlated DAG). At most ``rounds`` solves of (W). Returns a :class:`WorstPoint`.

    >>> import bnpg
    >>> game, dag = bnpg.games.random_game(2, (2, 2), seed=0, gamma=0.6), bnpg.DAG.full(2)
    >>> tau = bnpg.theory.sharpened.sharp_threshold(game, dag, 1.0, lemma=3)
    >>> point = worst_point(game, bnpg.BNPolicy.random(game, dag, seed=1), 1.0, tau, lemma=3)
    >>> norm = bnpg.gradient_norm(bnpg.gradient(point.game, point.policy, 1.0))
    >>> norm <= tau, bool(point.gap >= point.reward.gap - 1e-12)
    (True, True)
    """
    check_policy(game, policy)
    lam, tau = non_negative("lam", lam), non_negative("tau", tau)
    lemma = _lemma(lemma)
    rounds = integer("rounds", rounds, minimum=1)
    if lemma == 3:
        _validation.fully_correlated("policy.dag", policy.dag, needed_by="lemma 3")
    J, b = gradient_map(game, policy, lam)
    svd, radius = _decompose(J), tau * (1.0 - INSIDE)
    c_theta = value_coefficients(game, policy.joint())

    def solve(pi_c, target):
        return _solve(svd, b, value_coefficients(game, pi_c) - c_theta, target, game.r.shape)

    def build(pi_c):
        reward, target = solve(pi_c, radius), radius
        for _ in range(_FITS):
            if not reward.feasible or reward.unbounded:
                return reward, None, None
            built = MarkovGame(game.P, reward.r, game.mu, game.gamma)
            on_built = BNPolicy(built, policy.dag, policy.theta)
            excess = gradient_norm(gradient(built, on_built, lam)) - tau
            if excess <= 0:
                return reward, built, on_built
            target -= 2.0 * excess + INSIDE * tau
            reward = solve(pi_c, max(target, 0.0))
        return WorstReward(None, -np.inf, False, reward.unbounded, reward.null_residual), None, None

    pi_c = max(_first_guesses(game, policy, lemma), key=lambda guess: solve(guess, radius).gap)
    best = None
    for used in range(1, rounds + 1):
        reward, built, on_built = build(pi_c)
        if built is None:  # an unbounded (W) is a counterexample: it is returned, whatever came before
            return best if best and not reward.unbounded else WorstPoint(reward, None, None, reward.gap, None, -1, used)
        pi_true, gap, agent = _true_comparator(built, on_built, lemma)
        if best is None or gap > best.gap:
            best = WorstPoint(reward, built, on_built, gap, pi_true, agent, used)
        if gap <= reward.gap + 1e-9 * (1.0 + abs(reward.gap)):
            break
        pi_c = pi_true
    return best


def _options(n_states, n_agents, n_actions, gamma_range, edge_prob, tau_fraction, restarts, budget,
             init_scale, theta_bound, max_reward, rounds) -> dict:
    if probability("tau_fraction", tau_fraction) == 0.0:  # tau = 0 cannot be met in floating point
        raise ValueError("tau_fraction must be in (0, 1], got 0")
    return {"n_states": integer_choices("n_states", n_states), "n_agents": integer_choices("n_agents", n_agents),
            "n_actions": integer_choices("n_actions", n_actions),
            "gamma_range": interval("gamma_range", gamma_range, low=0.0, high=1.0, closed_high=False),
            "edge_prob": probability("edge_prob", edge_prob), "tau_fraction": probability("tau_fraction", tau_fraction),
            "restarts": integer("restarts", restarts, minimum=0), "budget": integer("budget", budget, minimum=0),
            "init_scale": non_negative("init_scale", init_scale), "theta_bound": positive("theta_bound", theta_bound),
            "max_reward": positive("max_reward", max_reward), "rounds": integer("rounds", rounds, minimum=1)}


def _instance(lemma: int, seed: int, index: int, options: dict):
    grid = tuple(product(options["n_states"], options["n_agents"]))
    S, N = grid[index % len(grid)]
    rng = instance_rng(seed, index)
    sizes = tuple(int(k) for k in rng.choice(options["n_actions"], size=N))
    gamma = float(rng.uniform(*options["gamma_range"]))
    game = random_game(S, sizes, seed=rng, gamma=gamma)
    dag = DAG.full(N) if lemma == 3 else DAG.random(N, options["edge_prob"], seed=rng)
    return game, dag, rng


def _avoiding_start(game: MarkovGame, base: BNPolicy, scale: float) -> np.ndarray:
    """Flat parameters near the deterministic policy that least visits the state setting ``M``."""
    ext = mismatch.visitation_extremes(game)
    x = int(np.argmax(ext.d_max / ext.d_min))
    actions = np.array(np.unravel_index(ext.argmin[x], game.action_sizes))  # (N, S)
    theta = []
    for i, lay in enumerate(base.structure.layouts):
        t = np.zeros(lay.theta_shape)
        t[np.arange(game.n_states), ..., actions[i]] = scale
        theta.append(t.ravel())
    return np.concatenate(theta)


def _improve(score_at, start: np.ndarray, budget: int, rng: np.random.Generator, bound: float):
    """(1+1) random search in ``[-bound, bound]``: Gaussian steps, doubled after a success, shrunk after a failure."""
    x = np.clip(start, -bound, bound)
    best, step = score_at(x), bound / 4
    for _ in range(budget):
        candidate = np.clip(x + step * rng.standard_normal(x.shape), -bound, bound)
        scored = score_at(candidate)
        if scored[0] > best[0]:
            x, best, step = candidate, scored, min(2.0 * step, bound)
        else:
            step *= 2.0**-0.25
    return best


def search_instance(lemma: int, seed: int, index: int, *, n_states: Sequence[int] = (1, 2, 3),
                    n_agents: Sequence[int] = (2, 3), n_actions: Sequence[int] = (2, 3),
                    gamma_range: tuple[float, float] = (0.1, 0.9), edge_prob: float = 0.5,
                    tau_fraction: float = 1.0, restarts: int = 2, budget: int = 50,
                    init_scale: float = 1.5, theta_bound: float = 3.0, max_reward: float = 1e4,
                    rounds: int = 6) -> dict:
    r"""Search instance ``index`` of seed ``seed`` for the largest gap / sharpened bound.

    Its structure is entry ``index % len(grid)`` of ``grid = itertools.product(n_states, n_agents)``;
    :func:`bnpg.experiments.instances.instance_rng` ``(seed, index)`` draws, in this order, each agent's number of
    actions (from ``n_actions``), :math:`\gamma` (uniform on ``gamma_range``), the transitions
    (:func:`bnpg.games.random_game`, uniform :math:`\mu`), the DAG (Lemma 2: :meth:`bnpg.DAG.random`
    with ``edge_prob``; Lemma 3: :meth:`bnpg.DAG.full`), the restarts and the steps. :math:`\lambda = 1`.

    :math:`\tau` is ``tau_fraction`` (in (0, 1]) times :func:`bnpg.theory.sharpened.sharp_threshold`. Starts: the
    uniform policy, one near the deterministic policy that least visits the state setting :math:`M`,
    and ``restarts`` normal ones (standard deviation ``init_scale``),
    each improved by ``budget`` evaluations of :func:`worst_point` (with ``rounds``). Parameters stay
    in ``[-theta_bound, theta_bound]`` and points whose worst reward has an entry above ``max_reward``
    in magnitude are not accepted: the worst reward grows like the inverse of the smallest
    probability and must stay small enough to be measured exactly.

    Returns
    -------
    dict
        ``lemma``, ``seed``, ``index``, ``n_states``, ``n_agents``, ``n_joint``, ``sizes`` (as
        ``"2x3"``), ``n_edges``, ``gamma``, ``lam``, ``M``, ``threshold``, ``tau``, ``bound``; at the
        best point ``grad_norm`` (exact), ``met`` (``grad_norm <= tau``), ``gap`` (exact),
        ``predicted_gap`` (:math:`c^\top r` for the last comparator), ``ratio`` (gap / bound),
        ``gap_over_lam_m``, ``agent`` (Lemma 2's deviating agent, else -1), ``pd_sum``
        (:math:`\frac{\lambda}{|\mathcal S|}\sum_s d_\mu^{\pi_c}(s)/d_\mu^{\pi_\theta}(s)` for the true
        comparator, at most :math:`\lambda M`) and ``max_reward`` (:math:`\max|r|`); over the search
        ``unbounded`` (some (W) was unbounded: a counterexample), ``null_residual`` (the largest
        :math:`\|c_\perp\|/\|c\|`) and ``n_evaluations``.

    Examples
    --------
    >>> rec = search_instance(3, 0, 0, n_states=(1,), n_agents=(2,), n_actions=(2,), budget=5)
    >>> rec["met"], rec["unbounded"], 0.5 < rec["ratio"] <= 1
    (True, False, True)
    """
    lemma = _lemma(lemma)
    seed, index = integer("seed", seed, minimum=0), integer("index", index, minimum=0)
    options = _options(n_states, n_agents, n_actions, gamma_range, edge_prob, tau_fraction, restarts,
                       budget, init_scale, theta_bound, max_reward, rounds)
    game, dag, rng = _instance(lemma, seed, index, options)
    lam, base = 1.0, BNPolicy(game, dag)
    threshold = sharp_threshold(game, dag, lam, lemma=lemma)
    tau = options["tau_fraction"] * threshold
    seen = {"count": 0, "unbounded": False, "residual": 0.0}

    def score_at(flat: np.ndarray) -> tuple[float, WorstPoint]:
        point = worst_point(game, base.with_flat(flat), lam, tau, lemma=lemma, rounds=options["rounds"])
        seen["count"] += 1
        seen["unbounded"] |= point.reward.unbounded
        seen["residual"] = max(seen["residual"], point.reward.null_residual)
        measurable = point.game is not None and float(np.abs(point.game.r).max()) <= options["max_reward"]
        return (np.inf if point.reward.unbounded else point.gap if measurable else -np.inf), point

    starts = [np.zeros(base.n_params), _avoiding_start(game, base, options["theta_bound"])]
    starts += [options["init_scale"] * rng.standard_normal(base.n_params) for _ in range(options["restarts"])]
    best = max((_improve(score_at, x, options["budget"], rng, options["theta_bound"]) for x in starts),
               key=lambda scored: scored[0])[1]
    M = mismatch.mismatch_coefficient(game)
    bound = sharp_bound(game, dag, lam, M, lemma=lemma, grad_norm=tau)
    rec = {"lemma": lemma, "seed": seed, "index": index, "n_states": game.n_states,
           "n_agents": game.n_agents, "n_joint": game.n_joint_actions,
           "sizes": "x".join(str(k) for k in game.action_sizes), "n_edges": dag.n_edges,
           "gamma": game.gamma, "lam": lam, "M": M, "threshold": threshold, "tau": tau, "bound": bound}
    return {**rec, **_measure(best, lemma, lam, tau, bound, M),
            "unbounded": bool(seen["unbounded"]), "null_residual": seen["residual"],
            "n_evaluations": seen["count"]}


def _measure(point: WorstPoint, lemma: int, lam: float, tau: float, bound: float, M: float) -> dict:
    """The best point measured again with the library (NaN where (W) left no game to measure)."""
    if point.game is None:
        return {"grad_norm": np.nan, "met": False, "gap": point.gap, "predicted_gap": point.reward.gap, "ratio":
                point.gap / bound, "gap_over_lam_m": point.gap / (lam * M), "agent": -1, "pd_sum": np.nan,
                "max_reward": np.nan}
    game, policy = point.game, point.policy
    grad_norm = gradient_norm(gradient(game, policy, lam))
    gap = gaps.nash_gap(game, policy) if lemma == 2 else gaps.optimality_gap(game, policy)
    d_c, d = evaluate_joint(game, point.comparator).d, evaluate(game, policy).d
    return {"grad_norm": grad_norm, "met": bool(grad_norm <= tau), "gap": gap,
            "predicted_gap": point.reward.gap, "ratio": gap / bound, "gap_over_lam_m": gap / (lam * M),
            "agent": point.agent, "pd_sum": float(lam / game.n_states * np.sum(d_c / d)),
            "max_reward": float(np.abs(game.r).max())}


def sharpness_search(lemma: int, *, n_instances: int = 12, seed: int = 0, sweep: SweepOptions | None = None,
                     **options) -> dict:
    r"""Run :func:`search_instance` on instances ``0, ..., n_instances - 1`` of ``seed``.

    The default 12 instances cover the default grid (:math:`|\mathcal S| \in \{1,2,3\}`,
    :math:`N \in \{2,3\}`) twice; ``options`` go to :func:`search_instance`; ``sweep``
    (:class:`bnpg.experiments.sweeps.SweepOptions`) to :func:`bnpg.experiments.sweeps.run_sweep` (the
    results do not depend on it).

    Returns
    -------
    dict
        One array per key of :func:`search_instance`'s record, and the scalars ``study``
        (``"sharpness-lemma2"`` or ``"sharpness-lemma3"``) and ``option_*`` (every option, defaults
        included). The sharpened lemma claims ``ratio <= 1`` wherever ``met`` is true.

    Examples
    --------
    >>> out = sharpness_search(2, n_instances=2, budget=3, restarts=0)
    >>> out["index"].tolist(), bool(out["met"].all()), bool(out["ratio"].max() <= 1)
    ([0, 1], True, True)
    """
    from bnpg._validation import keyword_options

    lemma, seed = _lemma(lemma), integer("seed", seed, minimum=0)
    indices = range(integer("n_instances", n_instances, minimum=1))
    options = keyword_options(search_instance, options)
    _options(**options)  # refuse bad options before any work
    meta = {"study": f"sharpness-lemma{lemma}", **{f"option_{k}": v for k, v in options.items()}}
    return collate(run_sweep(partial(search_instance, lemma, seed, **options), len(indices), name=meta["study"],
                             arguments={"seed": seed, **meta}, sweep=sweep), meta)
