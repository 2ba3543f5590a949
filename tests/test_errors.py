"""Bad input: every violation listed in issue 2 raises ValueError (TypeError for a wrong type) whose
message names the argument and, where there is one, the offending value."""

from __future__ import annotations

import re

import numpy as np
import pytest

import bnpg
from tests.conftest import random_arrays, random_game, random_policy

GAME = random_game(0, n_states=3, action_sizes=(2, 3, 2), gamma=0.9)
DAG = bnpg.DAG([[2], [0, 2], []])
POLICY = random_policy(1, GAME, DAG)
# Same shapes, different numbers: a policy for this game must not be used with OTHER.
OTHER = random_game(99, n_states=3, action_sizes=(2, 3, 2), gamma=0.9)
SMALL = random_game(5, n_states=2, action_sizes=(2, 2), gamma=0.5)
SMALL_POLICY = random_policy(6, SMALL, bnpg.DAG.chain(2))

P0, R0, MU0 = random_arrays(np.random.default_rng(3), 3, (2, 2))


def with_entry(arr, index, value):
    out = np.array(arr, dtype=float, copy=True)
    out[index] = value
    return out


def bad_row():
    P = P0.copy()
    P[1, 0, 1] *= 0.98
    return P


def esc(text):
    return re.escape(text)


# --------------------------------------------------------------------------------------------
# Item 1: MarkovGame
# --------------------------------------------------------------------------------------------

GAME_CASES = [
    # (id, kwargs overrides, exception, pattern)
    ("P_nan", {"P": with_entry(P0, (0, 1, 0, 2), np.nan)}, ValueError, esc("P[0, 1, 0, 2] is") + ".*nan.*finite"),
    ("P_inf", {"P": with_entry(P0, (2, 0, 0, 0), np.inf)}, ValueError, esc("P[2, 0, 0, 0] is") + ".*inf"),
    ("P_negative", {"P": with_entry(P0, (1, 1, 1, 0), -0.25)}, ValueError, esc("P[1, 1, 1, 0] is") + ".*-0.25.*>= 0"),
    ("P_row_sum", {"P": bad_row()}, ValueError, esc("P[1, 0, 1, :] sums to") + ".*not 1"),
    ("P_ndim", {"P": np.ones((3, 3)) / 3}, ValueError, esc("P must have shape") + ".*got shape \\(3, 3\\)"),
    ("P_states", {"P": np.ones((3, 2, 2, 2)) / 2}, ValueError, "P must start and end with the same number of states"),
    ("P_no_action", {"P": np.ones((3, 2, 0, 3)) / 3}, ValueError, "every agent needs at least one action"),
    ("r_nan", {"r": with_entry(R0, (1, 1, 0), np.nan)}, ValueError, esc("r[1, 1, 0] is") + ".*finite"),
    ("r_shape", {"r": np.zeros((3, 2))}, ValueError, esc("r must have shape (3, 2, 2) to match P, got (3, 2)")),
    ("mu_negative", {"mu": [1.2, -0.2, 0.0]}, ValueError, esc("mu[1] is") + ".*-0.2"),
    ("mu_sum", {"mu": [0.5, 0.25, 0.125]}, ValueError, "mu sums to .*0.875.*not 1"),
    ("mu_shape", {"mu": [1.0, 0.0]}, ValueError, esc("mu must have shape (3,) to match P, got (2,)")),
    ("mu_nan", {"mu": [np.nan, 0.5, 0.5]}, ValueError, esc("mu[0] is") + ".*finite"),
    ("gamma_one", {"gamma": 1.0}, ValueError, esc("gamma must satisfy 0 <= gamma < 1, got 1.0")),
    ("gamma_negative", {"gamma": -0.1}, ValueError, esc("gamma must satisfy 0 <= gamma < 1, got -0.1")),
    ("gamma_nan", {"gamma": float("nan")}, ValueError, "gamma must be finite, got nan"),
    ("gamma_bool", {"gamma": True}, TypeError, "gamma must be a real number, got bool"),
    ("gamma_complex", {"gamma": 0.5j}, TypeError, "gamma must be a real number, got complex"),
    ("gamma_str", {"gamma": "0.9"}, TypeError, "gamma must be a real number, got str"),
    ("P_bool", {"P": P0 > 0.5}, TypeError, "P must hold real numbers, got dtype bool"),
    ("P_complex", {"P": P0.astype(complex)}, TypeError, "P must hold real numbers, got dtype complex"),
    ("r_str", {"r": "rewards"}, TypeError, "r must be an array of real numbers, got str"),
    ("mu_none", {"mu": None}, TypeError, "mu must be an array of real numbers, got NoneType"),
    ("mu_object", {"mu": [0.5, 0.5, object()]}, TypeError, "mu must hold real numbers, got dtype object"),
]


