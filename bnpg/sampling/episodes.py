r"""Episodes of a cooperative Markov game under a Bayesian-network policy (paper, Sections 2-3).

An episode starts from :math:`s_0 \sim \mu`. At each step every agent draws its action from its own
local conditional, in a topological order of the DAG so that its parents have already acted,

.. math::

    a^i_t \sim \pi^i_{\theta^i}(\cdot \mid s_t, a^{\mathcal P^i}_t) \qquad (1)

which draws the joint action from :math:`\pi_\theta(\cdot \mid s_t) = \prod_i \pi^i`; then the team
receives :math:`r_t = r(s_t, a_t)` and the state moves to :math:`s_{t+1} \sim P(\cdot \mid s_t, a_t)`.

The discounted objective :math:`V_\theta(\mu) = \mathbb E \sum_{t \ge 0} \gamma^t r_t` has no last
step, so an episode is cut in one of two ways (``horizon``):

* ``horizon=H`` (an integer): every episode takes exactly ``H`` steps; the discount is applied as the
  weight :math:`\gamma^t`. What lies beyond ``H`` is lost, a bias of order :math:`\gamma^H` that
  :func:`bnpg.sampling.estimators.expected_gradient` computes exactly.
* ``horizon="geometric"``: after each step the episode goes on with probability :math:`\gamma` and ends
  otherwise, so step ``t`` is reached with probability :math:`\gamma^t`. The undiscounted sum of the
  rewards of such an episode has expectation :math:`V_\theta(\mu)` exactly: the discount is turned into
  a random length, and nothing is cut.

Many episodes are drawn at once, one vectorised numpy step for all live episodes; the draws come from
the caller's :class:`numpy.random.Generator` in a fixed order (initial states; then, at each step, the
agents in topological order, the next states and, for ``"geometric"``, the continuations), so a seed
fixes the episodes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bnpg._validation import fits_in_memory, integer, read_only
from bnpg.model.game import MarkovGame
from bnpg.model.policy import BNPolicy, check_policy

__all__ = ["Episodes", "check_episodes", "check_horizon", "simulate"]


def check_episodes(episodes) -> int:
    """``episodes`` as a positive int; anything else is a clear error.

    >>> try:
    ...     check_episodes(0)
    ... except ValueError as exc:
    ...     print(exc)
    episodes must be at least 1, got 0
    """
    value = integer("episodes", episodes)
    if value <= 0:
        raise ValueError(f"episodes must be at least 1, got {value}")
    return value


def check_horizon(horizon) -> int | str:
    """``horizon`` as a positive int or the string ``"geometric"``; anything else is a clear error.

    >>> check_horizon(20), check_horizon("geometric")
    (20, 'geometric')
    >>> try:
    ...     check_horizon(0)
    ... except ValueError as exc:
    ...     print(exc)
    horizon must be a positive number of steps or 'geometric', got 0
    """
    if isinstance(horizon, str):
        if horizon != "geometric":
            raise ValueError(f"horizon must be a positive number of steps or 'geometric', got {horizon!r}")
        return horizon
    value = integer("horizon", horizon)
    if value <= 0:
        raise ValueError(f"horizon must be a positive number of steps or 'geometric', got {value}")
    return value


@dataclass(frozen=True)
class Episodes:
    r"""A batch of simulated episodes, padded to the longest one.

    Attributes
    ----------
    states : ndarray of int, shape (B, L + 1)
        ``states[e, t]`` is :math:`s_t` of episode ``e``; ``states[e, t + 1]`` is drawn after every step
        taken, the last one included (a critic may bootstrap from it).
    actions : ndarray of int, shape (B, L, N)
        ``actions[e, t, i]`` is :math:`a^i_t`.
    rewards : ndarray of float, shape (B, L)
        :math:`r(s_t, a_t)`.
    alive : ndarray of bool, shape (B, L)
        Whether episode ``e`` took step ``t`` (always true for a fixed horizon); entries of steps not
        taken are 0 and must be ignored.
    horizon : int or "geometric"
    gamma : float
        The game's discount factor.
    """

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    alive: np.ndarray
    horizon: int | str
    gamma: float

    @property
    def n_episodes(self) -> int:
        return int(self.states.shape[0])

    @property
    def n_steps(self) -> int:
        """Steps taken over all episodes."""
        return int(self.alive.sum())

    @property
    def n_agent_steps(self) -> int:
        """Actions drawn over all episodes: :attr:`n_steps` times the number of agents."""
        return self.n_steps * int(self.actions.shape[2])

    def weights(self) -> np.ndarray:
        r"""The weight of step ``t`` in the discounted sum: :math:`\gamma^t` for a fixed horizon, 1 for
        ``"geometric"`` (the random length already discounts), 0 for steps not taken."""
        if self.horizon == "geometric":
            return self.alive.astype(float)
        return np.broadcast_to(self.gamma ** np.arange(self.alive.shape[1], dtype=float), self.alive.shape).copy()

    def returns(self) -> np.ndarray:
        r"""The return-to-go :math:`G_t = \sum_{k \ge t} c^{k-t} r_k` of every step, shape (B, L), with
        :math:`c = \gamma` for a fixed horizon and :math:`c = 1` for ``"geometric"``; 0 where not alive."""
        c = 1.0 if self.horizon == "geometric" else self.gamma
        rewards = np.ascontiguousarray(np.where(self.alive, self.rewards, 0.0).T)
        out = np.empty_like(rewards)
        running = np.zeros(rewards.shape[1])
        for t in range(rewards.shape[0] - 1, -1, -1):
            running = rewards[t] + c * running
            out[t] = running
        return np.where(self.alive, out.T, 0.0)

    def discounted_returns(self) -> np.ndarray:
        r"""Each episode's estimate of :math:`V_\theta(\mu)`: :math:`\sum_t \gamma^t r_t` (fixed horizon) or
        :math:`\sum_t r_t` (``"geometric"``), shape (B,)."""
        return (self.weights() * np.where(self.alive, self.rewards, 0.0)).sum(axis=1)


def _cumulative(probs: np.ndarray) -> np.ndarray:
    """Rows of cumulative probabilities without their last column (a draw ``u`` picks the number of
    entries ``<= u``, which is at most the row length minus one)."""
    flat = probs.reshape(-1, probs.shape[-1])
    return np.cumsum(flat, axis=1)[:, :-1]


def _draw(cum_rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draws: for row ``k`` and uniform ``u[k]``, the index of the chosen entry."""
    return (u[:, None] >= cum_rows).sum(axis=1)


