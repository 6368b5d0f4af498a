"""What a PM does to items: reclassify, move, change status, assign, note, merge, split.

Every function works in the caller's transaction, records an audit `Event` with
the actor and the reason, and raises `ActionError` (or the lifecycle's
`StatusError`) with what to do when the change is not possible. Nothing is
committed here: a failure anywhere leaves the database as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.errors import MailbotError
from mailbot.items.lifecycle import LIFECYCLES, change_status, initial_status
from mailbot.items.sla import MERGED_STATUS, record_first_response
from mailbot.items.store import UNASSIGNED_KEY, item_by_ref, next_number
from mailbot.outgoing.send import refine_language, send_templated
from mailbot.storage.models import Correction, Event, Item, OutboxMail, StoredMessage
from mailbot.storage.search import reindex_items

LIST_HINT = "find the reference with `mailbot queue list --all`; references look like ACME-42"
STATUS_KIND = "status"  # outbox kind and template folder of the status mail to the client


class ActionError(MailbotError):
    """A PM action cannot be done as asked (unknown ref, disallowed change)."""

    code = "MB950"  # MB900s: reports (MB900); PM actions take MB950-MB959


def lookup_item(session: Session, ref: str) -> Item | None:
    """The item with this reference, or the one it was moved to; None if there is none."""
    return item_by_ref(session, ref)


def find_item(session: Session, ref: str) -> Item:
    """Like `lookup_item`, but an unknown reference is an ActionError saying what to do."""
    item = lookup_item(session, ref)
    if item is None:
        raise ActionError(f"no item {ref!r}", LIST_HINT)
    return item


def old_refs(session: Session, item: Item) -> list[str]:
    """References the item had before it was moved, oldest first."""
    events = session.scalars(
        select(Event).where(Event.kind == "moved", Event.item_id == item.id).order_by(Event.id)
    )
    return [str(e.detail.get("from")) for e in events]


def item_messages(session: Session, item: Item) -> list[StoredMessage]:
    """The item's messages in the order they arrived."""
    return list(
        session.scalars(
            select(StoredMessage).where(StoredMessage.item_id == item.id).order_by(StoredMessage.id)
        )
    )


def client_messages(session: Session, config: Config, item: Item) -> list[StoredMessage]:
    """The item's messages written by the client, not by our side."""
    return [
        row
        for row in item_messages(session, item)
        if row.from_email and not config.is_own_address(row.from_email)
    ]


def model_text(row: StoredMessage) -> str:
    """What the classifier read: the subject as written, a newline, the new text."""
    subject, text = (row.subject or "").strip(), (row.new_text or "").strip()
    return f"{subject}\n{text}" if subject else text


def _open_for_change(item: Item) -> None:
    if item.merged_into_id is not None:
        raise ActionError(
            f"{item.ref} was merged into another item",
            "act on the item it was merged into (see `mailbot queue show`)",
        )


def reclassify(
    session: Session, config: Config, ref: str, category: str, *, actor: str, reason: str = ""
) -> Item:
    """Change the item's category; its status restarts at the new lifecycle's first status.

    Each client message of the item becomes a category correction: a labelled example
    for retraining the model (`mailbot.items.corrections`).
    """
    if category not in LIFECYCLES:
        raise ActionError(f"unknown category {category!r}", f"use one of: {', '.join(LIFECYCLES)}")
    item = find_item(session, ref)
    _open_for_change(item)
    if item.category == category:
        raise ActionError(f"{item.ref} is already {category}", "nothing to change")
    old_category, old_status = item.category, item.status
    item.category = category
    item.status = initial_status(category)
    item.needs_review = False  # a person has decided
    rows = client_messages(session, config, item)
    _record_corrections(session, item, rows, "category", category, actor, old_category)
    session.add(
        Event(
            item_id=item.id,
            kind="reclassified",
            actor=actor,
            detail={
                "from": old_category,
                "to": category,
                "status_from": old_status,
                "status_to": item.status,
                "corrections": len(rows),
                "reason": reason,
            },
        )
    )
    return item


def _record_corrections(
    session: Session,
    item: Item,
    rows: list[StoredMessage],
    field: str,
    new_value: str,
    actor: str,
    old_value: str,
) -> None:
    """One labelled example per client message: what the model saw, and the right answer."""
    for row in rows:
        # A message's own verdict is the better "before" for category (it may differ per mail).
        before = (row.category or old_value) if field == "category" else old_value
        record_correction(
            session, row, field=field, old_value=before, new_value=new_value, actor=actor
        )


