r"""Sweeps over random games: Lemma 2, Lemma 3, and what correlation buys (paper, Sections 1 and 4).

The notebooks run these functions at small scale and ``python -m bnpg`` at larger scale. Every
function is pure and deterministic given its arguments: instance ``k`` of a sweep with seed ``seed``
is drawn from ``numpy.random.default_rng([seed, k])`` alone, so it does not depend on how many
instances the sweep has, and :func:`lemma_instance` rebuilds any one of them.

**Approximate stationary points.** Lemmas 2 and 3 are about parameters :math:`\theta` with

.. math::

    \|\nabla_\theta L_\lambda(\theta)\|_2 \le \varepsilon_\lambda
    := \frac{\lambda}{2 |\mathcal S| |\mathcal A| \max_i |\mathcal A^i|}
    \qquad \text{(hypothesis of Lemmas 2 and 3)},

not about a particular algorithm, so :func:`ascend` reaches them by whatever is fast: gradient
ascent with a backtracking (Armijo) step (``method="armijo"``, the default), which follows the
direction of the dynamics (2) with a step adapted to the local curvature instead of the fixed
:math:`1/\beta_\lambda`, or L-BFGS on :math:`-L_\lambda` (``method="lbfgs"``, with scipy). Both use
the exact gradient of :func:`bnpg.gradient`. Either way the threshold is checked afterwards with the
exact gradient, and an instance that does not meet it is reported as such (``met = False``), never
dropped. (With the fixed step :math:`\eta = 1/\beta_\lambda` of Theorems 1-2 the same points take
tens of thousands of steps or more, since :math:`\beta_\lambda` is a worst-case bound.)

**What is recorded.**

* :func:`lemma2_sweep` (Lemma 2): random game, random DAG, random :math:`\lambda`; at the point
  reached, :math:`\text{Nash-gap}` against the bound :math:`2 \lambda M`.
* :func:`lemma3_sweep` (Lemma 3): the same on fully-correlated DAGs (Definition 3), with the
  optimality gap against :math:`2^{N+1} N \lambda M`. Both also record
  :math:`\min_{i, s, a^{\mathcal P^i}, a^i} 2 |\mathcal A^i| \pi^i(a^i \mid s, a^{\mathcal P^i})`, which
  the proof of Lemma 3 assumes to be at least 1 for *every* action, while inequality (4) gives it
  only for actions with non-negative local advantage.
* :func:`correlation_sweep` (Section 1): product, chain and full DAGs started from the *same*
  joint policy (a random product policy, copied into the larger DAGs so that no agent yet reacts to
  its parents), run by gradient ascent; final value, optimality gap and whether the optimum was
  reached.

Results are dictionaries of equal-length numpy arrays (one entry per instance) plus scalar
metadata; :func:`save_results` and :func:`load_results` write and read them as ``.npz`` or JSON
without pickle.
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from math import prod

import numpy as np

from ._validation import integer, non_negative, positive, real_scalar, same_game
from .dag import DAG
from .evaluation import evaluate
from .game import MarkovGame
from .games import random_game
from .gaps import mismatch_coefficient, nash_gap, optimal_solution, optimal_value
from .objective import barrier_gradient, gradient_norm, log_barrier, value_gradient
from .policy import BNPolicy

__all__ = [
    "Ascent",
    "Instance",
    "ascend",
    "correlation_run",
    "correlation_sweep",
    "lemma2_sweep",
    "lemma3_sweep",
    "lemma_instance",
    "lemma_record",
    "load_instance",
    "load_results",
    "save_instance",
    "save_results",
    "stationarity_threshold",
]

METHODS = ("armijo", "lbfgs")


# -- the objective as a function of a flat parameter vector ----------------------------------------
def _objective_and_gradient(game: MarkovGame, template: BNPolicy, lam: float):
    """``f(x) -> (L_lambda, flat gradient, policy)`` for parameters ``x`` laid out like ``template.flat()``."""

    def f(x: np.ndarray):
        policy = template.with_flat(x)
        ev = evaluate(game, policy)
        grads = value_gradient(policy, ev)
        if lam:
            grads = [g + barrier_gradient(policy, i, lam) for i, g in enumerate(grads)]
            value = ev.value + lam * log_barrier(policy)
        else:
            value = ev.value
        return value, np.concatenate([g.ravel() for g in grads]), policy

    return f


def stationarity_threshold(game: MarkovGame, lam: float) -> float:
    r"""The gradient threshold of Lemmas 2 and 3, :math:`\lambda / (2 |\mathcal S| |\mathcal A| \max_i |\mathcal A^i|)`.

    >>> from bnpg.games import matching_game
    >>> stationarity_threshold(matching_game(2, 3), lam=0.54) == 0.54 / (2 * 1 * 9 * 3)
    True
    """
    if not isinstance(game, MarkovGame):
        raise TypeError(f"game must be a MarkovGame, got {type(game).__name__}")
    lam = non_negative("lam", lam)
    return lam / (2 * game.n_states * game.n_joint_actions * max(game.action_sizes))


@dataclass(frozen=True)
class Ascent:
    r"""The end of a run of :func:`ascend`.

    Attributes
    ----------
    policy : BNPolicy
        The policy reached.
    objective : float
        :math:`L_\lambda` there.
    grad_norm : float
        :math:`\|\nabla_\theta L_\lambda\|_2` there, from the exact gradient.
    tol : float
        The target for ``grad_norm``.
    met : bool
        ``grad_norm <= tol``.
    iterations : int
        Iterations of the method (accepted steps for ``"armijo"``).
    evaluations : int
        Evaluations of :math:`L_\lambda` and its gradient.
    method : str
    """

    policy: BNPolicy
    objective: float
    grad_norm: float
    tol: float
    met: bool
    iterations: int
    evaluations: int
    method: str


def ascend(
    game: MarkovGame,
    policy: BNPolicy,
    lam: float,
    *,
    tol: float | None = None,
    max_iter: int = 5000,
    method: str = "armijo",
    eta: float = 1.0,
) -> Ascent:
    r"""Climb :math:`L_\lambda` from ``policy`` until :math:`\|\nabla L_\lambda\|_2 \le` ``tol``.

    Parameters
    ----------
    game : MarkovGame
    policy : BNPolicy
        The starting point (not modified).
    lam : float
        :math:`\lambda \ge 0`.
    tol : float, optional
        Target gradient norm; default :func:`stationarity_threshold`, the hypothesis of Lemmas 2-3.
    max_iter : int, default 5000
        Iteration budget.
    method : {"armijo", "lbfgs"}
        ``"armijo"`` (default): :math:`\theta \leftarrow \theta + \eta_t \nabla
        L_\lambda(\theta)`, where :math:`\eta_t` starts at twice the previous accepted step (at
        most ``1e6 * eta``) and is halved until :math:`L_\lambda` rises by at least
        :math:`10^{-4} \eta_t \|\nabla L_\lambda\|^2`. ``"lbfgs"``:
        ``scipy.optimize.minimize(method="L-BFGS-B")`` on :math:`-L_\lambda` with the exact
        gradient, asked for an infinity-norm below ``tol / sqrt(n_params)`` (which implies the
        2-norm target); it needs scipy, which bnpg itself does not require.
    eta : float, default 1
        First trial step of ``"armijo"``.

    Returns
    -------
    Ascent
        ``met`` tells whether ``tol`` was reached; the run stops early when it is, or when no step
        (L-BFGS line search, or Armijo step above ``1e-300``) increases the objective.

    Examples
    --------
    >>> import bnpg
    >>> from bnpg.games import climbing_game
    >>> game = climbing_game(gamma=0.5)
    >>> policy = bnpg.BNPolicy.random(game, bnpg.DAG.full(2), seed=1)
    >>> run = ascend(game, policy, lam=0.1)
    >>> run.met, run.grad_norm <= stationarity_threshold(game, 0.1)
    (True, True)
    """
    same_game(game, policy)
    lam = non_negative("lam", lam)
    tol = stationarity_threshold(game, lam) if tol is None else positive("tol", tol)
    max_iter = integer("max_iter", max_iter, minimum=0)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    eta = positive("eta", eta)
    f = _objective_and_gradient(game, policy, lam)
    x0 = policy.flat()
    if method == "lbfgs":
        return _ascend_lbfgs(f, x0, tol, max_iter)
    return _ascend_armijo(f, x0, tol, max_iter, eta)


def _ascend_lbfgs(f, x0: np.ndarray, tol: float, max_iter: int) -> Ascent:
    try:
        from scipy.optimize import minimize
    except ImportError:  # pragma: no cover - scipy is in the test and book extras
        raise ImportError('method="lbfgs" needs scipy; install it or use method="armijo"') from None

    calls = [0]

    def negative(x):
        calls[0] += 1
        value, grad, _ = f(x)
        return -value, -grad

    value, grad, policy = f(x0)
    evaluations, iterations = 1, 0
    if gradient_norm([grad]) > tol and max_iter > 0:
        res = minimize(
            negative,
            x0,
            jac=True,
            method="L-BFGS-B",
            options={
                "maxiter": max_iter,
                "gtol": tol / np.sqrt(x0.size),
                "ftol": 0.0,
                "maxcor": 30,
                "maxls": 50,
            },
        )
        iterations = int(res.nit)
        value, grad, policy = f(res.x)
        evaluations += calls[0] + 1
    norm = gradient_norm([grad])
    return Ascent(policy, float(value), norm, tol, bool(norm <= tol), iterations, evaluations, "lbfgs")


def _ascend_armijo(f, x: np.ndarray, tol: float, max_iter: int, eta0: float) -> Ascent:
    value, grad, policy = f(x)
    evaluations = 1
    step = eta0
    iterations = 0
    norm2 = float(grad @ grad)
    while iterations < max_iter and np.sqrt(norm2) > tol:
        step = min(2.0 * step, 1e6 * eta0)
        while True:
            x_new = x + step * grad
            v_new, g_new, p_new = f(x_new)
            evaluations += 1
            if v_new >= value + 1e-4 * step * norm2:
                break
            step *= 0.5
            if step < 1e-300:
                break
        if step < 1e-300:
            break
        x, value, grad, policy = x_new, v_new, g_new, p_new
        norm2 = float(grad @ grad)
        iterations += 1
    norm = float(np.sqrt(norm2))
    return Ascent(policy, float(value), norm, tol, bool(norm <= tol), iterations, evaluations, "armijo")


# -- random instances -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Instance:
    """A (game, DAG, lambda, starting policy) instance of a lemma sweep."""

    game: MarkovGame
    dag: DAG
    lam: float
    policy: BNPolicy


def _choices(name: str, values) -> tuple[int, ...]:
    if isinstance(values, (int, np.integer)) and not isinstance(values, bool):
        values = (values,)
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be an integer or a sequence of integers, got {values!r}")
    out = tuple(integer(f"{name} entry", v, minimum=1) for v in values)
    if not out:
        raise ValueError(f"{name} must not be empty")
    return out


def _interval(name: str, values, *, low: float, high: float, closed_high: bool = True) -> tuple[float, float]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) != 2:
        raise TypeError(f"{name} must be a pair (low, high), got {values!r}")
    a, b = (real_scalar(f"{name}[{k}]", v) for k, v in enumerate(values))
    ok_high = b <= high if closed_high else b < high
    if not (low <= a <= b and ok_high):
        raise ValueError(
            f"{name} must satisfy {low} <= low <= high {'<=' if closed_high else '<'} {high}, "
            f"got ({a!r}, {b!r})"
        )
    return a, b


def _rng(seed, index: int) -> np.random.Generator:
    seed = integer("seed", seed, minimum=0)
    index = integer("index", index, minimum=0)
    return np.random.default_rng([seed, index])


def lemma_instance(
    seed: int,
    index: int,
    *,
    full: bool = False,
    n_states: Sequence[int] = (2, 3),
    n_agents: Sequence[int] = (2,),
    n_actions: Sequence[int] = (2, 3),
    lam_range: tuple[float, float] = (0.01, 0.1),
    gamma_range: tuple[float, float] = (0.5, 0.9),
    sparsity: float = 0.0,
    edge_prob: float = 0.5,
    init_scale: float = 1.0,
) -> Instance:
    r"""Instance ``index`` of a lemma sweep with seed ``seed``.

    Drawn from ``default_rng([seed, index])``, in this order: :math:`|\mathcal S|` uniformly from
    ``n_states``, ``N`` from ``n_agents``, each :math:`|\mathcal A^i|` from ``n_actions``,
    :math:`\gamma` uniform on ``gamma_range``, :math:`\lambda` log-uniform on ``lam_range``, the game
    (:func:`bnpg.games.random_game` with rewards in [0, 1], uniform :math:`\mu`, the given
    ``sparsity``), the DAG (:meth:`bnpg.DAG.full` if ``full``, else :meth:`bnpg.DAG.random` with
    ``edge_prob``), and the starting parameters (i.i.d. normal with standard deviation
    ``init_scale``).

    Examples
    --------
    >>> inst = lemma_instance(0, 3, full=True)
    >>> inst.dag.is_fully_correlated, 0.01 <= inst.lam <= 0.1
    (True, True)
    >>> inst.game == lemma_instance(0, 3, full=True).game
    True
    """
    rng = _rng(seed, index)
    states = _choices("n_states", n_states)
    agents = _choices("n_agents", n_agents)
    actions = _choices("n_actions", n_actions)
    lam_lo, lam_hi = _interval("lam_range", lam_range, low=0.0, high=np.inf)
    if lam_lo <= 0:
        raise ValueError(f"lam_range must be positive, got {lam_range!r}")
    g_lo, g_hi = _interval("gamma_range", gamma_range, low=0.0, high=1.0, closed_high=False)
    edge_prob = real_scalar("edge_prob", edge_prob)
    if not 0.0 <= edge_prob <= 1.0:
        raise ValueError(f"edge_prob must be a probability in [0, 1], got {edge_prob!r}")
    init_scale = non_negative("init_scale", init_scale)

    S = int(rng.choice(states))
    N = int(rng.choice(agents))
    sizes = tuple(int(k) for k in rng.choice(actions, size=N))
    gamma = float(rng.uniform(g_lo, g_hi))
    lam = float(np.exp(rng.uniform(np.log(lam_lo), np.log(lam_hi))))
    game = random_game(S, sizes, seed=rng, gamma=gamma, sparsity=sparsity)
    dag = DAG.full(N) if full else DAG.random(N, edge_prob, seed=rng)
    policy = BNPolicy.random(game, dag, seed=rng, scale=init_scale)
    return Instance(game, dag, lam, policy)


def _min_local_ratio(policy: BNPolicy) -> float:
    r""":math:`\min_{i,s,b,c} 2|\mathcal A^i| \pi^i(c \mid s, b)`; at least 1 iff every action meets (4)."""
    return float(
        min(2 * k * policy.local(i).min() for i, k in enumerate(policy.game.action_sizes))
    )


def lemma_record(instance: Instance, *, method: str = "armijo", max_iter: int = 5000) -> dict:
    r"""Reach an approximate stationary point of one instance and measure both lemmas there.

    Returns
    -------
    dict of float, int and bool
        ``n_states``, ``n_agents``, ``n_joint``, ``max_actions``, ``n_edges``, ``gamma``, ``lam``,
        ``M``, ``threshold`` (:func:`stationarity_threshold`), ``grad_norm``, ``met``,
        ``iterations``, ``evaluations``, ``value``, ``nash_gap``, ``nash_bound``
        (:math:`2\lambda M`), ``nash_ratio``, ``optimality_gap``, ``optimality_bound``
        (:math:`2^{N+1} N \lambda M`), ``optimality_ratio``, ``min_local_ratio``.

    Examples
    --------
    >>> rec = lemma_record(lemma_instance(0, 0))
    >>> rec["met"], rec["nash_ratio"] <= 1.0
    (True, True)
    """
    if not isinstance(instance, Instance):
        raise TypeError(f"instance must be an Instance, got {type(instance).__name__}")
    game, dag, lam = instance.game, instance.dag, instance.lam
    run = ascend(game, instance.policy, lam, method=method, max_iter=max_iter)
    M = mismatch_coefficient(game)
    N = game.n_agents
    gap = nash_gap(game, run.policy)
    v = evaluate(game, run.policy).value
    opt_gap = optimal_value(game) - v
    nash_bound = 2 * lam * M
    opt_bound = 2 ** (N + 1) * N * lam * M
    return {
        "n_states": game.n_states,
        "n_agents": N,
        "n_joint": game.n_joint_actions,
        "max_actions": max(game.action_sizes),
        "n_edges": dag.n_edges,
        "gamma": game.gamma,
        "lam": lam,
        "M": M,
        "threshold": run.tol,
        "grad_norm": run.grad_norm,
        "met": run.met,
        "iterations": run.iterations,
        "evaluations": run.evaluations,
        "value": v,
        "nash_gap": gap,
        "nash_bound": nash_bound,
        "nash_ratio": gap / nash_bound,
        "optimality_gap": opt_gap,
        "optimality_bound": opt_bound,
        "optimality_ratio": opt_gap / opt_bound,
        "min_local_ratio": _min_local_ratio(run.policy),
    }


def _collate(records: list[dict], meta: dict) -> dict:
    keys = list(records[0]) if records else []
    out = {k: np.array([rec[k] for rec in records]) for k in keys}
    out.update(meta)
    return out


def _progress(iterable, progress: Callable | None):
    return iterable if progress is None else progress(iterable)


def _lemma_sweep(name: str, full: bool, n_instances, seed, method, max_iter, progress, options) -> dict:
    n_instances = integer("n_instances", n_instances, minimum=1)
    seed = integer("seed", seed, minimum=0)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    defaults = {
        name: par.default
        for name, par in inspect.signature(lemma_instance).parameters.items()
        if par.kind is inspect.Parameter.KEYWORD_ONLY and name != "full"
    }
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise TypeError(f"unknown options {unknown}; choose from {sorted(defaults)}")
    options = {**defaults, **options}
    records = []
    for k in _progress(range(n_instances), progress):
        inst = lemma_instance(seed, k, full=full, **options)
        rec = lemma_record(inst, method=method, max_iter=max_iter)
        rec["index"] = k
        records.append(rec)
    meta = {"sweep": name, "seed": seed, "method": method, "max_iter": max_iter}
    meta.update({f"option_{k}": np.asarray(v) for k, v in options.items()})
    return _collate(records, meta)


def lemma2_sweep(
    n_instances: int,
    seed: int,
    *,
    method: str = "armijo",
    max_iter: int = 5000,
    progress: Callable | None = None,
    **options,
) -> dict:
    r"""Lemma 2 on random (game, DAG, :math:`\lambda`) instances.

    Parameters
    ----------
    n_instances : int
    seed : int
        Instance ``k`` is :func:`lemma_instance` ``(seed, k, full=False, **options)``.
    method, max_iter
        Passed to :func:`ascend`.
    progress : callable, optional
        Wraps the iterable of instance indices (e.g. ``tqdm.tqdm``); it must yield the same items.
    **options
        Passed to :func:`lemma_instance` (``n_states``, ``n_agents``, ``n_actions``, ``lam_range``,
        ``gamma_range``, ``sparsity``, ``edge_prob``, ``init_scale``).

    Returns
    -------
    dict
        One array per key of :func:`lemma_record` plus ``index``, and the scalars ``sweep``,
        ``seed``, ``method``, ``max_iter`` and ``option_*`` (every option of
        :func:`lemma_instance`, defaults included). Lemma 2 claims
        ``nash_ratio <= 1`` wherever ``met`` is true.

    Examples
    --------
    >>> out = lemma2_sweep(2, seed=0)
    >>> out["met"].tolist(), bool(out["nash_ratio"].max() <= 1)
    ([True, True], True)
    """
    return _lemma_sweep("lemma2", False, n_instances, seed, method, max_iter, progress, options)


def lemma3_sweep(
    n_instances: int,
    seed: int,
    *,
    method: str = "armijo",
    max_iter: int = 5000,
    progress: Callable | None = None,
    **options,
) -> dict:
    r"""Lemma 3 on random games with fully-correlated DAGs (:meth:`bnpg.DAG.full`).

    Same parameters and output as :func:`lemma2_sweep`; Lemma 3 claims ``optimality_ratio <= 1``
    wherever ``met`` is true.

    Examples
    --------
    >>> out = lemma3_sweep(2, seed=0)
    >>> out["n_edges"].tolist() == (out["n_agents"] * (out["n_agents"] - 1) // 2).tolist()
    True
    """
    return _lemma_sweep("lemma3", True, n_instances, seed, method, max_iter, progress, options)


# -- what correlation buys --------------------------------------------------------------------------
def _embed(game: MarkovGame, dag: DAG, product_theta: Sequence[np.ndarray]) -> BNPolicy:
    """The BN policy on ``dag`` whose local policies ignore the parents and equal the product ones."""
    template = BNPolicy(game, dag)
    theta = []
    for i, lay in enumerate(template.structure.layouts):
        t = np.asarray(product_theta[i], dtype=float)
        shape = (lay.theta_shape[0],) + (1,) * len(lay.parents) + (lay.theta_shape[-1],)
        theta.append(np.broadcast_to(t.reshape(shape), lay.theta_shape).copy())
    return template.with_theta(theta)


def _worst_value(game: MarkovGame) -> float:
    r""":math:`\min_\pi V_\pi(\mu)`: minus the optimal value of the game with reward :math:`-r`."""
    negated = MarkovGame(game.P, -game.r, game.mu, game.gamma)
    return -optimal_solution(negated).value


def correlation_run(
    game: MarkovGame,
    product_theta: Sequence[np.ndarray],
    *,
    dags: dict[str, DAG] | None = None,
    lam: float = 1e-3,
    method: str = "armijo",
    max_iter: int = 2000,
    tol: float = 1e-6,
    reach_tol: float = 1e-2,
) -> dict:
    r"""Run each DAG from the same joint policy and compare where they end.

    Parameters
    ----------
    game : MarkovGame
    product_theta : sequence of arrays
        ``product_theta[i]`` of shape ``(S, A_i)``: the starting local policies. For every DAG the
        start is the BN policy whose agents ignore their parents and play these, so every run starts
        from the same joint policy.
    dags : dict of str to DAG, optional
        Default ``{"product": DAG.empty(N), "chain": DAG.chain(N), "full": DAG.full(N)}``.
    lam, method, max_iter, tol
        Passed to :func:`ascend` (gradient ascent with Armijo steps by default, so each run follows
        the gradient path from the common start). Keep ``lam > 0``: without the barrier the softmax
        saturates, and a nearly deterministic policy has a vanishing gradient even where it is not
        a Nash equilibrium, so a run can stop there.
    reach_tol : float, default 0.01
        The optimum counts as reached when the optimality gap is at most ``reach_tol`` times
        :math:`V^* - \min_\pi V_\pi(\mu)`.

    Returns
    -------
    dict
        For each DAG name ``x``: ``x_value``, ``x_gap``, ``x_reached``, ``x_grad_norm``, and
        ``optimal_value``, ``worst_value``, ``start_value``.

    Examples
    --------
    >>> import numpy as np
    >>> from bnpg.games import penalty_game
    >>> game = penalty_game(k=-10, gamma=0.5)
    >>> out = correlation_run(game, [np.zeros((1, 3)), np.zeros((1, 3))], max_iter=300)
    >>> out["product_reached"], out["chain_reached"]
    (False, True)
    >>> round(out["product_value"] * (1 - game.gamma), 2)   # the safe equilibrium, 2 per step
    2.0
    """
    if not isinstance(game, MarkovGame):
        raise TypeError(f"game must be a MarkovGame, got {type(game).__name__}")
    N = game.n_agents
    if dags is None:
        dags = {"product": DAG.empty(N), "chain": DAG.chain(N), "full": DAG.full(N)}
    if not isinstance(dags, dict) or not all(isinstance(d, DAG) for d in dags.values()):
        raise TypeError("dags must be a dict of name to DAG")
    if isinstance(product_theta, np.ndarray) or len(product_theta) != N:
        raise ValueError(f"product_theta must be a list of {N} arrays of shape (S, A_i)")
    for i, t in enumerate(product_theta):
        shape = (game.n_states, game.action_sizes[i])
        if np.shape(t) != shape:
            raise ValueError(f"product_theta[{i}] must have shape {shape}, got {np.shape(t)}")
    reach_tol = non_negative("reach_tol", reach_tol)
    v_star = optimal_value(game)
    v_worst = _worst_value(game)
    out = {"optimal_value": v_star, "worst_value": v_worst}
    start = None
    for name, dag in dags.items():
        policy = _embed(game, dag, product_theta)
        if start is None:
            start = evaluate(game, policy).value
            out["start_value"] = start
        run = ascend(game, policy, lam, tol=tol, max_iter=max_iter, method=method)
        v = evaluate(game, run.policy).value
        out[f"{name}_value"] = v
        out[f"{name}_gap"] = v_star - v
        out[f"{name}_reached"] = bool(v_star - v <= reach_tol * (v_star - v_worst))
        out[f"{name}_grad_norm"] = run.grad_norm
    return out


def correlation_sweep(
    n_instances: int,
    seed: int,
    *,
    n_states: Sequence[int] = (2, 3),
    n_agents: Sequence[int] = (2,),
    n_actions: Sequence[int] = (2, 3),
    gamma: float = 0.9,
    init_scale: float = 1.0,
    lam: float = 1e-3,
    method: str = "armijo",
    max_iter: int = 2000,
    reach_tol: float = 1e-2,
    progress: Callable | None = None,
) -> dict:
    r"""Product vs chain vs full DAG on random games from the same starting joint policies.

    Instance ``k`` draws from ``default_rng([seed, k])``: :math:`|\mathcal S|`, ``N`` and each
    :math:`|\mathcal A^i|` uniformly from the given choices, a random game
    (:func:`bnpg.games.random_game`, rewards in [0, 1]), and a product start with i.i.d. normal
    parameters of standard deviation ``init_scale``; then :func:`correlation_run`.

    Returns
    -------
    dict
        Arrays ``index``, ``n_states``, ``n_agents``, ``n_joint`` and every key of
        :func:`correlation_run`, plus scalar metadata.

    Examples
    --------
    >>> out = correlation_sweep(2, seed=0, max_iter=200)
    >>> sorted(k for k in out if k.endswith("_reached"))
    ['chain_reached', 'full_reached', 'product_reached']
    """
    n_instances = integer("n_instances", n_instances, minimum=1)
    seed = integer("seed", seed, minimum=0)
    states = _choices("n_states", n_states)
    agents = _choices("n_agents", n_agents)
    actions = _choices("n_actions", n_actions)
    init_scale = non_negative("init_scale", init_scale)
    records = []
    for k in _progress(range(n_instances), progress):
        rng = _rng(seed, k)
        S = int(rng.choice(states))
        N = int(rng.choice(agents))
        sizes = tuple(int(a) for a in rng.choice(actions, size=N))
        game = random_game(S, sizes, seed=rng, gamma=gamma)
        theta = [init_scale * rng.standard_normal((S, a)) for a in sizes]
        rec = {"index": k, "n_states": S, "n_agents": N, "n_joint": prod(sizes)}
        rec.update(
            correlation_run(
                game, theta, lam=lam, method=method, max_iter=max_iter, reach_tol=reach_tol
            )
        )
        records.append(rec)
    meta = {
        "sweep": "correlation", "seed": seed, "method": method, "max_iter": max_iter, "lam": lam,
        "gamma": gamma, "init_scale": init_scale, "reach_tol": reach_tol,
    }
    return _collate(records, meta)


# -- files -----------------------------------------------------------------------------------------
def _to_jsonable(value):
    arr = np.asarray(value)
    if arr.dtype.kind in "US":
        return arr.tolist()
    if arr.dtype == bool:
        return arr.tolist()
    if arr.dtype.kind in "iu":
        return arr.tolist()
    if arr.dtype.kind == "f":
        # JSON has no inf/nan: write them as strings, read back by load_results
        flat = [x if np.isfinite(x) else repr(float(x)) for x in arr.ravel().tolist()]
        return np.array(flat, dtype=object).reshape(arr.shape).tolist() if arr.ndim else flat[0]
    raise TypeError(f"cannot write a value of dtype {arr.dtype} to JSON")


def save_results(path: str | os.PathLike, results: dict) -> None:
    """Write a sweep's results to ``.npz`` (no pickle) or ``.json``, chosen by the file extension.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "r.json")
    >>> save_results(path, {"x": np.array([1.0, np.inf]), "sweep": "demo"})
    >>> load_results(path)["x"]
    array([ 1., inf])
    """
    path = os.fspath(path)
    if not isinstance(results, dict):
        raise TypeError(f"results must be a dict, got {type(results).__name__}")
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".npz", ".json"):
        raise ValueError(f"path must end in .npz or .json, got {path!r}")
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    if ext == ".npz":
        arrays = {k: np.asarray(v) for k, v in results.items()}
        for k, v in arrays.items():
            if v.dtype == object:
                raise TypeError(f"results[{k!r}] has object dtype, which .npz cannot hold without pickle")
        np.savez(path, **arrays)
    else:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({k: _to_jsonable(v) for k, v in results.items()}, fh, indent=1)


def _from_json(value):
    if isinstance(value, list):
        if any(isinstance(x, str) and x in ("inf", "-inf", "nan") for x in value):
            return np.array([float(x) if isinstance(x, str) else x for x in value])
        return np.array(value)
    if isinstance(value, str) and value in ("inf", "-inf", "nan"):
        return np.array(float(value))
    return np.array(value)


def load_results(path: str | os.PathLike) -> dict:
    """Read results written by :func:`save_results`: a dict of numpy arrays (scalars as 0-d arrays)."""
    path = os.fspath(path)
    if path.lower().endswith(".npz"):
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    if path.lower().endswith(".json"):
        with open(path, encoding="utf-8") as fh:
            return {k: _from_json(v) for k, v in json.load(fh).items()}
    raise ValueError(f"path must end in .npz or .json, got {path!r}")


def save_instance(path: str | os.PathLike, game: MarkovGame, dag: DAG, lam: float, policy: BNPolicy) -> None:
    """Write a (game, DAG, lambda, policy) point to ``.npz`` so a notebook can reload and re-check it.

    >>> import os, tempfile
    >>> inst = lemma_instance(0, 1)
    >>> path = os.path.join(tempfile.mkdtemp(), "point.npz")
    >>> save_instance(path, inst.game, inst.dag, inst.lam, inst.policy)
    >>> game, dag, lam, policy = load_instance(path)
    >>> game == inst.game, dag == inst.dag, lam == inst.lam, bool((policy.flat() == inst.policy.flat()).all())
    (True, True, True, True)
    """
    same_game(game, policy)
    if not isinstance(dag, DAG):
        raise TypeError(f"dag must be a DAG, got {type(dag).__name__}")
    if policy.dag != dag:
        raise ValueError(f"policy is on {policy.dag!r}, not on dag {dag!r}")
    lam = non_negative("lam", lam)
    edges = np.array(dag.edges, dtype=int).reshape(-1, 2)
    np.savez(
        path, format=np.array("bnpg.instance/1"), P=game.P, r=game.r, mu=game.mu,
        gamma=np.array(game.gamma), n_agents=np.array(dag.n_agents), edges=edges,
        lam=np.array(lam), theta=policy.flat(),
    )


def load_instance(path: str | os.PathLike) -> tuple[MarkovGame, DAG, float, BNPolicy]:
    """Read what :func:`save_instance` wrote, validating every part again."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    if str(arrays.get("format", "")) != "bnpg.instance/1":
        raise ValueError(f"path {os.fspath(path)!r} is not a bnpg instance file")
    game = MarkovGame(arrays["P"], arrays["r"], arrays["mu"], arrays["gamma"].item())
    dag = DAG.from_edges(int(arrays["n_agents"]), [tuple(int(x) for x in e) for e in arrays["edges"]])
    policy = BNPolicy(game, dag).with_flat(arrays["theta"])
    return game, dag, float(arrays["lam"]), policy
