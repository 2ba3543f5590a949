"""MarkovGame: validation at construction, read-only copies, and the .npz round trip (Section 2)."""

from __future__ import annotations

import os
import re
import stat
from fractions import Fraction

import numpy as np
import pytest

import bnpg
from tests.conftest import random_arrays


@pytest.fixture
def arrays():
    """Valid arrays of a 3-state game with action sizes (2, 3)."""
    return random_arrays(np.random.default_rng(0), 3, (2, 3))


# --------------------------------------------------------------------------------------------
# Construction and accessors
# --------------------------------------------------------------------------------------------


def test_accessors(arrays):
    P, r, mu = arrays
    game = bnpg.MarkovGame(P, r, mu, 0.9)
    assert game.n_states == 3
    assert game.n_agents == 2
    assert game.action_sizes == (2, 3)
    assert game.n_joint_actions == 6
    assert game.gamma == 0.9
    assert game.r_min == r.min() and game.r_max == r.max()
    np.testing.assert_array_equal(game.P, P)
    np.testing.assert_array_equal(game.r, r)
    np.testing.assert_array_equal(game.mu, mu)
    for arr in (game.P, game.r, game.mu):
        assert arr.dtype == np.float64


def test_integer_arrays_and_scalars_are_accepted():
    # A deterministic 2-state game given with integer arrays and integer gamma = 0.
    P = np.zeros((2, 2, 2), dtype=int)
    P[:, 0, 0] = 1
    P[:, 1, 1] = 1
    game = bnpg.MarkovGame(P, np.array([[1, 0], [0, 1]]), np.array([1, 0]), 0)
    assert game.P.dtype == np.float64 and game.gamma == 0.0
    assert bnpg.MarkovGame(P, [[1, 0], [0, 1]], [0.5, 0.5], Fraction(1, 2)).gamma == 0.5
    assert bnpg.MarkovGame(P, [[1, 0], [0, 1]], [0.5, 0.5], np.float32(0.25)).gamma == 0.25


def test_many_agents_and_single_action():
    rng = np.random.default_rng(1)
    P, r, mu = random_arrays(rng, 2, (1, 2, 1, 3))
    game = bnpg.MarkovGame(P, r, mu, 0.5)
    assert game.n_agents == 4 and game.action_sizes == (1, 2, 1, 3)


def test_row_sum_tolerance_is_1e_10(arrays):
    P, r, mu = arrays
    inside = P.copy()
    inside[0, 0, 0, 0] += 0.9e-10
    bnpg.MarkovGame(inside, r, mu, 0.9)  # within tolerance
    outside = P.copy()
    outside[0, 0, 0, 0] += 3e-10
    with pytest.raises(ValueError, match=re.escape("P[0, 0, 0, :] sums to")):
        bnpg.MarkovGame(outside, r, mu, 0.9)


# --------------------------------------------------------------------------------------------
# Validation: one test per rule
# --------------------------------------------------------------------------------------------


def test_row_sum_message_names_the_index():
    rng = np.random.default_rng(2)
    P, r, mu = random_arrays(rng, 3, (2, 3))
    P[1, 0, 2] *= 0.98
    with pytest.raises(ValueError, match=re.escape("P[1, 0, 2, :] sums to")) as info:
        bnpg.MarkovGame(P, r, mu, 0.9)
    assert "not 1" in str(info.value)


def test_row_sum_message_prints_a_plain_number():
    # DESIGN.md gives the message "P[1, 0, 2, :] sums to 0.98, not 1".
    P = np.zeros((3, 2, 3, 3))
    P[..., 0] = 1.0
    P[1, 0, 2] = [0.5, 0.48, 0.0]
    with pytest.raises(ValueError, match=re.escape("P[1, 0, 2, :] sums to 0.98, not 1")):
        bnpg.MarkovGame(P, np.zeros((3, 2, 3)), [1.0, 0.0, 0.0], 0.9)