@pytest.mark.parametrize("overrides, exc, pattern", [c[1:] for c in GAME_CASES], ids=[c[0] for c in GAME_CASES])
def test_game_errors(overrides, exc, pattern):
    kwargs = {"P": P0, "r": R0, "mu": MU0, "gamma": 0.9, **overrides}
    with pytest.raises(exc, match=pattern):
        bnpg.MarkovGame(**kwargs)


# --------------------------------------------------------------------------------------------
# Item 2: DAG
# --------------------------------------------------------------------------------------------

DAG_CASES = [
    ("cycle", lambda: bnpg.DAG([[1], [2], [0]]), ValueError, "parents must describe an acyclic graph, found the cycle"),
    ("cycle_edges", lambda: bnpg.DAG.from_edges(2, [(0, 1), (1, 0)]), ValueError, "cycle"),
    ("self_loop", lambda: bnpg.DAG([[0]]), ValueError, esc("parents[0] contains agent 0 itself (a self-loop)")),
    ("out_of_range", lambda: bnpg.DAG([[], [7]]), ValueError, esc("parents[1] entry must be an agent in 0..1, got 7")),
    ("negative", lambda: bnpg.DAG([[-1], []]), ValueError, esc("parents[0] entry must be an agent in 0..1, got -1")),
    ("duplicate", lambda: bnpg.DAG([[], [0, 0]]), ValueError, esc("parents[1] lists agent 0 more than once")),
    ("no_agents", lambda: bnpg.DAG([]), ValueError, "parents must describe at least one agent"),
    ("edge_child", lambda: bnpg.DAG.from_edges(2, [(0, 2)]), ValueError, esc("edges[0] child must be an agent in 0..1, got 2")),
    ("edge_not_pair", lambda: bnpg.DAG.from_edges(2, [(0, 1, 1)]), TypeError, esc("edges[0] must be a (parent, child) pair, got (0, 1, 1)")),
    ("parents_str", lambda: bnpg.DAG("01"), TypeError, "parents must be a sequence of parent lists, got str"),
    ("parents_int", lambda: bnpg.DAG(3), TypeError, "parents must be a sequence of parent lists, got int"),
    ("entry_int", lambda: bnpg.DAG([[], 0]), TypeError, esc("parents[1] must be a list of agents, got int")),
    ("entry_float", lambda: bnpg.DAG([[], [0.0]]), TypeError, esc("parents[1] entry must be an integer, got float 0.0")),
    ("entry_bool", lambda: bnpg.DAG([[], [False]]), TypeError, esc("parents[1] entry must be an integer, got bool False")),
    ("n_agents_zero", lambda: bnpg.DAG.chain(0), ValueError, "n_agents must be >= 1, got 0"),
    ("n_agents_float", lambda: bnpg.DAG.full(2.0), TypeError, "n_agents must be an integer, got float 2.0"),
    ("p_range", lambda: bnpg.DAG.random(3, 2.0, seed=0), ValueError, esc("p must be a probability in [0, 1], got 2.0")),
    ("p_type", lambda: bnpg.DAG.random(3, None, seed=0), TypeError, "p must be a real number, got NoneType"),
    ("seed_type", lambda: bnpg.DAG.random(3, 0.5, seed=0.5), TypeError, "seed must be an int or a numpy.random.Generator, got float"),
]


@pytest.mark.parametrize("build, exc, pattern", [c[1:] for c in DAG_CASES], ids=[c[0] for c in DAG_CASES])
def test_dag_errors(build, exc, pattern):
    with pytest.raises(exc, match=pattern):
        build()


