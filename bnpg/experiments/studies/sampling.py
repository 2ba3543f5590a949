r"""What sampling costs: the dynamics (2) with sampled gradients against the exact dynamics.

For each of the book's games (chapters 6 and 7, :math:`\gamma = 0.5`, :math:`\epsilon` 2% of the value
range), each theorem's target (Theorem 1: Nash gap at most :math:`\epsilon`; Theorem 2: optimality gap
at most :math:`\epsilon`), the product and the fully-correlated DAG and three starts, the study runs the
dynamics with the theorem's :math:`\lambda` and :math:`\eta = 1/\beta_\lambda`, each network with its own
smoothness constant (:func:`case_setting`),

* exactly (:func:`bnpg.dynamics.convergence.first_crossing`), which gives :math:`T`, the first step at the
  target;
* with each estimator of :data:`ESTIMATORS` (:func:`bnpg.sampling.ascent.sampled_ascent`, geometric
  horizon, a fresh batch per step), recording the exact gap every :data:`RECORD_EVERY` steps, for at
  most :data:`BUDGET` times the exact run's steps (the product DAG's budget under Theorem 2, which the
  theorem does not cover, is that of the full DAG).

Every sampled run draws from its own generator, seeded by (``seed``, run index), so the study is a pure
function of its arguments. ``python -m bnpg sampling --out bnpg/data/sampling-runs.npz`` makes the
book's file (about seven minutes on one core).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from bnpg._validation import integer
from bnpg.dynamics.convergence import first_crossing
from bnpg.exact.mismatch import mismatch_coefficient
from bnpg.experiments.sweeps import SweepOptions, run_sweep
from bnpg.model.dag import DAG
from bnpg.model.policy import BNPolicy
from bnpg.sampling.ascent import sampled_ascent
from bnpg.theory.constants import smoothness_bound, theory_setting, value_range_bound

__all__ = [
    "BUDGET",
    "CURVE_EVERY",
    "ESTIMATORS",
    "GAMMA",
    "RECORD_EVERY",
    "STARTS",
    "THEOREM_GAMES",
    "book_games",
    "case_setting",
    "sampled_run",
    "sampling_cases",
    "sampling_study",
]

GAMMA = 0.5
EPS_FRACTION = 0.02
#: (method, episodes per step) of the sampled runs.
ESTIMATORS = (("reinforce", 10), ("reinforce", 100), ("actor-critic", 10))
STARTS = ("uniform", 1, 2)
#: The sampled runs' exact gap is recorded every this many steps.
RECORD_EVERY = 20
#: The stored gap curves keep one recorded point in this many steps.
CURVE_EVERY = 100
#: A sampled run stops at this many times the exact run's steps if it has not reached the target.
BUDGET = 4
#: The games of each theorem's runs.
THEOREM_GAMES = {1: ("random N=2", "random N=3", "penalty", "climbing"),
                 2: ("random N=2", "penalty", "climbing", "matching N=3")}


def book_games() -> dict:
    """The games of chapters 6 and 7, by name.

    >>> sorted(book_games())
    ['climbing', 'matching N=3', 'penalty', 'random N=2', 'random N=3']
    """
    from bnpg.games import library as games

    return {
        "random N=2": games.random_game(2, (2, 2), seed=7, gamma=GAMMA),
        "random N=3": games.random_game(2, (2, 2, 2), seed=7, gamma=GAMMA),
        "penalty": games.penalty_game(gamma=GAMMA),
        "climbing": games.climbing_game(gamma=GAMMA),
        "matching N=3": games.matching_game(3, 2, gamma=GAMMA),
    }


def sampling_cases(theorems=(1, 2), games=None) -> list[tuple[int, str, str, str]]:
    """Every (theorem, game, DAG, start) of the study, in the order it runs them.

    Under Theorem 2 only the uniform start of the climbing game is run: from the random starts its exact
    run takes about a million steps (chapter 7). ``games`` (names) restricts the games.

    >>> len(sampling_cases()), len(sampling_cases((1,), games=("penalty",)))
    (44, 6)
    """
    out = []
    for theorem in theorems:
        if theorem not in THEOREM_GAMES:
            raise ValueError(f"theorems must be among {tuple(THEOREM_GAMES)}, got {theorem!r}")
        for game in THEOREM_GAMES[theorem]:
            if games is not None and game not in games:
                continue
            for dag in ("product", "full"):
                for start in STARTS:
                    if theorem == 2 and game == "climbing" and start != "uniform":
                        continue
                    out.append((theorem, game, dag, str(start)))
    return out


def case_setting(theorem: int, game, dag: str = "full") -> object:
    r"""The theorem's :class:`~bnpg.theory.constants.TheorySetting` for ``game`` and the network ``dag``
    (``"product"`` or ``"full"``) at the study's :math:`\epsilon`: the theorem's :math:`\lambda`, and
    :math:`\eta = 1/\beta_\lambda` with the network's own smoothness constant (Lemma 4). Theorem 2 does
    not cover the product network; its runs take Theorem 2's :math:`\lambda` with their own
    :math:`\beta_\lambda`.

    >>> s = case_setting(1, book_games()["penalty"])
    >>> round(s.lam, 6), bool(case_setting(1, book_games()["penalty"], "product").eta < s.eta)
    (0.4, True)
    """
    eps = EPS_FRACTION * value_range_bound(game)
    full = theory_setting(game, DAG.full(game.n_agents), eps, theorem=theorem, M=mismatch_coefficient(game))
    if _dag(game, dag).is_fully_correlated:
        return full
    if theorem == 1:
        return theory_setting(game, _dag(game, dag), eps, theorem=1, M=full.M)
    beta = smoothness_bound(game, _dag(game, dag), full.lam)
    return replace(full, beta=beta, eta=1.0 / beta)


def _dag(game, name: str) -> DAG:
    if name not in ("product", "full"):
        raise ValueError(f"dag must be 'product' or 'full', got {name!r}")
    return DAG.empty(game.n_agents) if name == "product" else DAG.full(game.n_agents)


def sampled_run(case, estimator, *, steps: int, seed, record_every: int = RECORD_EVERY, games=None):
    """One sampled run of the study: ``case`` from :func:`sampling_cases`, ``estimator`` a (method,
    episodes) pair, ``steps`` its budget, ``seed`` the entropy of its generator (the study uses
    ``(seed, case index, estimator index)``). It stops at the theorem's target.

    >>> run = sampled_run((1, "penalty", "full", "uniform"), ("reinforce", 10), steps=40, seed=(0, 0, 0))
    >>> run.steps.tolist()
    [0, 20, 40]
    """
    theorem, name, dag_name, start = case
    game = (games or book_games())[name]
    s = case_setting(theorem, game, dag_name)
    metric = "nash_gap" if theorem == 1 else "optimality_gap"
    dag = _dag(game, dag_name)
    method, batch = estimator
    return sampled_ascent(game, _start(game, dag, start), s.lam, eta=s.eta, steps=steps, episodes=batch,
                          horizon="geometric", rng=np.random.default_rng(list(seed)), method=method,
                          record_every=record_every, metrics=(metric,), stop_below={metric: s.eps})


def _start(game, dag: DAG, start: str) -> BNPolicy:
    return BNPolicy(game, dag) if start == "uniform" else BNPolicy.random(game, dag, seed=int(start))


def _first_below(run, metric: str, eps: float) -> int:
    t = run.first_step_below(metric, eps)
    return -1 if t is None else int(t)


def sampling_study(seed: int = 0, *, theorems=(1, 2), games=None, estimators=ESTIMATORS, budget: int = BUDGET,
                   record_every: int = RECORD_EVERY, max_steps: int | None = None,
                   sweep: SweepOptions | None = None) -> dict:
    r"""Run every case of :func:`sampling_cases` (of ``theorems`` and ``games``) exactly and with every
    estimator. ``max_steps`` caps every run, exact and sampled (a quick look; the book's file has no cap).
    ``sweep`` (:class:`bnpg.experiments.sweeps.SweepOptions`) says where the cases run, one task per
    case, where finished ones are kept and the progress shown; the results do not depend on it.

    Returns
    -------
    dict
        Per case (arrays of length ``n_cases``): ``theorem``, ``game``, ``dag``, ``start``, ``eps``,
        ``lam``, ``eta``, ``budget_steps`` and ``exact_T`` (first step at the target, -1 if none within
        the budget). Per case and estimator (shape ``(n_cases, n_estimators)``): ``T`` (first recorded
        step at the target, -1 if none), ``samples`` (actions drawn up to it, or over the whole run),
        ``final_gap``, ``best_gap``. ``curve_steps`` and, per case and estimator, ``curves`` (the gap
        every :data:`CURVE_EVERY` steps, NaN after the run ended), with ``exact_curves`` from the exact
        dynamics at the same steps. ``estimators`` (``"method/episodes"``), ``record_every``,
        ``bnpg_version``.

    Examples
    --------
    >>> out = sampling_study(theorems=(1,), games=("climbing",), estimators=(("reinforce", 5),),
    ...                      max_steps=100)
    >>> out["T"].shape, int(out["budget_steps"].max())
    ((6, 1), 100)
    """
    from bnpg._version import __version__

    seed = integer("seed", seed, minimum=0)
    budget = integer("budget", budget, minimum=1)
    record_every = integer("record_every", record_every, minimum=1)
    cap_all = None if max_steps is None else integer("max_steps", max_steps, minimum=1)
    estimators = tuple((str(m), integer("episodes", b, minimum=1)) for m, b in estimators)
    cases = sampling_cases(theorems, games)
    arguments = {"seed": seed, "cases": cases, "estimators": estimators, "budget": budget,
                 "record_every": record_every, "max_steps": cap_all}
    per_case = run_sweep(_case_record, len(cases), args=(cases, seed, estimators, budget, record_every, cap_all),
                         name="sampling", arguments=arguments, sweep=sweep)
    out = {key: np.array([c[j] for c in cases]) for j, key in enumerate(("theorem", "game", "dag", "start"))}
    out.update({key: np.array([case[key] for case in per_case])
                for key in ("eps", "lam", "eta", "budget_steps", "exact_T")})
    for key, dtype in (("T", np.int64), ("samples", np.int64), ("final_gap", float), ("best_gap", float)):
        out[key] = np.array([[r[key] for r in case["runs"]] for case in per_case], dtype=dtype).reshape(
            len(cases), len(estimators))
    width = max(len(case["exact_curve"]) for case in per_case)
    curves = np.full((len(cases), len(estimators), width), np.nan, dtype=np.float32)
    exact_curves = np.full((len(cases), width), np.nan, dtype=np.float32)
    for k, case in enumerate(per_case):
        exact_curves[k, :len(case["exact_curve"])] = case["exact_curve"]
        for e, r in enumerate(case["runs"]):
            curves[k, e, :len(r["curve"])] = r["curve"]
    curve_steps = np.arange(width) * record_every * max(1, CURVE_EVERY // record_every)
    out.update(curves=curves, exact_curves=exact_curves, curve_steps=curve_steps,
               estimators=np.array([f"{m}/{b}" for m, b in estimators]), record_every=np.array(record_every),
               seed=np.array(seed), study=np.array("sampling"), bnpg_version=np.array(__version__))
    return out


def _case_record(k: int, cases, seed: int, estimators, budget: int, record_every: int, cap_all) -> dict:
    """Case ``k`` run exactly and with every estimator (one task of the sweep)."""
    from bnpg.dynamics.ascent import gradient_ascent

    theorem, name, dag_name, start = cases[k]
    games = book_games()
    game = games[name]
    s = case_setting(theorem, game, dag_name)
    metric = "nash_gap" if theorem == 1 else "optimality_gap"
    policy = _start(game, _dag(game, dag_name), start)
    if dag_name == "full" or theorem == 1:
        cap = 2_000_000
    else:   # the product DAG under Theorem 2: the full DAG's budget from the same start
        full_T = _full_exact(game, case_setting(theorem, game), start, metric, cap_all)
        cap = (cap_all or 2_000_000) if full_T is None else budget * max(full_T, 1)
    cap = cap if cap_all is None else min(cap, cap_all)
    exact = first_crossing(game, policy, lam=s.lam, eta=s.eta, eps=s.eps, metric=metric,
                           max_steps=cap, stop_at_crossing=True)
    t_exact = exact.crossing.first_below
    steps = budget * t_exact if t_exact is not None else cap
    steps = max(record_every, -(-steps // record_every) * record_every)
    steps = steps if cap_all is None else min(steps, cap_all)
    ref = gradient_ascent(game, policy, lam=s.lam, eta=s.eta, steps=steps, record_every=record_every,
                          metrics=(metric,))
    stride = max(1, CURVE_EVERY // record_every)
    runs = []
    for e, estimator in enumerate(estimators):
        run = sampled_run(cases[k], estimator, steps=steps, seed=(seed, k, e), record_every=record_every,
                          games=games)
        gaps = run.metrics[metric]
        hit = np.flatnonzero(gaps <= s.eps)
        runs.append({"T": _first_below(run, metric, s.eps),
                     "samples": int(run.agent_steps[hit[0]] if hit.size else run.agent_steps[-1]),
                     "final_gap": float(gaps[-1]), "best_gap": float(gaps.min()),
                     "curve": [float(x) for x in gaps[::stride]]})
    return {"eps": s.eps, "lam": s.lam, "eta": s.eta, "budget_steps": int(steps),
            "exact_T": -1 if t_exact is None else int(t_exact),
            "exact_curve": [float(x) for x in ref.metrics[metric][::stride]], "runs": runs}


def _full_exact(game, s, start: str, metric: str, cap: int | None) -> int | None:
    """The exact full-DAG run's first step at the target from ``start`` (``None`` if it does not get there)."""
    run = first_crossing(game, _start(game, DAG.full(game.n_agents), start), lam=s.lam, eta=s.eta, eps=s.eps,
                         metric=metric, max_steps=2_000_000 if cap is None else cap, stop_at_crossing=True)
    return run.crossing.first_below
