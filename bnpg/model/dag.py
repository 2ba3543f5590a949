r"""Bayesian networks over agents (paper, Section 3).

A Bayesian network is a directed acyclic graph :math:`\mathcal G = (\mathcal N, \mathcal E)` on the
agents; agent ``i``'s parents are :math:`\mathcal P^i = \{ j : (j, i) \in \mathcal E \}` and agent ``i``
chooses its action after seeing theirs. Special cases:

* the graph without edges (:meth:`DAG.product`, also called :meth:`DAG.empty`) gives the product
  policies of Section 2;
* a chain (:meth:`DAG.chain`) lets each agent see its predecessor;
* the complete DAG (:meth:`DAG.full`) has :math:`N(N-1)/2` edges, the *fully-correlated* networks of
  Definition 3, which can represent every joint policy.

Agents are numbered ``0..N-1``. The numbering need not be topological: an edge ``2 -> 0`` is allowed.
The graph itself is held by :mod:`networkx`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import networkx as nx

from bnpg._validation import agent_index, as_generator, integer, real_scalar

__all__ = [
    "DAG",
]


class DAG:
    """A directed acyclic graph of agents, given by each agent's parents.

    Parameters
    ----------
    parents : sequence of iterables of int
        ``parents[i]`` lists the agents whose actions agent ``i`` observes.

    Raises
    ------
    TypeError
        If ``parents`` is not a sequence of sequences of integers.
    ValueError
        For a self-loop, an out-of-range or repeated parent, or a cycle.

    Examples
    --------
    >>> import bnpg
    >>> dag = bnpg.DAG([[2], [0, 2], []])
    >>> dag.parents(1)
    (0, 2)
    >>> dag.topological_order
    (2, 0, 1)
    """

    def __init__(self, parents: Sequence[Iterable[int]]):
        if isinstance(parents, (str, bytes)) or not isinstance(parents, Sequence):
            raise TypeError(
                f"parents must be a sequence of parent lists, got {type(parents).__name__}"
            )
        n = len(parents)
        if n < 1:
            raise ValueError("parents must describe at least one agent, got an empty sequence")
        clean: list[tuple[int, ...]] = []
        for i, ps in enumerate(parents):
            if isinstance(ps, (str, bytes)) or not isinstance(ps, Iterable):
                raise TypeError(f"parents[{i}] must be a list of agents, got {type(ps).__name__}")
            ps = [agent_index(f"parents[{i}] entry", p, n) for p in ps]
            if i in ps:
                raise ValueError(f"parents[{i}] contains agent {i} itself (a self-loop)")
            if len(set(ps)) != len(ps):
                dup = next(p for p in ps if ps.count(p) > 1)
                raise ValueError(f"parents[{i}] lists agent {dup} more than once")
            clean.append(tuple(sorted(ps)))
        graph = nx.DiGraph()
        graph.add_nodes_from(range(n))
        graph.add_edges_from((p, i) for i, ps in enumerate(clean) for p in ps)
        if not nx.is_directed_acyclic_graph(graph):
            cycle = [int(u) for u, _ in nx.find_cycle(graph)]
            raise ValueError(
                "parents must describe an acyclic graph, found the cycle "
                + " -> ".join(str(k) for k in cycle + cycle[:1])
            )
        self._parents = tuple(clean)
        self._graph = nx.freeze(graph)
        self._order = tuple(int(k) for k in nx.lexicographical_topological_sort(graph))

    # -- constructors ----------------------------------------------------------------------------
    @classmethod
    def from_edges(cls, n_agents: int, edges: Iterable[tuple[int, int]]) -> DAG:
        """Build a DAG on ``n_agents`` agents from ``(parent, child)`` pairs.

        Examples
        --------
        >>> import bnpg
        >>> bnpg.DAG.from_edges(3, [(2, 0), (0, 1)]).parents(0)
        (2,)
        """
        n = integer("n_agents", n_agents, minimum=1)
        if isinstance(edges, (str, bytes)) or not isinstance(edges, Iterable):
            raise TypeError(f"edges must be an iterable of (parent, child) pairs, got {type(edges).__name__}")
        parents: list[list[int]] = [[] for _ in range(n)]
        for k, edge in enumerate(edges):
            try:
                u, v = edge
            except (TypeError, ValueError):
                raise TypeError(f"edges[{k}] must be a (parent, child) pair, got {edge!r}") from None
            u = agent_index(f"edges[{k}] parent", u, n)
            v = agent_index(f"edges[{k}] child", v, n)
            parents[v].append(u)
        return cls(parents)

    @classmethod
    def product(cls, n_agents: int) -> DAG:
        """No edges: the product policies of Section 2, each agent alone (``--dag product``).

        The same network as :meth:`empty`; ``product`` is its name on the command line too.

        Examples
        --------
        >>> import bnpg
        >>> bnpg.DAG.product(3).n_edges, bnpg.DAG.product(3) == bnpg.DAG.empty(3)
        (0, True)
        """
        n = integer("n_agents", n_agents, minimum=1)
        return cls([[] for _ in range(n)])

    @classmethod
    def empty(cls, n_agents: int) -> DAG:
        """No edges: another name of :meth:`product` (``--dag empty`` on the command line).

        Examples
        --------
        >>> import bnpg
        >>> bnpg.DAG.empty(3).n_edges
        0
        """
        return cls.product(n_agents)

    @classmethod
    def chain(cls, n_agents: int) -> DAG:
        """Edges ``i-1 -> i``: each agent sees its predecessor.

        >>> import bnpg
        >>> bnpg.DAG.chain(3).parents(2)
        (1,)
        """
        n = integer("n_agents", n_agents, minimum=1)
        return cls([[i - 1] if i else [] for i in range(n)])

    @classmethod
    def full(cls, n_agents: int) -> DAG:
        """All edges ``j -> i`` for ``j < i``: a fully-correlated network (Definition 3).

        >>> import bnpg
        >>> bnpg.DAG.full(3).parents(2), bnpg.DAG.full(3).is_fully_correlated
        ((0, 1), True)
        """
        n = integer("n_agents", n_agents, minimum=1)
        return cls([list(range(i)) for i in range(n)])

    @classmethod
    def random(cls, n_agents: int, p: float, seed) -> DAG:
        """A random DAG: each pair is joined with probability ``p``, in a random order of agents.

        The agents are first shuffled, then every edge from an earlier to a later agent of the
        shuffled order is kept independently with probability ``p``; so the numbering is in general
        not topological.

        Parameters
        ----------
        n_agents : int
        p : float in [0, 1]
        seed : int or numpy.random.Generator

        Examples
        --------
        >>> import bnpg
        >>> bnpg.DAG.random(4, 1.0, seed=0).is_fully_correlated
        True
        """
        n = integer("n_agents", n_agents, minimum=1)
        p = real_scalar("p", p)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
        rng = as_generator(seed)
        order = rng.permutation(n)
        parents: list[list[int]] = [[] for _ in range(n)]
        for b in range(n):
            for a in range(b):
                if rng.random() < p:
                    parents[int(order[b])].append(int(order[a]))
        return cls(parents)

    # -- queries ---------------------------------------------------------------------------------
    @property
    def n_agents(self) -> int:
        return len(self._parents)

    def parents(self, i: int) -> tuple[int, ...]:
        """:math:`\\mathcal P^i`, sorted ascending."""
        return self._parents[agent_index("i", i, self.n_agents)]

    def children(self, i: int) -> tuple[int, ...]:
        """Agents that observe agent ``i``, sorted ascending."""
        return tuple(sorted(self._graph.successors(agent_index("i", i, self.n_agents))))

    def descendants(self, i: int) -> tuple[int, ...]:
        """Agents reachable from ``i``, sorted ascending."""
        return tuple(sorted(nx.descendants(self._graph, agent_index("i", i, self.n_agents))))

    @property
    def parent_lists(self) -> tuple[tuple[int, ...], ...]:
        return self._parents

    @property
    def edges(self) -> tuple[tuple[int, int], ...]:
        """All ``(parent, child)`` pairs, sorted."""
        return tuple(sorted((p, i) for i, ps in enumerate(self._parents) for p in ps))

    @property
    def n_edges(self) -> int:
        return sum(len(ps) for ps in self._parents)

    @property
    def topological_order(self) -> tuple[int, ...]:
        """Agents ordered so that every parent comes before its children (smallest index first)."""
        return self._order

    @property
    def is_fully_correlated(self) -> bool:
        """Definition 3: the DAG has the maximum number of edges, ``N(N-1)/2``."""
        n = self.n_agents
        return self.n_edges == n * (n - 1) // 2

    @property
    def graph(self) -> nx.DiGraph:
        """A (frozen) networkx view of the graph."""
        return self._graph

    def __eq__(self, other) -> bool:
        if not isinstance(other, DAG):
            return NotImplemented
        return self._parents == other._parents

    def __hash__(self) -> int:
        return hash(self._parents)

    def __repr__(self) -> str:
        return f"DAG({[list(ps) for ps in self._parents]})"

