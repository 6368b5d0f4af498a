"""The outbox table: a mail goes in once per dedupe key, is claimed when due, and a failed
attempt is retried with backoff until it is sent or set aside for a person.

Claims, attempts, backoff and setting aside are the shared mechanism of
`mailbot.storage.work`, the same that moves inbound messages through their stages.

- `enqueue`: add a mail inside the caller's transaction.
- `claim_next` (with `due_query`): take the oldest due mail for one sender; `claim_due`
  a few at once.
- `record_failure` (with `retry_delay`): count a failed attempt, retry or set aside.
- `SentMarks`: mark claimed mails sent, one commit each, on one connection.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached

from mailbot.config_types import SmtpConfig
from mailbot.outgoing.compose import Composed
from mailbot.storage import work
from mailbot.storage.db import Database
from mailbot.storage.expressions import among
from mailbot.storage.models import OutboxMail, OutboxState, utcnow

log = logging.getLogger("mailbot.smtp")

UPSERT_DIALECTS = ("sqlite", "postgresql")  # INSERT … ON CONFLICT DO NOTHING
RETRY_BASE = work.RETRY_BASE  # seconds before the first retry
RETRY_CAP = work.RETRY_CAP  # no retry waits longer than an hour


@dataclass(slots=True)
class SendStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    waiting: int = 0  # could not be written (a full disk): due again at once, not counted

    @property
    def busy(self) -> bool:
        """Something was sent, deferred or given up on: more may be due at once."""
        return bool(self.sent or self.retried or self.failed)


def enqueue(
    session: Session, composed: Composed, *, kind: str, message_pk: int | None
) -> OutboxMail | None:
    """Add one mail to the outbox in the caller's transaction; None if its dedupe_key exists.

    A duplicate never spoils the caller's transaction: SQLite and PostgreSQL use
    INSERT … ON CONFLICT DO NOTHING, other databases a SAVEPOINT.
    """
    values = outbox_values(composed, kind=kind, message_pk=message_pk)
    dialect = session.get_bind().dialect.name
    if dialect in UPSERT_DIALECTS:
        insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        table = OutboxMail.__table__
        # One statement, only the new id read back: the ORM's own INSERT … RETURNING of
        # the whole entity cost most of queueing a mail. It needs nothing the session
        # holds unwritten, so that waits for the caller's next flush (a batch's end).
        with session.no_autoflush:
            new_id = session.execute(
                insert(table).values(**values).on_conflict_do_nothing().returning(table.c.id)
            ).scalar_one_or_none()
        if new_id is None:
            return None
        row = OutboxMail(id=new_id, claimed_by=None, last_error=None, sent_at=None, **values)
        make_transient_to_detached(row)  # the row as a query would have loaded it
        session.add(row)
        return row
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


def outbox_values(composed: Composed, *, kind: str, message_pk: int | None) -> dict[str, Any]:
    """The columns of a new outbox row for a composed mail."""
    now = utcnow()
    return {
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


def write_outbox_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Write rows of `outbox_values` at once; a dedupe key already there is left alone."""
    dialect = session.get_bind().dialect.name
    if dialect in UPSERT_DIALECTS:
        insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        session.execute(insert(OutboxMail.__table__).on_conflict_do_nothing(), rows)
        return
    for values in rows:  # one by one, a refused key rolled back to its savepoint
        try:
            with session.begin_nested():
                session.add(OutboxMail(**values))
        except IntegrityError:
            continue


# --- claiming the next due mail ---------------------------------------------------------


def due_query(now: datetime, dialect: str) -> Select[tuple[OutboxMail]]:
    """The oldest pending mail whose time has come (locked on PostgreSQL)."""
    stmt = (
        select(OutboxMail)
        .where(OutboxMail.state == OutboxState.PENDING, OutboxMail.next_attempt_at <= now)
        .order_by(OutboxMail.id)  # oldest first
        .limit(1)
    )
    if dialect == "postgresql":
        # A row another daemon is claiming right now is skipped instead of waited for.
        stmt = stmt.with_for_update(skip_locked=True)
    return stmt