def _split_language(row: StoredMessage, source: Item) -> str | None:
    """The language of a message split off: its own script, in the regional variant the
    same client's item was answered in (a Hong Kong client stays in Hong Kong wording)."""
    if row.language and source.language and row.from_email == source.client_email:
        return refine_language(row.language, source.language)
    return row.language


def record_correction(
    session: Session,
    row: StoredMessage,
    *,
    field: str,
    old_value: str | None,
    new_value: str,
    actor: str,
) -> None:
    """A person's correction of one message: a labelled example for retraining."""
    session.add(
        Correction(
            message_pk=row.id,
            item_id=row.item_id,
            field=field,
            old_value=old_value,
            new_value=new_value,
            text=model_text(row),
            language=row.language,
            actor=actor,
        )
    )


def move(
    session: Session, config: Config, ref: str, project: str, *, actor: str, reason: str = ""
) -> Item:
    """Renumber the item into another project; its old reference still finds it."""
    key = project.strip().upper()
    known = [p.key for p in config.projects]
    if key != UNASSIGNED_KEY and key not in known:
        raise ActionError(
            f"no project {project!r} in the configuration",
            f"use one of: {', '.join([*known, UNASSIGNED_KEY])}",
        )
    item = find_item(session, ref)
    _open_for_change(item)
    if item.project_key == key:
        raise ActionError(f"{item.ref} is already in {key}", "nothing to change")
    old_ref, old_key = item.ref, item.project_key
    number = next_number(session, key)
    item.ref, item.project_key, item.number = f"{key}-{number}", key, number
    rows = client_messages(session, config, item)
    _record_corrections(session, item, rows, "project", key, actor, old_key)
    session.add(
        Event(
            item_id=item.id,
            kind="moved",
            actor=actor,
            detail={
                "from": old_ref,
                "to": item.ref,
                "from_project": old_key,
                "to_project": key,
                "reason": reason,
            },
        )
    )
    reindex_items(session, [item.id])  # found by its new reference
    return item


@dataclass(frozen=True, slots=True)
class StatusChange:
    item: Item
    event: Event
    outbox: OutboxMail | None  # the client's status mail, when --notify queued one
    notified: bool


def set_status(
    session: Session,
    config: Config,
    ref: str,
    status: str,
    *,
    actor: str,
    note: str | None = None,
    notify: bool = False,
    now: datetime | None = None,
    text: str | None = None,
) -> StatusChange:
    """Move the item to `status`; with `notify`, queue a status mail to the client
    (`text`: the mail as the person edited it, instead of the template's).

    A status mail is a person answering the client, so it meets the first-response SLA.
    """
    item = find_item(session, ref)
    _open_for_change(item)
    event = change_status(item, status, actor=actor, reason=note or "changed by hand")
    session.add(event)
    session.flush()  # the event id makes the status mail's dedupe key
    outbox = None
    if notify:
        now = now or datetime.now(UTC)
        outbox = notify_status(
            session, config, item, status, event_id=event.id, note=note, now=now, text=text
        )
        event.detail = {**event.detail, "notified": outbox.message_id if outbox else None}
        record_first_response(
            session, item, now, by=actor, how=f"status update '{status}' mailed to the client"
        )
    return StatusChange(item, event, outbox, notify)


def notify_status(
    session: Session,
    config: Config,
    item: Item,
    status: str,
    *,
    event_id: int,
    note: str | None,
    now: datetime,
    text: str | None = None,
) -> OutboxMail | None:
    """Queue "ACME-42 is now resolved" for the client; None if this exact mail was queued before.

    It answers the client's first message of the item, so mail programs keep it in the
    conversation. Its dedupe key names the item, the status and the status event.
    """
    rows = client_messages(session, config, item)
    if not rows:
        raise ActionError(
            f"{item.ref} has no message from the client to reply to",
            "change the status without --notify and write to the client by hand",
        )
    return send_templated(
        session,
        config,
        kind=STATUS_KIND,
        category=status,
        item=item,
        thread_from=rows[0],
        context={"status": status, "note": note or None},
        dedupe_key=f"{STATUS_KIND}:{item.id}:{status}:{event_id}",
        now=now,
        text=text,
    )


