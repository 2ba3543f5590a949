"""The book's helpers (:mod:`bnpg.book`): figures record their sizes, tables print one format per column.

The figure metadata is read back by the browser test's own reader (``tests/book_layout.py``), so
what ``glue_figure`` writes and what the test measures are checked against each other here.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from bnpg import book  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from book_layout import figure_sizes, figure_text_px  # noqa: E402


def _figure(width=5.0, font=9.0):
    fig, ax = plt.subplots(figsize=(width, 3))
    ax.plot([0, 1, 2], [1, 0, 2], label="a curve")
    ax.set_xlabel("x", fontsize=font + 3)
    ax.set_ylabel("y", fontsize=font + 3)
    ax.tick_params(labelsize=font + 1)
    ax.legend(fontsize=font)
    return fig


@pytest.mark.parametrize("kind", ["svg", "png"])
def test_a_glued_figure_records_its_width_and_smallest_text(kind, tmp_path, monkeypatch):
    fig = _figure(width=5.0, font=9.0)
    if kind == "png":
        monkeypatch.setattr(book, "SVG_LIMIT", 10)  # force the PNG route
    image = book.figure_image(fig)
    plt.close(fig)
    data = image.data if isinstance(image.data, bytes) else image.data.encode()
    path = tmp_path / f"figure.{kind}"
    path.write_bytes(data)
    assert data.startswith(b"\x89PNG") == (kind == "png")
    assert figure_sizes(path) == (360.0, 9.0)  # 5 in = 360 pt; the legend's 9 pt is the smallest
    # shown at 480 px, 9 pt of a 360 pt wide figure measure 12 px
    assert figure_text_px(360.0, 9.0, 480) == pytest.approx(12.0, rel=1e-12)


def test_a_figure_without_metadata_is_not_measured(tmp_path):
    fig = _figure()
    fig.savefig(tmp_path / "plain.svg")
    fig.savefig(tmp_path / "plain.png")
    plt.close(fig)
    assert figure_sizes(tmp_path / "plain.svg") is None and figure_sizes(tmp_path / "plain.png") is None


def test_the_svg_is_reproducible():
    fig = _figure()
    first, second = book.figure_image(fig).data, book.figure_image(fig).data
    plt.close(fig)
    assert first == second
    assert "<dc:date>" not in first


def test_smallest_text_ignores_empty_and_hidden_text():
    fig = _figure(font=11.0)
    ax = fig.axes[0]
    ax.text(0.5, 0.5, "", fontsize=4)
    ax.text(0.5, 0.5, "hidden", fontsize=5, visible=False)
    assert book.smallest_text(fig) == 11.0
    ax.text(0.5, 0.5, "small", fontsize=6)
    assert book.smallest_text(fig) == 6.0
    plt.close(fig)


def test_the_book_style_meets_the_small_print_at_the_column_width():
    """At the style's width, shown across a 700 px column, its smallest text is at least 12.8 px
    (0.8 of the body's 16 px)."""
    width_pt = book.BOOK_STYLE["figure.figsize"][0] * 72
    smallest = min(v for k, v in book.BOOK_STYLE.items() if k.endswith("size") and k != "figure.figsize")
    assert figure_text_px(width_pt, smallest, min(700, width_pt * 96 / 72)) >= 0.8 * 16


def test_each_column_prints_one_way():
    t = book.Table([("a", 6711, 0.5, 2.559e4, 3e-7), ("b", 1, 2.25, 1.5, 0.5)],
                   columns=["name", "count", "ratio", "big", "tiny"], digits=3)
    rows = [line.split() for line in repr(t).splitlines()[2:]]
    assert [r[1] for r in rows] == ["6,711", "1"]
    assert [r[2] for r in rows] == ["0.500", "2.250"]  # same decimals in a column
    assert [r[3] for r in rows] == ["2.56e+04", "1.50e+00"]  # a range over 10^4: scientific
    assert [r[4] for r in rows] == ["3.00e-07", "5.00e-01"]
    html = t._repr_html_()
    assert "10<sup>&minus;7</sup>" in html and "e-07" not in html
    assert html.count('class="num"') == 4 * 3  # 4 numeric columns: heading and two cells each


def test_non_finite_and_missing_values_keep_the_column_format():
    t = book.Table([(float("inf"),), (float("nan"),), (None,), (1.5,)], columns=["x"], digits=2)
    assert [line.strip() for line in repr(t).splitlines()[2:]] == ["inf", "nan", "", "1.5"]


def test_headings_typeset_tex():
    t = book.Table([(1, 2.0)], columns=["$N$", r"gap / $(\lambda M)$"])
    html = t._repr_html_()
    assert r'<span class="math notranslate nohighlight">\((\lambda M)\)</span>' in html
    assert repr(t).splitlines()[0].split() == ["N", "gap", "/", r"(\lambda", "M)"]
    assert "$" not in repr(t)
    odd = book.Table([(1,)], columns=["costs $5"])
    assert "costs $5" in repr(odd) and "math" not in odd._repr_html_()


def test_scientific_only_where_the_range_demands():
    fmt = book.column_format([0.5, 12.0, 345.0], 3)
    assert [fmt(v)[0] for v in (0.5, 12.0, 345.0)] == ["0.500", "12.000", "345.000"]
    assert re.fullmatch(r"\d\.\d\de\+06", book.column_format([2500000.25, 1.5e6], 3)(2500000.25)[0])
    assert book.column_format([2e6, 1e6], 3)(2e6)[0] == "2,000,000"  # whole numbers are counts
    assert book.column_format([10**20], 3)(10**20)[0] == "1.00e+20"
    assert book.column_format([10**9], 3)(10**9)[0] == "1,000,000,000"
