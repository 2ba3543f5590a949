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

from bnpg._validation import instance_of, integer, keyword_options, non_negative, positive
from bnpg.backends.choice import resolve_backend
from bnpg.dynamics.ascent import ascend
from bnpg.exact.evaluation import evaluate
from bnpg.exact.gaps import nash_gap
from bnpg.exact.mdp import optimal_value, worst_value
from bnpg.exact.mismatch import mismatch_coefficient
from bnpg.experiments.instances import check_product_theta, common_start, correlation_instance
from bnpg.experiments.results import collate
from bnpg.experiments.sweeps import SweepOptions, run_sweep
from bnpg.model.dag import DAG
from bnpg.model.game import MarkovGame
from bnpg.theory.constants import gradient_threshold

__all__ = ["COMPARISON_METHODS", "correlation_compare", "correlation_study"]

#: The ascent methods of :func:`bnpg.ascend` that :func:`correlation_compare` can use (the fixed step
#: of the theorems is left out: it needs millions of steps on these games).
COMPARISON_METHODS = ("path", "armijo", "lbfgs")


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
    instance_of("game", game, MarkovGame)
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
    if method not in COMPARISON_METHODS:
        raise ValueError(f"method must be one of {COMPARISON_METHODS}, got {method!r}")
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


def correlation_study(n_games: int, n_starts: int, seed: int, *, sweep: SweepOptions | None = None,
                      **options) -> dict:
    r"""Product vs chain vs full DAG on random games, from several common starts per game.

    Game ``k`` and its starts are :func:`bnpg.experiments.instances.correlation_instance` ``(seed, k, ...)``. Every start is run by
    :func:`correlation_compare` on the product, chain and full DAGs.

    Parameters
    ----------
    n_games, n_starts : int
        ``>= 1`` each.
    seed : int
    sweep : SweepOptions, optional
        Where the games run, where finished ones are kept and the progress shown over the games
        (:class:`bnpg.experiments.sweeps.SweepOptions`); the results do not depend on it.
    **options
        Two groups, each with the defaults of its function:

        * how the games and starts are drawn, the options of
          :func:`bnpg.experiments.instances.correlation_instance`: ``n_states`` (default ``(2, 3)``),
          ``n_agents`` (``(2,)``), ``n_actions`` (``(2, 3)``), ``gamma`` (0.9), ``init_scale`` (1.0);
        * how each start is run, the options of :func:`correlation_compare`: ``lam`` (1e-4),
          ``method`` (``"path"``), ``max_move`` (0.1), ``max_steps`` (5000), ``threshold`` (1e-6),
          ``reach_tol`` (1e-4), ``backend`` (``"auto"``).

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
    draws, runs = _option_groups(options)
    draws["n_starts"] = n_starts
    correlation_instance(seed, 0, **draws)  # refuse bad options before any work
    meta = {
        "study": "correlation", "seed": seed, "n_starts": n_starts, "gamma": draws["gamma"],
        "init_scale": draws["init_scale"], "lam": runs["lam"], "method": runs["method"],
        "max_move": runs["max_move"], "max_steps": runs["max_steps"], "threshold": runs["threshold"],
        "reach_tol": runs["reach_tol"],
    }
    arguments = {**meta, **draws, "backend": runs["backend"]}
    per_game = run_sweep(_game_records, n_games, args=(seed, draws, runs), name="correlation",
                         arguments=arguments, sweep=sweep)
    records = [rec for recs in per_game for rec in recs]
    return collate(records, meta)


def _option_groups(options: dict) -> tuple[dict, dict]:
    """``options`` split into those of :func:`correlation_instance` and of :func:`correlation_compare`,
    each with its function's defaults; an unknown name is a ``TypeError``."""
    draw_names = set(keyword_options(correlation_instance, {}, exclude=("n_starts",)))
    run_names = set(keyword_options(correlation_compare, {}, exclude=("dags",)))
    unknown = sorted(set(options) - draw_names - run_names)
    if unknown:
        raise TypeError(f"unknown options {unknown}; choose from {sorted(draw_names | run_names)}")
    draws = keyword_options(correlation_instance, {k: v for k, v in options.items() if k in draw_names},
                            exclude=("n_starts",))
    runs = keyword_options(correlation_compare, {k: v for k, v in options.items() if k in run_names},
                           exclude=("dags",))
    return draws, runs


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
