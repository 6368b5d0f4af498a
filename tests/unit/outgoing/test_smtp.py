"""Sender pieces without a server: retry delays, the due query, enqueue, SmtpConfig defaults."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from mailbot.config_types import SmtpConfig
from mailbot.outgoing import outbox
from mailbot.outgoing.compose import Composed
from mailbot.outgoing.outbox import RETRY_CAP, due_query, enqueue, retry_delay
from mailbot.storage.db import Database, open_database
from mailbot.storage.models import Event, OutboxMail, OutboxState

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path}/m.sqlite3")
    yield database
    database.dispose()


def composed(key: str = "ack:1") -> Composed:
    return Composed(
        message_id=f"mailbot.{key.replace(':', '-')}@agency.example",
        subject="Re: Export times out [ACME-42]",
        mail_from="team@agency.example",
        rcpt_to=("maria@client.example",),
        raw=b"Subject: x\r\n\r\nbody\r\n",
        dedupe_key=key,
    )


def test_retry_delays_grow_from_a_minute_to_an_hour() -> None:
    rng = random.Random(1)
    delays = [retry_delay(n, rng) for n in range(1, 10)]
    assert 48 <= delays[0] <= 60
    assert 96 <= delays[1] <= 120
    assert all(0.8 * RETRY_CAP <= d <= RETRY_CAP for d in delays[6:])
    ceilings = [min(RETRY_CAP, 60 * 2 ** (n - 1)) for n in range(1, 10)]
    assert all(0.8 * c <= d <= c for c, d in zip(ceilings, delays, strict=True))


def test_postgres_skips_rows_another_daemon_holds() -> None:
    pg = str(due_query(NOW, "postgresql").compile(dialect=postgresql.dialect()))
    assert "FOR UPDATE SKIP LOCKED" in pg
    lite = str(due_query(NOW, "sqlite").compile(dialect=sqlite.dialect()))
    assert "FOR UPDATE" not in lite and "ORDER BY outbox.id" in lite


def test_enqueue_refuses_a_second_mail_with_the_same_key(db: Database) -> None:
    with db.session() as session:
        row = enqueue(session, composed(), kind="ack", message_pk=None)
        assert row is not None and row.id is not None
        assert (row.state, row.attempts, row.rcpt_to) == (
            OutboxState.PENDING,
            0,
            ["maria@client.example"],
        )
        assert enqueue(session, composed(), kind="ack", message_pk=None) is None
        # The caller's transaction is intact: it can go on writing and commit.
        session.add(Event(kind="ack_queued", detail={"key": "ack:1"}))
    with db.session() as session:
        assert enqueue(session, composed(), kind="ack", message_pk=None) is None
        assert enqueue(session, composed("ack:2"), kind="ack", message_pk=None) is not None
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMail)) == 2
        assert session.scalar(select(func.count()).select_from(Event)) == 1


def test_enqueue_on_other_databases_uses_a_check_and_a_savepoint(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "UPSERT_DIALECTS", ())
    with db.session() as session:
        session.add(Event(kind="before"))  # the caller's transaction has begun
        session.flush()
        assert enqueue(session, composed(), kind="ack", message_pk=None) is not None
        assert enqueue(session, composed(), kind="ack", message_pk=None) is None
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMail)) == 1


def test_mails_are_marked_sent_each_in_its_own_commit_on_one_connection(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """What `SentMarks` writes is what an UPDATE of the ORM writes (the state's and the
    time's stored forms); each mark is committed at once; one connection serves them all;
    a mail no longer pending is left as it is, and that is said."""
    with db.session() as session:
        rows = [
            enqueue(session, composed(f"ack:{n}"), kind="ack", message_pk=None) for n in (1, 2, 3)
        ]
    sent = {"state": OutboxState.SENT, "sent_at": NOW, "attempts": 1, "claimed_by": None}
    with db.session() as session:
        session.execute(
            update(OutboxMail).where(OutboxMail.id == rows[0].id).values(**sent)  # type: ignore[union-attr]
        )
    checkouts: list[object] = []
    event.listen(db.engine, "checkout", lambda *_args: checkouts.append(1))
    marks = outbox.SentMarks(db)
    try:
        marks.mark(rows[1], NOW)  # type: ignore[arg-type]
        with db.session() as session:  # committed, seen by another connection at once
            assert session.get(OutboxMail, rows[1].id).state == OutboxState.SENT  # type: ignore[union-attr]
        marks.mark(rows[2], NOW)  # type: ignore[arg-type]
        marks.mark(rows[1], datetime(2026, 11, 28, tzinfo=UTC))  # type: ignore[arg-type]
    finally:
        marks.close()
    assert len(checkouts) == 2  # the marks' connection and the look in between
    with db.session() as session:
        stored = session.execute(
            text("SELECT state, sent_at, attempts, claimed_by FROM outbox ORDER BY id")
        ).all()
    assert stored[0] == stored[1] == stored[2] and stored[0][0] == "sent"
    changed = f"outbox mail {rows[1].id} was changed by another sender meanwhile"  # type: ignore[union-attr]
    assert changed in caplog.text


def test_smtp_config_defaults_come_from_the_from_address() -> None:
    config = SmtpConfig(host="smtp.agency.example", from_address="team@agency.example")
    assert config.envelope_from == "team@agency.example"
    assert config.domain == "agency.example"
    assert (config.port, config.security, config.max_attempts) == (587, "starttls", 8)
    explicit = SmtpConfig(
        host="h",
        from_address="team@agency.example",
        envelope_from="bounces@agency.example",
        domain="mail.agency.example",
    )
    assert (explicit.envelope_from, explicit.domain) == (
        "bounces@agency.example",
        "mail.agency.example",
    )
