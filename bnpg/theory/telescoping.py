r"""The telescoping identity behind the repaired Lemma 3, and the proof step it replaces (Appendix A.4, errata E11).

**The proof step.** The printed proof of Lemma 3 bounds every local probability from below by
:math:`1/(2|\mathcal A^j|)`, hence every parents' marginal by :math:`2^{-N}/|\mathcal A^{\mathcal P^i}|`.
Inequality (4) gives the first bound only for actions whose local advantage is non-negative;
:func:`proof_step_ratios` measures how far a point is from both bounds.

**The identity.** For a fully-correlated network the local advantages telescope along a joint action,
which gives, at every :math:`\theta`,

.. math::

    Q(s, a) - V(s) = \sum_i \frac{g^i(s, a^{\mathcal P^i}, a^i)}{d_\mu(s)\, \pi(a^{\mathcal P^i_+} \mid s)}
    + \frac{\lambda}{|\mathcal S|\, d_\mu(s)} \Big(1 - \frac{1}{|\mathcal A|\, \pi(a \mid s)}\Big),

with :math:`g^i = \partial L_\lambda / \partial \theta^i` (:func:`telescoped_advantage`). Under the
lemmas' gradient threshold and :math:`\sqrt N \le 2\max_i|\mathcal A^i|` it bounds the advantage by
:math:`\lambda/(|\mathcal S| d_\mu(s))` (:func:`advantage_ratio` is at most 1), and the
performance-difference lemma bounds the optimality gap by
:math:`(\lambda/|\mathcal S|)\sum_s d_\mu^{\pi^*}(s)/d_\mu(s) \le \lambda M`
(:func:`performance_difference_bound`).
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

import numpy as np

from bnpg._validation import fully_correlated, non_negative, real_array
from bnpg.exact.evaluation import Evaluation, evaluate, evaluate_joint
from bnpg.exact.mdp import optimal_solution
from bnpg.exact.objective import evaluation_and_gradient
from bnpg.model.game import MarkovGame
from bnpg.model.policy import BNPolicy, check_policy, deterministic_joint

__all__ = [
    "advantage_ratio",
    "optimal_visitation",
    "performance_difference_bound",
    "proof_step_ratios",
    "telescoped_advantage",
]


def proof_step_ratios(policy: BNPolicy) -> dict:
    r"""How far ``policy`` is from the two lower bounds used in the proof of Lemma 3 (Appendix A.4).

    Returns
    -------
    dict of float
        ``local``: :math:`\min_{i, s, a^{\mathcal P^i}, a^i} 2 |\mathcal A^i|\,
        \pi^i(a^i \mid s, a^{\mathcal P^i})`; the proof needs it to be at least 1 (inequality (4)
        applied to *every* action). ``parents``: :math:`\min_{i, s, a^{\mathcal P^i}} 2^N
        |\mathcal A^{\mathcal P^i}|\, \pi(a^{\mathcal P^i} \mid s)`; the proof derives that it is at
        least 1 (an agent without parents contributes :math:`2^N`).

    Examples
    --------
    At the uniform policy every local probability is :math:`1/|\mathcal A^i|`, so ``local`` is 2;
    with two agents the parents' marginal of agent 1 is :math:`1/|\mathcal A^0|`, so ``parents`` is
    :math:`2^2 = 4`:

    >>> import bnpg
    >>> from bnpg.games import climbing_game
    >>> game = climbing_game()
    >>> proof_step_ratios(bnpg.BNPolicy(game, bnpg.DAG.full(2)))
    {'local': 2.0, 'parents': 4.0}
    """
    if not isinstance(policy, BNPolicy):
        raise TypeError(f"policy must be a BNPolicy, got {type(policy).__name__}")
    sizes = policy.game.action_sizes
    n = len(sizes)
    local = min(2 * k * float(policy.local(i).min()) for i, k in enumerate(sizes))
    parents = []
    for i in range(n):
        ps = policy.dag.parents(i)
        if not ps:
            parents.append(float(2**n))
            continue
        n_parent = prod(sizes[j] for j in ps)
        parents.append(2**n * n_parent * float(policy.marginal(ps).min()))
    return {"local": float(local), "parents": float(min(parents))}


def telescoped_advantage(
    game: MarkovGame, policy: BNPolicy, lam: float, grads: Sequence[np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    r"""The advantage :math:`Q(s, a) - V(s)` of a fully-correlated BN policy, written through :math:`\nabla L_\lambda`.

    For a fully-correlated DAG (Definition 3) the parents of agent ``i`` are the agents before it
    in the topological order, so the local advantages of Lemma 1 telescope along a joint action:
    :math:`Q(s, a) - V(s) = \sum_i A^i(s, a^{\mathcal P^i}, a^i)`. Writing each local advantage
    through the partial derivative :math:`g^i = \partial L_\lambda / \partial \theta^i_{s,
    a^{\mathcal P^i}, a^i}` of the exact gradient (unnormalised visitation :math:`d_\mu`, so no
    factor :math:`1/(1-\gamma)`) and using :math:`|\mathcal A^{\mathcal P^i}| |\mathcal A^i| =
    |\mathcal A^{\mathcal P^{i'}}|` for the next agent :math:`i'`, the barrier terms cancel in
    pairs and leave

    .. math::

        Q(s, a) - V(s) =
        \underbrace{\sum_i \frac{g^i(s, a^{\mathcal P^i}, a^i)}
                                {d_\mu(s)\, \pi(a^{\mathcal P^i_+} \mid s)}}_{\text{gradient part}}
        + \underbrace{\frac{\lambda}{|\mathcal S|\, d_\mu(s)}
          \Big(1 - \frac{1}{|\mathcal A|\, \pi(a \mid s)}\Big)}_{\text{barrier part}},

    an identity valid at every :math:`\theta`, where :math:`\mathcal P^i_+ = \mathcal P^i \cup \{i\}`.
    At a point with :math:`\|\nabla L_\lambda\|_2 \le \lambda / (2 |\mathcal S| |\mathcal A|
    \max_i |\mathcal A^i|)` the gradient part is at most
    :math:`\sqrt N \lambda / (2 \max_i |\mathcal A^i|\, |\mathcal S| |\mathcal A| d_\mu(s) \pi(a \mid s))`
    (Cauchy-Schwarz over the ``N`` terms, and :math:`\pi(a^{\mathcal P^i_+} \mid s) \ge \pi(a \mid s)`),
    which the negative part of the barrier term absorbs when :math:`\sqrt N \le 2 \max_i
    |\mathcal A^i|`; then :math:`Q(s, a) - V(s) \le \lambda / (|\mathcal S| d_\mu(s))` for every
    :math:`(s, a)`, and the performance difference lemma gives an optimality gap of at most
    :math:`\lambda M`.

    Parameters
    ----------
    game : MarkovGame
    policy : BNPolicy
        On a fully-correlated DAG (any numbering of the agents).
    lam : float
        :math:`\lambda \ge 0`.
    grads : sequence of arrays, optional
        The gradient of :math:`L_\lambda` at ``policy`` in the layout of ``policy.theta``; by default
        the exact one. Passing another (e.g. finite differences) checks the identity independently.

    Returns
    -------
    (ndarray, ndarray)
        The gradient part and the barrier part, each of shape ``(S, A_0, ..., A_{N-1})``.

    Raises
    ------
    ValueError
        If the DAG is not fully correlated.

    Examples
    --------
    >>> import numpy as np, bnpg
    >>> from bnpg.games import climbing_game
    >>> game = climbing_game(gamma=0.5)
    >>> policy = bnpg.BNPolicy.random(game, bnpg.DAG.full(2), seed=0)
    >>> grad_part, barrier_part = telescoped_advantage(game, policy, lam=0.2)
    >>> ev = bnpg.evaluate(game, policy)
    >>> bool(np.allclose(grad_part + barrier_part, ev.Q - ev.V[:, None, None], rtol=0, atol=1e-10))
    True
    """
    check_policy(game, policy)
    lam = non_negative("lam", lam)
    fully_correlated("policy.dag", policy.dag, needed_by="the telescoping identity")
    st = policy.structure
    if grads is None:
        ev, grads = evaluation_and_gradient(game, policy, lam)
    else:
        ev = evaluate(game, policy)
    if isinstance(grads, np.ndarray) or len(grads) != game.n_agents:
        raise ValueError(f"grads must be a list of {game.n_agents} arrays shaped like policy.theta")
    grads = [real_array(f"grads[{i}]", g) for i, g in enumerate(grads)]
    for i, g in enumerate(grads):
        if g.shape != st.layouts[i].theta_shape:
            raise ValueError(
                f"grads[{i}] must have shape {st.layouts[i].theta_shape}, got {g.shape}"
            )
    S, n = game.n_states, game.n_agents
    d = ev.d.reshape((S,) + (1,) * n)
    pi = ev.pi
    gradient_part = np.zeros((S,) + game.action_sizes)
    for i in range(n):
        lay = st.layouts[i]
        family_marginal = pi.sum(axis=lay.other_axes, keepdims=True) if lay.other_axes else pi
        gradient_part = gradient_part + st.to_joint_axes(i, grads[i]) / (d * family_marginal)
    barrier_part = lam / (S * d) * (1.0 - 1.0 / (game.n_joint_actions * pi))
    return gradient_part, barrier_part


def advantage_ratio(game: MarkovGame, ev: Evaluation, lam: float) -> float:
    r""":math:`\max_{s, a} |\mathcal S|\, d_\mu(s) (Q(s, a) - V(s)) / \lambda`: at most 1 where the repair's bound holds.

    >>> import bnpg
    >>> from bnpg.games import climbing_game
    >>> game = climbing_game(gamma=0.0)
    >>> ev = bnpg.evaluate(game, bnpg.BNPolicy(game, bnpg.DAG.full(2)))
    >>> round(advantage_ratio(game, ev, 1.0), 6)   # Q(0, 0) - V = 11 - (-31 / 9)
    14.444444
    """
    lam = non_negative("lam", lam)
    S, N = game.n_states, game.n_agents
    advantage = ev.Q - ev.V.reshape((S,) + (1,) * N)
    scaled = advantage * (S * ev.d.reshape((S,) + (1,) * N))
    return float(scaled.max() / lam) if lam > 0 else float("inf")


def optimal_visitation(game: MarkovGame) -> np.ndarray:
    r""":math:`d_\mu^{\pi^*}` of a deterministic optimal joint policy."""
    return evaluate_joint(game, deterministic_joint(game, optimal_solution(game).rule)).d


def performance_difference_bound(game: MarkovGame, ev: Evaluation, lam: float) -> float:
    r""":math:`\frac{\lambda}{|\mathcal S|} \sum_s d_\mu^{\pi^*}(s) / d_\mu(s)`: the optimality gap bound of the repair, at most :math:`\lambda M`.

    It bounds the optimality gap of the evaluated policy whenever :func:`advantage_ratio` is at most 1.

    >>> import bnpg
    >>> from bnpg.games import climbing_game
    >>> game = climbing_game(gamma=0.0)
    >>> ev = bnpg.evaluate(game, bnpg.BNPolicy(game, bnpg.DAG.full(2)))
    >>> performance_difference_bound(game, ev, 0.1)   # one state, d = d* = 1
    0.1
    """
    lam = non_negative("lam", lam)
    return float(lam / game.n_states * np.sum(optimal_visitation(game) / ev.d))
