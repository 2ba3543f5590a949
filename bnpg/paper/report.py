r"""The report of ``bnpg check``: a page a person reads without the README.

:func:`render` turns a :class:`~bnpg.paper.verdict.Report` into one self-contained HTML page
(figures embedded as PNG data) or into Markdown; :func:`render_files` gives every file of a report
to be written at a path: the page and, for Markdown, its figures as PNG files in a folder beside it
(:func:`figures_folder`), linked relatively. The report holds

* the game (its file, sizes and discount) and the arguments of the check;
* how to read it: what each status and each column of the verdict table means;
* the verdict table, each statement named as the paper names it (``Lemma 2``) with its claim, and
  each number said for what it is (a bound, a tolerance, a lower bound, a number of steps);
* the constants of the paper for this game, with their symbols;
* the figures, each with a caption that names the statements it shows:

  - the measured quantity divided by its bound, printed, corrected and sharpened, on a logarithmic
    axis with the line at 1 a statement must not cross;
  - for each theorem, the smallest gap so far against the number of steps of the dynamics (2),
    with the target :math:`\epsilon`, the observed :math:`T` and the three bounds on :math:`T`;

* one section per statement with every number behind its verdict.
"""

from __future__ import annotations

import base64
import html
import os

from bnpg.paper.names import in_words, is_theorem, statement_name
from bnpg.paper.report_figures import figures
from bnpg.paper.verdict import STATUS_MARKS, STATUSES, Report, Verdict, format_number

__all__ = ["COLUMN_LEGEND", "CONSTANT_NAMES", "REPORT_EXTENSIONS", "STATUS_LEGEND", "figures_folder", "render", "render_files"]

#: File types :func:`render` writes, by extension.
REPORT_EXTENSIONS = (".html", ".md")

_STATUS_COLOURS = {"holds": "#1a7f37", "fails as printed": "#9a6700", "fails": "#cf222e",
                   "corrected form fails": "#cf222e", "sharpened form fails": "#cf222e",
                   "undecided": "#57606a"}

#: What each status of :data:`~bnpg.paper.verdict.STATUSES` means, in the report's words.
#:
#: :meta hide-value:
STATUS_LEGEND = {
    "holds": "the hypothesis is met (or there is none), the measured quantity is within the bound as "
             "the paper prints it, and no corrected or sharpened bound is violated.",
    "fails as printed": "the bound as printed is violated on this game, but the corrected or the "
                        "sharpened bound holds (or is not decided): the paper's statement needs its erratum.",
    "fails": "the evidence contradicts every form of the statement that was checked.",
    "corrected form fails": "the printed bound holds, but the corrected bound (from the paper's proof "
                            "with the errata fixed) is violated.",
    "sharpened form fails": "the printed bound holds, but this book's sharpened bound is violated.",
    "undecided": "nothing was decided: the hypothesis is not met at the point checked, or the run "
                 "ended (after the step budget) before the bound could be tested.",
}

#: What each column of the verdict table means.
#:
#: :meta hide-value:
COLUMN_LEGEND = (
    ("Statement", "the statement as the paper numbers it, with its claim in one line."),
    ("Status", "the outcome on this game (see the statuses above)."),
    ("Hypothesis met", "whether the statement's hypothesis held where it was checked; "
                       "\u201c-\u201d for a statement without a hypothesis."),
    ("Measured", "the quantity the statement bounds, computed exactly on this game, with what it is."),
    ("Printed bound", "the bound as the paper states it."),
    ("Corrected bound", "what the paper's own proof gives once the errata are fixed (the printed bound "
                        "where the printed form stands; \u201c-\u201d where no correction gives one). For "
                        "the theorems it can be larger than the printed bound: the printed one is wrong "
                        "(errata E5-E9), so the corrected one is the bound the proof supports."),
    ("Sharpened bound", "this book's bound (bnpg.theory.sharpened); \u201c-\u201d for statements the "
                        "book does not sharpen."),
)

