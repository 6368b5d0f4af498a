"""The file stage: route a classified message, attach it to an item, run the filing hooks.

Everything here happens in the caller's transaction, so the item, the message's state
and any mail a hook queues (an escalation, a decision's confirmation) commit together.
The acknowledgement is the next stage's (`answer`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.items.lifecycle import CLOSED_ISSUE_STATES, change_status, initial_status
from mailbot.items.progress import clear_waiting
from mailbot.items.store import UNASSIGNED_KEY, DbItemLookup, ItemRef, next_number
from mailbot.message import Message, clean_text
from mailbot.pipeline.client_language import variant_of
from mailbot.pipeline.route import OUTSIDER, REF_TAG, ItemLookup, Route, route_to_project
from mailbot.storage.expressions import among
from mailbot.storage.models import (
    Event,
    Item,
    MessageState,
    OutboxMail,
    ProjectCounter,
    StoredMessage,
    utcnow,
)
from mailbot.storage.search import index_filed

if TYPE_CHECKING:
    from mailbot.triage import Verdict

log = logging.getLogger("mailbot.pipeline.file")

FALLBACK_CATEGORY = "feedback"  # when triage is off: filed for a person to classify


@dataclass(frozen=True, slots=True)
class Filed:
    message_pk: int
    outcome: str  # "new_item", "follow_up" or "noise"
    item_ref: str | None
    project: str | None
    route: Route | None


@dataclass(frozen=True, slots=True)
class Answer:
    """The acknowledgement decision for one message, and every check that led to it."""

    text: str  # "queued <id> (why)" or "not sent: why"
    checks: tuple[str, ...] = ()  # "name: answer", in the order they were asked


class BatchContext(Protocol):
    """What a stage read once for a whole batch, and what its messages did so far.

    A message's changes count for the batch's next messages once its savepoint is kept.
    """

    def keep(self) -> None:
        """The message just worked was saved: what it did counts from now on."""
        ...

    def drop(self) -> None:
        """The message just worked was rolled back: forget what it did."""
        ...

    def finish(self, session: Session) -> None:
        """Write what the batch left for its end, before it commits."""
        ...


@dataclass(kw_only=True)
class BatchWrites:
    """What a batch writes at its end (its events, in one statement), and how to undo
    what a message changed in what the batch read when its savepoint is rolled back."""

    events: list[dict[str, Any]] = field(default_factory=list)
    _undo: list[Callable[[], None]] = field(default_factory=list)

    def event(self, **values: Any) -> None:
        """An event of the message at hand, written with the batch (as `Event(**values)`)."""
        self.events.append(
            {"at": utcnow(), "message_pk": None, "item_id": None, "actor": "mailbot"} | values
        )
        self._undo.append(self.events.pop)

    def undo(self, change: Callable[[], None]) -> None:
        """How to take back a change of the message at hand if it is rolled back."""
        self._undo.append(change)

    def keep(self) -> None:
        self._undo.clear()

    def drop(self) -> None:
        while self._undo:
            self._undo.pop()()

    def finish(self, session: Session) -> None:
        if self.events:
            # All in one executemany, in order (the ORM's bulk insert leaves out the None
            # columns and so splits events of different kinds into one INSERT each); after
            # the rows they name are flushed.
            session.flush()
            session.execute(insert(Event.__table__), self.events)
        self.events = []


class Acknowledger(Protocol):
    def acknowledge(
        self,
        session: Session,
        *,
        row: StoredMessage,
        message: Message,
        verdict: Verdict | None,
        item: Item,
        route: Route,
        new_item: bool,
        batch: BatchContext | None = None,
    ) -> Answer:
        """Queue an acknowledgement if one is due; return the decision and its checks.

        `batch`: what `prepare` read for the batch the message is in, if any.
        """
        ...

    def prepare(
        self, session: Session, work: Sequence[tuple[StoredMessage, Message, Item]]
    ) -> BatchContext:
        """Read what deciding a batch of (row, message, item) needs, in a few queries."""
        ...


@dataclass(frozen=True, slots=True)
class FilingContext:
    """What a filing hook sees: the message as filed, in the filing transaction."""

    config: Config
    row: StoredMessage
    message: Message
    verdict: Verdict | None
    item: Item
    route: Route
    new_item: bool


class FilingHook(Protocol):
    """A small policy that runs after a message is filed (escalation, change control, SLA).

    It may change the item and queue mail in the same transaction; it returns a
    note for the audit trail, or None when it had nothing to do.
    """

    def __call__(self, session: Session, ctx: FilingContext) -> str | None: ...


IN_CHUNK = 500  # values in one IN (...) of a batch's lookups (hostile mail has many)

FiledBy = tuple[int, str | None, ItemRef]  # a filed message's id, its sender and its item


def _ref_of(item: Item) -> ItemRef:
    return ItemRef(
        item.id,
        item.ref,
        None if item.project_key == UNASSIGNED_KEY else item.project_key,
        item.client_email,
    )


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    found = sorted(set(values))
    for start in range(0, len(found), IN_CHUNK):
        yield found[start : start + IN_CHUNK]


@dataclass
class FileBatch(BatchWrites):
    """What routing and filing a batch read from the database, in a few queries for all
    its messages; each message filed updates it for the batch's next ones (a reply filed
    after its first mail in the same batch follows it up, as it would one by one).

    A message's changes are undone when its savepoint is rolled back (`drop`). Item numbers
    are handed out here: the first of a project in the batch takes the counter row (and
    its lock, until the batch commits), the next ones count on, and `finish` writes the
    last one back; the search index is written for the whole batch at its end.
    """

    session: Session
    ours: dict[str, ItemRef]  # Message-IDs of our outgoing mail, to the item they are about
    filed: dict[str, list[FiledBy]]  # Message-ID -> the messages filed with it, by id
    refs: dict[str, ItemRef | None]  # references named in subjects: the item, None: unknown
    numbers: dict[str, int] = field(default_factory=dict)  # project -> last number given
    written: dict[str, int] = field(default_factory=dict)  # project -> the counter's number
    index: list[tuple[Item, bool, str | None, str | None]] = field(default_factory=list)
    item_ids: list[int] = field(default_factory=list)  # ids taken ahead for new items
    unfiled: int = 1  # messages of the batch not given an item id yet: as many are taken
    last_item_id: int | None = None  # SQLite: the largest item id so far

    @classmethod
    def read(cls, session: Session, work: Iterable[tuple[StoredMessage, Message]]) -> FileBatch:
        """Read the threads, the Message-IDs and the references of a batch of (row, message)."""
        messages = [message for _row, message in work]
        thread = {i for m in messages for i in (m.in_reply_to, *m.references) if i}
        own = {m.message_id for m in messages if m.message_id}
        columns = (Item.id, Item.ref, Item.project_key, Item.client_email)
        ours: dict[str, ItemRef] = {}
        for chunk in _chunks(thread):
            for mid, item_id, ref, key, client in session.execute(
                select(OutboxMail.message_id, *columns)
                .join(StoredMessage, OutboxMail.message_pk == StoredMessage.id)
                .join(Item, StoredMessage.item_id == Item.id)
                .where(among(OutboxMail.message_id, chunk))
                .order_by(OutboxMail.id)
            ):
                ours.setdefault(mid, ItemRef(item_id, ref, _project_of(key), client))
        filed: dict[str, list[FiledBy]] = {}
        for chunk in _chunks(thread | own):
            for row_id, mid, sender, item_id, ref, key, client in session.execute(
                select(StoredMessage.id, StoredMessage.message_id, StoredMessage.from_email)
                .add_columns(*columns)
                .join(Item, StoredMessage.item_id == Item.id)
                .where(among(StoredMessage.message_id, chunk))
            ):
                ref_ = ItemRef(item_id, ref, _project_of(key), client)
                filed.setdefault(mid, []).append((row_id, sender, ref_))
        for found in filed.values():
            found.sort(key=lambda f: f[0])
        tags = {
            f"{match.group(1)}-{int(match.group(2))}"
            for m in messages
            for match in REF_TAG.finditer(m.subject)
        }
        refs: dict[str, ItemRef | None] = {}
        for chunk in _chunks(tags):
            for item in session.scalars(select(Item).where(among(Item.ref, chunk))):
                refs[item.ref] = _ref_of(item)
        return cls(session, ours, filed, refs, unfiled=len(messages))

    # --- routing ---------------------------------------------------------------------

    def item_for_message_ids(self, message_ids: Sequence[str]) -> ItemRef | None:
        """As `DbItemLookup`: our mail's thread first, else the first mail filed with an id;
        the nearest ancestor wins."""
        for mid in message_ids:
            if mid in self.ours:
                return self.ours[mid]
            if mid in self.filed:
                return self.filed[mid][0][2]
        return None

    def item_for_ref(self, ref: str) -> ItemRef | None:
        if ref in self.refs and self.refs[ref] is not None:
            return self.refs[ref]
        # Unknown when the batch was read: perhaps an old reference of a moved item.
        return DbItemLookup(self.session).item_for_ref(ref)

    def earlier(self, message_id: str, row_id: int) -> FiledBy | None:
        """The first message filed with this Message-ID, other than `row_id`."""
        return next((f for f in self.filed.get(message_id, ()) if f[0] != row_id), None)

    # --- what filing a message does --------------------------------------------------

    def next_number(self, session: Session, key: str) -> int:
        """The project's next item number (the batch writes the last one at its end)."""
        before = self.numbers.get(key)
        if before is None:
            number = next_number(session, key)  # holds the counter row until the commit
            self.written[key] = number
            self._undo.append(lambda: (self.numbers.pop(key), self.written.pop(key)))
        else:
            number = before + 1
            self._undo.append(lambda: self.numbers.__setitem__(key, before))
        self.numbers[key] = number
        return number

    def next_item_id(self, session: Session) -> int | None:
        """An id for a new item, so its INSERT waits for the batch's end with the others
        (None: the database hands it out at an INSERT of its own).

        PostgreSQL: taken from the items' sequence, as many at once as the batch has messages
        left (one not used, a follow-up's, is a gap, as a rolled back INSERT leaves).
        SQLite: the largest id so far plus one, as SQLite gives it; the batch holds the
        write lock, so no other process inserts meanwhile.
        An id is not given back when a message is rolled back: a gap, nothing more.
        """
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            if not self.item_ids:
                # Without flushing the batch's rows so far: they are written together at its
                # end, not in a few statements each time ids run out.
                with session.no_autoflush:
                    taken = session.scalars(
                        text(
                            "SELECT nextval(pg_get_serial_sequence('items', 'id')) "
                            "FROM generate_series(1, :n)"
                        ),
                        {"n": max(self.unfiled, 1)},
                    ).all()
                if None in taken:
                    return None
                self.item_ids = list(taken)
            self.unfiled -= 1
            return self.item_ids.pop(0)
        if dialect == "sqlite":
            if self.last_item_id is None:
                self.last_item_id = session.scalar(select(func.max(Item.id))) or 0
            self.last_item_id += 1
            return self.last_item_id
        return None

    def filed_as(self, row: StoredMessage, item: Item, new_item: bool) -> None:
        """`row` is filed under `item`: later messages of the batch find it."""
        ref = _ref_of(item)
        if row.message_id:
            found = self.filed.setdefault(row.message_id, [])
            entry = (row.id, row.from_email, ref)  # found by the id as stored
            found.append(entry)
            found.sort(key=lambda f: f[0])
            self._undo.append(lambda: found.remove(entry))
        if new_item:
            before = self.refs.get(item.ref)
            self.refs[item.ref] = ref
            self._undo.append(lambda: self.refs.__setitem__(item.ref, before))
        self.index.append((item, new_item, row.subject, row.new_text))
        self._undo.append(self.index.pop)

    def finish(self, session: Session) -> None:
        """Write the counters' last numbers, the batch's events and its search index."""
        super().finish(session)
        for key, number in self.numbers.items():
            if number != self.written[key]:
                session.execute(
                    update(ProjectCounter)
                    .where(ProjectCounter.project_key == key)
                    .values(last_number=number)
                )
        if self.index:
            index_filed(session, self.index)
        self.index = []


