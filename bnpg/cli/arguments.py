"""What the subcommands of ``bnpg`` share: argument types, output checks, the sweep options, and the run
of a study from parsed arguments to a written file.

Every argument and every output path is checked before any work starts; a bad one raises
:class:`Refused` (after parsing) or ends the parser with a one-line message (while parsing), and
:func:`bnpg.cli.main` turns either into exit status 2 with nothing written.

>>> count("--seeds")("3"), ints("2,3"), pair("0.5,0.9")
(3, (2, 3), (0.5, 0.9))
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

__all__ = [
    "DAG_CHOICES",
    "Parser",
    "Refused",
    "count",
    "ints",
    "outputs",
    "pair",
    "positive_float",
    "run_study",
    "sweep_arguments",
]

#: The named DAGs of ``bnpg check --dag``, each the constructor of :class:`bnpg.DAG` of that name
#: (``product`` and ``empty`` are the same network, without edges).
DAG_CHOICES = ("product", "empty", "chain", "full")

_SWEEP_EPILOG = ("Finished instances are kept in OUT.sweep.jsonl as they arrive; rerunning the same command "
                 "after an interruption skips them, and the file is removed once OUT is written.")


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


class Refused(Exception):
    """A bad argument found after parsing; the message names it."""


def positive_float(name: str) -> Callable[[str], float]:
    """A parser of a finite number > 0 for the option ``name``.

    >>> positive_float("--lam")("0.5")
    0.5
    """
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, got {text!r}") from None
        if not value > 0 or value == float("inf"):
            raise argparse.ArgumentTypeError(f"{name} must be a finite number > 0, got {text!r}")
        return value
    return parse


def count(name: str, minimum: int = 1) -> Callable[[str], int]:
    """A parser of an integer ``>= minimum`` for the option ``name``.

    >>> count("--seed", 0)("0")
    0
    """
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{name} must be >= {minimum}, got {value}")
        return value
    return parse


def ints(text: str) -> tuple[int, ...]:
    """Comma-separated integers.

    >>> ints("2")
    (2,)
    """
    try:
        return tuple(int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def pair(text: str) -> tuple[float, float]:
    """Two comma-separated numbers.

    >>> pair("0.01,0.1")
    (0.01, 0.1)
    """
    try:
        low, high = (float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected two comma-separated numbers, got {text!r}") from None
    return low, high


def sweep_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options every sweep shares: where it runs, and its progress bar."""
    parser.add_argument("--jobs", type=count("--jobs"), default=1,
                        help="worker processes on this machine (default 1); the results do not depend on it")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="run on the Dask cluster whose scheduler is at ADDRESS (default: the environment "
                        "variable BNPG_SCHEDULER, if set); needs pip install 'bnpg[dask]'")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar or summary on stderr")
    parser.epilog = _SWEEP_EPILOG


def outputs(pairs) -> dict:
    """Check every output path before any work: ``pairs`` of ``(option, path or None, extensions)``;
    returns ``{option: path}`` for the paths given, or raises :class:`Refused`.

    >>> outputs([("--json", None, (".json",))])
    {}
    """
    from bnpg.experiments.results import check_output_path

    out = {}
    for option, path, extensions in pairs:
        if path is None:
            continue
        try:
            out[option] = check_output_path(path, extensions, name=option)
        except (ValueError, TypeError) as exc:
            raise Refused(str(exc)) from None
    resolved = [os.path.abspath(p) for p in out.values()]
    if len(set(resolved)) < len(resolved):
        raise Refused(f"{' and '.join(out)} name the same file")
    return out


def run_study(args: argparse.Namespace, study: Callable, summary: Callable[[dict], str]) -> int:
    """Run ``study(sweep)`` with the sweep options of ``args`` and write its results to ``args.out``.

    ``--out`` is checked first; finished instances are kept in ``OUT.sweep.jsonl`` (removed once
    ``OUT`` is written); a ``TypeError``, ``ValueError`` or ``ImportError`` (a scheduler without
    ``bnpg[dask]``) of the study becomes :class:`Refused`. An interruption (``KeyboardInterrupt``)
    leaves ``OUT`` unwritten and the store in place, and says so. Prints ``summary(results)``.
    """
    from bnpg.experiments.results import RESULT_EXTENSIONS, save_results
    from bnpg.experiments.sweeps import SweepOptions

    out = outputs([("--out", args.out, RESULT_EXTENSIONS)])["--out"]
    store = out + ".sweep.jsonl"
    try:
        try:
            sweep = SweepOptions(jobs=args.jobs, scheduler=args.scheduler, store=store,
                                 progress=not args.no_progress)
            results = study(sweep)
        except (TypeError, ValueError, ImportError) as exc:
            raise Refused(str(exc)) from None
        save_results(out, results)
    except KeyboardInterrupt:
        if os.path.exists(store):
            raise KeyboardInterrupt(f"the finished instances are kept in {store}; the same command "
                                    "resumes from them") from None
        raise
    if os.path.exists(store):
        os.remove(store)
    print(summary(results))
    print(f"results written to {out}")
    return 0
