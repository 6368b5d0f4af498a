"""`mailbot project` and `mailbot queue target|waiting`: the PM sets where things stand."""

from __future__ import annotations

import pytest

from tests.support.queue_bot import Bot

Capture = pytest.CaptureFixture[str]


def test_milestones_and_the_status_from_the_command_line(filed: Bot, capsys: Capture) -> None:
    code, out, err = filed.cli(capsys, "project", "milestone", "ACME", "UAT")
    assert code == 2 and "give a new milestone its date with --due" in err
    found = filed.cli_json(
        capsys, "project", "milestone", "ACME", "UAT", "--due", "2026-12-04", "--actor", "lena"
    )
    assert found["milestones"] == [
        {
            "name": "UAT",
            "due": "2026-12-04",
            "status": "planned",
            "state": found["milestones"][0]["state"],
            "note": None,
        }
    ]
    found = filed.cli_json(capsys, "project", "status", "ACME", "at_risk", "--note", "UAT slips")
    assert (found["status"], found["set_by_pm"], found["note"]) == ("at_risk", True, "UAT slips")
    code, out, _ = filed.cli(capsys, "project", "show", "ACME")
    assert code == 0
    assert "ACME ACME web shop: at risk (set by the PM)" in out and "UAT slips" in out
    assert "UAT" in out and "04 Dec 2026" in out
    code, _, err = filed.cli(capsys, "project", "show", "NOPE")
    assert code == 2 and "no project 'NOPE'" in err


def test_target_dates_and_waiting_from_the_queue(filed: Bot, capsys: Capture) -> None:
    found = filed.cli_json(capsys, "queue", "target", "ACME-1", "2026-12-02")
    assert found == {"ref": "ACME-1", "target_date": "2026-12-02"}
    code, _, err = filed.cli(capsys, "queue", "target", "ACME-1", "next week")
    assert code == 2 and "write it as YYYY-MM-DD" in err
    code, out, _ = filed.cli(
        capsys, "queue", "waiting", "ACME-2", "your logo as SVG", "--by", "2026-12-03"
    )
    assert (
        code == 0
        and out.strip() == "ACME-2 waits on the client for: your logo as SVG by 2026-12-03"
    )
    code, out, _ = filed.cli(capsys, "queue", "waiting", "ACME-2", "--done")
    assert code == 0 and "no longer waits" in out
    found = filed.cli_json(capsys, "queue", "target", "ACME-1", "none")
    assert found["target_date"] is None
