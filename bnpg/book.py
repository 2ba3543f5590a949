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
import math
import numbers
from collections.abc import Mapping, Sequence

__all__ = ["BOOK_STYLE", "HAVE_MYST_NB", "PNG_DPI", "SVG_LIMIT", "Table", "column_format", "figure_description",
           "figure_image", "glue", "glue_figure", "smallest_text", "table"]

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


#: The book's figure style, for ``plt.rcParams.update(BOOK_STYLE)`` at the top of a notebook: a
#: figure 7 inches wide by default and text of 11-13 points, so that a figure shown at the width of
#: the book's text column (about 700 px on a desktop) keeps its smallest text at about 14 px, the
#: size of the book's small print. :func:`glue_figure` records the smallest text of each figure.
BOOK_STYLE = {
    "figure.figsize": (7.0, 4.0),
    "font.size": 12,
    "axes.titlesize": 13,
    "axes.labelsize": 12,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
    "legend.title_fontsize": 11,
    "figure.titlesize": 13,
    "lines.linewidth": 1.8,
}

#: Figures whose SVG would exceed this many bytes (dense scatter plots) are glued as PNG instead.
SVG_LIMIT = 1_500_000
#: Resolution of a figure glued as PNG, in dots per inch (sharp on high-density screens and in print).
PNG_DPI = 200


def smallest_text(fig) -> float:
    """The size in points of the smallest visible, non-empty text of a matplotlib figure.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.set_xlabel("x", fontsize=9); _ = ax.tick_params(labelsize=12)
    >>> smallest_text(fig)
    9.0
    >>> plt.close(fig)
    """
    from matplotlib.text import Text

    fig.canvas.draw()  # tick labels exist once the figure is drawn
    sizes = [t.get_fontsize() for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip() and _drawn(t)]
    return float(min(sizes)) if sizes else float("inf")


def _drawn(text) -> bool:
    """Whether a text is drawn: in a visible axes, or on the figure itself."""
    if text.axes is not None:
        return text.axes.get_visible()
    return text.get_figure() is not None


def figure_description(fig) -> str:
    """What :func:`glue_figure` writes into a figure's metadata: its width and its smallest text in
    points, ``"bnpg-figure width-pt=W min-font-pt=F"``; the book's browser test reads it to measure
    the size of the text as displayed.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots(figsize=(5, 3))
    >>> _ = ax.set_title("t", fontsize=10); _ = ax.tick_params(labelsize=10)
    >>> figure_description(fig)
    'bnpg-figure width-pt=360 min-font-pt=10'
    >>> plt.close(fig)
    """
    width = fig.get_figwidth() * 72
    return f"bnpg-figure width-pt={width:g} min-font-pt={smallest_text(fig):g}"


def figure_image(fig):
    """The figure as an IPython display object: SVG (vector, sharp at any size and in print), or a
    :data:`PNG_DPI` PNG when the SVG would exceed :data:`SVG_LIMIT` bytes; either carries
    :func:`figure_description` in its metadata and is reproducible (no date, fixed SVG ids).
    """
    import io

    import matplotlib
    from IPython.display import SVG, Image

    description = figure_description(fig)
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "bnpg", "svg.fonttype": "path"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Description": description})
    if buffer.tell() <= SVG_LIMIT:
        return SVG(data=buffer.getvalue())
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=PNG_DPI,
                metadata={"Description": description, "Software": None})
    return Image(data=buffer.getvalue(), format="png", width=round(fig.get_figwidth() * 100))


