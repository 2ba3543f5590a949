"""``bnpg check GAME.npz``: every numbered statement of the paper on a game of your own.

Runs :func:`bnpg.paper.check` on a game file (an ``.npz`` archive of ``P``, ``r``, ``mu`` and
``gamma``, written by ``np.savez`` or :meth:`bnpg.MarkovGame.save`), prints the verdict table, and
writes the JSON and the report it is asked for.

>>> from bnpg.cli.registry import COMMANDS
>>> COMMANDS["check"].help
'every statement of the paper on GAME.npz'
"""

from __future__ import annotations

import argparse
import json
import os

from .arguments import DAG_CHOICES, Refused, count, outputs, positive_float
from .registry import Command, register

__all__ = ["COMMAND", "DAG_FILE_FORMAT", "add_arguments", "load_dag", "load_game", "run"]

_BUDGET = """\
how the budget scales: each theorem runs at most MAX_STEPS steps of the dynamics (2); a step costs
about two passes over P (|S|^2 |A| multiply-adds, |A| the number of joint actions), and the gap is
evaluated at about 2 + log(T)/log(1.25) checkpoints plus a refinement of 16 per level (a Nash gap is N
policy iterations). Lemmas 2 and 3 take at most MAX_STEPS/20 ascent steps each; Lemma 4 builds 5
Hessians of 2 n_params gradients each. On a game with a few hundred joint actions the defaults take
under two minutes on two cores."""


#: What a ``--dag`` file holds, in the words of its error messages.
DAG_FILE_FORMAT = ('a JSON object {"parents": [...]} whose entry i lists the agents agent i sees, agents '
                   'numbered 0..N-1, e.g. {"parents": [[], [0], [0, 1]]} for three agents')


def add_arguments(c: argparse.ArgumentParser) -> None:
    """The arguments of ``bnpg check``."""
    c.add_argument("game", metavar="GAME.npz",
                   help="the game: an .npz archive of the arrays P, r, mu and gamma, written by "
                   "np.savez(GAME.npz, P=P, r=r, mu=mu, gamma=gamma) or bnpg.MarkovGame.save")
    c.add_argument("--dag", default="full", metavar="{product,empty,chain,full} or DAG.json",
                   help="the network of Lemmas 1, 2, 4 and Theorem 1 (default full): product (also "
                   "called empty; no edges, bnpg.DAG.product), chain (bnpg.DAG.chain) or full "
                   '(bnpg.DAG.full), or a JSON file {"parents": [[...], ...]} listing the parents of '
                   "each agent. Lemma 3 and Theorem 2 always use the fully-correlated network")
    c.add_argument("--lam", type=positive_float("--lam"), default=None,
                   help="lambda of the lemmas (default eps / (2 M), Theorem 1's choice)")
    c.add_argument("--eps", type=positive_float("--eps"), default=None,
                   help="target gap of the theorems (default 0.1 (r_max - r_min) / (1 - gamma))")
    c.add_argument("--max-steps", type=count("--max-steps"), default=2_000_000,
                   help="step budget of each theorem's run (default 2000000)")
    c.add_argument("--method", choices=("armijo", "path", "lbfgs"), default="armijo",
                   help="how Lemmas 2-3 reach a stationary point (default armijo)")
    c.add_argument("--seed", type=count("--seed", 0), default=0, help="seed of the random points (default 0)")
    c.add_argument("--json", default=None, metavar="PATH.json", help="write every verdict as JSON")
    c.add_argument("--report", default=None, metavar="PATH.html|PATH.md",
                   help="write the report a person reads (HTML page or Markdown)")
    c.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def load_game(path: str):
    """The game at ``path`` (:meth:`bnpg.MarkovGame.load`), or :class:`Refused` naming ``GAME``.

    Examples
    --------
    >>> try:
    ...     load_game("nowhere.npz")
    ... except Refused as exc:
    ...     print(exc)
    GAME 'nowhere.npz': no such file
    """
    from bnpg.model.game import MarkovGame

    if os.path.isdir(path):
        raise Refused(f"GAME {path!r} is a folder, not a game file")
    if not os.path.isfile(path):
        raise Refused(f"GAME {path!r}: no such file")
    try:
        return MarkovGame.load(path)
    except (ValueError, TypeError, OSError, MemoryError) as exc:
        message = str(exc)
        prefix = f"path {path!r}"
        if message.startswith(prefix):
            raise Refused(f"GAME {path!r}{message[len(prefix):]}") from None
        raise Refused(f"GAME {path!r}: {message}") from None


