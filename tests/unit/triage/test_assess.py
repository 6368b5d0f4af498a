"""The whole-decision report: groups by language, family, style and source file."""

from __future__ import annotations

import pytest

from mailbot.triage.assess import assess, format_assessment, source_of
from mailbot.triage.data import Record
from mailbot.triage.verdict import Verdict

pytestmark = pytest.mark.no_database


class _Says:
    """A triage that answers each subject's first word as the category."""

    model_version = "test-1"

    def classify_mails(self, mails):
        return [
            Verdict(m.subject.split()[0], 0.9, False, False, (), "en", {}, self.model_version)
            for m in mails
        ]


def _record(n: int, label: str, said: str, source: str) -> Record:
    return Record(f"r{n}", label, f"{said} mail {n}", "body", "en", source)


def test_report_by_source_file():
    records = [
        _record(1, "issue", "issue", "data/dev/hand-a.jsonl:1"),
        _record(2, "feedback", "issue", "data/dev/hand-a.jsonl:2"),
        _record(3, "feedback", "feedback", "data/dev/hand-b.jsonl:1"),
        Record("r4", "none", "none x", "", "en", "data/dev/labels.jsonl:1", raw=b"x"),
    ]
    said = _Says().classify_mails([r.mail() for r in records[:3]])  # r4: a raw mail
    noise = Verdict("none", 0.95, False, False, (), "en", {}, "test-1")
    result = assess(_Says(), records, verdicts=[*said, noise])
    by_source = result["by_source"]
    assert set(by_source) == {"hand-a", "hand-b", "eml"}
    assert by_source["hand-a"]["n"] == 2 and by_source["hand-a"]["accuracy"] == 0.5
    assert by_source["hand-b"]["accuracy"] == 1.0
    assert "by source:" in format_assessment("dev", result)


def test_source_of_names_the_file_not_the_line():
    assert source_of(_record(1, "issue", "issue", "/x/corpus/en/hand-hwa.jsonl:17")) == "hand-hwa"
    assert source_of(Record("r", "none", "", "", source="l.jsonl:1", raw=b"x")) == "eml"
