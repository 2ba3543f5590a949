"""The one JSON codec (bnpg._json) and the sweep options (bnpg.experiments.sweeps.SweepOptions)."""

import json
import math

import numpy as np
import pytest

from bnpg import __version__
from bnpg._json import NON_FINITE, dumps, from_jsonable, loads, to_jsonable
from bnpg._progress import ProgressBar, check_progress
from bnpg.data import path as data_path
from bnpg.experiments.results import load_results, save_results
from bnpg.experiments.sweeps import STORE_FORMAT, SweepOptions, read_store, run_sweep, sweep_options
from bnpg.paper.verdict import jsonable


def same(x, y):
    """Equal values of equal types, NaN equal to NaN, at any depth."""
    if type(x) is not type(y):
        return False
    if isinstance(x, dict):
        return list(x) == list(y) and all(same(x[k], y[k]) for k in x)
    if isinstance(x, list):
        return len(x) == len(y) and all(same(a, b) for a, b in zip(x, y, strict=True))
    if isinstance(x, float) and math.isnan(x):
        return math.isnan(y)
    return x == y


def test_non_finite_floats_round_trip_in_arrays_and_scalars():
    value = {"array": np.array([[1.0, np.inf], [-np.inf, np.nan]]), "scalar": np.float64(-np.inf),
             "python": float("nan"), "ints": np.arange(3), "flag": np.bool_(True), "label": "nan-free"}
    text = dumps(value)
    assert "NaN" not in text and "Infinity" not in text
    json.loads(text, parse_constant=lambda token: pytest.fail(f"bare {token} written"))
    back = loads(text)
    assert same(back, {"array": [[1.0, math.inf], [-math.inf, math.nan]], "scalar": -math.inf,
                       "python": math.nan, "ints": [0, 1, 2], "flag": True, "label": "nan-free"})
    assert set(NON_FINITE) == {"inf", "-inf", "nan"}


def test_the_codec_does_not_modify_its_input_and_refuses_what_json_cannot_hold():
    value = {"x": [1.0, "inf"], "t": (1, 2)}
    to_jsonable(value), from_jsonable(value)
    assert value == {"x": [1.0, "inf"], "t": (1, 2)}
    with pytest.raises(TypeError, match="complex"):
        to_jsonable(1 + 2j)
    with pytest.raises(TypeError, match="dtype complex"):
        to_jsonable(np.array([1j]))


def test_the_verdicts_jsonable_is_the_codec():
    value = {"a": np.float64(1.5), "b": [np.int64(2), float("inf")], 3: np.array([np.nan])}
    assert jsonable(value) == to_jsonable(value) == {"a": 1.5, "b": [2, "inf"], "3": ["nan"]}


def test_an_old_store_line_with_bare_nan_tokens_is_read():
    line = '{"index": 0, "result": {"gap": NaN, "bound": Infinity, "low": -Infinity, "x": [1.0, NaN]}}'
    assert same(loads(line), {"index": 0, "result": {"gap": math.nan, "bound": math.inf, "low": -math.inf,
                                                      "x": [1.0, math.nan]}})


def test_an_old_store_with_bare_nan_tokens_is_resumed(tmp_path):
    store = tmp_path / "old.jsonl"
    header = {"format": STORE_FORMAT, "sweep": "demo", "arguments": {"cap": math.inf}, "n_instances": 2,
              "bnpg_version": __version__}
    store.write_text(json.dumps(header, allow_nan=True) + "\n"
                     + json.dumps({"index": 0, "result": [math.nan, 1.0]}, allow_nan=True) + "\n")
    assert "Infinity" in store.read_text() and "NaN" in store.read_text()
    done = read_store(store, {**header, "arguments": to_jsonable(header["arguments"])})
    assert same(done, {0: [math.nan, 1.0]})
    out = run_sweep(_nan_then_k, 2, name="demo", arguments={"cap": math.inf}, sweep=SweepOptions(store=store))
    assert same(out, [[math.nan, 1.0], [math.nan, 1.0]])
    assert '"nan"' in store.read_text().splitlines()[-1]                 # new lines are strict JSON


def _nan_then_k(k):
    return [float("nan"), float(k)]


def test_the_shipped_lemma3_search_is_read_as_before():
    shipped = load_results(data_path("lemma3-search.json"))
    with open(data_path("lemma3-search.json"), encoding="utf-8") as fh:
        raw = json.load(fh)
    assert set(shipped) == set(raw)
    for key, value in raw.items():
        expected = np.array(value)
        assert shipped[key].dtype == expected.dtype and np.array_equal(shipped[key], expected), key
    assert shipped["met"].dtype == bool and shipped["label"].dtype.kind == "U"


