"""The store stage: persist fetched messages, exactly once, before any server change."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from mailbot.message import Message, RawMail
from mailbot.storage.expressions import among
from mailbot.storage.models import Blob, Cursor, Event, Location, MessageState, StoredMessage

PROCESSED = "processed"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Stored:
    """The outcome of storing one fetched mail."""

    mail: RawMail
    location_id: int
    message_pk: int
    outcome: str  # "stored" (new, state received) or "duplicate"
    sha256: str


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


def store_batch(
    session: Session,
    account: str,
    folder: str,
    uidvalidity: int,
    batch: Sequence[RawMail],
    *,
    claimed_by: str | None = None,
    claimed_until: datetime | None = None,
) -> list[Stored]:
    """Add blobs, `received` messages, locations and events for one batch; advance the cursor.

    Nothing is parsed here: the bytes are kept before anything can go wrong with them.
    A mail already stored (same location, or same bytes seen elsewhere) is a duplicate:
    it gets a location pointing at the existing message, nothing else. New messages may
    be claimed for the caller at once (`claimed_by`, `claimed_until`) so no other worker
    parses them meanwhile. The caller commits; only then may the server copies move.
    Rows go in as bulk inserts: this is the hot path of a large drain.
    """
    if not batch:
        return []
    digests = {mail.uid: sha256_of(mail.data) for mail in batch}
    # sha256 -> (message pk, server target) for messages stored before this batch
    known: dict[str, tuple[int, str]] = {
        sha: (pk, _target(state))
        for sha, pk, state in session.execute(
            select(StoredMessage.sha256, StoredMessage.id, StoredMessage.state).where(
                among(StoredMessage.sha256, set(digests.values()))
            )
        )
    }
    seen_locs: dict[int, tuple[int, int]] = {}
    # A place that held other bytes before (a Maildir file name used again, which no
    # delivery agent does but a copy made by hand may, or a UID an IMAP server gave out
    # twice) holds new mail, not the one stored from there before.
    reused: dict[int, tuple[int, int]] = {}  # uid -> (location, the message stored before)
    for loc_id, uid, pk, sha in session.execute(
        select(Location.id, Location.uid, Location.message_pk, StoredMessage.sha256)
        .join(StoredMessage, StoredMessage.id == Location.message_pk)
        .where(
            Location.account == account,
            Location.folder == folder,
            Location.uidvalidity == uidvalidity,
            among(Location.uid, [m.uid for m in batch]),
        )
    ):
        if sha == digests[uid]:
            seen_locs[uid] = (loc_id, pk)
        else:
            reused[uid] = (loc_id, pk)
    fresh = [m for m in batch if m.uid not in seen_locs]
    new: dict[str, RawMail] = {}
    for mail in fresh:
        sha = digests[mail.uid]
        if sha not in known and sha not in new:
            new[sha] = mail
    if new:
        now = datetime.now(UTC)
        session.execute(
            insert(Blob),
            [{"sha256": sha, "size": len(m.data), "data": m.data} for sha, m in new.items()],
        )
        rows = [
            {
                "sha256": sha,
                "account": account,
                "folder": folder,
                "state": MessageState.RECEIVED,
                "attempts": 0,
                "received_at": now,
                # Never in the future: a server clock ahead of ours must not stop the SLA.
                "arrived_at": min(m.arrived_at, now) if m.arrived_at else now,
                "next_attempt_at": claimed_until or now,
                "claimed_by": claimed_by,
            }
            for sha, m in new.items()
        ]
        # Matched by their sha256, not by their order: asked to keep the order, SQLAlchemy
        # sends SQLite one INSERT per row.
        inserted = session.execute(
            insert(StoredMessage).returning(StoredMessage.id, StoredMessage.sha256), rows
        )
        for pk, sha in inserted:
            known[sha] = (pk, PROCESSED)

    outcomes: dict[int, str] = {}
    loc_rows = []
    for mail in fresh:
        if mail.uid in outcomes:
            continue  # the same UID twice in one batch cannot happen; be safe anyway
        sha = digests[mail.uid]
        pk, target = known[sha]
        outcomes[mail.uid] = "stored" if new.get(sha) is mail else "duplicate"
        loc_rows.append(
            {
                "message_pk": pk,
                "account": account,
                "folder": folder,
                "uidvalidity": uidvalidity,
                "uid": mail.uid,
                "key": mail.key[:500],
                "server_target": target,
            }
        )
    if loc_rows:
        added = [row for row in loc_rows if row["uid"] not in reused]
        if added:
            inserted_locs = dict(
                session.execute(insert(Location).returning(Location.uid, Location.id), added).all()
            )
            for row in added:  # one row per UID (a batch has each UID once)
                seen_locs[row["uid"]] = (inserted_locs[row["uid"]], row["message_pk"])
        for row in loc_rows:
            if row["uid"] in reused:  # the place now holds this mail; it moves again
                loc_id = reused[row["uid"]][0]
                session.execute(
                    update(Location)
                    .where(Location.id == loc_id)
                    .values(
                        message_pk=row["message_pk"],
                        key=row["key"],
                        server_target=row["server_target"],
                        server_done=False,
                        seen_at=datetime.now(UTC),
                    )
                )
                seen_locs[row["uid"]] = (loc_id, row["message_pk"])
        session.execute(
            insert(Event),
            [
                {
                    "message_pk": row["message_pk"],
                    "kind": outcomes[row["uid"]],
                    "actor": "mailbot",
                    "detail": {
                        "account": account,
                        "folder": folder,
                        "uid": row["uid"],
                        **(
                            {"place_held_before": reused[row["uid"]][1]}
                            if row["uid"] in reused
                            else {}
                        ),
                    },
                }
                for row in loc_rows
            ],
        )
    if uidvalidity:
        advance_cursor(session, account, folder, uidvalidity, max(m.uid for m in batch))

    results = []
    for mail in batch:
        loc_id, pk = seen_locs[mail.uid]
        outcome = outcomes.get(mail.uid, "duplicate")  # not in outcomes: seen before
        results.append(Stored(mail, loc_id, pk, outcome, digests[mail.uid]))
    return results


def set_server_target(session: Session, location_ids: Sequence[int], target: str) -> None:
    """Where the server copies must go, once the message's first stage has told."""
    if location_ids:
        session.execute(
            update(Location)
            .where(among(Location.id, location_ids))
            .values(server_target=target)
            .execution_options(synchronize_session=False)  # no session holds the rows
        )


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
                started_at=now,
            )
        )
    elif cursor.uidvalidity != uidvalidity:
        cursor.uidvalidity, cursor.last_uid, cursor.last_fetch_at = uidvalidity, uid, now
    else:
        cursor.last_uid = max(cursor.last_uid, uid)
        cursor.last_fetch_at = now


def watching_since(session: Session) -> datetime | None:
    """When mailbot started watching: its first fetch, or the first mail it stored if that
    was earlier (the cursor is written when the first drain ends). Reports cover nothing
    before it."""
    moments = [
        session.scalar(select(func.min(Cursor.started_at))),
        session.scalar(select(func.min(StoredMessage.received_at))),
    ]
    found = [m for m in moments if m is not None]
    return min(found) if found else None


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
            update(Location)
            .where(among(Location.id, location_ids))
            .values(server_done=True)
            .execution_options(synchronize_session=False)  # no session holds the rows
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
