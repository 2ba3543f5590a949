r"""Result files: studies' tables and saved points, written whole or not at all.

A study's results are a dictionary of equal-length numpy arrays (one entry per instance) plus scalar
metadata (:func:`collate`); :func:`save_results` and :func:`load_results` write and read them as
``.npz`` or JSON, without pickle. :func:`save_instance` keeps a (game, DAG, :math:`\lambda`, policy)
point so that a notebook can reload and check it again.

Every writer checks its path before any work (:func:`check_output_path`) and writes through
:func:`atomic_write`: the file appears complete, under its final name, or not at all, so an
interrupted or failed run never leaves a half-written file.
"""

from __future__ import annotations

import os
import secrets
import zipfile
from collections.abc import Callable

import numpy as np

from bnpg._json import dumps, loads, to_jsonable
from bnpg._validation import non_negative
from bnpg.model.dag import DAG
from bnpg.model.game import MarkovGame
from bnpg.model.policy import BNPolicy, check_game_and_dag, check_policy

__all__ = [
    "RESULT_EXTENSIONS",
    "atomic_write",
    "atomic_write_text",
    "check_output_path",
    "code_without_docstrings",
    "collate",
    "load_instance",
    "load_results",
    "save_instance",
    "save_results",
]

#: File types :func:`save_results` writes, by extension.
RESULT_EXTENSIONS = (".npz", ".json")
_INSTANCE_FORMAT = "bnpg.instance/1"


