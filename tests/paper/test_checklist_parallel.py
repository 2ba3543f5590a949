"""bnpg.paper.check gives the same report on worker processes as in one process, in the same order."""

from __future__ import annotations

import pytest

import bnpg
from bnpg.paper import checklist

GAMES = {
    "climbing-full": (bnpg.games.climbing_game(gamma=0.5), None),
    "random-edge-against-order": (bnpg.games.random_game(2, (2, 3), seed=3, gamma=0.6), bnpg.DAG([[1], []])),
}


def recorder(calls):
    def progress(done, total, label=""):
        calls.append((done, total, label))
    return progress


@pytest.mark.parametrize("name", sorted(GAMES))
def test_parallel_and_serial_reports_are_equal(name):
    game, dag = GAMES[name]
    calls = {1: [], 2: []}
    reports = {jobs: checklist.check(game, dag, max_steps=20_000, jobs=jobs, progress=recorder(calls[jobs]))
               for jobs in (1, 2)}
    serial, parallel = reports[1].to_dict(), reports[2].to_dict()
    assert [v.statement for v in reports[2].verdicts] == list(checklist.STATEMENTS)
    for sid in checklist.STATEMENTS:
        assert parallel["statements"][sid] == serial["statements"][sid], sid
    assert parallel == serial
    total = len(checklist.STATEMENTS)
    expected = [(k, total, sid) for k, sid in enumerate(checklist.STATEMENTS)] + [(total, total, "")]
    assert calls[1] == calls[2] == expected


def test_jobs_is_checked_and_the_default_is_serial_on_small_games():
    game = bnpg.games.matching_game(2, 2, gamma=0.5)
    with pytest.raises(ValueError, match="jobs"):
        checklist.check(game, jobs=0)
    with pytest.raises(TypeError, match="jobs"):
        checklist.check(game, jobs=1.5)
    assert checklist.default_jobs(game) == 1
    big = bnpg.games.random_game(2, (6, 6), seed=0)
    assert checklist.default_jobs(big) == checklist.default_jobs() >= 1


def test_lemma4_caps_its_hessians_by_the_policy_size():
    small = bnpg.paper.lemma4(bnpg.games.climbing_game(gamma=0.5), bnpg.DAG.full(2), 0.1)
    assert small.parameters["max_hessians"] == 4
    game = bnpg.games.random_game(2, (6, 6, 6), seed=0, gamma=0.5)
    n_params = bnpg.BNPolicy(game, bnpg.DAG.full(3)).n_params
    capped = bnpg.paper.lemma4(game, bnpg.DAG.full(3), 0.1, n_directions=2, steps=0)
    assert 2 * n_params > bnpg.paper.lemmas.LEMMA4_GRADIENTS / 2
    assert capped.parameters["max_hessians"] == 1
    assert capped.status == "holds"
    with pytest.raises(ValueError, match="max_hessians"):
        bnpg.paper.lemma4(game, bnpg.DAG.full(3), 0.1, max_hessians=0)