def assign(session: Session, ref: str, who: str, *, actor: str, reason: str = "") -> Item:
    """Give the item to a person; "-" or "" takes it back to nobody."""
    item = find_item(session, ref)
    new = who.strip() or None
    if new == "-":
        new = None
    if item.assignee == new:
        raise ActionError(f"{item.ref} is already assigned to {new or 'nobody'}", "nothing to do")
    session.add(
        Event(
            item_id=item.id,
            kind="assigned",
            actor=actor,
            detail={"from": item.assignee, "to": new, "reason": reason},
        )
    )
    item.assignee = new
    return item


def add_note(session: Session, ref: str, text: str, *, actor: str) -> Event:
    """An internal note on the item: the audit trail only, never mailed to the client."""
    if not text.strip():
        raise ActionError("the note is empty", "write the note text after the reference")
    item = find_item(session, ref)
    event = Event(item_id=item.id, kind="note", actor=actor, detail={"text": text.strip()})
    session.add(event)
    return event


def merge(session: Session, ref: str, into_ref: str, *, actor: str, reason: str = "") -> Item:
    """Move every message of `ref` to `into_ref`, mark `ref` merged; returns the target."""
    source, target = find_item(session, ref), find_item(session, into_ref)
    if source.id == target.id:
        raise ActionError(f"{source.ref} cannot be merged into itself", "name two different items")
    _open_for_change(source)
    if target.merged_into_id is not None:
        final = session.get(Item, target.merged_into_id)
        raise ActionError(
            f"{target.ref} was itself merged into {final.ref if final else 'another item'}",
            "merge into that item instead",
        )
    rows = item_messages(session, source)
    for row in rows:
        row.item_id = target.id
    old_status = source.status
    source.merged_into_id = target.id
    source.status = MERGED_STATUS
    target.escalate = target.escalate or source.escalate
    if target.first_response_at is None and source.first_response_at is not None:
        target.first_response_at = source.first_response_at  # the client was answered already
    ids = [row.id for row in rows]
    session.add(
        Event(
            item_id=source.id,
            kind="merged",
            actor=actor,
            detail={
                "into": target.ref,
                "messages": ids,
                "status_from": old_status,
                "reason": reason,
            },
        )
    )
    session.add(
        Event(
            item_id=target.id,
            kind="merged_from",
            actor=actor,
            detail={"from": source.ref, "messages": ids, "reason": reason},
        )
    )
    reindex_items(session, [source.id, target.id])  # the messages' text moved with them
    return target


def find_message(session: Session, message: str | int) -> StoredMessage:
    """A stored message by its number (as `queue show` lists it) or by its Message-ID."""
    text = str(message).strip()
    row = None
    if text.isdigit():
        row = session.get(StoredMessage, int(text))
    else:
        row = session.scalars(
            select(StoredMessage).where(StoredMessage.message_id == text.strip("<>"))
        ).first()
    if row is None:
        raise ActionError(
            f"no stored message {text!r}",
            "use a message number from `mailbot queue show REF` or its Message-ID",
        )
    return row


def split(session: Session, message: str | int, *, actor: str, reason: str = "") -> Item:
    """Make one message of an item a new item of the same project; returns the new item."""
    row = find_message(session, message)
    source = session.get(Item, row.item_id) if row.item_id is not None else None
    if source is None:
        raise ActionError(f"message {row.id} is not filed to any item", "nothing to split")
    _open_for_change(source)
    if len(item_messages(session, source)) < 2:
        raise ActionError(
            f"message {row.id} is the only message of {source.ref}",
            "use `mailbot queue reclassify` or `move` to change the item itself",
        )
    category = row.category if row.category in LIFECYCLES else source.category
    number = next_number(session, source.project_key)
    new = Item(
        ref=f"{source.project_key}-{number}",
        project_key=source.project_key,
        number=number,
        category=category,
        status=initial_status(category),
        title=(row.subject_normalized or row.subject or "(no subject)")[:2000],
        client_email=row.from_email,
        client_name=row.from_name,
        language=_split_language(row, source),
        confidence=row.confidence,
        needs_review=False,
        escalate=bool(row.escalate),
    )
    session.add(new)
    session.flush()
    row.item_id = new.id
    session.add(
        Event(
            item_id=new.id,
            message_pk=row.id,
            kind="created",
            actor=actor,
            detail={"ref": new.ref, "category": category, "split_from": source.ref},
        )
    )
    session.add(
        Event(
            item_id=source.id,
            message_pk=row.id,
            kind="split",
            actor=actor,
            detail={"message": row.id, "to": new.ref, "reason": reason},
        )
    )
    reindex_items(session, [source.id, new.id])
    return new
