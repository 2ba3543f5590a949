r"""Cooperative Markov games (paper, Section 2).

A cooperative Markov game is the tuple :math:`(\mathcal N, \mathcal S, \mathcal A, P, r, \mu)` with a
discount factor :math:`\gamma \in [0, 1)`: ``N`` agents share one reward
:math:`r : \mathcal S \times \mathcal A \to \mathbb R`, the joint action space is the product
:math:`\mathcal A = \mathcal A^1 \times \dots \times \mathcal A^N`, the state moves by
:math:`P(\cdot \mid s, a) \in \Delta(\mathcal S)` and starts from :math:`s_0 \sim \mu`.

Arrays follow one axis per agent: ``P[s, a_0, ..., a_{N-1}, s']`` and ``r[s, a_0, ..., a_{N-1}]``.
A :class:`MarkovGame` validates its arrays once, at construction, and keeps read-only float64 copies,
so every function that receives a game may rely on it.
"""

from __future__ import annotations

import os
import zipfile
from math import prod

import numpy as np

from bnpg._validation import as_real, fits_in_memory, read_only, real_array, real_scalar

__all__ = [
    "MarkovGame",
    "SUM_TOLERANCE",
]

#: Tolerance on the row sums of ``P`` and the sum of ``mu``.
SUM_TOLERANCE = 1e-10

_FORMAT = "bnpg.MarkovGame/1"