def check_output_path(path, extensions: tuple[str, ...], *, name: str = "path") -> str:
    """Return ``path`` as a string after checking that a file of this type can be written there.

    The extension must be one of ``extensions`` (case-insensitive); the folder must exist (or be
    creatable below an existing, writable folder) and ``path`` must not be a folder. Nothing is
    created.

    Raises
    ------
    ValueError
        Naming ``name`` and what is wrong.

    Examples
    --------
    >>> import tempfile, os
    >>> check_output_path(os.path.join(tempfile.mkdtemp(), "out.json"), (".json",)).endswith("out.json")
    True
    >>> try:
    ...     check_output_path("out.csv", (".json", ".npz"))
    ... except ValueError as exc:
    ...     print(exc)
    path 'out.csv' must end in .json or .npz
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path, got {type(path).__name__}")
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in extensions:
        raise ValueError(f"{name} {path!r} must end in {' or '.join(extensions)}")
    if os.path.isdir(path):
        raise ValueError(f"{name} {path!r} is a folder, not a file")
    folder = os.path.dirname(os.path.abspath(path))
    existing = folder
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise ValueError(f"{name} {path!r}: {existing!r} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{name} {path!r}: the folder {existing!r} is not writable")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise ValueError(f"{name} {path!r} exists and is not writable")
    return path


def atomic_write(path, write: Callable[[str], None]) -> None:
    """Call ``write(temporary_path)``, then rename the temporary file to ``path``.

    The temporary file sits in the same folder (created if missing), so the rename is atomic; if
    ``write`` raises, or the run is interrupted (``KeyboardInterrupt``), the temporary file is removed
    and ``path`` is left as it was. The file is created with the permissions of any new file of the
    user, ``0o666`` less the umask (``0o644`` under the usual umask ``0o022``), so that it can be
    shared as a file written by any other program.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    write : callable
        ``write(temporary_path)`` writes the whole file at ``temporary_path``, a file that exists
        and is empty; it may open it again (``open(temporary_path, "w")`` keeps its permissions).

    Examples
    --------
    >>> import tempfile, os
    >>> target = os.path.join(tempfile.mkdtemp(), "a.txt")
    >>> atomic_write(target, lambda tmp: open(tmp, "w").write("done"))
    >>> open(target).read()
    'done'
    >>> umask = os.umask(0); _ = os.umask(umask)   # read the umask, leave it as it was
    >>> os.stat(target).st_mode & 0o777 == 0o666 & ~umask
    True
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a path, got {type(path).__name__}")
    if not callable(write):
        raise TypeError(f"write must be callable, got {type(write).__name__}")
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    base, ext = os.path.splitext(os.path.basename(path))
    tmp = _new_file(folder, f".{base}.", f".part{ext}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _new_file(folder: str, prefix: str, suffix: str) -> str:
    """Create an empty file of a fresh name in ``folder``, mode ``0o666`` less the umask; return its path.

    ``tempfile.mkstemp`` would create it ``0o600`` whatever the umask; ``os.open`` with mode ``0o666``
    lets the system apply the umask (and a folder's default ACL) as it does for any new file.
    """
    for _ in range(100):
        candidate = os.path.join(folder, f"{prefix}{secrets.token_hex(4)}{suffix}")
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return candidate
    raise FileExistsError(f"no free temporary name {prefix}...{suffix} in {folder!r}")  # pragma: no cover


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` to ``path`` as UTF-8 with :func:`atomic_write`.

    >>> import tempfile, os
    >>> target = os.path.join(tempfile.mkdtemp(), "a.json")
    >>> atomic_write_text(target, "{}")
    >>> open(target, encoding="utf-8").read()
    '{}'
    """

    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)

    atomic_write(path, write)


def collate(records: list[dict], meta: dict) -> dict:
    """One array per key of the records (all with the same keys), plus the metadata.

    >>> out = collate([{"x": 1.0}, {"x": 2.0}], {"study": "demo"})
    >>> out["x"].tolist(), out["study"]
    ([1.0, 2.0], 'demo')
    """
    keys = list(records[0]) if records else []
    out = {k: np.array([rec[k] for rec in records]) for k in keys}
    out.update(meta)
    return out


def _column(value):
    arr = np.asarray(value)
    if arr.dtype.kind not in "Ubiuf":
        raise TypeError(f"cannot write a value of dtype {arr.dtype} to JSON")
    return to_jsonable(arr)


def save_results(path, results: dict) -> None:
    """Write a study's results to ``.npz`` (no pickle) or ``.json``, chosen by the file extension.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "r.json")
    >>> save_results(path, {"x": np.array([1.0, np.inf]), "study": "demo"})
    >>> load_results(path)["x"]
    array([ 1., inf])
    """
    path = check_output_path(path, RESULT_EXTENSIONS)
    if not isinstance(results, dict):
        raise TypeError(f"results must be a dict, got {type(results).__name__}")
    if path.lower().endswith(".npz"):
        arrays = {k: np.asarray(v) for k, v in results.items()}
        for k, v in arrays.items():
            if v.dtype == object:
                raise TypeError(f"results[{k!r}] has object dtype, which .npz cannot hold without pickle")

        def write(tmp):
            with open(tmp, "wb") as fh:
                np.savez(fh, **arrays)

        atomic_write(path, write)
    else:
        atomic_write_text(path, dumps({k: _column(v) for k, v in results.items()}, indent=1))


def load_results(path) -> dict:
    """Read results written by :func:`save_results`: a dict of numpy arrays (scalars as 0-d arrays)."""
    path = os.fspath(path)
    if path.lower().endswith(".npz"):
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    if path.lower().endswith(".json"):
        with open(path, encoding="utf-8") as fh:
            return {k: np.array(v) for k, v in loads(fh.read()).items()}
    raise ValueError(f"path must end in .npz or .json, got {path!r}")


def save_instance(path, game: MarkovGame, dag: DAG, lam: float, policy: BNPolicy) -> None:
    """Write a (game, DAG, lambda, policy) point to ``.npz`` so a notebook can reload and re-check it.

    >>> import os, tempfile
    >>> from bnpg.experiments.instances import lemma_instance
    >>> inst = lemma_instance(0, 1)
    >>> path = os.path.join(tempfile.mkdtemp(), "point.npz")
    >>> save_instance(path, inst.game, inst.dag, inst.lam, inst.policy)
    >>> game, dag, lam, policy = load_instance(path)
    >>> game == inst.game, dag == inst.dag, lam == inst.lam, bool((policy.flat() == inst.policy.flat()).all())
    (True, True, True, True)
    """
    path = check_output_path(path, (".npz",))
    check_policy(game, policy)
    check_game_and_dag(game, dag)
    if policy.dag != dag:
        raise ValueError(f"policy is on {policy.dag!r}, not on dag {dag!r}")
    lam = non_negative("lam", lam)
    edges = np.array(dag.edges, dtype=int).reshape(-1, 2)

    def write(tmp):
        with open(tmp, "wb") as fh:
            np.savez(
                fh, format=np.array(_INSTANCE_FORMAT), P=game.P, r=game.r, mu=game.mu,
                gamma=np.array(game.gamma), n_agents=np.array(dag.n_agents), edges=edges,
                lam=np.array(lam), theta=policy.flat(),
            )

    atomic_write(path, write)


def load_instance(path) -> tuple[MarkovGame, DAG, float, BNPolicy]:
    """Read what :func:`save_instance` wrote, validating every part again."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, AttributeError) as exc:
        raise ValueError(f"path {os.fspath(path)!r} is not a readable .npz file: {exc}") from None
    if str(arrays.get("format", "")) != _INSTANCE_FORMAT:
        raise ValueError(f"path {os.fspath(path)!r} is not a bnpg instance file")
    game = MarkovGame(arrays["P"], arrays["r"], arrays["mu"], arrays["gamma"].item())
    dag = DAG.from_edges(int(arrays["n_agents"]), [tuple(int(x) for x in e) for e in arrays["edges"]])
    policy = BNPolicy(game, dag).with_flat(arrays["theta"])
    return game, dag, float(arrays["lam"]), policy


def code_without_docstrings(obj) -> str:
    """The source of a function or class with the lines of its docstrings cut out.

    The fingerprints of shipped results hash this, so that an edit to the prose of the code that
    made them does not make them stale, while any edit to the code does.

    >>> code = code_without_docstrings(collate)
    >>> code.splitlines()[0], "One array per key" in code
    ('def collate(records: list[dict], meta: dict) -> dict:', False)
    """
    import ast
    import inspect
    import textwrap

    source = textwrap.dedent(inspect.getsource(obj))
    lines = source.splitlines()
    drop = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            drop.update(range(body[0].lineno - 1, body[0].end_lineno))
    return "\n".join(line for k, line in enumerate(lines) if k not in drop)
