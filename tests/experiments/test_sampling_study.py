"""The sampling study (bnpg.experiments.studies.sampling), its command, and the file the book reads."""

import json

import numpy as np
import pytest

from bnpg import cli
from bnpg.data import path
from bnpg.experiments.results import load_results
from bnpg.experiments.studies import sampling


@pytest.fixture(scope="module")
def shipped():
    return load_results(path("sampling-runs.npz"))


def test_the_shipped_file_holds_every_case_and_estimator(shipped):
    cases = sampling.sampling_cases()
    assert [tuple(x) for x in zip(shipped["theorem"].tolist(), shipped["game"].tolist(),
                                  shipped["dag"].tolist(), shipped["start"].tolist(), strict=True)] == cases
    assert shipped["estimators"].tolist() == [f"{m}/{b}" for m, b in sampling.ESTIMATORS]
    assert shipped["T"].shape == (len(cases), len(sampling.ESTIMATORS))
    assert int(shipped["record_every"]) == sampling.RECORD_EVERY


@pytest.mark.parametrize("k, e", [(15, 0), (36, 2)])
def test_a_shipped_run_is_what_todays_code_computes(shipped, k, e):
    # (15, 0): Theorem 1, penalty, full DAG, uniform start, REINFORCE with 10 episodes; (36, 2): Theorem
    # 2, climbing, product DAG (never at the target), actor-critic. Rerun and compare: the first step
    # at the target exactly, the recorded gaps to float32 storage (rel. 1e-6).
    case = sampling.sampling_cases()[k]
    assert case[:3] == ((1, "penalty", "full") if k == 15 else (2, "climbing", "product"))
    steps = int(shipped["budget_steps"][k])
    if k == 36:
        steps = 400   # the budget is 36,460 steps; the first 400 are compared
    run = sampling.sampled_run(case, sampling.ESTIMATORS[e], steps=steps, seed=(int(shipped["seed"]), k, e))
    metric = "nash_gap" if case[0] == 1 else "optimality_gap"
    gaps = run.metrics[metric]
    stride = sampling.CURVE_EVERY // sampling.RECORD_EVERY
    stored = shipped["curves"][k, e]
    n = len(gaps[::stride])
    np.testing.assert_allclose(stored[:n], gaps[::stride].astype(np.float32), rtol=1e-6)
    if k == 15:
        assert run.first_step_below(metric, shipped["eps"][k]) == shipped["T"][k, e]
        assert np.all(np.isnan(stored[n:]))


def test_the_exact_runs_agree_with_the_chapters_first_crossings(shipped):
    # chapter 6 reports T = 6,972 for the penalty game, chain (= full for two agents) DAG, uniform
    # start, and 6,868 for the product DAG, each with its own step 1/beta; first_below is T - 1.
    cases = sampling.sampling_cases()
    assert shipped["exact_T"][cases.index((1, "penalty", "full", "uniform"))] + 1 == 6972
    assert shipped["exact_T"][cases.index((1, "penalty", "product", "uniform"))] + 1 == 6868
    assert shipped["exact_T"][cases.index((1, "climbing", "product", "1"))] + 1 == 3050


def test_a_small_study_is_reproducible_and_shaped():
    kwargs = dict(theorems=(2,), games=("penalty",), estimators=(("reinforce", 3), ("actor-critic", 2)),
                  record_every=50, max_steps=200)
    one, two = sampling.sampling_study(5, **kwargs), sampling.sampling_study(5, **kwargs)
    assert one["T"].shape == (6, 2) and one["game"].tolist() == ["penalty"] * 6
    assert one["budget_steps"].tolist() == [200] * 6 and one["curves"].shape[2] == 200 // 100 + 1
    for key in one:
        np.testing.assert_array_equal(one[key], two[key])


def test_the_command_checks_its_output_before_any_work(tmp_path, capsys):
    assert cli.main(["sampling", "--out", str(tmp_path / "runs.txt"), "--no-progress"]) == 2
    assert "--out" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_the_summary_counts_runs_at_the_target(shipped):
    text = cli.summary(dict(shipped))
    assert text.startswith(f"sampling: {len(sampling.sampling_cases())} cases")
    reached = int((shipped["T"][:, 0] >= 0).sum())
    assert f"reinforce/10: {reached} of {shipped['T'].shape[0]}" in text
    json.dumps(text)
