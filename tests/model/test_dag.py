"""DAG: constructors, presets, refusals and topological order (Section 3, Definition 3)."""

from __future__ import annotations

import itertools
import re

import networkx as nx
import numpy as np
import pytest

import bnpg


def assert_topological(dag):
    order = dag.topological_order
    assert sorted(order) == list(range(dag.n_agents))
    position = {agent: k for k, agent in enumerate(order)}
    for i in range(dag.n_agents):
        for p in dag.parents(i):
            assert position[p] < position[i], (p, i, order)


# --------------------------------------------------------------------------------------------
# Constructors
# --------------------------------------------------------------------------------------------


def test_parents_are_sorted_tuples():
    dag = bnpg.DAG([[2], [2, 0], []])
    assert dag.n_agents == 3
    assert dag.parents(0) == (2,)
    assert dag.parents(1) == (0, 2)
    assert dag.parents(2) == ()
    assert dag.parent_lists == ((2,), (0, 2), ())
    assert dag.edges == ((0, 1), (2, 0), (2, 1))
    assert dag.n_edges == 3
    assert dag.children(2) == (0, 1)
    assert dag.children(1) == ()
    assert dag.descendants(2) == (0, 1)
    assert dag.descendants(0) == (1,)
    assert_topological(dag)
    assert dag.topological_order == (2, 0, 1)


def test_accepts_tuples_generators_and_numpy_integers():
    dag = bnpg.DAG(([], (np.int64(0),), iter([0, 1])))
    assert dag.parent_lists == ((), (0,), (0, 1))


def test_from_edges_matches_parents():
    edges = [(2, 0), (0, 1), (2, 1)]
    assert bnpg.DAG.from_edges(3, edges) == bnpg.DAG([[2], [0, 2], []])
    assert bnpg.DAG.from_edges(3, []) == bnpg.DAG.empty(3)
    assert bnpg.DAG.from_edges(4, iter(bnpg.DAG.full(4).edges)) == bnpg.DAG.full(4)


def test_edges_round_trip():
    rng = np.random.default_rng(5)
    for _ in range(20):
        n = int(rng.integers(1, 6))
        dag = bnpg.DAG.random(n, 0.5, rng)
        assert bnpg.DAG.from_edges(n, dag.edges) == dag
        assert bnpg.DAG([list(p) for p in dag.parent_lists]) == dag


def test_equality_and_hash():
    a = bnpg.DAG([[1], []])
    b = bnpg.DAG.from_edges(2, [(1, 0)])
    assert a == b and hash(a) == hash(b)
    assert a != bnpg.DAG([[], [0]])
    assert a != "dag"
    assert len({a, b, bnpg.DAG.chain(2)}) == 2


def test_graph_is_a_frozen_networkx_digraph():
    dag = bnpg.DAG([[2], [0, 2], []])
    g = dag.graph
    assert isinstance(g, nx.DiGraph)
    assert set(g.nodes) == {0, 1, 2}
    assert set(g.edges) == {(2, 0), (0, 1), (2, 1)}
    assert nx.is_directed_acyclic_graph(g)
    with pytest.raises(nx.NetworkXError, match="[Ff]rozen"):
        g.add_edge(1, 2)
    assert dag.parents(2) == ()


def test_input_lists_are_not_mutated():
    parents = [[], [2, 0], []]
    dag = bnpg.DAG(parents)
    assert parents == [[], [2, 0], []]
    parents[1].append(1)
    assert dag.parents(1) == (0, 2)


# --------------------------------------------------------------------------------------------
# Presets
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_presets(n):
    empty, chain, full = bnpg.DAG.empty(n), bnpg.DAG.chain(n), bnpg.DAG.full(n)
    assert empty.n_edges == 0 and all(empty.parents(i) == () for i in range(n))
    assert chain.edges == tuple((i - 1, i) for i in range(1, n))
    assert full.edges == tuple(sorted((j, i) for i in range(n) for j in range(i)))
    assert full.n_edges == n * (n - 1) // 2
    assert full.is_fully_correlated
    assert chain.is_fully_correlated == (n <= 2)
    assert empty.is_fully_correlated == (n == 1)
    for dag in (empty, chain, full):
        assert dag.n_agents == n
        assert_topological(dag)
    assert chain.topological_order == tuple(range(n))


