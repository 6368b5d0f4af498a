"""Jira, GitHub and GitLab against local servers that check each one's documented API;
the same life of an item as with Redmine: an issue, a note, a status each way."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailbot.config_types import Secret
from mailbot.connectors.base import ConnectorError, NewIssue, PushFailed
from mailbot.connectors.worker import Connectors, make_tracker
from mailbot.items.actions import set_status
from tests.servers.trackers import FakeGitHub, FakeGitLab, FakeJira
from tests.support.pipeline import ACME, MaildirBot

KINDS = {"github": FakeGitHub, "gitlab": FakeGitLab, "jira": FakeJira}
CLOSED = {"github": "closed", "gitlab": "closed", "jira": "Done"}


@pytest.fixture(params=sorted(KINDS))
def server(request: pytest.FixtureRequest) -> Iterator[FakeGitHub | FakeGitLab | FakeJira]:
    with KINDS[request.param]() as fake:
        yield fake


def comments(server: FakeGitHub | FakeGitLab | FakeJira, number: int = 1) -> list[str]:
    return server.comments[number]


def test_the_tracker_interface(server: FakeGitHub | FakeGitLab | FakeJira) -> None:
    tracker = make_tracker(server.tracker_config())
    made = tracker.create(NewIssue("ACME-1", "Login fails", "The login page says 500."))
    assert tracker.find("ACME-1") == made
    assert tracker.find("ACME-2") is None
    assert tracker.get(made.remote_id).title == "[ACME-1] Login fails"
    tracker.add_note(made.remote_id, "Still broken.\n\n(mailbot push 4)")
    assert tracker.has_note(made.remote_id, "(mailbot push 4)")
    assert not tracker.has_note(made.remote_id, "(mailbot push 5)")
    tracker.set_status(made.remote_id, CLOSED[server.kind])
    assert tracker.get(made.remote_id).status == CLOSED[server.kind]
    changed = tracker.updated_since(datetime.now(UTC) - timedelta(minutes=5))
    assert [i.remote_id for i in changed] == [made.remote_id]
    with pytest.raises(PushFailed) as err:
        tracker.set_status(made.remote_id, "Waiting for Godot")
    assert err.value.permanent
    assert tracker.check()[0].startswith("signed in as")
    assert not server.violations


def test_bad_credentials_and_a_missing_project_are_explained(
    server: FakeGitHub | FakeGitLab | FakeJira,
) -> None:
    wrong = server.tracker_config(secret=Secret(key="k", value="nope"))
    with pytest.raises(ConnectorError, match="did not accept"):
        make_tracker(wrong).check()
    with pytest.raises(PushFailed) as refused:
        make_tracker(wrong).find("ACME-1")
    assert refused.value.permanent
    elsewhere = server.tracker_config(project="agency/other" if server.kind != "jira" else "OTHER")
    with pytest.raises(ConnectorError, match="is not there"):
        make_tracker(elsewhere).check()


def test_an_item_lives_in_the_tracker(
    tmp_path: Path, server: FakeGitHub | FakeGitLab | FakeJira
) -> None:
    project = dataclasses.replace(ACME, tracker=server.tracker_config())
    with MaildirBot(tmp_path, projects=(project,)) as bot:
        bot.deliver("wang@acme.example", "Login fails", "The login page says 500.")
        bot.run()
        issue = server.issues[1]
        title = issue["fields"]["summary"] if server.kind == "jira" else issue["title"]
        assert title == "[ACME-1] Login fails"
        bot.deliver("wang@acme.example", "Re: Login fails", "Still broken.", reply_to=1)
        bot.run()
        assert "Still broken." in comments(server)[0]
        with bot.session() as session:
            set_status(session, bot.config, "ACME-1", "in_progress", actor="pm@agency.example")
        bot.run()
        if server.kind == "jira":
            assert server.issues[1]["fields"]["status"]["name"] == "In Progress"
        # The team closes it there: the client hears it is resolved.
        if server.kind == "jira":
            server.move(1, "Done")
        else:
            server.close(1)
        later = datetime.now(UTC) + timedelta(minutes=5)
        assert Connectors(bot.config, bot.db, clock=lambda: later).run().synced == 1
        assert bot.item("ACME-1").status == "resolved"
        assert len(bot.outbox("status")) == 1
        assert not server.violations
