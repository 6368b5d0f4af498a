"""The acknowledge stage: decide whether a client gets an acknowledgement, then queue it.

The decision is a chain of small checks, each with its reason, in the order a
careful person would ask them (listed in `rules/pipeline/chains.toml`): should this
mail be answered at all, by us, now? The acknowledgement itself is made by
`outgoing.send_templated` and written to the outbox in the same transaction; delivery
sends it later.
"""

from __future__ import annotations

import logging
from bisect import bisect_right, insort
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.config_types import ProjectConfig
from mailbot.items.calendar import WorkCalendar
from mailbot.items.lifecycle import change_status
from mailbot.message import Message, is_robot_address
from mailbot.outgoing.compose import Composed
from mailbot.outgoing.notice import queue_pm_notice, told
from mailbot.outgoing.outbox import outbox_values, write_outbox_rows
from mailbot.outgoing.send import SEND_ERRORS, refine_language, reply_address, send_templated
from mailbot.pipeline.breakers import active_breaker, trip
from mailbot.pipeline.chains import Link, Outcome, checked, load_chains, run_chain
from mailbot.pipeline.client_language import variant_of
from mailbot.pipeline.file import Answer, BatchContext, BatchWrites
from mailbot.pipeline.route import Route, is_listed_client
from mailbot.pipeline.trust import sender_verdict
from mailbot.storage.expressions import among
from mailbot.storage.models import Breaker, Event, Item, OutboxMail, StoredMessage
from mailbot.text import plural
from mailbot.trust.sender import SenderVerdict

if TYPE_CHECKING:
    from mailbot.triage import Verdict

log = logging.getLogger("mailbot.ack")

ROBOT_REPLY_WINDOW = timedelta(minutes=2)  # a "reply" to our ack this fast is a machine
RATE_WINDOW = timedelta(hours=1)  # of arrival time, for the volume limit
BURST_WINDOW = timedelta(hours=1)  # identical new text from one sender within this ...
BURST_REPEATS = 2  # ... this many times before: a machine repeating itself
ACK_KIND = "ack"
BREAKER_KIND = "breaker"
WOULD_ANSWER_KIND = "would_answer"  # observe mode: an acknowledgement recorded, not sent


@dataclass(frozen=True, slots=True)
class AckDecision:
    send: bool
    reason: str
    checks: tuple[Link, ...] = ()  # every check asked, in order, with its answer
    tripped: Breaker | None = None  # a breaker this decision set: the PM is told at once


@dataclass(frozen=True, slots=True)
class AckInput:
    """What the acknowledgement checks look at."""

    session: Session
    config: Config
    message: Message
    verdict: Verdict | None
    route: Route
    new_item: bool
    now: datetime
    arrived_at: datetime  # when the mail reached the server
    tripped: list[Breaker]  # filled by a check that stops answering the sender
    sender_check: SenderVerdict | None = None  # who sent it; None: never checked
    recipient: str = ""  # where the answer would go (outgoing.reply_address); "" = the sender
    batch: AckBatch | None = None  # what the checks read, read once for the whole batch

    @property
    def sender(self) -> str:
        return self.message.from_.email if self.message.from_ else ""

    @property
    def to(self) -> str:
        return self.recipient or self.sender

    def trip(self, reason: str) -> None:
        if self.batch is not None:
            breaker = self.batch.trip(self.session, self.to, reason, self.now, self.config)
        else:
            breaker = trip(self.session, self.to, reason, self.now, self.config)
        if breaker is not None:
            self.tripped.append(breaker)


MISSING = object()  # an address the batch did not read


