"""Input checks shared by the public constructors and functions.

Every check raises ``TypeError`` for a value of the wrong type and ``ValueError`` for a value of the
right type that breaks a rule, with a message that names the argument and the offending value.
Nothing here converts silently: integer arrays are accepted as real numbers (the conversion to
float64 is exact for the sizes used here), booleans, complex numbers and objects are refused.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable, Sequence

import numpy as np


def as_real(name: str, value) -> np.ndarray:
    """``value`` as an array of real numbers, without a copy where it already is one.

    Refuses strings, ``None``, ragged lists, booleans, complex numbers and objects.
    """
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be an array of real numbers, got {type(value).__name__}")
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise TypeError(f"{name} must be a rectangular array of real numbers: {exc}") from None
    if arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    return arr


def real_array(name: str, value) -> np.ndarray:
    """Return ``value`` as a new float64 array (one copy), refusing non-real or non-finite entries."""
    arr = as_real(name, value)
    arr = np.array(arr, dtype=np.float64, copy=True) if arr is value or not arr.flags.owndata else (
        arr.astype(np.float64, copy=False))
    # a sum is finite when every entry is (it may also overflow): look entry by entry only then
    if not np.isfinite(arr.sum()) and not np.all(np.isfinite(arr)):
        bad = tuple(int(k) for k in np.argwhere(~np.isfinite(arr))[0])
        raise ValueError(f"{name}{list(bad)} is {float(arr[bad])!r}; every entry must be finite")
    return arr


def available_memory() -> int | None:
    """Bytes of memory available to this process now (Linux ``MemAvailable``), or ``None`` if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def fits_in_memory(what: str, needed: int) -> None:
    """Refuse, before allocating, work that needs more bytes than the memory available."""
    free = available_memory()
    if free is not None and needed > free:
        raise MemoryError(
            f"{what} needs about {needed / 2**30:.3g} GiB, but only {free / 2**30:.3g} GiB of memory "
            "is available"
        )


def read_only(arr: np.ndarray) -> np.ndarray:
    """Mark ``arr`` read-only and return it."""
    arr.flags.writeable = False
    return arr


def real_scalar(name: str, value) -> float:
    """Return ``value`` as a float, refusing booleans, non-numbers and non-finite values."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def non_negative(name: str, value) -> float:
    value = real_scalar(name, value)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return value


def positive(name: str, value) -> float:
    value = real_scalar(name, value)
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return value


def integer(name: str, value, *, minimum: int | None = None) -> int:
    """Return ``value`` as an int, refusing booleans, floats and values below ``minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def instance_of(name: str, value, cls: type):
    """Return ``value`` if it is an instance of ``cls``; else a ``TypeError`` naming ``name``.

    The class is passed in, so that this module imports nothing of ``bnpg``: the model's checks call
    ``instance_of("game", game, MarkovGame)``.

    Examples
    --------
    >>> instance_of("n", 3, int)
    3
    >>> instance_of("game", "g", dict)
    Traceback (most recent call last):
    ...
    TypeError: game must be a dict, got str
    """
    if not isinstance(value, cls):
        raise TypeError(f"{name} must be a {cls.__name__}, got {type(value).__name__}")
    return value


def mismatch_value(name: str, value, *, infinite_ok: bool = False) -> float:
    r"""Return a mismatch coefficient ``value`` as a float :math:`\ge 1` (:math:`\pi = \pi'` in its
    definition gives 1); ``infinite_ok`` also admits ``inf``, the coefficient of a game that violates
    Assumption 1.

    Examples
    --------
    >>> mismatch_value("M", 2), mismatch_value("M", float("inf"), infinite_ok=True)
    (2.0, inf)
    >>> mismatch_value("M", 0.5)
    Traceback (most recent call last):
    ...
    ValueError: M must be >= 1 (take pi = pi' in its definition), got 0.5
    """
    if (infinite_ok and isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
            and value == math.inf):
        return math.inf
    value = positive(name, value)
    if value < 1.0:
        raise ValueError(f"{name} must be >= 1 (take pi = pi' in its definition), got {value!r}")
    return value


