r"""The paper's two theorems, each a function that runs the dynamics (2) on a game and returns a
:class:`~bnpg.paper.verdict.Verdict`.

* :func:`theorem1`, Theorem 1: steps of (2) from the uniform policy to an :math:`\epsilon`-Nash iterate, at most :math:`T`;
* :func:`theorem2`, Theorem 2: the same for an :math:`\epsilon`-optimal iterate on a fully-correlated DAG.

Both run the dynamics (2) with :math:`\eta = 1/\beta_\lambda` and the theorem's :math:`\lambda` from the
uniform policy until the target gap is met or ``max_steps`` runs out; a run that ends first is
``undecided`` unless it ran at least as many steps as the bound promised, in which case the bound
fails. ``bound_corrected`` is the sharpened bound (:mod:`bnpg.theory.sharpened`) for the run the
paper prescribes; the printed one comes from :mod:`bnpg.theory.constants`.
"""

from __future__ import annotations

import math

from bnpg._validation import integer, positive
from bnpg.dynamics.convergence import first_crossing
from bnpg.model.dag import DAG
from bnpg.model.game import MarkovGame
from bnpg.model.policy import BNPolicy, check_game_and_dag
from bnpg.paper.shared import dag_lists, mismatch
from bnpg.paper.verdict import Verdict
from bnpg.theory import sharpened
from bnpg.theory.constants import iteration_bound, theory_setting

__all__ = ["theorem1", "theorem2"]


def _theorem(number, game, dag, eps, max_steps, M) -> Verdict:
    """Theorem ``number`` (1 or 2) on ``game`` with ``dag``: the run and its verdict."""
    check_game_and_dag(game, dag)
    eps = positive("eps", eps)
    max_steps = integer("max_steps", max_steps, minimum=0)
    M = mismatch(game, M)
    sid, metric = f"theorem-{number}", ("nash_gap", "optimality_gap")[number - 1]
    title = ("policy gradient reaches an eps-Nash policy", "with a fully-correlated DAG it reaches an eps-optimal policy")[number - 1]
    params = {"eps": eps, "max_steps": max_steps, "dag": dag_lists(dag), "start": "uniform"}
    if not math.isfinite(M):
        return Verdict(statement=sid, title=title, hypothesis_met=False, measured=None, bound_printed=None,
                       bound_corrected=None, holds_as_printed=None, holds_corrected=None, parameters=params,
                       details={"M": M}, summary="Assumption 1 fails (M is infinite): the theorem says nothing")
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
        statement=sid, title=title, hypothesis_met=True, measured=None if t_obs is None else float(t_obs),
        bound_printed=t_printed, bound_corrected=t_sharp, holds_as_printed=holds(t_printed),
        holds_corrected=holds(t_sharp), parameters=params, details=details,
        summary=f"{reached}; the theorem promises T <= {t_printed:.4g} (printed), {t_sharp:.4g} (sharpened)",
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
