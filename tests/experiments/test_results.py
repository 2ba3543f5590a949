"""Result and instance files of bnpg.experiments.results: round trips, refusals, and writes that are whole or absent."""

from __future__ import annotations

import numpy as np
import pytest

import bnpg
from bnpg.dynamics.ascent import ascend
from bnpg.experiments.instances import Instance, lemma_instance
from bnpg.experiments.results import load_instance, load_results, save_instance, save_results


@pytest.mark.parametrize("ext", [".npz", ".json"])
def test_results_round_trip(tmp_path, ext):
    results = {
        "x": np.array([1.5, -np.inf, np.nan]),
        "met": np.array([True, False, True]),
        "index": np.arange(3),
        "study": "lemma2",
        "seed": 4,
        "option_lam_range": np.array([0.01, 0.1]),
    }
    path = tmp_path / "sub" / f"r{ext}"
    save_results(path, results)
    back = load_results(path)
    assert set(back) == set(results)
    assert np.array_equal(back["x"], results["x"], equal_nan=True)
    assert back["met"].dtype == bool and back["met"].tolist() == [True, False, True]
    assert back["index"].tolist() == [0, 1, 2]
    assert str(back["study"]) == "lemma2" and int(back["seed"]) == 4
    assert np.array_equal(back["option_lam_range"], [0.01, 0.1])


def test_results_files_refuse_bad_input(tmp_path):
    with pytest.raises(ValueError, match="path"):
        save_results(tmp_path / "r.csv", {"x": np.zeros(2)})
    with pytest.raises(TypeError, match="results"):
        save_results(tmp_path / "r.npz", [1, 2])
    with pytest.raises(TypeError, match="object"):
        save_results(tmp_path / "r.npz", {"x": np.array([{}, 1], dtype=object)})
    with pytest.raises(ValueError, match="path"):
        load_results(tmp_path / "r.txt")


def test_instance_round_trip(tmp_path):
    inst = lemma_instance(3, 7, n_agents=(3,), edge_prob=0.7)
    path = tmp_path / "point.npz"
    run = ascend(inst.game, inst.policy, inst.lam, threshold=bnpg.theory.constants.gradient_threshold(inst.game, inst.lam))
    save_instance(path, inst.game, inst.dag, inst.lam, run.policy)
    game, dag, lam, policy = load_instance(path)
    assert game == inst.game and dag == inst.dag and lam == inst.lam
    assert np.array_equal(policy.flat(), run.policy.flat())
    assert bnpg.nash_gap(game, policy) == bnpg.nash_gap(inst.game, run.policy)
    assert isinstance(inst, Instance)
    with pytest.raises(ValueError, match="dag"):
        save_instance(path, inst.game, bnpg.DAG.full(3) if inst.dag != bnpg.DAG.full(3)
                      else bnpg.DAG.empty(3), inst.lam, run.policy)
    other = tmp_path / "game.npz"
    inst.game.save(other)
    with pytest.raises(ValueError, match="instance"):
        load_instance(other)


