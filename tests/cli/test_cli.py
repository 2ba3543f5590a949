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
    assert text.startswith("# The paper's statements checked on mine.npz") and "| **Lemma 2**:" in text
    assert "[[2], [0, 2], []]" in text and "base64" not in text
    assert sorted(p.name for p in (tmp_path / "r_files").iterdir()) == ["figure-1.png", "figure-2.png"]
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


# --------------------------------------------------------------------------------------------
# Any honest game file; errors that say what the file is and what was expected
# --------------------------------------------------------------------------------------------

EXPECTED_GAME = "expected an .npz archive of the arrays P, r, mu and gamma"


def check_json(args, tmp_path, capsys, name):
    out = tmp_path / f"{name}.json"
    code, stdout, err = run_main(["check", *args, "--max-steps", "2000", "--no-progress", "--json", out], capsys)
    assert code == 0 and err == "", err
    return json.loads(out.read_text())


def test_check_reads_a_game_written_by_numpy_alone(new_game, tmp_path, capsys):
    game, saved = new_game
    P, r, mu = np.array(game.P), np.array(game.r), np.array(game.mu)
    plain = tmp_path / "plain.npz"
    np.savez(plain, P=P, r=r, mu=mu, gamma=game.gamma)  # numpy alone, no marker
    with np.load(plain) as data:
        assert sorted(data.files) == ["P", "gamma", "mu", "r"]
    from_numpy = check_json([plain, "--dag", "chain"], tmp_path, capsys, "numpy")
    from_save = check_json([saved, "--dag", "chain"], tmp_path, capsys, "saved")
    assert from_numpy["parameters"]["n_states"] == P.shape[0] == 2
    assert from_numpy["parameters"]["action_sizes"] == list(P.shape[1:-1]) == [2, 3, 2]
    assert from_numpy["parameters"]["gamma"] == game.gamma
    assert from_numpy["constants"]["M"] == pytest.approx(brute_force_m(game), rel=1e-10)
    assert from_numpy["statements"] == from_save["statements"]
    assert from_numpy["constants"] == from_save["constants"]


def test_a_plain_game_with_a_bad_row_is_refused_like_the_constructor(tmp_path, capsys):
    P = np.full((2, 2, 2), 0.5)
    P[1, 0] = [0.5, 0.4]
    path = tmp_path / "bad.npz"
    np.savez(path, P=P, r=np.zeros((2, 2)), mu=[0.5, 0.5], gamma=0.9)
    code, _, err = run_main(["check", path, "--no-progress"], capsys)
    with pytest.raises(ValueError) as direct:
        bnpg.MarkovGame(P, np.zeros((2, 2)), [0.5, 0.5], 0.9)
    assert code == 2 and err.strip() == f"bnpg check: error: GAME {str(path)!r}: {direct.value}"


def pickled_array(tmp_path):
    bad = tmp_path / "objects.npz"
    np.savez(bad, P=np.ones((1, 2, 1)), r=np.array([[0.0, None]], dtype=object), mu=[1.0], gamma=0.5)
    return bad


def pickle_file(tmp_path):
    import pickle

    bad = tmp_path / "pickle.npz"
    bad.write_bytes(pickle.dumps({"P": [1.0]}))
    return bad


def single_array(tmp_path):
    bad = tmp_path / "array.npz"
    with open(bad, "wb") as fh:
        np.save(fh, np.ones(3))
    return bad


