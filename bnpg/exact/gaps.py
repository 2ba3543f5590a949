r"""Best responses, Nash and optimality gaps, and the mismatch coefficient (Definitions 1-2, Assumption 1, Lemma 2).

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

**Optimal value** (Definition 2) is the same computation for the single-agent MDP on joint actions
(one ``b``, ``c`` ranging over :math:`\mathcal A`).

**Mismatch coefficient** :math:`M = \max_{\pi, \pi'} \| d_\mu^\pi / d_\mu^{\pi'} \|_\infty` (Lemma 2).
The maximum over the pair splits state by state,
:math:`M = \max_s \max_\pi d_\mu^\pi(s) / \min_{\pi'} d_\mu^{\pi'}(s)`, and for a fixed target
state ``x``, :math:`d_\mu^\pi(x)` is the value :math:`V_\pi(\mu)` of the reward
:math:`\mathbb 1[s = x]`. Its maximum and minimum over all policies are the optimal values of two
MDPs (reward :math:`\pm \mathbb 1[s = x]`), attained by deterministic stationary joint policies;
deterministic joint policies are product policies, hence BN policies for every DAG (as limits of
softmax parameters). So the :math:`2|\mathcal S|` policy iterations of :func:`visitation_extremes`
give ``M`` exactly, with no sampling of policies, and ``min d`` checks Assumption 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bnpg._validation import agent_index
from bnpg.exact.evaluation import evaluate
from bnpg.model.game import MarkovGame
from bnpg.model.policy import BNPolicy, check_policy

__all__ = [
    "DEVIATIONS",
    "Solution",
    "TIE_TOLERANCE",
    "VisitationExtremes",
    "best_response",
    "best_response_value",
    "deterministic_joint",
    "deviation_mdp",
    "min_visitation",
    "mismatch_coefficient",
    "nash_gap",
    "nash_gaps",
    "optimal_solution",
    "optimal_value",
    "optimality_gap",
    "policy_iteration",
    "replace_local",
    "visitation_extremes",
    "worst_solution",
    "worst_value",
]

#: The classes of deviation a best response ranges over (see the module docstring).
DEVIATIONS = ("parents", "state")

#: Improvements smaller than this (relative to the value scale) are treated as ties.
TIE_TOLERANCE = 1e-14


@dataclass(frozen=True)
class Solution:
    """A solved (factored) MDP.

    Attributes
    ----------
    V : ndarray, shape (S,)
        Optimal state values.
    rule : ndarray of int
        Optimal deterministic choices; shape ``(S, *parent sizes)`` for a best response,
        ``(S,)`` of flat joint-action indices for the joint MDP.
    value : float
        :math:`\\mu^\\top V`.
    iterations : int
        Policy-iteration steps (evaluations) used.
    """

    V: np.ndarray
    rule: np.ndarray
    value: float
    iterations: int


def policy_iteration(R: np.ndarray, K: np.ndarray, gamma: float, mu: np.ndarray, *, max_iter: int = 10_000) -> Solution:
    r"""Maximise over rules ``c(s, b)`` the discounted value of reward ``sum_b R[s, b, c(s, b)]``.

    Parameters
    ----------
    R : ndarray, shape (S, B, C)
    K : ndarray, shape (S, B, C, S)
        ``sum_b K[s, b, c(s, b), :]`` must be a probability vector for every rule.
    gamma : float
    mu : ndarray, shape (S,)

    Returns
    -------
    Solution
        ``rule`` has shape ``(S, B)``.

    Examples
    --------
    One state, two actions paying 0 and 1, discount 1/2: the optimum is 1 / (1 - 1/2).

    >>> import numpy as np
    >>> sol = policy_iteration(np.array([[[0.0, 1.0]]]), np.ones((1, 1, 2, 1)), 0.5, np.ones(1))
    >>> sol.rule.tolist(), sol.value
    ([[1]], 2.0)
    """
    S, B, C = R.shape
    scale = 1.0 + float(np.abs(R).max()) / (1.0 - gamma)
    rule = R.argmax(axis=-1)
    s_idx = np.arange(S)[:, None]
    b_idx = np.arange(B)[None, :]
    eye = np.eye(S)
    for it in range(1, max_iter + 1):
        r_pi = R[s_idx, b_idx, rule].sum(axis=1)
        P_pi = K[s_idx, b_idx, rule].sum(axis=1)
        V = np.linalg.solve(eye - gamma * P_pi, r_pi)
        Qc = R + gamma * (K @ V)
        current = np.take_along_axis(Qc, rule[..., None], axis=-1)[..., 0]
        best = Qc.argmax(axis=-1)
        gain = Qc.max(axis=-1) - current
        improve = gain > TIE_TOLERANCE * scale
        if not improve.any():
            return Solution(V=V, rule=rule, value=float(mu @ V), iterations=it)
        rule = np.where(improve, best, rule)
    raise RuntimeError(f"policy iteration did not stop within max_iter={max_iter} steps")


def _others_weight(policy: BNPolicy, i: int) -> np.ndarray:
    r""":math:`\rho_{-i}(a \mid s)`: the joint policy without agent ``i``'s factor, in the joint shape."""
    st = policy.structure
    n = policy.game.n_agents
    shape = (policy.game.n_states,) + policy.game.action_sizes
    rho = np.ones(shape)
    for j in range(n):
        if j != i:
            rho = rho * st.to_joint_axes(j, policy.local(j))
    return rho


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
    rho = _others_weight(policy, i)
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


