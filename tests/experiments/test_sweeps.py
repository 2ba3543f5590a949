"""Sweeps (bnpg.experiments.sweeps): parallel, on a Dask cluster, resumable, and identical to a serial run."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from distributed import LocalCluster

from bnpg import __version__
from bnpg.experiments.studies.lemmas import lemma2_study
from bnpg.experiments.sweeps import STORE_FORMAT, StoreError, SweepOptions, read_store, run_sweep


def square_plus(k, offset):
    return {"k": k, "value": k * k + offset, "half": k / 3}


def assert_same_study(one, two):
    assert sorted(one) == sorted(two)
    for key in one:
        x, y = np.asarray(one[key]), np.asarray(two[key])
        assert x.dtype == y.dtype and np.array_equal(x, y), key


def test_serial_sweep_is_the_list_comprehension():
    assert run_sweep(square_plus, 5, args=(1,)) == [square_plus(k, 1) for k in range(5)]
    assert run_sweep(square_plus, 0, args=(1,)) == []


def test_two_jobs_give_the_serial_results_in_instance_order():
    assert run_sweep(square_plus, 9, args=(2,), sweep=SweepOptions(jobs=2)) == [square_plus(k, 2) for k in range(9)]


def test_a_store_is_written_as_instances_finish_and_resumed(tmp_path):
    store = tmp_path / "s.jsonl"
    first = run_sweep(square_plus, 6, args=(0,), name="demo", arguments={"offset": 0}, sweep=SweepOptions(store=store))
    lines = store.read_text().splitlines()
    header = json.loads(lines[0])
    assert header == {"format": STORE_FORMAT, "sweep": "demo", "arguments": {"offset": 0}, "n_instances": 6,
                      "bnpg_version": __version__}
    assert sorted(json.loads(x)["index"] for x in lines[1:]) == list(range(6))
    # keep three instances, cut the fourth in the middle of its line, as a kill would
    store.write_text("\n".join(lines[:4]) + "\n" + lines[4][: len(lines[4]) // 2])
    calls = []

    def counting(k, offset):   # runs in this process (jobs=1): records which instances are recomputed
        calls.append(k)
        return square_plus(k, offset)

    again = run_sweep(counting, 6, args=(0,), name="demo", arguments={"offset": 0}, sweep=SweepOptions(store=store))
    assert again == first and sorted(calls) == [json.loads(x)["index"] for x in lines[4:]]
    assert len(store.read_text().splitlines()) == 7                       # no instance twice


@pytest.mark.parametrize("change, message", [
    ({"sweep": "other"}, "another sweep: its sweep"),
    ({"arguments": {"offset": 1}}, "another sweep: its arguments"),
    ({"bnpg_version": "0.0.0"}, "another sweep: its bnpg_version"),
    ({"n_instances": 7}, "another sweep: its n_instances"),
])
def test_a_foreign_store_is_refused(tmp_path, change, message):
    store = tmp_path / "s.jsonl"
    run_sweep(square_plus, 6, args=(0,), name="demo", arguments={"offset": 0}, sweep=SweepOptions(store=store))
    lines = store.read_text().splitlines()
    header = {**json.loads(lines[0]), **change}
    store.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    before = store.read_bytes()
    with pytest.raises(StoreError, match=message):
        run_sweep(square_plus, 6, args=(0,), name="demo", arguments={"offset": 0}, sweep=SweepOptions(store=store))
    assert store.read_bytes() == before                                  # left as it was


@pytest.mark.parametrize("damage, message", [
    (lambda lines: [lines[0], "{not json", *lines[2:]], "damaged at line 2"),
    (lambda lines: [lines[0], lines[1], lines[1], *lines[2:]], "out of range or repeated"),
    (lambda lines: ["an unrelated file", *lines[1:]], "does not start with a bnpg sweep header"),
    (lambda lines: [json.dumps({"format": "other"}), *lines[1:]], "is not a bnpg sweep store"),
    (lambda lines: [lines[0], json.dumps({"index": 99, "result": 0})], "out of range or repeated"),
])
def test_a_damaged_store_is_refused(tmp_path, damage, message):
    store = tmp_path / "s.jsonl"
    run_sweep(square_plus, 4, args=(0,), name="demo", sweep=SweepOptions(store=store))
    store.write_text("\n".join(damage(store.read_text().splitlines())) + "\n")
    header = {"format": STORE_FORMAT, "sweep": "demo", "arguments": {}, "n_instances": 4,
              "bnpg_version": __version__}
    with pytest.raises(StoreError, match=message):
        read_store(store, header)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="jobs"):
        run_sweep(square_plus, 3, args=(0,), sweep=SweepOptions(jobs=0))
    with pytest.raises(TypeError, match="scheduler"):
        run_sweep(square_plus, 3, args=(0,), sweep=SweepOptions(scheduler=8786))
    with pytest.raises(TypeError, match="sweep must be a SweepOptions"):
        run_sweep(square_plus, 3, args=(0,), sweep={"jobs": 2})


def test_the_lemma_sweep_does_not_depend_on_the_number_of_jobs():
    assert_same_study(lemma2_study(6, seed=2), lemma2_study(6, seed=2, sweep=SweepOptions(jobs=2)))


def test_the_lemma_sweep_on_a_local_dask_cluster_is_the_serial_one():
    serial = lemma2_study(5, seed=4)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        on_dask = lemma2_study(5, seed=4, sweep=SweepOptions(scheduler=cluster.scheduler_address))
    assert_same_study(serial, on_dask)


def _command(out, *extra):
    return [sys.executable, "-m", "bnpg", "lemma2", "--instances", "40", "--seed", "1", "--out", str(out),
            "--no-progress", *extra]


def test_a_killed_sweep_resumes_without_losing_or_repeating_an_instance(tmp_path):
    whole = tmp_path / "whole.json"
    subprocess.run(_command(whole), check=True, capture_output=True)
    out = tmp_path / "killed.json"
    store = tmp_path / "killed.json.sweep.jsonl"
    proc = subprocess.Popen(_command(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if store.exists() and len(store.read_text().splitlines()) >= 6:   # header and five instances
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the sweep ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    kept = [json.loads(x)["index"] for x in store.read_text().splitlines()[1:] if x.endswith("}")]
    assert 5 <= len(kept) < 40
    subprocess.run(_command(out), check=True, capture_output=True)
    assert out.read_bytes() == whole.read_bytes()
    assert not store.exists()                                          # removed once the file is written


def test_the_command_with_two_jobs_writes_the_serial_file(tmp_path):
    serial, parallel = tmp_path / "serial.json", tmp_path / "parallel.json"
    subprocess.run(_command(serial), check=True, capture_output=True)
    subprocess.run(_command(parallel, "--jobs", "2"), check=True, capture_output=True)
    assert serial.read_bytes() == parallel.read_bytes()


def test_the_scheduler_can_come_from_the_environment(monkeypatch):
    serial = run_sweep(square_plus, 4, args=(5,))
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        monkeypatch.setenv("BNPG_SCHEDULER", cluster.scheduler_address)
        assert run_sweep(square_plus, 4, args=(5,)) == serial


def test_the_command_refuses_another_sweeps_store(tmp_path):
    out = tmp_path / "r.json"
    store = tmp_path / "r.json.sweep.jsonl"
    run_sweep(square_plus, 3, args=(0,), name="other", sweep=SweepOptions(store=store))
    before = store.read_bytes()
    proc = subprocess.run(_command(out), capture_output=True, text=True)
    assert proc.returncode == 2 and "belongs to another sweep" in proc.stderr
    assert store.read_bytes() == before and not out.exists()


def test_the_progress_bar_counts_resumed_instances_and_names_the_workers(tmp_path, capsys):
    store = tmp_path / "s.jsonl"
    run_sweep(square_plus, 4, args=(0,), name="demo", sweep=SweepOptions(store=store))
    lines = store.read_text().splitlines()
    store.write_text("\n".join(lines[:3]) + "\n")                     # two instances kept
    run_sweep(square_plus, 4, args=(0,), name="demo", sweep=SweepOptions(store=store, jobs=2, progress=True))
    err = capsys.readouterr().err
    assert "4/4" in err and "demo: 4 instances (2 resumed from the store) in" in err
    assert err.rstrip().endswith("on 2 worker processes")


@pytest.mark.parametrize("study", ["correlation", "sampling"])
def test_other_studies_do_not_depend_on_the_number_of_jobs(study):
    if study == "correlation":
        from bnpg.experiments.studies.correlation import correlation_study

        def run(**kw):
            return correlation_study(3, 2, seed=0, max_steps=200, **kw)
    else:
        from bnpg.experiments.studies.sampling import sampling_study

        def run(**kw):
            return sampling_study(theorems=(1,), games=("penalty",), estimators=(("reinforce", 3),),
                                  max_steps=60, record_every=20, **kw)
    serial = run()
    parallel = run(sweep=SweepOptions(jobs=2))
    for key in serial:
        x, y = np.asarray(serial[key]), np.asarray(parallel[key])
        assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), key


def test_results_come_back_in_instance_order_whatever_the_store_holds(tmp_path):
    store = tmp_path / "s.jsonl"
    run_sweep(square_plus, 6, args=(0,), name="demo", sweep=SweepOptions(store=store))
    lines = store.read_text().splitlines()
    kept = [x for x in lines[1:] if json.loads(x)["index"] in (4, 1)]
    store.write_text("\n".join([lines[0], *reversed(kept)]) + "\n")    # 4 then 1, out of order
    assert run_sweep(square_plus, 6, args=(0,), name="demo", sweep=SweepOptions(store=store)) == [square_plus(k, 0) for k in range(6)]


def test_a_foreign_file_is_refused_and_left_untouched(tmp_path):
    store = tmp_path / "notes.txt"
    store.write_bytes(b"my notes\nno newline at the end")
    with pytest.raises(StoreError, match="does not start with a bnpg sweep header"):
        run_sweep(square_plus, 3, args=(0,), sweep=SweepOptions(store=store))
    assert store.read_bytes() == b"my notes\nno newline at the end"


def test_a_header_cut_short_starts_the_sweep_again(tmp_path):
    store = tmp_path / "s.jsonl"
    run_sweep(square_plus, 3, args=(0,), name="demo", sweep=SweepOptions(store=store))
    header = store.read_text().splitlines()[0]
    store.write_text(header[:20])                                       # killed while writing the header
    assert run_sweep(square_plus, 3, args=(0,), name="demo", sweep=SweepOptions(store=store)) == [square_plus(k, 0) for k in range(3)]
    assert store.read_text().splitlines()[0] == header


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path):
    import socket

    with socket.socket() as sock:              # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(ValueError, match=r"scheduler 'tcp://127.0.0.1:\d+': cannot reach a Dask scheduler"):
        run_sweep(square_plus, 3, args=(0,), sweep=SweepOptions(scheduler=f"tcp://127.0.0.1:{port}"))
    assert time.monotonic() - start < 60
    proc = subprocess.run(_command(tmp_path / "r.json", "--scheduler", f"tcp://127.0.0.1:{port}"),
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "cannot reach a Dask scheduler" in proc.stderr
    assert list(tmp_path.iterdir()) == []                           # no output, no store
