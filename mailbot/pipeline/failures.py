"""What did not go through: messages whose stage failed, mail the server would not take.

The actions behind `mailbot failed list | show | requeue` (and the web workspace):
a person sees what failed, where and why, and sends it round again once the cause is
fixed — never by editing rows in SQL. Message ids are written `m<id>`, outgoing mail
`o<id>`; a bare number means a message.

Each failure names the project it belongs to, so a PM sees only their own: a message
the project of the item it was filed to (TRIAGE while it is filed to none); outgoing
mail the project of the item it is about — the item of the message it answers or
notifies about, of a status notice or approval request — or of a client summary.
Other outgoing mail (digests, notices about spam or breakers) belongs to no project.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from mailbot.errors import MailbotError
from mailbot.items.actions import STATUS_KIND
from mailbot.items.change_control import APPROVAL_KIND
from mailbot.items.store import UNASSIGNED_KEY, item_by_ref
from mailbot.pipeline.stages import STAGE_BY_NAME
from mailbot.storage.models import (
    Event,
    Item,
    MessageState,
    OutboxMail,
    OutboxState,
    StoredMessage,
)

MESSAGE, OUTGOING = "message", "outgoing"
SUMMARY_KIND = "summary"  # reports.summary.KIND, which this layer may not import


class FailureError(MailbotError):
    code = "MB310"


@dataclass(frozen=True, slots=True)
class Failure:
    """One message or outgoing mail that failed, as a person needs to see it."""

    key: str  # "m12" or "o5"
    kind: str  # MESSAGE or OUTGOING
    id: int
    where: str  # the stage (parse, classify, file, answer) or the outgoing kind (ack, ...)
    set_aside: bool  # True: waits for a person; False: will be retried by itself
    attempts: int
    next_attempt_at: datetime | None
    error: str
    about: str  # sender and subject, or recipients and subject
    subject: str = ""
    people: tuple[str, ...] = ()  # the sender of a message, the recipients of outgoing mail
    project: str | None = None  # see the module docstring; None: no project's

    def as_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "kind": self.kind,
            "id": self.id,
            "where": self.where,
            "set_aside": self.set_aside,
            "attempts": self.attempts,
            "next_attempt_at": self.next_attempt_at.isoformat() if self.next_attempt_at else None,
            "error": self.error,
            "about": self.about,
            "subject": self.subject,
            "people": list(self.people),
            "project": self.project,
        }


def parse_key(text: str) -> tuple[str, int]:
    """("message" | "outgoing", id) from "m12", "o5" or "12"."""
    value = text.strip().lower()
    kind = MESSAGE
    if value[:1] in ("m", "o"):
        kind = OUTGOING if value[0] == "o" else MESSAGE
        value = value[1:]
    if not value.isdigit():
        raise FailureError(
            f"{text!r} is not a failure id",
            "use the ids `mailbot failed list` shows: m<number> for a message, "
            "o<number> for outgoing mail",
        )
    return kind, int(value)


def _item_project(session: Session, item_id: int | None) -> str | None:
    item = session.get(Item, item_id) if item_id is not None else None
    return item.project_key if item is not None else None


def message_project(session: Session, row: StoredMessage) -> str:
    """The project of the item a message was filed to; TRIAGE while it is filed to none."""
    return _item_project(session, row.item_id) or UNASSIGNED_KEY


def outgoing_project(session: Session, mail: OutboxMail) -> str | None:
    """The project an outgoing mail is about, or None (digests, spam and breaker notices)."""
    if mail.message_pk is not None:
        about = session.get(StoredMessage, mail.message_pk)
        if about is not None and about.item_id is not None:
            return _item_project(session, about.item_id)
    kind, _, rest = mail.dedupe_key.partition(":")
    head = rest.partition(":")[0]
    if kind == STATUS_KIND and head.isdigit():  # status:<item id>:<status>:<event id>
        return _item_project(session, int(head))
    if kind == APPROVAL_KIND and head:  # approval:<ref>:<digest>
        item = item_by_ref(session, head)
        return item.project_key if item is not None else None
    if kind == SUMMARY_KIND and head:  # summary:<project key>:<period>
        return head
    return None


def _message_failure(row: StoredMessage, project: str | None = None) -> Failure:
    return Failure(
        key=f"m{row.id}",
        kind=MESSAGE,
        id=row.id,
        where=row.failed_stage or "?",
        set_aside=row.state == MessageState.SET_ASIDE,
        attempts=row.attempts,
        next_attempt_at=None if row.state == MessageState.SET_ASIDE else row.next_attempt_at,
        error=row.error or "",
        about=f"{row.from_email or '(unknown sender)'}: {row.subject or '(no subject)'}",
        subject=row.subject or "",
        people=(row.from_email,) if row.from_email else (),
        project=project,
    )


def _outgoing_failure(row: OutboxMail, project: str | None = None) -> Failure:
    return Failure(
        key=f"o{row.id}",
        kind=OUTGOING,
        id=row.id,
        where=row.kind,
        set_aside=row.state == OutboxState.FAILED,
        attempts=row.attempts,
        next_attempt_at=None if row.state == OutboxState.FAILED else row.next_attempt_at,
        error=row.last_error or "",
        about=f"to {', '.join(row.rcpt_to)}: {row.subject}",
        subject=row.subject,
        people=tuple(str(a) for a in row.rcpt_to),
        project=project,
    )


def list_failures(
    session: Session, *, set_aside_only: bool = False, projects: Collection[str] | None = None
) -> list[Failure]:
    """Failed messages, then failed outgoing mail, oldest first.

    `projects`: only the failures of these projects (None: every failure, with or
    without a project).
    """
    states = (
        (MessageState.SET_ASIDE,)
        if set_aside_only
        else (MessageState.FAILED, MessageState.SET_ASIDE)
    )
    messages = session.scalars(
        select(StoredMessage).where(StoredMessage.state.in_(states)).order_by(StoredMessage.id)
    ).all()
    outgoing_filter = (
        OutboxMail.state == OutboxState.FAILED
        if set_aside_only
        else or_(
            OutboxMail.state == OutboxState.FAILED,
            (OutboxMail.state == OutboxState.PENDING) & (OutboxMail.attempts > 0),
        )
    )
    outgoing = session.scalars(
        select(OutboxMail).where(outgoing_filter).order_by(OutboxMail.id)
    ).all()
    found = [
        *(_message_failure(row, message_project(session, row)) for row in messages),
        *(_outgoing_failure(row, outgoing_project(session, row)) for row in outgoing),
    ]
    if projects is None:
        return found
    return [f for f in found if f.project is not None and f.project in projects]


@dataclass(frozen=True, slots=True)
class FailureDetail:
    failure: Failure
    history: list[dict[str, object]]  # the message's events, oldest first


def show_failure(session: Session, key: str) -> FailureDetail:
    kind, row_id = parse_key(key)
    if kind == MESSAGE:
        row = session.get(StoredMessage, row_id)
        if row is None or row.state not in (MessageState.FAILED, MessageState.SET_ASIDE):
            raise FailureError(f"message {row_id} has not failed", "see `mailbot failed list`")
        events = session.scalars(select(Event).where(Event.message_pk == row_id).order_by(Event.id))
        history = [
            {"at": e.at.isoformat(), "kind": e.kind, "actor": e.actor, "detail": e.detail}
            for e in events
        ]
        return FailureDetail(_message_failure(row, message_project(session, row)), history)
    mail = session.get(OutboxMail, row_id)
    if mail is None or not (
        mail.state == OutboxState.FAILED or (mail.state == OutboxState.PENDING and mail.attempts)
    ):
        raise FailureError(f"outgoing mail {row_id} has not failed", "see `mailbot failed list`")
    return FailureDetail(_outgoing_failure(mail, outgoing_project(session, mail)), [])


def requeue(session: Session, keys: list[str], *, actor: str, now: datetime) -> list[str]:
    """Send failed messages or mails round again, from the start of what failed.

    The attempt count starts again from zero; the history keeps every earlier attempt.
    A row a worker is trying right now is refused: requeued under its feet, it could
    be sent twice. Returns the keys requeued.
    """
    done: list[str] = []
    for key in keys:
        kind, row_id = parse_key(key)
        if kind == MESSAGE:
            row = session.get(StoredMessage, row_id)
            if row is None or row.state not in (MessageState.FAILED, MessageState.SET_ASIDE):
                raise FailureError(f"message {row_id} has not failed", "see `mailbot failed list`")
            _not_in_hand(key, row.claimed_by, row.next_attempt_at, now)
            stage = STAGE_BY_NAME.get(row.failed_stage or "")
            if stage is None:
                raise FailureError(
                    f"message {row_id} does not say which stage failed",
                    f"this is a bug; the original is safe: `mailbot messages --raw {row_id}`",
                )
            session.execute(
                update(StoredMessage)
                .where(StoredMessage.id == row_id)
                .values(
                    state=stage.takes,
                    failed_stage=None,
                    attempts=0,
                    next_attempt_at=now,
                    claimed_by=None,
                )
            )
            session.add(
                Event(
                    message_pk=row_id,
                    kind="requeued",
                    actor=actor,
                    detail={"stage": stage.name, "error": row.error, "attempts": row.attempts},
                )
            )
        else:
            mail = session.get(OutboxMail, row_id)
            if mail is None or mail.state == OutboxState.SENT:
                raise FailureError(
                    f"outgoing mail {row_id} has not failed", "see `mailbot failed list`"
                )
            _not_in_hand(key, mail.claimed_by, mail.next_attempt_at, now)
            session.execute(
                update(OutboxMail)
                .where(OutboxMail.id == row_id)
                .values(state=OutboxState.PENDING, attempts=0, next_attempt_at=now, claimed_by=None)
            )
            session.add(
                Event(
                    message_pk=mail.message_pk,
                    kind="outgoing_requeued",
                    actor=actor,
                    detail={"outbox": row_id, "error": mail.last_error, "attempts": mail.attempts},
                )
            )
        done.append(f"{'m' if kind == MESSAGE else 'o'}{row_id}")
    return done


def _not_in_hand(key: str, claimed_by: str | None, lease_end: datetime, now: datetime) -> None:
    if claimed_by is not None and lease_end > now:
        raise FailureError(
            f"{key} is being tried right now (by {claimed_by})",
            "wait a minute and look again: `mailbot failed list`",
        )
