"""The Lemma 3 tools: proof-step ratios and the telescoping identity (bnpg.theory.telescoping), adversarial games
and the search for large gaps (bnpg.games.jackpot_game, bnpg.experiments.studies.lemma3_search).

Independent routes used here:

* local and joint probabilities from scipy's softmax and explicit loops (tests/oracles.py), marginals
  by summing the loop-built joint policy;
* ``Q - V`` from the Neumann series (oracles.evaluate_by_series), and the gradient of
  ``L_lambda`` from fourth-order finite differences of :func:`bnpg.objective`, so the identity of
  :func:`telescoped_advantage` is checked without bnpg's gradient or evaluation;
* optimal and worst values from a linear program on joint actions, or by hand on one-state games
  (``V = sum_a pi(a) r(a) / (1 - gamma)``, ``M = 1``);
* the jackpot game's structure by enumerating joint actions and counting differing coordinates.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from oracles import (
    evaluate_by_series,
    finite_difference,
    joint_actions,
    joint_mdp,
    local_probs,
    lp_optimal_values,
    policy_joint,
)

import bnpg
from bnpg.experiments.instances import Instance, concentrated_policy, lemma_instance
from bnpg.experiments.results import load_instance, load_results
from bnpg.experiments.studies.lemma3_search import (
    lemma3_candidates,
    lemma3_point,
    lemma3_search,
    save_lemma3_search,
)
from bnpg.games.library import climbing_game, jackpot_game, random_game
from bnpg.theory.constants import gradient_threshold
from bnpg.theory.telescoping import proof_step_ratios, telescoped_advantage
from tests.conftest import reversed_full_dag, snapshot


def fd_grads(game, policy, lam):
    """Gradient of L_lambda by finite differences of bnpg.objective, in the layout of policy.theta."""
    flat = finite_difference(lambda x: bnpg.objective(game, policy.with_flat(x), lam), policy.flat())
    return policy.unflatten(flat)


FULL_DAGS = [
    bnpg.DAG.full(2),
    bnpg.DAG.full(3),
    reversed_full_dag(3),
    bnpg.DAG([[2], [0, 2], []]),  # fully correlated, order 2 -> 0 -> 1
]


# -- proof_step_ratios -----------------------------------------------------------------------------
@pytest.mark.parametrize("dag", FULL_DAGS + [bnpg.DAG.empty(3), bnpg.DAG.chain(3)])
def test_proof_step_ratios_by_loops(dag):
    rng = np.random.default_rng(3)
    sizes = (2, 3, 2)[: dag.n_agents]
    game = random_game(2, sizes, seed=rng)
    policy = bnpg.BNPolicy.random(game, dag, seed=rng, scale=2.0)
    locals_ = local_probs(policy.theta)
    pi = policy_joint(policy)
    n = game.n_agents
    local = min(2 * sizes[i] * locals_[i].min() for i in range(n))
    parents = []
    for i in range(n):
        ps = dag.parents(i)
        if not ps:
            parents.append(2.0**n)
            continue
        others = tuple(1 + j for j in range(n) if j not in ps)
        marginal = pi.sum(axis=others)
        parents.append(2**n * np.prod([sizes[j] for j in ps]) * marginal.min())
    out = proof_step_ratios(policy)
    assert set(out) == {"local", "parents"}
    assert out["local"] == pytest.approx(local, rel=1e-12)
    assert out["parents"] == pytest.approx(min(parents), rel=1e-12)


def test_proof_step_ratios_rejects_non_policy():
    with pytest.raises(TypeError, match="policy"):
        proof_step_ratios(np.zeros(3))


# -- telescoped_advantage --------------------------------------------------------------------------
@pytest.mark.parametrize("dag", FULL_DAGS)
@pytest.mark.parametrize("lam", [0.0, 0.4])
def test_telescoped_advantage_identity_against_independent_routes(dag, lam):
    rng = np.random.default_rng(17)
    sizes = (2, 3, 2)[: dag.n_agents]
    game = random_game(2, sizes, seed=rng, gamma=0.7)
    policy = bnpg.BNPolicy.random(game, dag, seed=rng)
    V, Q, _ = evaluate_by_series(game, policy_joint(policy))
    lhs = Q - V.reshape((-1,) + (1,) * game.n_agents)
    grad_part, barrier_part = telescoped_advantage(game, policy, lam, grads=fd_grads(game, policy, lam))
    assert np.max(np.abs(grad_part + barrier_part - lhs)) <= 1e-8 * np.max(np.abs(lhs))
    exact_part, barrier_exact = telescoped_advantage(game, policy, lam)
    np.testing.assert_array_equal(barrier_exact, barrier_part)
    assert np.max(np.abs(exact_part + barrier_exact - lhs)) <= 1e-11 * np.max(np.abs(lhs))


def test_telescoped_advantage_barrier_part_by_hand():
    # uniform policy, one state: pi(a) = 1/|A|, so the barrier part vanishes; and gamma = 0, d = 1,
    # so with lam = 0 the gradient part is the whole advantage r(a) - mean(r)
    game = climbing_game(gamma=0.0)
    policy = bnpg.BNPolicy(game, bnpg.DAG.full(2))
    grad_part, barrier_part = telescoped_advantage(game, policy, 0.3)
    np.testing.assert_allclose(barrier_part, 0.0, atol=1e-15)
    grad0, _ = telescoped_advantage(game, policy, 0.0)
    r = game.r[0]
    np.testing.assert_allclose(grad0[0], r - r.mean(), rtol=0, atol=1e-13)
    # a non-uniform one-state policy: barrier part = lam / (S d) (1 - 1 / (|A| pi(a)))
    policy = concentrated_policy(game, bnpg.DAG.full(2), (0, 2), np.log(5.0))
    _, barrier_part = telescoped_advantage(game, policy, 0.3)
    pi = policy_joint(policy)[0]
    np.testing.assert_allclose(barrier_part[0], 0.3 * (1.0 - 1.0 / (9 * pi)), rtol=1e-12)


def test_telescoped_advantage_bound_at_stationary_points():
    """The consequence: under the threshold, Q - V <= lam / (S d) everywhere (sqrt(N) <= 2 max A^i)."""
    for k in range(6):
        inst = lemma_instance(11, k, full=True, n_states=(1, 2), n_agents=(2, 3), lam_range=(0.01, 0.3))
        rec, policy = lemma3_point(inst)
        assert rec["met"]
        V, Q, d = evaluate_by_series(inst.game, policy_joint(policy))
        S = inst.game.n_states
        shape = (S,) + (1,) * inst.game.n_agents
        scaled = (Q - V.reshape(shape)) * S * d.reshape(shape) / inst.lam
        assert scaled.max() <= 1.0
        assert rec["advantage_ratio"] == pytest.approx(scaled.max(), rel=1e-9)
        assert rec["optimality_gap"] <= rec["pd_bound"] <= inst.lam * rec["M"] * (1 + 1e-12)


def test_telescoped_advantage_rejects_bad_input():
    game = climbing_game()
    with pytest.raises(ValueError, match="fully-correlated"):
        telescoped_advantage(game, bnpg.BNPolicy(game, bnpg.DAG.empty(2)), 0.1)
    game3 = random_game(1, (2, 2, 2), seed=0)
    with pytest.raises(ValueError, match="fully-correlated"):
        telescoped_advantage(game3, bnpg.BNPolicy(game3, bnpg.DAG.chain(3)), 0.1)
    policy = bnpg.BNPolicy(game, bnpg.DAG.full(2))
    with pytest.raises(ValueError, match="lam"):
        telescoped_advantage(game, policy, -1.0)
    with pytest.raises(ValueError, match="grads"):
        telescoped_advantage(game, policy, 0.1, grads=[np.zeros((1, 3))])
    with pytest.raises(ValueError, match=r"grads\[1\]"):
        telescoped_advantage(game, policy, 0.1, grads=[np.zeros((1, 3)), np.zeros((1, 3))])
    with pytest.raises(TypeError, match=r"grads\[0\]"):
        telescoped_advantage(game, policy, 0.1, grads=["a", np.zeros((1, 3, 3))])


def test_telescoped_advantage_does_not_mutate_inputs():
    game = climbing_game(gamma=0.5)
    policy = bnpg.BNPolicy.random(game, bnpg.DAG.full(2), seed=1)
    grads = [np.ones((1, 3)), np.ones((1, 3, 3))]
    before = snapshot(*policy.theta, *grads)
    telescoped_advantage(game, policy, 0.2, grads=grads)
    for a, b in zip(before, [*policy.theta, *grads], strict=True):
        np.testing.assert_array_equal(a, b)


# -- concentrated_policy ---------------------------------------------------------------------------
@pytest.mark.parametrize("dag", [bnpg.DAG.full(3), reversed_full_dag(3), bnpg.DAG.empty(3)])
def test_concentrated_policy_probabilities(dag):
    game = random_game(2, (2, 3, 4), seed=5)
    scale = 1.7
    policy = concentrated_policy(game, dag, (1, 0, 3), scale)
    for i, (a, k) in enumerate(zip((1, 0, 3), (2, 3, 4), strict=True)):
        local = local_probs(policy.theta)[i]
        expected = np.full(k, 1.0 / (np.exp(scale) + k - 1))
        expected[a] = np.exp(scale) / (np.exp(scale) + k - 1)
        np.testing.assert_allclose(local.reshape(-1, k), np.broadcast_to(expected, (local.size // k, k)),
                                   rtol=1e-13)


def test_concentrated_policy_rejects_bad_input():
    game = climbing_game()
    dag = bnpg.DAG.full(2)
    with pytest.raises(TypeError, match="game"):
        concentrated_policy("game", dag, (0, 0), 1.0)
    with pytest.raises(TypeError, match="dag"):
        concentrated_policy(game, [[0]], (0, 0), 1.0)
    with pytest.raises(ValueError, match="agents"):
        concentrated_policy(game, bnpg.DAG.full(3), (0, 0), 1.0)
    with pytest.raises(ValueError, match="actions"):
        concentrated_policy(game, dag, (0,), 1.0)
    with pytest.raises(ValueError, match=r"actions\[1\]"):
        concentrated_policy(game, dag, (0, 3), 1.0)
    with pytest.raises(TypeError, match="actions"):
        concentrated_policy(game, dag, "00", 1.0)
    with pytest.raises(TypeError, match=r"actions\[0\]"):
        concentrated_policy(game, dag, (0.5, 0), 1.0)
    with pytest.raises(TypeError, match="scale"):
        concentrated_policy(game, dag, (0, 0), "big")


# -- jackpot_game ----------------------------------------------------------------------------------
@pytest.mark.parametrize("sizes, n_states", [((3, 3), 1), ((2, 4), 2), ((3, 2, 3), 3)])
def test_jackpot_game_structure(sizes, n_states):
    game = jackpot_game(sizes, seed=4, jackpot=3.0, penalty=-7.0, gamma=0.8, n_states=n_states)
    assert game.n_states == n_states and game.action_sizes == sizes and game.gamma == 0.8
    for s in range(n_states):
        r = game.r[s]
        tops = [a for a in joint_actions(sizes) if r[a] == 3.0]
        assert len(tops) == 1
        top = tops[0]
        for a in joint_actions(sizes):
            differ = sum(x != y for x, y in zip(a, top, strict=True))
            if differ == 1:
                assert r[a] == -7.0
            elif differ > 1:
                assert 0.0 <= r[a] <= 1.0
    assert game == jackpot_game(sizes, seed=4, jackpot=3.0, penalty=-7.0, gamma=0.8, n_states=n_states)


def test_jackpot_game_optimal_value_by_hand_and_by_lp():
    game = jackpot_game((3, 3), seed=1, jackpot=4.0, gamma=0.5)
    assert bnpg.optimal_value(game) == pytest.approx(4.0 / (1 - 0.5), rel=1e-12)
    game = jackpot_game((2, 3), seed=2, jackpot=2.5, n_states=3, gamma=0.9)
    R, K = joint_mdp(game)
    assert bnpg.optimal_value(game) == pytest.approx(float(game.mu @ lp_optimal_values(R, K, 0.9)), rel=1e-9)
    # the jackpot in every state is the best reward, so V* = 2.5 / (1 - gamma) whatever the transitions
    assert bnpg.optimal_value(game) == pytest.approx(2.5 / 0.1, rel=1e-9)


def test_jackpot_game_rejects_bad_input():
    with pytest.raises(ValueError, match="jackpot"):
        jackpot_game((2, 2), seed=0, jackpot=1.0)
    with pytest.raises(ValueError, match="penalty"):
        jackpot_game((2, 2), seed=0, penalty=0.0)
    with pytest.raises(ValueError, match=r"action_sizes\[1\]"):
        jackpot_game((2, 1), seed=0)
    with pytest.raises(ValueError, match="action_sizes"):
        jackpot_game((), seed=0)
    with pytest.raises(TypeError, match="action_sizes"):
        jackpot_game(3, seed=0)
    with pytest.raises(ValueError, match="n_states"):
        jackpot_game((2, 2), seed=0, n_states=0)
    with pytest.raises(ValueError, match="gamma"):
        jackpot_game((2, 2), seed=0, gamma=1.0)
    with pytest.raises(TypeError, match="jackpot"):
        jackpot_game((2, 2), seed=0, jackpot="big")


# -- lemma3_point ----------------------------------------------------------------------------------
def test_lemma3_point_one_state_by_hand():
    game = climbing_game(gamma=0.0)
    dag = bnpg.DAG.full(2)
    lam = 0.1
    rec, policy = lemma3_point(Instance(game, dag, lam, concentrated_policy(game, dag, (1, 1), 3.0)))
    pi = policy_joint(policy)[0]
    r = game.r[0]
    value = float((pi * r).sum())  # gamma = 0: V = E r, d = 1, M = 1
    grad_norm = np.linalg.norm(np.concatenate([g.ravel() for g in fd_grads(game, policy, lam)]))
    assert rec["met"] == (grad_norm <= lam / (2 * 1 * 9 * 3)) and rec["met"]
    assert rec["threshold"] == gradient_threshold(game, lam)
    assert rec["value"] == pytest.approx(value, rel=1e-12)
    assert rec["optimal_value"] == pytest.approx(11.0, rel=1e-12)
    assert rec["worst_value"] == pytest.approx(-30.0, rel=1e-12)
    assert rec["M"] == pytest.approx(1.0, rel=1e-12)
    assert rec["optimality_gap"] == pytest.approx(11.0 - value, rel=1e-9)
    assert rec["bound"] == pytest.approx(2**3 * 2 * lam, rel=1e-12)
    assert rec["ratio"] == pytest.approx((11.0 - value) / (16 * lam), rel=1e-9)
    assert rec["gap_over_lam_m"] == pytest.approx((11.0 - value) / lam, rel=1e-9)
    assert rec["nonvacuous"] == (16 * lam < 41.0)
    assert rec["advantage_ratio"] == pytest.approx((r - value).max() / lam, rel=1e-9)
    assert rec["pd_bound"] == pytest.approx(lam, rel=1e-12)   # lam / S * d*(s) / d(s) = lam
    ratios = proof_step_ratios(policy)
    assert (rec["local_ratio"], rec["parents_ratio"]) == (ratios["local"], ratios["parents"])
    # the point found is near the optimum (0, 0), not at the equilibrium (1, 1) it started from
    assert rec["optimality_gap"] <= lam


def test_lemma3_point_multi_state_against_lp():
    inst = lemma_instance(4, 2, full=True, n_states=(2,), n_agents=(2,), n_actions=(2,))
    rec, policy = lemma3_point(inst)
    game = inst.game
    V, _, _ = evaluate_by_series(game, policy_joint(policy))
    R, K = joint_mdp(game)
    v_star = float(game.mu @ lp_optimal_values(R, K, game.gamma))
    v_worst = -float(game.mu @ lp_optimal_values(-R, K, game.gamma))
    assert rec["value"] == pytest.approx(float(game.mu @ V), rel=1e-9)
    assert rec["optimal_value"] == pytest.approx(v_star, rel=1e-8)
    assert rec["worst_value"] == pytest.approx(v_worst, rel=1e-8)
    assert rec["nonvacuous"] == (rec["bound"] < v_star - v_worst)
    assert rec["met"] and rec["optimality_gap"] <= rec["bound"]


def test_lemma3_point_rejects_bad_input():
    game = climbing_game()
    with pytest.raises(TypeError, match="instance"):
        lemma3_point((game, bnpg.DAG.full(2), 0.1, None))
    inst = Instance(game, bnpg.DAG.empty(2), 0.1, bnpg.BNPolicy(game, bnpg.DAG.empty(2)))
    with pytest.raises(ValueError, match="fully correlated"):
        lemma3_point(inst)


# -- the candidates and the search -----------------------------------------------------------------
def test_lemma3_candidates_cover_the_families():
    cands = lemma3_candidates(lams=(0.1, 1.0), gammas=(0.0, 0.9), scales=(3.0,))
    labels = [label for label, _ in cands]
    assert len(labels) == len(set(labels))
    assert all(inst.dag.is_fully_correlated for _, inst in cands)
    fields = [label.split("|") for label in labels]
    families = {f[0] for f in fields}
    assert {"climbing", "penalty-100", "penalty-1000", "jackpot-2x3", "jackpot-2x10", "jackpot-3x3",
            "jackpot-2x3-S3", "jackpot-3x3-S3", "random-3x3", "search-2", "search-3"} == families
    assert {f[1] for f in fields if f[0].startswith("search")} == {"0.9"}      # gamma > 0 only
    assert {f[2] for f in fields} == {"full", "reversed"}
    assert {f[4] for f in fields} == {"0.1", "1"}
    for label, inst in cands:
        family, gamma, order, start, lam = label.split("|")
        assert inst.game.gamma == float(gamma) and inst.lam == float(lam)
        first = inst.dag.topological_order[0]
        assert first == (0 if order == "full" else inst.game.n_agents - 1)
        if start == "uniform":
            assert np.all(inst.policy.flat() == 0.0)
        else:
            actions = tuple(int(x) for x in start[len("near"):start.index("x")])
            assert np.all(inst.policy.joint().reshape(inst.game.n_states, -1).argmax(axis=1)
                          == np.ravel_multi_index(actions, inst.game.action_sizes))
    climbing = [inst for label, inst in cands if label.startswith("climbing|0|full|near11")]
    assert climbing and climbing[0].game == climbing_game(0.0)


def test_lemma3_candidates_are_reproducible_and_validated():
    a = lemma3_candidates(lams=(0.1,), gammas=(0.5,), scales=(2.0,), seed=3)
    b = lemma3_candidates(lams=(0.1,), gammas=(0.5,), scales=(2.0,), seed=3)
    assert [x[0] for x in a] == [x[0] for x in b]
    for (_, x), (_, y) in zip(a, b, strict=True):
        assert x.game == y.game and x.dag == y.dag and np.array_equal(x.policy.flat(), y.policy.flat())
    with pytest.raises(ValueError, match="lams"):
        lemma3_candidates(lams=(0.0,))
    with pytest.raises(ValueError, match="scales"):
        lemma3_candidates(scales=(-1.0,))
    with pytest.raises(ValueError, match="seed"):
        lemma3_candidates(seed=-2)


def test_lemma3_search_matches_lemma3_point():
    cands = lemma3_candidates(lams=(0.1,), gammas=(0.0,), scales=(3.0,))[:3]
    results, policies = lemma3_search(cands, max_steps=3000)
    assert results["label"].tolist() == [label for label, _ in cands]
    assert str(results["study"]) == "lemma3_adversarial"
    for k, (_, inst) in enumerate(cands):
        rec, policy = lemma3_point(inst, max_steps=3000)
        assert results["ratio"][k] == rec["ratio"]
        np.testing.assert_array_equal(policies[k].flat(), policy.flat())
    with pytest.raises(TypeError, match="candidates"):
        lemma3_search([("x", 3)])
    with pytest.raises(TypeError, match="candidates"):
        lemma3_search("abc")


def test_save_lemma3_search_writes_the_worst_point(tmp_path):
    out = save_lemma3_search(tmp_path, lams=(0.1,), gammas=(0.0,), scales=(3.0,), max_steps=3000)
    assert sorted(os.listdir(tmp_path)) == ["lemma3-search.json", "lemma3-worst.npz"]
    saved = load_results(tmp_path / "lemma3-search.json")
    eligible = saved["met"] & saved["nonvacuous"]
    worst = int(saved["worst_index"])
    assert worst == int(out["worst_index"])
    assert eligible[worst] and saved["ratio"][worst] == saved["ratio"][eligible].max()
    game, dag, lam, policy = load_instance(tmp_path / "lemma3-worst.npz")
    cands = lemma3_candidates(lams=(0.1,), gammas=(0.0,), scales=(3.0,))
    label, inst = cands[worst]
    assert str(saved["label"][worst]) == label
    assert game == inst.game and dag == inst.dag and lam == inst.lam
    value = float(game.mu @ evaluate_by_series(game, policy_joint(policy))[0])
    assert saved["value"][worst] == pytest.approx(value, rel=1e-9)


def test_save_lemma3_search_refuses_when_nothing_is_eligible(tmp_path):
    # lambda = 100: 2^(N+1) N lambda M >= 1600 exceeds the spread of values of every game here
    # (at most 10 - (-1000) for the penalty game with k = -1000, with gamma = 0)
    with pytest.raises(ValueError, match="non-vacuous"):
        save_lemma3_search(tmp_path, lams=(100.0,), gammas=(0.0,), scales=(3.0,), max_steps=200)


def test_search_game_candidates_have_finite_m():
    found = 0
    for label, inst in lemma3_candidates(lams=(0.1,), gammas=(0.9,), scales=(3.0,)):
        if label.startswith("search-") and "|full|uniform|" in label:
            found += 1
            assert inst.game.n_states == 8 and np.isfinite(bnpg.mismatch_coefficient(inst.game))
    assert found == 2


@pytest.mark.fingerprint
def test_the_shipped_search_was_made_by_todays_code():
    # bnpg/data/lemma3-search.json records the fingerprint of the code and arguments that made it;
    # a change to any of that code makes the file stale until save_lemma3_search is run again
    search = load_results(bnpg.data.path("lemma3-search.json"))
    assert str(search["provenance"]) == bnpg.experiments.studies.lemma3_search.provenance(), (
        "bnpg/data/lemma3-search.json is stale: run python -c \"from bnpg.experiments.studies.lemma3_search import "
        "save_lemma3_search; save_lemma3_search('bnpg/data')\" (about half a minute) and re-execute "
        "notebooks/05-lemma3-near-optimal.ipynb")
    assert int(search["max_steps"]) == 20000 and str(search["method"]) == "armijo"
    # the fingerprint sees the arguments and the code
    assert bnpg.experiments.studies.lemma3_search.provenance(max_steps=19999) != str(search["provenance"])
    assert bnpg.experiments.studies.lemma3_search.provenance(lams=(0.1,)) != str(search["provenance"])
    game, dag, lam, policy = load_instance(bnpg.data.path("lemma3-worst.npz"))
    worst = int(search["worst_index"])
    assert lam == float(search["lam"][worst]) and dag.is_fully_correlated
    assert abs(bnpg.optimality_gap(game, policy) - float(search["optimality_gap"][worst])) <= 1e-12