# --------------------------------------------------------------------------------------------
# Item 3: BNPolicy
# --------------------------------------------------------------------------------------------


def thetas(**changes):
    theta = [np.array(t) for t in POLICY.theta]
    for key, value in changes.items():
        theta[int(key[1:])] = value
    return theta


POLICY_CASES = [
    ("count", lambda: bnpg.BNPolicy(GAME, DAG, thetas()[:2]), ValueError, esc("theta must hold one array per agent (3), got 2")),
    ("shape", lambda: bnpg.BNPolicy(GAME, DAG, thetas(t0=np.zeros((3, 2)))), ValueError,
     esc("theta[0] must have shape (3, 2, 2)") + ".*got \\(3, 2\\)"),
    ("transposed", lambda: bnpg.BNPolicy(GAME, DAG, thetas(t1=np.zeros((3, 2, 3, 2)))), ValueError,
     esc("theta[1] must have shape (3, 2, 2, 3)")),
    ("nan", lambda: bnpg.BNPolicy(GAME, DAG, thetas(t2=with_entry(POLICY.theta[2], (1, 0), np.nan))), ValueError,
     esc("theta[2][1, 0] is") + ".*finite"),
    ("inf", lambda: bnpg.BNPolicy(GAME, DAG, thetas(t2=with_entry(POLICY.theta[2], (0, 1), -np.inf))), ValueError,
     esc("theta[2][0, 1] is") + ".*inf"),
    ("bool", lambda: bnpg.BNPolicy(GAME, DAG, thetas(t2=np.zeros((3, 2), dtype=bool))), TypeError,
     esc("theta[2] must hold real numbers, got dtype bool")),
    ("complex", lambda: bnpg.BNPolicy(GAME, DAG, thetas(t2=np.zeros((3, 2), dtype=complex))), TypeError,
     esc("theta[2] must hold real numbers, got dtype complex")),
    ("str_entry", lambda: bnpg.BNPolicy(GAME, DAG, thetas(t2="zeros")), TypeError, esc("theta[2] must be an array")),
    ("single_array", lambda: bnpg.BNPolicy(GAME, DAG, np.zeros((3, 3, 2))), TypeError,
     "theta must be a list with one array per agent, got a single array"),
    ("theta_number", lambda: bnpg.BNPolicy(GAME, DAG, 0.0), TypeError, "theta must be a list with one array per agent, got float"),
    ("game_type", lambda: bnpg.BNPolicy(P0, DAG), TypeError, "game must be a MarkovGame, got ndarray"),
    ("dag_type", lambda: bnpg.BNPolicy(GAME, [[2], [0, 2], []]), TypeError, "dag must be a DAG, got list"),
    ("dag_agents", lambda: bnpg.BNPolicy(GAME, bnpg.DAG.chain(2)), ValueError, "dag has 2 agents but the game has 3"),
    ("scale", lambda: bnpg.BNPolicy.random(GAME, DAG, seed=0, scale=-2.0), ValueError, "scale must be >= 0, got -2.0"),
    ("vector_shape", lambda: POLICY.with_flat(np.zeros(3)), ValueError, esc(f"vector must have shape ({POLICY.n_params},), got (3,)")),
    ("local_index", lambda: POLICY.local(-1), ValueError, "i must be an agent in 0..2, got -1"),
    ("marginal_entry", lambda: POLICY.marginal([0, 3]), ValueError, "agents entry must be an agent in 0..2, got 3"),
    ("marginal_dup", lambda: POLICY.marginal([2, 2]), ValueError, "agents lists an agent more than once"),
    ("sample_state", lambda: POLICY.sample(-1, np.random.default_rng(0)), ValueError, "s must be a state in 0..2, got -1"),
    ("sample_rng", lambda: POLICY.sample(0, np.random.RandomState(0)), TypeError, "rng must be a numpy.random.Generator, got RandomState"),
]


@pytest.mark.parametrize("build, exc, pattern", [c[1:] for c in POLICY_CASES], ids=[c[0] for c in POLICY_CASES])
def test_policy_errors(build, exc, pattern):
    with pytest.raises(exc, match=pattern):
        build()


