r"""Sampled (model-free) estimates of :math:`\nabla L_\lambda` for Bayesian-network policies.

The policy gradient theorem with the product form of a BN policy gives, for agent ``i``,

.. math::

    \nabla_{\theta^i} V_\theta(\mu) = \mathbb E \sum_{t \ge 0} \gamma^t\, \Psi_t\,
    \nabla_{\theta^i} \log \pi^i_{\theta^i}(a^i_t \mid s_t, a^{\mathcal P^i}_t),

for any signal :math:`\Psi_t` whose conditional mean given :math:`(s_t, a_t)` and the past is
:math:`Q_\theta(s_t, a_t) - b(s_t)` with a baseline that does not depend on :math:`a_t`. Each agent's
score is that of *its own local conditional*, which for the tabular softmax (1) is
:math:`e_{s_t, a^{\mathcal P^i}_t} \otimes (e_{a^i_t} - \pi^i(\cdot \mid s_t, a^{\mathcal P^i}_t))`: the
parents' actions of the same step select the row. The regulariser's part of :math:`\nabla L_\lambda` does
not depend on the game and is added exactly (:func:`bnpg.exact.objective.barrier_gradient`).

The estimators (``method``):

* ``"reinforce"``: :math:`\Psi_t = G_t - b_{-e}(s_t)`, the return-to-go of :meth:`Episodes.returns
  <bnpg.sampling.episodes.Episodes.returns>` minus a *leave-one-out* baseline, the mean return-to-go at
  :math:`s_t` over the other episodes of the batch. The baseline is independent of the episode it
  corrects, so it adds no bias.
* ``"actor-critic"``: :math:`\Psi_t = r_t + \gamma \hat V(s_{t+1}) - \hat V(s_t)`, the temporal
  difference of a state critic :math:`\hat V` (``critic``): ``"batch"`` fits it by tabular LSTD(0) to
  the batch itself (the value of the batch's empirical chain); ``"exact"`` uses :math:`V_\theta`; an
  array is a critic the caller supplies (say, fitted to an earlier batch).

Which are unbiased for the discounted objective:

* With ``horizon="geometric"`` (:mod:`bnpg.sampling.episodes`), ``"reinforce"`` and ``"actor-critic"`` with
  ``critic="exact"`` are **unbiased**: their mean is :math:`\nabla L_\lambda`.
* With an independent critic array :math:`\hat V` the mean is the gradient with :math:`Q` replaced by
  :math:`r + \gamma P \hat V`: **biased** unless :math:`\hat V = V_\theta`, and computed exactly by
  :func:`expected_gradient`.
* ``critic="batch"`` is **biased** (the critic errs, and it is fitted to the samples it then scores);
  the bias shrinks as the batch grows, and has no closed form: it is measured against the exact gradient.
* A fixed ``horizon=H`` truncates: ``"reinforce"`` then estimates the gradient of the ``H``-step
  objective :math:`V^H_\theta = \mathbb E \sum_{t < H} \gamma^t r_t`, and the exact-critic actor-critic
  :math:`\sum_s d^H(s) \sum_a \pi \nabla \log \pi\, Q` with :math:`d^H(s) = \sum_{t<H} \gamma^t
  \Pr(s_t = s)`. Both biases are of order :math:`\gamma^H` and :func:`expected_gradient` gives them
  exactly.

Every estimate is a mean over independent episodes; its ``stderr`` is the sample standard deviation of
the per-episode terms over :math:`\sqrt B`. For the leave-one-out baseline and the batch critic the terms
share the batch and are only nearly independent; :func:`agreement` is how the tests and the book check
an estimator against an exact reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from bnpg._validation import fits_in_memory, integer, non_negative, read_only, real_array
from bnpg.exact.evaluation import Evaluation, evaluate, kernel
from bnpg.exact.objective import barrier_gradient, gradient, value_gradient
from bnpg.model.game import MarkovGame
from bnpg.model.policy import BNPolicy, check_policy
from bnpg.sampling.episodes import Episodes, check_episodes, check_horizon, simulate

__all__ = [
    "CRITICS",
    "ESTIMATORS",
    "Agreement",
    "Estimate",
    "agreement",
    "check_estimator",
    "expected_gradient",
    "gradient_estimate",
    "lstd_critic",
    "per_episode_terms",
    "simulate",
]

#: The estimators of :func:`gradient_estimate`.
ESTIMATORS = ("reinforce", "actor-critic")
#: The named critics of ``method="actor-critic"`` (an array of state values is also accepted).
CRITICS = ("batch", "exact")


@dataclass(frozen=True)
class Estimate:
    r"""A sampled estimate of :math:`\nabla_\theta L_\lambda`.

    Attributes
    ----------
    gradient : list of ndarray
        The estimate, one array per agent shaped like ``policy.theta[i]`` (barrier part exact).
    stderr : list of ndarray
        Its standard errors, entry by entry, shaped the same.
    method : str
    critic : str or None
        ``"batch"``, ``"exact"``, ``"array"`` (a critic supplied by the caller) or ``None`` for REINFORCE.
    horizon : int or "geometric"
    episodes : int
    agent_steps : int
        Actions drawn to make the estimate (steps times agents).
    """

    gradient: list
    stderr: list
    method: str
    critic: str | None
    horizon: int | str
    episodes: int
    agent_steps: int

    def flat(self) -> np.ndarray:
        """The estimate as one vector, in the order of :meth:`bnpg.BNPolicy.flat`."""
        return np.concatenate([g.ravel() for g in self.gradient])

    def flat_stderr(self) -> np.ndarray:
        """The standard errors as one vector, in the same order."""
        return np.concatenate([g.ravel() for g in self.stderr])


def check_estimator(method: str, critic, n_states: int) -> tuple[str, object]:
    """``(method, critic)`` checked: the critic is ``None`` for REINFORCE, a name, or an array of one
    float per state (``n_states`` of them).

    >>> check_estimator("actor-critic", "exact", 2)
    ('actor-critic', 'exact')
    """
    if method not in ESTIMATORS:
        raise ValueError(f"method must be one of {ESTIMATORS}, got {method!r}")
    if method == "reinforce":
        return method, None
    if isinstance(critic, str):
        if critic not in CRITICS:
            raise ValueError(f"critic must be one of {CRITICS} or an array of state values, got {critic!r}")
        return method, critic
    values = real_array("critic", critic)
    if values.shape != (n_states,):
        raise ValueError(f"critic must hold one value per state, shape ({n_states},), got {values.shape}")
    return method, values


def _critic_values(game: MarkovGame, policy: BNPolicy, critic, batch: Episodes | None) -> tuple[str, np.ndarray]:
    """The critic's state values and its label (``critic`` as :func:`check_estimator` returns it)."""
    if isinstance(critic, np.ndarray):
        return "array", critic
    if critic == "exact":
        return "exact", evaluate(game, policy).V
    return "batch", lstd_critic(batch, game.n_states)


