r"""Tabular softmax Bayesian-network policies (paper, Section 3, Equation 1).

Agent ``i`` holds parameters :math:`\theta^i_{s, a^{\mathcal P^i}, a^i}` and acts by the local softmax
policy

.. math::

    \pi^i_{\theta^i}(a^i \mid s, a^{\mathcal P^i}) \propto \exp(\theta^i_{s, a^{\mathcal P^i}, a^i})
    \qquad (1)

The joint policy is the product of the local conditionals along the DAG,
:math:`\pi_\theta(a \mid s) = \prod_i \pi^i_{\theta^i}(a^i \mid s, a^{\mathcal P^i})`; for a subset
:math:`\mathcal M` of agents the conditional policy is
:math:`\pi^{\mathcal M}(a^{\mathcal M} \mid s, a^{-\mathcal M}) = \pi(a \mid s) / \sum_{\bar a^{\mathcal M}}
\pi(\bar a^{\mathcal M}, a^{-\mathcal M} \mid s)`.

``theta[i]`` has shape ``(S, *[A_j for j in parents(i)], A_i)``, parents sorted ascending. The layout
of every agent inside the joint array (which axes it reads and how to broadcast it) depends only on
the game's shape and the DAG; it is computed once in :class:`Structure` and shared by every policy
derived from the same one.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

import numpy as np

from bnpg._validation import (
    agent_index,
    as_generator,
    instance_of,
    integer,
    non_negative,
    read_only,
    real_array,
)
from bnpg.model.dag import DAG
from bnpg.model.game import MarkovGame

__all__ = [
    "AgentLayout",
    "BNPolicy",
    "Structure",
    "check_game_and_dag",
    "check_policy",
    "deterministic_joint",
    "log_softmax",
    "replace_local",
    "softmax",
]


def check_game_and_dag(game, dag) -> None:
    """Refuse anything but a :class:`~bnpg.MarkovGame` and a :class:`~bnpg.DAG` over the same agents.

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 1)), [[0.0, 1.0]], [1.0], 0.5)
    >>> try:
    ...     check_game_and_dag(game, bnpg.DAG.empty(2))
    ... except ValueError as exc:
    ...     print(exc)
    dag has 2 agents but the game has 1
    """
    instance_of("game", game, MarkovGame)
    instance_of("dag", dag, DAG)
    if dag.n_agents != game.n_agents:
        raise ValueError(f"dag has {dag.n_agents} agents but the game has {game.n_agents}")


def check_policy(game, policy) -> None:
    """Refuse anything but a :class:`BNPolicy` built for ``game`` (or an equal game).

    >>> import numpy as np, bnpg
    >>> one = bnpg.MarkovGame(np.ones((1, 2, 1)), [[0.0, 1.0]], [1.0], 0.5)
    >>> other = bnpg.MarkovGame(np.ones((1, 2, 1)), [[0.0, 2.0]], [1.0], 0.5)
    >>> try:
    ...     check_policy(other, bnpg.BNPolicy(one, bnpg.DAG.empty(1)))
    ... except ValueError as exc:
    ...     print(exc)  # doctest: +ELLIPSIS
    policy was built for a different game: ... (same shapes, different arrays)
    """
    instance_of("game", game, MarkovGame)
    instance_of("policy", policy, BNPolicy)
    if policy.game is not game and policy.game != game:
        raise ValueError(
            "policy was built for a different game: policy.game has "
            f"{policy.game.n_states} states and action sizes {policy.game.action_sizes}, "
            f"game has {game.n_states} states and action sizes {game.action_sizes}"
            + ("" if policy.game.P.shape != game.P.shape else " (same shapes, different arrays)")
        )


@dataclass(frozen=True)
class AgentLayout:
    """Where agent ``i``'s parameters sit inside the joint action array."""

    agent: int
    parents: tuple[int, ...]
    family: tuple[int, ...]  # sorted(parents + (agent,)): the axes theta[i] spans in the joint
    theta_shape: tuple[int, ...]  # (S, *parent sizes, A_i)
    to_family: tuple[int, ...]  # permutation of theta axes into (s, *family)
    to_theta: tuple[int, ...]  # inverse permutation: (s, *family) -> theta axes
    broadcast_shape: tuple[int, ...]  # (S, A_0 or 1, ..., A_{N-1} or 1)
    other_axes: tuple[int, ...]  # joint axes (counting s as 0) outside the family
    n_parent_actions: int  # |A^{P^i}|


