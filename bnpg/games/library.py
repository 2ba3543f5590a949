r"""A library of cooperative Markov games (paper, Section 1 and Section 2).

Every function returns a :class:`bnpg.MarkovGame` :math:`(\mathcal N, \mathcal S, \mathcal A, P, r,
\mu, \gamma)` with arrays ``P[s, a_0, ..., a_{N-1}, s']`` and ``r[s, a_0, ..., a_{N-1}]``. The games
are chosen to put the paper's statements under load:

**Random games** (:func:`random_game`). Each row :math:`P(\cdot \mid s, a)` is drawn uniformly from the
probability simplex on a random support of :math:`|\mathcal S| - k` states, where
:math:`k = \min(\lfloor \text{sparsity} \cdot |\mathcal S| \rfloor, |\mathcal S| - 1)`; rewards are
i.i.d. uniform on ``reward_range``. Because :math:`d_\mu^\pi(s) \ge \mu(s)` (the :math:`t = 0` term
of the visitation measure), a full-support :math:`\mu` guarantees Assumption 1 whatever ``P`` is, and
then

.. math::

    M = \max_{\pi, \pi'} \Big\| \frac{d_\mu^\pi}{d_\mu^{\pi'}} \Big\|_\infty
      \le \frac{1}{(1-\gamma) \min_s \mu(s)},

since :math:`d_\mu^\pi(s) \le \sum_t \gamma^t = 1/(1-\gamma)`. With a :math:`\mu` that vanishes on
some states and a sparse ``P``, a policy may avoid a state altogether: Assumption 1 can fail and
``M`` is infinite (:func:`bnpg.mismatch_coefficient` reports ``inf``).

**Single-state coordination games** (:func:`climbing_game`, :func:`penalty_game`,
:func:`matching_game`). One state, :math:`P = 1`, so every policy earns
:math:`V_\pi = \sum_a \pi(a) r(a) / (1 - \gamma)` and the optimal value is
:math:`V^* = \max_a r(a) / (1-\gamma)`. The climbing and penalty games are the two-agent,
three-action matrix games of Claus and Boutilier (1998) (bibliography key ``claus1998dynamics``),
built so that an agent who averages over an uncoordinated partner prefers a safe action to the one
that belongs to the optimum.

**A multi-state search game** (:func:`search_game`), in the spirit of the paper's drones that should
not search the same cells: the state is the set of cells that need a visit, each agent searches one
cell, and a cell searched by two agents pays once.

**The predecessor's coordination game** (:func:`coordination_game`, defined in
:mod:`bnpg.games.coordination`): the tabular experiment of Chen and Zhang (ICML 2023), with the DAGs their
code builds (:func:`predecessor_dag`).

**Witnesses** (:func:`witness`, defined in :mod:`bnpg.theory.witnesses`): the one-state games, with their
points, on which the sharpened Lemmas 2 and 3 of :mod:`bnpg.theory.sharpened` are tight.

**Jackpot games** (:func:`jackpot_game`): random games with one hidden joint action per state that
pays far more than any other, surrounded by penalties, so that gradient methods are drawn to a
suboptimal equilibrium; built to make the optimality gap of Lemma 3 large.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

import numpy as np

from bnpg._validation import as_generator, discount_factor, integer, real_array, real_scalar
from bnpg.games.coordination import coordination_game, predecessor_dag
from bnpg.model.game import MarkovGame
from bnpg.theory.witnesses import witness

__all__ = [
    "CLIMBING_PAYOFF",
    "climbing_game",
    "coordination_game",
    "jackpot_game",
    "matching_game",
    "penalty_game",
    "penalty_payoff",
    "predecessor_dag",
    "random_game",
    "search_game",
    "witness",
]

#: The climbing game's payoff, rows agent 0's action, columns agent 1's (Claus and Boutilier, 1998).
CLIMBING_PAYOFF = ((11.0, -30.0, 0.0), (-30.0, 7.0, 6.0), (0.0, 0.0, 5.0))


def _action_sizes(action_sizes) -> tuple[int, ...]:
    if isinstance(action_sizes, (str, bytes)) or not isinstance(action_sizes, Sequence):
        raise TypeError(
            "action_sizes must be a sequence with one action count per agent, "
            f"got {type(action_sizes).__name__}"
        )
    if len(action_sizes) < 1:
        raise ValueError("action_sizes must list at least one agent, got an empty sequence")
    return tuple(integer(f"action_sizes[{i}]", k, minimum=1) for i, k in enumerate(action_sizes))


def _single_state(payoff: np.ndarray, gamma: float) -> MarkovGame:
    """A one-state game whose every joint action pays ``payoff[a]`` and stays in the state."""
    shape = payoff.shape
    return MarkovGame(np.ones((1, *shape, 1)), payoff[None], mu=[1.0], gamma=gamma)


# -- random games ----------------------------------------------------------------------------------
def random_game(
    n_states: int,
    action_sizes: Sequence[int],
    *,
    seed,
    gamma: float = 0.9,
    sparsity: float = 0.0,
    reward_range: tuple[float, float] = (0.0, 1.0),
    mu=None,
) -> MarkovGame:
    r"""A seeded random cooperative Markov game.

    What it tests: the lemmas and theorems on games with no structure to exploit; the sweeps of
    :mod:`bnpg.experiments.instances` draw their instances here.

    Parameters
    ----------
    n_states : int
        :math:`|\mathcal S| \ge 1`.
    action_sizes : sequence of int
        :math:`(|\mathcal A^0|, \dots, |\mathcal A^{N-1}|)`, each ``>= 1``.
    seed : int or numpy.random.Generator
        The only source of randomness; the same integer gives the same game. A Generator is
        advanced (drawn from), not copied.
    gamma : float, default 0.9
        Discount factor in ``[0, 1)``.
    sparsity : float in [0, 1], default 0
        Fraction of next states given probability zero in each row :math:`P(\cdot \mid s, a)`:
        :math:`k = \min(\lfloor \text{sparsity} \cdot |\mathcal S| \rfloor, |\mathcal S| - 1)` states,
        chosen uniformly at random per row, so at least one next state keeps positive probability.
        The remaining entries are uniform on the simplex (normalised exponentials).
    reward_range : (float, float), default (0, 1)
        ``(low, high)`` with ``low <= high``; rewards are i.i.d. uniform on it.
    mu : array_like, optional
        Initial distribution; uniform by default. With the uniform default Assumption 1 holds and
        :math:`M \le |\mathcal S| / (1-\gamma)`; with a ``mu`` that vanishes somewhere and
        ``sparsity > 0`` it may fail (see the module docstring).

    Returns
    -------
    MarkovGame

    Raises
    ------
    TypeError, ValueError
        Naming the offending argument.

    Examples
    --------
    >>> import bnpg
    >>> from bnpg.games import random_game
    >>> game = random_game(3, (2, 2), seed=0, sparsity=0.5)
    >>> game.n_states, game.action_sizes
    (3, (2, 2))
    >>> int((game.P == 0).sum(axis=-1).max())   # floor(0.5 * 3) = 1 zero per row
    1
    >>> game == random_game(3, (2, 2), seed=0, sparsity=0.5)
    True
    """
    n_states = integer("n_states", n_states, minimum=1)
    sizes = _action_sizes(action_sizes)
    rng = as_generator(seed)
    gamma = discount_factor("gamma", gamma)
    sparsity = real_scalar("sparsity", sparsity)
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError(f"sparsity must lie in [0, 1], got {sparsity!r}")
    if isinstance(reward_range, (str, bytes)) or not isinstance(reward_range, Sequence):
        raise TypeError(
            f"reward_range must be a pair (low, high), got {type(reward_range).__name__}"
        )
    if len(reward_range) != 2:
        raise ValueError(f"reward_range must be a pair (low, high), got {len(reward_range)} values")
    low = real_scalar("reward_range[0]", reward_range[0])
    high = real_scalar("reward_range[1]", reward_range[1])
    if low > high:
        raise ValueError(f"reward_range must have low <= high, got ({low!r}, {high!r})")
    if mu is None:
        mu = np.full(n_states, 1.0 / n_states)
    else:
        mu = real_array("mu", mu)  # shape and sum are checked by MarkovGame

    rows = n_states * prod(sizes)
    n_zero = min(int(np.floor(sparsity * n_states + 1e-12)), n_states - 1)
    weights = rng.exponential(size=(rows, n_states))
    if n_zero:
        order = np.argsort(rng.random((rows, n_states)), axis=1)
        np.put_along_axis(weights, order[:, :n_zero], 0.0, axis=1)
    P = weights / weights.sum(axis=1, keepdims=True)
    r = rng.uniform(low, high, size=(n_states, *sizes))
    return MarkovGame(P.reshape(n_states, *sizes, n_states), r, mu=mu, gamma=gamma)


# -- single-state coordination games ---------------------------------------------------------------
def climbing_game(gamma: float = 0.9) -> MarkovGame:
    r"""The climbing game of Claus and Boutilier (1998): one state, two agents, three actions each.

    Payoff (rows: agent 0's action, columns: agent 1's)::

            11  -30    0
           -30    7    6
             0    0    5

    What it tests: whether a learner finds the optimum ``(0, 0)`` worth 11 when its neighbours in
    the payoff matrix are the worst outcomes. Against a partner playing uniformly, agent 0's actions
    are worth :math:`(11 - 30 + 0)/3 = -19/3`, :math:`(-30 + 7 + 6)/3 = -17/3` and :math:`5/3`: the
    optimal action looks worst. Independent learners therefore drift to action 2, after which the
    partner's best reply is action 1 (6 > 5) and the pair "climbs" to the equilibrium ``(1, 1)``
    worth 7, which no single agent can leave profitably. The pure equilibria are ``(0, 0)`` and
    ``(1, 1)``; only the first is optimal. A BN policy in which agent 1 observes agent 0 can
    condition its reply and does not suffer the same averaging.

    Parameters
    ----------
    gamma : float, default 0.9
        Discount factor in ``[0, 1)``; the game repeats forever in its single state, so
        :math:`V^* = 11/(1-\gamma)`.

    Returns
    -------
    MarkovGame

    Examples
    --------
    >>> import bnpg
    >>> from bnpg.games import climbing_game
    >>> game = climbing_game(gamma=0.5)
    >>> game.r[0].tolist()
    [[11.0, -30.0, 0.0], [-30.0, 7.0, 6.0], [0.0, 0.0, 5.0]]
    >>> bnpg.optimal_value(game)   # 11 / (1 - 0.5)
    22.0
    """
    return _single_state(np.array(CLIMBING_PAYOFF), discount_factor("gamma", gamma))


def penalty_payoff(k: float = -10.0) -> np.ndarray:
    """The penalty game's payoff matrix ``[[10, 0, k], [0, 2, 0], [k, 0, 10]]`` (a new array).

    >>> from bnpg.games import penalty_payoff
    >>> penalty_payoff(-5).tolist()
    [[10.0, 0.0, -5.0], [0.0, 2.0, 0.0], [-5.0, 0.0, 10.0]]
    """
    k = real_scalar("k", k)
    if k > 0:
        raise ValueError(f"k is the mis-coordination penalty and must be <= 0, got {k!r}")
    return np.array([[10.0, 0.0, k], [0.0, 2.0, 0.0], [k, 0.0, 10.0]])


def penalty_game(k: float = -10.0, gamma: float = 0.9) -> MarkovGame:
    r"""The penalty game of Claus and Boutilier (1998): one state, two agents, three actions each.

    Payoff (rows: agent 0's action, columns: agent 1's)::

            10    0    k
             0    2    0
             k    0   10

    with a mis-coordination penalty :math:`k \le 0`.

    What it tests: equilibrium selection between two optima. ``(0, 0)`` and ``(2, 2)`` both pay 10,
    but an agent that picks one of them while its partner picks the other is fined ``k``. Against a
    uniform partner the outer actions are worth :math:`(10 + k)/3` and the middle one :math:`2/3`,
    so for :math:`k < -8` independent learners are pulled to the safe equilibrium ``(1, 1)``
    worth 2; for milder penalties they may still split between the two optima and pay ``k``. Only
    a policy that correlates the two choices can put all its mass on one optimum from a symmetric
    start.

    Parameters
    ----------
    k : float, default -10
        The penalty, ``<= 0``.
    gamma : float, default 0.9
        Discount factor in ``[0, 1)``; :math:`V^* = 10/(1-\gamma)`.

    Returns
    -------
    MarkovGame

    Examples
    --------
    >>> import bnpg
    >>> from bnpg.games import penalty_game
    >>> game = penalty_game(k=-20, gamma=0.0)
    >>> game.r[0, 0, 2], bnpg.optimal_value(game)
    (np.float64(-20.0), 10.0)
    """
    return _single_state(penalty_payoff(k), discount_factor("gamma", gamma))


def matching_game(n_agents: int = 2, n_actions: int = 2, gamma: float = 0.9) -> MarkovGame:
    r"""One state; the team earns 1 exactly when all agents pick the same action, else 0.

    What it tests: pure coordination with :math:`n` equally good optima. The uniform product policy
    is a Nash equilibrium (no agent gains by deviating alone: each action matches the others with the
    same probability) although it earns only :math:`n^{1-N}` of the optimum; a chain or full BN
    policy lets later agents copy earlier ones.

    Parameters
    ----------
    n_agents : int, default 2
        ``N >= 1``.
    n_actions : int, default 2
        Actions per agent, ``>= 1``.
    gamma : float, default 0.9
        Discount factor in ``[0, 1)``; :math:`V^* = 1/(1-\gamma)`.

    Returns
    -------
    MarkovGame

    Examples
    --------
    >>> import bnpg
    >>> from bnpg.games import matching_game
    >>> game = matching_game(3, 2, gamma=0.0)
    >>> float(game.r[0, 1, 1, 1]), float(game.r[0, 1, 0, 1])
    (1.0, 0.0)
    >>> bnpg.value(game, bnpg.BNPolicy(game, bnpg.DAG.empty(3)))   # 2 of 8 joint actions match
    0.25
    """
    n = integer("n_agents", n_agents, minimum=1)
    m = integer("n_actions", n_actions, minimum=1)
    gamma = discount_factor("gamma", gamma)
    grids = np.indices((m,) * n)
    payoff = np.all(grids == grids[0], axis=0).astype(float)
    return _single_state(payoff, gamma)


# -- a multi-state search game ---------------------------------------------------------------------
def search_game(
    n_agents: int = 2,
    n_cells: int = 3,
    *,
    p_new: float = 0.5,
    gamma: float = 0.9,
    mu=None,
) -> MarkovGame:
    r"""Drones searching cells: covering distinct cells pays, searching the same cell twice is waste.

    **Design.** There are ``n_cells`` cells. The state is the set :math:`U` of cells that need a
    visit, encoded as the bitmask :math:`s = \sum_{c \in U} 2^c` (so there are
    :math:`2^{\text{n\_cells}}` states; state 0 means every cell is clear). Each agent picks a cell,
    :math:`a^i \in \{0, \dots, \text{n\_cells} - 1\}`; write :math:`C(a) = \{a^0, \dots, a^{N-1}\}`.

    * Reward: the number of cells newly covered, :math:`r(s, a) = |U \cap C(a)|`. Two agents on the
      same cell are paid once, and searching a clear cell pays nothing.
    * Transition: the covered cells become clear; the cells still needing a visit,
      :math:`R = U \setminus C(a)`, keep needing it; every other cell independently needs a visit at
      the next step with probability ``p_new`` (new information arrives). So :math:`P(s' \mid s, a)
      = p^{|U'| - |R|} (1-p)^{\text{n\_cells} - |U'|}` if :math:`U' \supseteq R` and 0 otherwise.
    * Start: all cells clear (:math:`\mu = \delta_0`) unless ``mu`` is given.

    **Why Assumption 1 holds.** From state 0 the agents' choices change nothing, and the next state
    is :math:`U'` with probability :math:`p^{|U'|}(1-p)^{\text{n\_cells} - |U'|} > 0` for every
    :math:`U'`. Hence, for every policy, :math:`d_\mu^\pi(0) \ge 1` and
    :math:`d_\mu^\pi(s') \ge \gamma\, p^{|U'|} (1-p)^{\text{n\_cells} - |U'|}` for :math:`s' \ne 0`,
    so ``M`` is finite whenever :math:`0 < p < 1`, which is why ``p_new`` must lie strictly between 0
    and 1.

    **What it tests.** Coordination that depends on the state. An optimal policy covers
    :math:`\min(|U|, N)` distinct cells of :math:`U` in every state (covering a cell now can only
    help: it pays at once and frees the cell to need a visit again). Every deterministic joint
    policy is a product policy, so the optimum is representable without correlation, but it
    requires the agents to break their symmetry. With identical initial parameters, the exact
    policy gradient treats the agents of a product policy identically forever, so they can never
    split deterministically; a chain DAG lets agent 1 choose a cell other than agent 0's.

    Parameters
    ----------
    n_agents : int, default 2
        ``N >= 1``; there are ``n_cells ** N`` joint actions.
    n_cells : int, default 3
        ``>= 1``; there are ``2 ** n_cells`` states (16 for four cells).
    p_new : float, default 0.5
        Probability, in ``(0, 1)``, that a clear cell needs a visit at the next step.
    gamma : float, default 0.9
        Discount factor in ``[0, 1)``.
    mu : array_like, optional
        Initial distribution over the ``2 ** n_cells`` states; default all mass on state 0.

    Returns
    -------
    MarkovGame

    Examples
    --------
    >>> import bnpg
    >>> from bnpg.games import search_game
    >>> game = search_game(2, 3, p_new=0.5, gamma=0.9)
    >>> game.n_states, game.action_sizes
    (8, (3, 3))
    >>> s = 0b011                                      # cells 0 and 1 need a visit
    >>> float(game.r[s, 0, 1]), float(game.r[s, 0, 0]), float(game.r[s, 2, 2])
    (2.0, 1.0, 0.0)
    >>> float(game.P[s, 0, 1, 0b000])                  # both covered, cell 2 stays clear, ...
    0.125
    >>> bool(bnpg.min_visitation(game).min() > 0)      # Assumption 1
    True
    """
    n = integer("n_agents", n_agents, minimum=1)
    cells = integer("n_cells", n_cells, minimum=1)
    p = real_scalar("p_new", p_new)
    if not 0.0 < p < 1.0:
        raise ValueError(f"p_new must satisfy 0 < p_new < 1 (else Assumption 1 fails), got {p!r}")
    gamma = discount_factor("gamma", gamma)
    n_states = 2**cells
    if mu is None:
        mu = np.zeros(n_states)
        mu[0] = 1.0
    else:
        mu = real_array("mu", mu)

    states = np.arange(n_states)
    popcount = np.array([bin(k).count("1") for k in range(n_states)])
    # covered[a_0, ..., a_{N-1}]: bitmask of the cells chosen by the joint action
    grids = np.indices((cells,) * n)
    covered = np.bitwise_or.reduce(np.left_shift(1, grids), axis=0)
    U = states.reshape((n_states,) + (1,) * n)
    reward = popcount[U & covered]  # shape (S, cells, ..., cells)
    remaining = U & ~covered  # R = U \ C(a)
    nxt = states.reshape((1,) * (n + 1) + (n_states,))
    rem = remaining[..., None]
    superset = (nxt & rem) == rem
    extra = popcount[nxt] - popcount[rem]  # |U'| - |R|
    P = np.where(superset, p**extra * (1.0 - p) ** (cells - popcount[nxt]), 0.0)
    return MarkovGame(P, reward.astype(float), mu=mu, gamma=gamma)


def jackpot_game(
    action_sizes: Sequence[int],
    *,
    seed,
    jackpot: float = 2.0,
    penalty: float = -10.0,
    gamma: float = 0.9,
    n_states: int = 1,
) -> MarkovGame:
    r"""A random game with a hidden jackpot joint action surrounded by penalties.

    Built on :func:`bnpg.games.random_game` (rewards uniform on [0, 1], random transitions, uniform
    :math:`\mu`); then in every state one joint action :math:`a^\dagger(s)`, drawn uniformly, pays
    ``jackpot``, and every joint action that differs from it in exactly one agent's action pays
    ``penalty``. Against partners that play uniformly, an agent's jackpot action is then worth
    about :math:`(\text{jackpot} + (|\mathcal A^{-i}| - 1)\,\text{penalty})/|\mathcal A^{-i}|` for
    two agents: the optimal joint action starts with locally unattractive actions, the situation in
    which gradient methods are pulled to a suboptimal equilibrium.

    Parameters
    ----------
    action_sizes : sequence of int
        At least one agent, each with at least 2 actions.
    seed : int or numpy.random.Generator
    jackpot : float, default 2
        Must exceed 1, the largest ordinary reward.
    penalty : float, default -10
        Must be below 0, the smallest ordinary reward.
    gamma : float, default 0.9
    n_states : int, default 1

    Returns
    -------
    MarkovGame

    Examples
    --------
    >>> import numpy as np, bnpg
    >>> game = jackpot_game((3, 3), seed=0, jackpot=5.0, penalty=-20.0, gamma=0.0)
    >>> a = np.unravel_index(int(np.argmax(game.r[0])), (3, 3))
    >>> float(game.r[0][a]), int((game.r[0] == -20.0).sum())   # 2 agents x 2 other actions
    (5.0, 4)
    >>> bnpg.optimal_value(game)
    5.0
    """
    if isinstance(action_sizes, (str, bytes)) or not isinstance(action_sizes, Sequence):
        raise TypeError(f"action_sizes must be a sequence of integers, got {action_sizes!r}")
    sizes = tuple(integer(f"action_sizes[{i}]", k, minimum=2) for i, k in enumerate(action_sizes))
    if not sizes:
        raise ValueError("action_sizes must list at least one agent")
    jackpot = real_scalar("jackpot", jackpot)
    penalty = real_scalar("penalty", penalty)
    if jackpot <= 1.0:
        raise ValueError(f"jackpot must exceed the largest ordinary reward 1, got {jackpot!r}")
    if penalty >= 0.0:
        raise ValueError(f"penalty must be below the smallest ordinary reward 0, got {penalty!r}")
    n_states = integer("n_states", n_states, minimum=1)
    rng = as_generator(seed)
    base = random_game(n_states, sizes, seed=rng, gamma=gamma)
    r = np.array(base.r)
    grids = np.indices(sizes)
    for s in range(n_states):
        target = tuple(int(rng.integers(k)) for k in sizes)
        differ = sum((grids[i] != target[i]).astype(int) for i in range(len(sizes)))
        r[s][differ == 1] = penalty
        r[s][target] = jackpot
    return MarkovGame(base.P, r, base.mu, base.gamma)
