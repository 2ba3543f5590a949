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
        """Write the game to an ``.npz`` file (no pickle) that :meth:`load` reads back.

        The archive holds the arrays ``P``, ``r``, ``mu`` and ``gamma`` (a 0-d array), as
        ``np.savez(path, P=P, r=r, mu=mu, gamma=gamma)`` would write them, plus a marker naming the
        file a bnpg game. The file gets the permissions of any new file of the user (``0o666`` less
        the umask).

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
        """Read a game from an ``.npz`` archive of the arrays ``P``, ``r``, ``mu`` and ``gamma``.

        Either way of writing a game is read: :meth:`save`, or numpy alone,
        ``np.savez(path, P=P, r=r, mu=mu, gamma=gamma)``. The arrays are validated exactly as the
        constructor validates them; ``gamma`` must be a scalar. Other arrays in the archive are
        ignored, except that a file marked as another kind of bnpg file (an instance file of
        :func:`bnpg.experiments.results.save_instance`) is refused. Nothing is unpickled.

        Parameters
        ----------
        path : str or os.PathLike
            The ``.npz`` file.

        Returns
        -------
        MarkovGame

        Raises
        ------
        TypeError
            If ``path`` is not a path, or an array of the file is not of real numbers.
        FileNotFoundError
            If there is no file at ``path``.
        ValueError
            If the file is not such an archive (the message says what the file is instead: a folder,
            a text file, a single ``.npy`` array, a pickle, a damaged archive, an archive without
            some of the four arrays, an array of Python objects that would need pickle), or if its
            arrays do not make a game (the message names the array and the rule, as the
            constructor's do).

        Examples
        --------
        >>> import tempfile, os, numpy as np, bnpg
        >>> path = os.path.join(tempfile.mkdtemp(), "plain.npz")
        >>> np.savez(path, P=np.ones((1, 2, 1)), r=[[0.0, 1.0]], mu=[1.0], gamma=0.5)
        >>> bnpg.MarkovGame.load(path)
        MarkovGame(n_states=1, action_sizes=(2,), gamma=0.5)
        >>> np.savez(path, P=np.ones((1, 2, 1)), reward=[[0.0, 1.0]], mu=[1.0], gamma=0.5)
        >>> try:
        ...     bnpg.MarkovGame.load(path)
        ... except ValueError as exc:
        ...     print(str(exc).split(";")[0].replace(path, "plain.npz"))
        path 'plain.npz' is an .npz archive of ['P', 'gamma', 'mu', 'reward'] without the arrays ['r']
        """
        if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a file path (str or os.PathLike), got {type(path).__name__}")
        path = os.fspath(path)
        name = f"path {path!r}"
        if os.path.isdir(path):
            raise ValueError(f"{name} is a folder; expected {_EXPECTED}")
        with open(path, "rb") as fh:  # FileNotFoundError and PermissionError as they are
            head = fh.read(512)
        kind = _file_kind(head)
        if kind is not None:
            raise ValueError(f"{name} is {kind}, not an .npz archive; expected {_EXPECTED}")
        try:
            data = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise ValueError(f"{name} is a damaged or truncated .npz archive ({exc}); "
                             f"expected {_EXPECTED}") from None
        if not isinstance(data, np.lib.npyio.NpzFile):  # pragma: no cover - the head was a zip's
            raise ValueError(f"{name} is not an .npz archive; expected {_EXPECTED}")
        with data:
            members = sorted(data.files)
            if "format" in members:
                marker = _member(data, "format", name)
                if marker.shape == () and marker.dtype.kind == "U" and str(marker).startswith("bnpg.") \
                        and str(marker) != _FORMAT:
                    raise ValueError(f"{name} is a {str(marker)!r} file of bnpg, not a game; "
                                     f"expected {_EXPECTED}")
            missing = [k for k in _KEYS if k not in members]
            if missing:
                raise ValueError(f"{name} is an .npz archive of {members} without the arrays {missing}; "
                                 f"expected {_EXPECTED}")
            arrays = {key: _member(data, key, name) for key in _KEYS}
        gamma = arrays["gamma"]
        if gamma.shape != ():
            raise ValueError(f"{name}: gamma must be a scalar (a 0-d array, as np.savez writes gamma=0.9), "
                             f"got shape {gamma.shape}")
        try:
            return cls(arrays["P"], arrays["r"], arrays["mu"], gamma.item())
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{name}: {exc}") from None


#: What :meth:`MarkovGame.load` reads, in the words of its error messages.
_EXPECTED = ("an .npz archive of the arrays P, r, mu and gamma, as np.savez(path, P=P, r=r, mu=mu, "
             "gamma=gamma) or MarkovGame.save writes it")
_KEYS = ("P", "r", "mu", "gamma")


def _file_kind(head: bytes) -> str | None:
    r"""What a file that begins with ``head`` is, or ``None`` for a zip archive (an ``.npz`` file).

    >>> _file_kind(b"PK\x03\x04rest") is None
    True
    >>> _file_kind(b"P,r,mu\n0.5,1")
    "a text file (it begins 'P,r,mu')"
    >>> _file_kind(b"\x80\x04\x95...")
    'a pickle, refused because reading it would need pickle'
    """
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return None
    if not head:
        return "an empty file"
    if head.startswith(b"\x93NUMPY"):
        return "a single numpy array (.npy)"
    if head[:1] == b"\x80" and len(head) > 1 and 2 <= head[1] <= 5:
        return "a pickle, refused because reading it would need pickle"
    if head.startswith(b"\x1f\x8b"):
        return "a gzip file"
    if b"\x00" not in head:
        for cut in range(4):  # the 512 bytes may end inside a character
            try:
                text = head[: len(head) - cut].decode("utf-8")
            except UnicodeDecodeError:
                continue
            first = text.strip().splitlines()[0][:40] if text.strip() else ""
            return f"a text file (it begins {first!r})"
    return f"a binary file of another kind (it begins {head[:8]!r})"


def _member(data, key: str, name: str) -> np.ndarray:
    """The array ``key`` of the open archive ``data``, or a ``ValueError`` saying why it cannot be read."""
    try:
        value = data[key]
    except ValueError as exc:
        if "pickle" in str(exc):
            raise ValueError(f"{name}: array {key!r} holds Python objects (dtype=object), refused because "
                             "reading it would need pickle; write arrays of numbers") from None
        raise ValueError(f"{name}: array {key!r} is damaged ({exc})") from None
    except (OSError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{name} is a damaged or truncated .npz archive ({exc}); "
                         f"expected {_EXPECTED}") from None
    if not isinstance(value, np.ndarray):
        raise ValueError(f"{name}: member {key!r} of the archive is not a numpy array (.npy); "
                         f"expected {_EXPECTED}")
    return value
