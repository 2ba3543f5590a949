r"""The tabular coordination game of Chen and Zhang (ICML 2023), the paper's reference [7].

Each of the :math:`n` agents has a binary state bit :math:`s^i` and a binary action :math:`a^i`; the
joint state and the joint action are the :math:`2^n` bit strings, agent 0 the most significant bit
(``s = sum_i s^i 2^(n-1-i)``). Every agent's next bit copies its own action with probability
:math:`1 - \varepsilon` and flips it otherwise, independently of the current state and of the
other agents:

.. math::

    P(s' \mid s, a) = \prod_{i} \big((1-\varepsilon)\,\mathbb 1[s'^i = a^i]
                      + \varepsilon\,\mathbb 1[s'^i \ne a^i]\big).

The reward depends on the current state only. With :math:`z(s)` zeros and :math:`o(s) = n - z(s)`
ones, and the margin :math:`\ell_n` (1, 1, 2, 3 for :math:`n` = 2, 3, 5, 10),

.. math::

    r(s) = \begin{cases}
        1 & |z - o| \le \ell_n,\ z < o,\\
        0 & |z - o| \le \ell_n,\ z \ge o,\\
        3 & |z - o| > \ell_n,\ z > o,\\
        2 & |z - o| > \ell_n,\ z < o,
    \end{cases}

so the team is paid most for near-unanimity on 0, a little less for near-unanimity on 1, and little
for a split. Since :math:`P` does not depend on :math:`s`, the optimal joint policy plays all-zeros
everywhere and earns :math:`V^\star(s) = r(s) + \gamma\,\bar r / (1-\gamma)` with
:math:`\bar r = \sum_{s'} P(s' \mid 0 \dots 0)\, r(s')`.

**What differs from the authors' code.** Their initial distribution gives every one of the
:math:`2^n` states the weight :math:`1/n`, so it sums to :math:`2^n/n` (2, 8/3, 6.4 for n = 2, 3, 5)
and is not a distribution. :func:`coordination_game` keeps their dynamics and rewards and uses the
uniform distribution :math:`\mu = 2^{-n}`. Every value :math:`V_\pi(\mu)` and every gap is therefore
:math:`n/2^n` times theirs, the ratio :math:`J/J^\star` is unchanged, and their gradient step of
size 0.01 on their objective is a step of size :math:`0.01 \cdot 2^n/n` on ours
(:func:`predecessor_scale`).

**Their three DAGs** (:func:`predecessor_dag`): ``"all_ones"`` is the fully-correlated DAG
(:meth:`bnpg.DAG.full`), ``"all_zeros"`` the empty one (independent agents), and ``"line"``,
although named a line, joins only agents :math:`0 \to 1 \to \dots \to n-2`: its constructor loops
over ``range(n - 2)``, so the last agent is isolated, and for :math:`n = 2` the "line" has no edge
at all and is the empty DAG. :func:`predecessor_dag` builds what their code builds;
``"chain"`` is the line the name promises (:meth:`bnpg.DAG.chain`).
"""

from __future__ import annotations

import numpy as np

from bnpg._validation import integer, probability
from bnpg.model.dag import DAG
from bnpg.model.game import MarkovGame

__all__ = [
    "COORDINATION_MARGINS",
    "PREDECESSOR_DAGS",
    "coordination_game",
    "coordination_reward",
    "predecessor_dag",
    "predecessor_scale",
    "state_bits",
]

#: The margin :math:`\ell_n` of the authors' reward table, for the agent counts their code defines.
COORDINATION_MARGINS = {2: 1, 3: 1, 5: 2, 10: 3}

#: The DAG names of the authors' code, in the order their run builds them for every seed.
PREDECESSOR_DAGS = ("all_ones", "all_zeros", "line")


def predecessor_scale(n: int) -> float:
    r"""The total weight :math:`2^n/n` of the authors' initial "distribution" (:math:`1/n` per state).

    Their values, gaps and gradients are this factor times those of :func:`coordination_game`.

    >>> predecessor_scale(5)
    6.4
    """
    n = integer("n", n, minimum=1)
    return 2.0**n / n


def _n_agents(n) -> int:
    return integer("n", n, minimum=1)


def state_bits(n: int) -> np.ndarray:
    """The bits of every joint state (or joint action): row ``s`` holds ``s^0, ..., s^(n-1)``, agent 0 first.

    >>> state_bits(2).tolist()
    [[0, 0], [0, 1], [1, 0], [1, 1]]
    """
    n = _n_agents(n)
    s = np.arange(2**n)
    return (s[:, None] >> np.arange(n - 1, -1, -1)[None, :]) & 1


