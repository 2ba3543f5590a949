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
  reached. :func:`correlation_compare` and :func:`correlation_study` make the same comparison
  from several starts per game and keep the final policies and their Nash gaps (Definition 1);
  by default they climb with steps of bounded length (``method="path"``), which stay close to the
  path of the gradient flow, and compute :math:`L_\lambda` and its gradient with the compiled
  kernel when numba is installed.

Results are dictionaries of equal-length numpy arrays (one entry per instance) plus scalar
metadata; :func:`save_results` and :func:`load_results` write and read them as ``.npz`` or JSON
without pickle.
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from math import prod

import numpy as np

from ._validation import game_and_dag, integer, non_negative, positive, real_scalar, same_game
from .dag import DAG
from .evaluation import evaluate
from .game import MarkovGame
from .games import random_game
from .gaps import mismatch_coefficient, nash_gap, optimal_solution, optimal_value
from .objective import evaluation_and_gradient, gradient_norm, log_barrier, resolve_backend
from .policy import BNPolicy

__all__ = [
    "Ascent",
    "Instance",
    "ascend",
    "common_start",
    "correlation_compare",
    "correlation_run",
    "correlation_study",
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
        ev, grads = evaluation_and_gradient(game, policy, lam)
        value = ev.value + lam * log_barrier(policy) if lam else ev.value
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


def _backtracking(f, x: np.ndarray, tol: float, max_iter: int, first: float, cap, method: str) -> Ascent:
    r"""Gradient ascent with Armijo backtracking, shared by the ``"armijo"`` and ``"path"`` methods.

    Each step :math:`\eta_t \nabla L_\lambda` starts from ``min(2 * previous accepted step,
    cap(|grad|^2))`` (``first`` plays the previous step at the start) and is halved until
    :math:`L_\lambda` rises by at least :math:`10^{-4} \eta_t \|\nabla L_\lambda\|^2`.
    """
    value, grad, third = f(x)
    evaluations, iterations = 1, 0
    norm2 = float(grad @ grad)
    previous = first
    while iterations < max_iter and np.sqrt(norm2) > tol:
        step = min(2.0 * previous, cap(norm2))
        while True:
            x_new = x + step * grad
            v_new, g_new, t_new = f(x_new)
            evaluations += 1
            if v_new >= value + 1e-4 * step * norm2:
                break
            step *= 0.5
            if step < 1e-300:
                break
        if step < 1e-300:
            break
        x, value, grad, third = x_new, v_new, g_new, t_new
        norm2 = float(grad @ grad)
        previous = step
        iterations += 1
    norm = float(np.sqrt(norm2))
    return Ascent(third, float(value), norm, tol, bool(norm <= tol), iterations, evaluations, method)


def _ascend_armijo(f, x: np.ndarray, tol: float, max_iter: int, eta0: float) -> Ascent:
    return _backtracking(f, x, tol, max_iter, eta0, lambda norm2: 1e6 * eta0, "armijo")


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


def _random_instance(seed: int, k: int, states, agents, actions, gamma: float, init_scale: float,
                     n_starts: int = 1):
    r"""Instance ``k`` of the correlation experiments: ``(S, N, sizes, game, starts)``.

    From ``default_rng([seed, k])``: :math:`|\mathcal S|`, ``N`` and each :math:`|\mathcal A^i|`
    uniformly from the choices, a random game, then ``n_starts`` product starts with i.i.d. normal
    parameters of standard deviation ``init_scale``, in that order (so the first start does not
    depend on ``n_starts``).
    """
    rng = _rng(seed, k)
    S = int(rng.choice(states))
    N = int(rng.choice(agents))
    sizes = tuple(int(a) for a in rng.choice(actions, size=N))
    game = random_game(S, sizes, seed=rng, gamma=gamma)
    starts = [[init_scale * rng.standard_normal((S, a)) for a in sizes] for _ in range(n_starts)]
    return S, N, sizes, game, starts


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
        S, N, sizes, game, (theta,) = _random_instance(seed, k, states, agents, actions, gamma, init_scale)
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


# -- what correlation buys, in detail: final policies, Nash gaps, several starts per game ----------
def common_start(game: MarkovGame, dag: DAG, product_theta: Sequence[np.ndarray]) -> BNPolicy:
    r"""The BN policy on ``dag`` whose agents ignore their parents and play a given product policy.

    Agent ``i``'s parameters :math:`\theta^i_{s, a^{\mathcal P^i}, \cdot}` are ``product_theta[i][s]``
    for every parents' action :math:`a^{\mathcal P^i}`, so the joint policy is
    :math:`\prod_i \mathrm{softmax}(\text{product\_theta}[i][s])` whatever the DAG: runs on
    different DAGs from these points start from the same joint policy.

    Parameters
    ----------
    game : MarkovGame
    dag : DAG
        On ``game.n_agents`` agents.
    product_theta : sequence of arrays
        ``product_theta[i]`` of shape ``(S, A_i)`` (not modified).

    Returns
    -------
    BNPolicy

    Examples
    --------
    >>> import numpy as np, bnpg
    >>> from bnpg.games import climbing_game
    >>> game = climbing_game()
    >>> theta = [np.array([[0.0, 1.0, 2.0]]), np.zeros((1, 3))]
    >>> start = common_start(game, bnpg.DAG.full(2), theta)
    >>> start.theta[1].shape          # (S, A_0, A_1): agent 1 may react to agent 0, but does not yet
    (1, 3, 3)
    >>> bool(np.allclose(start.joint(), common_start(game, bnpg.DAG.empty(2), theta).joint()))
    True
    """
    game_and_dag(game, dag)
    _check_product_theta(game, product_theta)
    return _embed(game, dag, product_theta)


def _check_product_theta(game: MarkovGame, product_theta) -> None:
    N = game.n_agents
    if isinstance(product_theta, (np.ndarray, str, bytes)) or not isinstance(product_theta, Sequence):
        raise TypeError(f"product_theta must be a list of {N} arrays of shape (S, A_i)")
    if len(product_theta) != N:
        raise ValueError(f"product_theta must be a list of {N} arrays of shape (S, A_i), got {len(product_theta)}")
    for i, t in enumerate(product_theta):
        shape = (game.n_states, game.action_sizes[i])
        if np.shape(t) != shape:
            raise ValueError(f"product_theta[{i}] must have shape {shape}, got {np.shape(t)}")
        if not np.all(np.isfinite(np.asarray(t, dtype=float))):
            raise ValueError(f"product_theta[{i}] must be finite")


#: Methods of :func:`correlation_compare`: those of :func:`ascend`, and ``"path"``.
COMPARE_METHODS = METHODS + ("path",)


def _ascend_path(f, x: np.ndarray, tol: float, max_iter: int, max_move: float) -> Ascent:
    r"""Gradient ascent whose every step moves the parameters by at most ``max_move``.

    The step is :math:`\eta_t \nabla L_\lambda` with :math:`\eta_t \le` ``max_move`` :math:`/
    \|\nabla L_\lambda\|_2`, starting from twice the previous accepted :math:`\eta` and halved until
    :math:`L_\lambda` rises by at least :math:`10^{-4} \eta_t \|\nabla L_\lambda\|^2` (Armijo).
    """
    return _backtracking(
        f, x, tol, max_iter, np.inf, lambda norm2: max_move / np.sqrt(norm2), "path"
    )


def _ascend_with(game, policy, lam, tol, max_iter, method, max_move, backend) -> Ascent:
    """:func:`ascend`, or the path method, with the objective from the chosen backend."""
    if resolve_backend(backend) == "numba":
        from . import _fast

        plan = policy.structure.plan(game)

        def f(x):
            value, barrier, grad = _fast.value_and_gradient(plan, x, lam)
            # the third slot carries the parameters; the policy is built once, at the end
            return (value + lam * barrier if lam else value), grad, x

        x0 = policy.flat()
        if method == "path":
            run = _ascend_path(f, x0, tol, max_iter, max_move)
        elif method == "lbfgs":
            run = _ascend_lbfgs(f, x0, tol, max_iter)
        else:
            run = _ascend_armijo(f, x0, tol, max_iter, 1.0)
        return replace(run, policy=policy.with_flat(run.policy))
    if method == "path":
        f = _objective_and_gradient(game, policy, lam)
        return _ascend_path(f, policy.flat(), tol, max_iter, max_move)
    return ascend(game, policy, lam, tol=tol, max_iter=max_iter, method=method)


def correlation_compare(
    game: MarkovGame,
    product_theta: Sequence[np.ndarray],
    *,
    dags: dict[str, DAG] | None = None,
    lam: float = 1e-4,
    method: str = "path",
    max_move: float = 0.1,
    max_iter: int = 5000,
    tol: float = 1e-6,
    reach_tol: float = 1e-4,
    backend: str = "auto",
) -> dict:
    r"""Run each DAG from the same joint policy; keep the final policies and their Nash gaps.

    Each DAG starts from :func:`common_start` and climbs :math:`L_\lambda` until
    :math:`\|\nabla L_\lambda\|_2 \le` ``tol`` or ``max_iter`` steps. DAGs that are equal as graphs
    (the chain and the full DAG on two agents) follow the same path from the same start, so they
    are run once and share one result.

    **Methods.** Which equilibrium a run ends at depends on the path it takes, so the default
    ``method="path"`` follows the direction of the dynamics (2) in steps that move the parameters
    by at most ``max_move`` (Euclidean norm), with an Armijo backtracking on :math:`L_\lambda`: the
    iterates stay close to the path of the gradient flow, of which the dynamics (2) with
    :math:`\eta \le 1/\beta_\lambda` are a discretisation, while long flat stretches are crossed in
    few steps. ``"armijo"`` and ``"lbfgs"`` are those of :func:`ascend` (as in
    :func:`correlation_run`); their steps are not bounded in length and can carry a run across
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
    max_iter : int, default 5000
    tol : float, default 1e-6
        Target gradient norm.
    reach_tol : float, default 1e-4
        A run *reaches the optimum* when :math:`V^* - V_{\pi}(\mu) \le` ``reach_tol`` :math:`\cdot
        (V^* - V_{\min})`, with :math:`V_{\min} = \min_\pi V_\pi(\mu)`.
    backend : {"auto", "numpy", "numba"}
        Where :math:`L_\lambda` and its gradient are computed: ``"numba"`` uses the compiled
        kernel of :mod:`bnpg._fast` (the same numbers to round-off, tens of times faster on small
        games), ``"numpy"`` the numpy code of :func:`bnpg.gradient`, ``"auto"`` picks numba when
        it is installed.

    Returns
    -------
    dict
        ``optimal_value`` (:math:`V^*`), ``worst_value`` (:math:`V_{\min}`), ``start_value``,
        ``threshold`` (:func:`stationarity_threshold`, the gradient norm Lemmas 2-3 assume), and
        for each DAG name ``x``: ``x_policy`` (the final :class:`BNPolicy`), ``x_value``,
        ``x_gap`` (optimality gap), ``x_reached``, ``x_grad_norm``, ``x_met``
        (``x_grad_norm <= tol``), ``x_iterations``, ``x_nash_gap`` (Definition 1, at the final
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
    _check_product_theta(game, product_theta)
    lam = non_negative("lam", lam)
    if method not in COMPARE_METHODS:
        raise ValueError(f"method must be one of {COMPARE_METHODS}, got {method!r}")
    max_move = positive("max_move", max_move)
    max_iter = integer("max_iter", max_iter, minimum=0)
    tol = positive("tol", tol)
    reach_tol = non_negative("reach_tol", reach_tol)
    resolve_backend(backend)
    v_star = optimal_value(game)
    v_worst = _worst_value(game)
    out = {
        "optimal_value": v_star,
        "worst_value": v_worst,
        "start_value": evaluate(game, _embed(game, DAG.empty(N), product_theta)).value,
        "threshold": stationarity_threshold(game, lam),
    }
    done: dict[DAG, dict] = {}
    for name, dag in dags.items():
        if dag not in done:
            start = _embed(game, dag, product_theta)
            run = _ascend_with(game, start, lam, tol, max_iter, method, max_move, backend)
            v = evaluate(game, run.policy).value
            done[dag] = {
                "policy": run.policy,
                "value": v,
                "gap": v_star - v,
                "reached": bool(v_star - v <= reach_tol * (v_star - v_worst)),
                "grad_norm": run.grad_norm,
                "met": run.met,
                "iterations": run.iterations,
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
    max_iter: int = 5000,
    tol: float = 1e-6,
    reach_tol: float = 1e-4,
    backend: str = "auto",
    progress: Callable | None = None,
) -> dict:
    r"""Product vs chain vs full DAG on random games, from several common starts per game.

    Game ``k`` and its first start are drawn exactly as instance ``k`` of :func:`correlation_sweep`
    with the same ``seed``; starts ``1, ..., n_starts - 1`` are drawn next from the same
    generator, i.i.d. normal with standard deviation ``init_scale``. Every start is run by
    :func:`correlation_compare` on the product, chain and full DAGs.

    Parameters
    ----------
    n_games, n_starts : int
        ``>= 1`` each.
    seed : int
    n_states, n_agents, n_actions, gamma, init_scale
        As in :func:`correlation_sweep`.
    lam, method, max_move, max_iter, tol, reach_tol, backend
        As in :func:`correlation_compare`.
    progress : callable, optional
        Wraps the iterable of game indices (e.g. ``tqdm.tqdm``).

    Returns
    -------
    dict
        One entry per (game, start), ``n_games * n_starts`` in all: arrays ``game``, ``start``,
        ``n_states``, ``n_agents``, ``n_joint``, ``mismatch`` (:math:`M`, Lemma 2), and every
        key of :func:`correlation_compare` except the policies; plus scalar metadata. It can be
        written with :func:`save_results`.

    Examples
    --------
    >>> out = correlation_study(2, 2, seed=0, max_iter=300)
    >>> out["game"].tolist(), out["start"].tolist()
    ([0, 0, 1, 1], [0, 1, 0, 1])
    >>> bool(np.all(out["full_value"] <= out["optimal_value"] + 1e-9))
    True
    """
    n_games = integer("n_games", n_games, minimum=1)
    n_starts = integer("n_starts", n_starts, minimum=1)
    seed = integer("seed", seed, minimum=0)
    states = _choices("n_states", n_states)
    agents = _choices("n_agents", n_agents)
    actions = _choices("n_actions", n_actions)
    init_scale = non_negative("init_scale", init_scale)
    options = {
        "lam": lam, "method": method, "max_move": max_move, "max_iter": max_iter, "tol": tol,
        "reach_tol": reach_tol, "backend": backend,
    }
    records = []
    for k in _progress(range(n_games), progress):
        S, N, sizes, game, starts = _random_instance(
            seed, k, states, agents, actions, gamma, init_scale, n_starts
        )
        M = mismatch_coefficient(game)
        for j, theta in enumerate(starts):
            rec = {
                "game": k, "start": j, "n_states": S, "n_agents": N, "n_joint": prod(sizes),
                "mismatch": M,
            }
            out = correlation_compare(game, theta, **options)
            rec.update({key: v for key, v in out.items() if not key.endswith("_policy")})
            records.append(rec)
    meta = {
        "sweep": "correlation_study", "seed": seed, "n_starts": n_starts, "gamma": gamma,
        "init_scale": init_scale, "lam": lam, "method": method, "max_move": max_move,
        "max_iter": max_iter, "tol": tol, "reach_tol": reach_tol,
    }
    return _collate(records, meta)


# -- Lemma 3: the weak step of its proof, a telescoping identity, adversarial candidates ----------
#
# The proof of Lemma 3 (Appendix A.4) bounds every local probability from below by
# 1/(2|A^j|), hence every parents' marginal by 1/(2^N |A^{P^i}|). Inequality (4) gives the first
# bound only for actions whose local advantage is non-negative. The functions below measure how far
# the points reached are from both bounds, compute the telescoping identity that replaces them for
# a fully-correlated DAG, and generate games and starting points built to make the optimality gap
# large.


def proof_step_ratios(policy: BNPolicy) -> dict:
    r"""How far ``policy`` is from the two lower bounds used in the proof of Lemma 3 (Appendix A.4).

    Returns
    -------
    dict of float
        ``local``: :math:`\min_{i, s, a^{\mathcal P^i}, a^i} 2 |\mathcal A^i|\,
        \pi^i(a^i \mid s, a^{\mathcal P^i})`; the proof needs it to be at least 1 (inequality (4)
        applied to *every* action). ``parents``: :math:`\min_{i, s, a^{\mathcal P^i}} 2^N
        |\mathcal A^{\mathcal P^i}|\, \pi(a^{\mathcal P^i} \mid s)`; the proof derives that it is at
        least 1 (an agent without parents contributes :math:`2^N`).

    Examples
    --------
    At the uniform policy every local probability is :math:`1/|\mathcal A^i|`, so ``local`` is 2;
    with two agents the parents' marginal of agent 1 is :math:`1/|\mathcal A^0|`, so ``parents`` is
    :math:`2^2 = 4`:

    >>> import bnpg
    >>> from bnpg.games import climbing_game
    >>> game = climbing_game()
    >>> proof_step_ratios(bnpg.BNPolicy(game, bnpg.DAG.full(2)))
    {'local': 2.0, 'parents': 4.0}
    """
    if not isinstance(policy, BNPolicy):
        raise TypeError(f"policy must be a BNPolicy, got {type(policy).__name__}")
    sizes = policy.game.action_sizes
    n = len(sizes)
    local = min(2 * k * float(policy.local(i).min()) for i, k in enumerate(sizes))
    parents = []
    for i in range(n):
        ps = policy.dag.parents(i)
        if not ps:
            parents.append(float(2**n))
            continue
        n_parent = prod(sizes[j] for j in ps)
        parents.append(2**n * n_parent * float(policy.marginal(ps).min()))
    return {"local": float(local), "parents": float(min(parents))}


def telescoped_advantage(
    game: MarkovGame, policy: BNPolicy, lam: float, grads: Sequence[np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    r"""The advantage :math:`Q(s, a) - V(s)` of a fully-correlated BN policy, written through :math:`\nabla L_\lambda`.

    For a fully-correlated DAG (Definition 3) the parents of agent ``i`` are the agents before it
    in the topological order, so the local advantages of Lemma 1 telescope along a joint action:
    :math:`Q(s, a) - V(s) = \sum_i A^i(s, a^{\mathcal P^i}, a^i)`. Writing each local advantage
    through the partial derivative :math:`g^i = \partial L_\lambda / \partial \theta^i_{s,
    a^{\mathcal P^i}, a^i}` of the exact gradient (unnormalised visitation :math:`d_\mu`, so no
    factor :math:`1/(1-\gamma)`) and using :math:`|\mathcal A^{\mathcal P^i}| |\mathcal A^i| =
    |\mathcal A^{\mathcal P^{i'}}|` for the next agent :math:`i'`, the barrier terms cancel in
    pairs and leave

    .. math::

        Q(s, a) - V(s) =
        \underbrace{\sum_i \frac{g^i(s, a^{\mathcal P^i}, a^i)}
                                {d_\mu(s)\, \pi(a^{\mathcal P^i_+} \mid s)}}_{\text{gradient part}}
        + \underbrace{\frac{\lambda}{|\mathcal S|\, d_\mu(s)}
          \Big(1 - \frac{1}{|\mathcal A|\, \pi(a \mid s)}\Big)}_{\text{barrier part}},

    an identity valid at every :math:`\theta`, where :math:`\mathcal P^i_+ = \mathcal P^i \cup \{i\}`.
    At a point with :math:`\|\nabla L_\lambda\|_2 \le \lambda / (2 |\mathcal S| |\mathcal A|
    \max_i |\mathcal A^i|)` the gradient part is at most
    :math:`\sqrt N \lambda / (2 \max_i |\mathcal A^i|\, |\mathcal S| |\mathcal A| d_\mu(s) \pi(a \mid s))`
    (Cauchy-Schwarz over the ``N`` terms, and :math:`\pi(a^{\mathcal P^i_+} \mid s) \ge \pi(a \mid s)`),
    which the negative part of the barrier term absorbs when :math:`\sqrt N \le 2 \max_i
    |\mathcal A^i|`; then :math:`Q(s, a) - V(s) \le \lambda / (|\mathcal S| d_\mu(s))` for every
    :math:`(s, a)`, and the performance difference lemma gives an optimality gap of at most
    :math:`\lambda M`.

    Parameters
    ----------
    game : MarkovGame
    policy : BNPolicy
        On a fully-correlated DAG (any numbering of the agents).
    lam : float
        :math:`\lambda \ge 0`.
    grads : sequence of arrays, optional
        The gradient of :math:`L_\lambda` at ``policy`` in the layout of ``policy.theta``; by default
        the exact one. Passing another (e.g. finite differences) checks the identity independently.

    Returns
    -------
    (ndarray, ndarray)
        The gradient part and the barrier part, each of shape ``(S, A_0, ..., A_{N-1})``.

    Raises
    ------
    ValueError
        If the DAG is not fully correlated.

    Examples
    --------
    >>> import numpy as np, bnpg
    >>> from bnpg.games import climbing_game
    >>> game = climbing_game(gamma=0.5)
    >>> policy = bnpg.BNPolicy.random(game, bnpg.DAG.full(2), seed=0)
    >>> grad_part, barrier_part = telescoped_advantage(game, policy, lam=0.2)
    >>> ev = bnpg.evaluate(game, policy)
    >>> bool(np.allclose(grad_part + barrier_part, ev.Q - ev.V[:, None, None], rtol=0, atol=1e-10))
    True
    """
    same_game(game, policy)
    lam = non_negative("lam", lam)
    if not policy.dag.is_fully_correlated:
        raise ValueError(
            f"policy must be on a fully-correlated DAG (Definition 3), got {policy.dag!r}"
        )
    st = policy.structure
    if grads is None:
        ev, grads = evaluation_and_gradient(game, policy, lam)
    else:
        ev = evaluate(game, policy)
    if isinstance(grads, np.ndarray) or len(grads) != game.n_agents:
        raise ValueError(f"grads must be a list of {game.n_agents} arrays shaped like policy.theta")
    from ._validation import real_array

    grads = [real_array(f"grads[{i}]", g) for i, g in enumerate(grads)]
    for i, g in enumerate(grads):
        if g.shape != st.layouts[i].theta_shape:
            raise ValueError(
                f"grads[{i}] must have shape {st.layouts[i].theta_shape}, got {g.shape}"
            )
    S, n = game.n_states, game.n_agents
    d = ev.d.reshape((S,) + (1,) * n)
    pi = ev.pi
    gradient_part = np.zeros((S,) + game.action_sizes)
    for i in range(n):
        lay = st.layouts[i]
        family_marginal = pi.sum(axis=lay.other_axes, keepdims=True) if lay.other_axes else pi
        gradient_part = gradient_part + st.to_joint_axes(i, grads[i]) / (d * family_marginal)
    barrier_part = lam / (S * d) * (1.0 - 1.0 / (game.n_joint_actions * pi))
    return gradient_part, barrier_part


def concentrated_policy(game: MarkovGame, dag: DAG, actions: Sequence[int], scale: float) -> BNPolicy:
    r"""A BN policy near the deterministic joint action ``actions``, whatever the parents play.

    Every row of agent ``i``'s parameters is ``scale`` at ``actions[i]`` and 0 elsewhere, so agent
    ``i`` plays ``actions[i]`` with probability :math:`e^{\text{scale}} / (e^{\text{scale}} +
    |\mathcal A^i| - 1)` in every state and after every parents' action. Used to start an ascent
    inside the basin of a suboptimal equilibrium.

    Examples
    --------
    >>> import numpy as np, bnpg
    >>> from bnpg.games import climbing_game
    >>> policy = concentrated_policy(climbing_game(), bnpg.DAG.full(2), (1, 1), scale=np.log(8.0))
    >>> round(float(policy.joint()[0, 1, 1]), 12)   # (8 / 10) ** 2
    0.64
    """
    game_and_dag(game, dag)
    if isinstance(actions, (str, bytes)) or not isinstance(actions, Sequence):
        raise TypeError(f"actions must be a sequence of one action per agent, got {actions!r}")
    if len(actions) != game.n_agents:
        raise ValueError(f"actions must list {game.n_agents} actions, got {len(actions)}")
    acts = []
    for i, a in enumerate(actions):
        a = integer(f"actions[{i}]", a, minimum=0)
        if a >= game.action_sizes[i]:
            raise ValueError(f"actions[{i}] must be below {game.action_sizes[i]}, got {a}")
        acts.append(a)
    scale = real_scalar("scale", scale)
    template = BNPolicy(game, dag)
    theta = []
    for i, lay in enumerate(template.structure.layouts):
        t = np.zeros(lay.theta_shape)
        t[..., acts[i]] = scale
        theta.append(t)
    return template.with_theta(theta)


def jackpot_game(
    action_sizes: Sequence[int],
    *,
    seed,
    jackpot: float = 2.0,
    penalty: float = -10.0,
    gamma: float = 0.9,
    n_states: int = 1,
) -> MarkovGame:
    r"""A random game with a hidden jackpot joint action surrounded by penalties.

    Built on :func:`bnpg.games.random_game` (rewards uniform on [0, 1], random transitions, uniform
    :math:`\mu`); then in every state one joint action :math:`a^\dagger(s)`, drawn uniformly, pays
    ``jackpot``, and every joint action that differs from it in exactly one agent's action pays
    ``penalty``. Against partners that play uniformly, an agent's jackpot action is then worth
    about :math:`(\text{jackpot} + (|\mathcal A^{-i}| - 1)\,\text{penalty})/|\mathcal A^{-i}|` for
    two agents: the optimal joint action starts with locally unattractive actions, the situation in
    which gradient methods are pulled to a suboptimal equilibrium.

    Parameters
    ----------
    action_sizes : sequence of int
        At least one agent, each with at least 2 actions.
    seed : int or numpy.random.Generator
    jackpot : float, default 2
        Must exceed 1, the largest ordinary reward.
    penalty : float, default -10
        Must be below 0, the smallest ordinary reward.
    gamma : float, default 0.9
    n_states : int, default 1

    Returns
    -------
    MarkovGame

    Examples
    --------
    >>> import numpy as np, bnpg
    >>> game = jackpot_game((3, 3), seed=0, jackpot=5.0, penalty=-20.0, gamma=0.0)
    >>> a = np.unravel_index(int(np.argmax(game.r[0])), (3, 3))
    >>> float(game.r[0][a]), int((game.r[0] == -20.0).sum())   # 2 agents x 2 other actions
    (5.0, 4)
    >>> bnpg.optimal_value(game)
    5.0
    """
    if isinstance(action_sizes, (str, bytes)) or not isinstance(action_sizes, Sequence):
        raise TypeError(f"action_sizes must be a sequence of integers, got {action_sizes!r}")
    sizes = tuple(integer(f"action_sizes[{i}]", k, minimum=2) for i, k in enumerate(action_sizes))
    if not sizes:
        raise ValueError("action_sizes must list at least one agent")
    jackpot = real_scalar("jackpot", jackpot)
    penalty = real_scalar("penalty", penalty)
    if jackpot <= 1.0:
        raise ValueError(f"jackpot must exceed the largest ordinary reward 1, got {jackpot!r}")
    if penalty >= 0.0:
        raise ValueError(f"penalty must be below the smallest ordinary reward 0, got {penalty!r}")
    n_states = integer("n_states", n_states, minimum=1)
    from ._validation import as_generator

    rng = as_generator(seed)
    base = random_game(n_states, sizes, seed=rng, gamma=gamma)
    r = np.array(base.r)
    grids = np.indices(sizes)
    for s in range(n_states):
        target = tuple(int(rng.integers(k)) for k in sizes)
        differ = sum((grids[i] != target[i]).astype(int) for i in range(len(sizes)))
        r[s][differ == 1] = penalty
        r[s][target] = jackpot
    return MarkovGame(base.P, r, base.mu, base.gamma)


def _optimal_visitation(game: MarkovGame) -> np.ndarray:
    """:math:`d_\\mu^{\\pi^*}` of a deterministic optimal joint policy."""
    from .evaluation import evaluate_joint
    from .gaps import deterministic_joint

    return evaluate_joint(game, deterministic_joint(game, optimal_solution(game).rule)).d


def lemma3_point(
    instance: Instance, *, method: str = "armijo", max_iter: int = 5000
) -> tuple[dict, BNPolicy]:
    r"""Reach an approximate stationary point of a fully-correlated instance and measure Lemma 3 there.

    Parameters
    ----------
    instance : Instance
        Its DAG must be fully correlated (Definition 3).
    method, max_iter
        Passed to :func:`ascend` (the target is :func:`stationarity_threshold`).

    Returns
    -------
    (dict, BNPolicy)
        The record and the policy reached. The record holds ``n_states``, ``n_agents``,
        ``n_joint``, ``max_actions``, ``gamma``, ``lam``, ``M``, ``threshold``, ``grad_norm``,
        ``met``, ``iterations``, ``value``, ``optimal_value``, ``worst_value``
        (:math:`\min_\pi V_\pi(\mu)`), ``optimality_gap``, ``bound``
        (:math:`2^{N+1} N \lambda M`), ``ratio`` (gap / bound), ``gap_over_lam_m``,
        ``nonvacuous`` (bound :math:`< V^* - V_{\text{worst}}`), ``local_ratio`` and
        ``parents_ratio`` (:func:`proof_step_ratios`), ``advantage_ratio``
        (:math:`\max_{s, a} |\mathcal S| d_\mu(s) (Q(s, a) - V(s)) / \lambda`, at most 1 by the
        argument of :func:`telescoped_advantage` when the threshold is met) and ``pd_bound``
        (:math:`\frac{\lambda}{|\mathcal S|} \sum_s d_\mu^{\pi^*}(s) / d_\mu(s)`, which bounds the gap
        when ``advantage_ratio <= 1`` and is itself at most :math:`\lambda M`).

    Examples
    --------
    >>> import bnpg
    >>> from bnpg.games import climbing_game
    >>> game = climbing_game(gamma=0.0)
    >>> inst = Instance(game, bnpg.DAG.full(2), 0.1, concentrated_policy(game, bnpg.DAG.full(2), (1, 1), 3.0))
    >>> rec, policy = lemma3_point(inst)
    >>> rec["met"], rec["advantage_ratio"] <= 1, rec["optimality_gap"] <= rec["pd_bound"]
    (True, True, True)
    """
    if not isinstance(instance, Instance):
        raise TypeError(f"instance must be an Instance, got {type(instance).__name__}")
    game, dag, lam = instance.game, instance.dag, instance.lam
    if not dag.is_fully_correlated:
        raise ValueError(f"instance.dag must be fully correlated (Definition 3), got {dag!r}")
    run = ascend(game, instance.policy, lam, method=method, max_iter=max_iter)
    policy = run.policy
    N, S = game.n_agents, game.n_states
    M = mismatch_coefficient(game)
    ev = evaluate(game, policy)
    v_star = optimal_value(game)
    v_worst = _worst_value(game)
    gap = v_star - ev.value
    bound = 2 ** (N + 1) * N * lam * M
    advantage = ev.Q - ev.V.reshape((S,) + (1,) * N)
    scaled = advantage * (S * ev.d.reshape((S,) + (1,) * N))
    ratios = proof_step_ratios(policy)
    record = {
        "n_states": S,
        "n_agents": N,
        "n_joint": game.n_joint_actions,
        "max_actions": max(game.action_sizes),
        "gamma": game.gamma,
        "lam": lam,
        "M": M,
        "threshold": run.tol,
        "grad_norm": run.grad_norm,
        "met": run.met,
        "iterations": run.iterations,
        "value": ev.value,
        "optimal_value": v_star,
        "worst_value": v_worst,
        "optimality_gap": gap,
        "bound": bound,
        "ratio": gap / bound if bound > 0 else float("inf"),
        "gap_over_lam_m": gap / (lam * M) if lam > 0 else float("inf"),
        "nonvacuous": bool(bound < v_star - v_worst),
        "local_ratio": ratios["local"],
        "parents_ratio": ratios["parents"],
        "advantage_ratio": float(scaled.max() / lam) if lam > 0 else float("inf"),
        "pd_bound": float(lam / S * np.sum(_optimal_visitation(game) / ev.d)),
    }
    return record, policy


def _reversed_full(n: int) -> DAG:
    """The fully-correlated DAG in which agent ``n - 1`` acts first and agent 0 last."""
    return DAG([list(range(i + 1, n)) for i in range(n)])


def lemma3_candidates(
    *,
    lams: Sequence[float] = (1e-3, 1e-2, 1e-1, 1.0),
    gammas: Sequence[float] = (0.0, 0.9, 0.99),
    scales: Sequence[float] = (3.0, 8.0),
    seed: int = 0,
) -> list[tuple[str, Instance]]:
    r"""Instances built to make the optimality gap of Lemma 3 large, with a label for each.

    For every discount factor in ``gammas`` the games are: the climbing game; the penalty game
    with :math:`k = -100` and :math:`k = -1000`; :func:`jackpot_game` with two agents of 3 and of
    10 actions and with three agents of 3 actions (one state, jackpot 2, penalty -10); the same
    with three states; a random three-agent game; and, when :math:`\gamma > 0`, the multi-state
    :func:`bnpg.games.search_game` with two and with three drones on three cells. Each game is
    paired with two fully-correlated DAGs (agent 0 first, :meth:`bnpg.DAG.full`, and agent
    :math:`N - 1` first) and with starting points: the uniform policy and, for every scale in
    ``scales``, :func:`concentrated_policy` at a suboptimal joint action (the climbing game's
    equilibria (1, 1) and (2, 2); the penalty game's safe (1, 1); the best ordinary joint action of
    a jackpot game, which is a Nash equilibrium of the pure game; both or all drones on cell 0).
    Each combination is run for every :math:`\lambda` in ``lams``.

    Returns
    -------
    list of (str, Instance)
        Labels ``"family|gamma|dag|start|lam"``; the list is the same for the same arguments.

    Examples
    --------
    >>> cands = lemma3_candidates(lams=(0.1,), gammas=(0.0,), scales=(3.0,))
    >>> sorted({label.split("|")[0] for label, _ in cands})[:3]
    ['climbing', 'jackpot-2x10', 'jackpot-2x3']
    >>> all(inst.dag.is_fully_correlated for _, inst in cands)
    True
    """
    from .games import climbing_game, penalty_game, search_game

    lams = tuple(positive("lams entry", x) for x in lams)
    gammas = tuple(real_scalar("gammas entry", g) for g in gammas)
    scales = tuple(positive("scales entry", x) for x in scales)
    seed = integer("seed", seed, minimum=0)
    rng = np.random.default_rng([seed, 3])

    def ordinary_best(game: MarkovGame) -> tuple[int, ...]:
        r0 = np.where((game.r[0] >= 0) & (game.r[0] <= 1), game.r[0], -np.inf)
        return tuple(int(k) for k in np.unravel_index(int(np.argmax(r0)), game.action_sizes))

    games: list[tuple[str, MarkovGame, list[tuple[int, ...]]]] = []
    for gamma in gammas:
        games.append((f"climbing|{gamma:g}", climbing_game(gamma), [(1, 1), (2, 2)]))
        for k in (-100.0, -1000.0):
            games.append((f"penalty{k:g}|{gamma:g}", penalty_game(k, gamma), [(1, 1)]))
        for name, sizes, n_states in (
            ("jackpot-2x3", (3, 3), 1), ("jackpot-2x10", (10, 10), 1), ("jackpot-3x3", (3, 3, 3), 1),
            ("jackpot-2x3-S3", (3, 3), 3), ("jackpot-3x3-S3", (3, 3, 3), 3),
        ):
            game = jackpot_game(sizes, seed=rng, gamma=gamma, n_states=n_states)
            games.append((f"{name}|{gamma:g}", game, [ordinary_best(game)]))
        game = random_game(2, (3, 3, 3), seed=rng, gamma=gamma)
        worst = np.unravel_index(int(np.argmin(game.r[0])), game.action_sizes)
        games.append((f"random-3x3|{gamma:g}", game, [tuple(int(k) for k in worst)]))
        if gamma > 0:
            games.append((f"search-2|{gamma:g}", search_game(2, 3, gamma=gamma), [(0, 0)]))
            games.append((f"search-3|{gamma:g}", search_game(3, 3, gamma=gamma), [(0, 0, 0)]))

    out = []
    for label, game, bad_actions in games:
        n = game.n_agents
        for dag_name, dag in (("full", DAG.full(n)), ("reversed", _reversed_full(n))):
            starts = [("uniform", BNPolicy(game, dag))]
            for actions in bad_actions:
                for scale in scales:
                    name = "near" + "".join(str(a) for a in actions) + f"x{scale:g}"
                    starts.append((name, concentrated_policy(game, dag, actions, scale)))
            for start_name, policy in starts:
                for lam in lams:
                    out.append(
                        (f"{label}|{dag_name}|{start_name}|{lam:g}", Instance(game, dag, lam, policy))
                    )
    return out


def lemma3_search(
    candidates: Sequence[tuple[str, Instance]],
    *,
    method: str = "armijo",
    max_iter: int = 20000,
    progress: Callable | None = None,
) -> tuple[dict, list[BNPolicy]]:
    """Run :func:`lemma3_point` on every candidate of :func:`lemma3_candidates` (or any labelled list).

    Returns
    -------
    (dict, list of BNPolicy)
        The records collated into arrays (plus ``label``, and the scalars ``sweep``, ``method``,
        ``max_iter``), and the policies reached, in the order of ``candidates``.

    Examples
    --------
    >>> cands = lemma3_candidates(lams=(0.1,), gammas=(0.0,), scales=(3.0,))[:2]
    >>> results, policies = lemma3_search(cands)
    >>> results["met"].tolist(), len(policies)
    ([True, True], 2)
    """
    if isinstance(candidates, (str, bytes)) or not isinstance(candidates, Sequence):
        raise TypeError("candidates must be a sequence of (label, Instance) pairs")
    records, policies = [], []
    for item in _progress(candidates, progress):
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Instance)):
            raise TypeError("candidates must be a sequence of (label, Instance) pairs")
        label, inst = item
        rec, policy = lemma3_point(inst, method=method, max_iter=max_iter)
        rec["label"] = str(label)
        records.append(rec)
        policies.append(policy)
    meta = {"sweep": "lemma3_adversarial", "method": method, "max_iter": max_iter}
    return _collate(records, meta), policies


__all__ += [
    "concentrated_policy",
    "jackpot_game",
    "lemma3_candidates",
    "lemma3_point",
    "lemma3_search",
    "proof_step_ratios",
    "save_lemma3_search",
    "telescoped_advantage",
]


def save_lemma3_search(
    folder: str | os.PathLike,
    *,
    method: str = "armijo",
    max_iter: int = 20000,
    progress: Callable | None = None,
    **candidate_options,
) -> dict:
    """Run :func:`lemma3_search` on :func:`lemma3_candidates` and write the results to ``folder``.

    Writes ``lemma3-search.json`` (every record, see :func:`lemma3_point`) and
    ``lemma3-worst.npz`` (:func:`save_instance` of the point reached with the largest ``ratio``
    among the records with ``met`` and ``nonvacuous``, so that it can be reloaded and checked
    again).

    Parameters
    ----------
    folder : path
        Created if missing.
    method, max_iter, progress
        Passed to :func:`lemma3_search`.
    **candidate_options
        Passed to :func:`lemma3_candidates`.

    Returns
    -------
    dict
        The results, with the scalar ``worst_index`` (position of the saved point) added.

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> out = save_lemma3_search(folder, lams=(0.1,), gammas=(0.0,), scales=(3.0,))
    >>> sorted(os.listdir(folder)), bool(out["met"][int(out["worst_index"])])
    (['lemma3-search.json', 'lemma3-worst.npz'], True)
    """
    candidates = lemma3_candidates(**candidate_options)
    results, policies = lemma3_search(candidates, method=method, max_iter=max_iter, progress=progress)
    eligible = results["met"] & results["nonvacuous"]
    if not eligible.any():
        raise ValueError("no candidate met the gradient threshold with a non-vacuous bound")
    worst = int(np.flatnonzero(eligible)[np.argmax(results["ratio"][eligible])])
    results["worst_index"] = worst
    folder = os.fspath(folder)
    os.makedirs(folder, exist_ok=True)
    save_results(os.path.join(folder, "lemma3-search.json"), results)
    inst = candidates[worst][1]
    save_instance(os.path.join(folder, "lemma3-worst.npz"), inst.game, inst.dag, inst.lam, policies[worst])
    return results
