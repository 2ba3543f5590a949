r"""Best responses, Nash gaps and the optimality gap (Definitions 1-2).

**Best response of agent i** (Definition 1). Agent ``i`` keeps observing the state and its parents'
actions; every other agent keeps its local conditional, so agent ``i``'s descendants still react to
its action. Write :math:`\rho_{-i}(a \mid s) = \prod_{j \ne i} \pi^j(a^j \mid s, a^{\mathcal P^j})`.
For a decision rule :math:`c(s, b)` (an action of agent ``i`` for each state and parents' action
``b``) the joint policy is :math:`\rho_{-i}(a \mid s) \mathbb 1[a^i = c(s, a^{\mathcal P^i})]`, so the
problem is a Markov decision process on :math:`\mathcal S` whose action at ``s`` is a whole vector
:math:`(c(s, b))_b`, with reward and kernel

.. math::

    \begin{aligned}
    R_i(s, b, c) &= \sum_{a : a^{\mathcal P^i_+} = (b, c)} \rho_{-i}(a \mid s)\, r(s, a),\\
    K_i(s, b, c, s') &= \sum_{a : a^{\mathcal P^i_+} = (b, c)} \rho_{-i}(a \mid s)\, P(s' \mid s, a),
    \end{aligned}

both additive over ``b``. Its Bellman operator therefore maximises separately for every ``(s, b)``,
and deterministic rules are optimal. :func:`best_response` solves it by policy iteration: each
evaluation is an exact linear solve, each improvement switches ``c(s, b)`` only where it gains more
than round-off, so the iteration stops after finitely many steps at an exactly greedy rule.

**Two classes of deviation.** ``deviation="parents"`` (the default) is Definition 1: the deviating
agent keeps its view of the state and of its parents' actions, ``c(s, b)`` as above.
``deviation="state"`` is the class the code of Chen and Zhang (ICML 2023) maximises over: the
deviating agent sees the state only, ``c(s)``, while its descendants still react to its action. Its
MDP has reward :math:`\sum_b R_i(s, b, c)` and kernel :math:`\sum_b K_i(s, b, c, \cdot)`, the
parents' class restricted to rules constant in ``b``. Hence, for every agent,
:math:`g_i^{\text{state}} \le g_i^{\text{parents}}`, with equality when agent ``i`` has no parents;
and :math:`g_i^{\text{parents}} \ge 0` always, while :math:`g_i^{\text{state}}` can be negative
(the agent's own parent-conditioned policy is not among its deviations). A root of the DAG has no
parents, so the Nash gaps satisfy :math:`0 \le \text{gap}^{\text{state}} \le \text{gap}^{\text{parents}}`,
with equality for product policies (empty DAG).

**Optimality gap** (Definition 2) compares the policy's value with the optimal value over all
joint policies, :func:`bnpg.exact.mdp.optimal_value`. The mismatch coefficient ``M`` is in
:mod:`bnpg.exact.mismatch`.
"""

from __future__ import annotations

import numpy as np

from bnpg._validation import agent_index
from bnpg.exact.evaluation import evaluate
from bnpg.exact.mdp import Solution, optimal_value, policy_iteration
from bnpg.model.game import MarkovGame
from bnpg.model.policy import BNPolicy, check_policy

__all__ = [
    "DEVIATIONS",
    "best_response",
    "best_response_value",
    "deviation_mdp",
    "nash_gap",
    "nash_gaps",
    "optimality_gap",
]

#: The classes of deviation a best response ranges over (see the module docstring).
DEVIATIONS = ("parents", "state")

def _deviation(deviation) -> str:
    if deviation not in DEVIATIONS:
        raise ValueError(f"deviation must be one of {DEVIATIONS}, got {deviation!r}")
    return deviation


def best_response(game: MarkovGame, policy: BNPolicy, i: int, *, deviation: str = "parents") -> Solution:
    r"""Agent ``i``'s exact best response to the other agents' local policies (Definition 1).

    Parameters
    ----------
    game : MarkovGame
    policy : BNPolicy
    i : int
        The deviating agent.
    deviation : {"parents", "state"}, default "parents"
        ``"parents"``: agent ``i``'s deviation sees the state and its parents' actions
        (Definition 1). ``"state"``: it sees the state only (the class of Chen and Zhang's code).
        Either way the other agents keep their local conditionals and react to agent ``i``'s action.

    Returns
    -------
    Solution
        ``rule[s, *b]`` is agent ``i``'s optimal action at state ``s`` when its parents play ``b``
        (``rule[s]`` for ``deviation="state"``); ``value`` is
        :math:`\max_{\bar\pi^i} V_{\bar\pi^i, \pi^{-i}}(\mu)` over the class.

    Examples
    --------
    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.0)
    >>> sol = bnpg.best_response(game, bnpg.BNPolicy(game, bnpg.DAG.chain(2)), 1)
    >>> sol.rule.tolist(), sol.value
    ([[0, 1]], 1.0)
    """
    check_policy(game, policy)
    i = agent_index("i", i, game.n_agents)
    sol_rule_shape, R, K = _deviation_mdp(game, policy, i, deviation)
    sol = policy_iteration(R, K, game.gamma, game.mu)
    return Solution(V=sol.V, rule=sol.rule.reshape(sol_rule_shape), value=sol.value, iterations=sol.iterations)


