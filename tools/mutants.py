r"""Mutation check: plant known bugs in the library and the audit, and require the tests to catch each one.

Run it with ``make mutants`` (or ``.venv/bin/python tools/mutants.py``); it is not part of
``make test``. It takes a few minutes: about two for the 47 mutants on a two-core machine (a
baseline run of half a minute, then a few seconds per mutant, since ``-x`` stops at the first
failure; a mutant that survives costs its whole selection). The timings are in its table.

What it does
------------
1. Checks every entry of :data:`MUTANTS`: its file exists, its ``old`` text occurs there *exactly
   once*, its ``new`` text differs, and every test path it names exists. Any entry that fails this
   makes the tool stop at once with exit status 2, naming the mutant: the list has fallen behind the
   library and must be brought up to date (see below), never silently skipped.
2. Copies the working tree (without ``.venv``, ``.venv-nonumba``, ``_build``, ``.git``,
   ``__pycache__`` and ``.hypothesis``) into a temporary folder, the *scratch copy*. Every pytest run
   below uses the project's interpreter (``.venv/bin/python -m pytest -x -q -p no:randomly -m "not
   fingerprint"``) with the scratch copy as working directory and as ``PYTHONPATH``, so that ``import
   bnpg`` imports the scratch package, not the editable install of the repository
   (``PYTHONDONTWRITEBYTECODE`` keeps stale bytecode out of the copy).
3. Checks that this works: ``import bnpg`` in the scratch environment must resolve inside the copy.
4. Runs the union of the mutants' test selections on the unmutated copy. It must pass; otherwise a
   failure under a mutant would mean nothing, and the tool aborts (exit status 2). Then an obviously
   broken *canary* mutant (every value doubled) must be caught, or the tests are not exercising the
   scratch copy and the tool aborts.
5. For each mutant: writes the mutated file into the copy, runs the mutant's own selection of tests,
   and restores the file (bytes and modification time; numba's cache of the file is dropped). A
   mutant is *caught* when pytest exits non-zero because tests failed (or hangs past the timeout,
   labelled so); the first ``FAILED`` (or ``ERROR``) line of pytest's summary is recorded. Mutants of
   the compiled kernel (``needs_numba``) are reported as skipped where numba is not installed.
6. Prints a table (id, description, caught, first failing test, seconds) and exits with status 1 if
   any mutant survived, 0 if all were caught.

Options: ``--only ID`` (repeatable) runs just those mutants (the baseline then covers only their
tests); ``--list`` prints the mutants; ``--keep`` keeps the scratch copy; ``--timeout`` bounds each
mutant's pytest run; ``--only ID --tests PATH ...`` runs other test paths against a mutant (to look
for an existing test that catches a survivor).

A surviving mutant is a finding about the test suite: some plausible bug would go unnoticed. The
remedy is a test that catches it, not a weaker mutant.

Adding a mutant
---------------
Append a :class:`Mutant` to :data:`MUTANTS`: a unique ``id``, the ``file`` (relative to the
repository root), the ``old`` text (copied from the file, long enough to occur exactly once;
indentation included), the ``new`` text (a plausible bug, not a syntax error), a one-line
``description``, and ``tests``: the pytest arguments to run (test files, node ids, or a module path
such as ``bnpg/exact/gaps.py`` for that module's doctests); ``needs_numba=True`` for a bug that only the
compiled kernel can show. Choose the files that ought to catch the bug;
keep the selection small, since ``-x`` stops at the first failure but a survivor runs all of it.
Fingerprint tests (marked ``fingerprint``, e.g. ``test_the_shipped_search_was_made_by_todays_code``)
fail on *any* edit to the functions they hash, so every run leaves them out with ``-m "not
fingerprint"``: a mutant must be caught by a test of behaviour.
Run ``tools/mutants.py --only ID`` to try it.

Keeping the list current
------------------------
The mutants are textual substitutions into the library's source, so an edit to a target line breaks
them: the tool then fails loudly in step 1, naming each stale mutant and its file. Update the
``old``/``new`` texts to the current code (keeping the same planted bug), or replace the mutant by an
equivalent one, whenever the library changes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
#: Names left out of the scratch copy, wherever they occur in the tree.
EXCLUDED = (".venv", ".venv-nonumba", "_build", ".git", "__pycache__", ".hypothesis")
#: The fingerprint tests fail on any edit to the code they hash, so they are left out (``-m``).
PYTEST = ("-m", "pytest", "-x", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", "-rfE", "--tb=short",
          "-m", "not fingerprint")


@dataclass(frozen=True)
class Mutant:
    """One planted bug: replace ``old`` (which must occur exactly once in ``file``) by ``new``."""

    id: str
    file: str
    old: str
    new: str
    description: str
    tests: tuple[str, ...]
    needs_numba: bool = False


# Test selections, by area. Test files come first, so that the first failure names the test in
# tests/ that catches the bug; the mutated module's doctests come last, as a backstop.
OBJECTIVE = ("tests/exact/test_objective.py", "bnpg/exact/objective.py")
EVALUATION = ("tests/exact/test_evaluation.py", "bnpg/exact/evaluation.py")
POLICY = ("tests/model/test_policy.py", "bnpg/model/policy.py")
GAPS = ("tests/exact/test_gaps.py", "tests/exact/test_mismatch.py", "bnpg/exact/gaps.py")
MDP = ("tests/exact/test_gaps.py", "tests/exact/test_mismatch.py", "bnpg/exact/mdp.py")
MISMATCH = ("tests/exact/test_mismatch.py", "tests/exact/test_gaps.py", "bnpg/exact/mismatch.py")
DYNAMICS = ("tests/dynamics/test_ascent.py", "tests/dynamics/test_dynamics.py", "bnpg/dynamics/line_search.py")
CONSTANTS = ("tests/theory/test_constants.py", "tests/dynamics/test_convergence.py", "bnpg/theory/constants.py")
BOUNDS = ("tests/theory/symbolic/test_bounds.py", "tests/theory/test_constants.py", "bnpg/theory/symbolic/bounds.py")
AUDIT = ("tests/theory/symbolic/test_bounds.py", "bnpg/theory/symbolic/audit.py")
PAPER = ("tests/paper/test_paper.py", "bnpg/paper/lemmas.py", "bnpg/paper/theorems.py")
SHARPENED = ("tests/theory/test_sharpened.py", "tests/theory/test_witnesses.py", "bnpg/theory/sharpened.py")
WITNESSES = ("tests/theory/test_witnesses.py", "bnpg/theory/witnesses.py")
SAMPLED = ("tests/sampling/test_estimators.py", "tests/sampling/test_episodes.py")
SWEEPS = ("tests/experiments/test_sweeps.py",)
SHARP_BOUNDS = ("tests/theory/symbolic/test_bounds_sharpened.py", "bnpg/theory/symbolic/bounds.py")
FAST = ("tests/backends/test_backends.py", "bnpg/backends/numba_kernels.py")

#: The planted bugs. Keep them current with the library (see the module docstring).
MUTANTS: tuple[Mutant, ...] = (
    # --- bnpg/exact/objective.py: L_lambda and its gradient (Lemma 1) -------------------------------
    Mutant(
        "objective-barrier-sign", "bnpg/exact/objective.py",
        "    return scale * (1.0 / size - policy.local(i))",
        "    return scale * (policy.local(i) - 1.0 / size)",
        "barrier gradient with the wrong sign: pi^i - 1/|A^i|",
        OBJECTIVE,
    ),
    Mutant(
        "objective-value-factor", "bnpg/exact/objective.py",
        "        grads.append(wi - policy.local(i) * wi.sum(axis=-1, keepdims=True))",
        "        grads.append((wi - policy.local(i) * wi.sum(axis=-1, keepdims=True)) / (1 - policy.game.gamma))",
        "value gradient carries Lemma 1's printed factor 1/(1-gamma)",
        OBJECTIVE,
    ),
    Mutant(
        "objective-barrier-normalisation", "bnpg/exact/objective.py",
        "    scale = lam / (policy.game.n_states * lay.n_parent_actions)",
        "    scale = lam / (policy.game.n_states * size)",
        "barrier gradient normalised by |S||A^i| instead of |S||A^{P^i}|",
        OBJECTIVE,
    ),
    # --- bnpg/exact/evaluation.py: V, Q, d_mu, partial values ----------------------------------------
    Mutant(
        "evaluation-visitation-transpose", "bnpg/exact/evaluation.py",
        "    d = np.linalg.solve(M.T, game.mu)",
        "    d = np.linalg.solve(M, game.mu)",
        "visitation solves (I - gamma P_pi) d = mu instead of the transposed system",
        EVALUATION,
    ),
    Mutant(
        "evaluation-q-without-gamma", "bnpg/exact/evaluation.py",
        "    Q = game.r + game.gamma * (game.P.reshape(-1, S) @ V).reshape(game.r.shape)",
        "    Q = game.r + (game.P.reshape(-1, S) @ V).reshape(game.r.shape)",
        "Q = r + P V, the discount dropped",
        EVALUATION,
    ),
    Mutant(
        "evaluation-partial-q-unconditioned", "bnpg/exact/evaluation.py",
        "        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)",
        "        return np.where(den > 0, num, np.nan)",
        "partial_q returns sum_{a^-M} pi(a) Q(s, a), not divided by pi(a^M | s)",
        EVALUATION,
    ),
    # --- bnpg/model/policy.py: BN softmax policies -----------------------------------------------------
    Mutant(
        "policy-family-unsorted", "bnpg/model/policy.py",
        "            family = tuple(sorted(ps + (i,)))",
        "            family = ps + (i,)",
        "Structure layout: family axes in theta order (parents, then i), not sorted as in the joint",
        POLICY,
    ),
    Mutant(
        "policy-softmax-axis", "bnpg/model/policy.py",
        "    return e / e.sum(axis=-1, keepdims=True)",
        "    return e / e.sum(axis=0, keepdims=True)",
        "softmax normalised over the first (state) axis instead of the last",
        POLICY,
    ),
    # --- bnpg/exact/gaps.py, mdp.py, mismatch.py: best responses, gaps, mismatch coefficient ------------
    Mutant(
        "gaps-best-response-no-reaction", "bnpg/exact/gaps.py",
        "    rho = policy.others_weight(i)\n    R = st.to_theta_axes(i, rho * game.r)",
        "    rho = policy.joint().sum(axis=1 + i, keepdims=True)\n    R = st.to_theta_axes(i, rho * game.r)",
        "best response against the others' joint marginal: descendants no longer react to agent i",
        GAPS,
    ),
    Mutant(
        "gaps-policy-iteration-early", "bnpg/exact/mdp.py",
        "        if not improve.any():\n            return Solution(V=V, rule=rule,",
        "        if improve.sum() <= 1:\n            return Solution(V=V, rule=np.where(improve, best, rule),",
        "policy iteration stops one step early: the last switch is made but not evaluated",
        MDP,
    ),
    Mutant(
        "gaps-optimality-gap-sign", "bnpg/exact/gaps.py",
        "    return optimal_value(game) - evaluate(game, policy).value",
        "    return evaluate(game, policy).value - optimal_value(game)",
        "optimality gap computed as V_pi(mu) - V*(mu)",
        GAPS,
    ),
    Mutant(
        "gaps-mismatch-max-over-max", "bnpg/exact/mismatch.py",
        "ext.d_max / np.where(ext.d_min > 0, ext.d_min, 1.0)",
        "ext.d_max / np.where(ext.d_min > 0, ext.d_max, 1.0)",
        "mismatch coefficient M as max_pi d / max_pi' d instead of max / min",
        MISMATCH,
    ),
    # --- bnpg/dynamics/line_search.py: the backtracking ascent and its Armijo condition -------------------
    Mutant(
        "dynamics-armijo-sign", "bnpg/dynamics/line_search.py",
        "        return v_new >= value + ARMIJO * step * norm2",
        "        return v_new >= value - ARMIJO * step * norm2",
        "Armijo condition with the wrong sign: accepts a small decrease of L_lambda",
        DYNAMICS,
    ),
    Mutant(
        "dynamics-backtracking-one-late", "bnpg/dynamics/line_search.py",
        "    while t < max_steps and not done(row):",
        "    while t <= max_steps and not done(row):",
        "backtracking ascent stops one step late: max_steps + 1 updates",
        DYNAMICS,
    ),
    # --- bnpg/theory/constants.py: the paper's constants as numbers -------------------------------------
    Mutant(
        "constants-threshold", "bnpg/theory/constants.py",
        "    return lam / (2 * game.n_states * game.n_joint_actions * max(game.action_sizes))",
        "    return lam / (2 * game.n_states * max(game.action_sizes))",
        "gradient_threshold without |A| (A.3's threshold, not the lemmas')",
        CONSTANTS,
    ),
    Mutant(
        "constants-lemma2-bound", "bnpg/theory/constants.py",
        '    return 2.0 * non_negative("lam", lam) * mismatch_value("M", M)',
        '    return non_negative("lam", lam) * mismatch_value("M", M)',
        "lemma2_bound = lambda M instead of 2 lambda M",
        CONSTANTS,
    ),
    Mutant(
        "constants-lemma3-bound", "bnpg/theory/constants.py",
        "    return 2.0 ** (n + 1) * n * lam * M",
        "    return 2.0 ** n * n * lam * M",
        "printed lemma3_bound with 2^N instead of 2^(N+1)",
        CONSTANTS,
    ),
    Mutant(
        "constants-smoothness-action-sizes", "bnpg/theory/constants.py",
        "        2 * lam / (game.n_states * b) for b in counts",
        "        2 * lam / (game.n_states * a) for a in game.action_sizes",
        "smoothness_bound (Lemma 4 form) sums over |A^i| instead of |A^{P^i}|",
        CONSTANTS + ("tests/dynamics/test_dynamics.py",),
    ),
    Mutant(
        "constants-lambda-choice", "bnpg/theory/constants.py",
        "    return eps / (2 * M) if theorem == 1 else eps / (2 ** (n + 1) * n * M)",
        "    return eps / (2 * M) if theorem == 1 else eps / (2 ** n * n * M)",
        "Theorem 2's lambda = eps / (2^N N M) instead of eps / (2^(N+1) N M)",
        CONSTANTS,
    ),
    Mutant(
        "constants-iteration-bound-printed", "bnpg/theory/constants.py",
        "        return (256 * n * M**2 * S**2 * a_max**2 * R**2 / (h**4 * eps**2)",
        "        return (256 * n * M**2 * S**2 * a_max**2 * R**2 / (h**3 * eps**2)",
        "printed Theorem 1 bound with (1-gamma)^3 instead of (1-gamma)^4 in its first term",
        CONSTANTS,
    ),
    # --- bnpg/theory/symbolic/bounds.py: the sympy transcriptions and derivations ---------------------------------
    Mutant(
        "bounds-printed-theorem1", "bnpg/theory/symbolic/bounds.py",
        '    "Theorem 1: T": _THEOREM1_FIRST + 32 * LAM * M',
        '    "Theorem 1: T": _THEOREM1_FIRST + 16 * LAM * M',
        "PRINTED['Theorem 1: T'] transcribed with 16 instead of 32 in its second term",
        BOUNDS,
    ),
    Mutant(
        "bounds-lambda-choice", "bnpg/theory/symbolic/bounds.py",
        "    guarantee = 2 * LAM * M if theorem == 1 else",
        "    guarantee = LAM * M if theorem == 1 else",
        "symbolic lambda_choice(1) solves lambda M = eps (Lemma 2's guarantee without its 2)",
        BOUNDS,
    ),
    # --- bnpg/theory/symbolic/audit.py: verdicts of the symbolic comparisons ---------------------------------------
    Mutant(
        "audit-loose-direction", "bnpg/theory/symbolic/audit.py",
        'relation == "<=" and _nonnegative(d - p) or relation == ">=" and _nonnegative(p - d)',
        'relation == "<=" and _nonnegative(p - d) or relation == ">=" and _nonnegative(d - p)',
        "'valid but loose' granted for the wrong direction of the inequality",
        AUDIT,
    ),
    # --- bnpg/paper/lemmas.py and theorems.py: the statements' verdicts --------------------------------------
    Mutant(
        "paper-lemma2-hypothesis-skipped", "bnpg/paper/lemmas.py",
        "        holds_as_printed=within(gap, bound, game) if met else None,\n"
        "        holds_corrected=within(gap, sharp, game) if met else None,",
        "        holds_as_printed=within(gap, bound, game),\n        holds_corrected=within(gap, sharp, game),",
        "Lemma 2's verdict given even when no point met the gradient threshold",
        PAPER,
    ),
    Mutant(
        "paper-theorem-bound-reversed", "bnpg/paper/theorems.py",
        "            return bool(t_obs <= bound)",
        "            return bool(t_obs >= bound)",
        "a theorem holds when the observed T is at least the bound, not at most",
        PAPER,
    ),
    # --- bnpg/paper/catalogue.py: the catalogue the verdict index is rendered from ---------------------
    Mutant(
        "statements-lemma1-holds", "bnpg/paper/catalogue.py",
        '    Statement("lemma-1", "Lemma 1", r"the gradient of $L_\\lambda$", "false as printed",',
        '    Statement("lemma-1", "Lemma 1", r"the gradient of $L_\\lambda$", "holds",',
        "the catalogue calls Lemma 1 correct although its printed formula fails on every game",
        ("tests/paper/test_statements.py",),
    ),
    Mutant(
        "statements-agrees-lenient", "bnpg/paper/catalogue.py",
        '    "holds": {"holds", "undecided"},',
        '    "holds": {"holds", "undecided", "fails as printed"},',
        "a statement the book says holds may fail as printed on a game without the index noticing",
        ("tests/paper/test_statements.py",),
    ),
    # --- the predecessor's experiment: deviation classes, their game, their start ---------------------
    Mutant(
        "gaps-state-class-is-parents", "bnpg/exact/gaps.py",
        '    if deviation == "state":\n        return (S,), R.sum(axis=1, keepdims=True), K.sum(axis=1, keepdims=True)',
        '    if deviation == "state":\n        return lay.theta_shape[:-1], R, K',
        "the state-only deviation allowed to see the parents' actions (Definition 1's class)",
        ("tests/exact/test_deviations.py",),
    ),
    Mutant(
        "coordination-full-line", "bnpg/games/coordination.py",
        "        return DAG.from_edges(n, [(i, i + 1) for i in range(n - 2)])",
        "        return DAG.from_edges(n, [(i, i + 1) for i in range(n - 1)])",
        "their 'line' built as the chain its name promises, not as their code builds it",
        ("tests/games/test_coordination.py",),
    ),
    Mutant(
        "coordination-flip-noise", "bnpg/games/coordination.py",
        "    kernel = (1.0 - eps) ** agree * eps ** (n - agree)",
        "    kernel = (1.0 - eps) ** (n - agree) * eps ** agree",
        "each next state bit copies the action with probability eps instead of 1 - eps",
        ("tests/games/test_coordination.py",),
    ),
    Mutant(
        "torch-normal-cache", "bnpg/experiments/studies/torch_normal.py",
        "            eng.next_double_normal = r * math.sin(theta)",
        "            eng.next_double_normal = None",
        "torch's cached second Box-Muller sample dropped (small tensors draw fresh pairs)",
        ("tests/experiments/test_predecessor.py",),
    ),
    Mutant(
        "predecessor-no-scale", "bnpg/experiments/studies/predecessor.py",
        "        g = scale * np.concatenate([d.ravel() for d in gradient(game, policy.with_flat(x), lam, backend=backend)])",
        "        g = np.concatenate([d.ravel() for d in gradient(game, policy.with_flat(x), lam, backend=backend)])",
        "their step taken on V(mu) instead of on their objective, 2^n/n times larger",
        ("tests/experiments/test_predecessor.py",),
    ),
    # --- bnpg/backends/numba_kernels.py: the compiled kernel (numba) -----------------------------------------------
    Mutant(
        "fast-barrier-normalisation", "bnpg/backends/numba_kernels.py",
        "        scale = lam / (S * n_parent_actions[i])",
        "        scale = lam / (S * n_actions[i])",
        "compiled barrier gradient normalised by |S||A^i| instead of |S||A^{P^i}|",
        FAST, needs_numba=True,
    ),
    Mutant(
        "sharpened-tau2-paper-width", "bnpg/theory/sharpened.py",
        "        widths = [K * math.sqrt(k * (k - 1)) for K, k in zip(counts, sizes, strict=True) if k > 1]",
        "        widths = [K * k for K, k in zip(counts, sizes, strict=True) if k > 1]",
        "sharpened Lemma 2 threshold with K_i k_i in place of K_i sqrt(k_i (k_i - 1))",
        SHARPENED,
    ),
    Mutant(
        "sharpened-lemma3-bound-no-slack", "bnpg/theory/sharpened.py",
        "    return M * (lam * (1 - 1 / game.n_joint_actions) + math.sqrt(S * _sigma_k(game)) * tau)",
        "    return M * (lam * (1 - 1 / game.n_joint_actions) + math.sqrt(_sigma_k(game)) * tau)",
        "sharpened Lemma 3 bound drops the sqrt(|S|) of the Cauchy-Schwarz over states",
        SHARPENED + PAPER,
    ),
    Mutant(
        "sharpened-T-halved", "bnpg/theory/sharpened.py",
        "    return 2.0 * smoothness_bound(game, dag, lam) * gain / tau**2",
        "    return smoothness_bound(game, dag, lam) * gain / tau**2",
        "the sharpened iteration bound with its constant halved",
        SHARPENED + SHARP_BOUNDS,
    ),
    Mutant(
        "witnesses-chain-recursion", "bnpg/theory/witnesses.py",
        "        W[j] = W[j + 1] - (1 - p[j]) * D",
        "        W[j] = W[j + 1] - D",
        "chain game: the value recursion forgets the probability of the deviation",
        WITNESSES,
    ),
    Mutant(
        "bounds-sharp-threshold-sigma", "bnpg/theory/symbolic/bounds.py",
        "    return LAM / (S * KAPPA) if lemma == 2 else LAM / (S * A * sp.sqrt(SIGMA_K))",
        "    return LAM / (S * KAPPA) if lemma == 2 else LAM / (S * A * SIGMA_K)",
        "symbolic sharpened Lemma 3 threshold with Sigma_k in place of its square root",
        SHARP_BOUNDS,
    ),
    Mutant(
        "sampled-score-ignores-parents", "bnpg/sampling/estimators.py",
        "        row = row * sizes[j] + actions[..., j]",
        "        row = row * sizes[j]",
        "sampled score: each agent's row ignores its parents' actions",
        SAMPLED,
    ),
    Mutant(
        "episodes-index-order", "bnpg/sampling/episodes.py",
        "        for i in order:",
        "        for i in range(n):",
        "simulation draws the agents in index order, before their parents when edges go against it",
        SAMPLED,
    ),
    Mutant(
        "sampled-td-no-discount", "bnpg/sampling/estimators.py",
        "        psi = batch.rewards + game.gamma * V[batch.states[:, 1:]] - V[batch.states[:, :-1]]",
        "        psi = batch.rewards + V[batch.states[:, 1:]] - V[batch.states[:, :-1]]",
        "actor-critic: the TD signal forgets the discount",
        SAMPLED,
    ),
    Mutant(
        "episodes-no-discount-weight", "bnpg/sampling/episodes.py",
        "        return np.broadcast_to(self.gamma ** np.arange(self.alive.shape[1], dtype=float), "
        "self.alive.shape).copy()",
        "        return self.alive.astype(float)",
        "fixed horizon: the steps are not weighted by gamma^t",
        SAMPLED,
    ),
    Mutant(
        "sampled-baseline-own-episode", "bnpg/sampling/estimators.py",
        "    other_sum = own_sum.sum(axis=0) - own_sum",
        "    other_sum = own_sum.sum(axis=0)",
        "REINFORCE baseline: the episode's own returns enter its baseline",
        SAMPLED,
    ),
    Mutant(
        "sampled-expected-horizon-reversed", "bnpg/sampling/estimators.py",
        "                part = _scored(policy, gamma**t * p, Q_rest[horizon - 1 - t])",
        "                part = _scored(policy, gamma**t * p, Q_rest[t])",
        "truncated mean: step t scored with the action values of t steps left instead of H - t",
        SAMPLED,
    ),
    Mutant(
        "sweeps-completion-order", "bnpg/experiments/sweeps.py",
        "    return [done[k] for k in range(n_instances)]",
        "    return list(done.values())",
        "sweep results in the order instances finished or were stored, not in instance order",
        SWEEPS,
    ),
    Mutant(
        "sweeps-no-skip", "bnpg/experiments/sweeps.py",
        "    todo = [k for k in range(n_instances) if k not in done]",
        "    todo = list(range(n_instances))",
        "a resumed sweep runs again the instances its store holds",
        SWEEPS,
    ),
    Mutant(
        "sweeps-keep-cut-line", "bnpg/experiments/sweeps.py",
        "    if not data.endswith(b\"\\n\"):",
        "    if False:",
        "a store's last line cut short by a kill is kept instead of dropped",
        SWEEPS,
    ),
)

#: An obviously broken mutant that must be caught, or the harness is not testing the scratch copy.
CANARY = Mutant(
    "canary", "bnpg/exact/evaluation.py",
    "    V = np.linalg.solve(M, r_pi)",
    "    V = 2.0 * np.linalg.solve(M, r_pi)",
    "every value doubled (checks the harness, not the tests)",
    ("tests/exact/test_evaluation.py",),
)


# ------------------------------------------------------------------------------------------------
# Checks of the list
# ------------------------------------------------------------------------------------------------


def stale(mutants, root: Path = ROOT) -> list[str]:
    """Problems with the list: unknown files, ``old`` not occurring exactly once, missing tests."""
    problems, seen = [], set()
    for m in mutants:
        if m.id in seen:
            problems.append(f"{m.id}: the id is used twice")
        seen.add(m.id)
        path = root / m.file
        if not path.is_file():
            problems.append(f"{m.id}: {m.file} does not exist")
            continue
        count = path.read_text(encoding="utf-8").count(m.old)
        if count != 1:
            problems.append(f"{m.id}: its old text occurs {count} times in {m.file} (must be exactly once): "
                            f"{m.old.splitlines()[0].strip()!r}")
        if m.new == m.old:
            problems.append(f"{m.id}: new text equals old text")
        for t in m.tests:
            if not (root / t.split("::")[0]).exists():
                problems.append(f"{m.id}: test path {t} does not exist")
    return problems


# ------------------------------------------------------------------------------------------------
# The scratch copy and pytest runs
# ------------------------------------------------------------------------------------------------


def make_scratch() -> Path:
    """A copy of the working tree without virtual environments, builds, git and caches."""
    dest = Path(tempfile.mkdtemp(prefix="bnpg-mutants-")) / "repo"
    shutil.copytree(ROOT, dest, symlinks=True, ignore=shutil.ignore_patterns(*EXCLUDED))
    return dest


def environment(scratch: Path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(scratch)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("PYTEST_ADDOPTS", None)
    return env


@dataclass(frozen=True)
class Run:
    returncode: int | None  # None: timed out
    output: str
    seconds: float

    @property
    def summary(self) -> str:
        """pytest's last line, e.g. ``123 passed in 4.56s``."""
        lines = [line.strip("= ") for line in self.output.splitlines() if line.strip()]
        return lines[-1] if lines else ""

    @property
    def first_failure(self) -> str:
        """The node id of the first FAILED (else ERROR) line of pytest's summary, or a description."""
        if self.returncode is None:
            return "(timed out)"
        for kind in ("FAILED", "ERROR"):
            for line in self.output.splitlines():
                if line.startswith(kind + " "):
                    return line[len(kind) + 1:].split(" - ", 1)[0].strip()
        return "-" if self.returncode == 0 else f"(pytest exit status {self.returncode})"


