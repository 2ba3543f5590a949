r"""An adversarial search for large optimality gaps under Lemma 3 (paper, Lemma 3, Appendix A.4; errata E11).

Random games rarely come near the bound :math:`2^{N+1} N \lambda M`, so :func:`lemma3_candidates`
builds instances meant to make the optimality gap large: coordination games with heavy penalties,
jackpot games (:func:`bnpg.games.jackpot_game`), the multi-state search game, both orders of the
fully-correlated network and starts concentrated on suboptimal equilibria. :func:`lemma3_point`
checks one of them with :func:`bnpg.paper.lemma3` and records, besides the gap and both bounds, the
quantities of the proof and of its repair (:mod:`bnpg.theory.telescoping`). :func:`save_lemma3_search`
runs the whole search and keeps the worst point so that the book can reload and check it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from bnpg._validation import fully_correlated, instance_of, integer, positive, real_scalar
from bnpg.exact.mdp import worst_value
from bnpg.experiments.instances import Instance, concentrated_policy
from bnpg.experiments.results import (
    check_output_path,
    code_without_docstrings,
    collate,
    save_instance,
    save_results,
)
from bnpg.experiments.sweeps import SweepOptions, run_sweep
from bnpg.games.library import climbing_game, jackpot_game, penalty_game, random_game, search_game
from bnpg.model.dag import DAG
from bnpg.model.game import MarkovGame
from bnpg.model.policy import BNPolicy
from bnpg.paper.lemmas import lemma3

__all__ = ["lemma3_candidates", "lemma3_point", "lemma3_search", "provenance", "save_lemma3_search"]


def lemma3_point(
    instance: Instance, *, method: str = "armijo", max_steps: int = 5000
) -> tuple[dict, BNPolicy]:
    r"""Reach an approximate stationary point of a fully-correlated instance and measure Lemma 3 there.

    Parameters
    ----------
    instance : Instance
        Its DAG must be fully correlated (Definition 3).
    method, max_steps
        Passed to :func:`bnpg.paper.lemma3`, which climbs to the lemma's gradient threshold.

    Returns
    -------
    (dict, BNPolicy)
        The record and the policy reached. The record holds ``n_states``, ``n_agents``,
        ``n_joint``, ``max_actions``, ``gamma``, ``lam``, ``M``, ``threshold``, ``grad_norm``,
        ``met``, ``n_steps``, ``value``, ``optimal_value``, ``worst_value``
        (:math:`\min_\pi V_\pi(\mu)`), ``optimality_gap``, ``bound``
        (:math:`2^{N+1} N \lambda M`), ``ratio`` (gap / bound), ``gap_over_lam_m``,
        ``nonvacuous`` (bound :math:`< V^* - V_{\text{worst}}`), ``local_ratio`` and
        ``parents_ratio`` (:func:`bnpg.theory.telescoping.proof_step_ratios`), ``advantage_ratio``
        (:math:`\max_{s, a} |\mathcal S| d_\mu(s) (Q(s, a) - V(s)) / \lambda`, at most 1 by the
        argument of :func:`bnpg.theory.telescoping.telescoped_advantage` when the threshold is met) and ``pd_bound``
        (:math:`\frac{\lambda}{|\mathcal S|} \sum_s d_\mu^{\pi^*}(s) / d_\mu(s)`, which bounds the gap
        when ``advantage_ratio <= 1`` and is itself at most :math:`\lambda M`).

    Examples
    --------
    >>> import bnpg
    >>> from bnpg.games import climbing_game
    >>> game = climbing_game(gamma=0.0)
    >>> from bnpg.experiments.instances import Instance, concentrated_policy
    >>> inst = Instance(game, bnpg.DAG.full(2), 0.1, concentrated_policy(game, bnpg.DAG.full(2), (1, 1), 3.0))
    >>> rec, policy = lemma3_point(inst)
    >>> rec["met"], rec["advantage_ratio"] <= 1, rec["optimality_gap"] <= rec["pd_bound"]
    (True, True, True)
    """
    instance_of("instance", instance, Instance)
    game, dag, lam = instance.game, instance.dag, instance.lam
    fully_correlated("instance.dag", dag, needed_by="lemma3_point")
    verdict = lemma3(game, lam, start=instance.policy, method=method, max_steps=max_steps)
    d = verdict.details
    v_worst = worst_value(game)
    gap, bound = verdict.measured, verdict.bound_printed
    record = {
        "n_states": game.n_states,
        "n_agents": game.n_agents,
        "n_joint": game.n_joint_actions,
        "max_actions": max(game.action_sizes),
        "gamma": game.gamma,
        "lam": lam,
        "M": d["M"],
        "threshold": d["threshold"],
        "grad_norm": d["grad_norm"],
        "met": bool(verdict.hypothesis_met),
        "n_steps": d["n_steps"],
        "value": d["value"],
        "optimal_value": d["optimal_value"],
        "worst_value": v_worst,
        "optimality_gap": gap,
        "bound": bound,
        "ratio": gap / bound if bound > 0 else float("inf"),
        "gap_over_lam_m": gap / (lam * d["M"]) if lam > 0 else float("inf"),
        "nonvacuous": bool(bound < d["optimal_value"] - v_worst),
        "local_ratio": d["local_ratio"],
        "parents_ratio": d["parents_ratio"],
        "advantage_ratio": d["advantage_ratio"],
        "pd_bound": d["performance_difference_bound"],
    }
    return record, verdict.point


def _reversed_full(n: int) -> DAG:
    """The fully-correlated DAG in which agent ``n - 1`` acts first and agent 0 last."""
    return DAG([list(range(i + 1, n)) for i in range(n)])


def lemma3_candidates(
    *,
    lams: Sequence[float] = (1e-3, 1e-2, 1e-1, 1.0),
    gammas: Sequence[float] = (0.0, 0.9, 0.99),
    scales: Sequence[float] = (3.0, 8.0),
    seed: int = 0,
) -> list[tuple[str, Instance]]:
    r"""Instances built to make the optimality gap of Lemma 3 large, with a label for each.

    For every discount factor in ``gammas`` the games are: the climbing game; the penalty game
    with :math:`k = -100` and :math:`k = -1000`; :func:`jackpot_game` with two agents of 3 and of
    10 actions and with three agents of 3 actions (one state, jackpot 2, penalty -10); the same
    with three states; a random three-agent game; and, when :math:`\gamma > 0`, the multi-state
    :func:`bnpg.games.search_game` with two and with three drones on three cells. Each game is
    paired with two fully-correlated DAGs (agent 0 first, :meth:`bnpg.DAG.full`, and agent
    :math:`N - 1` first) and with starting points: the uniform policy and, for every scale in
    ``scales``, :func:`concentrated_policy` at a suboptimal joint action (the climbing game's
    equilibria (1, 1) and (2, 2); the penalty game's safe (1, 1); the best ordinary joint action of
    a jackpot game, which is a Nash equilibrium of the pure game; both or all drones on cell 0).
    Each combination is run for every :math:`\lambda` in ``lams``.

    Returns
    -------
    list of (str, Instance)
        Labels ``"family|gamma|dag|start|lam"``; the list is the same for the same arguments.

    Examples
    --------
    >>> cands = lemma3_candidates(lams=(0.1,), gammas=(0.0,), scales=(3.0,))
    >>> sorted({label.split("|")[0] for label, _ in cands})[:3]
    ['climbing', 'jackpot-2x10', 'jackpot-2x3']
    >>> all(inst.dag.is_fully_correlated for _, inst in cands)
    True
    """
    lams = tuple(positive("lams entry", x) for x in lams)
    gammas = tuple(real_scalar("gammas entry", g) for g in gammas)
    scales = tuple(positive("scales entry", x) for x in scales)
    seed = integer("seed", seed, minimum=0)
    rng = np.random.default_rng([seed, 3])

    def ordinary_best(game: MarkovGame) -> tuple[int, ...]:
        r0 = np.where((game.r[0] >= 0) & (game.r[0] <= 1), game.r[0], -np.inf)
        return tuple(int(k) for k in np.unravel_index(int(np.argmax(r0)), game.action_sizes))

    games: list[tuple[str, MarkovGame, list[tuple[int, ...]]]] = []
    for gamma in gammas:
        games.append((f"climbing|{gamma:g}", climbing_game(gamma), [(1, 1), (2, 2)]))
        for k in (-100.0, -1000.0):
            games.append((f"penalty{k:g}|{gamma:g}", penalty_game(k, gamma), [(1, 1)]))
        for name, sizes, n_states in (
            ("jackpot-2x3", (3, 3), 1), ("jackpot-2x10", (10, 10), 1), ("jackpot-3x3", (3, 3, 3), 1),
            ("jackpot-2x3-S3", (3, 3), 3), ("jackpot-3x3-S3", (3, 3, 3), 3),
        ):
            game = jackpot_game(sizes, seed=rng, gamma=gamma, n_states=n_states)
            games.append((f"{name}|{gamma:g}", game, [ordinary_best(game)]))
        game = random_game(2, (3, 3, 3), seed=rng, gamma=gamma)
        worst = np.unravel_index(int(np.argmin(game.r[0])), game.action_sizes)
        games.append((f"random-3x3|{gamma:g}", game, [tuple(int(k) for k in worst)]))
        if gamma > 0:
            games.append((f"search-2|{gamma:g}", search_game(2, 3, gamma=gamma), [(0, 0)]))
            games.append((f"search-3|{gamma:g}", search_game(3, 3, gamma=gamma), [(0, 0, 0)]))

    out = []
    for label, game, bad_actions in games:
        n = game.n_agents
        for dag_name, dag in (("full", DAG.full(n)), ("reversed", _reversed_full(n))):
            starts = [("uniform", BNPolicy(game, dag))]
            for actions in bad_actions:
                for scale in scales:
                    name = "near" + "".join(str(a) for a in actions) + f"x{scale:g}"
                    starts.append((name, concentrated_policy(game, dag, actions, scale)))
            for start_name, policy in starts:
                for lam in lams:
                    out.append(
                        (f"{label}|{dag_name}|{start_name}|{lam:g}", Instance(game, dag, lam, policy))
                    )
    return out


def lemma3_search(
    candidates: Sequence[tuple[str, Instance]],
    *,
    method: str = "armijo",
    max_steps: int = 20000,
    sweep: SweepOptions | None = None,
) -> tuple[dict, list[BNPolicy]]:
    """Run :func:`lemma3_point` on every candidate of :func:`lemma3_candidates` (or any labelled list).

    ``sweep`` (:class:`bnpg.experiments.sweeps.SweepOptions`) says where the candidates run, one task
    per candidate, where finished ones are kept and the progress shown; the results do not depend on it.

    Returns
    -------
    (dict, list of BNPolicy)
        The records collated into arrays (plus ``label``, and the scalars ``study``, ``method``,
        ``max_steps``), and the policies reached, in the order of ``candidates``.

    Examples
    --------
    >>> cands = lemma3_candidates(lams=(0.1,), gammas=(0.0,), scales=(3.0,))[:2]
    >>> results, policies = lemma3_search(cands)
    >>> results["met"].tolist(), len(policies)
    ([True, True], 2)
    """
    if isinstance(candidates, (str, bytes)) or not isinstance(candidates, Sequence):
        raise TypeError("candidates must be a sequence of (label, Instance) pairs")
    for item in candidates:
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Instance)):
            raise TypeError("candidates must be a sequence of (label, Instance) pairs")
    arguments = {"labels": [str(label) for label, _ in candidates], "method": method, "max_steps": max_steps}
    points = run_sweep(_search_point, len(candidates), args=(list(candidates), method, max_steps),
                       name="lemma3_search", arguments=arguments, sweep=sweep)
    records = [point["record"] for point in points]
    policies = [inst.policy.with_theta([np.array(t) for t in point["theta"]])
                for (_, inst), point in zip(candidates, points, strict=True)]
    meta = {"study": "lemma3_adversarial", "method": method, "max_steps": max_steps}
    return collate(records, meta), policies


def _search_point(k: int, candidates, method: str, max_steps: int) -> dict:
    """Candidate ``k`` climbed and measured (one task of the sweep): its record and the point reached."""
    label, inst = candidates[k]
    rec, policy = lemma3_point(inst, method=method, max_steps=max_steps)
    rec["label"] = str(label)
    return {"record": rec, "theta": [t.tolist() for t in policy.theta]}


def save_lemma3_search(
    folder: str | os.PathLike,
    *,
    method: str = "armijo",
    max_steps: int = 20000,
    sweep: SweepOptions | None = None,
    **candidate_options,
) -> dict:
    """Run :func:`lemma3_search` on :func:`lemma3_candidates` and write the results to ``folder``.

    Writes ``lemma3-search.json`` (every record, see :func:`lemma3_point`) and
    ``lemma3-worst.npz`` (:func:`save_instance` of the point reached with the largest ``ratio``
    among the records with ``met`` and ``nonvacuous``, so that it can be reloaded and checked
    again).

    Parameters
    ----------
    folder : path
        Created if missing.
    method, max_steps, sweep
        Passed to :func:`lemma3_search`.
    **candidate_options
        Passed to :func:`lemma3_candidates`.

    Returns
    -------
    dict
        The results, with the scalars ``worst_index`` (position of the saved point) and
        ``provenance`` (:func:`provenance` of the arguments) added.

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> out = save_lemma3_search(folder, lams=(0.1,), gammas=(0.0,), scales=(3.0,))
    >>> sorted(os.listdir(folder)), bool(out["met"][int(out["worst_index"])])
    (['lemma3-search.json', 'lemma3-worst.npz'], True)
    """
    folder = os.fspath(folder)
    for name in ("lemma3-search.json", "lemma3-worst.npz"):
        check_output_path(os.path.join(folder, name), (os.path.splitext(name)[1],), name="folder")
    candidates = lemma3_candidates(**candidate_options)
    results, policies = lemma3_search(candidates, method=method, max_steps=max_steps, sweep=sweep)
    eligible = results["met"] & results["nonvacuous"]
    if not eligible.any():
        raise ValueError("no candidate met the gradient threshold with a non-vacuous bound")
    worst = int(np.flatnonzero(eligible)[np.argmax(results["ratio"][eligible])])
    results["worst_index"] = worst
    results["provenance"] = provenance(method=method, max_steps=max_steps, **candidate_options)
    save_results(os.path.join(folder, "lemma3-search.json"), results)
    inst = candidates[worst][1]
    save_instance(os.path.join(folder, "lemma3-worst.npz"), inst.game, inst.dag, inst.lam, policies[worst])
    return results


def provenance(*, method: str = "armijo", max_steps: int = 20000, **candidate_options) -> str:
    """A fingerprint of what a saved search depends on: its arguments and the code that decides it.

    The SHA-256 of the arguments (candidate options with their defaults, method, step budget) and
    of the source, docstrings left out (:func:`~bnpg.experiments.results.code_without_docstrings`), of every function that chooses the candidates, reaches their points or records
    what is measured there. A stored search whose fingerprint differs from the current one was made
    by other code or other arguments and must be made again (``save_lemma3_search``).

    >>> len(provenance()), provenance() == provenance(lams=(1e-3, 1e-2, 1e-1, 1.0))
    (64, True)
    """
    import hashlib
    import inspect
    import json

    from bnpg.backends import choice
    from bnpg.dynamics import ascent as dynamics
    from bnpg.dynamics import line_search
    from bnpg.exact.objective import FlatObjective
    from bnpg.experiments import instances
    from bnpg.games import library as games
    from bnpg.paper import lemmas as paper
    from bnpg.theory import constants, telescoping

    options = {
        name: par.default for name, par in inspect.signature(lemma3_candidates).parameters.items()
    }
    options.update(candidate_options)
    functions = (
        lemma3_candidates, lemma3_point, _reversed_full, paper.lemma3,
        *(getattr(paper, name) for name in ("_stationary",)),
        dynamics.ascend, dynamics.armijo_ascent, dynamics.path_ascent, dynamics.lbfgs_ascent,
        *(getattr(dynamics, name) for name in ("_prepare", "_backtracking")),
        line_search.run_backtracking, line_search.sufficient_increase, FlatObjective,
        choice.resolve_backend, choice.configured_backend, choice.numpy_seconds, choice.compiled_kernel,
        constants.gradient_threshold, constants.lemma3_bound, telescoping.proof_step_ratios,
        telescoping.advantage_ratio, telescoping.performance_difference_bound, games.random_game,
        games.climbing_game, games.penalty_game, games.search_game, games.jackpot_game,
        instances.concentrated_policy,
    )
    digest = hashlib.sha256()
    digest.update(json.dumps({"options": {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()},
                              "method": method, "max_steps": max_steps}, sort_keys=True).encode())
    for fn in functions:
        digest.update(code_without_docstrings(fn).encode())
    return digest.hexdigest()
