"""Verdict and Report as objects: keyword-only verdicts, and a report that is a sequence of its
verdicts in statement order, also indexable by statement id."""

from __future__ import annotations

import pytest

from bnpg.paper import STATEMENTS
from bnpg.paper.verdict import Report, Verdict

FIELDS = dict(title="t", hypothesis_met=None, measured=1.0, bound_printed=2.0, bound_corrected=2.0,
              holds_as_printed=True, holds_corrected=True)


def _verdict(sid: str) -> Verdict:
    return Verdict(statement=sid, **FIELDS)


def _report() -> Report:
    return Report(verdicts=[_verdict(sid) for sid in STATEMENTS], constants={"M": 1.0})


def test_verdict_refuses_positional_fields():
    with pytest.raises(TypeError):
        Verdict("lemma-2", "t", None, 1.0, 2.0, 2.0, True, True)
    with pytest.raises(TypeError):
        Verdict("lemma-2", **FIELDS)
    assert _verdict("lemma-2").status == "holds"


def test_report_iterates_over_its_verdicts_in_statement_order():
    report = _report()
    assert [v.statement for v in report] == list(STATEMENTS)
    assert len(report) == len(STATEMENTS) == 8
    assert list(report) == list(report.verdicts)


def test_report_is_indexed_by_position_and_by_statement_id():
    report = _report()
    assert report[0] is report.verdicts[0] and report[-1].statement == "theorem-2"
    assert report["lemma-2"] is report[STATEMENTS.index("lemma-2")]
    assert "lemma-3" in report and "lemma-9" not in report
    with pytest.raises(KeyError, match="no verdict for 'lemma-9'"):
        report["lemma-9"]
    with pytest.raises(IndexError):
        report[len(STATEMENTS)]


def test_an_empty_report_has_no_verdicts():
    report = Report(verdicts=())
    assert len(report) == 0 and list(report) == []