def test_negative_probability_is_refused(arrays):
    P, r, mu = arrays
    P = P.copy()
    P[2, 1, 0, 1] = -P[2, 1, 0, 1]  # also breaks the row sum: the sign is reported first
    with pytest.raises(ValueError, match=re.escape("P[2, 1, 0, 1] is") + ".*>= 0"):
        bnpg.MarkovGame(P, r, mu, 0.9)


def test_negative_probability_with_correct_row_sum(arrays):
    P, r, mu = arrays
    P = P.copy()
    P[0, 0, 0] = [1.5, -0.5, 0.0]
    with pytest.raises(ValueError, match=re.escape("P[0, 0, 0, 1] is")):
        bnpg.MarkovGame(P, r, mu, 0.9)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_entries_are_refused(arrays, bad):
    P, r, mu = arrays
    P2 = P.copy()
    P2[1, 1, 1, 2] = bad
    with pytest.raises(ValueError, match=re.escape("P[1, 1, 1, 2] is") + ".*finite"):
        bnpg.MarkovGame(P2, r, mu, 0.9)
    r2 = r.copy()
    r2[2, 0, 1] = bad
    with pytest.raises(ValueError, match=re.escape("r[2, 0, 1] is") + ".*finite"):
        bnpg.MarkovGame(P, r2, mu, 0.9)
    mu2 = mu.copy()
    mu2[1] = bad
    with pytest.raises(ValueError, match=re.escape("mu[1] is") + ".*finite"):
        bnpg.MarkovGame(P, r, mu2, 0.9)
    with pytest.raises(ValueError, match="gamma must be finite"):
        bnpg.MarkovGame(P, r, mu, bad)


def test_mu_must_be_a_distribution(arrays):
    P, r, mu = arrays
    with pytest.raises(ValueError, match=re.escape("mu[1] is") + ".*>= 0"):
        bnpg.MarkovGame(P, r, [0.6, -0.1, 0.5], 0.9)
    with pytest.raises(ValueError, match="mu sums to"):
        bnpg.MarkovGame(P, r, [0.5, 0.2, 0.2], 0.9)
    with pytest.raises(ValueError, match="mu sums to"):
        bnpg.MarkovGame(P, r, mu + 2e-10, 0.9)  # the sum is off by 6e-10 > 1e-10


@pytest.mark.parametrize("gamma", [-1e-12, -0.5, 1.0, 1.5, 10])
def test_gamma_outside_unit_interval(arrays, gamma):
    P, r, mu = arrays
    with pytest.raises(ValueError, match=r"gamma must satisfy 0 <= gamma < 1"):
        bnpg.MarkovGame(P, r, mu, gamma)


def test_gamma_boundaries(arrays):
    P, r, mu = arrays
    assert bnpg.MarkovGame(P, r, mu, 0.0).gamma == 0.0
    below_one = np.nextafter(1.0, 0.0)
    assert bnpg.MarkovGame(P, r, mu, below_one).gamma == below_one


def test_shape_rules(arrays):
    P, r, mu = arrays
    with pytest.raises(ValueError, match=r"P must have shape .*at least one agent"):
        bnpg.MarkovGame(np.ones((2, 2)) / 2, np.zeros(2), [0.5, 0.5], 0.5)
    with pytest.raises(ValueError, match="P must start and end with the same number of states"):
        bnpg.MarkovGame(np.ones((3, 2, 3, 2)) / 2, r, mu, 0.9)
    with pytest.raises(ValueError, match="P must start and end"):
        bnpg.MarkovGame(np.ones((0, 2, 0)), np.zeros((0, 2)), np.zeros(0), 0.9)
    with pytest.raises(ValueError, match="every agent needs at least one action"):
        bnpg.MarkovGame(np.ones((3, 0, 3)) / 3, np.zeros((3, 0)), mu, 0.9)
    with pytest.raises(ValueError, match=r"r must have shape \(3, 2, 3\)"):
        bnpg.MarkovGame(P, r[:, :, :2], mu, 0.9)
    with pytest.raises(ValueError, match=r"r must have shape"):
        bnpg.MarkovGame(P, r[..., None], mu, 0.9)
    with pytest.raises(ValueError, match=r"mu must have shape \(3,\)"):
        bnpg.MarkovGame(P, r, [0.5, 0.5], 0.9)
    with pytest.raises(ValueError, match=r"mu must have shape \(3,\)"):
        bnpg.MarkovGame(P, r, mu[None], 0.9)


