"""``bnpg check GAME.npz``: every numbered statement of the paper on a game of your own.

Runs :func:`bnpg.paper.check` on a game written by :meth:`bnpg.MarkovGame.save`, prints the verdict
table, and writes the JSON and the report it is asked for.

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

__all__ = ["COMMAND", "add_arguments", "load_dag", "load_game", "run"]

_BUDGET = """\
how the budget scales: each theorem runs at most MAX_STEPS steps of the dynamics (2); a step costs
about two passes over P (|S|^2 |A| multiply-adds, |A| the number of joint actions), and the gap is
evaluated at about 2 + log(T)/log(1.25) checkpoints plus a refinement of 16 per level (a Nash gap is N
policy iterations). Lemmas 2 and 3 take at most MAX_STEPS/20 ascent steps each; Lemma 4 builds 5
Hessians of 2 n_params gradients each. On a game with a few hundred joint actions the defaults take
under two minutes on two cores."""


def add_arguments(c: argparse.ArgumentParser) -> None:
    """The arguments of ``bnpg check``."""
    c.add_argument("game", metavar="GAME.npz", help="a game written by bnpg.MarkovGame.save")
    c.add_argument("--dag", default="full", metavar="{product,chain,full} or DAG.json",
                   help="the network of Lemmas 1, 2, 4 and Theorem 1 (default full); a JSON file holds "
                   '{"parents": [[...], ...]}, the parents of each agent. Lemma 3 and Theorem 2 always '
                   "use the fully-correlated network")
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
    """The game at ``path`` (:meth:`bnpg.MarkovGame.load`), or :class:`Refused` naming ``GAME``."""
    from bnpg.model.game import MarkovGame

    if not os.path.isfile(path):
        raise Refused(f"GAME {path!r}: no such file")
    try:
        return MarkovGame.load(path)
    except (ValueError, TypeError, OSError, KeyError) as exc:
        raise Refused(f"GAME {path!r}: {exc}") from None


def load_dag(text: str, n_agents: int):
    """The DAG named by ``--dag``: one of :data:`~bnpg.cli.arguments.DAG_CHOICES` or a JSON file of parents."""
    from bnpg.model.dag import DAG

    if text in DAG_CHOICES:
        return {"product": DAG.empty, "chain": DAG.chain, "full": DAG.full}[text](n_agents)
    if not os.path.isfile(text):
        raise Refused(f"--dag {text!r} is neither one of {', '.join(DAG_CHOICES)} nor a file")
    try:
        with open(text, encoding="utf-8") as fh:
            data = json.load(fh)
        parents = data["parents"] if isinstance(data, dict) else data
        dag = DAG(parents)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise Refused(f"--dag {text!r}: not a DAG file ({exc})") from None
    if dag.n_agents != n_agents:
        raise Refused(f"--dag {text!r} has {dag.n_agents} agents, the game has {n_agents}")
    return dag


def run(args: argparse.Namespace) -> int:
    """Check every statement on ``args.game``, print the verdicts, write ``--json`` and ``--report``."""
    from bnpg._json import dumps
    from bnpg._progress import ProgressBar
    from bnpg.experiments.results import atomic_write_text
    from bnpg.paper import check
    from bnpg.paper.report import REPORT_EXTENSIONS, render

    game = load_game(args.game)
    dag = load_dag(args.dag, game.n_agents)
    outputs_ = outputs([("--json", args.json, (".json",)), ("--report", args.report, REPORT_EXTENSIONS)])
    bar = None if args.no_progress else ProgressBar("bnpg check", unit="statement")
    try:
        report = check(game, dag, lam=args.lam, eps=args.eps, max_steps=args.max_steps,
                       method=args.method, seed=args.seed, progress=bar)
    except ValueError as exc:
        raise Refused(str(exc)) from None
    finally:
        if bar is not None:
            bar.close()
    print(report.table())
    print()
    for v in report.verdicts:
        print(f"{v.statement}: {v.summary}")
    if "--json" in outputs_:
        payload = report.to_dict()
        payload["arguments"] = {"game": args.game, "dag": args.dag, "lam": args.lam, "eps": args.eps,
                                "max_steps": args.max_steps, "method": args.method, "seed": args.seed}
        atomic_write_text(outputs_["--json"], dumps(payload, indent=1))
        print(f"verdicts written to {outputs_['--json']}")
    if "--report" in outputs_:
        page = render(report, os.path.splitext(outputs_["--report"])[1][1:].lower())
        atomic_write_text(outputs_["--report"], page)
        print(f"report written to {outputs_['--report']}")
    return 0


#: ``bnpg check``.
COMMAND = register(Command(
    "check", "every statement of the paper on GAME.npz", add_arguments, run,
    parser_options={"description": "Check every numbered statement of the paper on a game written by "
                    "bnpg.MarkovGame.save, print the verdicts, and write a JSON file and a report.",
                    "epilog": _BUDGET, "formatter_class": argparse.RawDescriptionHelpFormatter},
))