@dataclass
class AckBatch(BatchWrites):
    """What the acknowledgement checks of a batch read from the database, read in a few
    queries for all its messages; each message's answer then updates it for the next ones.

    A message's changes count for the next ones at once; when its savepoint is rolled
    back they are undone (`drop`).
    """

    breakers: dict[str, Breaker | None]  # by address: the breaker row, None: no breaker
    ours: dict[str, OutboxMail]  # our acknowledgements by Message-ID (the batch's threads)
    # (sender, subject) -> (new text, arrival, Message-ID) of mails that may repeat one
    texts: dict[tuple[str | None, str | None], list[tuple[str | None, datetime, str | None]]]
    # Arrival times of acknowledged mails, by sender, sorted: those in the hour before some
    # but not all of the batch's mails, and those the batch queued.
    acked: dict[str, list[datetime]]
    queued_keys: set[str] = field(default_factory=set)  # dedupe keys in the outbox or queued
    # by sender: how many acknowledged mails arrived within the hour before every mail
    within_all: dict[str, int] = field(default_factory=dict)
    outbox: list[dict[str, Any]] = field(default_factory=list)  # rows written at the end

    @classmethod
    def read(
        cls,
        session: Session,
        work: Iterable[tuple[StoredMessage, Message, str]],
    ) -> AckBatch:
        """Read what the checks need for (row, message, address the answer goes to) each."""
        rows = list(work)
        if not rows:
            return cls({}, {}, {}, {})
        senders = {m.from_.email for _r, m, _to in rows if m.from_}
        arrivals = [r.arrived_at for r, _m, _to in rows]
        first, last = min(arrivals), max(arrivals)
        addresses = {to for _r, _m, to in rows}
        breakers: dict[str, Breaker | None] = dict.fromkeys(addresses)
        if addresses:
            for breaker in session.scalars(
                select(Breaker).where(among(Breaker.address, addresses))
            ):
                breakers[breaker.address] = breaker
        thread = {i for _r, m, _to in rows for i in (m.in_reply_to, *m.references) if i}
        ours: dict[str, OutboxMail] = {}
        if thread:
            for mail in session.scalars(
                select(OutboxMail)
                .where(among(OutboxMail.message_id, thread), OutboxMail.kind == ACK_KIND)
                .order_by(OutboxMail.id)
            ):
                ours.setdefault(mail.message_id, mail)
        texts: dict[tuple[str | None, str | None], list[tuple[str | None, datetime, str | None]]]
        texts = {}
        said = [m for _r, m, _to in rows if m.from_ and (m.new_text or "").strip()]
        if said:
            subjects = {m.subject_normalized for m in said}
            subject = among(StoredMessage.subject_normalized, subjects - {None})
            if None in subjects:
                subject = or_(subject, StoredMessage.subject_normalized.is_(None))
            for sender, subj, new_text, arrived, mid in session.execute(
                select(
                    StoredMessage.from_email,
                    StoredMessage.subject_normalized,
                    StoredMessage.new_text,
                    StoredMessage.arrived_at,
                    StoredMessage.message_id,
                ).where(
                    among(StoredMessage.from_email, {m.from_.email for m in said if m.from_}),
                    subject,
                    among(StoredMessage.new_text, {m.new_text for m in said}),
                    StoredMessage.arrived_at >= first - BURST_WINDOW,
                    StoredMessage.arrived_at <= last,
                )
            ):
                texts.setdefault((sender, subj), []).append((new_text, arrived, mid))
        acked: dict[str, list[datetime]] = {}
        within_all: dict[str, int] = {}
        if senders:
            acks = (
                select(StoredMessage.from_email, StoredMessage.arrived_at)
                .select_from(OutboxMail)
                .join(StoredMessage, OutboxMail.message_pk == StoredMessage.id)
                .where(OutboxMail.kind == ACK_KIND, among(StoredMessage.from_email, senders))
            )
            # The hour before each mail of the batch: what arrived from the hour before
            # its last mail to its first is within every mail's hour, and is only counted
            # (a backlog from one sender would otherwise read back all of the sender's
            # answers of the hour for each batch); the times at the two ends are read.
            if last - RATE_WINDOW < first:
                counted = (
                    acks.with_only_columns(StoredMessage.from_email, func.count())
                    .where(
                        StoredMessage.arrived_at > last - RATE_WINDOW,
                        StoredMessage.arrived_at <= first,
                    )
                    .group_by(StoredMessage.from_email)
                )
                within_all = {sender: count for sender, count in session.execute(counted)}
                edges = or_(
                    (StoredMessage.arrived_at > first - RATE_WINDOW)
                    & (StoredMessage.arrived_at <= last - RATE_WINDOW),
                    (StoredMessage.arrived_at > first) & (StoredMessage.arrived_at <= last),
                )
            else:  # a batch spread over more than the hour: every time is read
                edges = (StoredMessage.arrived_at > first - RATE_WINDOW) & (
                    StoredMessage.arrived_at <= last
                )
            for sender, arrived in session.execute(acks.where(edges)):
                acked.setdefault(sender, []).append(arrived)
        for times in acked.values():
            times.sort()
        keys = [f"{ACK_KIND}:{row.sha256}" for row, _m, _to in rows]
        queued_keys = set(
            session.scalars(select(OutboxMail.dedupe_key).where(among(OutboxMail.dedupe_key, keys)))
        )
        return cls(breakers, ours, texts, acked, queued_keys, within_all=within_all)

    # --- what a message's checks ask -------------------------------------------------

    def breaker(self, session: Session, address: str, now: datetime) -> Breaker | None:
        """As `breakers.active_breaker`: the breaker in force, an expired one deleted."""
        found = self.breakers.get(address, MISSING)
        if found is MISSING:
            return active_breaker(session, address, now)
        if found is not None and found.expires_at <= now:  # type: ignore[union-attr]
            session.delete(found)
            self.breakers[address] = None
            self.undo(lambda: self.breakers.__setitem__(address, found))  # type: ignore[arg-type]
            return None
        return found  # type: ignore[return-value]

    def trip(
        self, session: Session, address: str, reason: str, now: datetime, config: Config
    ) -> Breaker | None:
        """As `breakers.trip`, the breaker then known to the batch's next messages."""
        if self.breaker(session, address, now) is not None:
            return None
        breaker = trip(session, address, reason, now, config, known_off=True)
        if breaker is not None:
            self.breakers[address] = breaker
            self.undo(lambda: self.breakers.__setitem__(address, None))
        return breaker

    def our_mail(self, message: Message) -> OutboxMail | None:
        ids = [i for i in (message.in_reply_to, *message.references) if i]
        found = [self.ours[i] for i in ids if i in self.ours]
        return min(found, key=lambda mail: mail.id) if found else None

    def repeats(self, sender: str, message: Message, arrived_at: datetime) -> int:
        """As the query of `_repeated_text`: the same mail from the sender within the window."""
        return sum(
            1
            for new_text, arrived, mid in self.texts.get((sender, message.subject_normalized), ())
            if new_text == message.new_text
            and arrived_at - BURST_WINDOW <= arrived <= arrived_at
            and mid is not None
            and mid != message.message_id
        )

    def acknowledged(self, sender: str, arrived_at: datetime) -> int:
        """Acknowledged mails of the sender that arrived within the hour before this one."""
        times = self.acked.get(sender, [])
        return (
            self.within_all.get(sender, 0)
            + bisect_right(times, arrived_at)
            - bisect_right(times, arrived_at - RATE_WINDOW)
        )

    # --- what a message did ----------------------------------------------------------

    def enqueue(
        self, session: Session, composed: Composed, *, kind: str, message_pk: int | None
    ) -> OutboxMail | None:
        """As `outbox.enqueue`, the row written with the batch's others at its end (in its
        transaction: it commits with the answers or not at all); None if its dedupe key
        is in the outbox or queued in the batch already. The batch holds the write lock
        (SQLite) or the messages' claims, so no other process queues the same key meanwhile;
        should one, the row is not written twice (ON CONFLICT DO NOTHING)."""
        if composed.dedupe_key in self.queued_keys:
            return None
        values = outbox_values(composed, kind=kind, message_pk=message_pk)
        self.queued_keys.add(composed.dedupe_key)
        self.outbox.append(values)
        self.undo(
            lambda: (self.outbox.remove(values), self.queued_keys.remove(values["dedupe_key"]))
        )
        return OutboxMail(**values)  # not in the session: written by `finish`

    def finish(self, session: Session) -> None:
        super().finish(session)
        if self.outbox:
            write_outbox_rows(session, self.outbox)
        self.outbox = []

    def queued(self, row: StoredMessage) -> None:
        """An acknowledgement of `row` was queued: it counts for the sender's rate."""
        if row.from_email is not None:
            times = self.acked.setdefault(row.from_email, [])
            insort(times, row.arrived_at)
            self.undo(lambda: times.remove(row.arrived_at))