def load_dag(text: str, n_agents: int):
    """The DAG named by ``--dag``: one of :data:`~bnpg.cli.arguments.DAG_CHOICES` or a JSON file of parents.

    A name is the :class:`bnpg.DAG` constructor of that name (``product`` and ``empty`` give the
    network without edges); a file holds :data:`DAG_FILE_FORMAT` (a bare list of parent lists is read
    too). Anything else is :class:`Refused`, with the format expected.

    Examples
    --------
    >>> load_dag("product", 3) == load_dag("empty", 3), load_dag("chain", 3).edges
    (True, ((0, 1), (1, 2)))
    """
    from bnpg.model.dag import DAG

    if text in DAG_CHOICES:
        return getattr(DAG, text)(n_agents)
    if not os.path.isfile(text):
        raise Refused(f"--dag {text!r} is neither one of {', '.join(DAG_CHOICES)} nor a file")
    expected = f"expected {DAG_FILE_FORMAT}"
    try:
        with open(text, encoding="utf-8") as fh:
            data = json.load(fh)
    except UnicodeDecodeError:
        raise Refused(f"--dag {text!r} is not a text file; {expected}") from None
    except json.JSONDecodeError as exc:
        raise Refused(f"--dag {text!r} is not JSON ({exc}); {expected}") from None
    except OSError as exc:
        raise Refused(f"--dag {text!r} cannot be read ({exc.strerror or exc})") from None
    if isinstance(data, dict):
        if "parents" not in data:
            raise Refused(f"--dag {text!r} holds an object with the keys {sorted(data)}, without "
                          f"'parents'; {expected}")
        parents = data["parents"]
    elif isinstance(data, list):
        parents = data
    else:
        raise Refused(f"--dag {text!r} holds a JSON {type(data).__name__}; {expected}")
    try:
        dag = DAG(parents)
    except (ValueError, TypeError) as exc:
        raise Refused(f"--dag {text!r}: {exc}; {expected}") from None
    if dag.n_agents != n_agents:
        raise Refused(f"--dag {text!r} has {dag.n_agents} agents, the game has {n_agents}")
    return dag


def run(args: argparse.Namespace) -> int:
    """Check every statement on ``args.game``, print the verdicts, write ``--json`` and ``--report``.

    The output paths are checked first (for a Markdown report, also the folder ``R_files`` beside
    ``R.md`` that takes its figures), then the game and the network. The files are written once
    every statement has been checked and the verdicts printed, all or none: an error or an
    interruption while they are written leaves none of them (nor a figure folder it created).
    """
    from bnpg._json import dumps
    from bnpg._progress import ProgressBar
    from bnpg.experiments import results
    from bnpg.paper import check
    from bnpg.paper.report import REPORT_EXTENSIONS, figures_folder, render_files

    outputs_ = outputs([("--json", args.json, (".json",)), ("--report", args.report, REPORT_EXTENSIONS)])
    report_path = outputs_.get("--report")
    folder = figures_folder(report_path) if report_path and report_path.lower().endswith(".md") else None
    if folder is not None and os.path.exists(folder) and not os.path.isdir(folder):
        raise Refused(f"--report {report_path!r}: its figures go to {folder!r}, which is a file, not a folder")
    game = load_game(args.game)
    dag = load_dag(args.dag, game.n_agents)
    bar = None if args.no_progress else ProgressBar("bnpg check", unit="statement")
    try:
        report = check(game, dag, lam=args.lam, eps=args.eps, max_steps=args.max_steps,
                       method=args.method, seed=args.seed, progress=bar)
    except ValueError as exc:
        raise Refused(str(exc)) from None
    finally:
        if bar is not None:
            bar.close()
    files = {}
    if "--json" in outputs_:
        payload = report.to_dict()
        payload["arguments"] = {"game": args.game, "dag": args.dag, "lam": args.lam, "eps": args.eps,
                                "max_steps": args.max_steps, "method": args.method, "seed": args.seed}
        files[outputs_["--json"]] = (dumps(payload, indent=1), "verdicts")
    if report_path is not None:
        pages = render_files(report, report_path, source=args.game)
        for path, content in pages.items():
            files[path] = (content, "report" if path == report_path else None)
    print(report.table())
    print()
    for v in report.verdicts:
        print(f"{v.statement}: {v.summary}")
    made_folder = folder is not None and not os.path.isdir(folder)
    written = []
    try:
        for path, (content, _) in files.items():
            if isinstance(content, bytes):
                results.atomic_write(path, lambda tmp, data=content: _write_bytes(tmp, data))
            else:
                results.atomic_write_text(path, content)
            written.append(path)
    except BaseException:
        for path in written:
            os.remove(path)
        if made_folder and os.path.isdir(folder) and not os.listdir(folder):
            os.rmdir(folder)
        raise
    for path, (_, what) in files.items():
        if what is not None:
            extra = f" (figures in {folder})" if what == "report" and folder is not None else ""
            print(f"{what} written to {path}{extra}")
    return 0


def _write_bytes(path: str, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)


#: ``bnpg check``.
COMMAND = register(Command(
    "check", "every statement of the paper on GAME.npz", add_arguments, run,
    parser_options={"description": "Check every numbered statement of the paper on a game (an .npz "
                    "archive of P, r, mu and gamma, written by np.savez or bnpg.MarkovGame.save), print "
                    "the verdicts, and write a JSON file and a report. Ctrl-C stops it with exit status "
                    "130 and writes nothing.",
                    "epilog": _BUDGET, "formatter_class": argparse.RawDescriptionHelpFormatter},
))