@pytest.mark.parametrize(
    "field, bad",
    [
        ("P", "P"),
        ("P", None),
        ("r", np.zeros((3, 2, 3), dtype=bool)),
        ("r", np.zeros((3, 2, 3), dtype=complex)),
        ("r", np.zeros((3, 2, 3), dtype=object)),
        ("r", b"bytes"),
        ("mu", [True, False, False]),
        ("mu", [1.0, "0", 0.0]),
        ("mu", [[1.0], [0.0, 0.0]]),  # ragged
        ("P", np.ones((3, 2, 3, 3), dtype=complex) / 3),
    ],
)
def test_wrong_array_types(arrays, field, bad):
    kwargs = dict(zip(("P", "r", "mu"), arrays, strict=True), gamma=0.9)
    kwargs[field] = bad
    with pytest.raises(TypeError, match=rf"^{field}\b"):
        bnpg.MarkovGame(**kwargs)


@pytest.mark.parametrize("bad", [True, np.bool_(False), 0.5 + 0j, "0.9", None, [0.9], np.array([0.9])])
def test_wrong_gamma_types(arrays, bad):
    P, r, mu = arrays
    with pytest.raises(TypeError, match="gamma must be a real number"):
        bnpg.MarkovGame(P, r, mu, bad)


# --------------------------------------------------------------------------------------------
# Read-only copies
# --------------------------------------------------------------------------------------------


def test_caller_arrays_are_copied(arrays):
    P, r, mu = (a.copy() for a in arrays)
    P0, r0, mu0 = (a.copy() for a in arrays)
    game = bnpg.MarkovGame(P, r, mu, 0.9)
    P[:] = 0.0
    r[:] = 99.0
    mu[:] = -1.0
    np.testing.assert_array_equal(game.P, P0)
    np.testing.assert_array_equal(game.r, r0)
    np.testing.assert_array_equal(game.mu, mu0)


def test_caller_arrays_are_not_modified(arrays):
    P, r, mu = arrays
    before = [a.copy() for a in arrays]
    flags = [a.flags.writeable for a in arrays]
    bnpg.MarkovGame(P, r, mu, 0.9)
    for a, b, f in zip(arrays, before, flags, strict=True):
        np.testing.assert_array_equal(a, b)
        assert a.flags.writeable == f


def test_game_arrays_are_read_only(arrays):
    game = bnpg.MarkovGame(*arrays, 0.9)
    for arr in (game.P, game.r, game.mu):
        assert not arr.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            arr[(0,) * arr.ndim] = 0.5
    with pytest.raises(AttributeError, match="gamma"):
        game.gamma = 0.5
    with pytest.raises(AttributeError, match="P"):
        game.P = np.zeros(3)


def test_equality(arrays):
    P, r, mu = arrays
    g1 = bnpg.MarkovGame(P, r, mu, 0.9)
    g2 = bnpg.MarkovGame(P.copy(), r.copy(), mu.copy(), 0.9)
    assert g1 == g2
    assert g1 != bnpg.MarkovGame(P, r, mu, 0.8)
    assert g1 != bnpg.MarkovGame(P, r + 1.0, mu, 0.9)
    assert g1 != "not a game"
    with pytest.raises(TypeError, match="unhashable"):
        hash(g1)


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def test_save_load_round_trip(tmp_path, arrays):
    P, r, mu = arrays
    game = bnpg.MarkovGame(P, r, mu, 0.95)
    path = tmp_path / "game.npz"
    game.save(path)
    loaded = bnpg.MarkovGame.load(path)
    assert loaded == game and loaded is not game
    np.testing.assert_array_equal(loaded.P, P)  # bit-for-bit
    np.testing.assert_array_equal(loaded.r, r)
    np.testing.assert_array_equal(loaded.mu, mu)
    assert loaded.gamma == 0.95
    assert not loaded.P.flags.writeable
    # The file holds plain arrays, readable without pickle.
    with np.load(path, allow_pickle=False) as data:
        assert {"P", "r", "mu", "gamma"} <= set(data.files)
        assert all(data[k].dtype != object for k in data.files)
    # A string path works too.
    game.save(str(tmp_path / "again.npz"))
    assert bnpg.MarkovGame.load(str(tmp_path / "again.npz")) == game


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_a_saved_game_has_the_mode_the_umask_gives(tmp_path, umask):
    game = bnpg.MarkovGame(np.ones((1, 2, 1)), [[0.0, 1.0]], [1.0], 0.5)
    previous = os.umask(umask)
    try:
        game.save(tmp_path / "game.npz")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(tmp_path / "game.npz").st_mode) == 0o666 & ~umask


