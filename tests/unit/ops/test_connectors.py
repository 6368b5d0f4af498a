"""`mailbot doctor` on the tracker and chat connectors: read-only checks with clear answers."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailbot.config import Config
from mailbot.config_types import Folders, MailboxConfig, Secret
from mailbot.connectors import pushes
from mailbot.ops.checks import FAIL, PASS, WARN
from mailbot.ops.connectors import check_connectors, check_pushes
from mailbot.storage.db import open_database
from mailbot.storage.models import PushState
from tests.servers.chat import FakeChat
from tests.servers.trackers import FakeRedmine
from tests.support.pipeline import ACME


@pytest.fixture
def servers() -> Iterator[tuple[FakeRedmine, FakeChat]]:
    with FakeRedmine() as redmine, FakeChat(secret="SEC1") as chat:
        yield redmine, chat


def config_with(tmp_path: Path, **values: object) -> Config:
    box = MailboxConfig(name="local", kind="maildir", path=tmp_path / "Maildir", folders=Folders())
    return Config(mailboxes=(box,), database_url=f"sqlite:///{tmp_path}/mb.sqlite3", **values)  # type: ignore[arg-type]


def test_a_working_tracker_and_webhooks_pass_and_nothing_is_posted(
    tmp_path: Path, servers: tuple[FakeRedmine, FakeChat]
) -> None:
    redmine, chat = servers
    project = dataclasses.replace(
        ACME, tracker=redmine.tracker_config(), chat=(chat.chat_config("dingtalk"),)
    )
    config = config_with(tmp_path, projects=(project,), chat=(chat.chat_config("slack"),))
    checks = check_connectors(config)
    assert [(c.name, c.subject, c.status) for c in checks] == [
        ("tracker", "tracker ACME", PASS),
        ("chat webhook", "chat ACME:dingtalk:0", PASS),
        ("chat webhook", "chat ACME:slack:0", PASS),
    ]
    assert "signed in as admin; project 'ACME' found" in checks[0].detail
    assert chat.requests == [] and all(r.method == "GET" for r in redmine.requests)


def test_what_is_wrong_is_said_with_what_to_do(
    tmp_path: Path, servers: tuple[FakeRedmine, FakeChat]
) -> None:
    redmine, chat = servers
    project = dataclasses.replace(
        ACME,
        tracker=redmine.tracker_config(project="nope"),
        chat=(
            chat.chat_config("feishu", signing=None),
            chat.chat_config("slack", url=Secret(key="chat[1].url", value="http://127.0.0.1:9/x")),
            chat.chat_config("teams", url=Secret(key="chat[2].url", env="MAILBOT_NO_SUCH_VAR")),
        ),
    )
    checks = check_connectors(config_with(tmp_path, projects=(project,)))
    assert [c.status for c in checks] == [FAIL, WARN, FAIL, FAIL]
    assert "project 'nope' is not there" in checks[0].detail and checks[0].action
    assert "not signed" in checks[1].detail
    assert "cannot be reached" in checks[2].detail
    assert "MAILBOT_NO_SUCH_VAR is not set" in checks[3].detail


def test_pushes_set_aside_or_waiting_long_are_reported(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path}/mb.sqlite3")
    assert check_pushes(db)[0].status == PASS
    old = datetime.now(UTC) - timedelta(hours=3)
    with db.session() as session:
        pushes.enqueue(
            session, connector="site:slack:0", kind="chat", dedupe_key="a", payload={}, now=old
        )
    assert check_pushes(db)[0].status == WARN
    with db.session() as session:
        push = pushes.enqueue(
            session, connector="tracker:ACME", kind="create", dedupe_key="b", payload={}
        )
        assert push is not None
        push.state = PushState.FAILED
        push.last_error = "POST /issues.json answered 422: Project is invalid"
    (check,) = check_pushes(db)
    assert check.status == FAIL
    assert "1 push to tracker:ACME" in check.detail and "Project is invalid" in check.detail
    db.dispose()
