"""The Redmine client against a local server that checks Redmine's documented REST API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from mailbot.config_types import Secret
from mailbot.connectors.base import ConnectorError, NewIssue, PushFailed
from mailbot.connectors.redmine import RedmineTracker
from tests.servers.trackers import FakeRedmine

pytestmark = pytest.mark.no_database


@pytest.fixture
def redmine() -> Iterator[FakeRedmine]:
    with FakeRedmine() as server:
        yield server


def test_an_issue_is_created_with_the_ref_in_its_title_and_found_by_it(
    redmine: FakeRedmine,
) -> None:
    tracker = RedmineTracker(redmine.tracker_config())
    made = tracker.create(NewIssue("ACME-1", "Login fails", "The login page says 500.\n中文"))
    assert made.key == "#1" and made.url == f"{redmine.base}/issues/1" and made.status == "New"
    assert redmine.issues[1]["subject"] == "[ACME-1] Login fails"
    assert redmine.issues[1]["description"].endswith("中文")
    assert tracker.find("ACME-1") == tracker.get("1")
    assert tracker.find("ACME-2") is None
    redmine.add_issue("[ACME-10] another")
    assert tracker.find("ACME-1").remote_id == "1"  # "[ACME-1]" is not "[ACME-10]"
    assert not redmine.violations


def test_notes_statuses_and_updated_since(redmine: FakeRedmine) -> None:
    tracker = RedmineTracker(redmine.tracker_config())
    tracker.create(NewIssue("ACME-1", "Login fails", "text"))
    tracker.add_note("1", "Still broken.\n\n(mailbot push 7)")
    assert tracker.has_note("1", "(mailbot push 7)")
    assert not tracker.has_note("1", "(mailbot push 8)")
    tracker.set_status("1", "in progress")  # names compared without case
    assert redmine.issues[1]["status"]["name"] == "In Progress"
    since = datetime.now(UTC) - timedelta(minutes=1)
    assert [i.status for i in tracker.updated_since(since)] == ["In Progress"]
    assert tracker.updated_since(datetime.now(UTC) + timedelta(hours=1)) == []
    put = [r for r in redmine.requests if r.method == "PUT"]
    assert put[0].body == {"issue": {"notes": "Still broken.\n\n(mailbot push 7)"}}
    assert put[1].body == {"issue": {"status_id": 2}}
    assert all(r.headers["x-redmine-api-key"] == redmine.api_key for r in redmine.requests)
    assert not redmine.violations


def test_updated_since_reads_every_page(redmine: FakeRedmine) -> None:
    for n in range(1, 131):
        redmine.add_issue(f"[ACME-{n}] issue {n}")
    tracker = RedmineTracker(redmine.tracker_config())
    found = tracker.updated_since(datetime.now(UTC) - timedelta(minutes=1))
    assert len(found) == 130 and len({i.remote_id for i in found}) == 130
    assert not redmine.violations


def test_refusals_say_whether_a_retry_can_help(redmine: FakeRedmine) -> None:
    tracker = RedmineTracker(redmine.tracker_config())
    redmine.fail_next(429, headers={"Retry-After": "120"})
    with pytest.raises(PushFailed) as busy:
        tracker.create(NewIssue("ACME-1", "t", "d"))
    assert not busy.value.permanent and busy.value.retry_after == 120
    redmine.fail_next(503)
    with pytest.raises(PushFailed) as down:
        tracker.find("ACME-1")
    assert not down.value.permanent and "503" in str(down.value)
    wrong_key = RedmineTracker(
        redmine.tracker_config(secret=Secret(key="projects[0].tracker.token", value="nope"))
    )
    with pytest.raises(PushFailed) as refused:
        wrong_key.find("ACME-1")
    assert refused.value.permanent and "401" in str(refused.value)
    with pytest.raises(PushFailed) as unknown:
        tracker.set_status("1", "Waiting for Godot")
    assert unknown.value.permanent and "Waiting for Godot" in str(unknown.value)


def test_a_closed_port_is_a_retry_not_a_refusal() -> None:
    with FakeRedmine() as server:
        config = server.tracker_config()
    with pytest.raises(PushFailed) as err:
        RedmineTracker(config).find("ACME-1")
    assert not err.value.permanent and "cannot connect" in str(err.value)


def test_doctor_checks_the_key_the_project_and_the_statuses(redmine: FakeRedmine) -> None:
    assert RedmineTracker(redmine.tracker_config()).check() == [
        "signed in as admin",
        "project 'ACME' found",
    ]
    with pytest.raises(ConnectorError, match="project 'nope' is not there"):
        RedmineTracker(redmine.tracker_config(project="nope")).check()
    odd = redmine.tracker_config(statuses=(("resolved", "Fixed"),))
    with pytest.raises(ConnectorError, match="no issue status Fixed"):
        RedmineTracker(odd).check()
    bad = redmine.tracker_config(secret=Secret(key="k", value="wrong"))
    with pytest.raises(ConnectorError, match="did not accept the API key"):
        RedmineTracker(bad).check()
