"""``bnpg sampling``: the theorems' dynamics with sampled gradients against the exact ones.

Runs :func:`bnpg.experiments.studies.sampling.sampling_study` and writes the results as ``.npz`` or
``.json``.

>>> import numpy as np
>>> out = {"study": "sampling", "game": np.array(["a", "b"]), "T": np.array([[3], [-1]]),
...        "estimators": np.array(["reinforce/10"]), "exact_T": np.array([2, 5])}
>>> print(summary(out))
sampling: 2 cases; runs reaching the target within the budget:
  reinforce/10: 1 of 2
  exact: 2 of 2
"""

from __future__ import annotations

import argparse

from .arguments import count, run_study, sweep_arguments
from .registry import Command, register

__all__ = ["COMMAND", "add_arguments", "run", "summary"]


def add_arguments(s: argparse.ArgumentParser) -> None:
    """The arguments of ``bnpg sampling``."""
    s.add_argument("--out", required=True, metavar="PATH.npz|PATH.json")
    s.add_argument("--seed", type=count("--seed", 0), default=0)
    sweep_arguments(s)


def run(args: argparse.Namespace) -> int:
    """Run every case exactly and with every estimator, and write the results to ``--out``."""
    from bnpg.experiments.studies.sampling import sampling_study

    return run_study(args, lambda sweep: sampling_study(args.seed, sweep=sweep), summary)


def summary(results: dict) -> str:
    """How many runs of each estimator, and of the exact dynamics, reach the target within the budget."""
    name = str(results["study"])
    reached = results["T"] >= 0
    parts = [f"{name}: {results['game'].size} cases; runs reaching the target within the budget:"]
    for e, label in enumerate(results["estimators"].tolist()):
        parts.append(f"  {label}: {int(reached[:, e].sum())} of {reached.shape[0]}")
    parts.append(f"  exact: {int((results['exact_T'] >= 0).sum())} of {reached.shape[0]}")
    return "\n".join(parts)


#: ``bnpg sampling``.
COMMAND = register(Command(
    "sampling", "the theorems' dynamics with sampled gradients against the exact ones", add_arguments, run,
    summary, ("sampling",),
    {"description": "Run the dynamics (2) of the theorems on the book's games exactly and "
     "with sampled gradients (REINFORCE and actor-critic, bnpg.experiments.studies.sampling), and "
     "record when each reaches the theorems' targets. The book's file is made by "
     "`python -m bnpg sampling --out bnpg/data/sampling-runs.npz` (about seven minutes "
     "on one core)."},
))
