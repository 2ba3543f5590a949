r"""What correlation buys: product, chain and full DAGs from the same starting joint policies (paper, Section 1).

A product policy can stop at a Nash equilibrium that a correlated policy climbs past: an agent that
sees its parents' actions can coordinate with them. :func:`correlation_compare` starts every DAG from
the same joint policy (:func:`bnpg.experiments.instances.common_start`: a product policy copied into the larger
DAGs, so no agent yet reacts to its parents) and records where each ends: its value, optimality gap,
Nash gap (Definition 1), and whether it reached the optimum. :func:`correlation_study` does so on
random games from several common starts per game.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bnpg._validation import integer, non_negative, positive
from bnpg.dynamics.ascent import ascend
from bnpg.exact.evaluation import evaluate
from bnpg.exact.gaps import mismatch_coefficient, nash_gap, optimal_value, worst_value
from bnpg.exact.objective import resolve_backend
from bnpg.experiments.instances import check_product_theta, common_start, correlation_instance
from bnpg.experiments.results import collate
from bnpg.experiments.sweeps import run_sweep
from bnpg.model.dag import DAG
from bnpg.model.game import MarkovGame
from bnpg.theory.constants import gradient_threshold

__all__ = ["METHODS", "correlation_compare", "correlation_study"]

#: The ascents a comparison can use (see :func:`bnpg.ascend`).
METHODS = ("path", "armijo", "lbfgs")


def correlation_compare(
    game: MarkovGame,
    product_theta: Sequence[np.ndarray],
    *,
    dags: dict[str, DAG] | None = None,
    lam: float = 1e-4,
    method: str = "path",
    max_move: float = 0.1,
    max_steps: int = 5000,
    threshold: float = 1e-6,
    reach_tol: float = 1e-4,
    backend: str = "auto",
) -> dict:
    r"""Run each DAG from the same joint policy; keep the final policies and their Nash gaps.

    Each DAG starts from :func:`bnpg.experiments.instances.common_start` and climbs :math:`L_\lambda` with
    :func:`bnpg.ascend` until :math:`\|\nabla L_\lambda\|_2 \le` ``threshold`` or ``max_steps`` steps. DAGs that are equal as graphs
    (the chain and the full DAG on two agents) follow the same path from the same start, so they
    are run once and share one result.

    **Methods.** Which equilibrium a run ends at depends on the path it takes, so the default
    ``method="path"`` follows the direction of the dynamics (2) in steps that move the parameters
    by at most ``max_move`` (Euclidean norm), with an Armijo backtracking on :math:`L_\lambda`: the
    iterates stay close to the path of the gradient flow, of which the dynamics (2) with
    :math:`\eta \le 1/\beta_\lambda` are a discretisation, while long flat stretches are crossed in
    few steps. ``"armijo"`` and ``"lbfgs"`` are those of :func:`bnpg.ascend`; their steps are not bounded in length and can carry a run across
    into the basin of another equilibrium.

    Parameters
    ----------
    game : MarkovGame
    product_theta : sequence of arrays
        ``product_theta[i]`` of shape ``(S, A_i)``: the common starting joint policy.
    dags : dict of str to DAG, optional
        Default ``{"product": DAG.empty(N), "chain": DAG.chain(N), "full": DAG.full(N)}``.
    lam : float, default 1e-4
        :math:`\lambda \ge 0`.
    method : {"path", "armijo", "lbfgs"}
    max_move : float, default 0.1
        Longest step of ``"path"``, in parameter space (ignored by the other methods).
    max_steps : int, default 5000
    threshold : float, default 1e-6
        Target gradient norm.
    reach_tol : float, default 1e-4
        A run *reaches the optimum* when :math:`V^* - V_{\pi}(\mu) \le` ``reach_tol`` :math:`\cdot
        (V^* - V_{\min})`, with :math:`V_{\min} = \min_\pi V_\pi(\mu)`.
    backend : {"auto", "numpy", "numba"}
        Where :math:`L_\lambda` and its gradient are computed: ``"numba"`` uses the compiled
        kernel of ``bnpg.backends.numba_kernels`` (the same numbers to round-off, tens of times faster on small
        games), ``"numpy"`` the numpy code of :func:`bnpg.gradient`, ``"auto"`` picks numba when
        it is installed.

    Returns
    -------
    dict
        ``optimal_value`` (:math:`V^*`), ``worst_value`` (:math:`V_{\min}`), ``start_value``,
        ``threshold`` (:func:`bnpg.theory.constants.gradient_threshold`, the gradient norm Lemmas 2-3 assume), and
        for each DAG name ``x``: ``x_policy`` (the final :class:`BNPolicy`), ``x_value``,
        ``x_gap`` (optimality gap), ``x_reached``, ``x_grad_norm``, ``x_met``
        (``x_grad_norm <= threshold``), ``x_n_steps``, ``x_nash_gap`` (Definition 1, at the final
        policy) and ``x_n_params``.

    Examples
    --------
    >>> import numpy as np
    >>> from bnpg.games import climbing_game
    >>> game = climbing_game(gamma=0.0)
    >>> out = correlation_compare(game, [np.zeros((1, 3)), np.zeros((1, 3))])
    >>> round(out["product_value"], 2), round(out["chain_value"], 2)   # (1, 1) pays 7, (0, 0) pays 11
    (7.0, 11.0)
    >>> bool(out["product_nash_gap"] < 1e-3), out["product_reached"], out["full_reached"]
    (True, False, True)
    """
    if not isinstance(game, MarkovGame):
        raise TypeError(f"game must be a MarkovGame, got {type(game).__name__}")
    N = game.n_agents
    if dags is None:
        dags = {"product": DAG.empty(N), "chain": DAG.chain(N), "full": DAG.full(N)}
    if not isinstance(dags, dict) or not dags or not all(isinstance(d, DAG) for d in dags.values()):
        raise TypeError("dags must be a non-empty dict of name to DAG")
    for name, dag in dags.items():
        if dag.n_agents != N:
            raise ValueError(f"dags[{name!r}] has {dag.n_agents} agents but the game has {N}")
    check_product_theta(game, product_theta)
    lam = non_negative("lam", lam)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    max_move = positive("max_move", max_move)
    max_steps = integer("max_steps", max_steps, minimum=0)
    threshold = positive("threshold", threshold)
    reach_tol = non_negative("reach_tol", reach_tol)
    resolve_backend(backend)
    v_star = optimal_value(game)
    v_worst = worst_value(game)
    out = {
        "optimal_value": v_star,
        "worst_value": v_worst,
        "start_value": evaluate(game, common_start(game, DAG.empty(N), product_theta)).value,
        "threshold": gradient_threshold(game, lam),
    }
    done: dict[DAG, dict] = {}
    for name, dag in dags.items():
        if dag not in done:
            start = common_start(game, dag, product_theta)
            run = ascend(game, start, lam, method=method, max_steps=max_steps, threshold=threshold,
                         max_move=max_move, backend=backend)
            v = evaluate(game, run.policy).value
            done[dag] = {
                "policy": run.policy,
                "value": v,
                "gap": v_star - v,
                "reached": bool(v_star - v <= reach_tol * (v_star - v_worst)),
                "grad_norm": run.final("grad_norm"),
                "met": run.met,
                "n_steps": run.n_steps,
                "nash_gap": nash_gap(game, run.policy),
                "n_params": start.n_params,
            }
        out.update({f"{name}_{key}": value for key, value in done[dag].items()})
    return out


def correlation_study(
    n_games: int,
    n_starts: int,
    seed: int,
    *,
    n_states: Sequence[int] = (2, 3),
    n_agents: Sequence[int] = (2,),
    n_actions: Sequence[int] = (2, 3),
    gamma: float = 0.9,
    init_scale: float = 1.0,
    lam: float = 1e-4,
    method: str = "path",
    max_move: float = 0.1,
    max_steps: int = 5000,
    threshold: float = 1e-6,
    reach_tol: float = 1e-4,
    backend: str = "auto",
    progress: bool = False,
    jobs: int = 1,
    scheduler: str | None = None,
    store=None,
) -> dict:
    r"""Product vs chain vs full DAG on random games, from several common starts per game.

    Game ``k`` and its starts are :func:`bnpg.experiments.instances.correlation_instance` ``(seed, k, ...)``. Every start is run by
    :func:`correlation_compare` on the product, chain and full DAGs.

    Parameters
    ----------
    n_games, n_starts : int
        ``>= 1`` each.
    seed : int
    n_states, n_agents, n_actions, gamma, init_scale
        As in :func:`bnpg.experiments.instances.correlation_instance`.
    lam, method, max_move, max_steps, threshold, reach_tol, backend
        As in :func:`correlation_compare`.
    progress : bool, default False
        A progress bar over the games and a summary line on stderr.
    jobs, scheduler, store
        Where the games run and where finished ones are kept (:func:`bnpg.experiments.sweeps.run_sweep`); the
        results do not depend on them.

    Returns
    -------
    dict
        One entry per (game, start), ``n_games * n_starts`` in all: arrays ``game``, ``start``,
        ``n_states``, ``n_agents``, ``n_joint``, ``mismatch`` (:math:`M`, Lemma 2), and every
        key of :func:`correlation_compare` except the policies; plus scalar metadata. It can be
        written with :func:`bnpg.experiments.results.save_results`.

    Examples
    --------
    >>> out = correlation_study(2, 2, seed=0, max_steps=300)
    >>> out["game"].tolist(), out["start"].tolist()
    ([0, 0, 1, 1], [0, 1, 0, 1])
    >>> bool(np.all(out["full_value"] <= out["optimal_value"] + 1e-9))
    True
    """
    n_games = integer("n_games", n_games, minimum=1)
    n_starts = integer("n_starts", n_starts, minimum=1)
    seed = integer("seed", seed, minimum=0)
    draws = {"n_states": n_states, "n_agents": n_agents, "n_actions": n_actions, "gamma": gamma,
             "init_scale": init_scale, "n_starts": n_starts}
    options = {
        "lam": lam, "method": method, "max_move": max_move, "max_steps": max_steps,
        "threshold": threshold, "reach_tol": reach_tol, "backend": backend,
    }
    correlation_instance(seed, 0, **draws)  # refuse bad options before any work
    meta = {
        "study": "correlation", "seed": seed, "n_starts": n_starts, "gamma": gamma,
        "init_scale": init_scale, "lam": lam, "method": method, "max_move": max_move,
        "max_steps": max_steps, "threshold": threshold, "reach_tol": reach_tol,
    }
    arguments = {**meta, **draws, "backend": backend}
    per_game = run_sweep(_game_records, n_games, args=(seed, draws, options), name="correlation",
                         arguments=arguments, jobs=jobs, scheduler=scheduler, store=store, progress=progress)
    records = [rec for recs in per_game for rec in recs]
    return collate(records, meta)


def _game_records(k: int, seed: int, draws: dict, options: dict) -> list[dict]:
    """The records of game ``k`` and its starts (one task of the sweep)."""
    game, starts = correlation_instance(seed, k, **draws)
    M = mismatch_coefficient(game)
    records = []
    for j, theta in enumerate(starts):
        rec = {
            "game": k, "start": j, "n_states": game.n_states, "n_agents": game.n_agents,
            "n_joint": game.n_joint_actions, "mismatch": M,
        }
        out = correlation_compare(game, theta, **options)
        rec.update({key: v for key, v in out.items() if not key.endswith("_policy")})
        records.append(rec)
    return records