Check = Callable[[AckInput], Outcome[str]]  # a decision is the reason not to answer


def _enabled(a: AckInput) -> Outcome[str]:
    on = a.config.acknowledgements.enabled
    return Outcome(None, "on") if on else Outcome("acknowledgements are off", "off")


def _sender_address(a: AckInput) -> Outcome[str]:
    if not a.sender or "@" not in a.sender:
        return Outcome("no usable sender address", "none")
    return Outcome(None, a.sender)


def _noise(a: AckInput) -> Outcome[str]:
    # Decided once, by the classify stage (the parser's signals when triage is off).
    if a.verdict is not None and a.verdict.category == "none":
        reason = "noise (auto-reply, bounce or bulk mail) is never answered"
        return Outcome(reason, "classified as noise")
    return Outcome(None, "client correspondence")


def _verified_sender(a: AckInput) -> Outcome[str]:
    verdict = a.sender_check
    if verdict is None:
        return Outcome(None, "sender not checked")
    if verdict.suspicious:
        why = verdict.reasons[0] if verdict.reasons else verdict.status
        return Outcome(f"possible impersonation ({verdict.status}): {why}", verdict.status)
    needed = "acknowledgement" in a.config.authentication.require_verified_for
    if needed and not verdict.verified:
        why = verdict.reasons[0] if verdict.reasons else "nothing proves the sender"
        return Outcome(
            f"the sender is not verified ({why}); acknowledgements need a verified sender",
            verdict.status,
        )
    return Outcome(None, verdict.status)