#: ``key of Report.constants: (symbol, meaning)``; a key not listed is shown under its own name.
#:
#: :meta hide-value:
CONSTANT_NAMES = {
    "M": ("M", "distribution-mismatch coefficient of the game (Assumption 1)"),
    "beta_lambda": ("\u03b2_\u03bb", "smoothness constant of L_\u03bb (Lemma 4)"),
    "gradient_threshold": ("\u03c4", "gradient-norm threshold of Lemmas 2 and 3: "
                                     "\u03bb / (2 |S| |A| max_i |A_i|)"),
    "sharp_threshold_lemma2": ("\u03c4\u2082\u266f", "weakest gradient threshold of the sharpened Lemma 2"),
    "sharp_threshold_lemma3": ("\u03c4\u2083\u266f", "weakest gradient threshold of the sharpened Lemma 3"),
    "lemma2_bound_printed": ("2\u03bbM", "Lemma 2's bound on the Nash gap, as printed"),
    "lemma2_bound_sharpened": ("Lemma 2\u266f", "Lemma 2's sharpened bound on the Nash gap, at \u2016\u2207L_\u03bb\u2016 \u2264 \u03c4"),
    "lemma3_bound_printed": ("2\u1d3a\u207a\u00b9 N \u03bbM", "Lemma 3's bound on the optimality gap, as printed"),
    "lemma3_bound_sharpened": ("Lemma 3\u266f", "Lemma 3's sharpened bound on the optimality gap, at "
                                              "\u2016\u2207L_\u03bb\u2016 \u2264 \u03c4"),
    "lambda_theorem1": ("\u03bb\u2081", "the \u03bb Theorem 1 chooses for the target \u03b5"),
    "lambda_theorem2": ("\u03bb\u2082", "the \u03bb Theorem 2 chooses for the target \u03b5"),
    "value_range_bound": ("(r_max \u2212 r_min)/(1 \u2212 \u03b3)", "Assumption 2's bound on the range of the values"),
}

#: What each statement measures, in a few words.
_QUANTITIES = {
    "assumption-1": "smallest visitation d_\u03bc(s) over policies and states",
    "assumption-2": "range of the values",
    "lemma-1": "relative error of the printed gradient formula",
    "lemma-2": "Nash gap at an approximate stationary point",
    "lemma-3": "optimality gap at an approximate stationary point",
    "lemma-4": "largest curvature of L_\u03bb found",
    "theorem-1": "steps until the Nash gap \u2264 \u03b5",
    "theorem-2": "steps until the optimality gap \u2264 \u03b5",
}



def _cells(v: Verdict) -> tuple[str, str, str, str]:
    """``(measured, printed, corrected, sharpened)`` as the table shows them, each said for what it is."""
    if v.statement == "lemma-1":
        corrected = f"tolerance {format_number(v.bound_corrected)}"
        if "corrected_error" in v.details:
            corrected += f" (corrected formula's error {format_number(v.details['corrected_error'])})"
        return (format_number(v.measured), f"tolerance {format_number(v.bound_printed)}", corrected,
                format_number(v.bound_sharpened))
    if v.statement == "assumption-1":
        lower = [f"lower bound {format_number(b)} (must exceed)" if b is not None else "-"
                 for b in (v.bound_printed, v.bound_corrected, v.bound_sharpened)]
        return (format_number(v.measured), *lower)
    if is_theorem(v):
        if v.measured is None:
            run = v.details.get("steps_run", v.parameters.get("max_steps"))
            measured = f"not reached in {format_number(run)} steps" if run is not None else "not reached"
        else:
            measured = f"T = {format_number(v.measured)}"
        steps = [f"T \u2265 {format_number(b)}" if b is not None else "-"
                 for b in (v.bound_printed, v.bound_corrected, v.bound_sharpened)]
        return (measured, *steps)
    return tuple(format_number(x) for x in (v.measured, v.bound_printed, v.bound_corrected, v.bound_sharpened))


# -- text -----------------------------------------------------------------------------------------
def _game_rows(report: Report, source) -> list[tuple[str, str]]:
    p = report.parameters
    rows = []
    if source is not None:
        rows.append(("game file", os.fspath(source)))
    sizes = p.get("action_sizes")
    rows += [
        ("states |S|", format_number(p.get("n_states"))),
        ("agents N", format_number(len(sizes)) if sizes is not None else "-"),
        ("actions of each agent |A_i|", format_number(sizes)),
        ("joint actions |A|", format_number(p.get("n_joint_actions"))),
        ("discount \u03b3", format_number(p.get("gamma"))),
        ("network (parents of each agent)", str(p.get("dag", "-"))),
        ("\u03bb of the lemmas", format_number(p.get("lam"))),
        ("target gap \u03b5 of the theorems", format_number(p.get("eps"))),
        ("step budget of each theorem", format_number(p.get("max_steps"))),
    ]
    rows += [(k, format_number(v)) for k, v in p.items()
             if k not in ("n_states", "action_sizes", "n_joint_actions", "gamma", "dag", "lam", "eps", "max_steps")]
    rows.append(("bnpg version", report.version or "-"))
    return rows