def lstd_critic(batch: Episodes, n_states: int) -> np.ndarray:
    r"""Tabular LSTD(0) on a batch: the value :math:`(I - \gamma \hat P)^{-1} \hat r` of the empirical chain.

    :math:`\hat P(s' \mid s)` and :math:`\hat r(s)` are the frequencies and mean rewards of the batch's
    transitions out of ``s``; a state never left in the batch gets value 0.

    >>> import numpy as np, bnpg
    >>> game = bnpg.games.penalty_game(gamma=0.5)      # one state: V = r_hat / (1 - gamma)
    >>> batch = simulate(game, bnpg.BNPolicy(game, bnpg.DAG.full(2)), episodes=50, horizon=4,
    ...                  rng=np.random.default_rng(1))
    >>> bool(np.isclose(lstd_critic(batch, 1)[0], 2 * batch.rewards.mean()))
    True
    """
    if not isinstance(batch, Episodes):
        raise TypeError(f"batch must be Episodes, got {type(batch).__name__}")
    S = integer("n_states", n_states)
    if S < 1 or S <= int(batch.states.max()):
        raise ValueError(f"n_states must exceed every state of the batch (largest {int(batch.states.max())}), "
                         f"got {S}")
    alive = batch.alive
    s = batch.states[:, :-1][alive]
    nxt = batch.states[:, 1:][alive]
    counts = np.bincount(s * S + nxt, minlength=S * S).reshape(S, S).astype(float)
    visits = counts.sum(axis=1)
    reward_sum = np.bincount(s, weights=batch.rewards[alive], minlength=S)
    seen = visits > 0
    P_hat = np.zeros((S, S))
    P_hat[seen] = counts[seen] / visits[seen, None]
    r_hat = np.zeros(S)
    r_hat[seen] = reward_sum[seen] / visits[seen]
    return np.linalg.solve(np.eye(S) - batch.gamma * P_hat, r_hat)


