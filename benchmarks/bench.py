"""Performance of the exact computations, as ratios measured in one run.

Usage: python benchmarks/bench.py [--quick] [--only check]

Scenarios (full DAGs throughout):

* tiny  -- S = 2, two agents with 2 actions: one exact step of the dynamics (gradient of L_lambda and
  the update), against torch.autograd differentiating the same exact objective (value through a
  linear solve) and taking the same step.
* large -- S = 50, six agents with 3 actions (P is 50 x 729 x 50): one exact gradient, against the
  floor of two passes over P (P_pi and P V each read P once) and against torch.autograd.
* wide  -- N = 10 agents with 2 actions, S = 20: exact gradient, Nash gap and optimality gap, with
  the peak memory during each (tracemalloc, or the rise of the resident set if larger) as a multiple
  of the size of P.
* solvers -- Nash gap and mismatch coefficient M: policy-iteration steps and time in units of one
  pass over P.
* sampled -- model-free estimates of the gradient (bnpg.sampling.estimators): agent-steps per second of the
  simulation, and the cost of a sampled gradient as accurate as a stated fraction of the exact one's
  norm (root-mean-square error 1% of |grad|), in units of one exact gradient.
* sweeps -- a sweep's throughput (the predecessor's runs for three agents) serially, with 2 worker
  processes and on a 2-worker Dask LocalCluster, as ratios to the serial run, and how its time grows
  with its size.
* check -- `bnpg.paper.check` with its defaults (2,000,000 steps per theorem; 200,000 with --quick)
  on a game with 216 joint actions (S = 2, three agents with 6 actions), serially (jobs=1) and on
  the default two worker processes, whose start-up is included; the ratio and where the time goes.
* start -- the README's ten-line example in a new process: cold (numba's cache empty), warm (the
  cache filled) and with numba unavailable, and `bnpg check` on a small game cold and warm; ratios
  to the numpy-only run.

Every time is the best of several repeats, and every ratio is taken between times measured in this
run, so the ratios are meaningful on a shared, noisy machine while the absolute times are not. For
the large game the gradient and the floor are timed in interleaved rounds; the table divides the
best gradient by the best floor, and the line under it gives the spread of the per-round ratios.
Everything runs on one core: BLAS and torch are limited to one thread, as the compiled kernel is.
torch is optional (``pip install -e .[bench]``); without it its columns read "n/a".
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads: one-core comparisons
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import ctypes  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from functools import partial  # noqa: E402

import numpy as np  # noqa: E402

import bnpg  # noqa: E402
from bnpg.backends import numba_kernels as _fast
from bnpg.backends import plan_for

try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # torch is an optional benchmark extra
    torch = None


def best_time(fn, repeats: int, number: int = 1) -> float:
    """Best wall time per call of ``fn`` over ``repeats`` batches of ``number`` calls."""
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def random_game(n_states: int, action_sizes: tuple[int, ...], seed: int) -> bnpg.MarkovGame:
    rng = np.random.default_rng(seed)
    P = rng.random((n_states, *action_sizes, n_states))
    P /= P.sum(axis=-1, keepdims=True)
    r = rng.random((n_states, *action_sizes))
    return bnpg.MarkovGame(P, r, np.full(n_states, 1.0 / n_states), 0.9)


def torch_step_fn(game: bnpg.MarkovGame, policy: bnpg.BNPolicy, lam: float, eta: float):
    """A closure doing one autograd step of L_lambda on the same exact objective."""
    st = policy.structure
    S = game.n_states
    P = torch.tensor(game.P.reshape(S, -1, S))
    r = torch.tensor(game.r.reshape(S, -1))
    mu = torch.tensor(game.mu)
    eye = torch.eye(S, dtype=torch.float64)
    thetas = [torch.tensor(np.array(t), requires_grad=True) for t in policy.theta]
    sizes = game.action_sizes

    def objective():
        joint = None
        barrier = 0.0
        for i, th in enumerate(thetas):
            lay = st.layouts[i]
            logp = torch.log_softmax(th, dim=-1)
            barrier = barrier + logp.mean() + float(np.log(sizes[i]))
            local = torch.exp(logp).permute(lay.to_family).reshape(lay.broadcast_shape)
            joint = local if joint is None else joint * local
        pi = joint.reshape(S, -1)
        P_pi = torch.einsum("sa,sat->st", pi, P)
        r_pi = (pi * r).sum(dim=1)
        V = torch.linalg.solve(eye - game.gamma * P_pi, r_pi)
        return mu @ V + lam * barrier

    def step():
        for th in thetas:
            th.grad = None
        objective().backward()
        with torch.no_grad():
            for th in thetas:
                th += eta * th.grad

    def gradient_only():
        for th in thetas:
            th.grad = None
        objective().backward()

    return step, gradient_only


def fmt(x: float) -> str:
    if not np.isfinite(x):
        return "n/a"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if x >= scale:
            return f"{x / scale:.3g} {unit}"
    return f"{x / 1e-9:.3g} ns"


def tiny(repeats: int) -> list[tuple]:
    game = random_game(2, (2, 2), seed=0)
    policy = bnpg.BNPolicy.random(game, bnpg.DAG.full(2), seed=1)
    lam, eta = 0.01, 0.1
    n = 20_000
    plan = plan_for(game, policy.structure)
    flat = policy.flat()
    _fast.ascend(plan, flat, 10, eta, lam)  # compile outside the timing
    t_step = best_time(lambda: _fast.ascend(plan, flat, n, eta, lam), repeats) / n
    t_api = best_time(
        lambda: bnpg.gradient_ascent(game, policy, lam=lam, eta=eta, steps=n, record_every=n),
        repeats,
    ) / n
    t_torch = np.nan
    if torch is not None:
        step, _ = torch_step_fn(game, policy, lam, eta)
        t_torch = best_time(step, repeats, number=200)
    return [
        ("tiny: one exact step (compiled loop)", t_step, t_torch, np.nan, "<= 5 us, >= 20x torch"),
        ("tiny: gradient_ascent per step", t_api, t_torch, np.nan, ""),
    ]


#: Large scenario, bnpg / floor: (best over best, then min, median and max of the per-round ratios).
LARGE_SPREAD: list[tuple[float, float, float, float]] = []


def large(repeats: int) -> list[tuple]:
    game = random_game(50, (3,) * 6, seed=2)
    policy = bnpg.BNPolicy.random(game, bnpg.DAG.full(6), seed=3)
    lam = 0.01
    plan = plan_for(game, policy.structure)
    flat = policy.flat()
    _fast.value_and_gradient(plan, flat, lam, with_barrier=False)
    P2 = game.P.reshape(-1, game.n_states)
    v = np.random.default_rng(0).random(game.n_states)
    # interleaved rounds: in each, the best of several gradients, then the best of several single
    # passes over P (the first ones bring P back into the caches the gradient shares with it)
    grads, apis, passes = [], [], []
    for _ in range(10 * repeats):
        grads.append(best_time(lambda: _fast.value_and_gradient(plan, flat, lam, with_barrier=False), 5))
        apis.append(best_time(lambda: bnpg.gradient(game, policy, lam), 5))
        passes.append(best_time(lambda: P2 @ v, 10))
    grads, passes = np.array(grads), np.array(passes)
    ratios = grads / (2 * passes)
    t_grad, t_pass = float(grads.min()), float(passes.min())
    LARGE_SPREAD.append((t_grad / (2 * t_pass), float(ratios.min()), float(np.median(ratios)), float(ratios.max())))
    t_numpy = best_time(lambda: bnpg.gradient(game, policy, lam, backend="numpy"), repeats)
    t_torch = np.nan
    if torch is not None:
        _, grad_only = torch_step_fn(game, policy, lam, 0.0)
        t_torch = best_time(grad_only, repeats)
    return [
        ("large: exact gradient (numba kernel)", t_grad, t_torch, 2 * t_pass, "<= 2.5x floor, < torch"),
        ("large: bnpg.gradient (public API)", min(apis), t_torch, 2 * t_pass, ""),
        ("large: exact gradient (numpy)", t_numpy, t_torch, 2 * t_pass, ""),
    ]


def _memory_kib(field: str) -> float:
    """A field of /proc/self/status in KiB (Linux), or nan elsewhere."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return float(line.split()[1])
    except OSError:
        pass
    return np.nan