def _constant_rows(report: Report) -> list[tuple[str, str, str]]:
    out = []
    for key, value in report.constants.items():
        symbol, meaning = CONSTANT_NAMES.get(key, (key, ""))
        out.append((symbol, format_number(value), meaning))
    return out


def _title(source) -> str:
    where = f" on {os.path.basename(os.fspath(source))}" if source is not None else ""
    return f"The paper's statements checked{where}"


def _intro(report: Report) -> str:
    return (f"bnpg checked {len(report)} numbered statements of the paper on this game, each exactly "
            "(no sampling): the quantity each statement bounds was computed and compared with the bound "
            "as the paper prints it, as the paper's own proof gives it once the errata are fixed, and as "
            "this book sharpens it.")


def _verdict_cells(v: Verdict) -> list[str]:
    measured, printed, corrected, sharpened = _cells(v)
    return [statement_name(v.statement), in_words(v.title), v.status, format_number(v.hypothesis_met), measured,
            in_words(_QUANTITIES.get(v.statement, "")), printed, corrected, sharpened]


def _detail_rows(v: Verdict) -> list[tuple[str, str]]:
    """:meth:`Verdict.rows` but the first, the names with Greek letters."""
    return [(in_words(k), val) for k, val in v.rows()[1:]]


def _markdown(report: Report, source, figs: list[tuple[str, str]]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [f"# {_title(source)}", "", _intro(report), "", "## The game", "",
             "| | |", "|---|---|"]
    lines += [f"| {cell(k)} | {cell(v)} |" for k, v in _game_rows(report, source)]
    lines += ["", "## How to read this report", "", "Statuses:", ""]
    lines += [f"- {STATUS_MARKS[s]} **{s}**: {STATUS_LEGEND[s]}" for s in STATUSES]
    lines += ["", "Columns of the table:", ""]
    lines += [f"- **{c}**: {m}" for c, m in COLUMN_LEGEND]
    lines += ["", "Where a number is not an upper bound the table says so: Lemma 1's bounds are a "
              "tolerance on the error of a formula, Assumption 1's a lower bound the measured quantity "
              "must exceed, the theorems' numbers of steps.", "", "## Verdicts", "",
              "| Statement | Status | Hypothesis met | Measured | Printed bound | Corrected bound | "
              "Sharpened bound |", "|---|---|---|---|---|---|---|"]
    for v in report.verdicts:
        name, claim, status, hyp, measured, quantity, printed, corrected, sharp = _verdict_cells(v)
        lines.append(f"| **{cell(name)}**: {cell(claim)} | {STATUS_MARKS.get(status, '')} {status} | {hyp} | {cell(measured)} "
                     f"({cell(quantity)}) | {cell(printed)} | {cell(corrected)} | {cell(sharp)} |")
    lines += ["", "## Constants of the paper for this game", "", "| Symbol | Value | Meaning |",
              "|---|---|---|"]
    lines += [f"| {cell(s)} | {val} | {cell(m)} |" for s, val, m in _constant_rows(report)]
    if figs:
        lines += ["", "## Figures"]
    for k, (caption, link) in enumerate(figs, 1):
        lines += ["", f"![Figure {k}]({link})", "", f"*Figure {k}. {caption}*"]
    for v in report.verdicts:
        lines += ["", f"## {statement_name(v.statement)}: {in_words(v.title)} (`{v.statement}`)", "",
                  in_words(v.summary), "", "| quantity | value |", "|---|---|"]
        lines += [f"| {cell(k)} | {cell(val)} |" for k, val in _detail_rows(v)]
    return "\n".join(lines) + "\n"


_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;font-size:16px;max-width:60rem;margin:2rem auto;
padding:0 1rem;line-height:1.45;color:#1f2328}
h1{font-size:1.7rem;line-height:1.25}h2{font-size:1.3rem;margin-top:2rem}h3{font-size:1.1rem}
table{border-collapse:collapse;margin:0.5rem 0}
td,th{border:1px solid #d0d7de;padding:0.3rem 0.6rem;text-align:left;vertical-align:top;
font-variant-numeric:tabular-nums;overflow-wrap:break-word}
th{background:#f6f8fa}
.scroll{overflow-x:auto;max-width:100%}
.claim,.quantity{display:block;color:#57606a;font-size:0.875rem;font-weight:normal}
.status{font-weight:bold;white-space:nowrap}
dl{margin:0.5rem 0}dt{font-weight:bold;margin-top:0.4rem}dd{margin-left:1.5rem}
figure{margin:1.5rem 0}img{width:100%;height:auto;display:block}
figcaption{font-size:0.95rem;margin-top:0.4rem}
code{font-size:0.9em}
"""


def _html(report: Report, source, figs: list[tuple[str, str]]) -> str:
    esc = html.escape

    def kv_table(rows, heads=None) -> str:
        head = "<tr>" + "".join(f"<th>{esc(h)}</th>" for h in heads) + "</tr>" if heads else ""
        body = "".join("<tr><th scope='row'>" + esc(r[0]) + "</th>"
                       + "".join(f"<td>{esc(c)}</td>" for c in r[1:]) + "</tr>" for r in rows)
        return f"<div class='scroll'><table>{head}{body}</table></div>"

    statuses = "".join(
        f"<dt style='color:{_STATUS_COLOURS[s]}'>{STATUS_MARKS[s]}\u00a0{esc(s)}</dt><dd>{esc(STATUS_LEGEND[s])}</dd>" for s in STATUSES)
    columns = "".join(f"<dt>{esc(c)}</dt><dd>{esc(m)}</dd>" for c, m in COLUMN_LEGEND)
    heads = ("Statement", "Status", "Hypothesis met", "Measured", "Printed bound", "Corrected bound",
             "Sharpened bound")
    rows = []
    for v in report.verdicts:
        name, claim, status, hyp, measured, quantity, printed, corrected, sharp = _verdict_cells(v)
        rows.append(
            f"<tr><th scope='row'><a href='#{esc(v.statement)}'>{esc(name)}</a>"
            f"<span class='claim'>{esc(claim)}</span></th>"
            f"<td class='status' style='color:{_STATUS_COLOURS.get(status, '#1f2328')}'>"
            f"{STATUS_MARKS.get(status, '')}\u00a0{esc(status)}</td>"
            f"<td>{esc(hyp)}</td><td>{esc(measured)}<span class='quantity'>{esc(quantity)}</span></td>"
            + "".join(f"<td>{esc(c)}</td>" for c in (printed, corrected, sharp)) + "</tr>")
    verdicts = ("<div class='scroll'><table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in heads)
                + "</tr>" + "".join(rows) + "</table></div>")
    pictures = "".join(
        f"<figure><img src='{link}' alt='Figure {k}: {esc(caption)}'>"
        f"<figcaption><b>Figure {k}.</b> {esc(caption)}</figcaption></figure>"
        for k, (caption, link) in enumerate(figs, 1))
    sections = "".join(
        f"<section id='{esc(v.statement)}'><h3>{esc(statement_name(v.statement))}: {esc(in_words(v.title))}</h3>"
        f"<p>{esc(in_words(v.summary))}</p>" + kv_table(_detail_rows(v)) + "</section>" for v in report.verdicts)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{esc(_title(source))}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{esc(_title(source))}</h1><p>{esc(_intro(report))}</p>"
        "<h2>The game</h2>" + kv_table(_game_rows(report, source))
        + "<h2>How to read this report</h2><h3>Statuses</h3>"
        f"<dl>{statuses}</dl><h3>Columns of the verdict table</h3><dl>{columns}</dl>"
        "<p>Where a number is not an upper bound the table says so: Lemma 1's bounds are a tolerance on the "
        "error of a formula, Assumption 1's a lower bound the measured quantity must exceed, the theorems' "
        "numbers of steps.</p>"
        f"<h2>Verdicts</h2>{verdicts}"
        "<h2>Constants of the paper for this game</h2>"
        + kv_table(_constant_rows(report), ("Symbol", "Value", "Meaning"))
        + (f"<h2>Figures</h2>{pictures}" if figs else "")
        + f"<h2>Every number behind each verdict</h2>{sections}</body></html>\n"
    )


def _check(report, fmt, source) -> None:
    if not isinstance(report, Report):
        raise TypeError(f"report must be a Report, got {type(report).__name__}")
    if fmt not in ("html", "md"):
        raise ValueError(f"fmt must be 'html' or 'md', got {fmt!r}")
    if source is not None and not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"source must be a path or None, got {type(source).__name__}")


def render(report: Report, fmt: str, *, source=None, figures_dir: str = "figures") -> str:
    """The report as ``"html"`` (one self-contained page) or ``"md"`` (Markdown).

    Parameters
    ----------
    report : Report
        What :func:`bnpg.paper.check` returned.
    fmt : {"html", "md"}
        The format.
    source : str or os.PathLike, optional
        The file the game came from, named in the title and the game's table.
    figures_dir : str
        Markdown only: the folder, relative to the page, its figure links point to
        (``figures_dir/figure-1.png`` ...). :func:`render_files` gives the PNG files too.

    Examples
    --------
    >>> from bnpg.paper.verdict import Report, Verdict
    >>> v = Verdict(statement="lemma-4", title="L_lambda is beta_lambda-smooth", hypothesis_met=None,
    ...             measured=3.0, bound_printed=10.0, bound_corrected=10.0, holds_as_printed=True,
    ...             holds_corrected=True)
    >>> page = render(Report(verdicts=(v,)), "md", source="games/mine.npz", figures_dir="r_files")
    >>> page.splitlines()[0], "| **Lemma 4**: L_λ is β_λ-smooth | \u2714 holds |" in page
    ("# The paper's statements checked on mine.npz", True)
    >>> "](r_files/figure-1.png)" in page, "base64" in page
    (True, False)
    """
    _check(report, fmt, source)
    if not isinstance(figures_dir, str) or not figures_dir:
        raise TypeError(f"figures_dir must be a non-empty str, got {figures_dir!r}")
    figs = figures(report)
    if fmt == "html":
        return _html(report, source, [(c, "data:image/png;base64," + base64.b64encode(png).decode("ascii"))
                                      for c, png in figs])
    return _markdown(report, source, [(c, f"{figures_dir}/figure-{k}.png") for k, (c, _) in enumerate(figs, 1)])


def figures_folder(path) -> str:
    """The folder beside a Markdown report at ``path`` that holds its figures: ``R.md`` -> ``R_files``.

    >>> figures_folder("out/R.md")
    'out/R_files'
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a path, got {type(path).__name__}")
    return os.path.splitext(os.fspath(path))[0] + "_files"


def render_files(report: Report, path, *, source=None) -> dict[str, str | bytes]:
    """Every file of the report to be written at ``path``: ``{file path: text or PNG bytes}``.

    An ``.html`` path gives the one self-contained page; an ``.md`` path gives the page and its
    figures, ``figures_folder(path)/figure-1.png`` ..., linked from the page relatively. The page
    comes last, so a writer that stops at the first error leaves no page without its figures.

    Parameters
    ----------
    report : Report
        What :func:`bnpg.paper.check` returned.
    path : str or os.PathLike
        Where the report goes; its extension (one of :data:`REPORT_EXTENSIONS`) chooses the format.
    source : str or os.PathLike, optional
        The file the game came from.

    Examples
    --------
    >>> from bnpg.paper.verdict import Report, Verdict
    >>> v = Verdict(statement="lemma-2", title="near-Nash", hypothesis_met=True, measured=0.5,
    ...             bound_printed=1.0, bound_corrected=1.0, holds_as_printed=True, holds_corrected=True)
    >>> files = render_files(Report(verdicts=(v,)), "out/R.md")
    >>> list(files), files["out/R.md"].count("](R_files/figure-1.png)")
    (['out/R_files/figure-1.png', 'out/R.md'], 1)
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a path, got {type(path).__name__}")
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in REPORT_EXTENSIONS:
        raise ValueError(f"path must end in one of {REPORT_EXTENSIONS}, got {path!r}")
    _check(report, ext[1:], source)
    if ext == ".html":
        return {path: render(report, "html", source=source)}
    folder = figures_folder(path)
    relative = os.path.basename(folder)
    figs = figures(report)
    files: dict[str, str | bytes] = {os.path.join(folder, f"figure-{k}.png"): png for k, (_, png) in enumerate(figs, 1)}
    files[path] = _markdown(report, source, [(c, f"{relative}/figure-{k}.png") for k, (c, _) in enumerate(figs, 1)])
    return files
