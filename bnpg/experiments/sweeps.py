"""Sweeps of independent instances: in parallel, on a Dask cluster, resumable, identical to a serial run.

A sweep evaluates ``function(k, *args)`` for every instance ``k = 0, ..., n - 1``. Every instance is a
pure function of its index and the sweep's arguments (each draws from a generator seeded by
``(seed, k)``), so the results do not depend on where or in which order the instances run; they are
gathered in instance order, and a sweep returns the same list whatever ``jobs`` or ``scheduler``.

Where and how a sweep runs is one frozen value, :class:`SweepOptions`, that :func:`run_sweep` and every
study take as ``sweep=``:

* ``jobs=N`` runs the instances in ``N`` worker processes through joblib (``jobs=1``: in this process).
* ``scheduler=ADDRESS`` (or the environment variable ``BNPG_SCHEDULER``) sends them to an existing Dask
  cluster through joblib's Dask backend; dask and distributed are the optional extra ``bnpg[dask]``.
* ``store=PATH`` writes each finished instance to ``PATH`` as it arrives, one JSON line per instance
  after a header that names the sweep, its arguments and the bnpg version. Rerunning the same sweep
  with the same store skips the instances found there. A last line cut short by a kill is dropped;
  a store of another sweep, other arguments, another version, or with a damaged line elsewhere is
  refused with a message, never mixed in. Lines are strict JSON written by :mod:`bnpg._json`
  (non-finite floats as ``"inf"``, ``"-inf"``, ``"nan"``); stores with bare ``NaN`` tokens are read too.
* ``progress=True`` shows a tqdm bar on stderr that counts all instances (resumed ones included)
  whatever the backend, with tqdm's rate and estimate of the time left, and a summary line with the
  wall time and the number of workers; a callable ``progress(done, total, label)``
  (:mod:`bnpg._progress`) is called instead, with the sweep's name as ``label``.

Every result passes through the JSON codec, with or without a store, so a sweep returns the same
values of the same types whether it ran fresh, resumed, serially or in parallel.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from bnpg._json import dumps, from_jsonable, loads, to_jsonable
from bnpg._progress import ProgressBar, check_progress
from bnpg._validation import integer

__all__ = ["CONNECT_TIMEOUT", "SCHEDULER_VARIABLE", "STORE_FORMAT", "StoreError", "SweepOptions", "read_store",
           "run_sweep", "sweep_options"]

#: The environment variable naming a Dask scheduler when ``scheduler`` is not given.
SCHEDULER_VARIABLE = "BNPG_SCHEDULER"
#: Seconds to wait for a Dask scheduler to answer.
CONNECT_TIMEOUT = 10
#: The first field of a store's header.
STORE_FORMAT = "bnpg.sweep/1"


class StoreError(ValueError):
    """A result store that cannot be resumed: another sweep's, or damaged."""


@dataclass(frozen=True)
class SweepOptions:
    """Where a sweep's instances run, where finished ones are kept, and how progress is shown.

    None of these changes a sweep's results. Every value is checked when the options are made.

    Attributes
    ----------
    jobs : int, default 1
        Worker processes on this machine, ``>= 1`` (ignored with a scheduler).
    scheduler : str, optional
        The address of a Dask scheduler, such as ``"tcp://host:8786"``; default the environment
        variable ``BNPG_SCHEDULER``, read when the sweep runs.
    store : path, optional
        The JSON-lines file of finished instances (see the module docstring).
    progress : bool or callable, default False
        ``True``: a progress bar and a summary line on stderr; a callable: called as
        ``progress(done, total, label)`` (:mod:`bnpg._progress`); ``False`` or ``None``: nothing.

    Examples
    --------
    >>> options = SweepOptions(jobs=2)
    >>> options.jobs, options.with_(store="runs.jsonl").store
    (2, 'runs.jsonl')
    >>> try:
    ...     SweepOptions(jobs=0)
    ... except ValueError as exc:
    ...     print(exc)
    jobs must be >= 1, got 0
    """

    jobs: int = 1
    scheduler: str | None = None
    store: str | os.PathLike | None = None
    progress: object = False

    def __post_init__(self):
        object.__setattr__(self, "jobs", integer("jobs", self.jobs, minimum=1))
        if self.scheduler is not None and (not isinstance(self.scheduler, str) or not self.scheduler):
            raise TypeError(f"scheduler must be an address such as 'tcp://host:8786', got {self.scheduler!r}")
        if self.store is not None and not isinstance(self.store, (str, os.PathLike)):
            raise TypeError(f"store must be a path or None, got {type(self.store).__name__}")
        if self.store is not None and not os.fspath(self.store):
            raise ValueError("store must not be an empty path")
        if not isinstance(self.progress, bool):
            check_progress("progress", self.progress)
            if self.progress is None:
                object.__setattr__(self, "progress", False)

    def with_(self, **changes) -> SweepOptions:
        """A copy with ``changes`` applied (and checked); this one is unchanged.

        >>> SweepOptions(jobs=2).with_(progress=True)
        SweepOptions(jobs=2, scheduler=None, store=None, progress=True)
        """
        return replace(self, **changes)