@pytest.mark.parametrize("n", [1, 2, 4])
def test_product_is_the_network_without_edges_and_empty_its_other_name(n):
    product = bnpg.DAG.product(n)
    assert product == bnpg.DAG([[] for _ in range(n)]) == bnpg.DAG.from_edges(n, [])
    assert product == bnpg.DAG.empty(n) and hash(product) == hash(bnpg.DAG.empty(n))
    assert product.edges == () and product.n_agents == n
    # a policy on it is a product policy: the joint distribution factorises
    game = bnpg.MarkovGame(np.ones((1,) + (2,) * n + (1,)), np.zeros((1,) + (2,) * n), [1.0], 0.5)
    policy = bnpg.BNPolicy.random(game, product, seed=0)
    joint = policy.joint()[0]
    marginals = [policy.marginal([i])[0] for i in range(n)]
    outer = marginals[0]
    for m in marginals[1:]:
        outer = np.multiply.outer(outer, m)
    np.testing.assert_allclose(joint, outer, rtol=1e-12, atol=0)


def test_fully_correlated_in_any_numbering():
    # Definition 3 is about the number of edges, not about the agents' numbering.
    for n in range(1, 6):
        back = bnpg.DAG([list(range(i + 1, n)) for i in range(n)])
        assert back.is_fully_correlated
        assert back.topological_order == tuple(reversed(range(n)))
    # One edge fewer is not fully correlated.
    assert not bnpg.DAG([[], [0], [0]]).is_fully_correlated


@pytest.mark.parametrize("n", [1, 2, 4, 6])
def test_random_extremes(n):
    assert bnpg.DAG.random(n, 0.0, seed=3) == bnpg.DAG.empty(n)
    for seed in range(5):
        assert bnpg.DAG.random(n, 1.0, seed=seed).is_fully_correlated


def test_random_is_reproducible_and_accepts_generators():
    assert bnpg.DAG.random(6, 0.5, seed=42) == bnpg.DAG.random(6, 0.5, seed=42)
    a = bnpg.DAG.random(6, 0.5, seed=np.random.default_rng(42))
    b = bnpg.DAG.random(6, 0.5, seed=np.random.default_rng(42))
    assert a == b
    # Different seeds give different graphs at least sometimes.
    assert len({bnpg.DAG.random(6, 0.5, seed=s) for s in range(10)}) > 1


def test_random_numbering_is_not_always_topological():
    found_back_edge = False
    for seed in range(30):
        dag = bnpg.DAG.random(4, 0.6, seed=seed)
        assert_topological(dag)
        assert nx.is_directed_acyclic_graph(dag.graph)
        found_back_edge |= any(p > c for p, c in dag.edges)
    assert found_back_edge


def test_random_edge_frequency():
    # Every unordered pair of agents is joined with probability p. Over 400 graphs on 4 agents
    # (6 pairs each) the count of edges is Binomial(2400, p): for p = 0.3, mean 720 and standard
    # deviation sqrt(2400 * 0.3 * 0.7) = 22.4. We allow 5 standard deviations.
    rng = np.random.default_rng(0)
    total = sum(bnpg.DAG.random(4, 0.3, rng).n_edges for _ in range(400))
    assert abs(total - 720) < 5 * 22.45
    # Each particular pair is joined in either direction with probability p as well (std 9.2 for 400).
    pair_counts = dict.fromkeys(itertools.combinations(range(4), 2), 0)
    rng = np.random.default_rng(1)
    for _ in range(400):
        for p, c in bnpg.DAG.random(4, 0.3, rng).edges:
            pair_counts[tuple(sorted((p, c)))] += 1
    for count in pair_counts.values():
        assert abs(count - 120) < 5 * 9.17


# --------------------------------------------------------------------------------------------
# Refusals
# --------------------------------------------------------------------------------------------


def test_cycles_are_refused():
    with pytest.raises(ValueError, match="acyclic.*cycle 0 -> 1 -> 0|acyclic.*cycle 1 -> 0 -> 1"):
        bnpg.DAG([[1], [0]])
    with pytest.raises(ValueError, match="parents must describe an acyclic graph, found the cycle"):
        bnpg.DAG([[2], [0], [1]])
    with pytest.raises(ValueError, match="cycle"):
        bnpg.DAG.from_edges(4, [(0, 1), (1, 2), (2, 3), (3, 1)])


def test_reported_cycle_is_a_cycle():
    with pytest.raises(ValueError) as info:
        bnpg.DAG([[], [3], [1], [2]])
    agents = [int(k) for k in re.findall(r"\d+", str(info.value).split("cycle")[1])]
    assert agents[0] == agents[-1] and sorted(set(agents)) == [1, 2, 3]
    # parents [[], [3], [1], [2]] are the edges 3 -> 1, 1 -> 2, 2 -> 3: the message must walk them.
    assert set(zip(agents[:-1], agents[1:], strict=True)) == {(3, 1), (1, 2), (2, 3)}