def _project_of(key: str) -> str | None:
    return None if key == UNASSIGNED_KEY else key


def file_message(
    session: Session,
    config: Config,
    row: StoredMessage,
    message: Message,
    verdict: Verdict | None,
    hooks: Sequence[FilingHook] = (),
    batch: FileBatch | None = None,
) -> Filed:
    """Route and file one message. `batch`: what was read for the message's batch (its
    lookups then ask no query); None: the message is filed alone."""
    category = verdict.category if verdict else None
    if category == "none":  # decided once, by the classify stage
        row.state = MessageState.FILED
        reasons = verdict.explanation.get("decided_by") if verdict else None
        detail = {"reason": reasons or ", ".join(message.signals.reasons) or "noise"}
        if batch is not None:
            batch.event(message_pk=row.id, kind="noise", detail=detail)
        else:
            session.add(Event(message_pk=row.id, kind="noise", detail=detail))
        return Filed(row.id, "noise", None, None, None)

    lookup: ItemLookup = batch if batch is not None else DbItemLookup(session)
    route = route_to_project(message, config.projects, lookup, is_own=config.is_own_address)
    if route.item is not None:
        item = session.get(Item, route.item.item_id)
        assert item is not None
        new_item = False
        sender = message.from_.email if message.from_ else ""
        if not config.is_own_address(sender):  # a PM's "fixed it" must not reopen the issue
            _follow_up(
                session, item, row, category, sure=bool(verdict and not verdict.needs_review)
            )
    else:
        item = _new_item(session, route, message, verdict, opened_at=row.arrived_at, batch=batch)
        new_item = True
    _doubts(session, item, row, message, route, batch)
    row.item_id = item.id
    row.route = {**route.to_dict(), "new_item": new_item}  # the answer stage reads both
    row.state = MessageState.FILED
    ctx = FilingContext(config, row, message, verdict, item, route, new_item)
    notes = [note for hook in hooks if (note := hook(session, ctx))]
    detail = {"item": item.ref, "new_item": new_item, "route": route.step, "notes": notes}
    if batch is not None:  # the last event of its filing: written with the batch's
        batch.event(message_pk=row.id, item_id=item.id, kind="filed", detail=detail)
    else:
        session.add(Event(message_pk=row.id, item_id=item.id, kind="filed", detail=detail))
    if batch is not None:  # filed for the batch's next mails; indexed at its end
        batch.filed_as(row, item, new_item)
    else:  # The queue's search finds it at once; a follow-up's words are added to its item's.
        index_filed(session, [(item, new_item, row.subject, row.new_text)])
    return Filed(
        row.id,
        "new_item" if new_item else "follow_up",
        item.ref,
        None if item.project_key == UNASSIGNED_KEY else item.project_key,
        route,
    )


