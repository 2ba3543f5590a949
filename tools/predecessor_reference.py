"""Record what Chen and Zhang's own code computes, for the chapter on their experiment to check against.

Runs their ``Tabular_Coordination_Game/cg.py`` (repository ``dchen48/BNPG``) unchanged, on the CPU,
exactly as their ``run.py`` does (seed, then build the ``all_ones``, ``all_zeros`` and ``line``
networks, then interleave their 2000 updates), and writes, for every (n, seed) asked for, what
``update_policy`` returns at every iteration (J, J/J*, their Nash gap), the gradient of their loss
at the start (before the clip) and the final parameters, all as float32, their own precision. The
only interposition is a wrapper around the ``clip_grad_norm_`` their module calls, which copies the
gradient it receives and passes everything through.

Needs torch (not a dependency of bnpg); the file it writes ships with bnpg::

    pip install torch
    git clone https://github.com/dchen48/BNPG
    python tools/predecessor_reference.py BNPG/Tabular_Coordination_Game/cg.py \\
        --runs 2:1,2 3:1,2 5:1 --out bnpg/data/predecessor-reference.npz

n = 5 takes about half an hour per seed on one core.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bnpg.experiments.results import atomic_write, check_output_path
from bnpg.games.coordination import PREDECESSOR_DAGS as NETWORKS


def load_their_module(path: str):
    """Import their ``cg.py`` from ``path`` as a module."""
    spec = importlib.util.spec_from_file_location("cg", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def trace(cg, n: int, seed: int, iterations: int = 2000) -> dict:
    """One seed of their run on the CPU: ``{network: {"J", "poa", "gap", "grad0", "final"}}``."""
    import torch

    start_gradients: dict = {}
    current = {"network": None, "iteration": None}
    clip = cg.clip_grad_norm_

    def recording_clip(parameters, max_norm, *args, **kwargs):
        parameters = list(parameters)
        if current["iteration"] == 0:
            start_gradients[current["network"]] = [p.grad.detach().clone().numpy() for p in parameters]
        return clip(parameters, max_norm, *args, **kwargs)

    cg.clip_grad_norm_ = recording_clip
    try:
        torch.manual_seed(seed)
        mu = torch.tensor([1 / n for _ in range(2**n)]).view(-1, 1)
        games = {name: cg.CoordinationGame(n, 0.1, 0.95, mu, 0.01, policy="tabular_baysian", device="cpu",
                                           optimizer_type="SGD", G_type=name) for name in NETWORKS}
        out = {name: {"J": [], "poa": [], "gap": []} for name in NETWORKS}
        for it in range(iterations):
            current["iteration"] = it
            for name in NETWORKS:
                current["network"] = name
                J, poa, gap = games[name].update_policy()
                for key, v in zip(("J", "poa", "gap"), (J, poa, gap), strict=True):
                    out[name][key].append(v.item())
    finally:
        cg.clip_grad_norm_ = clip
    for name in NETWORKS:
        out[name]["grad0"] = start_gradients[name]
        out[name]["final"] = [p.detach().numpy().copy() for p in games[name].parameters]
    return out


def pack(traces: dict, torch_version: str) -> dict:
    """The arrays of the shipped file from ``{(n, seed): trace(...)}``.

    Keys ``n{n}.seed{seed}.{network}.{J,poa,gap}`` (float32, one per iteration),
    ``...grad0.{i}`` and ``...final.{i}`` (agent ``i``'s parameters in their shape), ``runs`` (the
    (n, seed) pairs) and ``torch_version``.
    """
    arrays = {"runs": np.array(sorted(traces), dtype=np.int64), "torch_version": np.array(torch_version)}
    for (n, seed), by_network in sorted(traces.items()):
        for name, rec in by_network.items():
            prefix = f"n{n}.seed{seed}.{name}."
            for key in ("J", "poa", "gap"):
                arrays[prefix + key] = np.asarray(rec[key], dtype=np.float32)
            for key in ("grad0", "final"):
                for i, a in enumerate(rec[key]):
                    arrays[f"{prefix}{key}.{i}"] = np.asarray(a, dtype=np.float32)
    return arrays


def write(path: str, arrays: dict) -> None:
    def save(tmp):
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)

    atomic_write(path, save)


def _runs(text: str) -> list[tuple[int, int]]:
    n, _, seeds = text.partition(":")
    try:
        return [(int(n), int(s)) for s in seeds.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N:SEED,SEED,..., got {text!r}") from None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cg", help="path to their Tabular_Coordination_Game/cg.py")
    parser.add_argument("--runs", type=_runs, nargs="+", required=True, metavar="N:SEEDS")
    parser.add_argument("--out", required=True, metavar="PATH.npz")
    parser.add_argument("--iterations", type=int, default=2000)
    args = parser.parse_args(argv)
    out = check_output_path(args.out, (".npz",), name="--out")
    if not Path(args.cg).is_file():
        parser.error(f"cg: no file {args.cg}")
    import torch

    cg = load_their_module(args.cg)
    traces = {}
    for n, seed in (run for group in args.runs for run in group):
        traces[(n, seed)] = trace(cg, n, seed, args.iterations)
        print(f"n={n} seed={seed} done", file=sys.stderr)
    write(out, pack(traces, torch.__version__))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