def _write_game_file(path, **overrides):
    P = np.ones((1, 2, 1))
    fields = dict(format=np.array("bnpg.MarkovGame/1"), P=P, r=np.zeros((1, 2)), mu=np.ones(1),
                  gamma=np.array(0.5))
    fields.update(overrides)
    fields = {k: v for k, v in fields.items() if v is not None}
    np.savez(path, **fields)


def test_load_validates_like_the_constructor(tmp_path):
    path = tmp_path / "bad.npz"
    P = np.ones((1, 2, 1))
    P[0, 1, 0] = 0.9
    _write_game_file(path, P=P)
    with pytest.raises(ValueError, match=re.escape("P[0, 1, :] sums to")):
        bnpg.MarkovGame.load(path)
    _write_game_file(path, gamma=np.array(1.0))
    with pytest.raises(ValueError, match="gamma must satisfy"):
        bnpg.MarkovGame.load(path)
    _write_game_file(path, gamma=np.array([0.5, 0.5]))
    with pytest.raises(ValueError, match="gamma must be a scalar"):
        bnpg.MarkovGame.load(path)


@pytest.mark.parametrize("missing", ["P", "r", "mu", "gamma"])
def test_load_missing_key(tmp_path, missing):
    path = tmp_path / "g.npz"
    _write_game_file(path, **{missing: None})
    with pytest.raises(ValueError, match=rf"without the arrays \['{missing}'\]"):
        bnpg.MarkovGame.load(path)


def test_load_foreign_npz_names_the_missing_arrays(tmp_path):
    path = tmp_path / "foreign.npz"
    np.savez(path, x=np.arange(3), y=np.ones(2))
    with pytest.raises(ValueError) as info:
        bnpg.MarkovGame.load(path)
    message = str(info.value)
    assert "foreign.npz" in message and "['x', 'y']" in message
    assert "without the arrays ['P', 'r', 'mu', 'gamma']" in message
    assert "np.savez(path, P=P, r=r, mu=mu, gamma=gamma)" in message  # what was expected


def test_load_refuses_another_kind_of_bnpg_file(tmp_path):
    path = tmp_path / "point.npz"
    _write_game_file(path, format=np.array("bnpg.instance/1"))
    with pytest.raises(ValueError, match=re.escape("is a 'bnpg.instance/1' file of bnpg, not a game")):
        bnpg.MarkovGame.load(path)


def test_load_pickled_array_is_refused(tmp_path):
    path = tmp_path / "pickled.npz"
    _write_game_file(path, r=np.array([[0.0, object()]], dtype=object))
    with pytest.raises(ValueError) as info:
        bnpg.MarkovGame.load(path)
    message = str(info.value)
    assert "pickled.npz" in message and "array 'r'" in message
    assert "refused because reading it would need pickle" in message and "allow_pickle" not in message


