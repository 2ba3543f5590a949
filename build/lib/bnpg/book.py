"""What the book's notebooks need beyond the library: numbers glued into the prose, where possible.

When the book is built, myst-nb's ``glue`` stores a value under a name so that the prose can quote
it (``{glue:text}`name```); in plain Jupyter, on Colab or on Binder without the book's tools there is
no prose to fill, and :func:`glue` does nothing. The notebooks therefore run with nothing but bnpg
and Jupyter installed.
"""

from __future__ import annotations

import importlib.util

__all__ = ["HAVE_MYST_NB", "glue"]

#: Whether myst-nb, the book's notebook renderer, is installed.
HAVE_MYST_NB = importlib.util.find_spec("myst_nb") is not None


def glue(name: str, value, display: bool = False) -> None:
    """myst-nb's ``glue(name, value, display=display)`` when myst-nb is installed, else nothing.

    >>> glue("example", "1.5") is None
    True
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    if HAVE_MYST_NB:
        from myst_nb import glue as myst_glue

        myst_glue(name, value, display=display)