def coordination_reward(n: int, margin: int | None = None) -> np.ndarray:
    r"""The authors' reward table :math:`r(s)`, one entry per joint state.

    Parameters
    ----------
    n : int
        Number of agents.
    margin : int, optional
        :math:`\ell_n`; by default the authors' value (:data:`COORDINATION_MARGINS`), which their
        code defines only for n = 2, 3, 5, 10.

    Returns
    -------
    ndarray, shape (2**n,)

    Examples
    --------
    >>> coordination_reward(2).tolist()    # 00, 01, 10, 11
    [3.0, 0.0, 0.0, 2.0]
    >>> coordination_reward(3).tolist()
    [3.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 2.0]
    """
    n = _n_agents(n)
    if margin is None:
        if n not in COORDINATION_MARGINS:
            raise ValueError(
                f"n={n} has no margin in the authors' table {COORDINATION_MARGINS}; pass margin="
            )
        margin = COORDINATION_MARGINS[n]
    margin = integer("margin", margin, minimum=0)
    ones = state_bits(n).sum(axis=1)
    zeros = n - ones
    close = np.abs(zeros - ones) <= margin
    return np.where(close, np.where(zeros < ones, 1.0, 0.0), np.where(zeros > ones, 3.0, 2.0))


def coordination_game(n: int, eps: float = 0.1, gamma: float = 0.95, *, margin: int | None = None) -> MarkovGame:
    r"""The authors' coordination game for ``n`` agents, with a uniform initial distribution.

    Parameters
    ----------
    n : int
        Number of agents; the game has :math:`2^n` states and :math:`2^n` joint actions.
    eps : float, default 0.1
        Probability that an agent's next state bit differs from its action.
    gamma : float, default 0.95
        Discount factor.
    margin : int, optional
        See :func:`bnpg.games.coordination.coordination_reward`.

    Returns
    -------
    MarkovGame
        ``P[s, a_0, ..., a_{n-1}, s']`` and ``r[s, a_0, ..., a_{n-1}] = r(s)``; ``mu`` uniform
        (the authors' weights divided by :func:`bnpg.games.coordination.predecessor_scale`).

    Examples
    --------
    >>> import bnpg
    >>> game = bnpg.games.coordination_game(2)
    >>> game.n_states, game.action_sizes, game.gamma
    (4, (2, 2), 0.95)
    >>> round(float(game.P[3, 0, 1, 1]), 12)    # action (0, 1) lands on state 01 w.p. 0.9 * 0.9
    0.81
    >>> round(bnpg.optimal_value(game), 10)
    47.8
    """
    n = _n_agents(n)
    eps = probability("eps", eps)
    r_state = coordination_reward(n, margin)
    bits = state_bits(n)
    agree = (bits[:, None, :] == bits[None, :, :]).sum(axis=2)  # [a, s'] matching bits
    kernel = (1.0 - eps) ** agree * eps ** (n - agree)
    S = 2**n
    joint = (2,) * n
    P = np.broadcast_to(kernel.reshape(joint + (S,)), (S,) + joint + (S,))
    r = np.broadcast_to(r_state.reshape((S,) + (1,) * n), (S,) + joint)
    return MarkovGame(P, r, np.full(S, 1.0 / S), gamma)


def predecessor_dag(name: str, n: int) -> DAG:
    """The DAG the authors' code builds for ``G_type=name`` (see the module docstring).

    Parameters
    ----------
    name : {"all_ones", "all_zeros", "line", "chain"}
        Their three names, and ``"chain"`` for the line their ``"line"`` was meant to be.
    n : int

    Examples
    --------
    >>> predecessor_dag("line", 3).edges, predecessor_dag("chain", 3).edges
    (((0, 1),), ((0, 1), (1, 2)))
    >>> predecessor_dag("line", 2) == predecessor_dag("all_zeros", 2)
    True
    """
    n = _n_agents(n)
    if name == "all_ones":
        return DAG.full(n)
    if name == "all_zeros":
        return DAG.empty(n)
    if name == "line":
        return DAG.from_edges(n, [(i, i + 1) for i in range(n - 2)])
    if name == "chain":
        return DAG.chain(n)
    raise ValueError(f"name must be one of {PREDECESSOR_DAGS + ('chain',)}, got {name!r}")
