r"""The command line: ``bnpg check GAME.npz`` on a game of your own, and the studies at larger scale.

``bnpg check`` runs every numbered statement of the paper (:func:`bnpg.paper.check`) on a game
written by :meth:`bnpg.MarkovGame.save`, prints the verdict table, and writes the JSON and the report
it is asked for. ``bnpg lemma2``, ``bnpg lemma3``, ``bnpg correlation`` and ``bnpg predecessor``
run the studies of :mod:`bnpg.experiments.studies` and write their results as ``.npz`` or ``.json``.

Every argument and every output path is checked before any work starts; a bad one ends the command
with a one-line message naming it and exit status 2, and no output file is written. Outputs are
written whole or not at all (:func:`bnpg.experiments.results.atomic_write`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from bnpg._version import __version__

__all__ = ["build_parser", "main", "summary"]

DAG_CHOICES = ("product", "chain", "full")

_BUDGET = """\
how the budget scales: each theorem runs at most MAX_STEPS steps of the dynamics (2); a step costs
about two passes over P (|S|^2 |A| multiply-adds, |A| the number of joint actions), and the gap is
evaluated at about 2 + log(T)/log(1.25) checkpoints plus a refinement of 16 per level (a Nash gap is N
policy iterations). Lemmas 2 and 3 take at most MAX_STEPS/20 ascent steps each; Lemma 4 builds 5
Hessians of 2 n_params gradients each. On a game with a few hundred joint actions the defaults take
under two minutes on two cores."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


class _Refused(Exception):
    """A bad argument found after parsing; the message names it."""


def _positive_float(name):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, got {text!r}") from None
        if not value > 0 or value == float("inf"):
            raise argparse.ArgumentTypeError(f"{name} must be a finite number > 0, got {text!r}")
        return value
    return parse


