"""Putting a mail in the outbox: once per dedupe key, inside the caller's transaction."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mailbot.outgoing.compose import Composed
from mailbot.storage.models import OutboxMail, OutboxState, utcnow

UPSERT_DIALECTS = ("sqlite", "postgresql")  # INSERT … ON CONFLICT DO NOTHING


def enqueue(
    session: Session, composed: Composed, *, kind: str, message_pk: int | None
) -> OutboxMail | None:
    """Add one mail to the outbox in the caller's transaction; None if its dedupe_key exists.

    A duplicate never spoils the caller's transaction: SQLite and PostgreSQL use
    INSERT … ON CONFLICT DO NOTHING, other databases a SAVEPOINT.
    """
    now = utcnow()
    values = {
        "kind": kind,
        "message_pk": message_pk,
        "dedupe_key": composed.dedupe_key,
        "message_id": composed.message_id,
        "mail_from": composed.mail_from,
        "rcpt_to": list(composed.rcpt_to),
        "subject": composed.subject,
        "raw": composed.raw,
        "state": OutboxState.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
    dialect = session.get_bind().dialect.name
    if dialect in UPSERT_DIALECTS:
        insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        stmt = insert(OutboxMail).values(**values).on_conflict_do_nothing()
        new_id = session.execute(stmt.returning(OutboxMail.id)).scalar_one_or_none()
        return None if new_id is None else session.get(OutboxMail, new_id)
    exists = session.scalar(
        select(OutboxMail.id).where(OutboxMail.dedupe_key == composed.dedupe_key)
    )
    if exists is not None:
        return None
    row = OutboxMail(**values)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another process inserted the same key meanwhile
        return None
    return row
