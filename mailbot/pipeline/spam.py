"""The spam view and a person's word on it: `mailbot spam list | not-spam ID… | mark ID…`.

Spam is filed as noise (no item, no answer) with the filter's reasons; it stays here for a
person to look at. "Not spam" is a correction: the mail goes round the stages again from
classify with the person's verdict in place of the filter's (so it is filed, and answered
if still young enough), and what triage then calls it is kept as a labelled example for
`mailbot model export-corrections`. The web workspace calls these same functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.errors import MailbotError
from mailbot.items.actions import record_correction
from mailbot.pipeline.failures import parse_key
from mailbot.pipeline.trust import PERSON
from mailbot.storage.models import Event, MessageState, StoredMessage
from mailbot.trust.spam import SpamVerdict

SPAM, HAM = "spam", "ham"


class SpamActionError(MailbotError):
    code = "MB320"


@dataclass(frozen=True, slots=True)
class SpamMail:
    """One message called spam, as a person needs to see it."""

    key: str  # "m12"
    id: int
    sender: str
    subject: str
    arrived_at: datetime
    source: str  # who said spam: spamd, rspamd, upstream, heuristics, person
    score: float | None
    threshold: float | None
    reasons: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "id": self.id,
            "sender": self.sender,
            "subject": self.subject,
            "arrived_at": self.arrived_at.isoformat(),
            "source": self.source,
            "score": self.score,
            "threshold": self.threshold,
            "reasons": list(self.reasons),
        }


def _spam_mail(row: StoredMessage) -> SpamMail:
    check = row.spam_check or {}
    return SpamMail(
        key=f"m{row.id}",
        id=row.id,
        sender=row.from_email or "",
        subject=row.subject or "",
        arrived_at=row.arrived_at,
        source=str(check.get("source", "?")),
        score=check.get("score"),
        threshold=check.get("threshold"),
        reasons=tuple(str(r) for r in check.get("reasons", ())),
    )


def list_spam(session: Session, *, limit: int = 200, offset: int = 0) -> list[SpamMail]:
    """Mail called spam, newest arrival first."""
    rows = session.scalars(
        select(StoredMessage)
        .where(StoredMessage.spam_status == SPAM)
        .order_by(StoredMessage.arrived_at.desc(), StoredMessage.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [_spam_mail(row) for row in rows]


def _row(session: Session, key: str) -> StoredMessage:
    kind, number = parse_key(key)
    row = session.get(StoredMessage, number) if kind == "message" else None
    if row is None:
        raise SpamActionError(
            f"no message {key!r}", "use the ids `mailbot spam list` shows (m<number>)"
        )
    return row


def spam_text(session: Session, key: str) -> str:
    """The plain text of a mail called spam, for a person to read before deciding.

    Only the text the parser made: a spam mail's HTML is never shown to anyone.
    """
    row = _row(session, key)
    if row.spam_status != SPAM:
        raise SpamActionError(
            f"message m{row.id} is not marked spam", "see the mail called spam: `mailbot spam list`"
        )
    return row.text or row.new_text or ""


def _person_verdict(status: str, actor: str, reason: str) -> SpamVerdict:
    said = f"marked {'spam' if status == SPAM else 'not spam'} by {actor}"
    return SpamVerdict(status, None, None, PERSON, (f"{said}: {reason}" if reason else said,))


def mark_not_spam(
    session: Session, keys: Sequence[str], *, actor: str, now: datetime, reason: str = ""
) -> list[str]:
    """The mails are not spam: each goes round again from classify. Returns their keys."""
    rows = [_row(session, key) for key in keys]
    for row in rows:
        if row.spam_status != SPAM:
            raise SpamActionError(
                f"message m{row.id} is not marked spam",
                "only mail `mailbot spam list` shows can be marked not spam",
            )
    for row in rows:
        verdict = _person_verdict(HAM, actor, reason)
        before = row.spam_check
        row.spam_check, row.spam_status = verdict.to_dict(), verdict.status
        row.state, row.failed_stage, row.error = MessageState.PARSED, None, None
        row.attempts, row.next_attempt_at, row.claimed_by = 0, now, None
        session.add(
            Event(
                message_pk=row.id,
                kind="not_spam",
                actor=actor,
                at=now,
                detail={"before": before, "reason": reason},
            )
        )
    session.flush()
    return [f"m{row.id}" for row in rows]


def mark_spam(
    session: Session, keys: Sequence[str], *, actor: str, now: datetime, reason: str = ""
) -> list[str]:
    """The mails are spam: kept as noise from now on, and a labelled example for triage.

    An item a mail was already filed to stays as it is (close it with `mailbot queue status`);
    returns one note per mail.
    """
    rows = [_row(session, key) for key in keys]
    notes = []
    for row in rows:
        verdict = _person_verdict(SPAM, actor, reason)
        row.spam_check, row.spam_status = verdict.to_dict(), verdict.status
        if row.category is not None and row.category != "none":
            before = row.category
            record_correction(
                session, row, field="category", old_value=before, new_value="none", actor=actor
            )
            row.category = "none"
        session.add(
            Event(
                message_pk=row.id,
                item_id=row.item_id,
                kind="spam",
                actor=actor,
                at=now,
                detail={"reason": reason},
            )
        )
        note = f"m{row.id} marked spam"
        if row.item_id is not None:
            note += " (it was filed to an item: close that with `mailbot queue status`)"
        notes.append(note)
    session.flush()
    return notes


def learned_from_not_spam(session: Session, row: StoredMessage, verdict_category: str) -> None:
    """After "not spam", what triage now calls the mail is a labelled example."""
    actor = session.scalar(
        select(Event.actor)
        .where(Event.message_pk == row.id, Event.kind == "not_spam")
        .order_by(Event.id.desc())
        .limit(1)
    )
    record_correction(
        session,
        row,
        field="category",
        old_value="none",
        new_value=verdict_category,
        actor=actor or "mailbot",
    )