# --------------------------------------------------------------------------------------------
# Functions: lambda, eta, steps, metrics, mismatched policy and game, wrong types
# --------------------------------------------------------------------------------------------

POLICY_FUNCTIONS = {
    "evaluate": lambda g, p: bnpg.evaluate(g, p),
    "value": lambda g, p: bnpg.value(g, p),
    "visitation": lambda g, p: bnpg.visitation(g, p),
    "partial_q": lambda g, p: bnpg.partial_q(g, p, [0]),
    "local_advantage": lambda g, p: bnpg.local_advantage(g, p, 0),
    "objective": lambda g, p: bnpg.objective(g, p, 0.1),
    "gradient": lambda g, p: bnpg.gradient(g, p, 0.1),
    "lemma1_gradient": lambda g, p: bnpg.lemma1_gradient(g, p, 0.1),
    "best_response": lambda g, p: bnpg.best_response(g, p, 0),
    "best_response_value": lambda g, p: bnpg.best_response_value(g, p, 0),
    "nash_gaps": lambda g, p: bnpg.nash_gaps(g, p),
    "nash_gap": lambda g, p: bnpg.nash_gap(g, p),
    "optimality_gap": lambda g, p: bnpg.optimality_gap(g, p),
    "gradient_ascent": lambda g, p: bnpg.gradient_ascent(g, p, lam=0.1, eta=0.1, steps=1),
}


@pytest.mark.parametrize("name", sorted(POLICY_FUNCTIONS))
def test_policy_for_another_game_same_shapes(name):
    with pytest.raises(ValueError, match=esc("policy was built for a different game") + ".*same shapes, different arrays"):
        POLICY_FUNCTIONS[name](OTHER, POLICY)


@pytest.mark.parametrize("name", sorted(POLICY_FUNCTIONS))
def test_policy_for_another_game_other_shapes(name):
    with pytest.raises(ValueError, match=esc("policy was built for a different game") + ".*action sizes \\(2, 2\\)"):
        POLICY_FUNCTIONS[name](GAME, SMALL_POLICY)


@pytest.mark.parametrize("name", sorted(POLICY_FUNCTIONS))
def test_wrong_game_and_policy_types(name):
    with pytest.raises(TypeError, match="game must be a MarkovGame, got str"):
        POLICY_FUNCTIONS[name]("game", POLICY)
    with pytest.raises(TypeError, match="policy must be a BNPolicy, got list"):
        POLICY_FUNCTIONS[name](GAME, [np.zeros(2)])


def test_equal_game_copy_is_accepted():
    # A game equal to the policy's (same arrays, another object) is the same game.
    copy = bnpg.MarkovGame(GAME.P.copy(), GAME.r.copy(), GAME.mu.copy(), GAME.gamma)
    assert bnpg.value(copy, POLICY) == bnpg.value(GAME, POLICY)


LAM_FUNCTIONS = {
    "objective": lambda lam: bnpg.objective(GAME, POLICY, lam),
    "gradient": lambda lam: bnpg.gradient(GAME, POLICY, lam),
    "lemma1_gradient": lambda lam: bnpg.lemma1_gradient(GAME, POLICY, lam),
    "smoothness_bound": lambda lam: bnpg.smoothness_bound(GAME, DAG, lam),
    "gradient_ascent": lambda lam: bnpg.gradient_ascent(GAME, POLICY, lam=lam, eta=0.1, steps=1),
}


@pytest.mark.parametrize("name", sorted(LAM_FUNCTIONS))
def test_lambda_errors(name):
    f = LAM_FUNCTIONS[name]
    with pytest.raises(ValueError, match=esc("lam must be >= 0, got -0.1")):
        f(-0.1)
    with pytest.raises(ValueError, match="lam must be finite, got nan"):
        f(float("nan"))
    with pytest.raises(ValueError, match="lam must be finite, got inf"):
        f(float("inf"))
    with pytest.raises(TypeError, match="lam must be a real number, got bool"):
        f(True)
    with pytest.raises(TypeError, match="lam must be a real number, got str"):
        f("0.1")


def ascent(**kwargs):
    args = {"lam": 0.1, "eta": 0.1, "steps": 2, **kwargs}
    return bnpg.gradient_ascent(GAME, POLICY, **args)