def fully_correlated(name: str, dag, *, needed_by: str):
    """Return ``dag`` (any object with ``is_fully_correlated``) if it is fully correlated
    (Definition 3: every pair of agents joined by an edge); else a ``ValueError`` naming ``needed_by``
    (what needs it) and ``name`` (the argument that is not).

    Examples
    --------
    >>> import bnpg
    >>> fully_correlated("dag", bnpg.DAG.full(3), needed_by="lemma 3")
    DAG([[], [0], [0, 1]])
    >>> fully_correlated("dag", bnpg.DAG.empty(2), needed_by="theorem 2")
    Traceback (most recent call last):
    ...
    ValueError: theorem 2 needs a fully-correlated DAG (Definition 3): dag must be fully correlated, got DAG([[], []]) with 0 of 1 edges
    """
    if not dag.is_fully_correlated:
        n = dag.n_agents
        raise ValueError(
            f"{needed_by} needs a fully-correlated DAG (Definition 3): {name} must be fully correlated, "
            f"got {dag!r} with {dag.n_edges} of {n * (n - 1) // 2} edges"
        )
    return dag


def agent_index(name: str, value, n_agents: int) -> int:
    value = integer(name, value)
    if not 0 <= value < n_agents:
        raise ValueError(f"{name} must be an agent in 0..{n_agents - 1}, got {value}")
    return value


def as_generator(seed) -> np.random.Generator:
    """Return ``seed`` if it is a Generator, else a new Generator seeded by the integer ``seed``."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(
            f"seed must be an int or a numpy.random.Generator, got {type(seed).__name__}"
        )
    return np.random.default_rng(int(seed))


def integer_choices(name: str, values) -> tuple[int, ...]:
    """Return ``values`` (an integer or a non-empty sequence of integers >= 1) as a tuple of ints."""
    if isinstance(values, (int, np.integer)) and not isinstance(values, (bool, np.bool_)):
        values = (values,)
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be an integer or a sequence of integers, got {values!r}")
    out = tuple(integer(f"{name} entry", v, minimum=1) for v in values)
    if not out:
        raise ValueError(f"{name} must not be empty")
    return out


def discount_factor(name: str, value) -> float:
    """Return ``value`` as a float in ``[0, 1)``."""
    value = real_scalar(name, value)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must satisfy 0 <= {name} < 1, got {value!r}")
    return value


def action_counts(name: str, values) -> tuple[int, ...]:
    """Return ``values`` (a non-empty sequence of ints >= 1, numpy ints allowed) as a tuple of ints."""
    try:
        out = tuple(values) if not isinstance(values, (str, bytes)) else ()
    except TypeError:
        out = ()
    if not out or any(isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or k < 1 for k in out):
        raise ValueError(f"{name} must be a non-empty sequence of ints >= 1, got {values!r}")
    return tuple(int(k) for k in out)


def interval(name: str, values, *, low: float, high: float, closed_high: bool = True) -> tuple[float, float]:
    """Return ``values`` as a pair ``(a, b)`` with ``low <= a <= b <= high`` (``< high`` if open)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) != 2:
        raise TypeError(f"{name} must be a pair (low, high), got {values!r}")
    a, b = (real_scalar(f"{name}[{k}]", v) for k, v in enumerate(values))
    ok_high = b <= high if closed_high else b < high
    if not (low <= a <= b and ok_high):
        raise ValueError(
            f"{name} must satisfy {low} <= low <= high {'<=' if closed_high else '<'} {high}, "
            f"got ({a!r}, {b!r})"
        )
    return a, b


def probability(name: str, value) -> float:
    """Return ``value`` as a float in [0, 1]."""
    value = real_scalar(name, value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")
    return value


def stop_thresholds(stop_below, metrics: tuple[str, ...]) -> dict:
    """``stop_below`` (``None`` or ``{metric: value}`` over recorded ``metrics``) as a checked dict.

    >>> stop_thresholds({"nash_gap": 1}, ("nash_gap",))
    {'nash_gap': 1.0}
    """
    stops = {} if stop_below is None else dict(stop_below)
    for m, value in stops.items():
        if m not in metrics:
            raise ValueError(f"stop_below names {m!r}, which is not among metrics {metrics}")
        stops[m] = real_scalar(f"stop_below[{m!r}]", value)
    return stops


def keyword_options(function, options: dict, *, exclude: tuple[str, ...] = ()) -> dict:
    """``options`` over the keyword-only defaults of ``function`` (those in ``exclude`` left out); an
    unknown name is a clear error.

    >>> def f(*, a=1, b=2): ...
    >>> keyword_options(f, {"b": 3})
    {'a': 1, 'b': 3}
    """
    import inspect

    defaults = {key: par.default for key, par in inspect.signature(function).parameters.items()
                if par.kind is inspect.Parameter.KEYWORD_ONLY and key not in exclude}
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise TypeError(f"unknown options {unknown}; choose from {sorted(defaults)}")
    return {**defaults, **options}
