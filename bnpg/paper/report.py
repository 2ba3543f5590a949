r"""The report of ``bnpg check``: a page a person reads, with the verdict table, the numbers and figures.

:func:`render` turns a :class:`~bnpg.paper.verdict.Report` into one self-contained HTML page (figures
embedded as PNG data) or Markdown (the same content; figures as embedded images, which most
Markdown viewers show). Two figures are drawn:

* the lemmas and assumptions: the measured quantity divided by its bound, printed and corrected, on a
  logarithmic axis with the line at 1 that a statement must not cross;
* the theorems: the smallest gap so far against the number of steps of the dynamics (2), with the
  target :math:`\epsilon`, the observed :math:`T` and the printed and corrected bounds on :math:`T`.
"""

from __future__ import annotations

import base64
import html
import io

import numpy as np

from bnpg.paper.verdict import Report, Verdict

__all__ = ["REPORT_EXTENSIONS", "figures", "render"]

#: File types :func:`render` writes, by extension.
REPORT_EXTENSIONS = (".html", ".md")

_STATUS_COLOURS = {"holds": "#1a7f37", "fails as printed": "#9a6700", "fails": "#cf222e",
                   "corrected form fails": "#cf222e", "sharpened form fails": "#cf222e",
                   "undecided": "#57606a"}


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _ratio_figure(verdicts: list[Verdict]):
    from matplotlib.figure import Figure

    rows = [v for v in verdicts if v.measured is not None and v.bound_printed and not v.statement.startswith(
        ("theorem", "lemma-1", "assumption-1"))]
    if not rows:
        return None
    fig = Figure(figsize=(6.5, 0.6 + 0.55 * len(rows)), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(rows))
    printed = [v.measured / v.bound_printed for v in rows]
    corrected = [v.measured / v.bound_corrected if v.bound_corrected else np.nan for v in rows]
    sharp = [v.measured / v.bound_sharpened if v.bound_sharpened else np.nan for v in rows]
    every = printed + corrected + sharp
    floor = min(x for x in every if x and np.isfinite(x) and x > 0) if any(
        x and np.isfinite(x) and x > 0 for x in every) else 1e-3
    clip = lambda xs: [max(x, floor / 10) if np.isfinite(x) else np.nan for x in xs]  # noqa: E731
    ax.barh(y + 0.27, clip(printed), height=0.26, color="#4c72b0", label="measured / printed bound")
    ax.barh(y, clip(corrected), height=0.26, color="#dd8452", label="measured / corrected bound")
    ax.barh(y - 0.27, clip(sharp), height=0.26, color="#55a868", label="measured / sharpened bound")
    ax.axvline(1.0, color="#cf222e", lw=1.5)
    ax.set_yticks(y, [v.statement for v in rows])
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_xlabel("measured / bound (a statement holds left of the red line)")
    ax.legend(fontsize=8, loc="lower right", frameon=False)
    return fig


def _theorem_figure(verdicts: list[Verdict]):
    from matplotlib.figure import Figure

    runs = [v for v in verdicts if v.statement.startswith("theorem") and v.trajectory is not None]
    if not runs:
        return None
    fig = Figure(figsize=(5.2 * len(runs), 3.6), layout="constrained")
    axes = fig.subplots(1, len(runs), squeeze=False)
    for ax, v in zip(axes[0], runs, strict=True):
        crossing = v.trajectory.crossing
        T, best = crossing.running_min_gap()
        ax.loglog(T, np.maximum(best, 1e-300), marker=".", label=r"$\min_{t<T}$ gap")
        ax.axhline(crossing.eps, color="gray", lw=0.8, label=r"$\epsilon$")
        for value, style, name in ((v.measured, "-", "T observed"), (v.bound_printed, "--", "T printed"),
                                   (v.bound_corrected, "-.", "T corrected"), (v.bound_sharpened, ":", "T sharpened")):
            if value is not None:
                ax.axvline(value, color="k", ls=style, lw=0.8, label=name)
        ax.set_xlabel("T (steps of the dynamics (2))")
        ax.set_ylabel("Nash gap" if crossing.metric == "nash_gap" else "optimality gap")
        ax.set_title(f"{v.statement}: {v.status}")
        ax.legend(fontsize=7, loc="lower left")
    return fig