def _doubts(
    session: Session,
    item: Item,
    row: StoredMessage,
    message: Message,
    route: Route,
    batch: FileBatch | None = None,
) -> None:
    """What a person must look at: an outsider in a client's thread, a reused Message-ID."""
    reasons = []
    if route.step == OUTSIDER:
        reasons.append(route.explanation[-1] if route.explanation else "in another's thread")
    sender = message.from_.email if message.from_ else ""
    if not message.message_id_synthetic and batch is not None:
        first = batch.earlier(message.message_id, row.id)
        if first is not None and (first[1] or "") != sender:
            reasons.append(
                f"its Message-ID was used before by {first[1] or 'another sender'} "
                f"(message {first[0]}): the thread stays with that first mail"
            )
    elif not message.message_id_synthetic:
        earlier = session.scalars(
            select(StoredMessage)
            .where(
                StoredMessage.message_id == message.message_id,
                StoredMessage.id != row.id,
                StoredMessage.item_id.is_not(None),
            )
            .order_by(StoredMessage.id)
            .limit(1)
        ).first()
        if earlier is not None and (earlier.from_email or "") != sender:
            reasons.append(
                f"its Message-ID was used before by {earlier.from_email or 'another sender'} "
                f"(message {earlier.id}): the thread stays with that first mail"
            )
    if not reasons:
        return
    item.needs_review = True
    session.add(
        Event(message_pk=row.id, item_id=item.id, kind="review", detail={"reasons": reasons})
    )


