r"""Lemmas 2 and 3 on random instances (paper, Section 4.2).

Instance ``k`` of a study with seed ``seed`` is :func:`bnpg.experiments.instances.lemma_instance`
``(seed, k, ...)``: a random game, a random DAG (or the fully-correlated one), a log-uniform
:math:`\lambda` and a random start. :func:`lemma_record` checks it with :func:`bnpg.paper.lemma2`,
which climbs to a point meeting the gradient threshold
:math:`\lambda / (2|\mathcal S||\mathcal A|\max_i|\mathcal A^i|)`, and measures there

* the Nash gap against Lemma 2's :math:`2\lambda M`,
* the optimality gap against Lemma 3's :math:`2^{N+1} N \lambda M` (a statement about
  fully-correlated DAGs; on other DAGs the ratio is recorded for comparison only),
* :math:`\min_{i, s, a^{\mathcal P^i}, a^i} 2 |\mathcal A^i| \pi^i(a^i \mid s, a^{\mathcal P^i})`, which the
  proof of Lemma 3 assumes to be at least 1 for *every* action (errata E11).

An instance that does not reach the threshold is reported (``met = False``), never dropped.
"""

from __future__ import annotations

from bnpg._validation import integer, keyword_options
from bnpg.exact.mdp import optimal_value
from bnpg.experiments.instances import Instance, lemma_instance
from bnpg.experiments.results import collate
from bnpg.experiments.sweeps import SweepOptions, run_sweep
from bnpg.paper.lemmas import lemma2
from bnpg.theory.constants import lemma3_bound

__all__ = ["lemma2_study", "lemma3_study", "lemma_record"]


def lemma_record(instance: Instance, *, method: str = "armijo", max_steps: int = 5000) -> dict:
    r"""Reach an approximate stationary point of one instance and measure both lemmas there.

    Returns
    -------
    dict of float, int and bool
        ``n_states``, ``n_agents``, ``n_joint``, ``max_actions``, ``n_edges``, ``gamma``, ``lam``,
        ``M``, ``threshold`` (:func:`bnpg.theory.constants.gradient_threshold`), ``grad_norm``, ``met``,
        ``n_steps``, ``n_evaluations``, ``value``, ``nash_gap``, ``nash_bound`` (:math:`2\lambda M`),
        ``nash_ratio``, ``optimality_gap``, ``optimality_bound`` (:math:`2^{N+1} N \lambda M`),
        ``optimality_ratio``, ``min_local_ratio``.

    Examples
    --------
    >>> rec = lemma_record(lemma_instance(0, 0))
    >>> rec["met"], rec["nash_ratio"] <= 1.0
    (True, True)
    """
    if not isinstance(instance, Instance):
        raise TypeError(f"instance must be an Instance, got {type(instance).__name__}")
    game, dag, lam = instance.game, instance.dag, instance.lam
    verdict = lemma2(game, instance.policy, lam, method=method, max_steps=max_steps)
    M, point, d = verdict.details["M"], verdict.point, verdict.details
    opt_gap = optimal_value(game) - d["value"]
    opt_bound = lemma3_bound(game, lam, M)
    return {
        "n_states": game.n_states,
        "n_agents": game.n_agents,
        "n_joint": game.n_joint_actions,
        "max_actions": max(game.action_sizes),
        "n_edges": dag.n_edges,
        "gamma": game.gamma,
        "lam": lam,
        "M": M,
        "threshold": d["threshold"],
        "grad_norm": d["grad_norm"],
        "met": bool(verdict.hypothesis_met),
        "n_steps": d["n_steps"],
        "n_evaluations": verdict.trajectory.n_evaluations,
        "value": d["value"],
        "nash_gap": verdict.measured,
        "nash_bound": verdict.bound_printed,
        "nash_ratio": verdict.measured / verdict.bound_printed,
        "optimality_gap": opt_gap,
        "optimality_bound": opt_bound,
        "optimality_ratio": opt_gap / opt_bound,
        "min_local_ratio": float(min(2 * k * point.local(i).min() for i, k in enumerate(game.action_sizes))),
    }


def _instance_record(k: int, seed: int, full: bool, options: dict, method: str, max_steps: int) -> dict:
    """The record of instance ``k`` (one task of the sweep; a module-level function, so that worker
    processes can import it)."""
    rec = lemma_record(lemma_instance(seed, k, full=full, **options), method=method, max_steps=max_steps)
    rec["index"] = k
    return rec


def _lemma_study(name: str, full: bool, n_instances, seed, method, max_steps, options, sweep) -> dict:
    n_instances = integer("n_instances", n_instances, minimum=1)
    seed = integer("seed", seed, minimum=0)
    options = keyword_options(lemma_instance, options, exclude=("full",))
    lemma_instance(seed, 0, full=full, **options)  # refuse bad options before any work
    meta = {"study": name, "seed": seed, "method": method, "max_steps": max_steps}
    meta.update({f"option_{k}": v for k, v in options.items()})
    records = run_sweep(_instance_record, n_instances, args=(seed, full, options, method, max_steps), name=name,
                        arguments=meta, sweep=sweep)
    return collate(records, meta)


def lemma2_study(n_instances: int, seed: int, *, method: str = "armijo", max_steps: int = 5000,
                 sweep: SweepOptions | None = None, **options) -> dict:
    r"""Lemma 2 on random (game, DAG, :math:`\lambda`) instances.

    Parameters
    ----------
    n_instances : int
    seed : int
        Instance ``k`` is :func:`bnpg.experiments.instances.lemma_instance` ``(seed, k, full=False, **options)``.
    method, max_steps
        Passed to :func:`bnpg.ascend` through :func:`bnpg.paper.lemma2`.
    sweep : SweepOptions, optional
        Where the instances run, where finished ones are kept and the progress shown
        (:class:`bnpg.experiments.sweeps.SweepOptions`); the results do not depend on it.
    **options
        Passed to :func:`bnpg.experiments.instances.lemma_instance` (``n_states``, ``n_agents``, ``n_actions``,
        ``lam_range``, ``gamma_range``, ``sparsity``, ``edge_prob``, ``init_scale``).

    Returns
    -------
    dict
        One array per key of :func:`lemma_record` plus ``index``, and the scalars ``study``,
        ``seed``, ``method``, ``max_steps`` and ``option_*`` (every option of
        :func:`bnpg.experiments.instances.lemma_instance`, defaults included). Lemma 2 claims
        ``nash_ratio <= 1`` wherever ``met`` is true.

    Examples
    --------
    >>> out = lemma2_study(2, seed=0)
    >>> out["met"].tolist(), bool(out["nash_ratio"].max() <= 1)
    ([True, True], True)
    """
    return _lemma_study("lemma2", False, n_instances, seed, method, max_steps, options, sweep)


def lemma3_study(n_instances: int, seed: int, *, method: str = "armijo", max_steps: int = 5000,
                 sweep: SweepOptions | None = None, **options) -> dict:
    r"""Lemma 3 on random games with fully-correlated DAGs (:meth:`bnpg.DAG.full`).

    Same parameters and output as :func:`lemma2_study`; Lemma 3 claims ``optimality_ratio <= 1``
    wherever ``met`` is true.

    Examples
    --------
    >>> out = lemma3_study(2, seed=0)
    >>> out["n_edges"].tolist() == (out["n_agents"] * (out["n_agents"] - 1) // 2).tolist()
    True
    """
    return _lemma_study("lemma3", True, n_instances, seed, method, max_steps, options, sweep)
