"""Items in the database: references, lookups for routing, creation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mailbot.storage.expressions import among
from mailbot.storage.models import Event, Item, OutboxMail, ProjectCounter, StoredMessage

UNASSIGNED_KEY = "TRIAGE"  # items not yet assigned to a project are numbered TRIAGE-1, -2 ...


@dataclass(frozen=True, slots=True)
class ItemRef:
    """An item as routing sees it: its id, reference and project (None: unassigned)."""

    item_id: int
    ref: str
    project: str | None
    client_email: str | None = None  # who wrote the mail that opened it


class DbItemLookup:
    """`ItemLookup` over the database, inside the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def item_for_message_ids(self, message_ids: Sequence[str]) -> ItemRef | None:
        if not message_ids:
            return None
        columns = (Item.id, Item.ref, Item.project_key, Item.client_email)
        # Replies to our own acknowledgements thread too: their ids are in the outbox.
        rows = self.session.execute(
            select(OutboxMail.message_id, *columns)
            .join(StoredMessage, OutboxMail.message_pk == StoredMessage.id)
            .join(Item, StoredMessage.item_id == Item.id)
            .where(among(OutboxMail.message_id, list(message_ids)))
        ).all()
        # A Message-ID anyone can reuse: the mail filed first keeps the thread.
        rows += self.session.execute(
            select(StoredMessage.message_id, *columns)
            .join(Item, StoredMessage.item_id == Item.id)
            .where(among(StoredMessage.message_id, list(message_ids)))
            .order_by(StoredMessage.id)
        ).all()
        by_id: dict[str, ItemRef] = {}
        for mid, item_id, ref, key, client in rows:
            by_id.setdefault(mid, ItemRef(item_id, ref, _project(key), client))
        # The nearest ancestor wins: callers pass In-Reply-To first.
        return next((by_id[i] for i in message_ids if i in by_id), None)

    def item_for_ref(self, ref: str) -> ItemRef | None:
        item = item_by_ref(self.session, ref)
        if item is None:
            return None
        return ItemRef(item.id, item.ref, _project(item.project_key), item.client_email)


def item_by_ref(session: Session, ref: str) -> Item | None:
    """The item with this reference, or the one it was moved to (so old tags still work)."""
    key = ref.strip().upper()
    item = session.scalars(select(Item).where(Item.ref == key)).first()
    if item is not None:
        return item
    # A moved item keeps its old references in its "moved" events.
    for event in session.scalars(
        select(Event).where(Event.kind == "moved").order_by(Event.id.desc())
    ):
        if event.detail.get("from") == key and event.item_id is not None:
            return session.get(Item, event.item_id)
    return None


def _project(key: str) -> str | None:
    return None if key == UNASSIGNED_KEY else key


def next_number(session: Session, project_key: str) -> int:
    """The next item number of a project; unique and monotonic across processes.

    The UPDATE takes a row lock (PostgreSQL) or the database write lock (SQLite),
    so two daemons filing at once get different numbers.
    """
    result = session.execute(
        update(ProjectCounter)
        .where(ProjectCounter.project_key == project_key)
        .values(last_number=ProjectCounter.last_number + 1)
        .returning(ProjectCounter.last_number)
    ).scalar()
    if result is not None:
        return int(result)
    # First item of this project: create the counter. If another process created it
    # meanwhile, the insert fails harmlessly and the UPDATE above wins on the retry.
    try:
        with session.begin_nested():
            session.add(ProjectCounter(project_key=project_key, last_number=0))
    except IntegrityError:
        pass
    return next_number(session, project_key)
