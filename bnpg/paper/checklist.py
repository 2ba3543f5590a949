r"""Every numbered statement of the paper checked on one game: :func:`check` runs the functions of
:mod:`~bnpg.paper.assumptions`, :mod:`~bnpg.paper.lemmas` and :mod:`~bnpg.paper.theorems` in the
order of :data:`STATEMENTS` and returns a :class:`~bnpg.paper.verdict.Report`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable

from bnpg._progress import check_progress
from bnpg._validation import as_generator, integer, positive
from bnpg._version import __version__
from bnpg.exact.mismatch import mismatch_coefficient
from bnpg.model.dag import DAG
from bnpg.model.game import MarkovGame
from bnpg.model.policy import BNPolicy, check_game_and_dag
from bnpg.paper.assumptions import assumption1, assumption2
from bnpg.paper.lemmas import lemma1, lemma2, lemma3, lemma4
from bnpg.paper.shared import dag_lists
from bnpg.paper.theorems import theorem1, theorem2
from bnpg.paper.verdict import Report
from bnpg.theory import sharpened
from bnpg.theory.constants import (
    gradient_threshold,
    lambda_choice,
    lemma2_bound,
    lemma3_bound,
    smoothness_bound,
    value_range_bound,
)

__all__ = ["STATEMENTS", "check"]


#: The ids of the statements :func:`check` runs, in the paper's order.
STATEMENTS = ("assumption-1", "assumption-2", "lemma-1", "lemma-2", "lemma-3", "lemma-4",
              "theorem-1", "theorem-2")


def check(game: MarkovGame | str | os.PathLike, dag: DAG | None = None, *, lam: float | None = None,
          eps: float | None = None, max_steps: int = 2_000_000, method: str = "armijo", seed=0,
          progress: Callable | None = None) -> Report:
    r"""Check every statement of the paper on ``game``.

    Parameters
    ----------
    game : MarkovGame, str or os.PathLike
        The game, or the path of an ``.npz`` file of its arrays ``P``, ``r``, ``mu`` and ``gamma``
        (read by :meth:`bnpg.MarkovGame.load`: written by ``np.savez`` or :meth:`bnpg.MarkovGame.save`).
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
        Called as ``progress(done, total, statement_id)`` before each statement and as
        ``progress(total, total)`` at the end (the one form of :mod:`bnpg._progress`).

    Returns
    -------
    Report

    Raises
    ------
    TypeError
        If ``game`` is neither a :class:`~bnpg.MarkovGame` nor a path, or another argument has the
        wrong type.
    ValueError
        If the file at ``game`` is not a game (see :meth:`bnpg.MarkovGame.load`), or another argument
        is out of range.

    Examples
    --------
    >>> import bnpg
    >>> report = bnpg.paper.check(bnpg.games.matching_game(2, 2, gamma=0.5))
    >>> len(report), report["lemma-1"].status
    (8, 'fails as printed')
    """
    max_steps = integer("max_steps", max_steps, minimum=1)
    progress = check_progress("progress", progress)
    if isinstance(game, (str, os.PathLike)):
        game = MarkovGame.load(game)
    elif not isinstance(game, MarkovGame):
        raise TypeError(f"game must be a MarkovGame or the path of an .npz game file (str or os.PathLike), "
                        f"got {type(game).__name__}")
    dag = DAG.full(game.n_agents) if dag is None else dag
    check_game_and_dag(game, dag)
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
            progress(k, len(STATEMENTS), sid)
        verdicts.append(calls[sid]())
    if progress is not None:
        progress(len(STATEMENTS), len(STATEMENTS))
    finite, tau = math.isfinite(M), gradient_threshold(game, lam)
    constants = {
        "M": M, "beta_lambda": smoothness_bound(game, dag, lam), "gradient_threshold": tau,
        "sharp_threshold_lemma2": sharpened.sharp_threshold(game, dag, lam, lemma=2),
        "sharp_threshold_lemma3": sharpened.sharp_threshold(game, full, lam, lemma=3),
        "lemma2_bound_printed": lemma2_bound(lam, M) if finite else None,
        "lemma2_bound_sharpened": sharpened.sharp_bound(game, dag, lam, M, lemma=2, grad_norm=tau) if finite else None,
        "lemma3_bound_printed": lemma3_bound(game, lam, M) if finite else None,
        "lemma3_bound_sharpened": sharpened.sharp_bound(game, full, lam, M, lemma=3, grad_norm=tau)
        if finite and sharpened.paper_threshold_within(game) else None,
        "lambda_theorem1": lambda_choice(game, eps, M, theorem=1) if finite else None,
        "lambda_theorem2": lambda_choice(game, eps, M, theorem=2) if finite else None,
        "value_range_bound": spread,
    }
    parameters = {"n_states": game.n_states, "action_sizes": list(game.action_sizes), "gamma": game.gamma,
                  "n_joint_actions": game.n_joint_actions, "dag": dag_lists(dag),
                  "lam": lam, "eps": eps, "max_steps": max_steps, "method": method,
                  "seed": seed if isinstance(seed, int) else None}
    return Report(verdicts=tuple(verdicts), constants=constants, parameters=parameters, version=__version__)
