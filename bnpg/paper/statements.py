r"""Every numbered statement of the paper as a function that checks it on a game and returns a :class:`~bnpg.paper.verdict.Verdict`.

* :func:`assumption1`, Assumption 1: :math:`\min_\pi d_\mu^\pi(s) > 0` for every state (exact, by policy iteration);
* :func:`assumption2`, Assumption 2: :math:`\max_{\pi,s} V_\pi(s) - \min_{\pi,s} V_\pi(s) \le (r_{\max}-r_{\min})/(1-\gamma)`;
* :func:`lemma1`, Lemma 1: the printed gradient formula against the exact gradient (or finite differences);
* :func:`lemma2`, Lemma 2: at a point meeting the gradient threshold, Nash gap :math:`\le 2\lambda M`;
* :func:`lemma3`, Lemma 3: the same on a fully-correlated DAG, optimality gap :math:`\le 2^{N+1}N\lambda M`;
* :func:`lemma4`, Lemma 4: the largest curvature of :math:`L_\lambda` found is at most :math:`\beta_\lambda`;
* :func:`theorem1`, Theorem 1: steps of (2) from the uniform policy to an :math:`\epsilon`-Nash iterate, at most :math:`T`;
* :func:`theorem2`, Theorem 2: the same for an :math:`\epsilon`-optimal iterate on a fully-correlated DAG.

The constants (thresholds, bounds, :math:`\lambda` choices, :math:`\beta_\lambda`, iteration bounds)
come from :mod:`bnpg.theory.constants`. Lemmas 2 and 3 are statements about *points*; the functions reach a
point that meets the statement's own threshold with :func:`bnpg.ascend` (the ``method`` is
recorded), and report ``hypothesis_met=False`` when the run ends without one. Theorems 1 and 2 run
the dynamics (2) with :math:`\eta = 1/\beta_\lambda` and the theorem's :math:`\lambda` from the
uniform policy until the target gap is met or ``max_steps`` runs out; a run that ends first is
``undecided`` unless it ran at least as many steps as the bound promised, in which case the bound
fails. Every ``bound_corrected`` of Lemmas 2-3 and Theorems 1-2 is the sharpened form
(:mod:`bnpg.theory.sharpened`, at most :math:`\lambda M` for the lemmas) for the hypothesis the paper states
or the run it prescribes. :func:`check` runs every statement and returns a :class:`~bnpg.paper.verdict.Report`.

Comparisons allow :data:`TOLERANCE` times the game's value scale
:math:`\max(|r_{\min}|, |r_{\max}|)/(1-\gamma)` for the rounding of exact computations.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from bnpg._validation import as_generator, integer, non_negative, positive
from bnpg._version import __version__
from bnpg.dynamics.ascent import ascend
from bnpg.dynamics.convergence import first_crossing
from bnpg.dynamics.curvature import measure_curvature
from bnpg.dynamics.finite_differences import central_difference
from bnpg.exact.evaluation import evaluate
from bnpg.exact.gaps import (
    mismatch_coefficient,
    nash_gaps,
    optimal_solution,
    visitation_extremes,
    worst_solution,
)
from bnpg.exact.objective import gradient, lemma1_gradient, objective
from bnpg.model.dag import DAG
from bnpg.model.game import MarkovGame
from bnpg.model.policy import BNPolicy, check_game_and_dag, check_policy
from bnpg.paper.verdict import Report, Verdict
from bnpg.theory import sharpened
from bnpg.theory.constants import (
    gradient_threshold,
    iteration_bound,
    lambda_choice,
    lemma2_bound,
    lemma3_bound,
    smoothness_bound,
    theory_setting,
    value_range_bound,
)
from bnpg.theory.telescoping import advantage_ratio, performance_difference_bound, proof_step_ratios

__all__ = [
    "LEMMA1_NOISE",
    "LEMMA1_TOLERANCE",
    "STATEMENTS",
    "TOLERANCE",
    "assumption1",
    "assumption2",
    "check",
    "lemma1",
    "lemma2",
    "lemma3",
    "lemma4",
    "theorem1",
    "theorem2",
]

#: Relative allowance, in units of the game's value scale, for rounding in exact comparisons.
TOLERANCE = 1e-10
#: Relative agreement Lemma 1's formula must reach with its reference to count as equal.
LEMMA1_TOLERANCE = 1e-6
#: Relative errors of Lemma 1 below these are the reference's own rounding or truncation, and are
#: reported as 0: the exact gradient's round-off, and central differences' error.
LEMMA1_NOISE = {"exact": 1e-12, "finite-differences": 1e-8}


def _scale(game: MarkovGame) -> float:
    return max(abs(game.r_min), abs(game.r_max), 1e-300) / (1 - game.gamma)


def _within(measured: float, bound: float | None, game: MarkovGame) -> bool | None:
    if bound is None or measured is None:
        return None
    return bool(measured <= bound + TOLERANCE * _scale(game))


def _start(game: MarkovGame, start) -> BNPolicy:
    """A policy from a DAG (its uniform policy) or a policy of ``game``."""
    if isinstance(start, DAG):
        check_game_and_dag(game, start)
        return BNPolicy(game, start)
    check_policy(game, start)
    return start


def _mismatch(game: MarkovGame, M) -> float:
    """``M`` as given (``inf`` allowed: Assumption 1 fails), or computed exactly when ``None``."""
    if M is None:
        return mismatch_coefficient(game)
    if isinstance(M, (int, float, np.floating)) and M == math.inf:
        return math.inf
    return positive("M", M)


def assumption1(game: MarkovGame) -> Verdict:
    r"""Assumption 1: every state has positive discounted visitation under every policy.

    Exact: :math:`\min_\pi d_\mu^\pi(s)` is an optimal value of a finite MDP (see :mod:`bnpg.exact.gaps`).

    >>> import bnpg
    >>> v = bnpg.paper.assumption1(bnpg.games.search_game(2, 3, gamma=0.9))
    >>> v.holds_as_printed, v.measured > 0
    (True, True)
    """
    ext = visitation_extremes(game)
    d_min = float(ext.d_min.min())
    holds = bool(d_min > 0)
    M = mismatch_coefficient(game)
    return Verdict(
        "assumption-1", "every state is visited under every policy", None, d_min, 0.0, 0.0,
        holds, holds, {}, {"min_visitation": ext.d_min, "max_visitation": ext.d_max, "M": M},
        f"min over policies and states of d_mu(s) = {d_min:.4g}: "
        + (f"Assumption 1 holds, M = {M:.6g}" if holds else "Assumption 1 fails, M is infinite"),
    )


def assumption2(game: MarkovGame) -> Verdict:
    r"""Assumption 2 as the proofs use it: values span at most :math:`(r_{\max} - r_{\min})/(1-\gamma)`.

    Exact: the largest and smallest values over all policies, state by state, by policy iteration.

    >>> import bnpg
    >>> bnpg.paper.assumption2(bnpg.games.climbing_game(gamma=0.5)).status
    'holds'
    """
    v_max, v_min = optimal_solution(game).V, worst_solution(game).V
    span = float(v_max.max() - v_min.min())
    bound = value_range_bound(game)
    holds = _within(span, bound, game) and bool(
        v_min.min() >= game.r_min / (1 - game.gamma) - TOLERANCE * _scale(game)
        and v_max.max() <= game.r_max / (1 - game.gamma) + TOLERANCE * _scale(game))
    return Verdict(
        "assumption-2", "bounded rewards bound the values", None, span, bound, bound, holds, holds, {},
        {"r_min": game.r_min, "r_max": game.r_max, "V_min": float(v_min.min()), "V_max": float(v_max.max())},
        f"values range over {span:.6g}, within (r_max - r_min)/(1 - gamma) = {bound:.6g}",
    )


def lemma1(game: MarkovGame, policy: BNPolicy, lam: float = 0.0, *, reference: str = "exact",
           h: float = 1e-5) -> Verdict:
    r"""Lemma 1: the gradient of :math:`L_\lambda` in terms of local advantages, at ``policy``.

    ``measured`` is the largest absolute entry of (printed formula - reference), relative to the
    largest entry of the reference; the corrected formula (errata E1) drops the factor :math:`1/(1-\gamma)`. The
    reference is :func:`bnpg.gradient` (``"exact"``, the policy-gradient theorem written without
    advantages) or central differences of :func:`bnpg.objective` with step ``h``
    (``"finite-differences"``, ``2 n_params`` evaluations). Both forms hold when within
    :data:`LEMMA1_TOLERANCE`; errors below the reference's own accuracy (:data:`LEMMA1_NOISE`) are
    reported as 0, so that no digit of rounding noise is shown.

    >>> import bnpg
    >>> game = bnpg.games.random_game(2, (2, 2), seed=0, gamma=0.9)
    >>> v = bnpg.paper.lemma1(game, bnpg.BNPolicy.random(game, bnpg.DAG.chain(2), seed=0), 0.1)
    >>> v.status, v.holds_corrected
    ('fails as printed', True)
    """
    check_policy(game, policy)
    lam = non_negative("lam", lam)
    if reference == "exact":
        ref = gradient(game, policy, lam)
    elif reference == "finite-differences":
        ref = central_difference(lambda p: objective(game, p, lam), policy, h=h)
    else:
        raise ValueError(f"reference must be 'exact' or 'finite-differences', got {reference!r}")
    ref = np.concatenate([g.ravel() for g in ref])
    size = float(np.abs(ref).max())

    def error(value_factor):
        formula = np.concatenate([g.ravel() for g in lemma1_gradient(game, policy, lam, value_factor=value_factor)])
        err = float(np.abs(formula - ref).max() / size) if size > 0 else float(np.abs(formula).max())
        return 0.0 if err <= LEMMA1_NOISE[reference] else err

    printed, corrected = error(None), error(1.0)
    tol = LEMMA1_TOLERANCE
    return Verdict(
        "lemma-1", "the gradient of L_lambda", None, printed, tol, tol, printed <= tol, corrected <= tol,
        {"lam": lam, "reference": reference, "dag": [list(p) for p in policy.dag.parent_lists]},
        {"corrected_error": corrected, "gradient_size": size, "printed_value_factor": 1 / (1 - game.gamma)},
        f"printed formula off by {_relative(printed)} (relative), corrected formula (no 1/(1-gamma)) by "
        f"{_relative(corrected)}, against the {reference} gradient",
        point=policy,
    )


def _relative(x: float) -> str:
    """A relative error for a summary; below 1e-9 its digits are rounding noise and are not shown."""
    return f"{x:.3g}" if x >= 1e-9 else "less than 1e-9"


def _fmt(x) -> str:
    return "-" if x is None else f"{x:.4g}"


def _stationary(game, start, lam, method, max_steps):
    run = ascend(game, start, lam, method=method, max_steps=max_steps)
    return run, {"grad_norm": run.final("grad_norm"), "threshold": run.threshold, "n_steps": run.n_steps}


def lemma2(game: MarkovGame, start, lam: float, *, method: str = "armijo", max_steps: int = 5000,
           M: float | None = None) -> Verdict:
    r"""Lemma 2: where :math:`\|\nabla L_\lambda\| \le \lambda/(2|\mathcal S||\mathcal A|\max_i|\mathcal A^i|)`, the Nash gap is at most :math:`2\lambda M`.

    Parameters
    ----------
    game : MarkovGame
    start : DAG or BNPolicy
        Where the ascent starts (a DAG means its uniform policy).
    lam : float
        :math:`\lambda > 0`.
    method, max_steps
        Passed to :func:`bnpg.ascend`, which stops at the lemma's threshold.
    M : float, optional
        The mismatch coefficient; ``None`` computes it exactly.

    The corrected bound is the sharpened Lemma 2 at the paper's threshold (:func:`bnpg.theory.sharpened.sharp_bound`,
    at most :math:`\lambda M`). ``details["agent_gaps"]`` holds each agent's gain from its best response, with gains within
    :data:`TOLERANCE` times the value scale of zero reported as 0.

    Examples
    --------
    >>> import bnpg
    >>> v = bnpg.paper.lemma2(bnpg.games.climbing_game(gamma=0.5), bnpg.DAG.empty(2), 0.1)
    >>> v.hypothesis_met, v.status
    (True, 'holds')
    """
    policy = _start(game, start)
    lam = positive("lam", lam)
    M = _mismatch(game, M)
    run, details = _stationary(game, policy, lam, method, max_steps)
    met = run.met and math.isfinite(M)
    gaps = nash_gaps(game, run.policy)
    gap = float(gaps.max())
    # agents' gains within the rounding allowance of zero are zero to the accuracy of the computation
    gaps = np.where(np.abs(gaps) <= TOLERANCE * _scale(game), 0.0, gaps)
    finite = math.isfinite(M)
    bound = lemma2_bound(lam, M) if finite else None
    sharp = sharpened.sharp_bound(game, policy.dag, lam, M, lemma=2, grad_norm=run.threshold) if finite else None
    details.update({"M": M, "agent_gaps": gaps, "value": evaluate(game, run.policy).value,
                    "sharp_threshold": sharpened.sharp_threshold(game, policy.dag, lam, lemma=2)})
    what = (f"Nash gap {gap:.4g} vs 2 lambda M = {bound:.4g}, sharpened {sharp:.4g}" if finite else "M is infinite")
    where = (f"at a point with |grad L| = {details['grad_norm']:.3g} <= {run.threshold:.3g}" if run.met else
             f"no point met the threshold ({details['grad_norm']:.3g} > {run.threshold:.3g})")
    return Verdict(
        "lemma-2", "approximate stationary points are near-Nash", met, gap, bound, sharp,
        _within(gap, bound, game) if met else None, _within(gap, sharp, game) if met else None,
        {"lam": lam, "method": method, "max_steps": max_steps,
         "dag": [list(p) for p in policy.dag.parent_lists]},
        details, f"{where} ({method}, {run.n_steps} steps): {what}", point=run.policy, trajectory=run,
    )


def lemma3(game: MarkovGame, lam: float, *, start=None, method: str = "armijo", max_steps: int = 5000,
           M: float | None = None) -> Verdict:
    r"""Lemma 3: on a fully-correlated DAG, where the gradient meets the threshold, the optimality gap is at most :math:`2^{N+1}N\lambda M`.

    The corrected bound is the sharpened Lemma 3 at the paper's threshold :math:`\tau`,
    :math:`M(\lambda(1-1/|\mathcal A|) + \sqrt{|\mathcal S|\Sigma_k}\,\tau) \le \lambda M`
    (:func:`bnpg.theory.sharpened.sharp_bound`), when that threshold is within the sharpened one
    (:func:`bnpg.theory.sharpened.paper_threshold_within`), and ``None`` otherwise: there no bound holds
    (errata E16). ``start`` is a fully-correlated DAG or a policy on one (default: the uniform policy
    on :meth:`bnpg.DAG.full`); the other arguments are those of :func:`lemma2`.

    >>> import bnpg
    >>> v = bnpg.paper.lemma3(bnpg.games.climbing_game(gamma=0.5), 0.1)
    >>> v.hypothesis_met, v.status
    (True, 'holds')
    """
    policy = _start(game, DAG.full(game.n_agents) if start is None else start)
    if not policy.dag.is_fully_correlated:
        raise ValueError(f"start must be on a fully-correlated DAG (Definition 3), got {policy.dag!r}")
    lam, M = positive("lam", lam), _mismatch(game, M)
    run, details = _stationary(game, policy, lam, method, max_steps)
    finite, ev, v_star = math.isfinite(M), evaluate(game, run.policy), optimal_solution(game).value
    met, gap = run.met and finite, v_star - ev.value
    printed = lemma3_bound(game, lam, M) if finite else None
    corrected = (sharpened.sharp_bound(game, policy.dag, lam, M, lemma=3, grad_norm=run.threshold)
                 if finite and sharpened.paper_threshold_within(game) else None)
    details.update({"M": M, "value": ev.value, "optimal_value": v_star,
                    "sharp_threshold": sharpened.sharp_threshold(game, policy.dag, lam, lemma=3),
                    "advantage_ratio": advantage_ratio(game, ev, lam),
                    "performance_difference_bound": performance_difference_bound(game, ev, lam),
                    **{f"{k}_ratio": v for k, v in proof_step_ratios(run.policy).items()}})
    return Verdict(
        "lemma-3", "with a fully-correlated DAG they are near-optimal", met, gap, printed, corrected,
        _within(gap, printed, game) if met else None, _within(gap, corrected, game) if met else None,
        {"lam": lam, "method": method, "max_steps": max_steps, "dag": [list(p) for p in policy.dag.parent_lists]},
        details, f"{'at a point meeting' if run.met else 'no point met'} the threshold ({method}, {run.n_steps} "
        + (f"steps): optimality gap {gap:.4g} vs 2^(N+1) N lambda M = {_fmt(printed)}, sharpened {_fmt(corrected)}"
           if finite else "steps): M is infinite, the lemma says nothing"),
        point=run.policy, trajectory=run,
    )


def lemma4(game: MarkovGame, dag: DAG, lam: float, *, seed=0, n_points: int = 2, n_directions: int = 8,
           steps: int = 100, every: int = 50) -> Verdict:
    r"""Lemma 4: :math:`L_\lambda` is :math:`\beta_\lambda`-smooth; the largest curvature found must not exceed :math:`\beta_\lambda`.

    The curvature is measured by :func:`bnpg.dynamics.curvature.measure_curvature` (Hessians from differences
    of the exact gradient at random points, along random directions and along a trajectory); any
    measurement is a lower bound on the true smoothness constant, so this can refute the lemma but
    not prove it. ``details["slack"]`` is :math:`\beta_\lambda` / measured.

    >>> import bnpg
    >>> bnpg.paper.lemma4(bnpg.games.climbing_game(gamma=0.5), bnpg.DAG.full(2), 0.1).status
    'holds'
    """
    check_game_and_dag(game, dag)
    lam = non_negative("lam", lam)
    rep = measure_curvature(game, dag, lam, seed=as_generator(seed), n_points=n_points,
                            n_directions=n_directions, steps=steps, every=every)
    beta = smoothness_bound(game, dag, lam)
    holds = bool(rep.measured <= beta * (1 + 1e-6))
    return Verdict(
        "lemma-4", "L_lambda is beta_lambda-smooth", None, rep.measured, beta, beta, holds, holds,
        {"lam": lam, "dag": [list(p) for p in dag.parent_lists], "n_points": n_points,
         "n_directions": n_directions, "steps": steps},
        {"directional": rep.directional, "spectral": rep.spectral, "trajectory": rep.trajectory,
         "slack": beta / rep.measured if rep.measured else float("inf"),
         "beta_A3_form": smoothness_bound(game, dag, lam, form="A.3")},
        f"largest curvature found {rep.measured:.4g}, beta_lambda = {beta:.4g} (slack {beta / max(rep.measured, 1e-300):.3g}x)",
    )


def _theorem(number, game, dag, eps, max_steps, M) -> Verdict:
    check_game_and_dag(game, dag)
    eps = positive("eps", eps)
    max_steps = integer("max_steps", max_steps, minimum=0)
    M = _mismatch(game, M)
    sid, metric = f"theorem-{number}", ("nash_gap", "optimality_gap")[number - 1]
    title = ("policy gradient reaches an eps-Nash policy", "with a fully-correlated DAG it reaches an eps-optimal policy")[number - 1]
    params = {"eps": eps, "max_steps": max_steps, "dag": [list(p) for p in dag.parent_lists], "start": "uniform"}
    if not math.isfinite(M):
        return Verdict(sid, title, False, None, None, None, None, None, params, {"M": M},
                       "Assumption 1 fails (M is infinite): the theorem says nothing")
    s = theory_setting(game, dag, eps, theorem=number, M=M)
    t_printed = iteration_bound(game, dag, eps, theorem=number, M=M)
    t_sharp = sharpened.sharp_iteration_bound(game, dag, eps, theorem=number, M=M, lam=s.lam)
    run = first_crossing(game, BNPolicy(game, dag), lam=s.lam, eta=s.eta, eps=eps, metric=metric,
                         max_steps=max_steps, stop_at_crossing=True)
    t_obs = run.T_observed

    def holds(bound):
        if t_obs is not None:
            return bool(t_obs <= bound)
        return False if max_steps >= bound else None

    details = {"M": M, "lam": s.lam, "beta_lambda": s.beta, "eta": s.eta, "threshold": s.threshold,
               "initial_gap": float(run.crossing.gaps[0]), "last_gap": float(run.crossing.gaps[-1]),
               "steps_run": run.n_steps, "T_corrected": iteration_bound(game, dag, eps, theorem=number, form="corrected", M=M),
               "lam_sharpened": sharpened.sharp_lambda(game, dag, eps, M, theorem=number),
               "T_sharpened": sharpened.sharp_iteration_bound(game, dag, eps, theorem=number, M=M)}
    reached = (f"reached gap <= {eps:.4g} after T = {t_obs:,} steps" if t_obs is not None
               else f"gap still {details['last_gap']:.4g} > {eps:.4g} after {run.n_steps:,} steps")
    return Verdict(
        sid, title, True, None if t_obs is None else float(t_obs), t_printed, t_sharp,
        holds(t_printed), holds(t_sharp), params, details,
        f"{reached}; the theorem promises T <= {t_printed:.4g} (printed), {t_sharp:.4g} (sharpened)",
        point=run.policy, trajectory=run,
    )


def theorem1(game: MarkovGame, dag: DAG, eps: float, *, max_steps: int = 100_000, M=None) -> Verdict:
    r"""Theorem 1: from the uniform policy, the dynamics (2) with :math:`\lambda = \epsilon/(2M)` and :math:`\eta = 1/\beta_\lambda` reach an :math:`\epsilon`-Nash iterate within :math:`T` steps.

    ``measured`` is the observed :math:`T` (the first with :math:`\min_{t<T}` Nash-gap :math:`\le\epsilon`),
    found by :func:`bnpg.dynamics.convergence.first_crossing`. ``bound_printed`` is
    :func:`bnpg.theory.constants.iteration_bound`; ``bound_corrected`` is
    :func:`bnpg.theory.sharpened.sharp_iteration_bound` for the run made (the paper's :math:`\lambda`, the
    sharpened threshold). ``details`` adds the re-derived bound with the paper's threshold
    (``T_corrected``, errata E5-E9) and the sharpened theorem's own :math:`\lambda^\sharp` and
    :math:`T^\sharp` (``lam_sharpened``, ``T_sharpened``).

    >>> import bnpg
    >>> game = bnpg.games.matching_game(2, 2, gamma=0.5)
    >>> v = bnpg.paper.theorem1(game, bnpg.DAG.chain(2), 0.5)
    >>> v.holds_as_printed, v.measured <= v.bound_printed
    (True, True)
    """
    return _theorem(1, game, dag, eps, max_steps, M)


def theorem2(game: MarkovGame, eps: float, *, dag: DAG | None = None, max_steps: int = 100_000,
             M=None) -> Verdict:
    r"""Theorem 2: the same with a fully-correlated DAG, :math:`\lambda = \epsilon/(2^{N+1}NM)`, and an :math:`\epsilon`-optimal iterate.

    ``dag`` defaults to :meth:`bnpg.DAG.full`; it must be fully correlated.

    >>> import bnpg
    >>> v = bnpg.paper.theorem2(bnpg.games.matching_game(2, 2, gamma=0.5), 0.5)
    >>> v.holds_as_printed
    True
    """
    return _theorem(2, game, DAG.full(game.n_agents) if dag is None else dag, eps, max_steps, M)


#: The statements :func:`check` runs, in the paper's order: id and function.
STATEMENTS = ("assumption-1", "assumption-2", "lemma-1", "lemma-2", "lemma-3", "lemma-4",
              "theorem-1", "theorem-2")


def check(game: MarkovGame, dag: DAG | None = None, *, lam: float | None = None, eps: float | None = None,
          max_steps: int = 2_000_000, method: str = "armijo", seed=0,
          progress: Callable | None = None) -> Report:
    r"""Check every statement of the paper on ``game``.

    Parameters
    ----------
    game : MarkovGame
    dag : DAG, optional
        The network of Lemmas 1, 2, 4 and Theorem 1 (default :meth:`bnpg.DAG.full`); Lemma 3 and
        Theorem 2 always use the fully-correlated :meth:`bnpg.DAG.full`.
    eps : float, optional
        Target gap of the theorems; default a tenth of :math:`(r_{\max}-r_{\min})/(1-\gamma)` (or 0.1
        if all rewards are equal).
    lam : float, optional
        :math:`\lambda` of the lemmas; default Theorem 1's choice :math:`\epsilon/(2M)`, so that
        Lemma 2's bound is :math:`\epsilon` (or 0.1 if :math:`M` is infinite).
    max_steps : int, default 2000000
        Step budget of each theorem's run; Lemmas 2-3 allow ``max_steps // 20`` ascent steps.
    method : str, default "armijo"
        The ascent of Lemmas 2-3 (see :func:`bnpg.ascend`).
    seed : int, default 0
        Seeds Lemma 1's random point and Lemma 4's random points.
    progress : callable, optional
        Called with ``(statement id, index, total)`` before each statement.

    Returns
    -------
    Report
    """
    dag = DAG.full(game.n_agents) if dag is None else dag
    check_game_and_dag(game, dag)
    max_steps = integer("max_steps", max_steps, minimum=1)
    M = mismatch_coefficient(game)
    spread = value_range_bound(game)
    eps = (0.1 * spread if spread > 0 else 0.1) if eps is None else positive("eps", eps)
    if lam is None:
        lam = lambda_choice(game, eps, M, theorem=1) if math.isfinite(M) else 0.1
    lam = positive("lam", lam)
    rng = as_generator(seed)
    lemma_steps = max(max_steps // 20, 1)
    full = DAG.full(game.n_agents)
    calls = {
        "assumption-1": lambda: assumption1(game),
        "assumption-2": lambda: assumption2(game),
        "lemma-1": lambda: lemma1(game, BNPolicy.random(game, dag, rng), lam),
        "lemma-2": lambda: lemma2(game, dag, lam, method=method, max_steps=lemma_steps, M=M),
        "lemma-3": lambda: lemma3(game, lam, start=full, method=method, max_steps=lemma_steps, M=M),
        "lemma-4": lambda: lemma4(game, dag, lam, seed=rng),
        "theorem-1": lambda: theorem1(game, dag, eps, max_steps=max_steps, M=M),
        "theorem-2": lambda: theorem2(game, eps, dag=full, max_steps=max_steps, M=M),
    }
    verdicts = []
    for k, sid in enumerate(STATEMENTS):
        if progress is not None:
            progress(sid, k, len(STATEMENTS))
        verdicts.append(calls[sid]())
    finite, tau = math.isfinite(M), gradient_threshold(game, lam)
    constants = {
        "M": M, "beta_lambda": smoothness_bound(game, dag, lam), "gradient_threshold": tau,
        "sharp_threshold_lemma2": sharpened.sharp_threshold(game, dag, lam, lemma=2),
        "sharp_threshold_lemma3": sharpened.sharp_threshold(game, full, lam, lemma=3),
        "lemma2_bound": lemma2_bound(lam, M) if finite else None,
        "lemma2_bound_corrected": sharpened.sharp_bound(game, dag, lam, M, lemma=2, grad_norm=tau) if finite else None,
        "lemma3_bound_printed": lemma3_bound(game, lam, M) if finite else None,
        "lemma3_bound_corrected": sharpened.sharp_bound(game, full, lam, M, lemma=3, grad_norm=tau)
        if finite and sharpened.paper_threshold_within(game) else None,
        "lambda_theorem1": lambda_choice(game, eps, M, theorem=1) if finite else None,
        "lambda_theorem2": lambda_choice(game, eps, M, theorem=2) if finite else None,
        "value_range_bound": spread,
    }
    parameters = {"n_states": game.n_states, "action_sizes": list(game.action_sizes), "gamma": game.gamma,
                  "n_joint_actions": game.n_joint_actions, "dag": [list(p) for p in dag.parent_lists],
                  "lam": lam, "eps": eps, "max_steps": max_steps, "method": method,
                  "seed": seed if isinstance(seed, int) else None}
    return Report(tuple(verdicts), constants, parameters, __version__)
