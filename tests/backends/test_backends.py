"""The compiled backend (bnpg.backends.numba_kernels, numba) against the numpy reference path.

The numpy path is itself checked against finite differences in test_objective.py; here the compiled
kernel must reproduce it to 1e-12 (relative to the value scale) at ordinary and extreme parameters,
and whole trajectories of the dynamics must agree.
"""

from __future__ import annotations

import numpy as np
import pytest

import bnpg
from bnpg.backends import numba_kernels as _fast
from bnpg.backends import plan_for
from bnpg.experiments.studies.correlation import correlation_compare
from tests.conftest import random_game, random_policy, reversed_full_dag, snapshot

needs_numba = pytest.mark.skipif(not _fast.HAVE_NUMBA, reason="numba is not installed")

CASES = [
    (0, 3, (2, 2), 0.9, bnpg.DAG.chain(2), 0.0, 1.0),
    (1, 3, (2, 3, 2), 0.8, bnpg.DAG([[2], [0, 2], []]), 0.1, 2.0),
    (2, 2, (2, 3, 2), 0.99, reversed_full_dag(3), 0.05, 1.0),
    (3, 4, (1, 3), 0.0, bnpg.DAG([[1], []]), 1.0, 1.0),
    (4, 1, (3,), 0.5, bnpg.DAG.empty(1), 0.2, 3.0),
    (5, 2, (2, 2, 2), 0.7, bnpg.DAG([[2], [0, 2], []]), 0.3, 1e4),  # entries of size 1e4
    (6, 3, (3, 5), 0.9, bnpg.DAG([[1], []]), 0.1, 1.0),  # 15 joint actions: 3 blocks of 4 and 3 more
    (7, 2, (4, 2, 3), 0.6, bnpg.DAG([[], [0, 2], [0]]), 0.2, 5.0),  # 4 actions: the general softmax
]


def flat(grads):
    return np.concatenate([g.ravel() for g in grads])


@needs_numba
def test_auto_compiles_only_for_work_that_repays_it(monkeypatch):
    from bnpg.backends import AUTO_COMPILE_SECONDS, numpy_seconds, resolve_backend

    monkeypatch.delenv("BNPG_BACKEND", raising=False)
    game = random_game(0, n_states=3, action_sizes=(2, 2))
    # 150 microseconds plus 4 nanoseconds per entry of P (36 here), per evaluation
    assert numpy_seconds(game, 1000) == pytest.approx(1000 * (1.5e-4 + 4e-9 * 36), rel=1e-12)
    small = int(AUTO_COMPILE_SECONDS / numpy_seconds(game, 1))
    assert resolve_backend("auto", game, small) == "numpy"
    assert resolve_backend("auto", game, small + 1) == "numba"
    assert resolve_backend("numba", game, 1) == "numba" and resolve_backend("numpy", game, 10**9) == "numpy"
    start = bnpg.BNPolicy.random(game, bnpg.DAG.chain(2), seed=3)
    # the two backends agree to round-off but not bit for bit: each run shows which one it used
    for steps, backend in ((10, "numpy"), (small + 1, "numba")):
        run = bnpg.gradient_ascent(game, start, lam=0.1, eta=0.1, steps=steps, record_every=steps)
        same = bnpg.gradient_ascent(game, start, lam=0.1, eta=0.1, steps=steps, record_every=steps,
                                    backend=backend)
        other = bnpg.gradient_ascent(game, start, lam=0.1, eta=0.1, steps=steps, record_every=steps,
                                     backend={"numpy": "numba", "numba": "numpy"}[backend])
        assert np.array_equal(run.policy.flat(), same.policy.flat())
        assert not np.array_equal(run.policy.flat(), other.policy.flat())