def sweep_options(sweep) -> SweepOptions:
    """``sweep`` if it is a :class:`SweepOptions`, the defaults if it is ``None``; else a ``TypeError``.

    >>> sweep_options(None)
    SweepOptions(jobs=1, scheduler=None, store=None, progress=False)
    """
    if sweep is None:
        return SweepOptions()
    if not isinstance(sweep, SweepOptions):
        raise TypeError(f"sweep must be a SweepOptions or None, got {type(sweep).__name__}")
    return sweep


def _header(name: str, arguments: dict, n_instances: int) -> dict:
    from bnpg._version import __version__

    try:   # as the store holds it: tuples become lists, non-finite floats strings
        arguments = to_jsonable(arguments)
    except (TypeError, ValueError):
        raise TypeError(f"arguments must be JSON-serialisable, got {arguments!r}") from None
    return {"format": STORE_FORMAT, "sweep": name, "arguments": arguments, "n_instances": n_instances,
            "bnpg_version": __version__}


def read_store(path, header: dict) -> dict[int, object]:
    """The finished instances of the store at ``path``, checked against the sweep's ``header``.

    The header is checked first; then a last line without its newline (a write cut short) is dropped
    from the file. Anything else that is not a line this sweep wrote raises :class:`StoreError`, and
    the file is left as it was.

    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> head = _header("demo", {"seed": 0}, 3)
    >>> read_store(os.path.join(folder, "none.jsonl"), head)
    {}
    """
    if not os.path.exists(path):
        return {}
    with open(path, "rb") as fh:
        data = fh.read()
    if b"\n" not in data and (dumps(header) + "\n").encode().startswith(data):
        data = b""                      # killed while writing the header: start again
        with open(path, "wb"):
            pass
    if not data:
        return {}
    first = data.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    try:
        found = json.loads(first)
    except json.JSONDecodeError:
        raise StoreError(f"store {path!r} does not start with a bnpg sweep header") from None
    if not isinstance(found, dict) or found.get("format") != STORE_FORMAT:
        raise StoreError(f"store {path!r} is not a bnpg sweep store")
    for key in ("sweep", "arguments", "n_instances", "bnpg_version"):
        if to_jsonable(from_jsonable(found.get(key))) != header[key]:
            raise StoreError(f"store {path!r} belongs to another sweep: its {key} is {found.get(key)!r}, "
                             f"this sweep's is {header[key]!r}; remove it or choose another store")
    if not data.endswith(b"\n"):        # the last write was cut short: drop it (the header is whole)
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            raise StoreError(f"store {path!r} has no complete header line")
        with open(path, "r+b") as fh:
            fh.truncate(cut)
        data = data[:cut]
    lines = data.decode("utf-8", errors="replace").splitlines()
    done: dict[int, object] = {}
    for number, line in enumerate(lines[1:], start=2):
        try:
            row = loads(line)
            k = row["index"]
            result = row["result"]
        except (json.JSONDecodeError, KeyError, TypeError):
            raise StoreError(f"store {path!r} is damaged at line {number}; remove it to start again") from None
        if not isinstance(k, int) or not 0 <= k < header["n_instances"] or k in done:
            raise StoreError(f"store {path!r} line {number}: instance {k!r} is out of range or repeated")
        done[k] = result
    return done


def _append(fh, line: str) -> None:
    fh.write(line + "\n")
    fh.flush()
    os.fsync(fh.fileno())


def _as_stored(k: int, result) -> tuple[str, object]:
    """The store's line for instance ``k``, and ``result`` as read back from it."""
    try:
        line = dumps({"index": k, "result": result})
    except (TypeError, ValueError) as exc:
        raise TypeError(f"instance {k}: the result must be JSON-serialisable ({exc})") from None
    return line, loads(line)["result"]


