"""Claiming work: one lease, attempt, backoff and set-aside mechanism for every queue.

Inbound messages (one stage at a time) and outbound mail (the outbox) are both rows
that wait for their `next_attempt_at`. A worker claims a batch of due rows in one short
statement that pushes `next_attempt_at` past a lease and writes its name in
`claimed_by`, so another worker — a second daemon, or `run --once` from cron next to
the daemon — skips them, on SQLite (the UPDATE is atomic) as on PostgreSQL (SKIP
LOCKED). No lock is held while the work is done. Finishing clears the claim; a failure
counts an attempt and sets the next try after a backoff, or sets the row aside for a
person once the attempts are used up. A worker that died holding a claim is noticed:
its claims are released at once when it ran on this machine, else when the lease ends.
"""

from __future__ import annotations

import os
import random
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, update
from sqlalchemy.orm import Session

from mailbot.storage.expressions import among
from mailbot.storage.models import Base, MessageState, OutboxMail, OutboxState, StoredMessage

RETRY_BASE = 60.0  # seconds before the first retry
RETRY_CAP = 3600.0  # no retry waits longer than an hour
MAX_ERROR_CHARS = 2000  # of an error kept in the row


def worker_name() -> str:
    """This process, as written in `claimed_by`: host and pid (read at each call: forks)."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often a row is tried and how long it waits between tries."""

    max_attempts: int
    base: float = RETRY_BASE  # seconds; 0 retries at once (tests, `run --once` loops)
    cap: float = RETRY_CAP

    def delay(self, attempts: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after the `attempts`-th failure: base, 2×, 4×…, capped.

        Up to 20 % jitter spreads rows that failed together; unlike full jitter it never
        retries a refused row seconds later.
        """
        ceiling = min(self.cap, self.base * 2 ** max(0, attempts - 1))
        return ceiling * (1 - 0.2 * (rng or random).random())


@dataclass(frozen=True, slots=True)
class Failure:
    """What `fail` did with a row: retry at `retry_at`, or set aside."""

    attempts: int
    set_aside: bool
    retry_at: datetime | None


def due(model: type[Base], now: datetime) -> ColumnElement[bool]:
    return model.next_attempt_at <= now  # type: ignore[attr-defined, no-any-return]


def claim_values(now: datetime, lease: timedelta) -> dict[str, Any]:
    """The values of a row this process claims: hidden from other workers for `lease`."""
    return {"next_attempt_at": now + lease, "claimed_by": worker_name()}


def claim(
    session: Session,
    model: type[Base],
    ready: ColumnElement[bool],
    *,
    now: datetime,
    lease: timedelta,
    limit: int,
    also_mine: bool = False,
) -> list[int]:
    """Claim up to `limit` due rows matching `ready`, oldest first; returns their ids.

    `also_mine`: rows this process holds already count as due (a stage's work that kept
    its claim for the next stage, `claim_values`); the caller leaves out those it is
    working on. Runs in the caller's transaction, which should commit at once: the claim
    is what keeps other workers off these rows while the work is done.
    """
    table_id = model.id  # type: ignore[attr-defined]
    takable = due(model, now)
    if also_mine:
        takable = or_(takable, model.claimed_by == worker_name())  # type: ignore[attr-defined]
    candidates: Select[Any] = select(table_id).where(ready, takable).order_by(table_id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        # Rows another worker is claiming right now are skipped instead of waited for; the
        # ones found stay locked until the claim commits. (Not as a subquery of the
        # UPDATE: PostgreSQL may run that again per row and so claim past the limit.)
        candidates = candidates.with_for_update(skip_locked=True)
    ids = list(session.scalars(candidates))
    if not ids:
        return []
    claimed = session.execute(
        update(model)
        # Checked again: on SQLite another process may have claimed them since.
        .where(among(table_id, ids), ready, takable)
        .values(**claim_values(now, lease))
        .returning(table_id)
        .execution_options(synchronize_session=False)
    )
    return sorted(claimed.scalars())


def finish(session: Session, model: type[Base], row_id: int, now: datetime, **values: Any) -> None:
    """The claimed work is done: record `values`, drop the claim, make the row due now."""
    session.execute(
        update(model)
        .where(model.id == row_id)  # type: ignore[attr-defined]
        .values(claimed_by=None, next_attempt_at=now, **values)
        .execution_options(synchronize_session=False)
    )


def finish_many(session: Session, model: type[Base], row_ids: Sequence[int], now: datetime) -> None:
    """`finish` for a batch whose work is done and recorded: one statement."""
    if row_ids:
        session.execute(
            update(model)
            .where(among(model.id, row_ids))  # type: ignore[attr-defined]
            .values(claimed_by=None, next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )


def fail(
    session: Session,
    model: type[Base],
    row_id: int,
    *,
    attempts_before: int,
    error: str,
    error_column: str,
    now: datetime,
    policy: RetryPolicy,
    failed_values: dict[str, Any],
    set_aside_values: dict[str, Any],
    permanent: bool = False,
) -> Failure:
    """Count a failed attempt; retry after a backoff, or set the row aside when used up."""
    attempts = attempts_before + 1
    values: dict[str, Any] = {"attempts": attempts, error_column: error[:MAX_ERROR_CHARS]}
    if permanent or attempts >= policy.max_attempts:
        finish(session, model, row_id, now, **values, **set_aside_values)
        return Failure(attempts, True, None)
    retry_at = now + timedelta(seconds=policy.delay(attempts))
    session.execute(
        update(model)
        .where(model.id == row_id)  # type: ignore[attr-defined]
        .values(claimed_by=None, next_attempt_at=retry_at, **values, **failed_values)
        .execution_options(synchronize_session=False)
    )
    return Failure(attempts, False, retry_at)


def release(session: Session, model: type[Base], row_ids: Sequence[int], now: datetime) -> None:
    """Give claimed rows back untouched (a stop was requested, or the work was not tried)."""
    if row_ids:
        session.execute(
            update(model)
            .where(among(model.id, row_ids), model.claimed_by == worker_name())  # type: ignore[attr-defined]
            .values(claimed_by=None, next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )


def release_dead_claims(session: Session, model: type[Base], now: datetime) -> int:
    """Release claims held by processes of this machine that are gone (killed, crashed).

    Claims of other machines end with their lease: a process elsewhere cannot be asked.
    """
    host = socket.gethostname()
    holders = session.scalars(
        select(model.claimed_by)  # type: ignore[attr-defined]
        .where(model.claimed_by.like(f"{host}:%"), model.next_attempt_at > now)  # type: ignore[attr-defined]
        .distinct()
    ).all()
    dead = [h for h in holders if not _alive(h.rpartition(":")[2])]
    if not dead:
        return 0
    done = session.execute(
        update(model)
        .where(and_(model.claimed_by.in_(dead), model.next_attempt_at > now))  # type: ignore[attr-defined]
        .values(claimed_by=None, next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(done.rowcount or 0)  # type: ignore[attr-defined]


def _alive(pid_text: str) -> bool:
    try:
        pid = int(pid_text)
    except ValueError:
        return True  # not ours to judge
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, another user's
    return True


def next_due(session: Session) -> datetime | None:
    """When the next message or outgoing mail still to be worked falls due (a retry, a
    lease that ends), or None: the daemon's loop wakes then, not at its next check."""
    times = [
        session.scalar(
            select(func.min(StoredMessage.next_attempt_at)).where(
                StoredMessage.state.not_in((MessageState.ANSWERED, MessageState.SET_ASIDE))
            )
        ),
        session.scalar(
            select(func.min(OutboxMail.next_attempt_at)).where(
                OutboxMail.state == OutboxState.PENDING
            )
        ),
    ]
    found = [when for when in times if when is not None]
    return min(found) if found else None
