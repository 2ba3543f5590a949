"""The command line: ``bnpg check`` on a game nobody has seen, the studies, and every kind of bad input.

Independent routes used here: ``M`` by enumerating every deterministic joint policy, Lemma 1's
printed formula from loop-built partial values against finite differences of ``L_lambda`` built
without bnpg's numerics (tests/oracles.py), and the studies' files against the functions in process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from oracles import brute_force_m, finite_difference, lagrangian_by_series, lemma1_printed_by_loops

import bnpg
from bnpg import cli
from bnpg.experiments.results import load_results
from bnpg.experiments.studies.correlation import correlation_study
from bnpg.experiments.studies.lemmas import lemma2_study
from tests.conftest import random_game

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STATEMENTS = ["assumption-1", "assumption-2", "lemma-1", "lemma-2", "lemma-3", "lemma-4", "theorem-1",
              "theorem-2"]


def run_cli(*args):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "bnpg", *args], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=300)


def run_main(argv, capsys):
    """``(exit status, stdout, stderr)`` of the command in this process."""
    try:
        code = cli.main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def new_game(tmp_path_factory):
    """A game nobody has seen: 2 states, three agents with 2, 3 and 2 actions, random arrays."""
    game = random_game(2026, n_states=2, action_sizes=(2, 3, 2), gamma=0.7)
    path = tmp_path_factory.mktemp("game") / "mine.npz"
    game.save(path)
    return game, path


def test_check_on_a_new_game_prints_every_verdict_and_writes_both_files(new_game, tmp_path):
    game, path = new_game
    out_json, out_html = tmp_path / "verdicts.json", tmp_path / "report" / "check.html"
    proc = run_cli("check", str(path), "--max-steps", "300000", "--json", str(out_json),
                   "--report", str(out_html))
    assert proc.returncode == 0, proc.stderr
    assert "8/8" in proc.stderr  # the progress bar goes to stderr
    for sid in STATEMENTS:
        assert f"\n{sid}" in proc.stdout
    data = json.loads(out_json.read_text())
    assert list(data["statements"]) == STATEMENTS
    assert data["bnpg_version"] == bnpg.__version__ and data["arguments"]["max_steps"] == 300000
    assert data["constants"]["M"] == pytest.approx(brute_force_m(game), rel=1e-10)
    lam = data["parameters"]["lam"]
    # beta_lambda of Lemma 4 for the full DAG: parents' action counts 1, 2, 6
    beta = 8 * 3 * (game.r_max - game.r_min) / 0.3**3 + 2 * lam / 2 * (1 + 1 / 2 + 1 / 6)
    assert data["constants"]["beta_lambda"] == pytest.approx(beta, rel=1e-13)
    # Lemma 1 at the seeded random point, against finite differences built without bnpg
    policy = bnpg.BNPolicy.random(game, bnpg.DAG.full(3), np.random.default_rng(0))
    fd = finite_difference(lagrangian_by_series(game, bnpg.DAG.full(3), lam), policy.flat())
    expected = float(np.abs(lemma1_printed_by_loops(game, policy, lam) - fd).max() / np.abs(fd).max())
    lemma1 = data["statements"]["lemma-1"]
    assert lemma1["measured"] == pytest.approx(expected, rel=1e-6)
    assert lemma1["status"] == "fails as printed" and lemma1["holds_corrected"] is True
    for sid in ("assumption-1", "assumption-2", "lemma-2", "lemma-3", "lemma-4"):
        assert data["statements"][sid]["status"] == "holds", sid
    page = out_html.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("data:image/png;base64,") == 2
    assert all(sid in page for sid in STATEMENTS)
    assert [p.name for p in out_html.parent.iterdir()] == ["check.html"]  # no temporary file left


def test_check_writes_markdown_and_takes_a_dag_file(new_game, tmp_path, capsys):
    game, path = new_game
    dag_file = tmp_path / "dag.json"
    dag_file.write_text(json.dumps({"parents": [[2], [0, 2], []]}))
    report = tmp_path / "r.md"
    code, out, err = run_main(["check", path, "--dag", dag_file, "--max-steps", "2000", "--report",
                               report, "--no-progress"], capsys)
    assert code == 0 and err == ""
    text = report.read_text()
    assert text.startswith("# bnpg check") and "| lemma-2 |" in text and "[[2], [0, 2], []]" in text
    for name in ("product", "chain"):
        code, out, _ = run_main(["check", path, "--dag", name, "--max-steps", "2000", "--no-progress"], capsys)
        assert code == 0 and "theorem-2" in out


def truncated(path, tmp_path):
    data = path.read_bytes()
    bad = tmp_path / "truncated.npz"
    bad.write_bytes(data[: len(data) // 2])
    return bad


def foreign(tmp_path):
    bad = tmp_path / "foreign.npz"
    np.savez(bad, x=np.zeros(3))
    return bad


@pytest.mark.parametrize(
    "make_args, named",
    [
        (lambda g, t: ["check", t / "missing.npz"], "missing.npz"),
        (lambda g, t: ["check", truncated(g, t)], "truncated.npz"),
        (lambda g, t: ["check", foreign(t)], "foreign.npz"),
        (lambda g, t: ["check", t / "text.npz"], "text.npz"),
        (lambda g, t: ["check", g, "--lam", "-1"], "--lam"),
        (lambda g, t: ["check", g, "--eps", "abc"], "--eps"),
        (lambda g, t: ["check", g, "--max-steps", "0"], "--max-steps"),
        (lambda g, t: ["check", g, "--dag", "tree"], "--dag"),
        (lambda g, t: ["check", g, "--dag", t / "dag2.json"], "--dag"),
        (lambda g, t: ["check", g, "--dag", t / "cycle.json"], "--dag"),
        (lambda g, t: ["check", g, "--json", t / "out.csv"], "--json"),
        (lambda g, t: ["check", g, "--report", t / "out.pdf"], "--report"),
        (lambda g, t: ["check", g, "--json", t / "a-file" / "out.json"], "--json"),
        (lambda g, t: ["check", g, "--report", t], "--report"),
        (lambda g, t: ["check", g, "--method", "newton"], "--method"),
        (lambda g, t: ["lemma2", "--instances", "0", "--out", t / "x.npz"], "--instances"),
        (lambda g, t: ["lemma2", "--out", t / "study.csv"], "--out"),
        (lambda g, t: ["lemma3", "--gamma-range", "0.5,1.5", "--out", t / "x.npz"], "gamma_range"),
        (lambda g, t: ["correlation", "--states", "2,x", "--out", t / "x.npz"], "integers"),
        (lambda g, t: ["lemma9", "--out", t / "x.npz"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(new_game, tmp_path, capsys, make_args, named):
    _, path = new_game
    (tmp_path / "text.npz").write_text("not a zip archive")
    (tmp_path / "dag2.json").write_text(json.dumps({"parents": [[], [0]]}))
    (tmp_path / "cycle.json").write_text(json.dumps([[1], [2], [0]]))
    (tmp_path / "a-file").write_text("a file where a folder should be")
    args = make_args(path, tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = run_main(args, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and named in lines[0] and "Traceback" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_bad_input_in_a_subprocess_has_no_traceback(tmp_path):
    proc = run_cli("check", str(tmp_path / "nowhere.npz"), "--json", str(tmp_path / "v.json"))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "nowhere.npz" in proc.stderr and not (tmp_path / "v.json").exists()


def test_version(capsys):
    code, out, _ = run_main(["--version"], capsys)
    assert code == 0 and out.strip() == f"bnpg {bnpg.__version__}"


def test_lemma2_study_writes_the_same_results_as_the_function(tmp_path):
    out = tmp_path / "results" / "lemma2.npz"
    proc = run_cli("lemma2", "--instances", "3", "--seed", "1", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "3/3" in proc.stderr
    assert "3 met the gradient threshold" in proc.stdout
    back = load_results(out)
    direct = lemma2_study(3, seed=1)
    assert set(back) == set(direct)
    for key in ("nash_gap", "nash_bound", "M", "met", "grad_norm", "index", "lam"):
        assert np.array_equal(back[key], direct[key])


def test_correlation_study_json(tmp_path, capsys):
    out = tmp_path / "corr.json"
    code, stdout, err = run_main(["correlation", "--games", "2", "--starts", "1", "--seed", "0",
                                  "--max-steps", "100", "--states", "2", "--actions", "2",
                                  "--no-progress", "--out", out], capsys)
    assert code == 0 and err == ""
    raw = json.loads(out.read_text())
    assert raw["study"] == "correlation" and len(raw["product_value"]) == 2
    direct = correlation_study(2, 1, seed=0, max_steps=100, n_states=(2,), n_actions=(2,))
    assert np.array_equal(load_results(out)["chain_value"], direct["chain_value"])


def test_predecessor_study(tmp_path, capsys):
    from bnpg.experiments.studies.predecessor import predecessor_study

    out = tmp_path / "pred.npz"
    code, stdout, err = run_main(["predecessor", "--agents", "2", "--seeds", "2", "--iterations", "30",
                                  "--no-progress", "--out", out], capsys)
    assert code == 0 and err == ""
    assert "n=2 all_ones" in stdout
    back = load_results(out)
    direct = predecessor_study((2,), (1, 2), iterations=30)
    assert back["seeds"].tolist() == [1, 2] and str(back["bnpg_version"]) == bnpg.__version__
    for key in ("plain.n2.all_ones.ratio", "barrier.n2.line.gap_parents", "plain.n2.all_zeros.their_gap"):
        assert np.array_equal(back[key], direct[key])


def test_predecessor_refuses_bad_arguments(tmp_path, capsys):
    code, _, err = run_main(["predecessor", "--out", tmp_path / "x.txt"], capsys)
    assert code == 2 and "--out" in err and not (tmp_path / "x.txt").exists()
    code, _, err = run_main(["predecessor", "--seeds", "0", "--out", tmp_path / "x.npz"], capsys)
    assert code == 2 and "--seeds" in err and not (tmp_path / "x.npz").exists()