def _resolve_scheduler(scheduler):
    if scheduler is None:
        scheduler = os.environ.get(SCHEDULER_VARIABLE) or None
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler):
        raise TypeError(f"scheduler must be an address such as 'tcp://host:8786', got {scheduler!r}")
    return scheduler


def _call(function: Callable, k: int, args: tuple):
    return k, function(k, *args)


def run_sweep(function: Callable, n_instances: int, *, args: Sequence = (), name: str = "sweep",
              arguments: dict | None = None, sweep: SweepOptions | None = None) -> list:
    """``[function(k, *args) for k in range(n_instances)]``, run as the module docstring says.

    Parameters
    ----------
    function : callable
        A module-level function (worker processes import it) returning a JSON-serialisable result.
    n_instances : int
    args : sequence
        Further arguments of ``function``, the same for every instance.
    name, arguments : str, dict
        What the store's header records; a store is resumed only by the same name and arguments.
    sweep : SweepOptions, optional
        Where the instances run, the store, and the progress shown; default ``SweepOptions()``
        (serial, no store, silent).

    Returns
    -------
    list
        The results in instance order, as read back from JSON (numpy values become Python ones,
        tuples lists), so that a fresh, a resumed and a parallel sweep return the same values of the
        same types.

    Examples
    --------
    >>> run_sweep(pow, 4, args=(2,))
    [0, 1, 4, 9]
    >>> run_sweep(pow, 3, args=(2,), sweep=SweepOptions(progress=lambda done, total, label: None))
    [0, 1, 4]
    """
    n_instances = integer("n_instances", n_instances, minimum=0)
    sweep = sweep_options(sweep)
    scheduler = _resolve_scheduler(sweep.scheduler)
    store = sweep.store
    args = tuple(args)
    header = _header(name, arguments or {}, n_instances)
    done: dict[int, object] = {}
    if store is not None:
        done = read_store(store, header)
    todo = [k for k in range(n_instances) if k not in done]
    start = time.perf_counter()
    results, workers = _execute(function, todo, args, sweep.jobs, scheduler)   # a scheduler is reached first
    bar = ProgressBar(name, unit="instance") if sweep.progress is True else None
    report = bar if bar is not None else (sweep.progress or None)
    fh = None
    try:
        if report is not None:
            report(len(done), n_instances, name)
        if store is not None:
            os.makedirs(os.path.dirname(os.path.abspath(store)), exist_ok=True)
            fresh = not os.path.exists(store) or os.path.getsize(store) == 0
            fh = open(store, "a", encoding="utf-8")
            if fresh:
                fh.write(dumps(header) + "\n")
                fh.flush()
        for k, result in results:
            line, done[k] = _as_stored(k, result)
            if fh is not None:
                _append(fh, line)
            if report is not None:
                report(len(done), n_instances, name)
    finally:
        getattr(results, "close", lambda: None)()     # ends a Dask client even if no result was read
        if fh is not None:
            fh.close()
        if bar is not None:
            bar.close()
    if bar is not None:
        plural = "es" if workers != 1 else ""
        where = (f"the Dask cluster at {scheduler} ({workers} workers)" if scheduler
                 else f"{workers} worker process{plural}")
        print(f"{name}: {n_instances} instances ({n_instances - len(todo)} resumed from the store) in "
              f"{time.perf_counter() - start:.1f} s on {where}", file=sys.stderr)
    return [done[k] for k in range(n_instances)]


def _execute(function, todo, args, jobs, scheduler):
    """An iterator of ``(k, result)`` as instances finish, and the number of workers."""
    if not todo:
        return iter(()), 0
    if scheduler is None and jobs == 1:
        return (_call(function, k, args) for k in todo), 1
    import joblib

    calls = (joblib.delayed(_call)(function, k, args) for k in todo)
    if scheduler is None:
        parallel = joblib.Parallel(n_jobs=jobs, return_as="generator_unordered")
        return parallel(calls), jobs
    return _on_dask(scheduler, calls)


def _on_dask(scheduler: str, calls):
    try:
        from distributed import Client
    except ImportError:
        raise ImportError("a scheduler needs dask and distributed: pip install 'bnpg[dask]'") from None
    import joblib

    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ValueError(f"scheduler {scheduler!r}: cannot reach a Dask scheduler there ({exc})") from None
    workers = len(client.scheduler_info()["workers"])

    def results():
        try:
            with joblib.parallel_config(backend="dask"):
                yield from joblib.Parallel(return_as="generator_unordered")(calls)
        finally:
            client.close()

    return results(), workers
