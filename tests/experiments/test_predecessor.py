"""Their training run through bnpg: the gradient of their loss, written out in numpy from their
formula, against bnpg's; their update and clip; their value iteration; and their own code's numbers
(a reference trace made with their torch code on CPU, ``tests/data/predecessor-reference.npz``)."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import numpy as np
import pytest
from scipy.special import softmax

import bnpg
from bnpg.experiments.studies import predecessor as pred
from bnpg.games.coordination import coordination_game, predecessor_dag, predecessor_scale

REFERENCE = Path(__file__).parents[1] / "data" / "predecessor-reference.npz"


def their_loss_gradient(n, dag, theta, eps=0.1, gamma=0.95):
    r"""The gradient of their loss :math:`-\frac{1}{1-\gamma}\sum_{s,a} d(s) Q(s,a) \pi(a|s)`, d and Q fixed.

    Written from their definitions, with their weights :math:`\mu_0 = 1/n`: the joint state and
    action are bit strings (agent 0 first); :math:`P(s'|a) = \prod_i p(s'^i|a^i)`; :math:`Q` solves
    the (state, action) system :math:`Q = r + \gamma P_\pi Q` with
    :math:`P_\pi[(s,a),(s',a')] = P(s'|a)\pi(a'|s')`; :math:`d = (1-\gamma)\mu_0^\top(I-\gamma P)^{-1}`
    with :math:`P[s,s'] = \sum_a \pi(a|s) P(s'|a)`; and
    :math:`\partial\pi(a|s)/\partial\theta^i_{s,b,c} = \pi(a|s)\,\mathbb 1[a^{P^i}=b]\,(\mathbb 1[a^i=c]-\pi^i(c|s,b))`.
    """
    S = A = 2**n
    bits = [tuple(int(x) for x in np.binary_repr(k, n)) for k in range(S)]
    local = [softmax(t, axis=-1) for t in theta]
    pi = np.zeros((S, A))
    for s in range(S):
        for a in range(A):
            pi[s, a] = np.prod([local[i][(s, *[bits[a][j] for j in dag.parents(i)], bits[a][i])] for i in range(n)])
    P = np.array([[np.prod([1 - eps if bits[sp][i] == bits[a][i] else eps for i in range(n)])
                   for sp in range(S)] for a in range(A)])
    reward = np.zeros(S)
    for s in range(S):
        zeros = bits[s].count(0)
        ones = n - zeros
        margin = {2: 1, 3: 1, 5: 2}[n]
        reward[s] = (1.0 if zeros < ones else 0.0) if abs(zeros - ones) <= margin else (3.0 if zeros > ones else 2.0)
    P_pi = np.einsum("at,tb->atb", P, pi).reshape(A, S * A)
    P_pi = np.tile(P_pi, (S, 1))                       # rows (s, a): the same for every s
    Q = np.linalg.solve(np.eye(S * A) - gamma * P_pi, np.repeat(reward, A)).reshape(S, A)
    mu0 = np.full(S, 1.0 / n)
    d = (1 - gamma) * np.linalg.solve((np.eye(S) - gamma * pi @ P).T, mu0)
    grads = [np.zeros_like(t) for t in theta]
    for i in range(n):
        for s, a in itertools.product(range(S), range(A)):
            b = tuple(bits[a][j] for j in dag.parents(i))
            for c in range(2):
                dpi = pi[s, a] * ((bits[a][i] == c) - local[i][(s, *b, c)])
                grads[i][(s, *b, c)] -= d[s] * Q[s, a] * dpi / (1 - gamma)
    return grads


@pytest.mark.parametrize("n, name", [(2, "all_ones"), (3, "all_ones"), (3, "line"), (3, "all_zeros")])
def test_their_loss_gradient_is_minus_scaled_bnpg_gradient(n, name):
    dag = predecessor_dag(name, n)
    theta = pred.initial_parameters(n, 7)[name]
    game = coordination_game(n)
    ours = bnpg.gradient(game, bnpg.BNPolicy(game, dag, theta), backend="numpy")
    theirs = their_loss_gradient(n, dag, theta)
    scale = predecessor_scale(n)
    for g, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(-scale * g, t, rtol=1e-10, atol=1e-12)


def test_one_step_is_their_sgd_step():
    n, name = 3, "all_ones"
    run = pred.predecessor_run(n, name, 4, iterations=1, record_steps=(0, 1))
    theta = pred.initial_parameters(n, 4)[name]
    grads = their_loss_gradient(n, predecessor_dag(name, n), theta)
    for t0, g, t1 in zip(theta, grads, run["theta"], strict=True):
        np.testing.assert_allclose(t1, t0 - pred.STEP_SIZE * g, rtol=1e-12, atol=1e-12)
    assert run["clipped"] == 0


def test_the_clip_scales_long_gradients(monkeypatch):
    # With the clip at 1, the first step has length 0.01 * 1 / (1 + 1e-6) (torch's clip_grad_norm_).
    monkeypatch.setattr(pred, "CLIP_NORM", 1.0)
    run = pred.predecessor_run(2, "all_ones", 1, iterations=1, record_steps=(0,))
    theta = pred.initial_parameters(2, 1)["all_ones"]
    step = np.sqrt(sum(float(np.sum((a - b) ** 2)) for a, b in zip(run["theta"], theta, strict=True)))
    norm = run["grad_norm"][0]
    assert norm > 1 and run["clipped"] == 1
    assert abs(step - pred.STEP_SIZE * norm / (norm + 1e-6)) <= 1e-12


def test_truncated_value_iteration_is_below_the_optimum_by_at_most_its_tolerance():
    game = coordination_game(3)
    S = game.n_states
    V_vi = pred.truncated_value_iteration(game.r.reshape(S, -1), game.P.reshape(S, -1, S), game.gamma)
    V = bnpg.optimal_solution(game).V
    gap = V - V_vi
    # monotone from zero: below; a stop at ||Q_{k+1} - Q_k|| <= tol leaves at most tol / (1 - gamma)
    assert np.all(gap >= 0)
    assert gap.max() <= pred.VI_TOLERANCE / (1 - game.gamma)
    assert gap.max() > 0


def test_their_metrics_on_a_policy_by_hand():
    # The uniform product policy: their J is 2**n / n times bnpg's value; their gap is below the
    # exact state-only gap (value iteration stops short) by at most tol / (1 - gamma) per state.
    n = 3
    game = coordination_game(n)
    policy = bnpg.BNPolicy(game, bnpg.DAG.empty(n))
    m = pred.their_metrics(game, policy, n)
    scale = predecessor_scale(n)
    assert abs(m["J"] - scale * bnpg.value(game, policy)) <= 1e-12 * m["J"]
    exact = scale * bnpg.nash_gap(game, policy, deviation="state")
    assert 0 <= exact - m["gap"] <= scale * pred.VI_TOLERANCE / (1 - game.gamma)
    assert 0 <= m["ratio"] - m["J"] / (scale * bnpg.optimal_value(game)) <= 1e-5


def test_run_arguments_are_checked():
    with pytest.raises(ValueError, match="dag must be one of"):
        pred.predecessor_run(2, "chain", 1)
    with pytest.raises(ValueError, match="record_steps"):
        pred.predecessor_run(2, "line", 1, iterations=3, record_steps=(5,))
    with pytest.raises(ValueError, match="lam"):
        pred.predecessor_run(2, "line", 1, lam=-1.0)
    with pytest.raises(ValueError, match="seed"):
        pred.initial_parameters(2, -1)


# --------------------------------------------------------------------------------------------
# Their starting parameters: torch's draws (recorded with torch on CPU, tests/data/torch-draws.npz)
# --------------------------------------------------------------------------------------------

DRAWS = Path(__file__).parents[1] / "data" / "torch-draws.npz"
THEIR_NAMES = {"ones": "all_ones", "zeros": "all_zeros", "line": "line"}


def test_torch_normal_replays_torch_bit_for_bit():
    from bnpg.experiments.studies.torch_normal import torch_normal

    with np.load(DRAWS) as data:
        shapes = [ast.literal_eval(s) for s in data["odd_shapes"].tolist()]
        mine = torch_normal(5, shapes)
        for j, got in enumerate(mine):
            assert got.dtype == np.float32
            np.testing.assert_array_equal(got.view(np.uint32), data[f"odd_{j}"].view(np.uint32))


@pytest.mark.parametrize("n", [2, 3, 5])
def test_their_starts_bit_for_bit(n):
    # Their run builds all_ones, all_zeros and line after each torch.manual_seed(seed).
    with np.load(DRAWS) as data:
        seeds = sorted({int(k.split("_")[1][4:]) for k in data.files if k.startswith(f"n{n}_")})
        assert seeds
        for seed in seeds:
            start = pred.initial_parameters(n, seed)
            for short, name in THEIR_NAMES.items():
                for i in range(n):
                    theirs = data[f"n{n}_seed{seed}_{short}_{i}"]
                    ours = start[name][i]
                    assert ours.reshape(theirs.shape).astype(np.float32).tobytes() == theirs.tobytes()


# --------------------------------------------------------------------------------------------
# Their own code's numbers (bnpg/data/predecessor-reference.npz, written by
# tools/predecessor_reference.py from their cg.py run with torch on CPU)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dag", ["all_ones", "all_zeros", "line"])
@pytest.mark.parametrize("n, seed", [(2, 1), (3, 2)])
def test_the_rerun_matches_their_code(n, seed, dag):
    # Their code runs in float32: J from a float32 solve of a (2^n)^2-unknown system carries
    # relative errors of order 1e-6..1e-4, which 2000 steps carry into the parameters.
    out = pred.compare_with_reference(n, seed, dag)
    assert out["J"] <= 1e-4
    assert out["ratio"] <= 1e-5
    assert out["gap"] <= 1e-5
    assert out["theta"] <= 1e-4
    assert out["grad0"] <= 1e-4
    assert out["clipped"] == 0


def test_reference_arguments_are_checked():
    with pytest.raises(ValueError, match=r"\(n, seed\) must be one of"):
        pred.compare_with_reference(2, 40, "line")


@pytest.mark.fingerprint
def test_the_shipped_runs_were_made_by_todays_code():
    # Fails on any edit to the code the runs depend on: rerun
    # `python -m bnpg predecessor --out bnpg/data/predecessor-runs.npz` and re-execute chapter 11.
    from bnpg.data import path
    from bnpg.experiments.results import load_results

    study = load_results(path("predecessor-runs.npz"))
    assert str(study["provenance"]) == pred.provenance()
    assert study["seeds"].tolist() == list(pred.SEEDS) and study["ns"].tolist() == list(pred.AGENT_COUNTS)
    assert study["steps"].tolist() == list(pred.RECORD_STEPS)
    for kind in pred.KINDS:
        for n in pred.AGENT_COUNTS:
            for dag in ("all_ones", "all_zeros", "line"):
                assert study[f"{kind}.n{n}.{dag}.ratio"].shape == (len(pred.SEEDS), len(pred.RECORD_STEPS))
    # one stored run against a fresh one
    run = pred.predecessor_run(2, "line", 3)
    np.testing.assert_allclose(study["plain.n2.line.gap_state"][2], run["gap_state"], rtol=1e-6, atol=1e-9)
