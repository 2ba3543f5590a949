r"""The paper's four lemmas, each a function that checks it on a game and returns a
:class:`~bnpg.paper.verdict.Verdict`.

* :func:`lemma1`, Lemma 1: the printed gradient formula against the exact gradient (or finite differences);
* :func:`lemma2`, Lemma 2: at a point meeting the gradient threshold, Nash gap :math:`\le 2\lambda M`;
* :func:`lemma3`, Lemma 3: the same on a fully-correlated DAG, optimality gap :math:`\le 2^{N+1}N\lambda M`;
* :func:`lemma4`, Lemma 4: the largest curvature of :math:`L_\lambda` found is at most :math:`\beta_\lambda`.

Lemmas 2 and 3 are statements about *points*; the functions reach a point that meets the
statement's own threshold with :func:`bnpg.ascend` (the ``method`` is recorded), and report
``hypothesis_met=False`` (status ``"undecided"``, the reason in ``details["undecided"]``) when the run
ends without one or when :math:`M` is infinite. Their three bounds, all at the paper's threshold and
the given :math:`\lambda`: ``bound_printed`` as stated; ``bound_corrected``, what the paper's proof
gives with the errata fixed (Lemma 2: :math:`2\lambda M` stands, errata E2-E4; Lemma 3: the printed
constant where the printed threshold is within the sharpened one, none beyond, errata E16);
``bound_sharpened``, this book's form (:mod:`bnpg.theory.sharpened`, at most :math:`\lambda M`).
The constants come from :mod:`bnpg.theory.constants`; comparisons allow
:data:`~bnpg.paper.shared.TOLERANCE` times the game's value scale for rounding.
"""

from __future__ import annotations

import math

import numpy as np

from bnpg._validation import as_generator, fully_correlated, integer, non_negative, positive
from bnpg.dynamics.ascent import ascend
from bnpg.dynamics.curvature import measure_curvature
from bnpg.dynamics.finite_differences import central_difference
from bnpg.exact.evaluation import evaluate
from bnpg.exact.gaps import nash_gaps
from bnpg.exact.mdp import optimal_solution
from bnpg.exact.objective import gradient, lemma1_gradient, objective
from bnpg.model.dag import DAG
from bnpg.model.game import MarkovGame
from bnpg.model.policy import BNPolicy, check_game_and_dag, check_policy
from bnpg.paper.shared import (
    TOLERANCE,
    dag_lists,
    degenerate_game,
    mismatch,
    number,
    relative,
    start_policy,
    value_scale,
    within,
)
from bnpg.paper.verdict import Verdict
from bnpg.theory import sharpened
from bnpg.theory.constants import gradient_threshold, lemma2_bound, lemma3_bound, smoothness_bound
from bnpg.theory.telescoping import advantage_ratio, performance_difference_bound, proof_step_ratios

__all__ = ["LEMMA1_NOISE", "LEMMA1_TOLERANCE", "LEMMA4_GRADIENTS", "lemma1", "lemma2", "lemma3", "lemma4"]

#: Relative agreement Lemma 1's formula must reach with its reference to count as equal.
LEMMA1_TOLERANCE = 1e-6
#: Relative errors of Lemma 1 below these are the reference's own rounding or truncation, and are
#: reported as 0: the exact gradient's round-off, and central differences' error.
LEMMA1_NOISE = {"exact": 1e-12, "finite-differences": 1e-8}
#: The gradients :func:`lemma4` spends on full Hessians by default (each costs ``2 * n_params``):
#: all four of its Hessians up to 256 parameters, fewer (at least one) on larger policies.
LEMMA4_GRADIENTS = 2048


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
    details = {"corrected_error": corrected, "gradient_size": size, "printed_value_factor": 1 / (1 - game.gamma)}
    degenerate = degenerate_game(game)
    if game.gamma == 0:
        degenerate.append("gamma = 0: the printed factor 1/(1-gamma) is 1, the printed formula is the corrected one")
    if degenerate:
        details["degenerate"] = "; ".join(degenerate)
    return Verdict(
        statement="lemma-1", title="the gradient of L_lambda", hypothesis_met=None, measured=printed,
        bound_printed=tol, bound_corrected=tol, holds_as_printed=printed <= tol, holds_corrected=corrected <= tol,
        parameters={"lam": lam, "reference": reference, "dag": dag_lists(policy.dag)},
        details=details,
        summary=f"printed formula off by {relative(printed)} (relative), corrected formula (no 1/(1-gamma)) by "
        f"{relative(corrected)}, against the {reference} gradient",
        point=policy,
    )


def _edge_details(details, game, run, finite) -> None:
    """Add ``"undecided"`` (why the hypothesis is not met) and ``"degenerate"`` to a lemma's ``details``."""
    reasons = []
    if not finite:
        reasons.append("Assumption 1 fails (M is infinite): the lemma assumes it")
    if not run.met:
        reasons.append(f"no point met the gradient threshold in {run.n_steps:,} ascent steps")
    if reasons:
        details["undecided"] = "; ".join(reasons)
    degenerate = degenerate_game(game)
    if run.met and run.n_steps == 0:
        degenerate.append("the start meets the threshold")
    if degenerate:
        details["degenerate"] = "; ".join(degenerate)


