"""The report of ``bnpg check`` (:mod:`bnpg.paper.report`): what a reader sees, and how it is written."""

from __future__ import annotations

import re

import pytest

import bnpg
from bnpg.paper import STATEMENTS, check
from bnpg.paper.report import (
    COLUMN_LEGEND,
    CONSTANT_NAMES,
    STATUS_LEGEND,
    figures,
    figures_folder,
    render,
    render_files,
    statement_name,
)
from bnpg.paper.verdict import STATUS_MARKS, STATUSES, Report

PAPER_NAMES = ("Assumption 1", "Assumption 2", "Lemma 1", "Lemma 2", "Lemma 3", "Lemma 4", "Theorem 1",
               "Theorem 2")


@pytest.fixture(scope="module")
def report() -> Report:
    return check(bnpg.games.penalty_game(gamma=0.5), max_steps=500)


@pytest.fixture(scope="module")
def page(report) -> str:
    return render(report, "html", source="games/penalty.npz")


@pytest.fixture(scope="module")
def markdown(report, tmp_path_factory) -> tuple:
    folder = tmp_path_factory.mktemp("md")
    files = render_files(report, folder / "R.md", source="games/penalty.npz")
    for path, content in files.items():
        if isinstance(content, bytes):
            (folder / "R_files").mkdir(exist_ok=True)
            open(path, "wb").write(content)
        else:
            open(path, "w", encoding="utf-8").write(content)
    return folder, files


def test_every_statement_is_named_as_the_paper_names_it_with_its_claim(report, page, markdown):
    text = (markdown[0] / "R.md").read_text()
    assert [statement_name(s) for s in STATEMENTS] == list(PAPER_NAMES)
    for v, name in zip(report, PAPER_NAMES, strict=True):
        claim = v.title.replace("L_lambda", "L_\u03bb").replace("beta_lambda", "\u03b2_\u03bb")
        assert f"| **{name}**: " in text, name
        assert f">{name}</a><span class='claim'>" in page, name
        assert claim.split()[0] in page
    assert "| lemma-2 |" not in text


def test_the_legend_explains_every_status_and_every_column(page, markdown):
    text = (markdown[0] / "R.md").read_text()
    assert set(STATUS_LEGEND) == set(STATUSES)
    assert len(set(STATUS_MARKS.values()) - {"\u2718"}) == 3  # the failures share one mark, the rest differ
    for status in STATUSES:
        assert f"- {STATUS_MARKS[status]} **{status}**: {STATUS_LEGEND[status]}" in text
        assert f">{STATUS_MARKS[status]}\u00a0{status}</dt>" in page
    for column, meaning in COLUMN_LEGEND:
        assert f"- **{column}**: {meaning}" in text
    assert "as the paper states it" in text and "once the errata are fixed" in text and "this book's bound" in text


def test_a_tolerance_a_lower_bound_and_numbers_of_steps_are_said_for_what_they_are(markdown):
    rows = {line.split("**")[1]: line for line in (markdown[0] / "R.md").read_text().splitlines()
            if line.startswith("| **")}
    assert "| tolerance 1e-06 |" in rows["Lemma 1"]
    assert "| lower bound 0 (must exceed) |" in rows["Assumption 1"]
    assert "not reached in 500 steps" in rows["Theorem 1"] and "| T \u2265 " in rows["Theorem 2"]


def test_the_game_and_the_constants_with_their_symbols(report, page, markdown):
    text = (markdown[0] / "R.md").read_text()
    assert text.startswith("# The paper's statements checked on penalty.npz")
    assert "| game file | games/penalty.npz |" in text and "| discount \u03b3 | 0.5 |" in text
    assert "| actions of each agent \\|A_i\\| | [3, 3] |" in text and "| agents N | 2 |" in text
    for key in report.constants:
        symbol = CONSTANT_NAMES.get(key, (key, ""))[0]
        assert re.search(rf"^\| {re.escape(symbol.replace('|', chr(92) + '|'))} \| ", text, re.M), key
    for symbol in ("\u03b2_\u03bb", "\u03c4", "M", "\u03bb\u2081"):
        assert f"<th scope='row'>{symbol}</th>" in page
    assert "beta_lambda" not in page


def test_each_figure_has_a_caption_naming_what_it_shows(report):
    (ratio, _), (theorems, _) = figures(report)
    assert ratio.startswith("Assumption 2, Lemma 2, Lemma 3 and Lemma 4: ")
    assert "Not shown: Assumption 1, Lemma 1, Theorem 1 and Theorem 2" in ratio
    assert theorems.startswith("Theorem 1 and Theorem 2: ")


def test_the_markdown_report_links_its_figures_as_files_not_base64(markdown):
    folder, files = markdown
    text = (folder / "R.md").read_text()
    assert "base64" not in text and "data:" not in text and len(text) < 20_000
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert links == ["R_files/figure-1.png", "R_files/figure-2.png"]
    for link in links:
        assert (folder / link).read_bytes().startswith(b"\x89PNG")
    assert list(files)[-1] == str(folder / "R.md")
    assert figures_folder(folder / "R.md") == str(folder / "R_files")


def test_the_html_report_is_one_self_contained_page(page):
    assert page.startswith("<!DOCTYPE html>") and page.count("<img src='data:image/png;base64,") == 2
    assert page.count("<figcaption>") == 2 and "src='http" not in page and "<script" not in page


@pytest.mark.parametrize("call, named", [
    (lambda r: render(object(), "html"), "report"),
    (lambda r: render(r, "pdf"), "fmt"),
    (lambda r: render(r, "html", source=3), "source"),
    (lambda r: render(r, "md", figures_dir=""), "figures_dir"),
    (lambda r: render_files(r, "out/R.pdf"), "path"),
    (lambda r: render_files(r, 3), "path"),
])
def test_bad_arguments_are_named(report, call, named):
    with pytest.raises((TypeError, ValueError), match=rf"^{named} "):
        call(report)


def test_a_failing_write_leaves_nothing(tmp_path, capsys, monkeypatch):
    """A write that fails after the figures are written removes them, their folder and the JSON."""
    import bnpg.experiments.results as results
    from bnpg import cli

    game = tmp_path / "game.npz"
    bnpg.games.penalty_game(gamma=0.5).save(game)
    out = tmp_path / "out"
    out.mkdir()
    real = results.atomic_write_text

    def failing(path, text):
        if str(path).endswith(".md"):
            raise OSError(28, "No space left on device")
        real(path, text)

    monkeypatch.setattr(results, "atomic_write_text", failing)
    with pytest.raises(OSError):
        cli.main(["check", str(game), "--max-steps", "300", "--no-progress", "--json", str(out / "v.json"),
                  "--report", str(out / "R.md")])
    assert list(out.iterdir()) == []


def test_a_file_where_the_figures_go_is_refused_before_any_work(tmp_path, capsys):
    from bnpg import cli

    game = tmp_path / "game.npz"
    bnpg.games.penalty_game(gamma=0.5).save(game)
    (tmp_path / "R_files").write_text("in the way")
    try:
        code = cli.main(["check", str(game), "--no-progress", "--report", str(tmp_path / "R.md")])
    except SystemExit as exc:
        code = exc.code
    assert code != 0
    err = capsys.readouterr().err
    assert "--report" in err and "R_files" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["R_files", "game.npz"]