def _robot_address(a: AckInput) -> Outcome[str]:
    for address in dict.fromkeys((a.sender, a.to)):
        if is_robot_address(address):
            return Outcome(f"{address} is a robot address", "robot local part")
    return Outcome(None, "not a robot address")


def _own_address(a: AckInput) -> Outcome[str]:
    for address in dict.fromkeys((a.sender, a.to)):
        if a.config.is_own_address(address):
            return Outcome(f"{address} is one of our own addresses", "ours")
    return Outcome(None, "not ours")


def _max_age(a: AckInput) -> Outcome[str]:
    age = a.now - a.arrived_at
    limit = a.config.acknowledgements.max_age_hours
    if age > timedelta(hours=limit):
        reason = (
            f"arrived {_hours(age)} ago, more than acknowledgements.max_age_hours "
            f"({limit:g} h): filed without an answer"
        )
        return Outcome(reason, "too old")
    return Outcome(None, f"arrived {_hours(age)} ago")


def _hours(age: timedelta) -> str:
    hours = age.total_seconds() / 3600
    return f"{hours:.0f} h" if hours >= 1 else f"{age.total_seconds() / 60:.0f} min"


def _breaker(a: AckInput) -> Outcome[str]:
    if a.batch is not None:
        breaker = a.batch.breaker(a.session, a.to, a.now)
    else:
        breaker = active_breaker(a.session, a.to, a.now)
    if breaker is not None:
        until = f"{breaker.expires_at:%Y-%m-%d %H:%M} UTC"
        return Outcome(f"answers to {a.to} are stopped until {until}: {breaker.reason}", "tripped")
    return Outcome(None, "no breaker")


def _reply_to_our_mail(a: AckInput) -> Outcome[str]:
    if a.batch is not None:
        ours = a.batch.our_mail(a.message)
    else:
        ours = _our_mail_replied_to(a.session, a.message)
    if ours is None:
        return Outcome(None, "not a reply to our acknowledgement")
    # Arrival, not processing, time: a backlog read at once is no robot's speed.
    if _fast_reply(ours, a.arrived_at) and _fast_replies_before(a) >= 1:
        # Once may be a person ("thanks!"); again within the hour is a machine in a loop.
        a.trip(
            f"answered our automatic mail {ours.message_id} within "
            f"{ROBOT_REPLY_WINDOW.seconds // 60} minutes: looks like another robot",
        )
        return Outcome(f"{a.sender} looks like a robot: breaker tripped", "answered too fast")
    return Outcome("replies to our own acknowledgement are not acknowledged", "a reply to ours")


def _fast_reply(ours: OutboxMail, arrived_at: datetime) -> bool:
    return ours.sent_at is not None and timedelta(0) <= arrived_at - ours.sent_at < (
        ROBOT_REPLY_WINDOW
    )