class Structure:
    """Per-(game shape, DAG) layout of every agent's parameters; computed once, read-only."""

    def __init__(self, n_states: int, action_sizes: tuple[int, ...], dag: DAG):
        n = len(action_sizes)
        self.n_states = n_states
        self.action_sizes = action_sizes
        self.dag = dag
        layouts = []
        for i in range(n):
            ps = dag.parents(i)
            family = tuple(sorted(ps + (i,)))
            theta_shape = (n_states, *[action_sizes[j] for j in ps], action_sizes[i])
            pos = {j: 1 + k for k, j in enumerate(ps)}
            pos[i] = len(ps) + 1
            to_family = (0, *[pos[j] for j in family])
            to_theta = tuple(int(k) for k in np.argsort(to_family))
            broadcast = (n_states, *[action_sizes[j] if j in family else 1 for j in range(n)])
            others = tuple(1 + j for j in range(n) if j not in family)
            layouts.append(
                AgentLayout(
                    i, ps, family, theta_shape, to_family, to_theta, broadcast, others,
                    prod(action_sizes[j] for j in ps),
                )
            )
        self.layouts: tuple[AgentLayout, ...] = tuple(layouts)
        self.sizes = tuple(prod(lay.theta_shape) for lay in layouts)
        self.offsets = tuple(int(k) for k in np.cumsum((0,) + self.sizes))

    def to_joint_axes(self, i: int, arr: np.ndarray) -> np.ndarray:
        """Broadcast an array laid out like ``theta[i]`` to the joint shape (size-1 elsewhere)."""
        lay = self.layouts[i]
        return arr.transpose(lay.to_family).reshape(lay.broadcast_shape)

    def to_theta_axes(self, i: int, joint_arr: np.ndarray) -> np.ndarray:
        """Sum a joint-shaped array over the agents outside agent ``i``'s family, in theta layout."""
        lay = self.layouts[i]
        summed = joint_arr.sum(axis=lay.other_axes) if lay.other_axes else joint_arr
        return summed.transpose(lay.to_theta)