def deviation_mdp(game: MarkovGame, policy: BNPolicy, i: int, *, deviation: str = "parents") -> tuple[np.ndarray, np.ndarray]:
    r"""The MDP agent ``i``'s best response solves: reward ``R[s, b, c]`` and kernel ``K[s, b, c, s']``.

    ``b`` runs over the parents' joint actions for ``deviation="parents"`` and has the single value
    0 for ``deviation="state"`` (see the module docstring); a rule ``c(s, b)`` earns
    ``sum_b R[s, b, c(s, b)]`` and moves by ``sum_b K[s, b, c(s, b), :]``.

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.0)
    >>> R, K = deviation_mdp(game, bnpg.BNPolicy(game, bnpg.DAG.chain(2)), 1)
    >>> R.tolist()   # agent 1 earns 1/2 for copying each of agent 0's actions
    [[[0.5, 0.0], [0.0, 0.5]]]
    >>> deviation_mdp(game, bnpg.BNPolicy(game, bnpg.DAG.chain(2)), 1, deviation="state")[0].tolist()
    [[[0.5, 0.5]]]
    """
    check_policy(game, policy)
    i = agent_index("i", i, game.n_agents)
    return _deviation_mdp(game, policy, i, deviation)[1:]


def _deviation_mdp(game: MarkovGame, policy: BNPolicy, i: int, deviation) -> tuple[tuple, np.ndarray, np.ndarray]:
    deviation = _deviation(deviation)
    st = policy.structure
    lay = st.layouts[i]
    S = game.n_states
    n = game.n_agents
    rho = policy.others_weight(i)
    R = st.to_theta_axes(i, rho * game.r)
    KP = (rho[..., None] * game.P)
    others = lay.other_axes
    K = (KP.sum(axis=others) if others else KP).transpose(lay.to_theta + (n + 1 - len(others),))
    B = lay.n_parent_actions
    C = game.action_sizes[i]
    R, K = R.reshape(S, B, C), K.reshape(S, B, C, S)
    if deviation == "state":
        return (S,), R.sum(axis=1, keepdims=True), K.sum(axis=1, keepdims=True)
    return lay.theta_shape[:-1], R, K


def best_response_value(game: MarkovGame, policy: BNPolicy, i: int, *, deviation: str = "parents") -> float:
    r""":math:`\max_{\bar\pi^i} V_{\bar\pi^i, \pi^{-i}}(\mu)` over agent ``i``'s deviations (Definition 1).

    ``deviation`` as in :func:`best_response`.

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.0)
    >>> bnpg.best_response_value(game, bnpg.BNPolicy(game, bnpg.DAG.empty(2)), 0)
    0.5
    """
    return best_response(game, policy, i, deviation=deviation).value


def nash_gaps(game: MarkovGame, policy: BNPolicy, *, deviation: str = "parents") -> np.ndarray:
    """Each agent's gain from its best response, ``best_response_value(i) - V(mu)``.

    With ``deviation="parents"`` every entry is >= 0 up to round-off; with ``deviation="state"``
    an agent with parents can have a negative entry (see the module docstring).

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.0)
    >>> bnpg.nash_gaps(game, bnpg.BNPolicy(game, bnpg.DAG.empty(2)))
    array([0., 0.])
    """
    deviation = _deviation(deviation)
    v = evaluate(game, policy).value
    return np.array([best_response(game, policy, i, deviation=deviation).value - v
                     for i in range(game.n_agents)])


def nash_gap(game: MarkovGame, policy: BNPolicy, *, deviation: str = "parents") -> float:
    r"""Nash-gap of Definition 1: :math:`\max_i (\max_{\bar\pi^i} V_{\bar\pi^i, \pi^{-i}}(\mu) - V_\pi(\mu))`.

    Parameters
    ----------
    game : MarkovGame
    policy : BNPolicy
    deviation : {"parents", "state"}, default "parents"
        The class :math:`\bar\pi^i` ranges over: policies of agent ``i`` that see the state and
        its parents' actions (Definition 1), or the state only (the Nash gap of Chen and Zhang's
        code). Always :math:`0 \le` gap(``"state"``) :math:`\le` gap(``"parents"``), with equality
        on the empty DAG (see the module docstring).

    Examples
    --------
    The uniform product policy on a matching game is a (bad) Nash equilibrium; the uniform chain
    policy is not, because agent 1 can copy agent 0, which a deviation that sees only the state
    cannot do:

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.0)
    >>> bnpg.nash_gap(game, bnpg.BNPolicy(game, bnpg.DAG.empty(2)))
    0.0
    >>> bnpg.nash_gap(game, bnpg.BNPolicy(game, bnpg.DAG.chain(2)))
    0.5
    >>> bnpg.nash_gap(game, bnpg.BNPolicy(game, bnpg.DAG.chain(2)), deviation="state")
    0.0
    """
    return float(nash_gaps(game, policy, deviation=deviation).max())


def optimality_gap(game: MarkovGame, policy: BNPolicy) -> float:
    r"""Optimality-gap of Definition 2: :math:`\max_{\pi^*} V_{\pi^*}(\mu) - V_\pi(\mu)`.

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.0)
    >>> bnpg.optimality_gap(game, bnpg.BNPolicy(game, bnpg.DAG.full(2)))
    0.5
    """
    check_policy(game, policy)
    return optimal_value(game) - evaluate(game, policy).value
