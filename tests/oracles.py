"""Independent oracles: brute-force routes to the quantities bnpg computes.

Tests compare bnpg against these functions, never against bnpg's own output. Each route is written
from the definitions with numpy, scipy and :mod:`itertools` alone; the only things taken from bnpg
are the data classes (:class:`~bnpg.model.game.MarkovGame`, :class:`~bnpg.model.dag.DAG`,
:class:`~bnpg.model.policy.BNPolicy`), and only their stored data (``P``, ``r``, ``mu``, ``gamma``,
the action sizes, ``parents(i)``, ``theta``). Nothing here calls a bnpg computation or backend,
and ``tests/test_oracles.py`` fails if this module imports anything else from bnpg, so a bug in bnpg
cannot leak into the reference it is checked against.

The routes, and why each is independent of bnpg's own:

* **Parameter layout** (:func:`theta_shapes`, :func:`unflatten_by_shapes`): ``theta[i]`` shaped
  ``(S, *[A_j for j in parents(i)], A_i)`` and the flat vector as the agents' arrays in C order,
  restated from the convention rather than read from bnpg's layout tables.
* **Policies by loops** (:func:`local_probs`, :func:`joint_by_loops`, :func:`policy_joint`):
  local conditionals from ``scipy.special.softmax`` over the last axis, and the joint policy
  ``pi(a|s) = prod_i pi^i(a^i|s, a^{P^i})`` as an explicit product over every joint action, with no
  einsum, broadcasting plan or axis bookkeeping shared with bnpg.
* **Values by the Neumann series** (:func:`kernel_by_loops`, :func:`resolvent`,
  :func:`evaluate_by_series`): ``P_pi`` and ``r_pi`` summed joint action by joint action, and
  ``(I - gamma P_pi)^{-1}`` as the Neumann series summed by repeated squaring to below round-off,
  where bnpg solves a linear system.
* **Partial values by loops** (:func:`partial_q_by_loops`, :func:`family_to_theta`):
  ``Q(s, a^M)`` as a ratio of explicit sums over the other agents' actions, re-indexed entry by
  entry into theta's axes.
* **Deterministic policies by enumeration** (:func:`deterministic_joint_by_hand`,
  :func:`deterministic_visitations`, :func:`brute_force_m`): every deterministic joint policy
  listed with :func:`itertools.product`, each valued by the Neumann series, where bnpg solves
  ``2|S|`` visitation MDPs by policy iteration.
* **Optimal values by linear programming** (:func:`lp_optimal_values`, :func:`joint_mdp`,
  :func:`best_response_mdp`, :func:`rules_of`): the primal LP of an MDP solved by HiGHS
  (``scipy.optimize.linprog``), where bnpg uses policy iteration; a best response is the
  MDP whose actions are whole decision rules ``b -> c`` of the deviating agent.
* **Best responses by enumeration** (:func:`enumerated_best_response`, :func:`rule_local`): every
  deterministic state-dependent rule of one agent, each valued by loops and the Neumann series.
* **Derivatives by finite differences** (:func:`finite_difference`): fourth-order central
  differences of a scalar function, where bnpg differentiates analytically.
* **The objective and Lemma 1 without bnpg's numerics** (:func:`lagrangian_by_series`,
  :func:`lemma1_printed_by_loops`): ``L_lambda`` from softmax, loops and the Neumann series, and
  Lemma 1's gradient as printed from loop-built partial values.
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING

import numpy as np
from scipy.optimize import linprog
from scipy.special import softmax

if TYPE_CHECKING:
    from bnpg.model.dag import DAG
    from bnpg.model.game import MarkovGame
    from bnpg.model.policy import BNPolicy

# --------------------------------------------------------------------------------------------
# Parameter layout
# --------------------------------------------------------------------------------------------


def theta_shapes(game: MarkovGame, dag: DAG):
    """``theta[i]`` shapes from the convention ``(S, *[A_j for j in parents(i)], A_i)``."""
    A = game.action_sizes
    return [(game.n_states, *[A[j] for j in dag.parents(i)], A[i]) for i in range(game.n_agents)]


def unflatten_by_shapes(game: MarkovGame, dag: DAG, x):
    """A flat parameter vector split into ``theta[i]`` arrays: agent 0 first, each in C order."""
    x = np.asarray(x, dtype=float)
    shapes = theta_shapes(game, dag)
    sizes = [math.prod(shape) for shape in shapes]
    assert x.shape == (sum(sizes),), (x.shape, sizes)
    cuts = np.cumsum(sizes)[:-1]
    return [part.reshape(shape) for part, shape in zip(np.split(x, cuts), shapes, strict=True)]


# --------------------------------------------------------------------------------------------
# Policies, values and partial values by loops and the Neumann series
# --------------------------------------------------------------------------------------------


def joint_actions(action_sizes):
    return list(itertools.product(*[range(k) for k in action_sizes]))


def local_probs(theta):
    """Local conditionals from theta by scipy's softmax over the last axis."""
    return [softmax(np.asarray(t, dtype=float), axis=-1) for t in theta]