def _fast_replies_before(a: AckInput) -> int:
    """Earlier mails of this sender in the last hour that answered our acknowledgement at
    robot speed (the answer stage records them as such)."""
    rows = a.session.scalars(
        select(StoredMessage)
        .where(
            StoredMessage.from_email == a.sender,
            StoredMessage.arrived_at >= a.arrived_at - RATE_WINDOW,
            StoredMessage.arrived_at < a.arrived_at,
            StoredMessage.in_reply_to.is_not(None),
        )
        .limit(50)
    ).all()
    count = 0
    for row in rows:
        ours = a.session.scalars(
            select(OutboxMail).where(
                OutboxMail.message_id == row.in_reply_to, OutboxMail.kind == ACK_KIND
            )
        ).first()
        count += ours is not None and _fast_reply(ours, row.arrived_at)
    return count


def _repeated_text(a: AckInput) -> Outcome[str]:
    text = (a.message.new_text or "").strip()
    if not text:
        return Outcome(None, "no text to compare")
    # The same subject and the same words again and again: a machine, not a person (people
    # reuse a body like "see attached", but not with the same subject each time).
    if a.batch is not None:
        repeats = a.batch.repeats(a.sender, a.message, a.arrived_at)
    else:
        repeats = _repeats(a)
    if repeats >= BURST_REPEATS:
        a.trip(f"sent the same mail {repeats + 1} times within an hour: a machine repeating itself")
        return Outcome(f"{a.sender} repeats itself: breaker tripped", f"{repeats} repeats")
    return Outcome(None, "not a repeat" if not repeats else plural(repeats, "repeat"))


def _repeats(a: AckInput) -> int:
    return (
        a.session.scalar(
            select(func.count())
            .select_from(StoredMessage)
            .where(
                StoredMessage.from_email == a.sender,
                StoredMessage.subject_normalized == a.message.subject_normalized,
                StoredMessage.new_text == a.message.new_text,
                StoredMessage.arrived_at >= a.arrived_at - BURST_WINDOW,
                StoredMessage.arrived_at <= a.arrived_at,
                StoredMessage.message_id != a.message.message_id,
            )
        )
        or 0
    )


def _follow_up(a: AckInput) -> Outcome[str]:
    if not a.new_item and not a.config.acknowledgements.follow_ups:
        reason = "a follow-up on an existing item gets no second acknowledgement"
        return Outcome(reason, "follow-up")
    return Outcome(None, "new item" if a.new_item else "follow-ups are answered")


def _known_sender(a: AckInput) -> Outcome[str]:
    """Only listed clients are answered: a keyword or a copied tag never makes one."""
    if a.config.acknowledgements.unknown_senders == "acknowledge":
        return Outcome(None, "strangers are answered too (unknown_senders = acknowledge)")
    project = a.config.project(a.route.project) if a.route.project else None
    if project is None:
        reason = "sender unknown to every project: filed for triage, not answered"
        return Outcome(reason, "unassigned")
    if is_listed_client(project, a.sender):
        return Outcome(None, f"a listed client of {project.key}")
    reason = (
        f"{a.sender} is not a listed client of {project.key} (filed by {a.route.step}): "
        "not answered"
    )
    return Outcome(reason, "not listed")


def _rate_limit(a: AckInput) -> Outcome[str]:
    limit = a.config.acknowledgements.max_per_sender_per_hour
    # Counted by when the mails arrived, so a backlog read at once is not a flood.
    if a.batch is not None:
        recent = a.batch.acknowledged(a.sender, a.arrived_at)
    else:
        recent = _recent_acks(a)
    if recent >= limit:
        a.trip(f"more than {limit} new threads acknowledged within an hour: a loop or a flood")
        return Outcome(f"rate limit reached for {a.sender}: breaker tripped", f"{recent} this hour")
    return Outcome(None, f"{recent} of {limit} this hour")


def _recent_acks(a: AckInput) -> int:
    return (
        a.session.scalar(
            select(func.count())
            .select_from(OutboxMail)
            .join(StoredMessage, OutboxMail.message_pk == StoredMessage.id)
            .where(
                OutboxMail.kind == ACK_KIND,
                StoredMessage.from_email == a.sender,
                StoredMessage.arrived_at > a.arrived_at - RATE_WINDOW,
                StoredMessage.arrived_at <= a.arrived_at,
            )
        )
        or 0
    )


