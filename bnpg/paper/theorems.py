r"""The paper's two theorems, each a function that runs the dynamics (2) on a game and returns a
:class:`~bnpg.paper.verdict.Verdict`.

* :func:`theorem1`, Theorem 1: steps of (2) from the uniform policy to an :math:`\epsilon`-Nash iterate;
* :func:`theorem2`, Theorem 2: the same for an :math:`\epsilon`-optimal iterate on a fully-correlated DAG.

**What is measured.** Both run the dynamics (2) with the theorem's :math:`\lambda` (the paper's
choice, :func:`bnpg.theory.constants.lambda_choice`) and :math:`\eta = 1/\beta_\lambda` from the
uniform policy until the target gap is met or ``max_steps`` runs out. With :math:`t^\star` the first
iterate found whose gap is at most :math:`\epsilon` (``t`` counts updates, :math:`t^\star = 0` is the
start), the observed :math:`T` (``measured``) is :math:`T_{\text{obs}} = t^\star + 1`, the least
:math:`T \ge 1` with :math:`\min_{t<T} \text{gap}_t \le \epsilon`; it takes :math:`t^\star` steps of the
dynamics, so a start that meets the target has :math:`T_{\text{obs}} = 1` and no step run.

**What is claimed.** "min over :math:`t < T` of the gap is at most :math:`\epsilon` whenever
:math:`T \ge T_{\text{bound}}`". :math:`T` counts iterates, so it is a positive integer (the minimum over
no iterate says nothing), and :math:`\min_{t<T}` only falls as :math:`T` grows: the claim is exactly
:math:`\min_{t<T_b} \text{gap}_t \le \epsilon` at :math:`T_b = \max(1, \lceil T_{\text{bound}}\rceil)`. A bound
of 1 or less (0 when all rewards are equal) claims that the start meets the target, and is met
when it does. A form of the theorem

* holds when :math:`T_{\text{obs}} \le T_b`;
* fails when every iterate :math:`t < T_b` is seen to have a gap above :math:`\epsilon` (a run that
  reports a later crossing, or none within ``max_steps`` :math:`\ge T_b - 1` steps, is checked
  iterate by iterate before it is declared a failure, since the crossing search inspects
  checkpoints only);
* is undecided (``None``) when the run ended before :math:`T_b - 1` steps without a crossing, or
  when :math:`T_b` exceeds :data:`DENSE_CHECK_LIMIT` iterates (too many to inspect one by one).

**The bounds.** All three are bounds on the one run made, at the paper's :math:`\lambda`
(``details["lam"]``): ``bound_printed`` (``details["T_printed"]``) is the theorem as printed
(:func:`bnpg.theory.constants.iteration_bound`); ``bound_corrected`` (``details["T_corrected"]``) is
what the paper's proof gives once errata E5-E9 are fixed, :math:`2\beta_\lambda G/\tau^2` with the
lemmas' threshold :math:`\tau` (``form="corrected"``); ``bound_sharpened`` (``details["T_sharpened"]``)
is this book's :math:`2\beta_\lambda G/\tau^\sharp(\lambda)^2` with the sharpened threshold
(:func:`bnpg.theory.sharpened.sharp_iteration_bound` at the paper's :math:`\lambda`). ``details`` adds
the sharpened theorem's own choice :math:`\lambda^\sharp` (``lam_sharpened``) and the bound for a run
made with it (``T_sharpened_at_lam_sharpened``), which is not this run; both are ``None`` when no
agent has a choice. Degenerate cases are named in ``details["degenerate"]`` and reasons for an
undecided verdict in ``details["undecided"]``.
"""

from __future__ import annotations

import math

import numpy as np

from bnpg._validation import integer, positive
from bnpg.dynamics.ascent import gradient_ascent
from bnpg.dynamics.convergence import first_crossing
from bnpg.model.dag import DAG
from bnpg.model.game import MarkovGame
from bnpg.model.policy import BNPolicy, check_game_and_dag
from bnpg.paper.shared import dag_lists, degenerate_game, mismatch, number
from bnpg.paper.verdict import Verdict
from bnpg.theory import sharpened
from bnpg.theory.constants import iteration_bound, theory_setting