def joint_by_loops(game, dag, locals_, skip=None):
    r"""``pi[s, a] = prod_i pi^i(a^i | s, a^{P^i})`` by explicit loops; factor ``skip`` is left out."""
    pi = np.zeros((game.n_states, *game.action_sizes))
    for s in range(game.n_states):
        for a in joint_actions(game.action_sizes):
            p = 1.0
            for i in range(game.n_agents):
                if i == skip:
                    continue
                p *= locals_[i][(s, *[a[j] for j in dag.parents(i)], a[i])]
            pi[(s, *a)] = p
    return pi


def deterministic_joint_by_hand(game, flat_actions):
    """The joint policy array that plays joint action ``flat_actions[s]`` (a flat index) in state ``s``."""
    pi = np.zeros((game.n_states, *game.action_sizes))
    for s, k in enumerate(flat_actions):
        pi[(s, *np.unravel_index(int(k), game.action_sizes))] = 1.0
    return pi


def deterministic_visitations(game):
    """``d_mu`` of every deterministic joint policy (rows), by the Neumann series."""
    return np.array([
        evaluate_by_series(game, deterministic_joint_by_hand(game, choice))[2]
        for choice in itertools.product(range(game.n_joint_actions), repeat=game.n_states)
    ])


def brute_force_m(game):
    """``M = max_s max_pi d(s) / min_pi d(s)`` over every deterministic joint policy (enumerated)."""
    ds = deterministic_visitations(game)
    return float(np.max(ds.max(axis=0) / ds.min(axis=0)))


def policy_joint(policy: BNPolicy):
    """The joint policy of a BNPolicy, computed from its theta by loops (not by bnpg)."""
    return joint_by_loops(policy.game, policy.dag, local_probs(policy.theta))


def kernel_by_loops(game, pi):
    """``P_pi[s, s'] = sum_a pi(a|s) P(s'|s, a)`` and ``r_pi(s) = sum_a pi(a|s) r(s, a)``."""
    S = game.n_states
    P_pi, r_pi = np.zeros((S, S)), np.zeros(S)
    for s in range(S):
        for a in joint_actions(game.action_sizes):
            w = pi[(s, *a)]
            P_pi[s] += w * game.P[(s, *a)]
            r_pi[s] += w * game.r[(s, *a)]
    return P_pi, r_pi


def resolvent(gamma, P_pi):
    r"""``(I - gamma P_pi)^{-1}`` as the Neumann series, summed by repeated squaring.

    ``prod_{k<K} (I + X^{2^k}) = sum_{t < 2^K} X^t`` with ``X = gamma P_pi``; the remainder
    ``sum_{t >= 2^K} X^t`` has sup-norm at most ``gamma^{2^K} / (1 - gamma)`` since ``P_pi`` is
    stochastic. We square until ``gamma^{2^K} / (1 - gamma) < 1e-17``, below double round-off.
    """
    S = P_pi.shape[0]
    X = gamma * P_pi
    total = np.eye(S)
    power = gamma
    while power / (1.0 - gamma) >= 1e-17 and power > 0:
        total = total + total @ X
        X = X @ X
        power = power * power
    return total


def evaluate_by_series(game, pi):
    """``(V, Q, d)`` of a joint policy array from the Neumann series and loops."""
    P_pi, r_pi = kernel_by_loops(game, pi)
    R = resolvent(game.gamma, P_pi)
    V = R @ r_pi
    d = game.mu @ R
    Q = np.zeros(game.r.shape)
    for s in range(game.n_states):
        for a in joint_actions(game.action_sizes):
            Q[(s, *a)] = game.r[(s, *a)] + game.gamma * game.P[(s, *a)] @ V
    return V, Q, d


