r"""The tabular experiment of Chen and Zhang (ICML 2023), rerun through bnpg's exact gradient.

**Their update.** For every seed they draw every parameter from a standard normal, then take 2000
steps of SGD with learning rate 0.01 on the loss
:math:`-\frac{1}{1-\gamma} \sum_{s, a} d(s)\, Q(s, a)\, \pi_\theta(a \mid s)` with :math:`d` and
:math:`Q` held fixed (detached), where :math:`d = (1-\gamma)\,\mu_0^\top (I - \gamma P_\pi)^{-1}`
and :math:`\mu_0 = 1/n` on every state. By the policy gradient theorem its gradient is
:math:`-\nabla_\theta \mu_0^\top V_\theta = -\frac{2^n}{n} \nabla_\theta V_\theta(\mu)` with the
uniform :math:`\mu` of :func:`bnpg.games.coordination_game`. Before each step they clip the
gradient's Euclidean norm to :data:`CLIP_NORM` (``torch.nn.utils.clip_grad_norm_``, which scales
by :math:`\min(1, c / (\|g\| + 10^{-6}))`). So one of their steps is, in bnpg's terms,

.. math::

    \theta_{t+1} = \theta_t + 0.01\, \kappa_t\, \tfrac{2^n}{n} \nabla_\theta L_\lambda(\theta_t),
    \qquad \kappa_t = \min\Big(1, \frac{10^3}{\tfrac{2^n}{n} \|\nabla_\theta L_\lambda(\theta_t)\| + 10^{-6}}\Big),

with :math:`\lambda = 0`: their code defines a log-barrier loss but never adds it.
:func:`predecessor_run` takes exactly these steps (their runs: :math:`\lambda = 0`) and, with
``lam > 0``, the same steps on this paper's objective :math:`L_\lambda` (Theorem 1's setting).

**Their metrics.** At every iteration, before the step, their code records :math:`J = \mu_0^\top V`,
the ratio :math:`J/J^\star` and a Nash gap. :math:`J^\star` is the value of the joint MDP, their
"Nash gap" the largest value of an agent's best response minus :math:`J`, where the best response
sees the state only (``deviation="state"`` of :func:`bnpg.nash_gap`) while the other agents keep
their conditionals. Both optima come from value iteration started at zero and stopped when two
iterates differ by at most :data:`VI_TOLERANCE` in Euclidean norm over all (state, action) pairs,
returning the earlier iterate (:func:`truncated_value_iteration`). From zero with non-negative
rewards the iterates increase, so both optima are underestimated: their gap is biased down and
can be negative, their ratio biased up. :func:`their_metrics` recomputes their numbers that way;
:func:`predecessor_run` records the exact ones (policy iteration) for both deviation classes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bnpg._validation import integer, non_negative
from bnpg.backends.choice import resolve_backend
from bnpg.exact.evaluation import evaluate
from bnpg.exact.gaps import deviation_mdp, nash_gap
from bnpg.exact.mdp import optimal_value
from bnpg.exact.mismatch import mismatch_coefficient
from bnpg.exact.objective import gradient
from bnpg.experiments.results import code_without_docstrings
from bnpg.experiments.studies.torch_normal import torch_normal
from bnpg.experiments.sweeps import SweepOptions, run_sweep
from bnpg.games.coordination import (
    PREDECESSOR_DAGS,
    coordination_game,
    predecessor_dag,
    predecessor_scale,
)
from bnpg.model.game import MarkovGame
from bnpg.model.policy import BNPolicy
from bnpg.theory.constants import lambda_choice

__all__ = [
    "AGENT_COUNTS",
    "CLIP_NORM",
    "CURVES",
    "ITERATIONS",
    "KINDS",
    "RECORD_EVERY",
    "RECORD_STEPS",
    "SEEDS",
    "STEP_SIZE",
    "VI_TOLERANCE",
    "REFERENCE_CHECKPOINTS",
    "barrier_lambda",
    "compare_with_reference",
    "initial_parameters",
    "predecessor_run",
    "predecessor_study",
    "provenance",
    "reference_runs",
    "their_metrics",
    "truncated_value_iteration",
]

#: Their learning rate, on their objective (``eta`` of their run script).
STEP_SIZE = 0.01
#: Their gradient-norm clip (``clip_amount``).
CLIP_NORM = 1e3
#: Their number of iterations.
ITERATIONS = 2000
#: Their seeds (``range(1, 50)``).
SEEDS = tuple(range(1, 50))
#: Their agent counts.
AGENT_COUNTS = (2, 3, 5)
#: Their value-iteration stopping tolerance.
VI_TOLERANCE = 1e-4
#: Iterations between two recorded points of a stored run.
RECORD_EVERY = 20
#: The iterations at which a run records its metrics (every twentieth, and their last).
RECORD_STEPS = tuple(range(0, ITERATIONS, RECORD_EVERY)) + (ITERATIONS - 1,)


def initial_parameters(n: int, seed: int) -> dict[str, tuple[np.ndarray, ...]]:
    r"""The starting parameters of their three networks for one seed, in bnpg's layout.

    Their run seeds torch's generator, then builds the ``"all_ones"``, ``"all_zeros"`` and ``"line"``
    networks in that order, each drawing agent by agent a standard-normal float32 tensor of shape
    ``(2**n, 2**(number of parents), 2)``. :func:`bnpg.experiments.studies.torch_normal.torch_normal` replays
    those draws; each tensor becomes ``theta[i]`` of shape ``(2**n, 2, ..., 2, 2)`` (parents
    ascending, the first parent the most significant, as in their index arithmetic).

    Examples
    --------
    >>> theta = initial_parameters(2, 1)
    >>> [t.shape for t in theta["all_ones"]]
    [(4, 2), (4, 2, 2)]
    """
    n = integer("n", n, minimum=1)
    seed = integer("seed", seed, minimum=0)
    dags = [predecessor_dag(name, n) for name in PREDECESSOR_DAGS]
    shapes = [(2**n, 2 ** len(dag.parents(i)), 2) for dag in dags for i in range(n)]
    draws = iter(torch_normal(seed, shapes))
    out = {}
    for name, dag in zip(PREDECESSOR_DAGS, dags, strict=True):
        out[name] = tuple(
            next(draws).astype(np.float64).reshape((2**n,) + (2,) * len(dag.parents(i)) + (2,))
            for i in range(n)
        )
    return out


def truncated_value_iteration(R: np.ndarray, K: np.ndarray, gamma: float, tol: float = VI_TOLERANCE) -> np.ndarray:
    r"""Their value iteration: from :math:`Q_0 = 0`, :math:`Q_{k+1} = R + \gamma K \max Q_k`, stopped at
    the first :math:`k` with :math:`\|Q_{k+1} - Q_k\|_2 \le` ``tol``; returns :math:`\max_c Q_k(s, c)`.

    Parameters
    ----------
    R : ndarray, shape (S, C)
    K : ndarray, shape (S, C, S)
    gamma, tol : float

    Examples
    --------
    One state paying 1 with discount 1/2: the iterates are 0, 1, 1.5, 1.75, ... (the limit is 2);
    1.75 is the first within 0.3 of its predecessor, and the predecessor is returned.

    >>> float(truncated_value_iteration(np.ones((1, 1)), np.ones((1, 1, 1)), 0.5, tol=0.3)[0])
    1.5
    """
    Q = np.zeros_like(R)
    while True:
        nxt = R + gamma * (K @ Q.max(axis=1))
        if np.sqrt(np.sum((nxt - Q) ** 2)) <= tol:
            return Q.max(axis=1)
        Q = nxt


def their_metrics(game: MarkovGame, policy: BNPolicy, n: int) -> dict:
    r"""``J``, ``J/J*`` and the Nash gap as their code computes them, on their scale.

    ``J`` is exact (a linear solve, as theirs) times :func:`bnpg.games.coordination.predecessor_scale`;
    ``J*`` and the best responses come from :func:`truncated_value_iteration` on the joint MDP and on
    each agent's state-only deviation MDP (:func:`bnpg.exact.gaps.deviation_mdp`).

    Returns
    -------
    dict
        ``J``, ``J_star``, ``ratio`` (:math:`J/J^\star`) and ``gap``
        (:math:`\max_i \mu_0^\top V_i - J`).

    Examples
    --------
    >>> import bnpg
    >>> game = bnpg.games.coordination_game(2)
    >>> m = their_metrics(game, bnpg.BNPolicy(game, bnpg.DAG.empty(2)), 2)
    >>> round(m["J_star"], 2), bool(m["J_star"] < 2 * bnpg.optimal_value(game))
    (95.6, True)
    """
    scale = predecessor_scale(n)
    S = game.n_states
    mu0 = np.full(S, 1.0 / n)
    J = scale * evaluate(game, policy).value
    J_star = float(mu0 @ truncated_value_iteration(game.r.reshape(S, -1), game.P.reshape(S, -1, S), game.gamma))
    best = -np.inf
    for i in range(game.n_agents):
        R, K = deviation_mdp(game, policy, i, deviation="state")
        best = max(best, float(mu0 @ truncated_value_iteration(R[:, 0], K[:, 0], game.gamma)))
    return {"J": J, "J_star": J_star, "ratio": J / J_star, "gap": best - J}


def predecessor_run(
    n: int,
    dag: str,
    seed: int,
    *,
    lam: float = 0.0,
    iterations: int = ITERATIONS,
    record_steps: Sequence[int] | None = None,
    their_steps: Sequence[int] | None = None,
    backend: str = "auto",
) -> dict:
    r"""One of their training runs, exactly: their start, their update, exact metrics along the way.

    Parameters
    ----------
    n : int
        Number of agents (their 2, 3 or 5; any n with a margin, see :func:`bnpg.games.coordination_game`).
    dag : {"all_ones", "all_zeros", "line"}
        Their network (:func:`bnpg.games.predecessor_dag`).
    seed : int
        Their seed: the start is :func:`initial_parameters` ``(n, seed)[dag]``.
    lam : float, default 0
        Barrier weight; 0 is their run, ``lam > 0`` the same steps on :math:`L_\lambda`.
    iterations : int, default 2000
    record_steps : sequence of int, optional
        Iterations ``t`` (``0 <= t <= iterations``) at which to record the metrics of
        :math:`\theta_t`, before step ``t``; default :data:`RECORD_STEPS` cut to ``iterations``.
    their_steps : sequence of int, optional
        Recorded iterations at which to compute :func:`their_metrics` as well; default the first
        and the last.
    backend : {"auto", "numpy", "numba"}
        Passed to :func:`bnpg.gradient`.

    Returns
    -------
    dict
        ``steps`` (the recorded iterations) and, at each, ``value`` (:math:`V_\theta(\mu)`, bnpg's
        scale), ``ratio`` (:math:`V_\theta(\mu)/V^\star(\mu)`), ``gap_parents`` and ``gap_state``
        (:func:`bnpg.nash_gap` in both deviation classes, bnpg's scale) and ``grad_norm`` (the norm
        of the gradient their code clips, on their scale); ``clipped``, the number of steps the clip
        shortened; ``their_J``, ``their_J_star``, ``their_ratio``, ``their_gap`` at
        ``their_steps``; ``theta``, the final parameters.

    Examples
    --------
    >>> out = predecessor_run(2, "all_ones", 1, iterations=20, record_steps=(0, 20))
    >>> bool(out["value"][1] > out["value"][0]), int(out["clipped"])
    (True, 0)
    """
    n = integer("n", n, minimum=1)
    if dag not in PREDECESSOR_DAGS:
        raise ValueError(f"dag must be one of {PREDECESSOR_DAGS}, got {dag!r}")
    lam = non_negative("lam", lam)
    iterations = integer("iterations", iterations, minimum=0)
    if record_steps is None:
        record_steps = [t for t in RECORD_STEPS if t <= iterations]
    steps = sorted({integer("record_steps", t, minimum=0) for t in record_steps})
    if steps and steps[-1] > iterations:
        raise ValueError(f"record_steps must lie in [0, iterations={iterations}], got {steps[-1]}")
    theirs_at = set(steps[:1] + steps[-1:]) if their_steps is None else set(their_steps)
    if not theirs_at <= set(steps):
        raise ValueError(f"their_steps must be among the recorded steps, got {sorted(theirs_at - set(steps))}")
    game = coordination_game(n)
    policy = BNPolicy(game, predecessor_dag(dag, n), initial_parameters(n, seed)[dag])
    scale = predecessor_scale(n)
    v_star = optimal_value(game)
    backend = resolve_backend(backend, game, iterations)
    keys = ("value", "ratio", "gap_parents", "gap_state", "grad_norm")
    out = {k: [] for k in keys}
    clipped = 0
    theirs = []
    wanted = set(steps)
    x = policy.flat()
    for t in range(iterations + 1):
        if t == iterations and t not in wanted:
            break
        g = scale * np.concatenate([d.ravel() for d in gradient(game, policy.with_flat(x), lam, backend=backend)])
        norm = float(np.sqrt(g @ g))
        if t in wanted:
            current = policy.with_flat(x)
            if t in theirs_at:
                theirs.append(their_metrics(game, current, n))
            value = evaluate(game, current).value
            out["value"].append(value)
            out["ratio"].append(value / v_star)
            out["gap_parents"].append(nash_gap(game, current))
            out["gap_state"].append(nash_gap(game, current, deviation="state"))
            out["grad_norm"].append(norm)
        if t == iterations:
            break
        factor = min(1.0, CLIP_NORM / (norm + 1e-6))
        clipped += factor < 1.0
        x = x + STEP_SIZE * factor * g
    policy = policy.with_flat(x)
    result = {k: np.array(v) for k, v in out.items()}
    for k in ("J", "J_star", "ratio", "gap"):
        result["their_" + k] = np.array([m[k] for m in theirs])
    result.update(steps=np.array(steps), clipped=clipped, theta=policy.theta)
    return result


def barrier_lambda(n: int) -> float:
    r"""The barrier weight of the runs with :math:`L_\lambda`: Theorem 1's :math:`\lambda = \epsilon/(2M)`.

    :math:`\epsilon = 0.1\,(r_{\max} - r_{\min})/(1-\gamma)` (the default target of ``bnpg check``)
    and :math:`M` the exact mismatch coefficient of :func:`bnpg.games.coordination_game` ``(n)``.

    >>> round(barrier_lambda(2), 4)
    0.0844
    """
    game = coordination_game(integer("n", n, minimum=1))
    eps = 0.1 * (game.r_max - game.r_min) / (1 - game.gamma)
    return lambda_choice(game, eps, mismatch_coefficient(game), theorem=1)


#: The two kinds of run: their objective, and this paper's :math:`L_\lambda` (:func:`barrier_lambda`).
KINDS = ("plain", "barrier")
#: What a stored study keeps of a run's curves, at every step of :data:`RECORD_STEPS` (float32).
CURVES = ("value", "ratio", "gap_parents", "gap_state")


def predecessor_study(
    ns: Sequence[int] = AGENT_COUNTS,
    seeds: Sequence[int] = SEEDS,
    *,
    iterations: int = ITERATIONS,
    sweep: SweepOptions | None = None,
) -> dict:
    """Every run of their experiment, with and without the barrier: :func:`predecessor_run` per
    (kind, n, DAG, seed). ``sweep`` (:class:`bnpg.experiments.sweeps.SweepOptions`) says where the
    runs go, one task per run, where finished ones are kept and the progress shown; the results do
    not depend on it.

    Returns
    -------
    dict
        ``"{kind}.n{n}.{dag}.{curve}"`` of shape ``(len(seeds), len(steps))`` for every curve of
        :data:`CURVES`, rounded to float32 (seven digits) to keep the shipped file small;
        ``"{kind}.n{n}.{dag}.their_{J,J_star,ratio,gap}"`` of shape ``(len(seeds), 2)`` (their
        metrics at the first and last recorded step); ``"{kind}.n{n}.{dag}.clipped"`` and
        ``".grad_norm_max"`` (clipped steps, largest gradient norm on their scale); and ``steps``, ``seeds``, ``ns``, ``lam`` (one per n, the
        barrier runs' weight), ``bnpg_version``, ``provenance``.

    Examples
    --------
    >>> out = predecessor_study((2,), (1,), iterations=10)
    >>> out["plain.n2.all_ones.ratio"].shape, out["steps"].tolist()
    ((1, 2), [0, 9])
    """
    from bnpg._version import __version__

    ns = [integer("ns", n, minimum=1) for n in ns]
    seeds = [integer("seeds", s, minimum=0) for s in seeds]
    iterations = integer("iterations", iterations, minimum=1)
    steps = sorted(set(range(0, iterations, RECORD_EVERY)) | {iterations - 1})
    lams = {n: barrier_lambda(n) for n in ns}
    cases = [(kind, n, dag) for kind in KINDS for n in ns for dag in PREDECESSOR_DAGS]
    runs = [(case, seed) for case in cases for seed in seeds]
    arguments = {"ns": ns, "seeds": seeds, "iterations": iterations}
    results = run_sweep(_run_task, len(runs), args=(runs, lams, iterations, steps), name="predecessor",
                        arguments=arguments, sweep=sweep)
    collected: dict = {}
    for ((kind, n, dag), _), run in zip(runs, results, strict=True):
        prefix = f"{kind}.n{n}.{dag}."
        for key in CURVES:
            collected.setdefault(prefix + key, []).append(np.array(run[key], dtype=np.float32))
        for key in ("their_J", "their_J_star", "their_ratio", "their_gap", "clipped", "grad_norm_max"):
            collected.setdefault(prefix + key, []).append(np.array(run[key]))
    out = {k: np.array(v) for k, v in collected.items()}
    out.update(study="predecessor", steps=np.array(steps), seeds=np.array(seeds), ns=np.array(ns),
               lam=np.array([lams[n] for n in ns]), bnpg_version=__version__, provenance=provenance())
    return out


def _run_task(r: int, runs, lams: dict, iterations: int, steps) -> dict:
    """Run ``r`` of the study (one task of the sweep): its curves rounded to float32, as lists."""
    (kind, n, dag), seed = runs[r]
    run = predecessor_run(n, dag, seed, lam=lams[n] if kind == "barrier" else 0.0, iterations=iterations,
                          record_steps=steps)
    out = {key: run[key].astype(np.float32).tolist() for key in CURVES}
    out.update({key: np.asarray(run[key]).tolist() for key in ("their_J", "their_J_star", "their_ratio",
                                                                "their_gap", "clipped")})
    out["grad_norm_max"] = float(run["grad_norm"].max())
    return out


def provenance() -> str:
    """A fingerprint of the code the stored runs depend on: SHA-256 of its source, docstrings left out.

    A stored study whose fingerprint differs from the current one was made by other code and must
    be made again (``python -m bnpg predecessor --out bnpg/data/predecessor-runs.npz``).

    >>> len(provenance())
    64
    """
    import hashlib
    import importlib

    coordination, gaps, mdp, objective, policy, tn = (importlib.import_module(f"bnpg.{m}") for m in (
        "games.coordination", "exact.gaps", "exact.mdp", "exact.objective", "model.policy",
        "experiments.studies.torch_normal"))

    digest = hashlib.sha256()
    for obj in (coordination.coordination_game, coordination.coordination_reward, coordination.state_bits,
                coordination.predecessor_dag, coordination.predecessor_scale, tn, predecessor_run,
                their_metrics, truncated_value_iteration, barrier_lambda, initial_parameters,
                predecessor_study, _run_task, mdp.policy_iteration, gaps._deviation_mdp, policy.BNPolicy.others_weight,
                objective.gradient, objective.value_gradient, objective.barrier_gradient):
        digest.update(code_without_docstrings(obj).encode())
    return digest.hexdigest()


#: The iterations at which :func:`compare_with_reference` recomputes their metrics.
REFERENCE_CHECKPOINTS = (0, 1, 10, 100, 1000, ITERATIONS - 1)


def reference_runs() -> list[tuple[int, int]]:
    """The (n, seed) pairs of ``predecessor-reference.npz``, their own code's traces (:mod:`bnpg.data`).

    >>> (2, 1) in reference_runs()
    True
    """
    from bnpg.data import path

    with np.load(path("predecessor-reference.npz")) as data:
        return [tuple(int(x) for x in row) for row in data["runs"]]


def compare_with_reference(n: int, seed: int, dag: str) -> dict:
    r"""Rerun one of their runs here and measure how far it is from what their code recorded.

    Their code works in float32, this one in float64; the differences are their rounding.

    Returns
    -------
    dict
        ``J`` (largest relative difference of :math:`J` over every tenth iteration), ``ratio`` and
        ``gap`` (largest absolute differences of their :math:`J/J^\star` and Nash gap, recomputed by
        :func:`their_metrics`, at :data:`REFERENCE_CHECKPOINTS`, the gap relative to :math:`J`),
        ``theta`` (largest absolute difference of the final parameters), ``clipped``, and
        ``grad0`` (relative difference of the gradient of their loss at the start).

    Examples
    --------
    >>> out = compare_with_reference(2, 1, "all_ones")
    >>> out["J"] < 1e-5, out["theta"] < 1e-4
    (True, True)
    """
    from bnpg.data import path

    n = integer("n", n, minimum=1)
    if dag not in PREDECESSOR_DAGS:
        raise ValueError(f"dag must be one of {PREDECESSOR_DAGS}, got {dag!r}")
    prefix = f"n{n}.seed{seed}.{dag}."
    with np.load(path("predecessor-reference.npz")) as data:
        runs = [tuple(int(x) for x in row) for row in data["runs"]]
        if (n, seed) not in runs:
            raise ValueError(f"(n, seed) must be one of {runs}, got {(n, seed)}")
        ref = {k[len(prefix):]: data[k].astype(np.float64) for k in data.files if k.startswith(prefix)}
    steps = sorted(set(range(0, ITERATIONS, 10)) | set(REFERENCE_CHECKPOINTS))
    run = predecessor_run(n, dag, seed, record_steps=steps, their_steps=REFERENCE_CHECKPOINTS)
    scale = predecessor_scale(n)
    J = scale * run["value"]
    at = list(REFERENCE_CHECKPOINTS)
    game = coordination_game(n)
    start = BNPolicy(game, predecessor_dag(dag, n), initial_parameters(n, seed)[dag])
    g0 = -scale * np.concatenate([g.ravel() for g in gradient(game, start)])
    their_g0 = np.concatenate([ref[f"grad0.{i}"].ravel() for i in range(n)])
    final = np.concatenate([t.ravel() for t in run["theta"]])
    their_final = np.concatenate([ref[f"final.{i}"].ravel() for i in range(n)])
    return {
        "J": float(np.max(np.abs(J - ref["J"][steps]) / ref["J"][steps])),
        "ratio": float(np.max(np.abs(run["their_ratio"] - ref["poa"][at]))),
        "gap": float(np.max(np.abs(run["their_gap"] - ref["gap"][at]) / ref["J"][at])),
        "theta": float(np.max(np.abs(final - their_final))),
        "grad0": float(np.max(np.abs(g0 - their_g0)) / np.max(np.abs(their_g0))),
        "clipped": int(run["clipped"]),
    }