def traced(fn):
    """Time one call of ``fn`` and its peak memory in bytes, by two independent measures.

    ``tracemalloc`` sees every Python and numpy allocation but not the compiled kernels' own; the
    rise of the resident set's high-water mark (on Linux with glibc: freed memory is first handed
    back with ``malloc_trim``, then the mark is reset through /proc/self/clear_refs) sees everything
    the process touches. The larger of the two is reported.
    """
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset the high-water mark to the current resident set
        resident = _memory_kib("VmRSS")
    except (OSError, AttributeError):  # not Linux, or not glibc
        resident = np.nan
    tracemalloc.start()
    start = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss_rise = 1024 * (_memory_kib("VmHWM") - resident)
    return elapsed, float(np.nanmax([peak, rss_rise]))


def wide() -> list[tuple]:
    game = random_game(20, (2,) * 10, seed=4)
    policy = bnpg.BNPolicy.random(game, bnpg.DAG.full(10), seed=5)
    size = game.P.nbytes
    rows = []
    for name, fn in (
        ("gradient", lambda: bnpg.gradient(game, policy, 0.01)),
        ("Nash gap", lambda: bnpg.nash_gap(game, policy)),
        ("optimality gap", lambda: bnpg.optimality_gap(game, policy)),
    ):
        fn()  # compile, build the plan and import lazily loaded modules outside the measurement
        elapsed, peak = traced(fn)
        rows.append((f"wide: {name} (peak {peak / size:.2f}x P)", elapsed, np.nan, np.nan, "< 1 s, < 4x P"))
    return rows


