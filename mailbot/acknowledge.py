"""The acknowledge stage: decide whether a client gets an acknowledgement, then queue it.

The decision is a chain of small checks, each with its reason, in the order a
careful person would ask them: should this mail be answered at all, by us,
now? The acknowledgement itself is made by `outgoing.send_templated` and written to
the outbox in the same transaction; delivery sends it later.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.items.lifecycle import change_status
from mailbot.message import Message
from mailbot.outgoing.send import SEND_ERRORS, send_templated
from mailbot.pipeline.route import Route
from mailbot.storage.models import Breaker, Event, Item, OutboxMail, StoredMessage

if TYPE_CHECKING:
    from mailbot.triage import Verdict

log = logging.getLogger("mailbot.ack")

ROBOT_LOCAL_PART = re.compile(
    r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer[-_.]?daemon|postmaster|bounces?|"
    r"notifications?|auto[-_.]?reply)([+\-_.].*)?$",
    re.IGNORECASE,
)
ROBOT_REPLY_WINDOW = timedelta(minutes=2)  # a "reply" to our ack this fast is a machine
RATE_WINDOW = timedelta(hours=1)
ACK_KIND = "ack"


@dataclass(frozen=True, slots=True)
class AckDecision:
    send: bool
    reason: str


def decide(
    session: Session,
    config: Config,
    message: Message,
    verdict: Verdict | None,
    route: Route,
    new_item: bool,
    now: datetime,
) -> AckDecision:
    """Whether to acknowledge this message; may trip a breaker as a side effect it reports."""
    acks = config.acknowledgements
    if not acks.enabled:
        return AckDecision(False, "acknowledgements are off")
    sender = message.from_.email if message.from_ else ""
    if not sender or "@" not in sender:
        return AckDecision(False, "no usable sender address")
    if (verdict is not None and verdict.category == "none") or message.signals.noise:
        return AckDecision(False, "noise (auto-reply, bounce or bulk mail) is never answered")
    if ROBOT_LOCAL_PART.match(sender.split("@", 1)[0]):
        return AckDecision(False, f"{sender} is a robot address")
    if config.is_own_address(sender):
        return AckDecision(False, f"{sender} is one of our own addresses")
    breaker = session.get(Breaker, sender)
    if breaker is not None:
        return AckDecision(False, f"answers to {sender} are stopped: {breaker.reason}")
    ours = _our_mail_replied_to(session, message)
    if ours is not None:
        if ours.sent_at is not None and now - _aware(ours.sent_at) < ROBOT_REPLY_WINDOW:
            trip(
                session,
                sender,
                f"answered our automatic mail {ours.message_id} within "
                f"{ROBOT_REPLY_WINDOW.seconds // 60} minutes: looks like another robot",
            )
            return AckDecision(False, f"{sender} looks like a robot: breaker tripped")
        return AckDecision(False, "replies to our own acknowledgement are not acknowledged")
    if not new_item and not acks.follow_ups:
        return AckDecision(False, "a follow-up on an existing item gets no second acknowledgement")
    if route.project is None and acks.unknown_senders == "triage":
        return AckDecision(False, "sender unknown to every project: filed for triage, not answered")
    recent = (
        session.scalar(
            select(func.count())
            .select_from(OutboxMail)
            .join(StoredMessage, OutboxMail.message_pk == StoredMessage.id)
            .where(
                OutboxMail.kind == ACK_KIND,
                StoredMessage.from_email == sender,
                OutboxMail.created_at >= now - RATE_WINDOW,
            )
        )
        or 0
    )
    if recent >= acks.max_per_sender_per_hour:
        trip(
            session,
            sender,
            f"more than {acks.max_per_sender_per_hour} acknowledgements "
            "in an hour: a loop or a flood",
        )
        return AckDecision(False, f"rate limit reached for {sender}: breaker tripped")
    return AckDecision(True, "new client item")


def trip(session: Session, address: str, reason: str) -> None:
    if session.get(Breaker, address) is None:
        session.add(Breaker(address=address, reason=reason))
        log.warning("stopped answering %s: %s", address, reason)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite drops the zone


def _our_mail_replied_to(session: Session, message: Message) -> OutboxMail | None:
    ids = [i for i in (message.in_reply_to, *message.references) if i]
    if not ids:
        return None
    # Only our acknowledgements: a client may well answer an approval request at once.
    return session.scalars(
        select(OutboxMail).where(OutboxMail.message_id.in_(ids), OutboxMail.kind == ACK_KIND)
    ).first()


def add_working_days(start: date, days: int) -> date:
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


def first_response_text(hours: int) -> dict[str, str]:
    return {
        "en": f"within {hours} business hours",
        "zh-Hans": f"{hours}个工作小时内",
        "zh-Hant": f"{hours}個工作小時內",
    }


class TemplateAcknowledger:
    """Decides on an acknowledgement and queues it with `send_templated` (the answer stage)."""

    def __init__(self, config: Config, *, clock: type[datetime] = datetime) -> None:
        self.config = config
        self.clock = clock

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
    ) -> str:
        now = self.clock.now(UTC)
        decision = decide(session, self.config, message, verdict, route, new_item, now)
        if not decision.send:
            return f"not sent: {decision.reason}"
        acks = self.config.acknowledgements
        try:
            outbox = send_templated(
                session,
                self.config,
                kind=ACK_KIND,
                category=item.category,
                item=item,
                thread_from=row,
                # The language of this mail, which on a follow-up may not be the item's.
                language=verdict.language if verdict else None,
                context={
                    "first_response": first_response_text(acks.first_response_hours),
                    "decision_by": add_working_days(now.date(), acks.decision_days),
                },
                dedupe_key=f"{ACK_KIND}:{row.sha256}",
                now=now,
            )
        except SEND_ERRORS as err:
            # The item stays filed; a person answers this one by hand.
            log.error("acknowledgement for %s not queued: %s", item.ref, err)
            session.add(
                Event(
                    message_pk=row.id,
                    item_id=item.id,
                    kind="ack_failed",
                    detail={"error": str(err)},
                )
            )
            return f"not sent: {err.message}"
        if outbox is None:
            return "not sent: already queued earlier"
        if item.category == "issue" and item.status == "new":
            session.add(
                change_status(
                    item,
                    "acknowledged",
                    actor="mailbot",
                    reason=f"acknowledgement {outbox.message_id} queued",
                )
            )
        return f"queued {outbox.message_id} ({decision.reason})"