@pytest.mark.parametrize(
    "make, says",
    [
        (lambda t: t / "text.npz", f"is a text file (it begins 'not a zip archive'), not an .npz archive; "
                                   f"{EXPECTED_GAME}"),
        (foreign, f"is an .npz archive of ['x'] without the arrays ['P', 'r', 'mu', 'gamma']; {EXPECTED_GAME}"),
        (pickled_array, "array 'r' holds Python objects (dtype=object), refused because reading it would "
                        "need pickle"),
        (pickle_file, f"is a pickle, refused because reading it would need pickle, not an .npz archive; "
                      f"{EXPECTED_GAME}"),
        (single_array, f"is a single numpy array (.npy), not an .npz archive; {EXPECTED_GAME}"),
        (lambda t: t / "folder.npz", "is a folder, not a game file"),
    ],
    ids=["text", "other-keys", "object-array", "pickle", "npy", "folder"],
)
def test_a_file_that_is_not_a_game_is_named_with_what_it_is(tmp_path, capsys, make, says):
    (tmp_path / "text.npz").write_text("not a zip archive")
    (tmp_path / "folder.npz").mkdir()
    path = make(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = run_main(["check", path, "--json", tmp_path / "v.json"], capsys)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"bnpg check: error: GAME {str(path)!r}") and says in lines[0]
    assert "allow_pickle" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize(
    "content, says",
    [
        ('{"parent": [[], [0], [0, 1]]}', "holds an object with the keys ['parent'], without 'parents'"),
        ("parents: [[], [0]]", "is not JSON"),
        ("3", "holds a JSON int"),
        ('{"parents": [[], [0], "01"]}', "parents[2] must be a list of agents, got str"),
        ('{"parents": [[], [0], [0, 3]]}', "parents[2] entry"),
    ],
)
def test_a_bad_dag_file_shows_the_format_expected(new_game, tmp_path, capsys, content, says):
    _, path = new_game
    dag_file = tmp_path / "dag.json"
    dag_file.write_text(content)
    code, _, err = run_main(["check", path, "--dag", dag_file], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1
    assert lines[0].startswith(f"bnpg check: error: --dag {str(dag_file)!r}") and says in lines[0]
    assert lines[0].endswith('expected a JSON object {"parents": [...]} whose entry i lists the agents agent i '
                             'sees, agents numbered 0..N-1, e.g. {"parents": [[], [0], [0, 1]]} for three agents')


def test_the_example_of_the_dag_format_is_the_full_dag(tmp_path):
    from bnpg.cli.check import load_dag

    dag_file = tmp_path / "dag.json"
    dag_file.write_text('{"parents": [[], [0], [0, 1]]}')
    assert load_dag(str(dag_file), 3) == bnpg.DAG.full(3)


# --------------------------------------------------------------------------------------------
# One vocabulary for networks
# --------------------------------------------------------------------------------------------


def test_dag_names_are_the_python_constructors(new_game, tmp_path, capsys):
    from bnpg.cli.arguments import DAG_CHOICES
    from bnpg.cli.check import load_dag

    assert set(DAG_CHOICES) == {"product", "empty", "chain", "full"}
    for name in DAG_CHOICES:
        assert load_dag(name, 3) == getattr(bnpg.DAG, name)(3)
    assert load_dag("product", 3) == load_dag("empty", 3) == bnpg.DAG([[], [], []])
    _, path = new_game
    product = check_json([path, "--dag", "product"], tmp_path, capsys, "product")
    empty = check_json([path, "--dag", "empty"], tmp_path, capsys, "empty")
    assert product["statements"] == empty["statements"]
    assert product["parameters"]["dag"] == empty["parameters"]["dag"] == [[], [], []]
    code, help_text, _ = run_main(["check", "--help"], capsys)
    assert code == 0
    flat = " ".join(help_text.split())
    assert "product (also called empty; no edges, bnpg.DAG.product)" in flat
    assert "np.savez(GAME.npz, P=P, r=r, mu=mu, gamma=gamma)" in flat


def test_the_readme_uses_the_same_names():
    readme = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    section = readme[readme.index("## Check the paper on your own game"):readme.index("## The predecessor")]
    assert 'np.savez("mygame.npz", P=P, r=r, mu=mu, gamma=gamma)' in section and 'game.save("mygame.npz")' in section
    assert "`bnpg.DAG.product(n)`" in section and "also called `empty`" in section


# --------------------------------------------------------------------------------------------
# bnpg.paper.check takes a game or a path
# --------------------------------------------------------------------------------------------


def test_paper_check_takes_a_path(new_game, tmp_path):
    from pathlib import Path

    game, path = new_game
    direct = bnpg.paper.check(game, max_steps=500)
    plain = tmp_path / "plain.npz"
    np.savez(plain, P=game.P, r=game.r, mu=game.mu, gamma=game.gamma)
    for given in (str(path), Path(path), str(plain)):
        report = bnpg.paper.check(given, max_steps=500)
        assert report.to_dict()["statements"] == direct.to_dict()["statements"]
        assert report.to_dict()["constants"] == direct.to_dict()["constants"]


@pytest.mark.parametrize("bad", [3, None, b"game.npz", [[0.5]], {"P": 1}])
def test_paper_check_refuses_anything_else_naming_game(bad):
    with pytest.raises(TypeError, match=r"game must be a MarkovGame or the path of an \.npz game file"):
        bnpg.paper.check(bad)


def test_paper_check_on_a_missing_or_foreign_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.npz"):
        bnpg.paper.check(tmp_path / "nowhere.npz")
    with pytest.raises(ValueError, match=r"foreign\.npz' is an \.npz archive of \['x'\] without"):
        bnpg.paper.check(str(foreign(tmp_path)))


# --------------------------------------------------------------------------------------------
# Ctrl-C
# --------------------------------------------------------------------------------------------


def interrupt_after_progress(args, tmp_path, bar):
    """Start ``bnpg ARGS``, wait until its progress bar ``bar`` has appeared and it has worked a second,
    send SIGINT; return ``(exit status, stdout, stderr)``."""
    import signal
    import time

    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    err_path = tmp_path / "stderr.txt"
    with open(err_path, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "bnpg", *map(str, args)], stdout=subprocess.PIPE,
                                stderr=err, text=True, cwd=REPO, env=env)
        try:
            deadline = time.monotonic() + 120
            while f"{bar}:" not in err_path.read_text() and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(1.0)
            assert proc.poll() is None, "finished before it could be interrupted"
            proc.send_signal(signal.SIGINT)
            out, _ = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
    return proc.returncode, out, err_path.read_text()