@needs_numba
@pytest.mark.parametrize("seed, S, sizes, gamma, dag, lam, scale", CASES)
def test_gradient_backends_agree(seed, S, sizes, gamma, dag, lam, scale):
    game = random_game(seed, n_states=S, action_sizes=sizes, gamma=gamma)
    policy = random_policy(seed + 7, game, dag, scale=scale)
    ref = flat(bnpg.gradient(game, policy, lam, backend="numpy"))
    fast = flat(bnpg.gradient(game, policy, lam, backend="numba"))
    auto = flat(bnpg.gradient(game, policy, lam))
    assert np.all(np.isfinite(fast))
    value_scale = (1.0 + np.abs(game.r).max()) / (1.0 - gamma) + lam
    np.testing.assert_allclose(fast, ref, rtol=0, atol=1e-12 * value_scale)
    np.testing.assert_array_equal(auto, ref)  # "auto": one gradient of a small game does not repay compiling
    value, barrier, grad = _fast.value_and_gradient(plan_for(game, policy.structure), policy.flat(), lam)
    assert abs(value - bnpg.value(game, policy)) <= 1e-12 * value_scale
    assert abs(barrier - bnpg.log_barrier(policy)) <= 1e-12 * (1 + abs(barrier))
    np.testing.assert_array_equal(grad, fast)


@needs_numba
@pytest.mark.parametrize("seed, S, sizes, gamma, dag, lam, scale", CASES[:5])
def test_trajectories_agree(seed, S, sizes, gamma, dag, lam, scale):
    game = random_game(seed, n_states=S, action_sizes=sizes, gamma=gamma)
    policy = random_policy(seed + 7, game, dag, scale=scale)
    kwargs = dict(lam=lam, eta=0.05, steps=30, record_every=7, metrics=bnpg.dynamics.METRICS)
    a = bnpg.gradient_ascent(game, policy, backend="numpy", **kwargs)
    b = bnpg.gradient_ascent(game, policy, backend="numba", **kwargs)
    assert a.steps.tolist() == b.steps.tolist() == [0, 7, 14, 21, 28, 30]
    value_scale = (1.0 + np.abs(game.r).max()) / (1.0 - gamma) + lam
    for m in bnpg.dynamics.METRICS:
        np.testing.assert_allclose(b.metrics[m], a.metrics[m], rtol=0, atol=1e-10 * value_scale)
    np.testing.assert_allclose(b.policy.flat(), a.policy.flat(), rtol=0, atol=1e-10 * value_scale)


@needs_numba
def test_plan_is_built_once_per_game():
    game = random_game(0, n_states=3, action_sizes=(2, 3, 2))
    policy = random_policy(1, game, bnpg.DAG([[2], [0, 2], []]))
    plan = plan_for(game, policy.structure)
    assert plan_for(game, policy.structure) is plan
    # Derived policies share the structure, hence the plan.
    assert plan_for(game, policy.with_flat(policy.flat() + 1.0).structure) is plan
    # An equal game in another object gets a fresh plan with the same numbers.
    copy = bnpg.MarkovGame(game.P.copy(), game.r.copy(), game.mu.copy(), game.gamma)
    np.testing.assert_array_equal(flat(bnpg.gradient(copy, policy, 0.1)), flat(bnpg.gradient(game, policy, 0.1)))


@needs_numba
def test_compiled_path_does_not_mutate():
    game = random_game(2, n_states=2, action_sizes=(2, 2))
    policy = random_policy(3, game, bnpg.DAG.chain(2))
    theta = snapshot(*policy.theta)
    x = policy.flat()
    x_copy = x.copy()
    _fast.value_and_gradient(plan_for(game, policy.structure), x, 0.1)
    _fast.ascend(plan_for(game, policy.structure), x, 3, 0.1, 0.1)
    np.testing.assert_array_equal(x, x_copy)
    bnpg.gradient_ascent(game, policy, lam=0.1, eta=0.1, steps=3, backend="numba")
    for a, b in zip(policy.theta, theta, strict=True):
        np.testing.assert_array_equal(a, b)
    for arr in (game.P, game.r, game.mu):
        assert not arr.flags.writeable


@needs_numba
def test_kernel_exponential_matches_numpy():
    rng = np.random.default_rng(0)
    x = np.concatenate([-rng.random(20_000) * 708.0, -rng.random(2_000) * 1e-6, [0.0, -0.5 * np.log(2.0)]])
    ref = np.exp(x)
    got = _fast.exp_nonpositive(x)
    np.testing.assert_array_less(np.abs(got - ref), 5e-16 * ref)
    assert _fast.exp_nonpositive(np.zeros(3)).tolist() == [1.0, 1.0, 1.0]
    # subnormal results (below e^-708) to within one subnormal step, zero where np.exp underflows
    tail = np.concatenate([-708.0 - rng.random(5_000) * 40.0, [-745.0, -745.2, -746.0, -800.0, -np.inf]])
    np.testing.assert_allclose(_fast.exp_nonpositive(tail), np.exp(tail), rtol=5e-16, atol=5e-324)
    assert _fast.exp_nonpositive(np.array([-746.0, -1e300, -np.inf])).tolist() == [0.0, 0.0, 0.0]


