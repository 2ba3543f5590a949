"""Command-line sweeps: ``python -m bnpg <sweep> --instances N --seed S --out results/<name>.npz``.

Sweeps (see :mod:`bnpg.experiments`):

* ``lemma2``: Nash gap against ``2 lambda M`` at approximate stationary points, random DAGs;
* ``lemma3``: optimality gap against ``2^(N+1) N lambda M`` on fully-correlated DAGs;
* ``correlation``: product vs chain vs full DAG from the same starting joint policies (one start per
  game, line-search ascent);
* ``study``: the comparison of the book's chapter on correlation, several common starts per game and
  the bounded-step ascent that follows the dynamics (2) (:func:`bnpg.experiments.correlation_study`).

The results go to ``--out`` as ``.npz`` or ``.json`` (by extension); a progress bar goes to stderr
and a one-paragraph summary to stdout.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from . import experiments

SWEEPS = ("lemma2", "lemma3", "correlation", "study")


def _ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    return values


def _pair(text: str) -> tuple[float, float]:
    try:
        low, high = (float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected two comma-separated numbers, got {text!r}") from None
    return low, high


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bnpg",
        description="Sweeps over random cooperative Markov games checking the paper's lemmas.",
    )
    parser.add_argument("sweep", choices=SWEEPS)
    parser.add_argument("--instances", type=int, default=200, help="number of instances (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="master seed, >= 0 (default 0)")
    parser.add_argument("--out", required=True, help="output file, .npz or .json")
    parser.add_argument("--states", type=_ints, default=(2, 3), help="choices of |S| (default 2,3)")
    parser.add_argument("--agents", type=_ints, default=(2,), help="choices of N (default 2)")
    parser.add_argument("--actions", type=_ints, default=(2, 3), help="choices of |A^i| (default 2,3)")
    parser.add_argument("--method", choices=experiments.METHODS, default=None,
                        help="ascent method (default: armijo; path for study)")
    parser.add_argument("--max-iter", type=int, default=5000, help="iteration budget per run")
    parser.add_argument("--lam-range", type=_pair, default=(0.01, 0.1),
                        help="lemma sweeps: lambda is log-uniform on LOW,HIGH (default 0.01,0.1)")
    parser.add_argument("--gamma-range", type=_pair, default=(0.5, 0.9),
                        help="lemma sweeps: gamma is uniform on LOW,HIGH (default 0.5,0.9)")
    parser.add_argument("--sparsity", type=float, default=0.0, help="lemma sweeps: P's sparsity")
    parser.add_argument("--init-scale", type=float, default=1.0,
                        help="standard deviation of the starting parameters (default 1)")
    parser.add_argument("--lam", type=float, default=None,
                        help="correlation sweeps: lambda (default 1e-3; 1e-4 for study)")
    parser.add_argument("--gamma", type=float, default=0.9, help="correlation sweep: gamma (default 0.9)")
    parser.add_argument("--starts", type=int, default=4, help="study: common starts per game (default 4)")
    parser.add_argument("--max-move", type=float, default=0.1,
                        help="study: largest parameter change per step (default 0.1)")
    parser.add_argument("--reach-tol", type=float, default=1e-4,
                        help="study: optimum reached when V* - V <= REACH_TOL (V* - V_min) (default 1e-4)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def run(args: argparse.Namespace) -> dict:
    """Run the sweep described by parsed arguments and return its results."""
    progress = None
    if not args.no_progress:
        from tqdm import tqdm

        def progress(iterable):
            return tqdm(iterable, desc=args.sweep, file=sys.stderr, unit="inst")

    if args.sweep == "study":
        return experiments.correlation_study(
            args.instances, args.starts, args.seed, n_states=args.states, n_agents=args.agents,
            n_actions=args.actions, gamma=args.gamma, init_scale=args.init_scale,
            lam=1e-4 if args.lam is None else args.lam, method=args.method or "path",
            max_move=args.max_move, max_iter=args.max_iter, reach_tol=args.reach_tol,
            progress=progress,
        )
    method = args.method or "armijo"
    if args.sweep in ("lemma2", "lemma3"):
        sweep = experiments.lemma2_sweep if args.sweep == "lemma2" else experiments.lemma3_sweep
        return sweep(
            args.instances, args.seed, method=method, max_iter=args.max_iter,
            progress=progress, n_states=args.states, n_agents=args.agents, n_actions=args.actions,
            lam_range=args.lam_range, gamma_range=args.gamma_range, sparsity=args.sparsity,
            init_scale=args.init_scale,
        )
    return experiments.correlation_sweep(
        args.instances, args.seed, n_states=args.states, n_agents=args.agents,
        n_actions=args.actions, gamma=args.gamma, init_scale=args.init_scale,
        lam=1e-3 if args.lam is None else args.lam, method=method, max_iter=args.max_iter,
        progress=progress,
    )


def summary(results: dict) -> str:
    """A short plain-text account of a sweep's results."""
    name = str(results["sweep"])
    n = len(results["game"] if name == "correlation_study" else results["index"])
    if name in ("lemma2", "lemma3"):
        met = results["met"]
        key = "nash_ratio" if name == "lemma2" else "optimality_ratio"
        ratios = results[key][met]
        worst = float(ratios.max()) if ratios.size else float("nan")
        lines = [
            f"{name}: {n} instances, {int(met.sum())} met the gradient threshold, "
            f"{int((~met).sum())} did not.",
            f"{key} over the instances that met it: max {worst:.6g}, "
            f"median {float(np.median(ratios)) if ratios.size else float('nan'):.6g}; "
            f"{int((ratios > 1).sum())} exceed 1.",
        ]
        return "\n".join(lines)
    parts = [f"{name}: {n} runs; fraction reaching the optimum:"]
    for dag in ("product", "chain", "full"):
        parts.append(f"  {dag}: {float(results[dag + '_reached'].mean()):.6g}")
    return "\n".join(parts)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        results = run(args)
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
    experiments.save_results(args.out, results)
    print(summary(results))
    print(f"results written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
