"""``bnpg lemma2`` and ``bnpg lemma3``: Lemmas 2 and 3 on random instances, at larger scale.

They run :func:`bnpg.experiments.studies.lemmas.lemma2_study` and
:func:`~bnpg.experiments.studies.lemmas.lemma3_study` and write the results as ``.npz`` or ``.json``.

>>> import numpy as np
>>> print(summary({"study": "lemma2", "met": np.array([True, False]), "nash_ratio": np.array([0.5, 2.0])}))
lemma2: 2 instances, 1 met the gradient threshold, 1 did not.
nash_ratio over the instances that met it: max 0.5, median 0.5; 0 exceed 1.
"""

from __future__ import annotations

import argparse
from functools import partial

from .arguments import count, ints, pair, run_study, sweep_arguments
from .registry import Command, register

__all__ = ["LEMMA2", "LEMMA3", "add_arguments", "run", "summary"]


def add_arguments(s: argparse.ArgumentParser) -> None:
    """The arguments of ``bnpg lemma2`` and ``bnpg lemma3``."""
    s.add_argument("--instances", type=count("--instances"), default=200)
    s.add_argument("--seed", type=count("--seed", 0), default=0)
    s.add_argument("--out", required=True, metavar="PATH.npz|PATH.json")
    s.add_argument("--states", type=ints, default=(2, 3), help="choices of |S| (default 2,3)")
    s.add_argument("--agents", type=ints, default=(2,), help="choices of N (default 2)")
    s.add_argument("--actions", type=ints, default=(2, 3), help="choices of |A^i| (default 2,3)")
    s.add_argument("--method", choices=("armijo", "path", "lbfgs"), default="armijo")
    s.add_argument("--max-steps", type=count("--max-steps", 0), default=5000)
    s.add_argument("--lam-range", type=pair, default=(0.01, 0.1),
                   help="lambda is log-uniform on LOW,HIGH (default 0.01,0.1)")
    s.add_argument("--gamma-range", type=pair, default=(0.5, 0.9),
                   help="gamma is uniform on LOW,HIGH (default 0.5,0.9)")
    sweep_arguments(s)


def run(lemma: int, args: argparse.Namespace) -> int:
    """Run the study of Lemma ``lemma`` (2 or 3) and write its results to ``--out``."""
    from bnpg.experiments.studies import lemmas

    study = lemmas.lemma2_study if lemma == 2 else lemmas.lemma3_study

    def results(sweep):
        return study(args.instances, args.seed, method=args.method, max_steps=args.max_steps,
                     n_states=args.states, n_agents=args.agents, n_actions=args.actions,
                     lam_range=args.lam_range, gamma_range=args.gamma_range, sweep=sweep)

    return run_study(args, results, summary)


def summary(results: dict) -> str:
    """How many instances met the gradient threshold, and the ratio to the lemma's bound where they did."""
    import numpy as np

    name = str(results["study"])
    met = np.asarray(results["met"])
    key = "nash_ratio" if name == "lemma2" else "optimality_ratio"
    ratios = np.asarray(results[key])[met]
    worst = float(ratios.max()) if ratios.size else float("nan")
    median = float(np.median(ratios)) if ratios.size else float("nan")
    return (f"{name}: {met.size} instances, {int(met.sum())} met the gradient threshold, "
            f"{int((~met).sum())} did not.\n{key} over the instances that met it: max {worst:.6g}, "
            f"median {median:.6g}; {int((ratios > 1).sum())} exceed 1.")


#: ``bnpg lemma2``.
LEMMA2 = register(Command(
    "lemma2", "Lemma 2 on random games and DAGs", add_arguments, partial(run, 2), summary, ("lemma2",),
    {"description": "Lemma 2 on random games and DAGs."},
))
#: ``bnpg lemma3``.
LEMMA3 = register(Command(
    "lemma3", "Lemma 3 on random games with fully-correlated DAGs", add_arguments, partial(run, 3), summary,
    ("lemma3",), {"description": "Lemma 3 on random games with fully-correlated DAGs."},
))