@pytest.mark.parametrize(
    "content, kind",
    [
        (b"this is not an archive at all", "a text file (it begins 'this is not an archive at all')"),
        (b"P,r,mu,gamma\n0.5,1,1,0.9\n", "a text file (it begins 'P,r,mu,gamma')"),
        (b"", "an empty file"),
        (b"\x00\x01\x02binary", "a binary file of another kind"),
    ],
)
def test_load_a_file_that_is_not_an_archive_says_what_it_is(tmp_path, content, kind):
    path = tmp_path / "renamed.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError) as info:
        bnpg.MarkovGame.load(path)
    message = str(info.value)
    assert message.startswith(f"path {str(path)!r} is {kind}")
    assert "not an .npz archive; expected an .npz archive of the arrays P, r, mu and gamma" in message
    assert "allow_pickle" not in message


def test_load_a_pickle_renamed_npz_is_refused_without_unpickling(tmp_path):
    import pickle

    path = tmp_path / "game.npz"
    path.write_bytes(pickle.dumps({"P": np.ones((1, 2, 1))}))
    with pytest.raises(ValueError) as info:
        bnpg.MarkovGame.load(path)
    assert "is a pickle, refused because reading it would need pickle" in str(info.value)
    assert "allow_pickle" not in str(info.value)


def test_load_a_zip_of_other_files(tmp_path):
    import zipfile

    path = tmp_path / "game.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for key in ("P", "r", "mu", "gamma"):
            archive.writestr(key, "1")  # members named like the arrays, but not .npy files
    with pytest.raises(ValueError, match="member 'P' of the archive is not a numpy array"):
        bnpg.MarkovGame.load(path)


def test_load_a_folder_or_a_non_path(tmp_path):
    with pytest.raises(ValueError, match="is a folder; expected an .npz archive"):
        bnpg.MarkovGame.load(tmp_path)
    for bad in (3, None, b"game.npz", ["game.npz"]):
        with pytest.raises(TypeError, match="path must be a file path"):
            bnpg.MarkovGame.load(bad)


def test_load_garbage_file(tmp_path):
    path = tmp_path / "garbage.npz"
    path.write_bytes(b"this is not an archive at all")
    with pytest.raises(ValueError, match="garbage.npz"):
        bnpg.MarkovGame.load(path)


def test_load_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.npz"):
        bnpg.MarkovGame.load(tmp_path / "nowhere.npz")


def test_load_truncated_npz(tmp_path):
    path = tmp_path / "game.npz"
    bnpg.MarkovGame(np.ones((1, 2, 1)), [[0.0, 1.0]], [1.0], 0.5).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="is a damaged or truncated .npz archive"):
        bnpg.MarkovGame.load(path)


def test_load_npy_instead_of_npz(tmp_path):
    path = tmp_path / "array.npy"
    np.save(path, np.ones(3))
    with pytest.raises(ValueError, match=re.escape("array.npy' is a single numpy array (.npy), not an .npz")):
        bnpg.MarkovGame.load(path)


# --------------------------------------------------------------------------------------------
# A game written with numpy alone
# --------------------------------------------------------------------------------------------


def test_a_game_written_by_np_savez_alone_is_read(tmp_path):
    rng = np.random.default_rng(11)
    P = rng.dirichlet(np.ones(3), size=(3, 2, 4))
    r = rng.uniform(-1.0, 2.0, size=(3, 2, 4))
    mu = np.array([0.25, 0.25, 0.5])
    path = tmp_path / "plain.npz"
    np.savez(path, P=P, r=r, mu=mu, gamma=0.8)  # no marker, gamma a plain float
    with np.load(path) as data:
        assert sorted(data.files) == ["P", "gamma", "mu", "r"]
    game = bnpg.MarkovGame.load(path)
    np.testing.assert_array_equal(game.P, P)
    np.testing.assert_array_equal(game.r, r)
    np.testing.assert_array_equal(game.mu, mu)
    assert game.gamma == 0.8 and game.action_sizes == (2, 4) and game.n_states == 3
    # The same game through save: the two files read to equal games.
    game.save(tmp_path / "saved.npz")
    assert bnpg.MarkovGame.load(tmp_path / "saved.npz") == game
    # Python lists, integer arrays and further arrays are read too (the further arrays ignored).
    np.savez(path, P=[[[1, 0], [0, 1]], [[0, 1], [1, 0]]], r=[[1, 0], [0, 1]], mu=[1, 0], gamma=0,
             notes=np.array("my coordination game"))
    small = bnpg.MarkovGame.load(path)
    assert small.P.dtype == np.float64 and small.gamma == 0.0 and small.r.tolist() == [[1, 0], [0, 1]]
    assert not small.P.flags.writeable