def figures(report: Report) -> list[tuple[str, str]]:
    """``(caption, base64 PNG)`` of each figure of the report (drawn without pyplot, so no global state)."""
    out = []
    for make, caption in (
        (_ratio_figure, "Each statement's measured quantity divided by its bound, as printed, as "
                        "corrected and as sharpened; a statement holds where its bar stays left of the red line."),
        (_theorem_figure, "The smallest gap so far along the dynamics (2) from the uniform policy, "
                          "against the target and the steps the theorems promise."),
    ):
        fig = make(list(report.verdicts))
        if fig is not None:
            out.append((caption, _png(fig)))
    return out


def _parameter_lines(report: Report) -> list[str]:
    p = report.parameters
    return [
        f"{p.get('n_states')} states, action sizes {p.get('action_sizes')} "
        f"({p.get('n_joint_actions')} joint actions), gamma = {p.get('gamma')}",
        f"DAG (parents of each agent) {p.get('dag')}; lambda = {p.get('lam'):.6g}, "
        f"epsilon = {p.get('eps'):.6g}, at most {p.get('max_steps'):,} steps per theorem",
        "constants: " + ", ".join(
            f"{k} = {v:.6g}" if isinstance(v, float) else f"{k} = {v}" for k, v in report.constants.items()),
    ]


def render(report: Report, fmt: str) -> str:
    """The report as ``"html"`` (one self-contained page) or ``"md"`` (Markdown)."""
    if not isinstance(report, Report):
        raise TypeError(f"report must be a Report, got {type(report).__name__}")
    if fmt not in ("html", "md"):
        raise ValueError(f"fmt must be 'html' or 'md', got {fmt!r}")
    figs = figures(report)
    heads = ("statement", "status", "hypothesis met", "measured", "printed bound", "corrected bound",
             "sharpened bound")
    if fmt == "md":
        lines = ["# bnpg check: the paper's statements on this game", ""]
        lines += [f"- {line}" for line in _parameter_lines(report)]
        lines += [f"- bnpg {report.version}", "", "| " + " | ".join(heads) + " |",
                  "|" + "---|" * len(heads)]
        lines += ["| " + " | ".join(row) + " |" for row in report.table_rows()]
        for v in report.verdicts:
            lines += ["", f"## {v.statement}: {v.title}", "", v.summary, "", "| quantity | value |",
                      "|---|---|"]
            lines += [f"| {k} | {val} |" for k, val in v.rows()[1:]]
        for caption, data in figs:
            lines += ["", f"![{caption}](data:image/png;base64,{data})", "", f"*{caption}*"]
        return "\n".join(lines) + "\n"
    esc = html.escape
    table = "".join(
        "<tr>" + "".join(
            f"<td style='color:{_STATUS_COLOURS[c]};font-weight:bold'>{esc(c)}</td>" if k == 1
            else f"<td>{esc(c)}</td>" for k, c in enumerate(row)) + "</tr>"
        for row in report.table_rows()
    )
    sections = "".join(
        f"<h2 id='{esc(v.statement)}'>{esc(v.statement)}: {esc(v.title)}</h2><p>{esc(v.summary)}</p>"
        "<table>" + "".join(f"<tr><th>{esc(k)}</th><td>{esc(val)}</td></tr>" for k, val in v.rows()[1:])
        + "</table>" for v in report.verdicts
    )
    pictures = "".join(
        f"<figure><img src='data:image/png;base64,{data}' alt='{esc(caption)}'>"
        f"<figcaption>{esc(caption)}</figcaption></figure>" for caption, data in figs
    )
    style = ("body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
             "line-height:1.45}table{border-collapse:collapse;margin:0.5rem 0}td,th{border:1px solid #d0d7de;"
             "padding:0.25rem 0.6rem;text-align:left;font-variant-numeric:tabular-nums}"
             "th{background:#f6f8fa}img{max-width:100%}figcaption{font-style:italic}")
    params = "".join(f"<li>{esc(line)}</li>" for line in _parameter_lines(report))
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>bnpg check</title><style>{style}</style></head><body>"
        "<h1>bnpg check: the paper's statements on this game</h1>"
        f"<ul>{params}<li>bnpg {esc(report.version)}</li></ul>"
        "<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in heads) + f"</tr>{table}</table>"
        f"{pictures}{sections}</body></html>\n"
    )