def simulate(game: MarkovGame, policy: BNPolicy, *, episodes: int, horizon, rng: np.random.Generator) -> Episodes:
    r"""Draw ``episodes`` independent episodes of ``game`` under ``policy``.

    Parameters
    ----------
    game : MarkovGame
    policy : BNPolicy
        A policy built for ``game``.
    episodes : int
        How many episodes, at least 1.
    horizon : int or "geometric"
        Steps per episode, or ``"geometric"`` for a random length that removes truncation (see the
        module docstring).
    rng : numpy.random.Generator
        The source of every draw; it is advanced, nothing else is.

    Returns
    -------
    Episodes

    Raises
    ------
    ValueError
        If ``episodes`` or ``horizon`` is not positive, or ``policy`` belongs to another game.
    TypeError
        If ``rng`` is not a numpy Generator.

    Examples
    --------
    >>> import numpy as np, bnpg
    >>> from bnpg.sampling.episodes import simulate
    >>> game = bnpg.games.penalty_game(gamma=0.5)
    >>> batch = simulate(game, bnpg.BNPolicy(game, bnpg.DAG.full(2)), episodes=4, horizon=3,
    ...                  rng=np.random.default_rng(0))
    >>> batch.actions.shape, batch.n_agent_steps
    ((4, 3, 2), 24)
    """
    check_policy(game, policy)
    episodes = check_episodes(episodes)
    horizon = check_horizon(horizon)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    n = game.n_agents
    # the batch is padded to its longest episode; a geometric one is about log(B) / log(1/gamma) long
    longest = horizon if horizon != "geometric" else (
        1 if game.gamma == 0 else int(np.ceil((np.log(episodes) + 5) / -np.log(game.gamma))) + 1)
    fits_in_memory(f"{episodes} episodes of up to {longest} steps", episodes * longest * (8 * n + 25))

    sizes = game.action_sizes
    S = game.n_states
    dag = policy.dag
    order = dag.topological_order
    layouts = policy.structure.layouts
    cum_local = [_cumulative(policy.local(i)) for i in range(n)]
    parent_sizes = [tuple(sizes[j] for j in layouts[i].parents) for i in range(n)]
    cum_next = _cumulative(game.P.reshape(-1, S))
    rewards_flat = game.r.reshape(-1)
    cum_mu = np.cumsum(game.mu)[:-1]

    state = np.minimum(_draw(np.broadcast_to(cum_mu, (episodes, cum_mu.size)), rng.random(episodes)), S - 1)
    first = state.copy()
    live = np.arange(episodes)
    steps = []                                 # (live episodes, their actions, rewards, next states)
    while live.size and (horizon == "geometric" or len(steps) < horizon):
        s = state if live.size == episodes else state[live]
        act = np.zeros((live.size, n), dtype=np.int64)
        for i in order:
            row = s
            for j, size in zip(layouts[i].parents, parent_sizes[i], strict=True):
                row = row * size + act[:, j]
            act[:, i] = _draw(cum_local[i][row], rng.random(live.size))
        joint = s
        for i in range(n):
            joint = joint * sizes[i] + act[:, i]
        nxt = _draw(cum_next[joint], rng.random(live.size))
        steps.append((live, act, rewards_flat[joint], nxt))
        state = np.zeros(episodes, dtype=np.int64)
        state[live] = nxt
        if horizon == "geometric":
            live = live[rng.random(live.size) < game.gamma]
    L = len(steps)
    states = np.zeros((episodes, L + 1), dtype=np.int64)
    actions = np.zeros((episodes, L, n), dtype=np.int64)
    rewards = np.zeros((episodes, L))
    alive = np.zeros((episodes, L), dtype=bool)
    states[:, 0] = first
    for t, (idx, act, rew, nxt) in enumerate(steps):
        actions[idx, t] = act
        rewards[idx, t] = rew
        alive[idx, t] = True
        states[idx, t + 1] = nxt
    return Episodes(
        states=read_only(states),
        actions=read_only(actions),
        rewards=read_only(rewards),
        alive=read_only(alive),
        horizon=horizon,
        gamma=game.gamma,
    )
