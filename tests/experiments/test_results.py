"""Result and instance files of bnpg.experiments.results: round trips, refusals, and writes that are whole or absent."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import numpy as np
import pytest

import bnpg
from bnpg.dynamics.ascent import ascend
from bnpg.experiments.instances import Instance, lemma_instance
from bnpg.experiments.results import (
    atomic_write,
    atomic_write_text,
    load_instance,
    load_results,
    save_instance,
    save_results,
)


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




@pytest.fixture(params=[0o022, 0o077, 0o002], ids=["umask-022", "umask-077", "umask-002"])
def umask(request):
    """Run the test under this umask, and restore the previous one afterwards."""
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_every_written_file_has_the_mode_the_umask_gives(tmp_path, umask):
    expected = 0o666 & ~umask
    atomic_write_text(tmp_path / "report.md", "# report")
    atomic_write(tmp_path / "raw.bin", lambda tmp: open(tmp, "wb").write(b"\x00"))
    save_results(tmp_path / "r.npz", {"x": np.arange(3), "study": "demo"})
    save_results(tmp_path / "r.json", {"x": np.arange(3), "study": "demo"})
    inst = lemma_instance(0, 1)
    save_instance(tmp_path / "deeper" / "point.npz", inst.game, inst.dag, inst.lam, inst.policy)
    inst.game.save(tmp_path / "game.npz")
    files = ["report.md", "raw.bin", "r.npz", "r.json", "deeper/point.npz", "game.npz"]
    assert {name: oct(mode(tmp_path / name)) for name in files} == {name: oct(expected) for name in files}
    # a file written again takes the mode afresh, whatever mode the old one had
    os.chmod(tmp_path / "r.json", 0o600)
    save_results(tmp_path / "r.json", {"x": np.arange(2)})
    assert mode(tmp_path / "r.json") == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["deeper", "game.npz", "r.json", "r.npz",
                                                                 "raw.bin", "report.md"])


def test_the_mode_under_a_umask_set_in_another_process(tmp_path):
    code = ("import os, sys; os.umask(int(sys.argv[2], 8)); "
            "from bnpg.experiments.results import save_results; "
            "save_results(sys.argv[1], {'x': [1.0]})")
    for umask_text in ("022", "077"):
        path = tmp_path / f"r{umask_text}.json"
        subprocess.run([sys.executable, "-c", code, str(path), umask_text], check=True, timeout=120)
        assert mode(path) == 0o666 & ~int(umask_text, 8)


@pytest.mark.parametrize("error", [KeyboardInterrupt, OSError])
def test_an_interrupted_or_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, error):
    target = tmp_path / "out.json"
    target.write_text("old")

    def write(tmp):
        with open(tmp, "w") as fh:
            fh.write("half")
        raise error("stopped")

    with pytest.raises(error):
        atomic_write(target, write)
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["out.json"]
    with pytest.raises(error):
        atomic_write(tmp_path / "new" / "new.json", write)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["new", "out.json"]


def test_atomic_write_refuses_bad_arguments(tmp_path):
    with pytest.raises(TypeError, match="path must be a path, got int"):
        atomic_write(3, lambda tmp: None)
    with pytest.raises(TypeError, match="write must be callable, got str"):
        atomic_write(tmp_path / "a.txt", "text")
    assert list(tmp_path.iterdir()) == []