def softmax(theta: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, stable for entries of any finite size.

    >>> softmax(np.array([0.0, np.log(3.0)]))
    array([0.25, 0.75])
    >>> softmax(np.array([1e4, 0.0]))
    array([1., 0.])"""
    z = theta - theta.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(theta: np.ndarray) -> np.ndarray:
    """Log-softmax over the last axis, finite for entries of any finite size.

    >>> log_softmax(np.array([1e4, 0.0]))
    array([     0., -10000.])"""
    z = theta - theta.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


class BNPolicy:
    r"""A BN joint policy with tabular softmax local policies (Equation 1).

    Parameters
    ----------
    game : MarkovGame
    dag : DAG
        Over ``game.n_agents`` agents.
    theta : sequence of array_like, optional
        ``theta[i]`` of shape ``(S, *[A_j for j in dag.parents(i)], A_i)``. ``None`` (the default)
        means all zeros, i.e. every local policy uniform. Arrays are copied and made read-only.

    Examples
    --------
    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.9)
    >>> policy = bnpg.BNPolicy(game, bnpg.DAG.chain(2))
    >>> [t.shape for t in policy.theta]
    [(1, 2), (1, 2, 2)]
    >>> policy.joint()[0]
    array([[0.25, 0.25],
           [0.25, 0.25]])
    """

    def __init__(self, game: MarkovGame, dag: DAG, theta=None, *, _structure: Structure | None = None):
        check_game_and_dag(game, dag)
        structure = _structure or Structure(game.n_states, game.action_sizes, dag)
        self._game = game
        self._dag = dag
        self._structure = structure
        self._theta = self._check_theta(theta)
        self._local: list[np.ndarray | None] = [None] * game.n_agents
        self._joint: np.ndarray | None = None

    def _check_theta(self, theta) -> tuple[np.ndarray, ...]:
        layouts = self._structure.layouts
        if theta is None:
            return tuple(read_only(np.zeros(lay.theta_shape)) for lay in layouts)
        if isinstance(theta, np.ndarray) and theta.dtype != object:
            raise TypeError("theta must be a list with one array per agent, got a single array")
        try:
            theta = list(theta)
        except TypeError:
            raise TypeError(
                f"theta must be a list with one array per agent, got {type(theta).__name__}"
            ) from None
        if len(theta) != len(layouts):
            raise ValueError(
                f"theta must hold one array per agent ({len(layouts)}), got {len(theta)}"
            )
        out = []
        for lay, t in zip(layouts, theta, strict=True):
            arr = real_array(f"theta[{lay.agent}]", t)
            if arr.shape != lay.theta_shape:
                raise ValueError(
                    f"theta[{lay.agent}] must have shape {lay.theta_shape} "
                    f"(S, parents {lay.parents} sizes, A_{lay.agent}), got {arr.shape}"
                )
            out.append(read_only(arr))
        return tuple(out)

    # -- construction of related policies --------------------------------------------------------
    def with_theta(self, theta) -> BNPolicy:
        """A policy on the same game and DAG with new parameters (validated)."""
        return BNPolicy(self._game, self._dag, theta, _structure=self._structure)

    def with_flat(self, vector) -> BNPolicy:
        """A policy on the same game and DAG from a flat parameter vector (see :meth:`flat`)."""
        vec = real_array("vector", vector)
        if vec.shape != (self.n_params,):
            raise ValueError(f"vector must have shape ({self.n_params},), got {vec.shape}")
        return self.with_theta(self.unflatten(vec))

    def unflatten(self, vector: np.ndarray) -> list[np.ndarray]:
        """Split a flat vector into arrays shaped like ``theta``."""
        st = self._structure
        return [
            np.asarray(vector[st.offsets[i] : st.offsets[i + 1]]).reshape(lay.theta_shape)
            for i, lay in enumerate(st.layouts)
        ]

    @classmethod
    def random(cls, game: MarkovGame, dag: DAG, seed, scale: float = 1.0) -> BNPolicy:
        """Parameters drawn i.i.d. from ``Normal(0, scale**2)``.

        >>> import numpy as np, bnpg
        >>> game = bnpg.MarkovGame(np.ones((1, 2, 1)), [[0.0, 1.0]], [1.0], 0.5)
        >>> bnpg.BNPolicy.random(game, bnpg.DAG.empty(1), seed=0).theta[0].shape
        (1, 2)
        """
        base = cls(game, dag)
        scale = non_negative("scale", scale)
        rng = as_generator(seed)
        return base.with_theta(
            [scale * rng.standard_normal(lay.theta_shape) for lay in base.structure.layouts]
        )

    # -- accessors -------------------------------------------------------------------------------
    @property
    def game(self) -> MarkovGame:
        return self._game

    @property
    def dag(self) -> DAG:
        return self._dag

    @property
    def structure(self) -> Structure:
        return self._structure

    @property
    def theta(self) -> tuple[np.ndarray, ...]:
        """The parameters, one read-only array per agent."""
        return self._theta

    @property
    def n_params(self) -> int:
        return self._structure.offsets[-1]

    def flat(self) -> np.ndarray:
        """All parameters as one vector (agent 0 first, each ``theta[i]`` in C order)."""
        return np.concatenate([t.ravel() for t in self._theta])

    def local(self, i: int) -> np.ndarray:
        r""":math:`\pi^i(a^i \mid s, a^{\mathcal P^i})`, shaped like ``theta[i]`` (read-only)."""
        i = agent_index("i", i, self._game.n_agents)
        if self._local[i] is None:
            self._local[i] = read_only(softmax(self._theta[i]))
        return self._local[i]

    def log_local(self, i: int) -> np.ndarray:
        r""":math:`\log \pi^i(a^i \mid s, a^{\mathcal P^i})`, finite even when the probability underflows."""
        i = agent_index("i", i, self._game.n_agents)
        return log_softmax(self._theta[i])

    def joint(self) -> np.ndarray:
        r""":math:`\pi(a \mid s) = \prod_i \pi^i(a^i \mid s, a^{\mathcal P^i})`, shape ``(S, A_0, ..., A_{N-1})`` (read-only)."""
        if self._joint is None:
            st = self._structure
            joint = st.to_joint_axes(0, self.local(0))
            for i in range(1, self._game.n_agents):
                joint = joint * st.to_joint_axes(i, self.local(i))
            self._joint = read_only(np.ascontiguousarray(joint))
        return self._joint

    def marginal(self, agents) -> np.ndarray:
        r""":math:`\pi(a^{\mathcal M} \mid s)`, shape ``(S, *[A_j for j in sorted(agents)])``.

        >>> import numpy as np, bnpg
        >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.9)
        >>> bnpg.BNPolicy(game, bnpg.DAG.empty(2)).marginal([1])
        array([[0.5, 0.5]])
        """
        members = self.agent_set("agents", agents)
        others = tuple(1 + j for j in range(self._game.n_agents) if j not in members)
        return self.joint().sum(axis=others) if others else self.joint().copy()

    def conditional(self, agents) -> np.ndarray:
        r""":math:`\pi^{\mathcal M}(a^{\mathcal M} \mid s, a^{-\mathcal M})` (Section 3), in the joint shape.

        Entries where :math:`\pi(a^{-\mathcal M} \mid s) = 0` are undefined and returned as ``nan``.
        """
        members = self.agent_set("agents", agents)
        axes = tuple(1 + j for j in members)
        joint = self.joint()
        denom = joint.sum(axis=axes, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(denom > 0, joint / np.where(denom > 0, denom, 1.0), np.nan)

    def sample(self, s: int, rng: np.random.Generator) -> tuple[int, ...]:
        """Draw a joint action at state ``s``, agent by agent in topological order.

        >>> import numpy as np, bnpg
        >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.9)
        >>> policy = bnpg.BNPolicy(game, bnpg.DAG.chain(2))
        >>> len(policy.sample(0, np.random.default_rng(0)))
        2
        """
        s = integer("s", s)
        if not 0 <= s < self._game.n_states:
            raise ValueError(f"s must be a state in 0..{self._game.n_states - 1}, got {s}")
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        action = [0] * self._game.n_agents
        for i in self._dag.topological_order:
            probs = self.local(i)[(s, *[action[j] for j in self._dag.parents(i)])]
            action[i] = int(rng.choice(len(probs), p=probs))
        return tuple(action)

    def others_weight(self, i: int) -> np.ndarray:
        r""":math:`\rho_{-i}(a \mid s) = \prod_{j \ne i} \pi^j(a^j \mid s, a^{\mathcal P^j})`: the joint
        policy without agent ``i``'s factor, in the joint shape ``(S, A_0, ..., A_{N-1})``.

        >>> import numpy as np, bnpg
        >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.5)
        >>> bnpg.BNPolicy(game, bnpg.DAG.chain(2)).others_weight(1)
        array([[[0.5, 0.5],
                [0.5, 0.5]]])
        """
        i = agent_index("i", i, self.game.n_agents)
        rho = np.ones((self.game.n_states,) + self.game.action_sizes)
        for j in range(self.game.n_agents):
            if j != i:
                rho = rho * self.structure.to_joint_axes(j, self.local(j))
        return rho

    def agent_set(self, name: str, agents) -> tuple[int, ...]:
        try:
            agents = list(agents)
        except TypeError:
            raise TypeError(f"{name} must be an iterable of agents, got {type(agents).__name__}") from None
        members = tuple(sorted({agent_index(f"{name} entry", j, self._game.n_agents) for j in agents}))
        if len(members) != len(agents):
            raise ValueError(f"{name} lists an agent more than once: {agents}")
        return members

    def __repr__(self) -> str:
        return f"BNPolicy({self._game!r}, {self._dag!r})"


def deterministic_joint(game: MarkovGame, flat_actions) -> np.ndarray:
    """The joint policy array of a deterministic joint policy given as a flat action per state.

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.5)
    >>> deterministic_joint(game, [3])   # flat index 3 is the joint action (1, 1)
    array([[[0., 0.],
            [0., 1.]]])
    """
    S = game.n_states
    pi = np.zeros((S, game.n_joint_actions))
    pi[np.arange(S), np.asarray(flat_actions)] = 1.0
    return pi.reshape((S,) + game.action_sizes)


def replace_local(policy: BNPolicy, i: int, local) -> np.ndarray:
    """The joint policy array when agent ``i``'s local conditional is replaced by ``local``.

    ``local`` is laid out like ``theta[i]`` and may be deterministic (e.g. a best response).

    >>> import numpy as np, bnpg
    >>> game = bnpg.MarkovGame(np.ones((1, 2, 2, 1)), np.eye(2)[None], [1.0], 0.5)
    >>> policy = bnpg.BNPolicy(game, bnpg.DAG.chain(2))
    >>> replace_local(policy, 1, np.eye(2)[None])   # agent 1 copies agent 0
    array([[[0.5, 0. ],
            [0. , 0.5]]])
    """
    i = agent_index("i", i, policy.game.n_agents)
    return policy.others_weight(i) * policy.structure.to_joint_axes(i, np.asarray(local, dtype=float))