def glue_figure(name: str, fig) -> None:
    """Glue a matplotlib figure under ``name``, show it once in the notebook and close it.

    The book places the figure where a ``{glue:figure}`` directive names it, with the directive's
    caption and ``:alt:`` text; the cell that calls this function is tagged ``remove-output`` so
    the figure does not appear twice, and ``nbval-ignore-output``. The figure is glued as SVG (or
    as a high-resolution PNG when dense, see :func:`figure_image`), with its width and smallest text
    recorded so that the book's tests can measure the text as displayed. In a notebook the figure
    is displayed in the cell's output; outside a kernel (a script, a doctest) it is only closed.

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
        image = figure_image(fig)
        glue(name, image, display=False)
        display(image)
    plt.close(fig)


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def column_format(values, digits: int):
    """How one column of a :class:`Table` prints its numbers: a function from a value to
    ``(text, html)``, the same rule for every number of the column.

    Integers (and reals that are all whole) get thousands separators; other reals are printed with
    a fixed number of decimals, enough to give the smallest non-zero magnitude ``digits``
    significant digits, unless the column spans more than four orders of magnitude or holds
    magnitudes from 10^6 up or below 10^-3, where all its numbers are printed in scientific notation
    with ``digits`` significant digits (in HTML as a power of ten). Magnitudes below 10^-12 of the
    column's largest do not enter that choice (rounding noise must not change a column's format),
    and a number that rounds to zero prints without a sign. Non-finite numbers print as
    ``inf``, ``-inf`` and ``nan``; other values as text.

    >>> [column_format([6711, 25590.0], 4)(v)[0] for v in (6711, 25590.0)]
    ['6,711', '25,590']
    >>> [column_format([0.1236, 2.0], 3)(v)[0] for v in (0.1236, 2.0)]
    ['0.124', '2.000']
    >>> column_format([-1e-17, 0.25], 2)(-1e-17)[0]
    '0.00'
    >>> column_format([3e-7, 0.5], 3)(3e-7)
    ('3.00e-07', '3.00&#8202;&times;&#8202;10<sup>&minus;7</sup>')
    """
    finite = [abs(float(v)) for v in values if _is_number(v) and math.isfinite(float(v))]
    whole = all(float(v).is_integer() for v in values if _is_number(v) and math.isfinite(float(v)))
    # magnitudes below 1e-12 of the column's largest are rounding noise (an exact zero on another
    # machine), so they do not decide the format, which must not depend on the CPU
    nonzero = [v for v in finite if v > 1e-12 * max(finite)] if finite else []
    if nonzero and not whole:
        low, high = min(nonzero), max(nonzero)
        scientific = high >= 1e6 or low < 1e-3 or high / low >= 1e4
    else:
        scientific = bool(nonzero) and max(nonzero) >= 1e15
    decimals = 0
    if nonzero and not whole and not scientific:
        decimals = max(0, digits - 1 - math.floor(math.log10(min(nonzero))))

    def fmt(value):
        if value is None or isinstance(value, bool):
            text = {True: "yes", False: "no", None: ""}[value]
            return text, html.escape(text)
        if not _is_number(value):
            text = str(value)
            return text, html.escape(text)
        x = float(value)
        if not math.isfinite(x):
            text = "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
            return text, {"nan": "nan", "inf": "&infin;", "-inf": "&minus;&infin;"}[text]
        if scientific:
            text = f"{x:.{digits - 1}e}"
            mantissa, exponent = text.split("e")
            power = int(exponent)
            sign = "&minus;" if power < 0 else ""
            return text, (f"{mantissa.replace('-', '&minus;')}&#8202;&times;&#8202;10"
                          f"<sup>{sign}{abs(power)}</sup>")
        text = f"{int(round(x)):,}" if whole else f"{x:,.{decimals}f}"
        if text.startswith("-") and not any(ch in "123456789" for ch in text):
            text = text[1:]  # a value that rounds to zero prints without a sign
        return text, text.replace("-", "&minus;")

    return fmt


def _header_html(column: str) -> str:
    """A column heading with ``$...$`` spans typeset as inline math in the book."""
    parts = column.split("$")
    if len(parts) % 2 == 0:  # an unmatched $: plain text
        return html.escape(column)
    return "".join(html.escape(p) if k % 2 == 0 else
                   f'<span class="math notranslate nohighlight">\\({html.escape(p)}\\)</span>'
                   for k, p in enumerate(parts))


def _header_text(column: str) -> str:
    return column.replace("$", "") if column.count("$") % 2 == 0 else column


class Table:
    """Rows of values shown as an HTML table in the book and in Jupyter, as aligned text elsewhere.

    Each column prints all its numbers one way (:func:`column_format`): counts with thousands
    separators, reals with a fixed number of decimals, scientific notation only where the column's
    range needs it. Numbers are right-aligned. A heading may contain TeX between ``$`` signs, which
    the book typesets; the text form shows the TeX without the ``$``.

    Parameters
    ----------
    rows : sequence of mappings or of sequences
        One entry per row: a mapping from column name to value, or a sequence of values in the
        order of ``columns``.
    columns : sequence of str, optional
        Column headings; taken from the first row's keys when the rows are mappings.
    digits : int, default 4
        Significant digits of real numbers (of the smallest non-zero magnitude of a column);
        booleans print as yes/no.
    caption : str, optional
        A caption above the table.

    Examples
    --------
    >>> t = Table([{"game": "matching", "gap": 0.123456}, {"game": "climbing", "gap": 2.0}])
    >>> print(t)
    game         gap
    --------  ------
    matching  0.1235
    climbing  2.0000
    >>> '<th class="num">gap</th>' in t._repr_html_()
    True
    >>> print(Table([(2, 1e-9)], columns=["$N$", r"$\\epsilon$"], digits=2))
    N  \\epsilon
    -  --------
    2   1.0e-09
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
        table_values = []
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
            table_values.append(values)
        formats = [column_format([r[j] for r in table_values], digits) for j in range(len(columns))]
        cells = [tuple(f(v) for f, v in zip(formats, r, strict=True)) for r in table_values]
        self.columns = tuple(columns)
        self.cells = tuple(tuple(text for text, _ in r) for r in cells)
        self._html_cells = tuple(tuple(markup for _, markup in r) for r in cells)
        self._numeric = tuple(
            any(_is_number(r[j]) for r in table_values)
            and all(_is_number(r[j]) or r[j] is None for r in table_values)
            for j in range(len(columns)))
        self.caption = caption

    def __repr__(self) -> str:
        heads = [_header_text(c) for c in self.columns]
        widths = [max([len(c)] + [len(r[j]) for r in self.cells]) for j, c in enumerate(heads)]

        def line(values):
            return "  ".join(v.rjust(w) if num else v.ljust(w)
                             for v, w, num in zip(values, widths, self._numeric, strict=True)).rstrip()

        lines = [] if self.caption is None else [self.caption]
        lines.append(line(heads))
        lines.append("  ".join("-" * w for w in widths))
        lines.extend(line(r) for r in self.cells)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        def cls(j):
            return ' class="num"' if self._numeric[j] else ""

        head = "".join(f"<th{cls(j)}>{_header_html(c)}</th>" for j, c in enumerate(self.columns))
        body = "".join("<tr>" + "".join(f"<td{cls(j)}>{v}</td>" for j, v in enumerate(r)) + "</tr>"
                       for r in self._html_cells)
        caption = "" if self.caption is None else f"<caption>{html.escape(self.caption)}</caption>"
        return (f'<table class="bnpg-table">{caption}<thead><tr>{head}</tr></thead>'
                f"<tbody>{body}</tbody></table>")


def table(rows, columns: Sequence[str] | None = None, *, digits: int = 4,
          caption: str | None = None) -> Table:
    """A :class:`Table` of ``rows``; see there.

    >>> table([(1, 0.5)], columns=["n", "p"], digits=2)
    n     p
    -  ----
    1  0.50
    """
    return Table(rows, columns, digits=digits, caption=caption)
