"""Failure notices for the chat: breakers tripped, mail set aside or undeliverable, pushes
to a tracker given up on.

These are found where they are recorded (the breakers, messages, outbox and pushes
tables) at each turn of the worker, since the last look, and queued once each by their
dedupe key: the places that decide them stay as they are, and a failure is noticed even
when it was recorded by another process.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.config_types import ProjectConfig
from mailbot.connectors.filing import push_chat
from mailbot.outgoing.notice import PM_KINDS
from mailbot.storage.models import (
    Breaker,
    ConnectorCursor,
    Item,
    MessageState,
    OutboxMail,
    OutboxState,
    Push,
    PushState,
    StoredMessage,
)

CURSOR = "chat:failures"
LOOK_BACK = timedelta(days=2)  # mail and pushes given up on are looked for this far back
MAX_ERROR_CHARS = 300  # of an error shown in a chat card


def wanted(config: Config) -> bool:
    """Does any chat webhook take failure notices?"""
    chats = [*config.chat, *(c for p in config.projects for c in p.chat)]
    return any("failure" in c.events for c in chats)


def queue_failures(session: Session, config: Config, now: datetime) -> int:
    """Queue a chat notice for each failure recorded since the last look."""
    cursor = session.get(ConnectorCursor, CURSOR)
    if cursor is None:  # failures from before the chat was configured are not announced
        session.add(ConnectorCursor(name=CURSOR, polled_at=now, status_event_id=0))
        return 0
    since = cursor.polled_at or now
    cursor.polled_at = now
    found: list[tuple[ProjectConfig | None, dict[str, Any], str]] = []
    for breaker in session.scalars(select(Breaker).where(Breaker.tripped_at > since)):
        project = next((p for p in config.projects if p.lists(breaker.address)), None)
        facts = _facts("breaker", None, breaker.address, breaker.reason)
        found.append(
            (project, facts, f"breaker:{breaker.address}:{breaker.tripped_at.isoformat()}")
        )
    set_aside = select(StoredMessage).where(
        StoredMessage.state == MessageState.SET_ASIDE, StoredMessage.updated_at > since
    )
    for row in session.scalars(set_aside):
        item = session.get(Item, row.item_id) if row.item_id else None
        project = config.project(item.project_key) if item else None
        subject = f"{row.from_email or '?'}: {row.subject or '(no subject)'}"
        facts = _facts("message", item.ref if item else None, subject, row.error or "")
        found.append((project, facts, f"message:{row.id}:{row.attempts}"))
    undelivered = select(OutboxMail).where(
        OutboxMail.state == OutboxState.FAILED, OutboxMail.created_at > now - LOOK_BACK
    )
    for mail in session.scalars(undelivered):
        if mail.kind in PM_KINDS:
            continue  # the PM's own notices: logged; a card per one would be noise
        stored = session.get(StoredMessage, mail.message_pk) if mail.message_pk else None
        item = session.get(Item, stored.item_id) if stored and stored.item_id else None
        project = config.project(item.project_key) if item else None
        subject = f"{', '.join(mail.rcpt_to)}: {mail.subject}"
        facts = _facts("mail", item.ref if item else None, subject, mail.last_error or "")
        found.append((project, facts, f"mail:{mail.id}"))
    given_up = select(Push).where(
        Push.state == PushState.FAILED, Push.kind != "chat", Push.created_at > now - LOOK_BACK
    )
    for push in session.scalars(given_up):
        project = config.project(push.connector.removeprefix("tracker:"))
        ref = str(push.payload.get("ref") or "") or None
        facts = _facts("push", ref, f"{push.kind} → {push.connector}", push.last_error or "")
        found.append((project, facts, f"push:{push.id}"))
    queued = 0
    for project, facts, key in found:
        made = push_chat(session, config, project, "failure", facts, key=key, now=now)
        queued += sum(1 for push in made if push is not None)
    return queued


def _facts(what: str, ref: str | None, subject: str, error: str) -> dict[str, Any]:
    error = " ".join(error.split())
    if len(error) > MAX_ERROR_CHARS:
        error = error[: MAX_ERROR_CHARS - 1] + "…"
    return {"what": what, "ref": ref, "subject": subject[:200], "error": error}
