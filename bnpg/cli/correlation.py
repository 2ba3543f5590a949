"""``bnpg correlation``: product vs chain vs full DAG from common starts, at larger scale.

Runs :func:`bnpg.experiments.studies.correlation.correlation_study` and writes the results as
``.npz`` or ``.json``.

>>> import numpy as np
>>> out = {"study": "correlation", "game": np.array([0, 1]), "product_reached": np.array([True, False]),
...        "chain_reached": np.array([True, True]), "full_reached": np.array([True, True])}
>>> print(summary(out))
correlation: 2 runs; fraction reaching the optimum:
  product: 0.5
  chain: 1
  full: 1
"""

from __future__ import annotations

import argparse

from .arguments import count, ints, positive_float, run_study, sweep_arguments
from .registry import Command, register

__all__ = ["COMMAND", "add_arguments", "run", "summary"]


def add_arguments(s: argparse.ArgumentParser) -> None:
    """The arguments of ``bnpg correlation``."""
    from bnpg.experiments.studies.correlation import COMPARISON_METHODS

    s.add_argument("--games", type=count("--games"), default=50)
    s.add_argument("--starts", type=count("--starts"), default=4)
    s.add_argument("--seed", type=count("--seed", 0), default=0)
    s.add_argument("--out", required=True, metavar="PATH.npz|PATH.json")
    s.add_argument("--states", type=ints, default=(2, 3))
    s.add_argument("--agents", type=ints, default=(2,))
    s.add_argument("--actions", type=ints, default=(2, 3))
    s.add_argument("--gamma", type=float, default=0.9)
    s.add_argument("--lam", type=positive_float("--lam"), default=1e-4)
    s.add_argument("--method", choices=COMPARISON_METHODS, default="path")
    s.add_argument("--max-steps", type=count("--max-steps", 0), default=5000)
    sweep_arguments(s)


def run(args: argparse.Namespace) -> int:
    """Run the correlation study and write its results to ``--out``."""
    from bnpg.experiments.studies.correlation import correlation_study

    def results(sweep):
        return correlation_study(args.games, args.starts, args.seed, n_states=args.states, n_agents=args.agents,
                                 n_actions=args.actions, gamma=args.gamma, lam=args.lam, method=args.method,
                                 max_steps=args.max_steps, sweep=sweep)

    return run_study(args, results, summary)


def summary(results: dict) -> str:
    """The fraction of runs reaching the optimum, per DAG."""
    name = str(results["study"])
    parts = [f"{name}: {results['game'].size} runs; fraction reaching the optimum:"]
    for dag in ("product", "chain", "full"):
        parts.append(f"  {dag}: {float(results[dag + '_reached'].mean()):.6g}")
    return "\n".join(parts)


#: ``bnpg correlation``.
COMMAND = register(Command(
    "correlation", "product vs chain vs full DAG from common starts", add_arguments, run, summary,
    ("correlation",),
    {"description": "Product, chain and full DAGs from the same starting joint policies."},
))
