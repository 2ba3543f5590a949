r"""Random and constructed instances: the games, DAGs, regularisations and starting policies of the studies.

Every draw is reproducible on its own: instance ``k`` of a study with seed ``seed`` comes from
``numpy.random.default_rng([seed, k])`` alone, so it does not depend on how many instances the study
has, and :func:`lemma_instance` or :func:`correlation_instance` rebuild any one of them.

* :func:`lemma_instance`: a (game, DAG, :math:`\lambda`, start) for Lemmas 2 and 3, with
  :math:`\lambda` log-uniform and :math:`\gamma` uniform on given ranges;
* :func:`correlation_instance`: a game and product starting policies for the comparison of DAGs;
* :func:`common_start`: the BN policy on any DAG whose agents ignore their parents and play a given
  product policy, so that runs on different DAGs start from the same joint policy;
* :func:`concentrated_policy`: a BN policy near a chosen deterministic joint action.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bnpg._validation import (
    integer,
    integer_choices,
    interval,
    non_negative,
    probability,
    real_scalar,
)
from bnpg.games.library import random_game
from bnpg.model.dag import DAG
from bnpg.model.game import MarkovGame
from bnpg.model.policy import BNPolicy, check_game_and_dag

__all__ = [
    "Instance",
    "check_product_theta",
    "common_start",
    "concentrated_policy",
    "correlation_instance",
    "instance_rng",
    "lemma_instance",
]


@dataclass(frozen=True)
class Instance:
    """A (game, DAG, lambda, starting policy) instance of a lemma study."""

    game: MarkovGame
    dag: DAG
    lam: float
    policy: BNPolicy


def instance_rng(seed, index) -> np.random.Generator:
    """``numpy.random.default_rng([seed, index])``, after checking both are integers ``>= 0``.

    >>> int(instance_rng(0, 3).integers(10)) == int(instance_rng(0, 3).integers(10))
    True
    """
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
    r"""Instance ``index`` of a lemma study with seed ``seed``.

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
    rng = instance_rng(seed, index)
    states = integer_choices("n_states", n_states)
    agents = integer_choices("n_agents", n_agents)
    actions = integer_choices("n_actions", n_actions)
    lam_lo, lam_hi = interval("lam_range", lam_range, low=0.0, high=np.inf)
    if lam_lo <= 0:
        raise ValueError(f"lam_range must be positive, got {lam_range!r}")
    g_lo, g_hi = interval("gamma_range", gamma_range, low=0.0, high=1.0, closed_high=False)
    edge_prob = probability("edge_prob", edge_prob)
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


def correlation_instance(
    seed: int,
    index: int,
    *,
    n_states: Sequence[int] = (2, 3),
    n_agents: Sequence[int] = (2,),
    n_actions: Sequence[int] = (2, 3),
    gamma: float = 0.9,
    init_scale: float = 1.0,
    n_starts: int = 1,
) -> tuple[MarkovGame, list[list[np.ndarray]]]:
    r"""Game ``index`` of a correlation study with seed ``seed``, and its product starts.

    From ``default_rng([seed, index])``: :math:`|\mathcal S|`, ``N`` and each :math:`|\mathcal A^i|`
    uniformly from the choices, a random game (:func:`bnpg.games.random_game`, rewards in [0, 1]),
    then ``n_starts`` product starts (``start[i]`` of shape ``(S, A_i)``) with i.i.d. normal
    parameters of standard deviation ``init_scale``, in that order, so the first start does not
    depend on ``n_starts``.

    Examples
    --------
    >>> game, starts = correlation_instance(0, 5, n_starts=2)
    >>> len(starts), [t.shape for t in starts[0]] == [(game.n_states, k) for k in game.action_sizes]
    (2, True)
    >>> bool(np.array_equal(correlation_instance(0, 5)[1][0][0], starts[0][0]))
    True
    """
    rng = instance_rng(seed, index)
    states = integer_choices("n_states", n_states)
    agents = integer_choices("n_agents", n_agents)
    actions = integer_choices("n_actions", n_actions)
    init_scale = non_negative("init_scale", init_scale)
    n_starts = integer("n_starts", n_starts, minimum=1)
    S = int(rng.choice(states))
    N = int(rng.choice(agents))
    sizes = tuple(int(a) for a in rng.choice(actions, size=N))
    game = random_game(S, sizes, seed=rng, gamma=gamma)
    starts = [[init_scale * rng.standard_normal((S, a)) for a in sizes] for _ in range(n_starts)]
    return game, starts


def check_product_theta(game: MarkovGame, product_theta) -> None:
    """Refuse anything but one finite array of shape ``(S, A_i)`` per agent."""
    N = game.n_agents
    if isinstance(product_theta, (np.ndarray, str, bytes)) or not isinstance(product_theta, Sequence):
        raise TypeError(f"product_theta must be a list of {N} arrays of shape (S, A_i)")
    if len(product_theta) != N:
        raise ValueError(
            f"product_theta must be a list of {N} arrays of shape (S, A_i), got {len(product_theta)}"
        )
    for i, t in enumerate(product_theta):
        shape = (game.n_states, game.action_sizes[i])
        if np.shape(t) != shape:
            raise ValueError(f"product_theta[{i}] must have shape {shape}, got {np.shape(t)}")
        if not np.all(np.isfinite(np.asarray(t, dtype=float))):
            raise ValueError(f"product_theta[{i}] must be finite")


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
    check_game_and_dag(game, dag)
    check_product_theta(game, product_theta)
    template = BNPolicy(game, dag)
    theta = []
    for i, lay in enumerate(template.structure.layouts):
        t = np.asarray(product_theta[i], dtype=float)
        shape = (lay.theta_shape[0],) + (1,) * len(lay.parents) + (lay.theta_shape[-1],)
        theta.append(np.broadcast_to(t.reshape(shape), lay.theta_shape).copy())
    return template.with_theta(theta)


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
    check_game_and_dag(game, dag)
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
