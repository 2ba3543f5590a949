r"""Every numbered statement of the paper checked on one game: :func:`check` runs the functions of
:mod:`~bnpg.paper.assumptions`, :mod:`~bnpg.paper.lemmas` and :mod:`~bnpg.paper.theorems` and
returns a :class:`~bnpg.paper.verdict.Report` of their verdicts in the order of :data:`STATEMENTS`.

The statements are independent of one another, so :func:`check` runs them on ``jobs`` worker
processes (joblib's loky backend), the two theorem runs, the longest, first. Every input they draw at
random is drawn before they start, in the order of the serial run, so the report is the same for
every ``jobs``.
"""

from __future__ import annotations

import math
import os
import sys
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

__all__ = ["PARALLEL_SIZE", "STATEMENTS", "check", "default_jobs"]


#: The ids of the statements :func:`check` runs, in the paper's order.
STATEMENTS = ("assumption-1", "assumption-2", "lemma-1", "lemma-2", "lemma-3", "lemma-4",
              "theorem-1", "theorem-2")
#: The order in which the workers start the statements: the longest first.
_DISPATCH = ("theorem-1", "theorem-2", "lemma-4", "lemma-2", "lemma-3", "lemma-1", "assumption-1",
             "assumption-2")


#: The smallest ``n_states * n_joint_actions`` on which :func:`check` uses workers by default.
PARALLEL_SIZE = 64


def default_jobs(game: MarkovGame | None = None) -> int:
    """The worker processes :func:`check` uses by default: ``min(2, os.cpu_count())``, or 1.

    Two workers run the two theorem runs, which take most of the time, side by side. Starting them
    costs a few seconds (a process each, which imports bnpg), more than a whole check of a game
    with ``n_states * n_joint_actions`` below :data:`PARALLEL_SIZE`, so such a ``game`` is checked
    in this process; so is every game where there are no processes (Pyodide,
    ``sys.platform == "emscripten"``).

    Parameters
    ----------
    game : MarkovGame, optional
        The game to check; ``None`` gives the number for a large game.

    Examples
    --------
    >>> import os, bnpg
    >>> from bnpg.paper.checklist import default_jobs
    >>> default_jobs() == min(2, os.cpu_count() or 1)
    True
    >>> default_jobs(bnpg.games.matching_game(2, 2, gamma=0.5))
    1
    """
    if sys.platform == "emscripten":
        return 1
    if game is not None and game.n_states * game.n_joint_actions < PARALLEL_SIZE:
        return 1
    return max(1, min(2, os.cpu_count() or 1))


def _call(sid, fn, args, kwargs):
    return sid, fn(*args, **kwargs)


def _run(calls: dict, jobs: int, progress) -> list:
    """The verdicts of ``calls`` in the order of :data:`STATEMENTS`, on ``jobs`` processes."""
    total = len(STATEMENTS)
    if jobs == 1:
        verdicts = []
        for k, sid in enumerate(STATEMENTS):
            if progress is not None:
                progress(k, total, sid)
            fn, args, kwargs = calls[sid]
            verdicts.append(fn(*args, **kwargs))
    else:
        from joblib import Parallel, delayed

        if progress is not None:
            progress(0, total, STATEMENTS[0])
        found: dict = {}
        done = 0
        tasks = (delayed(_call)(sid, *calls[sid]) for sid in _DISPATCH)
        for sid, verdict in Parallel(n_jobs=min(jobs, total), backend="loky",
                                     return_as="generator_unordered")(tasks):
            found[sid] = verdict
            while done < total and STATEMENTS[done] in found:
                done += 1
                if progress is not None and done < total:
                    progress(done, total, STATEMENTS[done])
        verdicts = [found[sid] for sid in STATEMENTS]
    if progress is not None:
        progress(total, total)
    return verdicts


def check(game: MarkovGame | str | os.PathLike, dag: DAG | None = None, *, lam: float | None = None,
          eps: float | None = None, max_steps: int = 2_000_000, method: str = "armijo", seed=0,
          progress: Callable | None = None, jobs: int | None = None) -> Report:
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
        ``progress(total, total)`` at the end (the one form of :mod:`bnpg._progress`). With several
        jobs, ``done`` counts the statements finished in the order of :data:`STATEMENTS`, so the calls
        are the same as in a serial run, each made once every statement before it has finished.
    jobs : int, optional
        Worker processes running the statements side by side (``>= 1``; 1 runs them one after the
        other in this process). The default, :func:`default_jobs` of the game, is
        ``min(2, os.cpu_count())``, the two theorem runs (most of the time) on two cores, except on
        small games, where starting the workers would cost more than it saves. The report does not
        depend on it.

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
    >>> parallel = bnpg.paper.check(bnpg.games.matching_game(2, 2, gamma=0.5), jobs=2)
    >>> parallel.to_dict() == report.to_dict()
    True
    """
    max_steps = integer("max_steps", max_steps, minimum=1)
    progress = check_progress("progress", progress)
    if jobs is not None:
        jobs = integer("jobs", jobs, minimum=1)
    if isinstance(game, (str, os.PathLike)):
        game = MarkovGame.load(game)
    elif not isinstance(game, MarkovGame):
        raise TypeError(f"game must be a MarkovGame or the path of an .npz game file (str or os.PathLike), "
                        f"got {type(game).__name__}")
    dag = DAG.full(game.n_agents) if dag is None else dag
    check_game_and_dag(game, dag)
    jobs = default_jobs(game) if jobs is None else jobs
    M = mismatch_coefficient(game)
    spread = value_range_bound(game)
    eps = (0.1 * spread if spread > 0 else 0.1) if eps is None else positive("eps", eps)
    if lam is None:
        lam = lambda_choice(game, eps, M, theorem=1) if math.isfinite(M) else 0.1
    lam = positive("lam", lam)
    rng = as_generator(seed)
    lemma_steps = max(max_steps // 20, 1)
    full = DAG.full(game.n_agents)
    start = BNPolicy.random(game, dag, rng)  # lemma 1's point, drawn before lemma 4's points
    calls = {
        "assumption-1": (assumption1, (game,), {}),
        "assumption-2": (assumption2, (game,), {}),
        "lemma-1": (lemma1, (game, start, lam), {}),
        "lemma-2": (lemma2, (game, dag, lam), {"method": method, "max_steps": lemma_steps, "M": M}),
        "lemma-3": (lemma3, (game, lam), {"start": full, "method": method, "max_steps": lemma_steps, "M": M}),
        "lemma-4": (lemma4, (game, dag, lam), {"seed": rng}),
        "theorem-1": (theorem1, (game, dag, eps), {"max_steps": max_steps, "M": M}),
        "theorem-2": (theorem2, (game, eps), {"dag": full, "max_steps": max_steps, "M": M}),
    }
    verdicts = _run(calls, jobs, progress)
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
