"""The one JSON codec of the package: numpy values in, strict JSON out, non-finite floats as strings.

JSON has no infinity and no NaN. Every file and store bnpg writes holds a non-finite float as one of
the strings ``"inf"``, ``"-inf"`` and ``"nan"`` (:data:`NON_FINITE`), so the text is strict JSON that
any reader accepts; those three strings are therefore reserved and read back as floats.

* :func:`to_jsonable` turns numpy scalars and arrays, tuples and mappings into Python numbers, lists
  and dicts with string keys, and non-finite floats into their strings;
* :func:`from_jsonable` reverses the last step: the reserved strings become floats again, at any
  depth;
* :func:`dumps` and :func:`loads` wrap :mod:`json` with the two. :func:`dumps` writes strict JSON
  (``allow_nan=False``); :func:`loads` also reads the bare ``NaN``, ``Infinity`` and ``-Infinity``
  tokens that earlier sweep stores hold.

>>> import numpy as np
>>> text = dumps({"x": np.array([1.0, np.inf]), "n": np.int64(3), "y": float("nan")})
>>> text
'{"x": [1.0, "inf"], "n": 3, "y": "nan"}'
>>> loads(text)
{'x': [1.0, inf], 'n': 3, 'y': nan}
>>> loads('{"old": NaN, "older": [-Infinity]}')
{'old': nan, 'older': [-inf]}
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping

import numpy as np

__all__ = ["NON_FINITE", "dumps", "from_jsonable", "loads", "to_jsonable"]

#: The strings that stand for the non-finite floats, and the floats they stand for.
NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def to_jsonable(value):
    """``value`` as Python numbers, strings, lists and dicts that :func:`json.dumps` writes strictly.

    Mappings become dicts with string keys, tuples and arrays become (nested) lists, numpy scalars
    become Python ``bool``, ``int`` and ``float``, and a non-finite float becomes ``"inf"``,
    ``"-inf"`` or ``"nan"``. The input is not modified.

    Parameters
    ----------
    value : None, bool, int, float, str, numpy scalar or array, or a list, tuple or mapping of these

    Returns
    -------
    object
        A new structure of ``None``, ``bool``, ``int``, ``float`` (finite), ``str``, ``list`` and ``dict``.

    Raises
    ------
    TypeError
        For a value of any other type (complex numbers, arbitrary objects), naming its type.

    Examples
    --------
    >>> import numpy as np
    >>> to_jsonable({"a": np.float64(1.5), "b": (np.int64(2), float("-inf")), 3: np.array([[0.5, np.nan]])})
    {'a': 1.5, 'b': [2, '-inf'], '3': [[0.5, 'nan']]}
    """
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufUO":
            raise TypeError(f"cannot make an array of dtype {value.dtype} JSON-ready")
        return to_jsonable(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else repr(value)
    if value is None or isinstance(value, str):
        return str(value) if isinstance(value, np.str_) else value
    raise TypeError(f"cannot make a value of type {type(value).__name__} JSON-ready")


def from_jsonable(value):
    """``value`` as read from JSON, with the strings of :data:`NON_FINITE` turned back into floats.

    Lists and dicts are rebuilt, at any depth; everything else is returned as it is. The input is
    not modified.

    Examples
    --------
    >>> from_jsonable({"x": [1.0, "inf", ["nan", "-inf"]], "label": "climbing"})
    {'x': [1.0, inf, [nan, -inf]], 'label': 'climbing'}
    """
    if isinstance(value, dict):
        return {k: from_jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_jsonable(v) for v in value]
    if isinstance(value, str) and value in NON_FINITE:
        return NON_FINITE[value]
    return value


def dumps(value, *, indent: int | None = None) -> str:
    """Strict JSON text of :func:`to_jsonable` ``(value)``.

    Parameters
    ----------
    value
        Anything :func:`to_jsonable` accepts.
    indent : int, optional
        As in :func:`json.dumps`.

    Examples
    --------
    >>> dumps([float("inf"), 1])
    '["inf", 1]'
    """
    return json.dumps(to_jsonable(value), indent=indent, allow_nan=False)


def loads(text: str | bytes):
    """The value of the JSON ``text``, with :func:`from_jsonable` applied.

    Reads strict JSON and also the bare tokens ``NaN``, ``Infinity`` and ``-Infinity``.

    Raises
    ------
    json.JSONDecodeError
        When ``text`` is not JSON.

    Examples
    --------
    >>> loads('[NaN, "nan", Infinity, "-inf", 2]')
    [nan, nan, inf, -inf, 2]
    """
    return from_jsonable(json.loads(text))
