"""Storing a fetched batch: rows go in with a few statements whatever the batch's size, and
each location points at the message of its own bytes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from mailbot.message import RawMail
from mailbot.storage.db import Database, open_database
from mailbot.storage.models import Blob, Location, StoredMessage
from mailbot.storage.store import sha256_of, store_batch


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path}/store.sqlite3")
    yield database
    database.dispose()


def _mail(uid: int, body: str) -> RawMail:
    return RawMail(uid, str(uid), f"Subject: {body}\r\n\r\n{body}\r\n".encode())


def _store(db: Database, mails: list[RawMail]) -> tuple[list[Any], int]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        with db.session() as session:
            stored = store_batch(session, "acct", "INBOX", 7, mails)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return stored, len(statements)


@pytest.mark.parametrize("size", [10, 100])
def test_a_batch_is_stored_in_a_few_statements_and_each_place_has_its_own_mail(
    db: Database, size: int
) -> None:
    first, _ = _store(db, [_mail(1, "seen before")])
    # New mails, two of them the same bytes, and one seen before at another place.
    mails = [_mail(uid, f"mail {uid}") for uid in range(2, size)]
    mails += [_mail(size, "mail 2"), _mail(size + 1, "seen before")]
    stored, statements = _store(db, mails)
    assert statements <= 12, statements  # not one per mail
    assert [s.outcome for s in stored] == ["stored"] * (size - 2) + ["duplicate", "duplicate"]
    assert stored[-1].message_pk == first[0].message_pk
    with db.session() as session:
        places = session.execute(
            select(Location.uid, Location.id, Blob.data)
            .join(StoredMessage, StoredMessage.id == Location.message_pk)
            .join(Blob, Blob.sha256 == StoredMessage.sha256)
        ).all()
    data = {uid: blob for uid, _id, blob in places}
    assert data == {m.uid: m.data for m in [_mail(1, "seen before"), *mails]}
    ids = {uid: loc_id for uid, loc_id, _blob in places}
    assert all(s.location_id == ids[s.mail.uid] for s in stored)
    assert all(s.sha256 == sha256_of(s.mail.data) for s in stored)