def _joint_mdp(game: MarkovGame) -> tuple[np.ndarray, np.ndarray]:
    S = game.n_states
    return game.r.reshape(S, 1, -1), game.P.reshape(S, 1, -1, S)


def optimal_solution(game: MarkovGame) -> Solution:
    """Optimal values and a deterministic optimal joint policy (flat joint-action index per state).

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.5)
    >>> sol = bnpg.optimal_solution(game)
    >>> sol.value, np.unravel_index(sol.rule[0], game.action_sizes) in [(0, 0), (1, 1)]
    (2.0, True)
    """
    if not isinstance(game, MarkovGame):
        raise TypeError(f"game must be a MarkovGame, got {type(game).__name__}")
    R, K = _joint_mdp(game)
    sol = policy_iteration(R, K, game.gamma, game.mu)
    return Solution(V=sol.V, rule=sol.rule[:, 0], value=sol.value, iterations=sol.iterations)


def optimal_value(game: MarkovGame) -> float:
    r""":math:`\max_{\pi^*} V_{\pi^*}(\mu)` over all joint policies (Definition 2).

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.5)
    >>> bnpg.optimal_value(game)
    2.0
    """
    return optimal_solution(game).value


def worst_solution(game: MarkovGame) -> Solution:
    r"""The smallest values over all joint policies: :math:`\min_\pi V_\pi(s)` for every state.

    The optimal solution of the game with reward :math:`-r`, negated; ``rule`` is a deterministic
    joint policy attaining every minimum at once.

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.5)
    >>> worst_solution(game).value   # always mismatch: 0 per step
    0.0
    """
    if not isinstance(game, MarkovGame):
        raise TypeError(f"game must be a MarkovGame, got {type(game).__name__}")
    R, K = _joint_mdp(game)
    sol = policy_iteration(-R, K, game.gamma, game.mu)
    return Solution(V=-sol.V, rule=sol.rule[:, 0], value=0.0 - sol.value, iterations=sol.iterations)


def worst_value(game: MarkovGame) -> float:
    r""":math:`\min_\pi V_\pi(\mu)` over all joint policies.

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 1)), [[-1.0, 1.0]], [1.0], 0.5)
    >>> bnpg.worst_value(game), bnpg.optimal_value(game)
    (-2.0, 2.0)
    """
    return worst_solution(game).value


def optimality_gap(game: MarkovGame, policy: BNPolicy) -> float:
    r"""Optimality-gap of Definition 2: :math:`\max_{\pi^*} V_{\pi^*}(\mu) - V_\pi(\mu)`.

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.0)
    >>> bnpg.optimality_gap(game, bnpg.BNPolicy(game, bnpg.DAG.full(2)))
    0.5
    """
    check_policy(game, policy)
    return optimal_value(game) - evaluate(game, policy).value


@dataclass(frozen=True)
class VisitationExtremes:
    r"""Per-state extremes of :math:`d_\mu^\pi(s)` over all policies.

    Attributes
    ----------
    d_min, d_max : ndarray, shape (S,)
        :math:`\min_\pi d_\mu^\pi(s)` and :math:`\max_\pi d_\mu^\pi(s)`.
    argmin, argmax : ndarray of int, shape (S, S)
        Row ``x`` is a deterministic joint policy (flat joint-action index per state) attaining
        ``d_min[x]`` (resp. ``d_max[x]``).
    iterations : int
        Policy-iteration steps used in total.
    """

    d_min: np.ndarray
    d_max: np.ndarray
    argmin: np.ndarray
    argmax: np.ndarray
    iterations: int