def solvers(repeats: int) -> list[str]:
    lines = []
    for S, sizes in ((10, (3, 3)), (50, (3,) * 4)):
        game = random_game(S, sizes, seed=6)
        policy = bnpg.BNPolicy.random(game, bnpg.DAG.full(len(sizes)), seed=7)
        P2 = game.P.reshape(-1, S)
        v = np.ones(S)
        t_pass = best_time(lambda P2=P2, v=v: P2 @ v, repeats)
        t_nash = best_time(lambda g=game, p=policy: bnpg.nash_gap(g, p), max(1, repeats // 3))
        iters = [bnpg.best_response(game, policy, i).iterations for i in range(len(sizes))]
        t_m = best_time(lambda g=game: bnpg.visitation_extremes(g), 1)
        m_iters = bnpg.visitation_extremes(game).iterations
        lines.append(
            f"S={S}, actions={sizes}: Nash gap {t_nash / t_pass:.0f} passes over P "
            f"(policy-iteration steps per agent {iters}); M {t_m / t_pass:.0f} passes "
            f"({m_iters} policy-iteration steps over {2 * S} MDPs)"
        )
    return lines


README_EXAMPLE = """
import numpy as np
import bnpg

rng = np.random.default_rng(0)
P = rng.dirichlet(np.ones(3), size=(3, 2, 2))
game = bnpg.MarkovGame(P, rng.random((3, 2, 2)), mu=np.ones(3) / 3, gamma=0.9)
policy = bnpg.BNPolicy(game, bnpg.DAG.chain(2))
run = bnpg.gradient_ascent(game, policy, lam=0.01, eta=0.1, steps=500, record_every=100)
print(bnpg.value(game, run.policy), bnpg.optimal_value(game))
print(bnpg.nash_gap(game, run.policy), bnpg.mismatch_coefficient(game))
"""


def start_times() -> list[str]:
    """Wall times of new processes, with numba's cache in a fresh folder (cold) and reused (warm)."""
    import subprocess
    import tempfile

    def run(code: str, cache: str, *, numba: bool = True) -> float:
        prefix = "" if numba else "import sys; sys.modules['numba'] = None\n"
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", prefix + code], check=True, env=env, capture_output=True)
        return time.perf_counter() - start

    with tempfile.TemporaryDirectory() as scratch:
        game = os.path.join(scratch, "game.npz")
        random_game(2, (2, 3), seed=2).save(game)
        check = f"from bnpg.cli import main; main(['check', {game!r}, '--no-progress', '--max-steps', '100000'])"
        cache = os.path.join(scratch, "cache")
        numpy_only = run(README_EXAMPLE, cache, numba=False)
        readme_cold = run(README_EXAMPLE, cache)
        readme_warm = run(README_EXAMPLE, cache)
        check_numpy = run(check, cache, numba=False)
        check_cold = run(check, os.path.join(scratch, "cache2"))
        check_warm = run(check, os.path.join(scratch, "cache2"))
    return [
        f"start: README example, new process: cold {readme_cold:.2f} s, warm {readme_warm:.2f} s, "
        f"numpy only {numpy_only:.2f} s (cold/numpy {readme_cold / numpy_only:.2f}x, "
        f"warm/numpy {readme_warm / numpy_only:.2f}x)",
        f"start: bnpg check, 2 states, 6 joint actions, 100,000 steps: cold {check_cold:.1f} s "
        f"(compiles the kernels), warm {check_warm:.1f} s, numpy only {check_numpy:.1f} s",
    ]


def sampled(repeats: int) -> list[str]:
    """Simulation throughput and the cost of a sampled gradient at equal accuracy, against the exact one."""
    from bnpg.games import library as games
    from bnpg.sampling import estimators as smp

    lines = ["sampled gradients (geometric horizon; B* = episodes for an RMS error of 1% of |grad|):",
             f"  {'game':44} {'agent-steps/s':>14} {'B*':>10} {'method':>14} {'sampled/exact':>14}"]
    cases = [
        ("penalty, full DAG, gamma 0.5", games.penalty_game(gamma=0.5), 2),
        ("random S=2, 3 agents, full, gamma 0.5", games.random_game(2, (2, 2, 2), seed=7, gamma=0.5), 3),
        ("random S=10, 4 agents x 3, full, gamma 0.9", random_game(10, (3, 3, 3, 3), seed=1), 4),
    ]
    for name, game, n in cases:
        dag = bnpg.DAG.full(n)
        policy = bnpg.BNPolicy.random(game, dag, seed=0)
        lam = 0.01
        t_exact = best_time(partial(bnpg.gradient, game, policy, lam, backend="numpy"), repeats, number=20)
        norm = bnpg.gradient_norm(bnpg.gradient(game, policy, lam))
        batch = 20_000
        for method in ("reinforce", "actor-critic"):
            rng = np.random.default_rng(0)
            est = smp.gradient_estimate(game, policy, lam, episodes=batch, horizon="geometric", rng=rng,
                                        method=method)
            per_episode = float(np.sum(est.flat_stderr() ** 2)) * batch   # trace of one episode's covariance
            b_star = int(np.ceil(per_episode / (0.01 * norm) ** 2))
            t_sim = best_time(partial(smp.simulate, game, policy, episodes=batch, horizon="geometric", rng=rng),
                              repeats)
            t_est = best_time(partial(smp.gradient_estimate, game, policy, lam, episodes=batch,
                                      horizon="geometric", rng=rng, method=method), repeats)
            rate = est.agent_steps / t_sim
            ratio = t_est * b_star / batch / t_exact
            lines.append(f"  {name if method == 'reinforce' else '':44} {rate:>14.3g} {b_star:>10,} "
                         f"{method:>14} {ratio:>13.3g}x")
    lines.append("  (sampled/exact: one estimate from B* episodes, timed at 20,000 and scaled, over one exact "
                 "gradient; actor-critic uses the batch critic, whose bias B* leaves out)")
    return lines


def sweeps() -> list[str]:
    """Throughput of a sweep on 1 and 2 workers and on a LocalCluster, as ratios taken in one run.

    The sweep is the predecessor's experiment for three agents (48 runs of 2000 exact steps, about a
    third of a second each): instances long enough that starting the workers does not dominate."""
    from bnpg.experiments.studies.predecessor import predecessor_study
    from bnpg.experiments.sweeps import SweepOptions

    predecessor_study((3,), (1,), iterations=10)          # imports and compiled code loaded before timing

    def timed(seeds, **kw) -> float:
        start = time.perf_counter()
        predecessor_study((3,), seeds, sweep=SweepOptions(**kw))
        return time.perf_counter() - start

    seeds = range(1, 9)
    serial = timed(seeds)
    n = 6 * len(seeds)
    lines = [f"sweeps: predecessor n=3, {n} runs: serial {n / serial:.2f} runs/s; "
             f"2 jobs {serial / timed(seeds, jobs=2):.2f}x the serial throughput"]
    try:
        from distributed import LocalCluster
    except ImportError:
        lines.append("sweeps: LocalCluster n/a (pip install 'bnpg[dask]')")
    else:
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            address = cluster.scheduler_address
            timed((1,), scheduler=address)                     # the workers import bnpg first
            lines.append(f"sweeps: LocalCluster of 2 workers {serial / timed(seeds, scheduler=address):.2f}x "
                         "the serial throughput")
    half = timed(range(1, 5))
    lines.append(f"sweeps: serial time for {n // 2} and {n} runs: {half:.1f} s and {serial:.1f} s "
                 f"(ratio {serial / half:.2f}; a cost linear in the size gives 2)")
    return lines


def check_times(max_steps: int) -> list[str]:
    """The default check of a 216-joint-action game, serial and on the default workers."""
    from joblib.externals.loky import get_reusable_executor

    from bnpg.paper.checklist import STATEMENTS, check, default_jobs

    game = random_game(2, (6, 6, 6), seed=0)
    check(game, max_steps=100, jobs=1)                     # compiled code loaded before timing
    spent: dict = {}
    last: list = []

    def progress(done, total, label=""):
        now = time.perf_counter()
        if last:
            spent[last[1]] = now - last[0]
        last[:] = [now, label]

    start = time.perf_counter()
    serial = check(game, max_steps=max_steps, jobs=1, progress=progress)
    t_serial = time.perf_counter() - start
    get_reusable_executor().shutdown(wait=True)            # the workers' start-up is timed
    jobs = default_jobs(game)
    start = time.perf_counter()
    parallel = check(game, max_steps=max_steps)
    t_parallel = time.perf_counter() - start
    same = parallel.to_dict() == serial.to_dict()
    theorems = spent["theorem-1"] + spent["theorem-2"]
    return [
        f"check: S=2, actions (6, 6, 6) ({game.n_joint_actions} joint actions), max_steps {max_steps:,}: "
        f"serial {t_serial:.1f} s (theorems {theorems:.1f} s, lemma 4 {spent['lemma-4']:.1f} s), "
        f"{jobs} jobs {t_parallel:.1f} s: {t_serial / t_parallel:.2f}x faster; reports equal: {same}",
        "check: serial time per statement: " + ", ".join(f"{sid} {spent[sid]:.2f} s" for sid in STATEMENTS),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--only", choices=["check"], help="run one section only")
    args = parser.parse_args()
    repeats = 3 if args.quick else 7
    check_steps = 200_000 if args.quick else 2_000_000
    if args.only == "check":
        for line in check_times(check_steps):
            print(line)
        return
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
          f"numpy {np.__version__}, numba {'yes' if _fast.HAVE_NUMBA else 'no'}, "
          f"torch {torch.__version__ if torch else 'n/a'}")
    rows = tiny(repeats) + large(repeats) + wide()
    header = f"{'scenario':44} {'bnpg':>10} {'torch':>10} {'floor':>10} {'torch/bnpg':>10} {'bnpg/floor':>10}  target"
    print(header)
    print("-" * len(header))
    for name, t, t_torch, t_floor, target in rows:
        ratio_torch = t_torch / t if np.isfinite(t_torch) else np.nan
        ratio_floor = t / t_floor if np.isfinite(t_floor) else np.nan
        print(
            f"{name:44} {fmt(t):>10} {fmt(t_torch):>10} {fmt(t_floor):>10} "
            f"{'n/a' if np.isnan(ratio_torch) else f'{ratio_torch:.1f}x':>10} "
            f"{'n/a' if np.isnan(ratio_floor) else f'{ratio_floor:.2f}x':>10}  {target}"
        )
    if LARGE_SPREAD:
        best, lo, mid, hi = LARGE_SPREAD[-1]
        print(f"large: bnpg/floor {best:.2f}x best over best (the table); per round of the "
              f"interleaved timing: min {lo:.2f}x, median {mid:.2f}x, max {hi:.2f}x")
    print()
    for line in solvers(repeats) + sampled(repeats) + sweeps() + check_times(check_steps) + start_times():
        print(line)


if __name__ == "__main__":
    main()
