"""The store stage: persist fetched messages, exactly once, before any server change."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
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
    sha256: str  # of the original bytes, as computed by the parse stage


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def message_fields(message: Message) -> dict[str, Any]:
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


_EMPTY_FIELDS: dict[str, Any] = {
    "message_id": None,
    "message_id_synthetic": False,
    "in_reply_to": None,
    "references": [],
    "from_email": None,
    "from_name": None,
    "recipients": {},
    "subject": None,
    "subject_normalized": None,
    "sent_at": None,
    "body_source": None,
    "text": None,
    "new_text": None,
    "attachments": [],
    "signals": {},
    "defects": [],
}


def store_batch(
    session: Session,
    account: str,
    folder: str,
    uidvalidity: int,
    batch: Sequence[Parsed],
    extra: Mapping[str, dict[str, Any]] | None = None,
) -> list[Stored]:
    """Add blobs, messages, locations and events for one batch; advance the cursor.

    A mail already stored (same location, or same bytes seen elsewhere) is a
    duplicate: it gets a location pointing at the existing message, nothing else.
    The caller commits; only then may the server copies be moved. Rows go in
    as bulk inserts: this is the hot path of a large drain. `extra` adds
    columns (the triage verdict) by content hash.
    """
    extra = extra or {}
    if not batch:
        return []
    # sha256 -> (message pk, server target) for messages stored before this batch
    known: dict[str, tuple[int, str]] = {
        sha: (pk, _target(state))
        for sha, pk, state in session.execute(
            select(StoredMessage.sha256, StoredMessage.id, StoredMessage.state).where(
                StoredMessage.sha256.in_({p.sha256 for p in batch})
            )
        )
    }
    seen_locs: dict[int, tuple[int, int, str]] = {
        uid: (loc_id, pk, target)
        for loc_id, uid, pk, target in session.execute(
            select(Location.id, Location.uid, Location.message_pk, Location.server_target).where(
                Location.account == account,
                Location.folder == folder,
                Location.uidvalidity == uidvalidity,
                Location.uid.in_([p.mail.uid for p in batch]),
            )
        )
    }
    fresh = [p for p in batch if p.mail.uid not in seen_locs]
    new: dict[str, Parsed] = {}
    for item in fresh:
        if item.sha256 not in known and item.sha256 not in new:
            new[item.sha256] = item
    if new:
        session.execute(
            insert(Blob),
            [
                {"sha256": sha, "size": len(p.mail.data), "data": p.mail.data}
                for sha, p in new.items()
            ],
        )
        rows = [
            {
                **(message_fields(p.message) if p.message else _EMPTY_FIELDS),
                **extra.get(sha, {}),
                "sha256": sha,
                "account": account,
                "folder": folder,
                "state": MessageState.PARSED if p.message else MessageState.FAILED,
                "error": p.error,
                "attempts": 0 if p.message else 1,
            }
            for sha, p in new.items()
        ]
        inserted = session.execute(
            insert(StoredMessage).returning(
                StoredMessage.id, StoredMessage.sha256, sort_by_parameter_order=True
            ),
            rows,
        )
        for (pk, sha), row in zip(inserted, rows, strict=True):
            known[sha] = (pk, _target(row["state"]))

    outcomes: dict[int, str] = {}
    loc_rows = []
    for item in fresh:
        if item.mail.uid in outcomes:
            continue  # the same UID twice in one batch cannot happen; be safe anyway
        pk, target = known[item.sha256]
        first = new.get(item.sha256) is item
        outcomes[item.mail.uid] = ("stored" if item.message else "failed") if first else "duplicate"
        loc_rows.append(
            {
                "message_pk": pk,
                "account": account,
                "folder": folder,
                "uidvalidity": uidvalidity,
                "uid": item.mail.uid,
                "key": item.mail.key[:500],
                "server_target": target,
            }
        )
    if loc_rows:
        inserted_locs = session.execute(
            insert(Location).returning(Location.id, sort_by_parameter_order=True), loc_rows
        )
        for (loc_id,), row in zip(inserted_locs, loc_rows, strict=True):
            seen_locs[row["uid"]] = (loc_id, row["message_pk"], row["server_target"])
        session.execute(
            insert(Event),
            [
                {
                    "message_pk": row["message_pk"],
                    "kind": outcomes[row["uid"]],
                    "actor": "mailbot",
                    "detail": {"account": account, "folder": folder, "uid": row["uid"]},
                }
                for row in loc_rows
            ],
        )
    if uidvalidity:
        advance_cursor(session, account, folder, uidvalidity, max(p.mail.uid for p in batch))

    results = []
    for item in batch:
        loc_id, pk, target = seen_locs[item.mail.uid]
        outcome = outcomes.get(item.mail.uid, "duplicate")  # not in outcomes: seen before
        results.append(
            Stored(item.mail, loc_id, pk, outcome, target, item.message, item.error, item.sha256)
        )
    return results


def _target(state: str) -> str:
    return FAILED if state in (MessageState.FAILED, MessageState.SET_ASIDE) else PROCESSED


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