def test_ctrl_c_during_check_is_one_line_status_130_and_no_file(new_game, tmp_path):
    _, game_path = new_game
    folder = tmp_path / "out"
    folder.mkdir()
    code, out, err = interrupt_after_progress(
        ["check", game_path, "--eps", "1e-9", "--max-steps", "100000000", "--json", folder / "v.json",
         "--report", folder / "r.html"], tmp_path, "bnpg check")
    assert code == 130
    messages = [line for line in err.splitlines() if line.strip() and not line.lstrip("\r").startswith("bnpg check:")]
    assert messages == ["bnpg: interrupted"], err
    assert "Traceback" not in err and out == ""
    assert list(folder.iterdir()) == []


def test_ctrl_c_during_a_study_is_one_line_status_130_and_keeps_only_the_store(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    code, out, err = interrupt_after_progress(["lemma2", "--instances", "100000", "--out", folder / "l.npz"],
                                              tmp_path, "lemma2")
    assert code == 130
    store = folder / "l.npz.sweep.jsonl"
    messages = [line for line in err.splitlines() if line.strip() and not line.lstrip("\r").startswith("lemma2:")]
    assert messages == [f"bnpg: interrupted; the finished instances are kept in {store}; the same command "
                        "resumes from them"], err
    assert "Traceback" not in err and out == ""
    assert [p.name for p in folder.iterdir()] == [store.name]  # no result file, no temporary file
    header = json.loads(store.read_text().splitlines()[0])
    assert header["sweep"] == "lemma2"


def test_keyboard_interrupt_in_process_is_status_130(new_game, tmp_path, capsys, monkeypatch):
    import bnpg.paper

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(bnpg.paper, "check", interrupted)
    _, path = new_game
    code, out, err = run_main(["check", path, "--json", tmp_path / "v.json", "--no-progress"], capsys)
    assert (code, out, err) == (130, "", "bnpg: interrupted\n")
    assert list(tmp_path.iterdir()) == []


def test_an_interruption_while_writing_leaves_neither_output(new_game, tmp_path, capsys, monkeypatch):
    import bnpg.experiments.results as results

    real, calls = results.atomic_write_text, []

    def second_write_interrupted(path, text):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real(path, text)

    monkeypatch.setattr(results, "atomic_write_text", second_write_interrupted)
    _, path = new_game
    code, out, err = run_main(["check", path, "--max-steps", "500", "--no-progress", "--json", tmp_path / "v.json",
                               "--report", tmp_path / "r.md"], capsys)
    assert code == 130 and err == "bnpg: interrupted\n" and len(calls) == 2
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------
# Files a user can share
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_outputs_have_the_mode_the_umask_gives(new_game, tmp_path, capsys, umask):
    import stat

    _, path = new_game
    previous = os.umask(umask)
    try:
        code, _, err = run_main(["check", path, "--max-steps", "500", "--no-progress", "--json", tmp_path / "v.json",
                                 "--report", tmp_path / "r.md"], capsys)
        code2, _, err2 = run_main(["correlation", "--games", "1", "--starts", "1", "--max-steps", "20", "--states",
                                   "2", "--actions", "2", "--no-progress", "--out", tmp_path / "c.npz"], capsys)
    finally:
        os.umask(previous)
    assert code == 0 and code2 == 0, err + err2
    modes = {p.relative_to(tmp_path).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in tmp_path.rglob("*")}
    files = ("v.json", "r.md", "c.npz", "r_files/figure-1.png", "r_files/figure-2.png")
    assert modes == {**dict.fromkeys(files, 0o666 & ~umask), "r_files": 0o777 & ~umask}


def test_a_study_interrupted_while_writing_keeps_its_store_and_writes_no_result(tmp_path, capsys, monkeypatch):
    import bnpg.experiments.results as results

    def interrupted(path, data):
        raise KeyboardInterrupt

    monkeypatch.setattr(results, "save_results", interrupted)
    out = tmp_path / "l.json"
    code, stdout, err = run_main(["lemma2", "--instances", "2", "--no-progress", "--out", out], capsys)
    store = tmp_path / "l.json.sweep.jsonl"
    assert code == 130 and stdout == ""
    assert err == f"bnpg: interrupted; the finished instances are kept in {store}; the same command resumes from them\n"
    assert [p.name for p in tmp_path.iterdir()] == [store.name]
    assert len(store.read_text().splitlines()) == 3  # the header and both instances
