"""Escalation: tell the project's PM at once when a client mail needs a person now.

Reasons: triage flagged the mail (urgent, a complaint, shouting…), it comes from one of
the project's VIP senders, or it reopened an issue we had called resolved. The notice goes
to the PM only, once per message; the client is never mailed from here.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.outgoing.notice import queue_pm_notice, told
from mailbot.pipeline.file import FilingContext, FilingHook
from mailbot.storage.models import Event, Item

log = logging.getLogger("mailbot.escalation")

ESCALATION_KIND = "escalation"
MAX_TEXT_CHARS = 4000  # of the client's text quoted in a notice


def client_text(ctx: FilingContext) -> str:
    text = (ctx.message.new_text or ctx.message.text or "").strip()
    return text if len(text) <= MAX_TEXT_CHARS else text[:MAX_TEXT_CHARS] + "\n[…]"


def _reopened_now(session: Session, item: Item) -> bool:
    """Did the item reopen and has that not been escalated yet? (filing reopens it.)"""
    if item.status != "reopened":
        return False
    events = session.scalars(
        select(Event)
        .where(Event.item_id == item.id, Event.kind.in_(("status", ESCALATION_KIND)))
        .order_by(Event.id.desc())
    ).all()  # autoflush: the reopening of this very filing is included
    for event in events:
        if event.kind == ESCALATION_KIND:
            return False
        if event.detail.get("to") == "reopened":
            return True
    return False


def reasons_for(session: Session, ctx: FilingContext) -> list[str]:
    """Why this message should reach the PM now; empty when it need not."""
    reasons: list[str] = []
    if ctx.verdict is not None and ctx.verdict.escalate:
        reasons.extend(ctx.verdict.escalate_reasons or ("triage marked it as urgent",))
    sender = ctx.message.from_.email if ctx.message.from_ else ""
    project = ctx.config.project(ctx.item.project_key)
    if project is not None and sender and sender in project.vip_addresses:
        reasons.append(f"{sender} is a VIP of {project.name}")
    if not ctx.new_item and _reopened_now(session, ctx.item):
        reasons.append(f"the client reported the problem again: {ctx.item.ref} is reopened")
    return reasons


def _ours(config: Config, sender: str) -> bool:
    return config.is_own_address(sender)


class EscalationHook:
    """The filing hook; `clock` is injectable for tests."""

    def __init__(self, config: Config, *, clock: type[datetime] = datetime) -> None:
        self.config = config
        self.clock = clock

    def __call__(self, session: Session, ctx: FilingContext) -> str | None:
        message = ctx.message  # noise never reaches a filing hook
        sender = message.from_.email if message.from_ else ""
        if not sender or _ours(self.config, sender):
            return None  # the team writing in a thread is not a client's alarm
        reasons = reasons_for(session, ctx)
        if not reasons:
            return None
        item = ctx.item
        item.escalate = True
        context = {
            "reasons": reasons,
            "client": str(message.from_),
            "subject": message.subject_normalized or message.subject or "(no subject)",
            "new_text": client_text(ctx),
        }
        queued = queue_pm_notice(
            session,
            self.config,
            item,
            kind=ESCALATION_KIND,
            template=(ESCALATION_KIND, "notice"),
            subject=f"[Escalation] {item.ref}: {context['subject']}",
            context=context,
            dedupe_key=f"{ESCALATION_KIND}:{ctx.row.sha256}",
            message_pk=ctx.row.id,
            now=self.clock.now(UTC),
        )
        # The item stays filed and flagged; the audit trail says whether the PM was mailed.
        note = f"escalation ({'; '.join(reasons)}): {told(queued)}"
        session.add(
            Event(
                message_pk=ctx.row.id,
                item_id=item.id,
                kind=ESCALATION_KIND,
                detail={"reasons": reasons, "note": note},
            )
        )
        return note


def make_hook(config: Config) -> FilingHook | None:
    return EscalationHook(config)