def test_results_with_non_finite_values_round_trip_through_a_json_file(tmp_path):
    results = {"x": np.array([[1.0, np.nan], [np.inf, -np.inf]]), "n": np.array([1, 2]), "study": "demo",
               "cap": np.inf}
    path = tmp_path / "r.json"
    save_results(path, results)
    back = load_results(path)
    assert np.array_equal(back["x"], results["x"], equal_nan=True) and back["x"].dtype == float
    assert back["n"].dtype.kind == "i" and str(back["study"]) == "demo" and float(back["cap"]) == math.inf
    json.loads(path.read_text(), parse_constant=lambda token: pytest.fail(f"bare {token} written"))


# -- SweepOptions ------------------------------------------------------------------------------------


@pytest.mark.parametrize("changes, error, field", [
    ({"jobs": 0}, ValueError, "jobs"),
    ({"jobs": 1.5}, TypeError, "jobs"),
    ({"jobs": True}, TypeError, "jobs"),
    ({"scheduler": 8786}, TypeError, "scheduler"),
    ({"scheduler": ""}, TypeError, "scheduler"),
    ({"store": 3}, TypeError, "store"),
    ({"store": ""}, ValueError, "store"),
    ({"progress": "yes"}, TypeError, "progress"),
    ({"progress": 1}, TypeError, "progress"),
])
def test_sweep_options_refuse_bad_values_naming_the_field(changes, error, field):
    with pytest.raises(error, match=field):
        SweepOptions(**changes)
    with pytest.raises(error, match=field):
        SweepOptions().with_(**changes)


def test_sweep_options_are_frozen_and_copied_by_with():
    options = SweepOptions(jobs=2, progress=None)
    assert options.progress is False
    with pytest.raises(AttributeError):
        options.jobs = 3
    other = options.with_(store="s.jsonl")
    assert (options.store, other.store, other.jobs) == (None, "s.jsonl", 2)
    assert sweep_options(None) == SweepOptions() and sweep_options(other) is other
    with pytest.raises(TypeError, match="sweep must be a SweepOptions"):
        sweep_options({"jobs": 2})


def test_a_progress_callable_sees_every_instance_resumed_ones_first(tmp_path):
    store = tmp_path / "s.jsonl"
    run_sweep(_nan_then_k, 4, name="demo", sweep=SweepOptions(store=store))
    lines = store.read_text().splitlines()
    store.write_text("\n".join(lines[:2]) + "\n")                     # one instance kept
    calls = []
    run_sweep(_nan_then_k, 4, name="demo",
              sweep=SweepOptions(store=store, progress=lambda done, total, label="": calls.append((done, total, label))))
    assert calls == [(1, 4, "demo"), (2, 4, "demo"), (3, 4, "demo"), (4, 4, "demo")]


def test_the_progress_bar_counts_by_differences_and_closes_at_the_end():
    import io

    out = io.StringIO()
    bar = ProgressBar("work", unit="unit", file=out)
    bar(2, 5, "c")
    bar(4, 5, "e")
    bar(5, 5)
    bar(5, 5)                                                              # closed: ignored
    text = out.getvalue()
    assert "5/5" in text and "work" in text
    with pytest.raises(TypeError, match="progress"):
        check_progress("progress", "bar")


# -- a fresh sweep and a resumed one ---------------------------------------------------------------------


def _mixed(k):
    return {"k": np.int64(k), "x": np.float64(k / 3), "flags": (np.bool_(k % 2), True), "cap": np.inf,
            "gap": float("nan"), "rows": np.array([[k, 1.5]])}


def test_a_fresh_sweep_and_a_resumed_one_return_equal_values_of_equal_types(tmp_path):
    store = tmp_path / "s.jsonl"
    plain = run_sweep(_mixed, 5, name="mixed")
    fresh = run_sweep(_mixed, 5, name="mixed", sweep=SweepOptions(store=store))
    lines = store.read_text().splitlines()
    store.write_text("\n".join(lines[:3]) + "\n")                       # two instances kept
    resumed = run_sweep(_mixed, 5, name="mixed", sweep=SweepOptions(store=store))
    whole = run_sweep(_mixed, 5, name="mixed", sweep=SweepOptions(store=store))      # all from the store
    parallel = run_sweep(_mixed, 5, name="mixed", sweep=SweepOptions(jobs=2))
    for other in (fresh, resumed, whole, parallel):
        assert same(plain, other)
    assert type(plain[0]["k"]) is int and type(plain[0]["x"]) is float and plain[0]["flags"] == [False, True]