def test_self_loop_is_refused():
    with pytest.raises(ValueError, match=re.escape("parents[1] contains agent 1 itself (a self-loop)")):
        bnpg.DAG([[], [1]])
    with pytest.raises(ValueError, match="self-loop"):
        bnpg.DAG.from_edges(2, [(0, 0)])


def test_out_of_range_is_refused():
    with pytest.raises(ValueError, match=re.escape("parents[0] entry must be an agent in 0..1, got 2")):
        bnpg.DAG([[2], []])
    with pytest.raises(ValueError, match=re.escape("parents[1] entry") + ".*got -1"):
        bnpg.DAG([[], [-1]])
    with pytest.raises(ValueError, match=re.escape("edges[0] child") + ".*got 3"):
        bnpg.DAG.from_edges(3, [(0, 3)])
    with pytest.raises(ValueError, match="got 5"):
        bnpg.DAG.from_edges(3, [(5, 0)])


def test_duplicates_are_refused():
    with pytest.raises(ValueError, match=re.escape("parents[2] lists agent 0 more than once")):
        bnpg.DAG([[], [], [0, 1, 0]])
    with pytest.raises(ValueError, match="more than once"):
        bnpg.DAG.from_edges(3, [(0, 2), (0, 2)])


@pytest.mark.parametrize(
    "parents, match",
    [
        ("ab", "parents must be a sequence"),
        (None, "parents must be a sequence"),
        ({0: []}, "parents must be a sequence"),
        (np.array([[1], [0]]), "parents must be a sequence"),
        ([[], 0], re.escape("parents[1] must be a list")),
        ([[], "0"], re.escape("parents[1] must be a list")),
        ([[], [0.0]], re.escape("parents[1] entry must be an integer")),
        ([[], [True]], re.escape("parents[1] entry must be an integer")),
        ([[], [None]], re.escape("parents[1] entry must be an integer")),
    ],
)
def test_wrong_types_are_refused(parents, match):
    with pytest.raises(TypeError, match=match):
        bnpg.DAG(parents)


def test_empty_parents_refused():
    with pytest.raises(ValueError, match="at least one agent"):
        bnpg.DAG([])


def test_edge_and_preset_argument_errors():
    with pytest.raises(TypeError, match=re.escape("edges[1] must be a (parent, child) pair")):
        bnpg.DAG.from_edges(3, [(0, 1), (0, 1, 2)])
    with pytest.raises(TypeError, match=re.escape("edges[0] must be a (parent, child) pair")):
        bnpg.DAG.from_edges(3, [5])
    for ctor in (bnpg.DAG.product, bnpg.DAG.empty, bnpg.DAG.chain, bnpg.DAG.full):
        with pytest.raises(ValueError, match="n_agents must be >= 1, got 0"):
            ctor(0)
        with pytest.raises(TypeError, match="n_agents must be an integer"):
            ctor(2.0)
        with pytest.raises(TypeError, match="n_agents must be an integer"):
            ctor(True)
    with pytest.raises(ValueError, match="n_agents must be >= 1"):
        bnpg.DAG.from_edges(-1, [])
    with pytest.raises(ValueError, match=re.escape("p must be a probability in [0, 1], got 1.5")):
        bnpg.DAG.random(3, 1.5, seed=0)
    with pytest.raises(ValueError, match="p must be a probability"):
        bnpg.DAG.random(3, -0.1, seed=0)
    with pytest.raises(ValueError, match="p must be finite"):
        bnpg.DAG.random(3, float("nan"), seed=0)
    with pytest.raises(TypeError, match="p must be a real number"):
        bnpg.DAG.random(3, "0.5", seed=0)
    with pytest.raises(TypeError, match="seed must be an int or a numpy.random.Generator"):
        bnpg.DAG.random(3, 0.5, seed=1.5)
    with pytest.raises(TypeError, match="seed must be"):
        bnpg.DAG.random(3, 0.5, seed=None)


def test_from_edges_non_iterable_names_edges():
    with pytest.raises(TypeError, match="edges"):
        bnpg.DAG.from_edges(3, None)


def test_query_errors():
    dag = bnpg.DAG.chain(3)
    with pytest.raises(ValueError, match=re.escape("i must be an agent in 0..2, got 3")):
        dag.parents(3)
    with pytest.raises(ValueError, match="i must be an agent"):
        dag.children(-1)
    with pytest.raises(TypeError, match="i must be an integer"):
        dag.descendants(1.0)