def _new_item(
    session: Session,
    route: Route,
    message: Message,
    verdict: Verdict | None,
    *,
    opened_at: datetime | None,
    batch: FileBatch | None = None,
) -> Item:
    key = route.project or UNASSIGNED_KEY
    number = batch.next_number(session, key) if batch is not None else next_number(session, key)
    category = verdict.category if verdict else FALLBACK_CATEGORY
    item = Item(
        id=batch.next_item_id(session) if batch is not None else None,
        ref=f"{key}-{number}",
        project_key=key,
        number=number,
        category=category,
        status=initial_status(category),
        title=(message.subject_normalized or "(no subject)")[:2000],
        # Bounded like their columns: a 11 KB display name must not stop the filing.
        client_email=message.from_.email[:320] if message.from_ else None,
        client_name=clean_text(message.from_.name, limit=500) if message.from_ else None,
        language=variant_of(session, message, verdict.language if verdict else None),
        confidence=verdict.confidence if verdict else None,
        needs_review=verdict.needs_review if verdict else True,
        escalate=verdict.escalate if verdict else False,
        # The client's clock: SLA, age and "new this week" count from the mail's arrival.
        created_at=opened_at or datetime.now(UTC),
    )
    session.add(item)
    created = {"ref": item.ref, "category": category, "route": route.to_dict()}
    if item.id is not None:  # inserted with the batch's other writes, at its end
        assert batch is not None
        batch.event(item_id=item.id, kind="created", detail=created)
        return item
    session.flush()
    session.add(Event(item_id=item.id, kind="created", detail=created))
    return item