def _local_rows(policy: BNPolicy, i: int, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """Row of agent ``i``'s local table, ``(s, a^{P^i})`` flattened, selected at every step."""
    lay = policy.structure.layouts[i]
    sizes = policy.game.action_sizes
    row = states
    for j in lay.parents:
        row = row * sizes[j] + actions[..., j]
    return row


def _leave_one_out_baseline(batch: Episodes, returns: np.ndarray, n_states: int) -> np.ndarray:
    """``b[e, t]``: the mean return-to-go at ``s_t`` over the steps of the *other* episodes (0 if none)."""
    B = returns.shape[0]
    ep, t = np.nonzero(batch.alive)
    cell = ep * n_states + batch.states[ep, t]
    own_sum = np.bincount(cell, weights=returns[ep, t], minlength=B * n_states).reshape(B, n_states)
    own_cnt = np.bincount(cell, minlength=B * n_states).reshape(B, n_states).astype(float)
    other_sum = own_sum.sum(axis=0) - own_sum
    other_cnt = own_cnt.sum(axis=0) - own_cnt
    mean = np.divide(other_sum, other_cnt, out=np.zeros_like(other_sum), where=other_cnt > 0)
    out = np.zeros(returns.shape)
    out[ep, t] = mean[ep, batch.states[ep, t]]
    return out


def _signal(game: MarkovGame, policy: BNPolicy, batch: Episodes, method: str, critic) -> tuple[np.ndarray, str | None]:
    r""":math:`w_t \Psi_t` of every step (0 where not alive), and the critic's label."""
    w = batch.weights()
    if method == "reinforce":
        G = batch.returns()
        psi = G - _leave_one_out_baseline(batch, G, game.n_states)
        label = None
    else:
        label, V = _critic_values(game, policy, critic, batch)
        psi = batch.rewards + game.gamma * V[batch.states[:, 1:]] - V[batch.states[:, :-1]]
    return np.where(batch.alive, w * psi, 0.0), label


def per_episode_terms(game: MarkovGame, policy: BNPolicy, batch: Episodes, signal: np.ndarray) -> list[np.ndarray]:
    r"""Each episode's term :math:`\sum_t w_t \Psi_t \nabla_{\theta^i} \log \pi^i(a^i_t \mid s_t, a^{\mathcal P^i}_t)`.

    Returns, for every agent, an array of shape ``(B, *policy.theta[i].shape)``. With
    :math:`X_e(s, b, c) = \sum_{t:\,(s_t, a^{\mathcal P^i}_t, a^i_t) = (s, b, c)} w_t \Psi_t` the term is
    :math:`X_e - \pi^i \sum_{c'} X_e(\cdot, \cdot, c')`, the score of the softmax summed by rows.
    """
    B = batch.n_episodes
    ep, t = np.nonzero(batch.alive)
    s = batch.states[ep, t]
    actions = batch.actions[ep, t]
    weights = signal[ep, t]
    out = []
    for i, lay in enumerate(policy.structure.layouts):
        k = policy.game.action_sizes[i]
        rows = policy.game.n_states * lay.n_parent_actions
        cell = (ep * rows + _local_rows(policy, i, s, actions)) * k + actions[:, i]
        X = np.bincount(cell, weights=weights, minlength=B * rows * k).reshape(B, rows, k)
        pi = policy.local(i).reshape(rows, k)
        out.append((X - X.sum(axis=2, keepdims=True) * pi).reshape((B, *lay.theta_shape)))
    return out


def gradient_estimate(
    game: MarkovGame,
    policy: BNPolicy,
    lam: float,
    *,
    episodes: int,
    horizon,
    rng: np.random.Generator,
    method: str = "reinforce",
    critic="batch",
) -> Estimate:
    r"""A sampled estimate of :math:`\nabla_\theta L_\lambda(\theta)` and its standard errors.

    Parameters
    ----------
    game : MarkovGame
    policy : BNPolicy
        A policy built for ``game``.
    lam : float
        :math:`\lambda \ge 0`; the regulariser's part of the gradient is exact.
    episodes : int
        Episodes in the batch, at least 1 (at least 2 for finite standard errors).
    horizon : int or "geometric"
        A fixed number of steps (biased by truncation) or a geometric length (unbiased); see
        :mod:`bnpg.sampling.episodes`.
    rng : numpy.random.Generator
        The source of every draw.
    method : {"reinforce", "actor-critic"}
    critic : {"batch", "exact"} or array_like of shape (S,), default "batch"
        The state critic of ``"actor-critic"`` (ignored by ``"reinforce"``).

    Returns
    -------
    Estimate

    Raises
    ------
    ValueError
        If ``episodes`` or ``horizon`` is not positive, ``lam`` is negative, ``method`` or ``critic`` is
        unknown, or ``policy`` belongs to another game.

    Examples
    --------
    >>> import numpy as np, bnpg
    >>> from bnpg.sampling.estimators import gradient_estimate
    >>> game = bnpg.games.penalty_game(gamma=0.5)
    >>> policy = bnpg.BNPolicy.random(game, bnpg.DAG.full(2), seed=0)
    >>> est = gradient_estimate(game, policy, 0.1, episodes=20_000, horizon="geometric",
    ...                         rng=np.random.default_rng(0))
    >>> exact = bnpg.gradient(game, policy, 0.1)
    >>> bool(np.all(np.abs(est.flat() - np.concatenate([g.ravel() for g in exact]))
    ...             <= 5 * est.flat_stderr() + 1e-12))
    True
    """
    check_policy(game, policy)
    lam = non_negative("lam", lam)
    method, critic = check_estimator(method, critic, game.n_states)
    episodes = check_episodes(episodes)
    horizon = check_horizon(horizon)
    fits_in_memory(f"the per-episode terms of {episodes} episodes", 16 * episodes * policy.n_params)
    batch = simulate(game, policy, episodes=episodes, horizon=horizon, rng=rng)
    signal, label = _signal(game, policy, batch, method, critic)
    terms = per_episode_terms(game, policy, batch, signal)
    B = batch.n_episodes
    grads, errs = [], []
    for i, term in enumerate(terms):
        grads.append(term.mean(axis=0) + (barrier_gradient(policy, i, lam) if lam else 0.0))
        errs.append(term.std(axis=0, ddof=1) / np.sqrt(B) if B > 1 else np.full(term.shape[1:], np.nan))
    return Estimate(gradient=[read_only(g) for g in grads], stderr=[read_only(e) for e in errs],
                    method=method, critic=label, horizon=batch.horizon, episodes=B,
                    agent_steps=batch.n_agent_steps)


def _scored(policy: BNPolicy, weight: np.ndarray, F: np.ndarray) -> list[np.ndarray]:
    r""":math:`\sum_s w(s) \sum_a \pi(a \mid s) \nabla \log \pi(a \mid s) F(s, a)` for every agent."""
    ev = Evaluation(V=np.zeros_like(weight), Q=F, d=weight, pi=policy.joint(), value=float("nan"))
    return value_gradient(policy, ev)


def expected_gradient(game: MarkovGame, policy: BNPolicy, lam: float, *, horizon, method: str = "reinforce",
                      critic="exact") -> list[np.ndarray]:
    r"""The exact mean of :func:`gradient_estimate`, where it has a closed form (module docstring).

    ``horizon="geometric"`` with ``"reinforce"`` or the exact critic gives :func:`bnpg.gradient`; a
    fixed horizon gives the truncated means, and a critic array its biased mean. ``critic="batch"``
    has no closed form and is refused.

    >>> import numpy as np, bnpg
    >>> game = bnpg.games.penalty_game(gamma=0.5)
    >>> policy = bnpg.BNPolicy.random(game, bnpg.DAG.full(2), seed=0)
    >>> full = np.concatenate([g.ravel() for g in bnpg.gradient(game, policy)])
    >>> cut = np.concatenate([g.ravel() for g in expected_gradient(game, policy, 0.0, horizon=10)])
    >>> bool(0 < np.abs(cut - full).max() < 0.5**10 * 20)   # a bias of order gamma^H
    True
    """
    check_policy(game, policy)
    lam = non_negative("lam", lam)
    horizon = check_horizon(horizon)
    method, critic = check_estimator(method, critic, game.n_states)
    if method == "actor-critic" and isinstance(critic, str) and critic == "batch":
        raise ValueError("critic='batch' has no closed-form mean; compare its estimates with the exact "
                         "gradient instead")
    S, gamma = game.n_states, game.gamma
    pi = policy.joint()
    P_pi, r_pi = kernel(game, pi)
    if method == "reinforce":
        if horizon == "geometric":
            grads = gradient(game, policy, 0.0, backend="numpy")
        else:
            grads = [np.zeros(lay.theta_shape) for lay in policy.structure.layouts]
            p, Q_rest = game.mu.copy(), []
            V_k = np.zeros(S)
            for _ in range(horizon):           # Q_k = r + gamma P V_{k-1}: k steps left
                Q_k = game.r + gamma * (game.P.reshape(-1, S) @ V_k).reshape(game.r.shape)
                Q_rest.append(Q_k)
                V_k = (pi * Q_k).reshape(S, -1).sum(axis=1)
            for t in range(horizon):
                part = _scored(policy, gamma**t * p, Q_rest[horizon - 1 - t])
                grads = [g + q for g, q in zip(grads, part, strict=True)]
                p = p @ P_pi
    else:
        _, V = _critic_values(game, policy, critic, None)
        F = game.r + gamma * (game.P.reshape(-1, S) @ V).reshape(game.r.shape)
        M = np.eye(S) - gamma * P_pi
        if horizon == "geometric":
            weight = np.linalg.solve(M.T, game.mu)
        else:                                  # sum_{t<H} gamma^t mu P^t = mu (I - (gamma P)^H) M^{-1}
            weight = np.linalg.solve(M.T, game.mu - game.mu @ np.linalg.matrix_power(gamma * P_pi, horizon))
        grads = _scored(policy, weight, F)
    if lam:
        grads = [g + barrier_gradient(policy, i, lam) for i, g in enumerate(grads)]
    return [np.asarray(g) for g in grads]


@dataclass(frozen=True)
class Agreement:
    """How an estimate compares with a reference gradient, entry by entry.

    Attributes
    ----------
    z : ndarray
        ``(estimate - reference) / stderr`` for every entry with a positive standard error.
    max_abs_z : float
    threshold : float
        The two-sided normal quantile at ``alpha`` over the number of entries (Bonferroni).
    exact_entries_ok : bool
        Whether every entry with zero standard error matches the reference to ``atol``.
    agrees : bool
        ``max_abs_z <= threshold`` and ``exact_entries_ok``.
    """

    z: np.ndarray
    max_abs_z: float
    threshold: float
    exact_entries_ok: bool
    agrees: bool


def agreement(estimate: Estimate, reference, *, alpha: float = 1e-4, atol: float = 1e-12) -> Agreement:
    r"""Whether ``estimate`` is consistent with the mean ``reference`` (a list of arrays like ``theta``).

    Under the hypothesis that the estimator's mean is ``reference`` and its entries are close to normal,
    the largest :math:`|z|` exceeds ``threshold`` with probability at most ``alpha``.

    >>> import numpy as np, bnpg
    >>> game = bnpg.games.penalty_game(gamma=0.5)
    >>> policy = bnpg.BNPolicy.random(game, bnpg.DAG.full(2), seed=0)
    >>> est = gradient_estimate(game, policy, 0.0, episodes=5_000, horizon="geometric",
    ...                         rng=np.random.default_rng(3))
    >>> agreement(est, bnpg.gradient(game, policy)).agrees
    True
    """
    if not isinstance(estimate, Estimate):
        raise TypeError(f"estimate must be an Estimate, got {type(estimate).__name__}")
    if isinstance(reference, np.ndarray) or len(reference) != len(estimate.gradient):
        raise ValueError(f"reference must be a list of {len(estimate.gradient)} arrays, one per agent like "
                         "the estimate's gradient")
    for i, (g, e) in enumerate(zip(reference, estimate.gradient, strict=True)):
        if np.shape(g) != e.shape:
            raise ValueError(f"reference[{i}] must have shape {e.shape}, got {np.shape(g)}")
    ref = np.concatenate([np.asarray(g, dtype=float).ravel() for g in reference])
    est, err = estimate.flat(), estimate.flat_stderr()
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if np.isnan(err).any():
        raise ValueError(f"estimate has no standard errors (it was made from {estimate.episodes} episode); "
                         "agreement needs at least 2")
    random = err > 0
    z = (est[random] - ref[random]) / err[random]
    threshold = NormalDist().inv_cdf(1 - alpha / (2 * max(int(random.sum()), 1)))
    exact_ok = bool(np.all(np.abs(est[~random] - ref[~random]) <= atol))
    max_z = float(np.abs(z).max()) if z.size else 0.0
    return Agreement(z=z, max_abs_z=max_z, threshold=threshold, exact_entries_ok=exact_ok,
                     agrees=bool(max_z <= threshold and exact_ok))