ACK_CHECKS: dict[str, Check] = {
    "enabled": _enabled,
    "sender_address": _sender_address,
    "noise": _noise,
    "verified_sender": _verified_sender,
    "robot_address": _robot_address,
    "own_address": _own_address,
    "max_age": _max_age,
    "breaker": _breaker,
    "reply_to_our_mail": _reply_to_our_mail,
    "repeated_text": _repeated_text,
    "follow_up": _follow_up,
    "known_sender": _known_sender,
    "rate_limit": _rate_limit,
}


def ack_checks(path: Path | None = None) -> tuple[str, ...]:
    """The checks in the order `rules/pipeline/chains.toml` lists under `[answer]`."""
    return checked(path, "answer", load_chains(path)["answer"], ACK_CHECKS)


def decide(
    session: Session,
    config: Config,
    message: Message,
    verdict: Verdict | None,
    route: Route,
    new_item: bool,
    now: datetime,
    checks: Sequence[str] | None = None,
    *,
    arrived_at: datetime | None = None,
    sender_check: SenderVerdict | None = None,
    recipient: str = "",
    batch: AckBatch | None = None,
) -> AckDecision:
    """Whether to acknowledge this message; may trip a breaker as a side effect it reports.

    `batch`: what the checks read, read once for the batch the message is in.
    """
    a = AckInput(
        session,
        config,
        message,
        verdict,
        route,
        new_item,
        now,
        arrived_at or now,
        tripped=[],
        sender_check=sender_check,
        recipient=recipient,
        batch=batch,
    )
    names = ack_checks() if checks is None else checks
    refused, record = run_chain([(n, lambda c=ACK_CHECKS[n]: c(a)) for n in names])
    tripped = a.tripped[0] if a.tripped else None
    if refused is not None:
        return AckDecision(False, refused, tuple(record), tripped)
    return AckDecision(True, "new client item", tuple(record), tripped)


def _our_mail_replied_to(session: Session, message: Message) -> OutboxMail | None:
    ids = [i for i in (message.in_reply_to, *message.references) if i]
    if not ids:
        return None
    # Only our acknowledgements: a client may well answer an approval request at once.
    return session.scalars(
        select(OutboxMail).where(among(OutboxMail.message_id, ids), OutboxMail.kind == ACK_KIND)
    ).first()


def add_working_days(start: date, days: int) -> date:
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


def _mail_language(
    session: Session, message: Message, verdict: Verdict | None, item: Item
) -> str | None:
    """The language of this mail (a follow-up's may not be the item's), in its regional
    variant: the one the mail declares, else the item's when it is of the same script."""
    detected = variant_of(session, message, verdict.language) if verdict else None
    if detected and item.language:
        return refine_language(detected, item.language)
    return detected


def first_response_text(hours: int) -> dict[str, str]:
    return {
        "en": f"within {hours} working hour{'' if hours == 1 else 's'}",
        "zh-Hans": f"{hours}个工作小时内",
        "zh-Hant": f"{hours}個工作小時內",
    }


def promise_context(
    config: Config, project: ProjectConfig | None, item: Item, now: datetime
) -> dict[str, Any]:
    """What an acknowledgement promises, counted on the project's working calendar: the first
    answer's time and the office hours it is counted in, the decision date, and whether the
    issue was flagged urgent (then it names the PM and the escalation contact)."""
    acks = config.acknowledgements
    calendar = WorkCalendar.for_project(config, project)
    return {
        "first_response": first_response_text(acks.first_response_hours),
        "response_due": calendar.add_working_hours(now, acks.first_response_hours),
        "office": {
            "hours": acks.first_response_hours,
            "start": calendar.start.strftime("%H:%M"),
            "end": calendar.end.strftime("%H:%M"),
            "timezone": calendar.timezone,
            "holidays": calendar.country,
        },
        "decision_by": calendar.add_working_days(
            now.astimezone(calendar.tz).date(), acks.decision_days
        ),
        "urgent": bool(item.escalate) and item.category == "issue",
        "escalation_contact": project.escalation_contact if project else None,
    }