__all__ = ["DENSE_CHECK_LIMIT", "claimed_T", "theorem1", "theorem2"]

#: A theorem is declared to fail only after every iterate before its claimed ``T`` has been seen
#: above the target; that inspection evaluates the gap at every step, so it is made for claimed
#: ``T`` up to this many iterates, and a larger claim that the run does not meet is undecided.
DENSE_CHECK_LIMIT = 50_000


def claimed_T(bound: float) -> float:
    r"""The least :math:`T` a theorem's claim "for every :math:`T \ge` ``bound``" applies to: :math:`\max(1, \lceil\text{bound}\rceil)`.

    :math:`T` counts iterates, so it is at least 1; ``inf`` stays ``inf``.

    Examples
    --------
    >>> claimed_T(0.0), claimed_T(2.5), claimed_T(7.0), claimed_T(float("inf"))
    (1, 3, 7, inf)
    """
    return max(1, math.ceil(bound)) if math.isfinite(bound) else math.inf


def _theorem(number_, game, dag, eps, max_steps, M) -> Verdict:
    """Theorem ``number_`` (1 or 2) on ``game`` with ``dag``: the run and its verdict."""
    check_game_and_dag(game, dag)
    eps = positive("eps", eps)
    max_steps = integer("max_steps", max_steps, minimum=0)
    M = mismatch(game, M)
    sid, metric = f"theorem-{number_}", ("nash_gap", "optimality_gap")[number_ - 1]
    title = ("policy gradient reaches an eps-Nash policy", "with a fully-correlated DAG it reaches an eps-optimal policy")[number_ - 1]
    params = {"eps": eps, "max_steps": max_steps, "dag": dag_lists(dag), "start": "uniform"}
    if not math.isfinite(M):
        reason = "Assumption 1 fails (M is infinite): the theorem assumes it and says nothing"
        return Verdict(statement=sid, title=title, hypothesis_met=False, measured=None, bound_printed=None,
                       bound_corrected=None, holds_as_printed=None, holds_corrected=None, parameters=params,
                       details={"M": M, "undecided": reason}, summary=reason)
    s = theory_setting(game, dag, eps, theorem=number_, M=M)
    bounds = {"printed": iteration_bound(game, dag, eps, theorem=number_, M=M),
              "corrected": iteration_bound(game, dag, eps, theorem=number_, form="corrected", M=M),
              "sharpened": sharpened.sharp_iteration_bound(game, dag, eps, theorem=number_, M=M, lam=s.lam)}
    choice = sharpened.sharp_factor(game, dag, lemma=number_ + 1) > 0
    lam_sharp = sharpened.sharp_lambda(game, dag, eps, M, theorem=number_) if choice else None
    t_sharp_own = sharpened.sharp_iteration_bound(game, dag, eps, theorem=number_, M=M) if choice else None
    start = BNPolicy(game, dag)
    run = first_crossing(game, start, lam=s.lam, eta=s.eta, eps=eps, metric=metric,
                         max_steps=max_steps, stop_at_crossing=True)
    t_obs = run.T_observed
    dense = {}

    def min_gap_before(T):
        """The smallest gap among iterates ``t < T``, every one of them evaluated."""
        if dense.get("T", 0) < T:
            traj = gradient_ascent(game, start, lam=s.lam, eta=s.eta, steps=T - 1, metrics=(metric,))
            dense.update(T=T, gaps=np.asarray(traj.metrics[metric], dtype=float))
        return float(dense["gaps"][:T].min())

    def holds(bound):
        T_b = claimed_T(bound)
        if t_obs is not None and t_obs <= T_b:
            return True
        if T_b > max_steps + 1 or T_b > DENSE_CHECK_LIMIT:
            return None
        return bool(min_gap_before(T_b) <= eps)

    verdicts = {k: holds(b) for k, b in bounds.items()}
    if dense and np.any(dense["gaps"] <= eps):
        t_obs = int(np.argmax(dense["gaps"] <= eps)) + 1
    initial, last = float(run.crossing.gaps[0]), float(run.crossing.gaps[-1])
    details = {"M": M, "lam": s.lam, "beta_lambda": s.beta, "eta": s.eta, "threshold": s.threshold,
               "initial_gap": initial, "last_gap": last, "steps_run": run.n_steps,
               "T_printed": bounds["printed"], "T_corrected": bounds["corrected"], "T_sharpened": bounds["sharpened"],
               "lam_sharpened": lam_sharp, "T_sharpened_at_lam_sharpened": t_sharp_own}
    degenerate = degenerate_game(game)
    if initial <= eps:
        degenerate.append("target met at the start")
    if min(bounds.values()) <= 1:
        degenerate.append("a bound of 1 or less: it claims the start meets the target")
    if degenerate:
        details["degenerate"] = "; ".join(degenerate)
    if all(v is None for v in verdicts.values()):
        smallest = claimed_T(min(bounds.values()))
        details["undecided"] = (
            f"the run stopped after max_steps = {max_steps:,} steps, before the {smallest:,} iterates the "
            "smallest bound covers" if smallest > max_steps + 1 else
            f"no crossing seen, and the {smallest:,} iterates the smallest bound covers are more than the "
            f"{DENSE_CHECK_LIMIT:,} that are inspected one by one before a theorem is declared to fail")
    if t_obs == 1:
        reached = (f"the start already has gap {initial:.4g} <= {eps:.4g} (no step run), so min over t < T "
                   f"of the gap is <= {eps:.4g} for every T >= 1: observed T = 1")
    elif t_obs is not None:
        reached = (f"first gap <= {eps:.4g} at iterate t* = {t_obs - 1:,} (after {t_obs - 1:,} steps): "
                   f"observed T = t* + 1 = {t_obs:,}")
    else:
        reached = f"gap still {last:.4g} > {eps:.4g} after {run.n_steps:,} steps"
    own = ("" if lam_sharp is None else
           f"; the sharpened theorem's own lambda = {lam_sharp:.4g} would need T >= {t_sharp_own:.4g}")
    summary = (f"{reached}; the theorem promises it for every T >= {number(bounds['printed'])} (printed), "
               f"{number(bounds['corrected'])} (corrected), {number(bounds['sharpened'])} (sharpened), "
               f"each at the paper's lambda = {s.lam:.4g}{own}")
    return Verdict(
        statement=sid, title=title, hypothesis_met=True, measured=None if t_obs is None else float(t_obs),
        bound_printed=bounds["printed"], bound_corrected=bounds["corrected"], bound_sharpened=bounds["sharpened"],
        holds_as_printed=verdicts["printed"], holds_corrected=verdicts["corrected"],
        holds_sharpened=verdicts["sharpened"], parameters=params, details=details, summary=summary,
        point=run.policy, trajectory=run,
    )


def theorem1(game: MarkovGame, dag: DAG, eps: float, *, max_steps: int = 100_000, M=None) -> Verdict:
    r"""Theorem 1: from the uniform policy, the dynamics (2) with :math:`\lambda = \epsilon/(2M)` and :math:`\eta = 1/\beta_\lambda` reach an :math:`\epsilon`-Nash iterate within :math:`T` steps.

    ``measured`` is the observed :math:`T = t^\star + 1` (the least :math:`T \ge 1` with :math:`\min_{t<T}`
    Nash-gap :math:`\le\epsilon`), found by :func:`bnpg.dynamics.convergence.first_crossing`;
    ``bound_printed``, ``bound_corrected`` and ``bound_sharpened`` are the printed, corrected (errata
    E5-E9) and sharpened iteration bounds, all at the paper's :math:`\lambda` (see the module docstring).

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
