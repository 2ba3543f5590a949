"""What the book's notebooks need beyond the library: glued numbers, captioned figures, HTML tables.

When the book is built, myst-nb's ``glue`` stores a value under a name so that the prose can quote
it (``{glue:text}`name```) and a figure so that a ``{glue:figure}`` directive can place it with a
caption and alt text; in plain Jupyter, on Colab or on Binder without the book's tools there is no
prose to fill, and :func:`glue` does nothing. The notebooks therefore run with nothing but bnpg and
Jupyter installed. :func:`glue_figure` shows the figure in the notebook either way, and
:class:`Table` renders rows as an HTML table in the book and in Jupyter, and as aligned text
wherever HTML is not shown.
"""

from __future__ import annotations

import html
import importlib.util
import numbers
from collections.abc import Mapping, Sequence

__all__ = ["HAVE_MYST_NB", "Table", "glue", "glue_figure", "table"]

#: Whether myst-nb, the book's notebook renderer, is installed.
HAVE_MYST_NB = importlib.util.find_spec("myst_nb") is not None


def _check_name(name) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}")


def glue(name: str, value, display: bool = False) -> None:
    """myst-nb's ``glue(name, value, display=display)`` when myst-nb is installed, else nothing.

    >>> glue("example", "1.5") is None
    True
    """
    _check_name(name)
    if HAVE_MYST_NB:
        from myst_nb import glue as myst_glue

        myst_glue(name, value, display=display)


def glue_figure(name: str, fig) -> None:
    """Glue a matplotlib figure under ``name``, show it once in the notebook and close it.

    The book places the figure where a ``{glue:figure}`` directive names it, with the directive's
    caption and ``:alt:`` text; the cell that calls this function is tagged ``remove-output`` so
    the figure does not appear twice, and ``nbval-ignore-output``, because the glued PNG bytes
    depend on the machine. In a notebook the figure is displayed in the cell's output;
    outside a kernel (a script, a doctest) it is only closed.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> glue_figure("example-figure", fig) is None
    True
    >>> plt.fignum_exists(fig.number)
    False
    """
    _check_name(name)
    if not hasattr(fig, "savefig"):
        raise ValueError(f"fig must be a matplotlib figure, got {type(fig).__name__}")
    import matplotlib.pyplot as plt

    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython ships with Jupyter
        get_ipython = None
    if get_ipython is not None and getattr(get_ipython(), "kernel", None) is not None:  # a kernel
        glue(name, fig, display=False)
        display(fig)
    plt.close(fig)


def _format(value, digits: int) -> str:
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: ""}[value]
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, numbers.Real):
        return f"{float(value):.{digits}g}"
    return str(value)


class Table:
    """Rows of values shown as an HTML table in the book and in Jupyter, as aligned text elsewhere.

    Parameters
    ----------
    rows : sequence of mappings or of sequences
        One entry per row: a mapping from column name to value, or a sequence of values in the
        order of ``columns``.
    columns : sequence of str, optional
        Column headings; taken from the first row's keys when the rows are mappings.
    digits : int, default 4
        Significant digits of real numbers; integers are printed whole, booleans as yes/no.
    caption : str, optional
        A caption above the table.

    Examples
    --------
    >>> t = Table([{"game": "matching", "gap": 0.123456}, {"game": "climbing", "gap": 2.0}])
    >>> print(t)
    game      gap
    --------  ------
    matching  0.1235
    climbing  2
    >>> "<th>gap</th>" in t._repr_html_()
    True
    """

    def __init__(self, rows, columns: Sequence[str] | None = None, *, digits: int = 4,
                 caption: str | None = None):
        if isinstance(rows, (str, bytes)) or not isinstance(rows, Sequence):
            raise ValueError(f"rows must be a sequence of rows, got {type(rows).__name__}")
        if isinstance(digits, bool) or not isinstance(digits, int) or digits < 1:
            raise ValueError(f"digits must be a positive integer, got {digits!r}")
        rows = list(rows)
        if columns is None:
            if not rows or not isinstance(rows[0], Mapping):
                raise ValueError("columns must be given unless the rows are mappings")
            columns = list(rows[0])
        columns = [str(c) for c in columns]
        cells = []
        for k, row in enumerate(rows):
            if isinstance(row, Mapping):
                missing = [c for c in columns if c not in row]
                if missing:
                    raise ValueError(f"rows[{k}] lacks the column(s) {missing}")
                values = [row[c] for c in columns]
            else:
                values = list(row)
                if len(values) != len(columns):
                    raise ValueError(
                        f"rows[{k}] has {len(values)} values for {len(columns)} columns")
            cells.append(tuple(_format(v, digits) for v in values))
        self.columns = tuple(columns)
        self.cells = tuple(cells)
        self.caption = caption

    def __repr__(self) -> str:
        widths = [max([len(c)] + [len(r[j]) for r in self.cells])
                  for j, c in enumerate(self.columns)]
        lines = [] if self.caption is None else [self.caption]
        lines.append("  ".join(c.ljust(w) for c, w in zip(self.columns, widths, strict=True)).rstrip())
        lines.append("  ".join("-" * w for w in widths))
        lines.extend("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in self.cells)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        head = "".join(f"<th>{esc(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{esc(v)}</td>" for v in r) + "</tr>" for r in self.cells)
        caption = "" if self.caption is None else f"<caption>{esc(self.caption)}</caption>"
        return (f'<table class="bnpg-table">{caption}<thead><tr>{head}</tr></thead>'
                f"<tbody>{body}</tbody></table>")


def table(rows, columns: Sequence[str] | None = None, *, digits: int = 4,
          caption: str | None = None) -> Table:
    """A :class:`Table` of ``rows``; see there.

    >>> table([(1, 0.5)], columns=["n", "p"])
    n  p
    -  ---
    1  0.5
    """
    return Table(rows, columns, digits=digits, caption=caption)
