"""The file stage: route a classified message, attach it to an item, run the filing hooks.

Everything here happens in the caller's transaction, so the item, the message's state
and any mail a hook queues (an escalation, a decision's confirmation) commit together.
The acknowledgement is the next stage's (`answer`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.items.lifecycle import CLOSED_ISSUE_STATES, change_status, initial_status
from mailbot.items.progress import clear_waiting
from mailbot.items.store import UNASSIGNED_KEY, DbItemLookup, next_number
from mailbot.message import Message, clean_text
from mailbot.pipeline.client_language import variant_of
from mailbot.pipeline.route import OUTSIDER, Route, route_to_project
from mailbot.storage.models import Event, Item, MessageState, StoredMessage
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
    ) -> Answer:
        """Queue an acknowledgement if one is due; return the decision and its checks."""
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


def file_message(
    session: Session,
    config: Config,
    row: StoredMessage,
    message: Message,
    verdict: Verdict | None,
    hooks: Sequence[FilingHook] = (),
) -> Filed:
    category = verdict.category if verdict else None
    if category == "none":  # decided once, by the classify stage
        row.state = MessageState.FILED
        reasons = verdict.explanation.get("decided_by") if verdict else None
        detail = {"reason": reasons or ", ".join(message.signals.reasons) or "noise"}
        session.add(Event(message_pk=row.id, kind="noise", detail=detail))
        return Filed(row.id, "noise", None, None, None)

    route = route_to_project(
        message, config.projects, DbItemLookup(session), is_own=config.is_own_address
    )
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
        item = _new_item(session, route, message, verdict, opened_at=row.arrived_at)
        new_item = True
    _doubts(session, item, row, message, route)
    row.item_id = item.id
    row.route = {**route.to_dict(), "new_item": new_item}  # the answer stage reads both
    row.state = MessageState.FILED
    ctx = FilingContext(config, row, message, verdict, item, route, new_item)
    notes = [note for hook in hooks if (note := hook(session, ctx))]
    detail = {"item": item.ref, "new_item": new_item, "route": route.step, "notes": notes}
    session.add(Event(message_pk=row.id, item_id=item.id, kind="filed", detail=detail))
    # The queue's search finds it at once; a follow-up's words are added to its item's.
    index_filed(session, [(item, new_item, row.subject, row.new_text)])
    return Filed(
        row.id,
        "new_item" if new_item else "follow_up",
        item.ref,
        None if item.project_key == UNASSIGNED_KEY else item.project_key,
        route,
    )


def _doubts(
    session: Session, item: Item, row: StoredMessage, message: Message, route: Route
) -> None:
    """What a person must look at: an outsider in a client's thread, a reused Message-ID."""
    reasons = []
    if route.step == OUTSIDER:
        reasons.append(route.explanation[-1] if route.explanation else "in another's thread")
    sender = message.from_.email if message.from_ else ""
    if not message.message_id_synthetic:
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
) -> Item:
    key = route.project or UNASSIGNED_KEY
    number = next_number(session, key)
    category = verdict.category if verdict else FALLBACK_CATEGORY
    item = Item(
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
    session.flush()
    session.add(
        Event(
            item_id=item.id,
            kind="created",
            detail={"ref": item.ref, "category": category, "route": route.to_dict()},
        )
    )
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
