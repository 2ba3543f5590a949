r"""The figures of a report of :func:`bnpg.paper.check`, drawn with matplotlib's object interface
(no pyplot): the measured quantity of each statement divided by its bounds, and the theorems'
runs against the steps each form of the theorem promises.
"""

from __future__ import annotations

import io

import numpy as np

from bnpg.paper.names import in_words, is_theorem, statement_name
from bnpg.paper.verdict import Report, Verdict

__all__ = ["figures"]

#: Font sizes of the figures, in points; a figure is drawn _WIDTH inches wide and shown at the width
#: of the page's text (about 900 px on a desktop, so a point is about 1.6 px).
_WIDTH = 8.0
_FONT = 12
_SMALL = 11
_DPI = 130


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, bbox_inches="tight", pad_inches=0.08)
    return buf.getvalue()


def _ratio_rows(verdicts) -> list[Verdict]:
    return [v for v in verdicts if v.measured is not None and v.bound_printed and not is_theorem(v)
            and v.statement not in ("lemma-1", "assumption-1")]


def _names(verdicts) -> str:
    """``"Lemma 2, Lemma 3 and Lemma 4"``."""
    names = [statement_name(v.statement) for v in verdicts]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _ratio_figure(rows: list[Verdict]):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(_WIDTH, 1.9 + 0.75 * len(rows)), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(rows))
    ratios = {
        "printed": [v.measured / v.bound_printed for v in rows],
        "corrected": [v.measured / v.bound_corrected if v.bound_corrected else np.nan for v in rows],
        "sharpened": [v.measured / v.bound_sharpened if v.bound_sharpened else np.nan for v in rows],
    }
    every = [x for xs in ratios.values() for x in xs if np.isfinite(x) and x > 0]
    floor = min(every) if every else 1e-3
    for (form, xs), shift, colour in zip(ratios.items(), (0.27, 0.0, -0.27), ("#4c72b0", "#dd8452", "#55a868"),
                                         strict=True):
        bars = [max(x, floor / 10) if np.isfinite(x) else np.nan for x in xs]
        ax.barh(y + shift, bars, height=0.26, color=colour, label=f"measured / {form} bound")
    ax.axvline(1.0, color="#cf222e", lw=1.5, label="1: the bound itself")
    ax.set_yticks(y, [statement_name(v.statement) for v in rows])
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.tick_params(labelsize=_FONT)
    ax.set_xlabel("measured / bound (the statement holds left of the red line)", fontsize=_FONT)
    ax.legend(fontsize=_SMALL, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, frameon=False)
    return fig


def _theorem_figure(runs: list[Verdict]):
    from matplotlib.figure import Figure
    from matplotlib.ticker import LogFormatter

    fig = Figure(figsize=(_WIDTH, 5.4 * len(runs)), layout="constrained")
    axes = fig.subplots(len(runs), 1, squeeze=False)[:, 0]
    for ax, v in zip(axes, runs, strict=True):
        crossing = v.trajectory.crossing
        T, best = crossing.running_min_gap()
        what = "Nash gap" if crossing.metric == "nash_gap" else "optimality gap"
        ax.loglog(T, np.maximum(best, 1e-300), marker=".", color="#4c72b0",
                  label=f"smallest {what} so far")
        ax.axhline(crossing.eps, color="gray", lw=1.2, label=f"target \u03b5 = {crossing.eps:.4g}")
        lines = ((v.measured, "-", "steps observed"), (v.bound_printed, "--", "steps the paper promises"),
                 (v.bound_corrected, "-.", "steps the corrected proof gives"),
                 (v.bound_sharpened, ":", "steps this book's bound gives"))
        for value, style, name in lines:
            if value is not None:
                ax.axvline(value, color="k", ls=style, lw=1.2, label=f"{name}: {value:.4g}")
        ax.set_ylim(min(crossing.eps, float(np.min(best))) / 1.25, float(np.max(best)) * 1.25)
        ax.yaxis.set_major_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))
        ax.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))
        ax.tick_params(which="both", labelsize=_FONT)
        ax.set_xlabel("T, steps of the dynamics (2)", fontsize=_FONT)
        ax.set_ylabel(what, fontsize=_FONT)
        ax.set_title(f"{statement_name(v.statement)}: {in_words(v.title)} ({v.status})", fontsize=_FONT,
                     loc="left")
        ax.legend(fontsize=_SMALL, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
    return fig


def figures(report: Report) -> list[tuple[str, bytes]]:
    """``(caption, PNG bytes)`` of each figure of the report, drawn without pyplot.

    Each caption names the statements its figure shows, and those it leaves out.

    Examples
    --------
    >>> from bnpg.paper.verdict import Report, Verdict
    >>> v = Verdict(statement="lemma-2", title="near-Nash", hypothesis_met=True, measured=0.5,
    ...             bound_printed=1.0, bound_corrected=1.0, holds_as_printed=True, holds_corrected=True)
    >>> [(caption[:44], png[:4]) for caption, png in figures(Report(verdicts=(v,)))]
    [('Lemma 2: the measured quantity divided by it', b'\x89PNG')]
    """
    verdicts = list(report.verdicts)
    out = []
    rows = _ratio_rows(verdicts)
    if rows:
        left = [v for v in verdicts if v not in rows]
        caption = (f"{_names(rows)}: the measured quantity divided by its bound, as printed, as corrected "
                   "and as sharpened (a missing bar: no such bound); a statement holds where its bar stays "
                   "left of the red line.")
        if left:
            caption += (f" Not shown: {_names(left)}, whose numbers are a tolerance (Lemma 1), a lower "
                        "bound (Assumption 1) or numbers of steps (the theorems, in the next figure); "
                        "they are in the table.")
        out.append((caption, _png(_ratio_figure(rows))))
    runs = [v for v in verdicts if is_theorem(v) and v.trajectory is not None]
    if runs:
        caption = (f"{_names(runs)}: the smallest gap so far along the dynamics (2) from the uniform "
                   "policy, against the target \u03b5 (horizontal line), the steps it took (solid line, "
                   "when reached) and the steps each form of the theorem promises (dashed: printed, "
                   "dash-dotted: corrected, dotted: sharpened). The corrected bound can lie right of the printed "
                   "one: the printed bound is wrong (errata E5-E9), and the corrected one is what the "
                   "paper's proof supports.")
        out.append((caption, _png(_theorem_figure(runs))))
    return out
