"""``bnpg predecessor``: Chen and Zhang's coordination-game runs, exactly.

Runs :func:`bnpg.experiments.studies.predecessor.predecessor_study` and writes the results as ``.npz``
or ``.json``.

>>> from bnpg.cli.registry import COMMANDS
>>> COMMANDS["predecessor"].studies
('predecessor',)
"""

from __future__ import annotations

import argparse

from .arguments import count, ints, run_study, sweep_arguments
from .registry import Command, register

__all__ = ["COMMAND", "add_arguments", "run", "summary"]


def add_arguments(s: argparse.ArgumentParser) -> None:
    """The arguments of ``bnpg predecessor``."""
    s.add_argument("--out", required=True, metavar="PATH.npz|PATH.json")
    s.add_argument("--agents", type=ints, default=(2, 3, 5), help="agent counts (default 2,3,5)")
    s.add_argument("--seeds", type=count("--seeds"), default=49,
                   help="use their seeds 1..SEEDS (default 49, all of theirs)")
    s.add_argument("--iterations", type=count("--iterations"), default=2000)
    sweep_arguments(s)


def run(args: argparse.Namespace) -> int:
    """Run their experiment and write the results to ``--out``."""
    from bnpg.experiments.studies.predecessor import predecessor_study

    def results(sweep):
        return predecessor_study(args.agents, range(1, args.seeds + 1), iterations=args.iterations, sweep=sweep)

    return run_study(args, results, summary)


def summary(results: dict) -> str:
    """The mean over seeds, at the last iteration, of J/J* and of the two Nash gaps, per kind, n and DAG."""
    from bnpg.experiments.studies.predecessor import KINDS
    from bnpg.games.coordination import PREDECESSOR_DAGS

    name = str(results["study"])
    parts = [f"{name}: {results['seeds'].size} seeds; mean over seeds at iteration "
             f"{int(results['steps'][-1])} of J/J* and the Nash gap (Definition 1 / state-only):"]
    for kind in KINDS:
        for n in results["ns"].tolist():
            for dag in PREDECESSOR_DAGS:
                key = f"{kind}.n{n}.{dag}."
                parts.append(f"  {kind:7s} n={n} {dag:9s}: {float(results[key + 'ratio'][:, -1].mean()):.4f}  "
                             f"{float(results[key + 'gap_parents'][:, -1].mean()):.4g} / "
                             f"{float(results[key + 'gap_state'][:, -1].mean()):.4g}")
    return "\n".join(parts)


#: ``bnpg predecessor``.
COMMAND = register(Command(
    "predecessor", "Chen and Zhang's coordination-game runs, exactly", add_arguments, run, summary,
    ("predecessor",),
    {"description": "Rerun the tabular experiment of Chen and Zhang (ICML 2023) through "
     "bnpg's exact gradient, with and without this paper's log barrier, recording "
     "exact metrics (bnpg.experiments.studies.predecessor). The book's file is made by "
     "`python -m bnpg predecessor --out bnpg/data/predecessor-runs.npz` "
     "(about 8 minutes on one core)."},
))
