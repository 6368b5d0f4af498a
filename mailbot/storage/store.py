"""The store stage: persist fetched messages, exactly once, before any server change."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mailbot.message import Message
from mailbot.sources.base import RawMail
from mailbot.storage.models import Blob, Cursor, Event, Location, MessageState, StoredMessage

PROCESSED = "processed"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Parsed:
    """What the parse stage made of one fetched mail: a Message or an error."""

    mail: RawMail
    sha256: str
    message: Message | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Stored:
    """The outcome of storing one fetched mail."""

    mail: RawMail
    location_id: int
    message_pk: int
    outcome: str  # "stored", "duplicate" or "failed"
    target: str  # where the server copy goes: PROCESSED or FAILED
    message: Message | None
    error: str | None


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _message_row(message: Message) -> dict[str, Any]:
    def addrs(items: Sequence[Any]) -> list[dict[str, str]]:
        return [{"name": a.name, "email": a.email} for a in items]

    return {
        "message_id": message.message_id[:998],
        "message_id_synthetic": message.message_id_synthetic,
        "in_reply_to": message.in_reply_to[:998] if message.in_reply_to else None,
        "references": list(message.references),
        "from_email": message.from_.email[:320] if message.from_ else None,
        "from_name": message.from_.name[:500] if message.from_ else None,
        "recipients": {
            "to": addrs(message.to),
            "cc": addrs(message.cc),
            "reply_to": addrs(message.reply_to),
        },
        "subject": message.subject,
        "subject_normalized": message.subject_normalized,
        "sent_at": message.date,
        "body_source": message.body_source,
        "text": message.text,
        "new_text": message.new_text,
        "attachments": [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size}
            for a in message.attachments
        ],
        "signals": {
            "auto_reply": message.signals.auto_reply,
            "bounce": message.signals.bounce,
            "bulk": message.signals.bulk,
            "reasons": list(message.signals.reasons),
        },
        "defects": list(message.defects),
    }


def store_batch(
    session: Session, account: str, folder: str, uidvalidity: int, batch: Sequence[Parsed]
) -> list[Stored]:
    """Add blobs, messages, locations and events for one batch; advance the cursor.

    A mail already stored (same location, or same bytes seen elsewhere) is a
    duplicate: it gets a location pointing at the existing message, nothing else.
    The caller commits; only then may the server copies be moved.
    """
    if not batch:
        return []
    hashes = {p.sha256 for p in batch}
    known_msgs = {
        row.sha256: row
        for row in session.scalars(select(StoredMessage).where(StoredMessage.sha256.in_(hashes)))
    }
    known_locs = {
        loc.uid: loc
        for loc in session.scalars(
            select(Location).where(
                Location.account == account,
                Location.folder == folder,
                Location.uidvalidity == uidvalidity,
                Location.uid.in_([p.mail.uid for p in batch]),
            )
        )
    }
    results: list[Stored] = []
    events: list[Event] = []
    for item in batch:
        loc = known_locs.get(item.mail.uid)
        if loc is not None:
            # Fetched again after a crash between commit and server move.
            results.append(
                Stored(
                    item.mail,
                    loc.id,
                    loc.message_pk,
                    "duplicate",
                    loc.server_target,
                    item.message,
                    None,
                )
            )
            continue
        row = known_msgs.get(item.sha256)
        outcome = "duplicate"
        if row is None:
            session.add(Blob(sha256=item.sha256, size=len(item.mail.data), data=item.mail.data))
            fields = _message_row(item.message) if item.message else {}
            failed = item.message is None
            row = StoredMessage(
                sha256=item.sha256,
                account=account,
                folder=folder,
                state=MessageState.FAILED if failed else MessageState.PARSED,
                error=item.error,
                attempts=1 if failed else 0,
                **fields,
            )
            session.add(row)
            known_msgs[item.sha256] = row
            outcome = "failed" if failed else "stored"
        target = FAILED if row.state in (MessageState.FAILED, MessageState.SET_ASIDE) else PROCESSED
        loc = Location(
            message=row,
            account=account,
            folder=folder,
            uidvalidity=uidvalidity,
            uid=item.mail.uid,
            key=item.mail.key[:500],
            server_target=target,
        )
        session.add(loc)
        known_locs[item.mail.uid] = loc
        events.append(
            Event(
                message=row,
                kind=outcome,
                detail={
                    "account": account,
                    "folder": folder,
                    "uid": item.mail.uid,
                    **({"error": item.error} if item.error else {}),
                },
            )
        )
        results.append(Stored(item.mail, 0, 0, outcome, target, item.message, item.error))
    session.add_all(events)
    session.flush()
    # Ids are known only after the flush.
    results = [
        r
        if r.location_id
        else Stored(
            r.mail,
            known_locs[r.mail.uid].id,
            known_locs[r.mail.uid].message_pk,
            r.outcome,
            r.target,
            r.message,
            r.error,
        )
        for r in results
    ]
    if uidvalidity:
        advance_cursor(session, account, folder, uidvalidity, max(p.mail.uid for p in batch))
    return results


def get_cursor(session: Session, account: str, folder: str) -> Cursor | None:
    return session.get(Cursor, (account, folder))


def advance_cursor(session: Session, account: str, folder: str, uidvalidity: int, uid: int) -> None:
    cursor = session.get(Cursor, (account, folder))
    now = datetime.now(UTC)
    if cursor is None:
        session.add(
            Cursor(
                account=account,
                folder=folder,
                uidvalidity=uidvalidity,
                last_uid=uid,
                last_fetch_at=now,
            )
        )
    elif cursor.uidvalidity != uidvalidity:
        cursor.uidvalidity, cursor.last_uid, cursor.last_fetch_at = uidvalidity, uid, now
    else:
        cursor.last_uid = max(cursor.last_uid, uid)
        cursor.last_fetch_at = now


def touch_cursor(session: Session, account: str, folder: str, uidvalidity: int) -> None:
    """Record a successful fetch even when nothing new arrived (for health checks)."""
    advance_cursor(session, account, folder, uidvalidity, 0)


def pending_locations(
    session: Session, account: str, folder: str, uidvalidity: int
) -> list[Location]:
    """Stored mails whose server copy has not been moved yet."""
    return list(
        session.scalars(
            select(Location)
            .where(
                Location.account == account,
                Location.folder == folder,
                Location.uidvalidity == uidvalidity,
                Location.server_done.is_(False),
            )
            .order_by(Location.uid)
        )
    )


def mark_server_done(session: Session, location_ids: Sequence[int]) -> None:
    if location_ids:
        session.execute(
            update(Location).where(Location.id.in_(location_ids)).values(server_done=True)
        )


def abandon_stale_locations(session: Session, account: str, folder: str, uidvalidity: int) -> int:
    """After a UIDVALIDITY change old UIDs mean nothing; stop trying to move them."""
    result = session.execute(
        update(Location)
        .where(
            Location.account == account,
            Location.folder == folder,
            Location.uidvalidity != uidvalidity,
            Location.server_done.is_(False),
        )
        .values(server_done=True)
    )
    return result.rowcount or 0
