"""Shared helpers for the bnpg test suite.

Everything here is an *independent* route to the quantities bnpg computes: random games are built
directly with numpy, local policies come from ``scipy.special.softmax``, joint policies and partial
values are formed by explicit loops over joint actions, and values and visitations come from a
Neumann series (not a linear solve). Tests compare bnpg against these helpers, never against bnpg's
own output.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.optimize import linprog
from scipy.special import softmax

import bnpg
from bnpg.backends import numba_kernels as _fast

#: Backends of the exact gradient; "numba" runs only where numba is installed.
BACKENDS = ("numpy", "numba") if _fast.HAVE_NUMBA else ("numpy",)

# --------------------------------------------------------------------------------------------
# Random games and policies
# --------------------------------------------------------------------------------------------


def random_arrays(rng, n_states, action_sizes, *, zero_fraction=0.0):
    """``(P, r, mu)`` of a random game: Dirichlet rows, uniform rewards in [-1, 1], full-support mu."""
    shape = (n_states, *action_sizes)
    P = rng.dirichlet(np.ones(n_states), size=shape)
    if zero_fraction:
        mask = rng.random(P.shape) < zero_fraction
        mask[..., 0] = False  # keep every row non-empty
        P = np.where(mask, 0.0, P)
        P = P / P.sum(axis=-1, keepdims=True)
    r = rng.uniform(-1.0, 1.0, size=shape)
    mu = rng.dirichlet(np.ones(n_states))
    return P, r, mu


def random_game(seed, n_states=3, action_sizes=(2, 2), gamma=0.9, **kwargs):
    """A :class:`bnpg.MarkovGame` with random arrays from ``np.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    P, r, mu = random_arrays(rng, n_states, action_sizes, **kwargs)
    return bnpg.MarkovGame(P, r, mu, gamma)


def theta_shapes(game, dag):
    """``theta[i]`` shapes from the convention ``(S, *[A_j for j in parents(i)], A_i)``."""
    A = game.action_sizes
    return [(game.n_states, *[A[j] for j in dag.parents(i)], A[i]) for i in range(game.n_agents)]


def random_theta(seed, game, dag, scale=1.0):
    rng = np.random.default_rng(seed)
    return [scale * rng.standard_normal(shape) for shape in theta_shapes(game, dag)]


def random_policy(seed, game, dag, scale=1.0):
    return bnpg.BNPolicy(game, dag, random_theta(seed, game, dag, scale))


def reversed_full_dag(n):
    """The complete DAG with every edge from a higher to a lower index (``j -> i`` for ``j > i``)."""
    return bnpg.DAG([list(range(i + 1, n)) for i in range(n)])


# --------------------------------------------------------------------------------------------
# Brute-force policy quantities
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


def policy_joint(policy):
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


def relative_error(a, b):
    a, b = np.ravel(a), np.ravel(b)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def snapshot(*arrays):
    """Copies of arrays (to compare after a call: no function may mutate its inputs)."""
    return [np.array(a, copy=True) for a in arrays]


# --------------------------------------------------------------------------------------------
# L_lambda and Lemma 1 without bnpg's numerics
# --------------------------------------------------------------------------------------------


def lagrangian_by_series(game, dag, lam):
    """``x -> L_lambda`` from scipy's softmax, loops and the Neumann series (no bnpg numerics)."""
    template = bnpg.BNPolicy(game, dag)

    def f(x):
        theta = template.unflatten(x)
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


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture(params=["numpy", "numba"])
def backend(request):
    """Each gradient backend in turn (the compiled one is skipped without numba)."""
    if request.param == "numba" and not _fast.HAVE_NUMBA:
        pytest.skip("numba is not installed")
    return request.param


@pytest.fixture
def matching_game():
    """One state, two agents with two actions each, reward 1 when the actions match; gamma = 0.5."""
    P = np.ones((1, 2, 2, 1))
    r = np.eye(2)[None]
    return bnpg.MarkovGame(P, r, [1.0], 0.5)


@pytest.fixture
def game_232():
    """A random 3-state game with mixed action sizes (2, 3, 2)."""
    return random_game(11, n_states=3, action_sizes=(2, 3, 2), gamma=0.8)


@pytest.fixture
def dag_back():
    """Three agents with edges 2 -> 0, 2 -> 1 and 0 -> 1: agent numbering is not topological."""
    return bnpg.DAG([[2], [0, 2], []])
