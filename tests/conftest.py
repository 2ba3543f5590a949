"""Fixtures and constructors shared by the bnpg test suite.

Random games, parameters and policies are built here directly with numpy and bnpg's data classes;
the independent reference implementations that tests compare bnpg against live in
``tests/oracles.py``.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from oracles import theta_shapes

import bnpg

#: Whether numba is installed (the compiled backend runs only then).
HAVE_NUMBA = importlib.util.find_spec("numba") is not None

#: Backends of the exact gradient; "numba" runs only where numba is installed.
BACKENDS = ("numpy", "numba") if HAVE_NUMBA else ("numpy",)

# --------------------------------------------------------------------------------------------
# Random games and policies
# --------------------------------------------------------------------------------------------


def random_arrays(rng, n_states, action_sizes, *, zero_fraction=0.0):
    """``(P, r, mu)`` of a random game: Dirichlet rows, uniform rewards in [-1, 1], full-support mu."""
    shape = (n_states, *action_sizes)
    P = rng.dirichlet(np.ones(n_states), size=shape)
    if zero_fraction:
        mask = rng.random(P.shape) < zero_fraction
        mask[..., 0] = False  # keep every row non-empty
        P = np.where(mask, 0.0, P)
        P = P / P.sum(axis=-1, keepdims=True)
    r = rng.uniform(-1.0, 1.0, size=shape)
    mu = rng.dirichlet(np.ones(n_states))
    return P, r, mu


def random_game(seed, n_states=3, action_sizes=(2, 2), gamma=0.9, **kwargs):
    """A :class:`bnpg.MarkovGame` with random arrays from ``np.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    P, r, mu = random_arrays(rng, n_states, action_sizes, **kwargs)
    return bnpg.MarkovGame(P, r, mu, gamma)


def random_theta(seed, game, dag, scale=1.0):
    rng = np.random.default_rng(seed)
    return [scale * rng.standard_normal(shape) for shape in theta_shapes(game, dag)]


def random_policy(seed, game, dag, scale=1.0):
    return bnpg.BNPolicy(game, dag, random_theta(seed, game, dag, scale))


def reversed_full_dag(n):
    """The complete DAG with every edge from a higher to a lower index (``j -> i`` for ``j > i``)."""
    return bnpg.DAG([list(range(i + 1, n)) for i in range(n)])


# --------------------------------------------------------------------------------------------
# Comparison helpers
# --------------------------------------------------------------------------------------------


def relative_error(a, b):
    a, b = np.ravel(a), np.ravel(b)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def snapshot(*arrays):
    """Copies of arrays (to compare after a call: no function may mutate its inputs)."""
    return [np.array(a, copy=True) for a in arrays]


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture(params=["numpy", "numba"])
def backend(request):
    """Each gradient backend in turn (the compiled one is skipped without numba)."""
    if request.param == "numba" and not HAVE_NUMBA:
        pytest.skip("numba is not installed")
    return request.param


@pytest.fixture
def matching_game():
    """One state, two agents with two actions each, reward 1 when the actions match; gamma = 0.5."""
    P = np.ones((1, 2, 2, 1))
    r = np.eye(2)[None]
    return bnpg.MarkovGame(P, r, [1.0], 0.5)


@pytest.fixture
def game_232():
    """A random 3-state game with mixed action sizes (2, 3, 2)."""
    return random_game(11, n_states=3, action_sizes=(2, 3, 2), gamma=0.8)


@pytest.fixture
def dag_back():
    """Three agents with edges 2 -> 0, 2 -> 1 and 0 -> 1: agent numbering is not topological."""
    return bnpg.DAG([[2], [0, 2], []])