class MarkovGame:
    r"""A tabular cooperative Markov game :math:`(\mathcal N, \mathcal S, \mathcal A, P, r, \mu, \gamma)`.

    Parameters
    ----------
    P : array_like, shape (S, A_0, ..., A_{N-1}, S)
        Transition probabilities ``P[s, a_0, ..., a_{N-1}, s']``; every ``P[s, a, :]`` sums to 1.
    r : array_like, shape (S, A_0, ..., A_{N-1})
        The team reward shared by all agents.
    mu : array_like, shape (S,)
        Initial state distribution.
    gamma : float
        Discount factor, ``0 <= gamma < 1``.

    Raises
    ------
    TypeError
        If an argument is not an array of real numbers (or ``gamma`` not a real number).
    ValueError
        If shapes disagree, an entry is negative or non-finite, a distribution does not sum to 1
        (within ``1e-10``), or ``gamma`` is outside ``[0, 1)``.
    MemoryError
        Before any copy, if the game's arrays would not fit in the memory available (the message
        says how much they need).

    Examples
    --------
    A one-state game with two agents of two actions each, rewarded for matching:

    >>> import numpy as np
    >>> import bnpg
    >>> P = np.ones((1, 2, 2, 1))
    >>> r = np.array([[[1.0, 0.0], [0.0, 1.0]]])
    >>> game = bnpg.MarkovGame(P, r, mu=[1.0], gamma=0.9)
    >>> game.n_states, game.n_agents, game.action_sizes
    (1, 2, (2, 2))
    """

    def __init__(self, P, r, mu, gamma):
        shape = as_real("P", P).shape
        entries = int(np.prod(shape, dtype=np.int64))
        # one float64 copy of P (and of r and mu), plus P's row sums for the checks
        needed = 8 * (2 * entries // max(shape[-1] if shape else 1, 1) + entries)
        fits_in_memory(f"a game with P of shape {shape}", needed)
        P = real_array("P", P)
        r = real_array("r", r)
        mu = real_array("mu", mu)
        gamma = real_scalar("gamma", gamma)
        if P.ndim < 3:
            raise ValueError(
                f"P must have shape (S, A_0, ..., A_(N-1), S) with at least one agent, got shape {P.shape}"
            )
        n_states = P.shape[0]
        if n_states < 1 or P.shape[-1] != n_states:
            raise ValueError(
                f"P must start and end with the same number of states, got shape {P.shape}"
            )
        if any(k < 1 for k in P.shape[1:-1]):
            raise ValueError(f"every agent needs at least one action, P has shape {P.shape}")
        if r.shape != P.shape[:-1]:
            raise ValueError(f"r must have shape {P.shape[:-1]} to match P, got {r.shape}")
        if mu.shape != (n_states,):
            raise ValueError(f"mu must have shape ({n_states},) to match P, got {mu.shape}")
        if not 0.0 <= gamma < 1.0:
            raise ValueError(f"gamma must satisfy 0 <= gamma < 1, got {gamma!r}")
        if P.min() < 0:  # a reduction, no temporary the size of P
            bad = tuple(int(k) for k in np.argwhere(P < 0)[0])
            raise ValueError(f"P{list(bad)} is {float(P[bad])!r}; probabilities must be >= 0")
        deviation = P.sum(axis=-1)  # the row sums, turned in place into |sum - 1|
        deviation -= 1.0
        np.abs(deviation, out=deviation)
        if deviation.max() > SUM_TOLERANCE:
            bad = tuple(int(k) for k in np.argwhere(deviation > SUM_TOLERANCE)[0])
            index = ", ".join(str(k) for k in bad)
            raise ValueError(f"P[{index}, :] sums to {float(P[bad].sum())!r}, not 1")
        del deviation
        if np.any(mu < 0):
            bad = int(np.argwhere(mu < 0)[0, 0])
            raise ValueError(f"mu[{bad}] is {float(mu[bad])!r}; probabilities must be >= 0")
        if abs(mu.sum() - 1.0) > SUM_TOLERANCE:
            raise ValueError(f"mu sums to {float(mu.sum())!r}, not 1")
        self._P = read_only(P)
        self._r = read_only(r)
        self._mu = read_only(mu)
        self._gamma = gamma

    # -- read-only views -------------------------------------------------------------------------
    @property
    def P(self) -> np.ndarray:
        """Transition array ``P[s, a_0, ..., a_{N-1}, s']`` (read-only)."""
        return self._P

    @property
    def r(self) -> np.ndarray:
        """Team reward ``r[s, a_0, ..., a_{N-1}]`` (read-only)."""
        return self._r

    @property
    def mu(self) -> np.ndarray:
        """Initial state distribution (read-only)."""
        return self._mu

    @property
    def gamma(self) -> float:
        """Discount factor."""
        return self._gamma

    @property
    def n_states(self) -> int:
        """The number of states, :math:`|\\mathcal S|`."""
        return self._P.shape[0]

    @property
    def n_agents(self) -> int:
        """N."""
        return self._P.ndim - 2

    @property
    def action_sizes(self) -> tuple[int, ...]:
        """The number of actions of each agent, :math:`(|\\mathcal A^0|, \\dots, |\\mathcal A^{N-1}|)`."""
        return tuple(int(k) for k in self._P.shape[1:-1])

    @property
    def n_joint_actions(self) -> int:
        """The size of the joint action space, :math:`|\\mathcal A|`."""
        return prod(self.action_sizes)

    @property
    def r_min(self) -> float:
        """Smallest reward (Assumption 2)."""
        return float(self._r.min())

    @property
    def r_max(self) -> float:
        """Largest reward (Assumption 2)."""
        return float(self._r.max())

    # -- comparison and display ------------------------------------------------------------------
    def __eq__(self, other) -> bool:
        if not isinstance(other, MarkovGame):
            return NotImplemented
        return (
            self is other
            or self._gamma == other._gamma
            and self._P.shape == other._P.shape
            and np.array_equal(self._mu, other._mu)
            and np.array_equal(self._r, other._r)
            and np.array_equal(self._P, other._P)
        )

    __hash__ = None  # mutable-free but array-valued: compare, do not hash

    def __repr__(self) -> str:
        return (
            f"MarkovGame(n_states={self.n_states}, action_sizes={self.action_sizes}, "
            f"gamma={self.gamma})"
        )

    # -- files -----------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write the game to an ``.npz`` file (no pickle).

        Examples
        --------
        >>> import tempfile, os, numpy as np, bnpg
        >>> game = bnpg.MarkovGame(np.ones((1, 2, 1)), [[0.0, 1.0]], [1.0], 0.5)
        >>> path = os.path.join(tempfile.mkdtemp(), "g.npz")
        >>> game.save(path)
        >>> bnpg.MarkovGame.load(path) == game
        True
        """
        np.savez(
            path,
            format=np.array(_FORMAT),
            P=self._P,
            r=self._r,
            mu=self._mu,
            gamma=np.array(self._gamma),
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> MarkovGame:
        """Read a game written by :meth:`save`, validating it exactly as the constructor does.

        Raises
        ------
        ValueError
            If the file is not a readable ``.npz`` archive of a bnpg game.
        """
        try:
            data = np.load(path, allow_pickle=False)
        except FileNotFoundError:
            raise
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise ValueError(f"path {os.fspath(path)!r} is not a readable .npz file: {exc}") from None
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError(f"path {os.fspath(path)!r} holds a single array, not a bnpg game (.npz) file")
        try:
            with data:
                arrays = {key: data[key] for key in data.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise ValueError(f"path {os.fspath(path)!r} is not a readable .npz file: {exc}") from None
        fmt = arrays.get("format")
        if fmt is None or fmt.shape != () or str(fmt) != _FORMAT:
            raise ValueError(
                f"path {os.fspath(path)!r} is not a bnpg game file (format marker {fmt!r}, "
                f"expected {_FORMAT!r})"
            )
        missing = [k for k in ("P", "r", "mu", "gamma") if k not in arrays]
        if missing:
            raise ValueError(f"path {os.fspath(path)!r} lacks the arrays {missing}")
        gamma = arrays["gamma"]
        if gamma.shape != ():
            raise ValueError(f"path {os.fspath(path)!r}: gamma must be a scalar, got shape {gamma.shape}")
        return cls(arrays["P"], arrays["r"], arrays["mu"], gamma.item())