def visitation_extremes(game: MarkovGame) -> VisitationExtremes:
    r"""Exact :math:`\min_\pi d_\mu^\pi(s)` and :math:`\max_\pi d_\mu^\pi(s)` for every state ``s``.

    Each is the optimal value of an MDP with reward :math:`\pm \mathbb 1[s_t = s]`, solved by
    policy iteration (see the module docstring for why this is exact).

    >>> import numpy as np, bnpg
    >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1; P[:, 1, 1] = 1   # action k moves to state k
    >>> game = bnpg.MarkovGame(P, np.zeros((2, 2)), [1.0, 0.0], 0.5)
    >>> ext = bnpg.visitation_extremes(game)
    >>> ext.d_min, ext.d_max
    (array([1., 0.]), array([2., 1.]))
    """
    if not isinstance(game, MarkovGame):
        raise TypeError(f"game must be a MarkovGame, got {type(game).__name__}")
    S = game.n_states
    _, K = _joint_mdp(game)
    n_joint = K.shape[2]
    d_min, d_max = np.empty(S), np.empty(S)
    arg_min, arg_max = np.empty((S, S), dtype=int), np.empty((S, S), dtype=int)
    total = 0
    for x in range(S):
        R = np.zeros((S, 1, n_joint))
        R[x] = 1.0
        hi = policy_iteration(R, K, game.gamma, game.mu)
        lo = policy_iteration(-R, K, game.gamma, game.mu)
        d_max[x], arg_max[x] = hi.value, hi.rule[:, 0]
        d_min[x], arg_min[x] = 0.0 - lo.value, lo.rule[:, 0]
        total += hi.iterations + lo.iterations
    return VisitationExtremes(d_min, d_max, arg_min, arg_max, total)


def min_visitation(game: MarkovGame) -> np.ndarray:
    r""":math:`\min_\pi d_\mu^\pi(s)` per state; Assumption 1 holds iff every entry is positive.

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.full((2, 2, 2), 0.5), np.zeros((2, 2)), [0.5, 0.5], 0.5)
    >>> bnpg.min_visitation(game)
    array([1., 1.])
    """
    return visitation_extremes(game).d_min


def mismatch_coefficient(game: MarkovGame) -> float:
    r"""Exact :math:`M = \max_{\pi, \pi'} \| d_\mu^\pi / d_\mu^{\pi'} \|_\infty` (Lemma 2).

    ``inf`` when Assumption 1 fails (some state can be avoided entirely).

    >>> import numpy as np, bnpg
    >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1; P[:, 1, 1] = 1
    >>> game = bnpg.MarkovGame(P, np.zeros((2, 2)), [0.5, 0.5], 0.5)
    >>> float(bnpg.mismatch_coefficient(game))   # state 1: at most 0.5 + 0.5 * 2 = 1.5, at least 0.5
    3.0
    """
    ext = visitation_extremes(game)
    with np.errstate(divide="ignore"):
        ratios = np.where(ext.d_min > 0, ext.d_max / np.where(ext.d_min > 0, ext.d_min, 1.0), np.inf)
    return float(ratios.max())


def deterministic_joint(game: MarkovGame, flat_actions: np.ndarray) -> np.ndarray:
    """The joint policy array of a deterministic joint policy given as a flat action per state.

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.5)
    >>> deterministic_joint(game, [3])   # flat index 3 is the joint action (1, 1)
    array([[[0., 0.],
            [0., 1.]]])"""
    S = game.n_states
    pi = np.zeros((S, game.n_joint_actions))
    pi[np.arange(S), np.asarray(flat_actions)] = 1.0
    return pi.reshape((S,) + game.action_sizes)


def replace_local(policy: BNPolicy, i: int, local: np.ndarray) -> np.ndarray:
    """The joint policy array when agent ``i``'s local conditional is replaced by ``local``.

    ``local`` is laid out like ``theta[i]`` and may be deterministic (e.g. a best response).

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.5)
    >>> policy = bnpg.BNPolicy(game, bnpg.DAG.chain(2))
    >>> replace_local(policy, 1, np.eye(2)[None])   # agent 1 copies agent 0
    array([[[0.5, 0. ],
            [0. , 0.5]]])
    """
    i = agent_index("i", i, policy.game.n_agents)
    return _others_weight(policy, i) * policy.structure.to_joint_axes(i, np.asarray(local, dtype=float))