ASCENT_CASES = [
    ("eta_zero", {"eta": 0.0}, ValueError, esc("eta must be > 0, got 0.0")),
    ("eta_negative", {"eta": -1}, ValueError, esc("eta must be > 0, got -1.0")),
    ("eta_nan", {"eta": float("nan")}, ValueError, "eta must be finite, got nan"),
    ("eta_str", {"eta": "0.1"}, TypeError, "eta must be a real number, got str"),
    ("steps_negative", {"steps": -1}, ValueError, "steps must be >= 0, got -1"),
    ("steps_float", {"steps": 2.0}, TypeError, "steps must be an integer, got float 2.0"),
    ("steps_bool", {"steps": True}, TypeError, "steps must be an integer, got bool"),
    ("record_zero", {"record_every": 0}, ValueError, "record_every must be >= 1, got 0"),
    ("record_float", {"record_every": 1.5}, TypeError, "record_every must be an integer"),
    ("metrics_str", {"metrics": "value"}, TypeError, "metrics must be a sequence of metric names or functions, got 'value'"),
    ("metrics_unknown", {"metrics": ("value", "regret")}, ValueError, "metrics contains 'regret'"),
    ("stop_unrecorded", {"stop_below": {"nash_gap": 0.1}}, ValueError, "stop_below names 'nash_gap', which is not among metrics"),
    ("stop_threshold", {"stop_below": {"value": "high"}}, TypeError, esc("stop_below['value'] must be a real number, got str")),
]


@pytest.mark.parametrize("kwargs, exc, pattern", [c[1:] for c in ASCENT_CASES], ids=[c[0] for c in ASCENT_CASES])
def test_gradient_ascent_errors(kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        ascent(**kwargs)


OTHER_CASES = [
    ("value_factor", lambda: bnpg.lemma1_gradient(GAME, POLICY, value_factor="1"), TypeError, "value_factor must be a real number, got str"),
    ("br_agent", lambda: bnpg.best_response(GAME, POLICY, 3), ValueError, "i must be an agent in 0..2, got 3"),
    ("br_agent_type", lambda: bnpg.best_response_value(GAME, POLICY, 1.0), TypeError, "i must be an integer, got float"),
    ("adv_agent", lambda: bnpg.local_advantage(GAME, POLICY, 5), ValueError, "i must be an agent in 0..2, got 5"),
    ("pq_agents", lambda: bnpg.partial_q(GAME, POLICY, [0, 9]), ValueError, "agents entry must be an agent in 0..2, got 9"),
    ("pq_agents_type", lambda: bnpg.partial_q(GAME, POLICY, 0), TypeError, "agents must be an iterable of agents, got int"),
    ("optimal_value", lambda: bnpg.optimal_value("game"), TypeError, "game must be a MarkovGame, got str"),
    ("optimal_solution", lambda: bnpg.optimal_solution(None), TypeError, "game must be a MarkovGame, got NoneType"),
    ("mismatch", lambda: bnpg.mismatch_coefficient(P0), TypeError, "game must be a MarkovGame, got ndarray"),
    ("extremes", lambda: bnpg.visitation_extremes(1), TypeError, "game must be a MarkovGame, got int"),
    ("min_visitation", lambda: bnpg.min_visitation("g"), TypeError, "game must be a MarkovGame, got str"),
    ("smooth_game", lambda: bnpg.smoothness_bound("g", DAG, 0.0), TypeError, "game must be a MarkovGame, got str"),
    ("smooth_dag", lambda: bnpg.smoothness_bound(GAME, [[2], [0, 2], []], 0.0), TypeError, "dag must be a DAG, got list"),
    ("smooth_agents", lambda: bnpg.smoothness_bound(GAME, bnpg.DAG.chain(4), 0.0), ValueError, "dag has 4 agents but the game has 3"),
    ("log_barrier", lambda: bnpg.log_barrier(GAME), TypeError, "policy must be a BNPolicy, got MarkovGame"),
]


@pytest.mark.parametrize("build, exc, pattern", [c[1:] for c in OTHER_CASES], ids=[c[0] for c in OTHER_CASES])
def test_other_errors(build, exc, pattern):
    with pytest.raises(exc, match=pattern):
        build()