def _stationary(game, start, lam, method, max_steps):
    """Ascend from ``start`` to the lemma's gradient threshold; the run and the details it gives."""
    run = ascend(game, start, lam, method=method, max_steps=max_steps, threshold=gradient_threshold(game, lam))
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

    ``bound_printed`` and ``bound_corrected`` are :math:`2\lambda M` (the errata E2-E4 leave the
    constant as it is); ``bound_sharpened`` is the sharpened Lemma 2 at the paper's threshold
    (:func:`bnpg.theory.sharpened.sharp_bound`, at most :math:`\lambda M`). ``details["agent_gaps"]`` holds each agent's gain from its best response, with gains within
    :data:`TOLERANCE` times the value scale of zero reported as 0.

    Examples
    --------
    >>> import bnpg
    >>> v = bnpg.paper.lemma2(bnpg.games.climbing_game(gamma=0.5), bnpg.DAG.empty(2), 0.1)
    >>> v.hypothesis_met, v.status
    (True, 'holds')
    """
    policy = start_policy(game, start)
    lam = positive("lam", lam)
    M = mismatch(game, M)
    run, details = _stationary(game, policy, lam, method, max_steps)
    met = run.met and math.isfinite(M)
    gaps = nash_gaps(game, run.policy)
    gap = float(gaps.max())
    # agents' gains within the rounding allowance of zero are zero to the accuracy of the computation
    gaps = np.where(np.abs(gaps) <= TOLERANCE * value_scale(game), 0.0, gaps)
    finite = math.isfinite(M)
    bound = lemma2_bound(lam, M) if finite else None
    sharp = sharpened.sharp_bound(game, policy.dag, lam, M, lemma=2, grad_norm=run.threshold) if finite else None
    details.update({"M": M, "agent_gaps": gaps, "value": evaluate(game, run.policy).value,
                    "sharp_threshold": sharpened.sharp_threshold(game, policy.dag, lam, lemma=2)})
    _edge_details(details, game, run, finite)
    what = (f"Nash gap {gap:.4g} vs 2 lambda M = {bound:.4g} (printed and corrected), sharpened {sharp:.4g}"
            if finite else "M is infinite (Assumption 1 fails), the lemma says nothing")
    where = (f"at a point with |grad L| = {details['grad_norm']:.3g} <= {run.threshold:.3g}" if run.met else
             f"no point met the threshold ({details['grad_norm']:.3g} > {run.threshold:.3g})")
    return Verdict(
        statement="lemma-2", title="approximate stationary points are near-Nash", hypothesis_met=met,
        measured=gap, bound_printed=bound, bound_corrected=bound, bound_sharpened=sharp,
        holds_as_printed=within(gap, bound, game) if met else None,
        holds_corrected=within(gap, bound, game) if met else None,
        holds_sharpened=within(gap, sharp, game) if met else None,
        parameters={"lam": lam, "method": method, "max_steps": max_steps, "dag": dag_lists(policy.dag)},
        details=details, summary=f"{where} ({method}, {run.n_steps} steps): {what}", point=run.policy,
        trajectory=run,
    )


def lemma3(game: MarkovGame, lam: float, *, start=None, method: str = "armijo", max_steps: int = 5000,
           M: float | None = None) -> Verdict:
    r"""Lemma 3: on a fully-correlated DAG, where the gradient meets the threshold, the optimality gap is at most :math:`2^{N+1}N\lambda M`.

    Where the paper's threshold :math:`\tau` is within the sharpened one
    (:func:`bnpg.theory.sharpened.paper_threshold_within`), ``bound_corrected`` is the printed
    :math:`2^{N+1}N\lambda M` (the repaired proof, errata E10-E11, keeps the statement) and
    ``bound_sharpened`` the sharpened Lemma 3 at :math:`\tau`,
    :math:`M(\lambda(1-1/|\mathcal A|) + \sqrt{|\mathcal S|\Sigma_k}\,\tau) \le \lambda M`
    (:func:`bnpg.theory.sharpened.sharp_bound`); otherwise both are ``None``: there no bound holds
    (errata E16). ``start`` is a fully-correlated DAG or a policy on one (default: the uniform policy
    on :meth:`bnpg.DAG.full`); the other arguments are those of :func:`lemma2`.

    >>> import bnpg
    >>> v = bnpg.paper.lemma3(bnpg.games.climbing_game(gamma=0.5), 0.1)
    >>> v.hypothesis_met, v.status
    (True, 'holds')
    """
    policy = start_policy(game, DAG.full(game.n_agents) if start is None else start)
    fully_correlated("start", policy.dag, needed_by="lemma 3")
    lam, M = positive("lam", lam), mismatch(game, M)
    run, details = _stationary(game, policy, lam, method, max_steps)
    finite, ev, v_star = math.isfinite(M), evaluate(game, run.policy), optimal_solution(game).value
    met, gap = run.met and finite, v_star - ev.value
    printed = lemma3_bound(game, lam, M) if finite else None
    inside = finite and sharpened.paper_threshold_within(game)
    corrected = printed if inside else None
    sharp = sharpened.sharp_bound(game, policy.dag, lam, M, lemma=3, grad_norm=run.threshold) if inside else None
    with np.errstate(divide="ignore", invalid="ignore"):  # an unvisited state (M infinite) gives inf or nan
        ratios = {"advantage_ratio": advantage_ratio(game, ev, lam),
                  "performance_difference_bound": performance_difference_bound(game, ev, lam)}
    details.update({"M": M, "value": ev.value, "optimal_value": v_star,
                    "sharp_threshold": sharpened.sharp_threshold(game, policy.dag, lam, lemma=3),
                    **ratios,
                    **{f"{k}_ratio": v for k, v in proof_step_ratios(run.policy).items()}})
    _edge_details(details, game, run, finite)
    return Verdict(
        statement="lemma-3", title="with a fully-correlated DAG they are near-optimal", hypothesis_met=met,
        measured=gap, bound_printed=printed, bound_corrected=corrected, bound_sharpened=sharp,
        holds_as_printed=within(gap, printed, game) if met else None,
        holds_corrected=within(gap, corrected, game) if met else None,
        holds_sharpened=within(gap, sharp, game) if met else None,
        parameters={"lam": lam, "method": method, "max_steps": max_steps, "dag": dag_lists(policy.dag)},
        details=details,
        summary=f"{'at a point meeting' if run.met else 'no point met'} the threshold ({method}, {run.n_steps} "
        + (f"steps): optimality gap {gap:.4g} vs 2^(N+1) N lambda M = {number(printed)}, corrected "
           f"{number(corrected)}, sharpened {number(sharp)}"
           if finite else "steps): M is infinite (Assumption 1 fails), the lemma says nothing"),
        point=run.policy, trajectory=run,
    )


def lemma4(game: MarkovGame, dag: DAG, lam: float, *, seed=0, n_points: int = 2, n_directions: int = 8,
           steps: int = 100, every: int = 50, max_hessians: int | None = None) -> Verdict:
    r"""Lemma 4: :math:`L_\lambda` is :math:`\beta_\lambda`-smooth; the largest curvature found must not exceed :math:`\beta_\lambda`.

    The curvature is measured by :func:`bnpg.dynamics.curvature.measure_curvature` (Hessians from differences
    of the exact gradient at random points, along random directions and along a trajectory); any
    measurement is a lower bound on the true smoothness constant, so this can refute the lemma but
    not prove it. ``details["slack"]`` is :math:`\beta_\lambda` / measured.

    The full Hessians dominate the cost on large games (``2 * n_params`` gradients each), so by
    default (``max_hessians=None``) their number is capped by the policy's size: at most
    ``max(1, LEMMA4_GRADIENTS // (2 * n_params))`` of the ``n_points + steps // every`` (4 with the
    defaults), so all of them up to 256 parameters, and about :data:`LEMMA4_GRADIENTS` gradients
    beyond. The random directions are measured at every point whatever the cap. An integer
    ``max_hessians`` (``>= 1``) sets the number instead; ``parameters["max_hessians"]`` records the
    one used.

    >>> import bnpg
    >>> bnpg.paper.lemma4(bnpg.games.climbing_game(gamma=0.5), bnpg.DAG.full(2), 0.1).status
    'holds'
    """
    check_game_and_dag(game, dag)
    lam = non_negative("lam", lam)
    n_points = integer("n_points", n_points, minimum=1)
    steps = integer("steps", steps, minimum=0)
    every = integer("every", every, minimum=1)
    if max_hessians is None:
        n_params = BNPolicy(game, dag).n_params
        max_hessians = min(n_points + steps // every, max(1, LEMMA4_GRADIENTS // (2 * n_params)))
    max_hessians = integer("max_hessians", max_hessians, minimum=1)
    rep = measure_curvature(game, dag, lam, seed=as_generator(seed), n_points=n_points,
                            n_directions=n_directions, steps=steps, every=every,
                            max_hessians=max_hessians)
    beta = smoothness_bound(game, dag, lam)
    holds = bool(rep.measured <= beta * (1 + 1e-6))
    return Verdict(
        statement="lemma-4", title="L_lambda is beta_lambda-smooth", hypothesis_met=None, measured=rep.measured,
        bound_printed=beta, bound_corrected=beta, holds_as_printed=holds, holds_corrected=holds,
        parameters={"lam": lam, "dag": dag_lists(dag), "n_points": n_points, "n_directions": n_directions,
                    "steps": steps, "max_hessians": max_hessians},
        details={"directional": rep.directional, "spectral": rep.spectral, "trajectory": rep.trajectory,
                 "slack": beta / rep.measured if rep.measured else float("inf"),
                 "beta_A3_form": smoothness_bound(game, dag, lam, form="A.3")},
        summary=f"largest curvature found {rep.measured:.4g}, beta_lambda = {beta:.4g} "
        f"(slack {beta / max(rep.measured, 1e-300):.3g}x)",
    )