def run_pytest(scratch: Path, args, timeout: float) -> Run:
    start = time.perf_counter()
    try:
        proc = subprocess.run([str(PYTHON), *PYTEST, *args], cwd=scratch, env=environment(scratch),
                              capture_output=True, text=True, timeout=timeout)
        code, output = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        code = None
        output = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
    return Run(code, output, time.perf_counter() - start)


def imported_from(scratch: Path) -> str:
    """Where ``import bnpg`` resolves in the scratch environment."""
    proc = subprocess.run([str(PYTHON), "-c", "import bnpg; print(bnpg.__file__)"], cwd=scratch,
                          env=environment(scratch), capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def has_numba() -> bool:
    """Whether the project's interpreter can import numba."""
    return subprocess.run([str(PYTHON), "-c", "import numba"], capture_output=True).returncode == 0


def _drop_numba_cache(path: Path) -> None:
    """Remove numba's cache of a source file (index and data), so no stale kernel is loaded."""
    cache = path.parent / "__pycache__"
    if cache.is_dir():
        for f in cache.glob(f"{path.stem}.*.nb[ic]"):
            f.unlink()


def run_mutant(scratch: Path, mutant: Mutant, timeout: float) -> Run:
    """Apply ``mutant`` to the scratch copy, run its tests, and restore the file exactly."""
    path = scratch / mutant.file
    original = path.read_bytes()
    stat = path.stat()
    text = original.decode("utf-8")
    if text.count(mutant.old) != 1:  # checked on the repository already; the copy must agree
        raise RuntimeError(f"{mutant.id}: old text does not occur exactly once in the scratch copy")
    try:
        path.write_bytes(text.replace(mutant.old, mutant.new).encode("utf-8"))
        _drop_numba_cache(path)
        return run_pytest(scratch, mutant.tests, timeout)
    finally:
        path.write_bytes(original)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        _drop_numba_cache(path)
        if path.read_bytes() != original:  # pragma: no cover - would invalidate every later result
            raise RuntimeError(f"could not restore {mutant.file} after {mutant.id}")


def caught(run: Run) -> bool:
    """Tests failed (1), or collection/import broke (2). Usage errors (4) and no tests (5) are not catches."""
    return run.returncode in (1, 2)


# ------------------------------------------------------------------------------------------------
# Main
# ------------------------------------------------------------------------------------------------


def _union(mutants) -> list[str]:
    """The mutants' test selections, without repeats, test files first and doctests last."""
    seen: dict[str, None] = {}
    for m in mutants:
        for t in m.tests:
            seen.setdefault(t, None)
    return sorted(seen, key=lambda t: (not t.startswith("tests/"), t))


def table(rows) -> str:
    heads = ("id", "description", "caught", "first failing test", "seconds")
    widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(heads)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()  # noqa: E731
    return "\n".join([line(heads), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", metavar="ID", help="run only this mutant (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy")
    parser.add_argument("--timeout", type=float, default=180.0,
                        help="seconds allowed per mutant's pytest run (the baseline gets 600 or more)")
    parser.add_argument("--tests", action="append", metavar="PATH",
                        help="with --only: run these test paths instead of the mutants' own selections "
                             "(repeatable; to look for a test that catches a survivor)")
    args = parser.parse_args(argv)

    problems = stale(MUTANTS + (CANARY,))
    if problems:
        print("tools/mutants.py: the mutant list is out of date with the library:", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        return 2
    if args.list:
        for m in MUTANTS:
            print(f"{m.id:38s} {m.file:20s} {m.description}")
        return 0
    mutants = MUTANTS
    if args.only:
        known = {m.id: m for m in MUTANTS}
        unknown = [i for i in args.only if i not in known]
        if unknown:
            print(f"unknown mutant id(s): {', '.join(unknown)}; see --list", file=sys.stderr)
            return 2
        mutants = tuple(known[i] for i in dict.fromkeys(args.only))
    if args.tests:
        if not args.only:
            print("--tests needs --only", file=sys.stderr)
            return 2
        mutants = tuple(replace(m, tests=tuple(args.tests)) for m in mutants)
        problems = stale(mutants)
        if problems:
            print("\n".join(problems), file=sys.stderr)
            return 2
    if not PYTHON.is_file():
        print(f"{PYTHON} not found: run `make mutants` (it installs the environment)", file=sys.stderr)
        return 2

    t_start = time.perf_counter()
    scratch = make_scratch()
    try:
        print(f"scratch copy: {scratch}")
        where = imported_from(scratch)
        if not Path(where).resolve().is_relative_to(scratch.resolve()):
            print(f"abort: `import bnpg` resolves to {where}, outside the scratch copy", file=sys.stderr)
            return 2
        union = _union(mutants + (CANARY,))
        print(f"baseline: {len(union)} test paths on the unmutated copy ... ", end="", flush=True)
        base = run_pytest(scratch, union, max(600.0, args.timeout))
        print(f"{base.seconds:.0f} s ({base.summary})")
        if base.returncode != 0:
            print(f"abort: the unmutated copy fails its tests (exit status {base.returncode}, first "
                  f"failure {base.first_failure}); a failure under a mutant would mean nothing.\n"
                  + base.output[-5000:], file=sys.stderr)
            return 2
        canary = run_mutant(scratch, CANARY, args.timeout)
        if not caught(canary):
            print("abort: the canary mutant (every value doubled) was not caught: the tests are not "
                  "running against the scratch copy\n" + canary.output[-3000:], file=sys.stderr)
            return 2
        print(f"canary (every value doubled) caught by {canary.first_failure}")
        numba = has_numba()

        rows, survivors = [], []
        for k, m in enumerate(mutants, 1):
            print(f"[{k}/{len(mutants)}] {m.id} ... ", end="", flush=True)
            if m.needs_numba and not numba:
                print("skipped (numba is not installed)")
                rows.append((m.id, m.description, "skipped", "(needs numba)", "-"))
                continue
            run = run_mutant(scratch, m, args.timeout)
            if run.returncode in (4, 5):
                print(f"error\n{run.output[-3000:]}", file=sys.stderr)
                print(f"abort: pytest could not run the selection of {m.id} (exit status {run.returncode})",
                      file=sys.stderr)
                return 2
            ok = caught(run) or run.returncode is None  # a hang counts as caught (and is labelled)
            if not ok:
                survivors.append((m, run))
            print(f"{'caught' if ok else 'SURVIVED'} ({run.seconds:.1f} s)")
            verdict = "NO" if not ok else "yes" if run.returncode is not None else "yes (timeout)"
            rows.append((m.id, m.description, verdict, run.first_failure, f"{run.seconds:.1f}"))
        total = time.perf_counter() - t_start
        print()
        print(table(rows))
        print()
        skipped = sum(r[2] == "skipped" for r in rows)
        print(f"{len(rows) - len(survivors) - skipped} of {len(rows)} mutants caught"
              + (f" ({skipped} skipped)" if skipped else "") + f"; total {total:.0f} s "
              f"(baseline {base.seconds:.0f} s)")
        if survivors:
            print("survived (no test failed; a test that catches each is missing):")
            for m, run in survivors:
                print(f"  {m.id}: {m.description}\n    ran: {' '.join(m.tests)} ({run.summary})")
            return 1
        return 0
    finally:
        if args.keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch.parent, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
