"""Faults at the SMTP boundary over time: a server gone for ten minutes, then back; the
outbox waits with a growing backoff and then drains, each mail once.

The drains run at simulated times a minute apart (`now=`), against a real aiosmtpd.
One refused and one deferred mail are in the same outbox: the refusal is final, the
deferral is retried, and neither holds the others up.
"""

from __future__ import annotations

import contextlib
import email
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, timedelta
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.outgoing.outbox import SendStats
from mailbot.outgoing.smtp import drain_outbox
from mailbot.storage.db import Database, open_database
from mailbot.storage.models import OutboxMail, OutboxState
from tests.integration.test_smtp_outbox import T0, add_pending
from tests.servers.smtp import SmtpSink

pytestmark = pytest.mark.integration


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path}/mailbot.sqlite3")
    yield database
    database.dispose()


def rows(db: Database) -> list[OutboxMail]:
    with db.session() as session:
        return list(session.scalars(select(OutboxMail).order_by(OutboxMail.id)))


def test_server_gone_ten_minutes_then_the_outbox_drains_each_mail_once(db: Database) -> None:
    ids = add_pending(db, 5)
    with SmtpSink() as gone:
        down = gone.smtp_config()  # stopped below: its port refuses connections
    tries: list[int] = []
    for minute in range(0, 11):
        stats = drain_outbox(db, down, now=T0 + timedelta(minutes=minute))
        assert stats.sent == 0 and stats.failed == 0
        if stats.retried:
            tries.append(minute)
    states = rows(db)
    assert all(r.state == OutboxState.PENDING for r in states)
    assert all("refused" in (r.last_error or "").lower() for r in states)
    # The outage is not hammered every minute: the waits between tries grow.
    gaps = [b - a for a, b in itertools.pairwise(tries)]
    assert len(tries) >= 2 and gaps == sorted(gaps) and gaps[-1] > gaps[0], tries
    attempts = {r.attempts for r in states}
    assert attempts == {len(tries)}, (attempts, tries)

    with SmtpSink() as back:
        config = back.smtp_config()
        now = T0 + timedelta(minutes=11)
        sent = 0
        for _ in range(200):  # drain as the daemon does, a minute apart, until all are out
            sent += drain_outbox(db, config, now=now).sent
            if sent == len(ids):
                break
            now += timedelta(minutes=1)
        assert sent == len(ids)
        assert drain_outbox(db, config, now=now + timedelta(days=1)) == SendStats()
        received = [
            email.message_from_bytes(m.content, policy=policy.default) for m in back.messages
        ]
    # Each once. (Their order is the order they fall due: each mail's retry is jittered
    # on its own, so after an outage it is not the order they were written.)
    got = sorted(str(m["Message-ID"]).strip("<>") for m in received)
    assert got == sorted(r.message_id.strip("<>") for r in rows(db))
    assert all(r.state == OutboxState.SENT for r in rows(db))
    assert all(r.next_attempt_at.replace(tzinfo=UTC) >= T0 for r in rows(db))


def test_refused_deferred_and_fine_mail_in_one_drain(db: Database, smtp_sink: SmtpSink) -> None:
    add_pending(db, 4)
    config = smtp_sink.smtp_config()
    smtp_sink.fail_next(1, code=550, stage="rcpt")  # the first: refused for good
    smtp_sink.fail_next(1, code=451, stage="rcpt")  # the second: not now
    assert drain_outbox(db, config, now=T0) == SendStats(sent=2, failed=1, retried=1)
    assert [r.state for r in rows(db)] == [
        OutboxState.FAILED,
        OutboxState.PENDING,
        OutboxState.SENT,
        OutboxState.SENT,
    ]
    assert drain_outbox(db, config, now=T0 + timedelta(hours=1)) == SendStats(sent=1)
    assert drain_outbox(db, config, now=T0 + timedelta(days=1)) == SendStats()
    assert len(smtp_sink.messages) == 3
    assert len({m.content for m in smtp_sink.messages}) == 3  # none twice


@pytest.mark.parametrize("greets", [False, True], ids=["silent", "greets-then-hangs"])
def test_a_server_that_stops_answering_times_out_and_the_mail_goes_later_once(
    db: Database, smtp_sink: SmtpSink, greets: bool
) -> None:
    add_pending(db, 3)
    with socket.create_server(("127.0.0.1", 0)) as hung:
        accepted: list[socket.socket] = []

        def answer_nothing() -> None:
            with contextlib.suppress(OSError):
                while True:
                    conn, _ = hung.accept()
                    accepted.append(conn)
                    if greets:
                        conn.sendall(b"220 hung.example ESMTP\r\n")

        threading.Thread(target=answer_nothing, daemon=True).start()
        config = smtp_sink.smtp_config(port=hung.getsockname()[1], timeout=1)
        started = time.monotonic()
        stats = drain_outbox(db, config, now=T0)
        took = time.monotonic() - started
        for conn in accepted:
            conn.close()
    assert stats.sent == 0 and stats.failed == 0 and stats.retried >= 1, stats
    assert took < 30, f"a hung server held the drain {took:.0f} s"
    states = rows(db)
    assert all(r.state == OutboxState.PENDING for r in states)
    assert any("timed out" in (r.last_error or "").lower() for r in states), [
        r.last_error for r in states
    ]
    # The server answers again: each mail goes once, none lost.
    later = drain_outbox(db, smtp_sink.smtp_config(), now=T0 + timedelta(hours=2))
    assert later.sent == 3, later
    assert len(smtp_sink.messages) == 3
    assert len({m.content for m in smtp_sink.messages}) == 3