def _count(name, minimum=1):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{name} must be >= {minimum}, got {value}")
        return value
    return parse


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _pair(text: str) -> tuple[float, float]:
    try:
        low, high = (float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected two comma-separated numbers, got {text!r}") from None
    return low, high


_SWEEP_EPILOG = ("Finished instances are kept in OUT.sweep.jsonl as they arrive; rerunning the same command "
                 "after an interruption skips them, and the file is removed once OUT is written.")


def _sweep_arguments(s) -> None:
    """The options every sweep shares: where it runs, and its progress bar."""
    s.add_argument("--jobs", type=_count("--jobs"), default=1,
                   help="worker processes on this machine (default 1); the results do not depend on it")
    s.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run on the Dask cluster whose scheduler is at ADDRESS (default: the environment "
                   "variable BNPG_SCHEDULER, if set); needs pip install 'bnpg[dask]'")
    s.add_argument("--no-progress", action="store_true", help="no progress bar or summary on stderr")
    s.epilog = _SWEEP_EPILOG


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="bnpg", description="Check the paper's statements on a game, or run the "
                     "book's studies at larger scale.")
    parser.add_argument("--version", action="version", version=f"bnpg {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    c = sub.add_parser("check", help="every statement of the paper on GAME.npz",
                       description="Check every numbered statement of the paper on a game written by "
                       "bnpg.MarkovGame.save, print the verdicts, and write a JSON file and a report.",
                       epilog=_BUDGET, formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("game", metavar="GAME.npz", help="a game written by bnpg.MarkovGame.save")
    c.add_argument("--dag", default="full", metavar="{product,chain,full} or DAG.json",
                   help="the network of Lemmas 1, 2, 4 and Theorem 1 (default full); a JSON file holds "
                   '{"parents": [[...], ...]}, the parents of each agent. Lemma 3 and Theorem 2 always '
                   "use the fully-correlated network")
    c.add_argument("--lam", type=_positive_float("--lam"), default=None,
                   help="lambda of the lemmas (default eps / (2 M), Theorem 1's choice)")
    c.add_argument("--eps", type=_positive_float("--eps"), default=None,
                   help="target gap of the theorems (default 0.1 (r_max - r_min) / (1 - gamma))")
    c.add_argument("--max-steps", type=_count("--max-steps"), default=2_000_000,
                   help="step budget of each theorem's run (default 2000000)")
    c.add_argument("--method", choices=("armijo", "path", "lbfgs"), default="armijo",
                   help="how Lemmas 2-3 reach a stationary point (default armijo)")
    c.add_argument("--seed", type=_count("--seed", 0), default=0, help="seed of the random points (default 0)")
    c.add_argument("--json", default=None, metavar="PATH.json", help="write every verdict as JSON")
    c.add_argument("--report", default=None, metavar="PATH.html|PATH.md",
                   help="write the report a person reads (HTML page or Markdown)")
    c.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

    for name, what in (("lemma2", "Lemma 2 on random games and DAGs"),
                       ("lemma3", "Lemma 3 on random games with fully-correlated DAGs")):
        s = sub.add_parser(name, help=what, description=what + ".")
        s.add_argument("--instances", type=_count("--instances"), default=200)
        s.add_argument("--seed", type=_count("--seed", 0), default=0)
        s.add_argument("--out", required=True, metavar="PATH.npz|PATH.json")
        s.add_argument("--states", type=_ints, default=(2, 3), help="choices of |S| (default 2,3)")
        s.add_argument("--agents", type=_ints, default=(2,), help="choices of N (default 2)")
        s.add_argument("--actions", type=_ints, default=(2, 3), help="choices of |A^i| (default 2,3)")
        s.add_argument("--method", choices=("armijo", "path", "lbfgs"), default="armijo")
        s.add_argument("--max-steps", type=_count("--max-steps", 0), default=5000)
        s.add_argument("--lam-range", type=_pair, default=(0.01, 0.1),
                       help="lambda is log-uniform on LOW,HIGH (default 0.01,0.1)")
        s.add_argument("--gamma-range", type=_pair, default=(0.5, 0.9),
                       help="gamma is uniform on LOW,HIGH (default 0.5,0.9)")
        _sweep_arguments(s)

    s = sub.add_parser("correlation", help="product vs chain vs full DAG from common starts",
                       description="Product, chain and full DAGs from the same starting joint policies.")
    s.add_argument("--games", type=_count("--games"), default=50)
    s.add_argument("--starts", type=_count("--starts"), default=4)
    s.add_argument("--seed", type=_count("--seed", 0), default=0)
    s.add_argument("--out", required=True, metavar="PATH.npz|PATH.json")
    s.add_argument("--states", type=_ints, default=(2, 3))
    s.add_argument("--agents", type=_ints, default=(2,))
    s.add_argument("--actions", type=_ints, default=(2, 3))
    s.add_argument("--gamma", type=float, default=0.9)
    s.add_argument("--lam", type=_positive_float("--lam"), default=1e-4)
    s.add_argument("--method", choices=("path", "armijo", "lbfgs"), default="path")
    s.add_argument("--max-steps", type=_count("--max-steps", 0), default=5000)
    _sweep_arguments(s)

    s = sub.add_parser("predecessor", help="Chen and Zhang's coordination-game runs, exactly",
                       description="Rerun the tabular experiment of Chen and Zhang (ICML 2023) through "
                       "bnpg's exact gradient, with and without this paper's log barrier, recording "
                       "exact metrics (bnpg.experiments.studies.predecessor). The book's file is made by "
                       "`python -m bnpg predecessor --out bnpg/data/predecessor-runs.npz` "
                       "(about 8 minutes on one core).")
    s.add_argument("--out", required=True, metavar="PATH.npz|PATH.json")
    s.add_argument("--agents", type=_ints, default=(2, 3, 5), help="agent counts (default 2,3,5)")
    s.add_argument("--seeds", type=_count("--seeds"), default=49,
                   help="use their seeds 1..SEEDS (default 49, all of theirs)")
    s.add_argument("--iterations", type=_count("--iterations"), default=2000)
    _sweep_arguments(s)

    s = sub.add_parser("sampling", help="the theorems' dynamics with sampled gradients against the exact ones",
                       description="Run the dynamics (2) of the theorems on the book's games exactly and "
                       "with sampled gradients (REINFORCE and actor-critic, bnpg.experiments.studies.sampling), and "
                       "record when each reaches the theorems' targets. The book's file is made by "
                       "`python -m bnpg sampling --out bnpg/data/sampling-runs.npz` (about seven minutes "
                       "on one core).")
    s.add_argument("--out", required=True, metavar="PATH.npz|PATH.json")
    s.add_argument("--seed", type=_count("--seed", 0), default=0)
    _sweep_arguments(s)
    return parser


def _load_game(path: str):
    from bnpg.model.game import MarkovGame

    if not os.path.isfile(path):
        raise _Refused(f"GAME {path!r}: no such file")
    try:
        return MarkovGame.load(path)
    except (ValueError, TypeError, OSError, KeyError) as exc:
        raise _Refused(f"GAME {path!r}: {exc}") from None


def _load_dag(text: str, n_agents: int):
    from bnpg.model.dag import DAG

    if text in DAG_CHOICES:
        return {"product": DAG.empty, "chain": DAG.chain, "full": DAG.full}[text](n_agents)
    if not os.path.isfile(text):
        raise _Refused(f"--dag {text!r} is neither one of {', '.join(DAG_CHOICES)} nor a file")
    try:
        with open(text, encoding="utf-8") as fh:
            data = json.load(fh)
        parents = data["parents"] if isinstance(data, dict) else data
        dag = DAG(parents)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise _Refused(f"--dag {text!r}: not a DAG file ({exc})") from None
    if dag.n_agents != n_agents:
        raise _Refused(f"--dag {text!r} has {dag.n_agents} agents, the game has {n_agents}")
    return dag


def _outputs(pairs) -> dict:
    """Check every output path before any work; returns ``{option: path}``."""
    from bnpg.experiments.results import check_output_path

    out = {}
    for option, path, extensions in pairs:
        if path is None:
            continue
        try:
            out[option] = check_output_path(path, extensions, name=option)
        except (ValueError, TypeError) as exc:
            raise _Refused(str(exc)) from None
    resolved = [os.path.abspath(p) for p in out.values()]
    if len(set(resolved)) < len(resolved):
        raise _Refused(f"{' and '.join(out)} name the same file")
    return out


def _check(args) -> int:
    from bnpg.experiments.results import atomic_write_text
    from bnpg.paper.report import REPORT_EXTENSIONS, render
    from bnpg.paper.statements import check

    game = _load_game(args.game)
    dag = _load_dag(args.dag, game.n_agents)
    outputs = _outputs([("--json", args.json, (".json",)), ("--report", args.report, REPORT_EXTENSIONS)])
    bar = None
    if not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(total=8, desc="bnpg check", unit="statement", file=sys.stderr)

    def progress(statement, index, total):
        if bar is not None:
            bar.n = index
            bar.set_postfix_str(statement)
            bar.refresh()

    try:
        report = check(game, dag, lam=args.lam, eps=args.eps, max_steps=args.max_steps,
                       method=args.method, seed=args.seed, progress=progress)
    except ValueError as exc:
        raise _Refused(str(exc)) from None
    finally:
        if bar is not None:
            bar.n = bar.total
            bar.close()
    print(report.table())
    print()
    for v in report.verdicts:
        print(f"{v.statement}: {v.summary}")
    if "--json" in outputs:
        payload = report.to_dict()
        payload["arguments"] = {"game": args.game, "dag": args.dag, "lam": args.lam, "eps": args.eps,
                                "max_steps": args.max_steps, "method": args.method, "seed": args.seed}
        text = json.dumps(payload, indent=1)
        atomic_write_text(outputs["--json"], text)
        print(f"verdicts written to {outputs['--json']}")
    if "--report" in outputs:
        page = render(report, os.path.splitext(outputs["--report"])[1][1:].lower())
        atomic_write_text(outputs["--report"], page)
        print(f"report written to {outputs['--report']}")
    return 0


def _study(args) -> int:
    from bnpg.experiments.results import RESULT_EXTENSIONS, save_results
    from bnpg.experiments.studies import correlation, lemmas

    out = _outputs([("--out", args.out, RESULT_EXTENSIONS)])["--out"]
    store = out + ".sweep.jsonl"
    sweep = dict(progress=not args.no_progress, jobs=args.jobs, scheduler=args.scheduler, store=store)
    try:
        if args.command == "sampling":
            from bnpg.experiments.studies import sampling

            results = sampling.sampling_study(args.seed, **sweep)
        elif args.command == "predecessor":
            from bnpg.experiments.studies import predecessor

            results = predecessor.predecessor_study(
                args.agents, range(1, args.seeds + 1), iterations=args.iterations, **sweep)
        elif args.command == "correlation":
            results = correlation.correlation_study(
                args.games, args.starts, args.seed, n_states=args.states, n_agents=args.agents,
                n_actions=args.actions, gamma=args.gamma, lam=args.lam, method=args.method,
                max_steps=args.max_steps, **sweep)
        else:
            study = lemmas.lemma2_study if args.command == "lemma2" else lemmas.lemma3_study
            results = study(args.instances, args.seed, method=args.method, max_steps=args.max_steps,
                            n_states=args.states, n_agents=args.agents, n_actions=args.actions,
                            lam_range=args.lam_range, gamma_range=args.gamma_range, **sweep)
    except (TypeError, ValueError, ImportError) as exc:   # ImportError: a scheduler without bnpg[dask]
        raise _Refused(str(exc)) from None
    save_results(out, results)
    if os.path.exists(store):
        os.remove(store)
    print(summary(results))
    print(f"results written to {out}")
    return 0


def summary(results: dict) -> str:
    """A short plain-text account of a study's results."""
    import numpy as np

    name = str(results["study"])
    if name in ("lemma2", "lemma3"):
        met = results["met"]
        key = "nash_ratio" if name == "lemma2" else "optimality_ratio"
        ratios = results[key][met]
        worst = float(ratios.max()) if ratios.size else float("nan")
        median = float(np.median(ratios)) if ratios.size else float("nan")
        return (f"{name}: {met.size} instances, {int(met.sum())} met the gradient threshold, "
                f"{int((~met).sum())} did not.\n{key} over the instances that met it: max {worst:.6g}, "
                f"median {median:.6g}; {int((ratios > 1).sum())} exceed 1.")
    if name == "predecessor":
        from bnpg.experiments.studies.predecessor import KINDS
        from bnpg.games.coordination import PREDECESSOR_DAGS

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
    if name == "sampling":
        reached = results["T"] >= 0
        parts = [f"{name}: {results['game'].size} cases; runs reaching the target within the budget:"]
        for e, label in enumerate(results["estimators"].tolist()):
            parts.append(f"  {label}: {int(reached[:, e].sum())} of {reached.shape[0]}")
        parts.append(f"  exact: {int((results['exact_T'] >= 0).sum())} of {reached.shape[0]}")
        return "\n".join(parts)
    parts = [f"{name}: {results['game'].size} runs; fraction reaching the optimum:"]
    for dag in ("product", "chain", "full"):
        parts.append(f"  {dag}: {float(results[dag + '_reached'].mean()):.6g}")
    return "\n".join(parts)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _check(args) if args.command == "check" else _study(args)
    except _Refused as exc:
        print(f"bnpg {args.command}: error: {exc}", file=sys.stderr)
        return 2