def _follow_up(
    session: Session, item: Item, row: StoredMessage, category: str | None, *, sure: bool
) -> None:
    """A later message in an item's thread: may reopen an issue; never a new item."""
    # The client wrote back: whatever we were waiting for from them has come (or is due now
    # from us: the PM reads the answer and asks again if it was not it).
    clear_waiting(session, item, actor="mailbot", why=f"the client answered (message {row.id})")
    if item.category == "issue" and item.status in CLOSED_ISSUE_STATES and category == "issue":
        if sure:  # "Still broken" after we said it was fixed.
            session.add(
                change_status(
                    item,
                    "reopened",
                    actor="mailbot",
                    reason=f"client reported the problem again (message {row.id})",
                )
            )
            item.escalate = True
            log.info("%s reopened by a follow-up from %s", item.ref, row.from_email)
        else:
            # A reply to a fixed issue is most often "works now, thanks" quoting the bug
            # report; an unsure "still broken" goes to a person instead of reopening it.
            item.needs_review = True
            reason = "the client wrote back on a closed issue: broken again?"
            session.add(
                Event(
                    item_id=item.id, message_pk=row.id, kind="review", detail={"reasons": [reason]}
                )
            )
    elif category == "feedback" and item.category != "feedback":
        session.add(
            Event(
                item_id=item.id,
                message_pk=row.id,
                kind="feedback",
                detail={"note": "client feedback on this item"},
            )
        )