def partial_q_by_loops(game, pi, Q, members):
    r"""``Q(s, a^M) = sum_{a^{-M}} pi(a) Q(s, a) / sum_{a^{-M}} pi(a)``, axes in ``sorted(members)``."""
    members = sorted(members)
    shape = (game.n_states, *[game.action_sizes[j] for j in members])
    num, den = np.zeros(shape), np.zeros(shape)
    for s in range(game.n_states):
        for a in joint_actions(game.action_sizes):
            key = (s, *[a[j] for j in members])
            num[key] += pi[(s, *a)] * Q[(s, *a)]
            den[key] += pi[(s, *a)]
    return num / den


def family_to_theta(game, dag, i, family_array):
    """Re-index an array over ``(s, *sorted(parents + [i]))`` into theta's ``(s, *parents, a_i)``."""
    parents = dag.parents(i)
    family = sorted((*parents, i))
    out = np.zeros((game.n_states, *[game.action_sizes[j] for j in parents], game.action_sizes[i]))
    for idx in itertools.product(*[range(k) for k in out.shape]):
        s, b, c = idx[0], idx[1:-1], idx[-1]
        action = dict(zip(parents, b, strict=True))
        action[i] = c
        out[idx] = family_array[(s, *[action[j] for j in family])]
    return out


# --------------------------------------------------------------------------------------------
# An independent MDP solver: linear programming with HiGHS
# --------------------------------------------------------------------------------------------

HIGHS_OPTIONS = {
    "primal_feasibility_tolerance": 1e-10,
    "dual_feasibility_tolerance": 1e-10,
}


def lp_optimal_values(R, K, gamma):
    r"""Optimal values of the MDP with reward ``R[s, k]`` and kernel ``K[s, k, s']`` by the primal LP.

    ``min sum_s V(s)`` subject to ``V(s) >= R[s, k] + gamma sum_s' K[s, k, s'] V(s')`` for all
    ``(s, k)``: the optimal values are its unique solution.
    """
    S, n_actions = R.shape
    A_ub = np.zeros((S * n_actions, S))
    b_ub = np.zeros(S * n_actions)
    row = 0
    for s in range(S):
        for k in range(n_actions):
            A_ub[row] = gamma * K[s, k]
            A_ub[row, s] -= 1.0
            b_ub[row] = -R[s, k]
            row += 1
    res = linprog(
        np.ones(S), A_ub=A_ub, b_ub=b_ub, bounds=[(None, None)] * S, method="highs",
        options=HIGHS_OPTIONS,
    )
    assert res.status == 0, res.message
    return res.x


def rules_of(game, dag, i):
    """All deterministic decision rules ``b -> c`` of agent ``i`` (state-independent tables)."""
    parent_sizes = [game.action_sizes[j] for j in dag.parents(i)]
    parent_actions = list(itertools.product(*[range(k) for k in parent_sizes]))
    tables = itertools.product(range(game.action_sizes[i]), repeat=len(parent_actions))
    return parent_actions, [dict(zip(parent_actions, t, strict=True)) for t in tables]


def best_response_mdp(game, policy, i):
    r"""The MDP of agent ``i``'s best response: at each state an action is a whole rule ``b -> c``.

    Reward and kernel by loops over joint actions, with agent ``i``'s factor replaced by the rule:
    ``R[s, k] = sum_a rho_{-i}(a|s) 1[a^i = rule_k(a^{P^i})] r(s, a)``.
    """
    dag = policy.dag
    rho = joint_by_loops(game, dag, local_probs(policy.theta), skip=i)
    _, rules = rules_of(game, dag, i)
    S = game.n_states
    R = np.zeros((S, len(rules)))
    K = np.zeros((S, len(rules), S))
    parents = dag.parents(i)
    for s in range(S):
        for k, rule in enumerate(rules):
            for a in joint_actions(game.action_sizes):
                if a[i] != rule[tuple(a[j] for j in parents)]:
                    continue
                w = rho[(s, *a)]
                R[s, k] += w * game.r[(s, *a)]
                K[s, k] += w * game.P[(s, *a)]
    return R, K, rules


