"""Writing the outbox to a folder: a mail the database could not mark sent is due again at once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.outgoing.compose import Composed
from mailbot.outgoing.delivery import write_outbox
from mailbot.outgoing.outbox import SentMarks, enqueue
from mailbot.storage.db import Database, open_database
from mailbot.storage.models import OutboxMail, OutboxState


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path}/m.sqlite3")
    yield database
    database.dispose()


def composed(key: str) -> Composed:
    return Composed(
        message_id=f"mailbot.{key}@agency.example",
        subject="Re: Export times out",
        mail_from="team@agency.example",
        rcpt_to=("maria@client.example",),
        raw=f"Subject: {key}\r\n\r\nbody\r\n".encode(),
        dedupe_key=key,
    )


def test_a_mail_written_but_not_marked_is_due_again_at_once_and_written_once(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.session() as session:
        for key in ("ack-1", "ack-2", "ack-3"):
            enqueue(session, composed(key), kind="ack", message_pk=None)
    real_mark = SentMarks.mark
    calls = []

    def connection_lost(marks: SentMarks, row: OutboxMail, when: datetime) -> None:
        calls.append(1)
        if len(calls) == 2:  # the second mail is written, then the database goes away
            raise ConnectionError("server closed the connection unexpectedly")
        real_mark(marks, row, when)

    monkeypatch.setattr(SentMarks, "mark", connection_lost)
    folder = tmp_path / "outbox"
    with pytest.raises(ConnectionError):
        write_outbox(db, folder, now=datetime.now(UTC))
    with db.session() as session:
        rows = session.scalars(select(OutboxMail).order_by(OutboxMail.id)).all()
        assert [(r.state, r.claimed_by) for r in rows] == [
            (OutboxState.SENT, None),
            (OutboxState.PENDING, None),  # not held until its lease ends
            (OutboxState.PENDING, None),
        ]
    assert write_outbox(db, folder, now=datetime.now(UTC)).sent == 2
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["000001-ack.eml", "000002-ack.eml", "000003-ack.eml"]  # none twice
