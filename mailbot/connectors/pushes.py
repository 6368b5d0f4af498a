"""The pushes table: one row per effect on a tracker or chat, done at most once.

The same outbox pattern as mail (`outgoing.outbox`) on the same claims, attempts,
backoff and setting aside (`storage.work`): a row is written in the transaction that
decides it, claimed when due, and retried after a doubling backoff (or after the
platform's Retry-After) until done or set aside for a person.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mailbot.errors import MailbotError
from mailbot.storage import work
from mailbot.storage.db import Database
from mailbot.storage.models import Event, Push, PushState, utcnow

log = logging.getLogger("mailbot.connectors")

UPSERT_DIALECTS = ("sqlite", "postgresql")  # INSERT … ON CONFLICT DO NOTHING
PUSH_LEASE = timedelta(minutes=5)  # a claimed push is hidden from other workers this long
PUSH_BATCH = 20  # pushes claimed at once


@dataclass(frozen=True, slots=True)
class Claimed:
    """A claimed push as the worker needs it, read before any remote call."""

    id: int
    connector: str
    kind: str
    item_id: int | None
    payload: dict[str, Any]
    attempts: int
    remote_id: str | None


def enqueue(
    session: Session,
    *,
    connector: str,
    kind: str,
    dedupe_key: str,
    payload: dict[str, Any],
    item_id: int | None = None,
    message_pk: int | None = None,
    now: datetime | None = None,
) -> Push | None:
    """Add one push in the caller's transaction; None if its dedupe_key exists.

    A duplicate never spoils the caller's transaction (ON CONFLICT DO NOTHING, or a
    SAVEPOINT on other databases), as for the mail outbox.
    """
    now = now or utcnow()
    values = {
        "connector": connector,
        "kind": kind,
        "dedupe_key": dedupe_key[:300],
        "payload": payload,
        "item_id": item_id,
        "message_pk": message_pk,
        "state": PushState.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
    dialect = session.get_bind().dialect.name
    if dialect in UPSERT_DIALECTS:
        insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        stmt = insert(Push).values(**values).on_conflict_do_nothing()
        new_id = session.execute(stmt.returning(Push.id)).scalar_one_or_none()
        return None if new_id is None else session.get(Push, new_id)
    if session.scalar(select(Push.id).where(Push.dedupe_key == values["dedupe_key"])):
        return None
    row = Push(**values)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    return row


def claim(db: Database, now: datetime, limit: int = PUSH_BATCH) -> list[Claimed]:
    """Claim up to `limit` due pushes, oldest first, in a short transaction of their own."""
    with db.session() as session:
        ids = work.claim(
            session, Push, Push.state == PushState.PENDING, now=now, lease=PUSH_LEASE, limit=limit
        )
        rows = [session.get(Push, i) for i in ids]
        return [
            Claimed(r.id, r.connector, r.kind, r.item_id, dict(r.payload), r.attempts, r.remote_id)
            for r in rows
            if r is not None
        ]


def finish(session: Session, push: Claimed, now: datetime, remote_id: str | None = None) -> None:
    """The push is done: it is never tried again."""
    values: dict[str, Any] = {"state": PushState.DONE, "done_at": now, "last_error": None}
    if remote_id is not None:
        values["remote_id"] = remote_id
    work.finish(session, Push, push.id, now, **values)


def postpone(session: Session, push: Claimed, until: datetime, why: str) -> None:
    """Not tried yet (its issue is not created, a rate limit): no attempt is counted."""
    session.execute(
        update(Push)
        .where(Push.id == push.id)
        .values(claimed_by=None, next_attempt_at=until, last_error=why)
        .execution_options(synchronize_session=False)
    )


def fail(
    session: Session,
    push: Claimed,
    error: str,
    now: datetime,
    policy: work.RetryPolicy,
    *,
    permanent: bool,
    retry_after: float | None = None,
) -> work.Failure:
    """Count a failed attempt: retry after the backoff (or the platform's Retry-After,
    when longer), or set the push aside for a person."""
    outcome = work.fail(
        session,
        Push,
        push.id,
        attempts_before=push.attempts,
        error=error,
        error_column="last_error",
        now=now,
        policy=policy,
        failed_values={},
        set_aside_values={"state": PushState.FAILED},
        permanent=permanent,
    )
    if outcome.retry_at is not None and retry_after is not None:
        asked = now + timedelta(seconds=retry_after)
        if asked > outcome.retry_at:
            session.execute(
                update(Push)
                .where(Push.id == push.id)
                .values(next_attempt_at=asked)
                .execution_options(synchronize_session=False)
            )
            outcome = work.Failure(outcome.attempts, False, asked)
    if outcome.set_aside:
        log.error(
            "push %d (%s to %s) set aside after %d attempts: %s (what to do: fix the "
            "connector's settings (`mailbot doctor`), then `mailbot pushes requeue %d`)",
            push.id,
            push.kind,
            push.connector,
            outcome.attempts,
            error,
            push.id,
        )
    else:
        log.warning(
            "push %d (%s to %s) failed (attempt %d), next try %s: %s",
            push.id,
            push.kind,
            push.connector,
            outcome.attempts,
            f"{outcome.retry_at:%H:%M:%S}" if outcome.retry_at else "-",
            error,
        )
    return outcome


# --- for a person: what did not go through, and sending it again -------------------------


class PushError(MailbotError):
    code = "MB971"


def list_pushes(session: Session, *, waiting: bool = False) -> list[Push]:
    """Pushes set aside, and with `waiting` also those that failed and wait to retry."""
    state = Push.state == PushState.FAILED
    if waiting:
        state = state | ((Push.state == PushState.PENDING) & (Push.attempts > 0))
    return list(session.scalars(select(Push).where(state).order_by(Push.id)))


def requeue(session: Session, ids: list[int], *, actor: str, now: datetime) -> list[int]:
    """Send set-aside or waiting pushes again now, with their attempts counted from zero.

    A push a worker is trying right now is refused: requeued under its feet, it could
    be sent twice (the tracker would still find it by its marker; a chat would not).
    """
    done = []
    for push_id in ids:
        row = session.get(Push, push_id)
        if row is None or row.state == PushState.DONE:
            raise PushError(f"push {push_id} is not waiting", "see `mailbot pushes list`")
        if row.claimed_by is not None and row.next_attempt_at > now:
            raise PushError(
                f"push {push_id} is being tried right now (by {row.claimed_by})",
                "wait a minute and look again: `mailbot pushes list`",
            )
        before = {"push": push_id, "error": row.last_error, "attempts": row.attempts}
        session.execute(
            update(Push)
            .where(Push.id == push_id)
            .values(state=PushState.PENDING, attempts=0, next_attempt_at=now, claimed_by=None)
        )
        session.add(Event(item_id=row.item_id, kind="push_requeued", actor=actor, detail=before))
        done.append(push_id)
    return done