@needs_numba
def test_plan_orders_agents_topologically():
    game = random_game(0, n_states=2, action_sizes=(2, 3, 2))
    plan = plan_for(game, random_policy(0, game, bnpg.DAG([[2], [0, 2], []])).structure)
    assert plan.order.tolist() == [2, 0, 1]
    assert plan.level.tolist() == [1, 2, 4, 12]
    # x runs over (a^2, a^0, a^1); perm maps it to the agent-order flat index a = (a^0, a^1, a^2)
    x = np.indices((2, 2, 3)).reshape(3, -1)
    np.testing.assert_array_equal(plan.perm, np.ravel_multi_index((x[1], x[2], x[0]), (2, 3, 2)))
    # agent 1's parents (0, 2) read from the level-2 prefix (a^2, a^0): b = a^0 * 2 + a^2
    np.testing.assert_array_equal(plan.pidx[plan.pstart[2] : plan.pstart[3]], [0, 2, 1, 3])


@pytest.mark.parametrize("bad", ["torch", "NUMPY", ""])
def test_unknown_backend(bad):
    game = random_game(0, n_states=2, action_sizes=(2,))
    policy = random_policy(0, game, bnpg.DAG.empty(1))
    with pytest.raises(ValueError, match=f"backend must be 'auto', 'numpy' or 'numba', got '{bad}'"):
        bnpg.gradient(game, policy, backend=bad)
    with pytest.raises(ValueError, match="backend must be"):
        bnpg.gradient_ascent(game, policy, lam=0.0, eta=0.1, steps=1, backend=bad)


def test_numba_requested_without_numba(monkeypatch):
    monkeypatch.setattr(_fast, "HAVE_NUMBA", False)
    game = random_game(0, n_states=2, action_sizes=(2,))
    policy = random_policy(0, game, bnpg.DAG.empty(1))
    with pytest.raises(ValueError, match="backend='numba' needs numba"):
        bnpg.gradient(game, policy, backend="numba")
    # "auto" falls back to the numpy path.
    np.testing.assert_array_equal(
        flat(bnpg.gradient(game, policy)), flat(bnpg.gradient(game, policy, backend="numpy"))
    )


WITHOUT_NUMBA = """
import sys
sys.modules["numba"] = None  # any import of numba now raises ImportError
import json
import numpy as np
import bnpg
from bnpg import _fast, games
from bnpg.experiments.studies.correlation import correlation_compare
from bnpg.backends import resolve_backend
game = games.climbing_game()
policy = bnpg.BNPolicy.random(game, bnpg.DAG.chain(2), seed=1)
run = bnpg.gradient_ascent(game, policy, lam=0.01, eta=0.05, steps=40, record_every=20)
compare = correlation_compare(game, [np.zeros((1, 3)), np.zeros((1, 3))], max_steps=30)
print(json.dumps({
    "have_numba": _fast.HAVE_NUMBA,
    "auto": resolve_backend("auto"),
    "gradient": np.concatenate([g.ravel() for g in bnpg.gradient(game, policy, 0.01)]).tolist(),
    "theta": run.policy.flat().tolist(),
    "values": [compare[f"{d}_value"] for d in ("product", "chain", "full")],
}))
"""