def rule_local(game, dag, i, rule_table):
    """A deterministic local policy of agent ``i`` (theta layout) from ``rule_table[s][b] = c``."""
    shape = (game.n_states, *[game.action_sizes[j] for j in dag.parents(i)], game.action_sizes[i])
    local = np.zeros(shape)
    for s in range(game.n_states):
        for b, c in rule_table[s].items():
            local[(s, *b, c)] = 1.0
    return local


def enumerated_best_response(game, policy, i, *, state_only=False):
    """Agent ``i``'s best value over every deterministic state-dependent rule (state-only rules ignore
    the parents' actions), each valued by loops and the Neumann series."""
    dag = policy.dag
    locals_ = local_probs(policy.theta)
    _, rules = rules_of(game, dag, i)
    if state_only:
        rules = [rule for rule in rules if len(set(rule.values())) == 1]
    best = -np.inf
    for per_state in itertools.product(rules, repeat=game.n_states):
        replaced = list(locals_)
        replaced[i] = rule_local(game, dag, i, per_state)
        V, _, _ = evaluate_by_series(game, joint_by_loops(game, dag, replaced))
        best = max(best, float(game.mu @ V))
    return best


def joint_mdp(game):
    """The single-agent MDP on joint actions."""
    S = game.n_states
    return game.r.reshape(S, -1), game.P.reshape(S, -1, S)


# --------------------------------------------------------------------------------------------
# Finite differences
# --------------------------------------------------------------------------------------------


def finite_difference(f, x, h=1e-3):
    r"""Fourth-order central differences: ``(-f(x+2h) + 8 f(x+h) - 8 f(x-h) + f(x-2h)) / (12 h)``.

    The truncation error is ``h^4 f^{(5)} / 30`` (about 1e-13 for the smooth, bounded objectives here)
    and the round-off about ``1e-16 |f| / h``, so relative agreement to 1e-6 is a strict test.
    """
    x = np.asarray(x, dtype=float)
    g = np.zeros_like(x)
    for k in range(x.size):
        e = np.zeros_like(x)
        e[k] = h
        g[k] = (-f(x + 2 * e) + 8 * f(x + e) - 8 * f(x - e) + f(x - 2 * e)) / (12 * h)
    return g


# --------------------------------------------------------------------------------------------
# L_lambda and Lemma 1 without bnpg's numerics
# --------------------------------------------------------------------------------------------


def lagrangian_by_series(game, dag, lam):
    """``x -> L_lambda`` from scipy's softmax, loops and the Neumann series (no bnpg numerics)."""

    def f(x):
        theta = unflatten_by_shapes(game, dag, x)
        locals_ = [softmax(t, axis=-1) for t in theta]
        V, _, _ = evaluate_by_series(game, joint_by_loops(game, dag, locals_))
        barrier = sum(float(np.log(p).mean()) + math.log(p.shape[-1]) for p in locals_)
        return float(game.mu @ V) + lam * barrier

    return f


def lemma1_printed_by_loops(game, policy, lam):
    """Lemma 1 as printed, from loop-built partial values: (1/(1-gamma)) d(s, b) pi^i A^i + barrier."""
    pi = policy_joint(policy)
    V, Q, d = evaluate_by_series(game, pi)
    locals_ = local_probs(policy.theta)
    out = []
    for i in range(game.n_agents):
        parents = policy.dag.parents(i)
        family = sorted((*parents, i))
        q_family = family_to_theta(game, policy.dag, i, partial_q_by_loops(game, pi, Q, family))
        q_parents = partial_q_by_loops(game, pi, Q, parents)[..., None]
        others = tuple(1 + j for j in range(game.n_agents) if j not in parents)
        marginal = pi.sum(axis=others) if others else pi
        d_sb = d.reshape((-1,) + (1,) * len(parents)) * marginal
        n_parent = int(np.prod([game.action_sizes[j] for j in parents]))
        barrier = lam / (game.n_states * n_parent) * (1 / game.action_sizes[i] - locals_[i])
        out.append(d_sb[..., None] * locals_[i] * (q_family - q_parents) / (1 - game.gamma) + barrier)
    return np.concatenate([g.ravel() for g in out])