def _bad_arrays():
    P = np.full((2, 2, 2), 0.5)
    r, mu = np.zeros((2, 2)), np.array([0.5, 0.5])
    bad_row = P.copy()
    bad_row[1, 0, 1] = 0.4
    negative = P.copy()
    negative[0, 1] = [1.5, -0.5]
    return [
        ("row sum", dict(P=bad_row, r=r, mu=mu, gamma=0.5)),
        ("negative", dict(P=negative, r=r, mu=mu, gamma=0.5)),
        ("r shape", dict(P=P, r=np.zeros((2, 3)), mu=mu, gamma=0.5)),
        ("mu sum", dict(P=P, r=r, mu=np.array([0.5, 0.4]), gamma=0.5)),
        ("mu shape", dict(P=P, r=r, mu=np.ones(1), gamma=0.5)),
        ("gamma one", dict(P=P, r=r, mu=mu, gamma=1.0)),
        ("nan reward", dict(P=P, r=np.array([[np.nan, 0.0], [0.0, 0.0]]), mu=mu, gamma=0.5)),
        ("P one axis", dict(P=np.ones(2) / 2, r=r, mu=mu, gamma=0.5)),
        ("string gamma", dict(P=P, r=r, mu=mu, gamma="0.5")),
        ("boolean r", dict(P=P, r=np.zeros((2, 2), dtype=bool), mu=mu, gamma=0.5)),
    ]


@pytest.mark.parametrize("fields", [f for _, f in _bad_arrays()], ids=[i for i, _ in _bad_arrays()])
def test_a_plain_np_savez_game_is_validated_exactly_like_the_constructor(tmp_path, fields):
    with pytest.raises((TypeError, ValueError)) as direct:
        bnpg.MarkovGame(**fields)
    path = tmp_path / "plain.npz"
    np.savez(path, **fields)
    with pytest.raises(direct.type) as loaded:
        bnpg.MarkovGame.load(path)
    assert str(loaded.value) == f"path {str(path)!r}: {direct.value}"


def test_a_game_that_would_not_fit_in_memory_is_refused_before_any_copy(monkeypatch):
    import bnpg._validation as validation

    P = np.full((2, 2, 2, 2), 0.5)
    monkeypatch.setattr(validation, "available_memory", lambda: 100)
    # one copy of P (16 entries), of r and of the row sums (8 each): 32 float64 entries, 256 bytes
    with pytest.raises(MemoryError, match=r"P of shape \(2, 2, 2, 2\) needs about 2\.38e-07 GiB, but only 9\.31e-08 GiB"):
        bnpg.MarkovGame(P, np.zeros((2, 2, 2)), [0.5, 0.5], 0.5)
    monkeypatch.setattr(validation, "available_memory", lambda: 256)
    bnpg.MarkovGame(P, np.zeros((2, 2, 2)), [0.5, 0.5], 0.5)
    monkeypatch.setattr(validation, "available_memory", lambda: None)  # unknown: no check
    bnpg.MarkovGame(P, np.zeros((2, 2, 2)), [0.5, 0.5], 0.5)


def test_a_game_copies_its_arrays_once():
    import tracemalloc

    P = np.random.default_rng(0).dirichlet(np.ones(2), size=(2,) + (2,) * 14)
    r = np.zeros(P.shape[:-1])
    tracemalloc.start()
    try:
        bnpg.MarkovGame(P, r, [0.5, 0.5], 0.9)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # a copy of P, a copy of r (half of P here) and the row sums (half of P): twice P in all
    assert peak <= 2.05 * P.nbytes