@needs_numba
def test_package_works_without_numba():
    """In a process where numba cannot be imported, the numpy path gives the compiled path's numbers."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    out = subprocess.run(
        [sys.executable, "-c", WITHOUT_NUMBA], capture_output=True, text=True, check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    got = json.loads(out.stdout)
    assert got["have_numba"] is False and got["auto"] == "numpy"
    game = bnpg.games.climbing_game()
    policy = bnpg.BNPolicy.random(game, bnpg.DAG.chain(2), seed=1)
    run = bnpg.gradient_ascent(game, policy, lam=0.01, eta=0.05, steps=40, record_every=20)
    compare = correlation_compare(game, [np.zeros((1, 3)), np.zeros((1, 3))], max_steps=30)
    scale = np.abs(game.r).max() / (1 - game.gamma)
    np.testing.assert_allclose(got["gradient"], flat(bnpg.gradient(game, policy, 0.01)), rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(got["theta"], run.policy.flat(), rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(got["values"], [compare[f"{d}_value"] for d in ("product", "chain", "full")],
                               rtol=0, atol=1e-10 * scale)


# -- the one place where the backend is chosen ------------------------------------------------------


def test_the_environment_sets_what_auto_means(monkeypatch):
    from bnpg.backends import (
        AUTO_COMPILE_SECONDS,
        configured_backend,
        numpy_seconds,
        resolve_backend,
    )
    from bnpg.exact.objective import FlatObjective

    game = random_game(0, n_states=3, action_sizes=(2, 2))
    policy = random_policy(1, game, bnpg.DAG.chain(2))
    large = 10 * int(AUTO_COMPILE_SECONDS / numpy_seconds(game, 1))  # "auto" alone would compile for this
    monkeypatch.setenv("BNPG_BACKEND", "numpy")
    assert configured_backend() == "numpy"
    assert resolve_backend("auto", game, large) == "numpy" and resolve_backend() == "numpy"
    assert FlatObjective(game, policy, 0.1, evaluations=large).backend == "numpy"
    if _fast.HAVE_NUMBA:  # an explicit request still wins over the environment
        assert resolve_backend("numba", game, 1) == "numba"
    monkeypatch.setenv("BNPG_BACKEND", "")
    assert configured_backend() == "auto"
    monkeypatch.delenv("BNPG_BACKEND")
    assert configured_backend() == "auto"


@needs_numba
def test_bnpg_backend_numpy_forces_the_numpy_path_everywhere(monkeypatch):
    game = random_game(0, n_states=3, action_sizes=(2, 2))
    start = random_policy(3, game, bnpg.DAG.chain(2))
    steps = 10 * int(0.5 / (1.5e-4 + 4e-9 * game.P.size))  # Eq. 2 by hand: "auto" compiles for this
    kwargs = dict(lam=0.1, eta=0.1, steps=steps, record_every=steps)
    numpy_run = bnpg.gradient_ascent(game, start, backend="numpy", **kwargs)
    numba_run = bnpg.gradient_ascent(game, start, backend="numba", **kwargs)
    assert not np.array_equal(numpy_run.policy.flat(), numba_run.policy.flat())  # the runs tell them apart
    monkeypatch.setenv("BNPG_BACKEND", "numpy")
    forced = bnpg.gradient_ascent(game, start, **kwargs)
    assert np.array_equal(forced.policy.flat(), numpy_run.policy.flat())
    monkeypatch.setenv("BNPG_BACKEND", "numba")
    small = bnpg.gradient(game, start, 0.1)  # one gradient: "auto" alone would stay on numpy
    direct = _fast.value_and_gradient(plan_for(game, start.structure), start.flat(), 0.1, False)[2]
    np.testing.assert_array_equal(flat(small), direct)


@pytest.mark.parametrize("bad", ["torch", "NUMPY", "1"])
def test_an_unknown_bnpg_backend_is_a_clear_error(monkeypatch, bad):
    game = random_game(0, n_states=2, action_sizes=(2,))
    policy = random_policy(0, game, bnpg.DAG.empty(1))
    monkeypatch.setenv("BNPG_BACKEND", bad)
    with pytest.raises(ValueError, match=f"BNPG_BACKEND must be 'auto', 'numpy' or 'numba', got '{bad}'"):
        bnpg.gradient(game, policy)
    with pytest.raises(ValueError, match="BNPG_BACKEND"):
        bnpg.gradient_ascent(game, policy, lam=0.0, eta=0.1, steps=1)
    # an explicit backend does not consult the environment
    reference = bnpg.gradient(game, policy, backend="numpy")
    monkeypatch.delenv("BNPG_BACKEND")
    np.testing.assert_array_equal(flat(reference), flat(bnpg.gradient(game, policy, backend="numpy")))


def test_the_model_layer_does_not_hold_compiled_plans():
    import ast
    from pathlib import Path

    import bnpg.model

    for path in Path(bnpg.model.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                assert not any(n.startswith("bnpg.backends") for n in names), path
    assert not hasattr(bnpg.model.policy.Structure, "plan")