def _recipient(row: StoredMessage, project: ProjectConfig | None) -> str:
    found = reply_address(row, project)
    return found.email if found else ""


class TemplateAcknowledger:
    """Decides on an acknowledgement and queues it with `send_templated` (the answer stage)."""

    def __init__(self, config: Config, *, clock: type[datetime] = datetime) -> None:
        self.config = config
        self.clock = clock

    def prepare(
        self, session: Session, work: Sequence[tuple[StoredMessage, Message, Item]]
    ) -> AckBatch:
        """Read what the checks of a batch of (row, message, item) need, in a few queries."""
        return AckBatch.read(
            session,
            (
                (row, message, _recipient(row, self.config.project(item.project_key)) or sender)
                for row, message, item in work
                for sender in [message.from_.email if message.from_ else ""]
            ),
        )

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
        now = self.clock.now(UTC)
        batch = batch if isinstance(batch, AckBatch) else None
        decision = decide(
            session,
            self.config,
            message,
            verdict,
            route,
            new_item,
            now,
            arrived_at=row.arrived_at,
            sender_check=sender_verdict(row),
            recipient=_recipient(row, self.config.project(item.project_key)),
            batch=batch,
        )
        checks = tuple(str(link) for link in decision.checks)
        if decision.tripped is not None:
            checks += (self._tell_pm(session, row, item, decision.tripped, now),)
        if not decision.send:
            return Answer(f"not sent: {decision.reason}", checks)
        project = self.config.project(item.project_key)
        if item.category == "feedback" and self.config.acknowledgements.feedback == "none":
            return Answer(
                'not sent: feedback is not answered (acknowledgements.feedback = "none")', checks
            )
        if self.config.acknowledgements.observing(now):
            return self._observed(
                session, row, item, _mail_language(session, message, verdict, item), checks
            )
        try:
            outbox = send_templated(
                session,
                self.config,
                queue=batch.enqueue if batch is not None else None,
                kind=ACK_KIND,
                category=item.category,
                item=item,
                thread_from=row,
                language=_mail_language(session, message, verdict, item),
                context=promise_context(self.config, project, item, now),
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
            return Answer(f"not sent: {err.message}", checks)
        if outbox is None:
            return Answer("not sent: already queued earlier", checks)
        if batch is not None:
            batch.queued(row)
        if item.category == "issue" and item.status == "new":
            status = change_status(
                item,
                "acknowledged",
                actor="mailbot",
                reason=f"acknowledgement {outbox.message_id} queued",
            )
            if batch is None:
                session.add(status)
            else:  # written with the batch's other events, at its end
                batch.event(item_id=status.item_id, kind=status.kind, detail=status.detail)
        return Answer(f"queued {outbox.message_id} ({decision.reason})", checks)

    def _observed(
        self,
        session: Session,
        row: StoredMessage,
        item: Item,
        language: str | None,
        checks: tuple[str, ...],
    ) -> Answer:
        """Observe mode: the acknowledgement that would have gone out, recorded, not sent."""
        to = _recipient(row, self.config.project(item.project_key))
        language = language or item.language
        session.add(
            Event(
                message_pk=row.id,
                item_id=item.id,
                kind=WOULD_ANSWER_KIND,
                detail={"to": to, "category": item.category, "language": language},
            )
        )
        return Answer(
            f"not sent: observe mode (would have sent the {item.category} acknowledgement to {to})",
            checks,
        )

    def _tell_pm(
        self, session: Session, row: StoredMessage, item: Item, breaker: Breaker, now: datetime
    ) -> str:
        """A breaker silences a sender: the item's PM hears of it at once."""
        queued = queue_pm_notice(
            session,
            self.config,
            item,
            kind=BREAKER_KIND,
            template=(BREAKER_KIND, "notice"),
            subject=f"[Answers stopped] {breaker.address}",
            context={
                "address": breaker.address,
                "reason": breaker.reason,
                "until": f"{breaker.expires_at:%Y-%m-%d %H:%M} UTC",
            },
            dedupe_key=f"{BREAKER_KIND}:{breaker.address}:{breaker.tripped_at.isoformat()}",
            message_pk=row.id,
            now=now,
        )
        return f"breaker: {told(queued)}"
