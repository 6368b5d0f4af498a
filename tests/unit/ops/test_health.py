"""Heartbeats and last fetches: what a running daemon leaves for doctor to read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailbot import __version__
from mailbot.config import Config
from mailbot.config_types import Folders, MailboxConfig
from mailbot.ops.health import (
    Pulse,
    beat,
    forget_heartbeats,
    heartbeat_name,
    last_fetches,
    read_heartbeats,
)
from mailbot.storage.db import Database, open_database
from mailbot.storage.models import Heartbeat
from mailbot.storage.store import touch_cursor


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path}/mb.sqlite3")
    yield database
    database.dispose()


def test_beat_inserts_then_overwrites_one_row(db: Database) -> None:
    name = heartbeat_name("work", host="h1", pid=42)
    assert name == "h1:42:work"
    beat(db, name, stored=1, errors=0)
    first = read_heartbeats(db)
    beat(db, name, stored=5, errors=2, last_fetch_at=datetime(2026, 1, 2, tzinfo=UTC))
    beats = read_heartbeats(db)
    assert len(beats) == 1
    only = beats[0]
    assert only.mailbox == "work"
    assert only.detail["stored"] == 5 and only.detail["errors"] == 2
    assert only.detail["last_fetch_at"] == "2026-01-02T00:00:00+00:00"
    assert only.detail["version"] == __version__
    assert only.at >= first[0].at
    assert only.at.tzinfo is not None
    assert 0 <= only.age() < 60


def test_heartbeats_are_listed_newest_first_and_old_ones_forgotten(db: Database) -> None:
    beat(db, "h:1:a")
    beat(db, "h:2:b")
    with db.session() as session:
        row = session.get(Heartbeat, "h:1:a")
        assert row is not None
        row.at = datetime.now(UTC) - timedelta(days=2)
    assert [b.name for b in read_heartbeats(db)] == ["h:2:b", "h:1:a"]
    assert forget_heartbeats(db, older_than_seconds=86400) == 1
    assert [b.name for b in read_heartbeats(db)] == ["h:2:b"]


def test_last_fetches_come_from_the_cursor(tmp_path: Path, db: Database) -> None:
    boxes = (
        MailboxConfig(name="one", kind="maildir", path=tmp_path, folders=Folders()),
        MailboxConfig(name="two", kind="maildir", path=tmp_path, folders=Folders(inbox="Work")),
    )
    config = Config(mailboxes=boxes)
    assert [(f.mailbox, f.last_fetch_at) for f in last_fetches(db, config)] == [
        ("one", None),
        ("two", None),
    ]
    with db.session() as session:
        touch_cursor(session, "two", "Work", 7)
    fetches = {f.mailbox: f for f in last_fetches(db, config)}
    assert fetches["one"].last_fetch_at is None
    seen = fetches["two"].last_fetch_at
    assert seen is not None and seen.tzinfo is not None
    assert abs((datetime.now(UTC) - seen).total_seconds()) < 60


def test_pulse_counts_and_beats_at_most_once_per_interval(db: Database) -> None:
    pulse = Pulse("work", name="h:9:work")
    pulse.fetched(3)
    pulse.failed("connection refused")
    pulse.fetched(2)
    assert pulse.beat(db) is True
    assert pulse.beat(db) is False  # within the interval: no second write
    (only,) = read_heartbeats(db)
    assert only.name == "h:9:work"
    assert only.detail["stored"] == 5 and only.detail["errors"] == 1
    assert only.detail["last_error"] is None  # cleared by the later successful fetch
    assert only.detail["alive"] is True and only.detail["last_fetch_at"]
    pulse.failed("timeout")
    assert pulse.beat(db, alive=False, every=0) is True
    (only,) = read_heartbeats(db)
    assert only.detail["last_error"] == "timeout" and only.detail["alive"] is False


def test_a_pulse_never_raises_when_the_database_is_gone(tmp_path: Path) -> None:
    broken = open_database(f"sqlite:///{tmp_path}/gone.sqlite3", migrate=False)  # no tables
    try:
        assert Pulse("work").beat(broken) is False
    finally:
        broken.dispose()
    assert Pulse("work").name.endswith(":work")


def test_doctor_shows_breakers_until_they_end(db: Database) -> None:
    from mailbot.ops.checks import PASS, WARN
    from mailbot.ops.health import check_breakers
    from mailbot.storage.models import Breaker

    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    [calm] = check_breakers(db, now)
    assert calm.status == PASS
    with db.session() as s:
        s.add(
            Breaker(
                address="anna@acme.example",
                reason="20 new threads in an hour",
                tripped_at=now,
                expires_at=now + timedelta(hours=6),
            )
        )
    [tripped] = check_breakers(db, now)
    assert tripped.status == WARN
    assert tripped.detail.startswith("1 address gets no automatic answers: ")
    assert "anna@acme.example (until 2026-12-03 18:00 UTC" in tripped.detail
    assert "mailbot breakers clear" in tripped.action
    [over] = check_breakers(db, now + timedelta(hours=7))
    assert over.status == PASS


def test_doctor_says_whether_the_spam_filter_answers(db: Database) -> None:
    import dataclasses
    import socket

    from mailbot.config_types import SpamConfig
    from mailbot.ops.checks import FAIL, PASS, WARN
    from mailbot.ops.health import check_spam_filter
    from mailbot.storage.models import Event

    base = Config(mailboxes=())
    [none] = check_spam_filter(base)
    assert none.status == PASS and "heuristics" in none.detail
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = dataclasses.replace(base, spam=SpamConfig(backend="spamd", port=port, timeout=2))
    [down] = check_spam_filter(config, db)
    assert down.status == FAIL and f"spamd at 127.0.0.1:{port} does not answer" in down.detail
    with db.session() as s:
        s.add(Event(kind="spam_filter_down", detail={"source": "spamd"}))
    statuses = [c.status for c in check_spam_filter(config, db)]
    assert statuses == [FAIL, WARN]