class SentMarks:
    """Marks claimed mails sent, each in a commit of its own, on one connection held for a
    drain (taken at the first mark, given back by `close`).

    A mail is marked the moment the server has taken it, so a crash resends at most the one
    mail under way. A session for each mark cost a connection check-out (with PostgreSQL's
    liveness ping), BEGIN and COMMIT: four round trips a mail, the most of what the courier
    and the server spent on it. On PostgreSQL the UPDATE is a transaction of its own (one
    round trip); SQLite's sqlite3 module needs its BEGIN and COMMIT, in this process.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._conn: Connection | None = None

    def mark(self, row: OutboxMail, when: datetime) -> None:
        """Mark one claimed mail sent at `when` and commit; only a pending row changes."""
        values = {
            "row_id": row.id,
            "new_state": OutboxState.SENT,
            "new_sent_at": when,
            "new_attempts": row.attempts + 1,
            "new_last_error": None,
            "new_claimed_by": None,
        }
        conn = self._connection()
        if self._db.dialect == "postgresql":
            done = conn.execute(_SENT, values)
        else:
            with conn.begin():
                done = conn.execute(_SENT, values)
        if done.rowcount != 1:
            log.warning("outbox mail %d was changed by another sender meanwhile", row.id)

    def _connection(self) -> Connection:
        if self._conn is None:
            conn = self._db.engine.connect()
            if self._db.dialect == "postgresql":
                conn.execution_options(isolation_level="AUTOCOMMIT")
            self._conn = conn
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


# A pending mail (`row_id`) marked sent; made once, so compiled once.
_OUTBOX = OutboxMail.__table__
_SENT = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("row_id"), _OUTBOX.c.state == OutboxState.PENDING)
    .values(
        {
            name: bindparam(f"new_{name}")
            for name in ("state", "sent_at", "attempts", "last_error", "claimed_by")
        }
    )
)


def claim_next(db: Database, now: datetime, lease: timedelta) -> OutboxMail | None:
    """Take the oldest due mail for this sender, in a short transaction of its own.

    The claim (`storage.work.claim`) moves `next_attempt_at` past the lease, so another
    drain (a second daemon, or `run --once` from cron next to the daemon) skips the mail,
    on SQLite as well as on PostgreSQL, and no lock is held while the SMTP server is
    talked to. A crash after the claim only delays the mail: it is due again when the
    lease ends, or at once when the next process on this machine sees ours is gone.
    """
    claimed = claim_due(db, now, lease, 1)
    return claimed[0] if claimed else None


def claim_due(db: Database, now: datetime, lease: timedelta, limit: int) -> list[OutboxMail]:
    """Take up to `limit` of the oldest due mails at once, oldest first (as `claim_next`).

    `lease` must cover sending them all; what is not sent must be released
    (`storage.work.release`) so it keeps its turn.
    """
    with db.session() as session:
        ids = work.claim(
            session,
            OutboxMail,
            OutboxMail.state == OutboxState.PENDING,
            now=now,
            lease=lease,
            limit=limit,
        )
        if not ids:
            return []
        return list(
            session.scalars(
                select(OutboxMail).where(among(OutboxMail.id, ids)).order_by(OutboxMail.id)
            )
        )


# --- failure bookkeeping ---------------------------------------------------------------


def retry_delay(attempts: int, rng: random.Random | None = None) -> float:
    """Seconds to wait after the `attempts`-th failure: 1, 2, 4, … minutes, capped at 1 h."""
    return work.RetryPolicy(max_attempts=attempts + 1).delay(attempts, rng)


def record_failure(
    session: Session,
    row: OutboxMail,
    error: str,
    now: datetime,
    config: SmtpConfig,
    stats: SendStats,
    *,
    permanent: bool,
    on_set_aside: Callable[[Session, OutboxMail, str, datetime], object] | None = None,
) -> None:
    """Count a failed attempt: retry later with backoff, or set the mail aside for good
    (then `on_set_aside` runs in the same transaction, e.g. to tell the PM)."""
    outcome = work.fail(
        session,
        OutboxMail,
        row.id,
        attempts_before=row.attempts,
        error=error,
        error_column="last_error",
        now=now,
        policy=work.RetryPolicy(config.max_attempts),
        failed_values={},
        set_aside_values={"state": OutboxState.FAILED},
        permanent=permanent,
    )
    if outcome.set_aside:
        stats.failed += 1
        if on_set_aside is not None:
            on_set_aside(session, row, error, now)
        reason = (
            "refused for good" if permanent else f"still failing after {outcome.attempts} attempts"
        )
        log.error(
            "outbox mail %d (%s, %s to %s) %s: %s (what to do: check the address and the "
            "error, then `mailbot failed requeue o%d`)",
            row.id,
            row.kind,
            row.message_id,
            ", ".join(row.rcpt_to),
            reason,
            error,
            row.id,
        )
        return
    stats.retried += 1
    log.warning(
        "outbox mail %d to %s not sent (attempt %d of %d), next try %s: %s",
        row.id,
        ", ".join(row.rcpt_to),
        outcome.attempts,
        config.max_attempts,
        f"{outcome.retry_at:%H:%M:%S}" if outcome.retry_at else "-",
        error,
    )
