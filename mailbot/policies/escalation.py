"""Escalation: tell the project's PM at once when a client mail needs a person now.

Reasons: triage flagged the mail (urgent, a complaint, shouting…), it comes from one of
the project's VIP senders, or it reopened an issue we had called resolved. The notice goes
to the PM only, once per message; the client is never mailed from here. Also home of the
helpers that compose and queue any notice to a PM.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.change_control import ChangeControlError, template_library
from mailbot.config import Config
from mailbot.outgoing.compose import (
    MAIL_POLICY,
    Composed,
    ComposeError,
    clean_header_text,
    stable_message_id,
)
from mailbot.outgoing.templates import Rendered, TemplateNotFound, TemplateRenderError
from mailbot.pipeline.file import FilingContext, FilingHook
from mailbot.storage.models import Event, Item, OutboxMail

log = logging.getLogger("mailbot.escalation")

ESCALATION_KIND = "escalation"
MAX_TEXT_CHARS = 4000  # of the client's text quoted in a notice
# What can stop a notice being queued; the message is filed anyway.
NOTICE_ERRORS = (ChangeControlError, TemplateNotFound, TemplateRenderError, ComposeError)


def compose_notice(
    config: Config, *, to: str, subject: str, rendered: Rendered, dedupe_key: str, date: datetime
) -> Composed:
    """A fresh mail from the team address to one of us (a PM): not a reply to the client."""
    site = config.site
    msg = EmailMessage(policy=MAIL_POLICY)
    msg["From"] = HeaderAddress(display_name=clean_header_text(site.name), addr_spec=site.address)
    try:
        msg["To"] = HeaderAddress(addr_spec=to.strip())
    except (ValueError, IndexError):
        raise ChangeControlError(
            f"cannot send a notice to {to!r}", "fix the PM's address (projects.pm) in the config"
        ) from None
    msg["Subject"] = clean_header_text(subject)
    msg["Date"] = format_datetime(date)
    message_id = stable_message_id(dedupe_key, site.domain)
    msg["Message-ID"] = f"<{message_id}>"
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: a notice, not a reply
    msg["X-Auto-Response-Suppress"] = "All"  # no out-of-office back to the shared inbox
    msg.set_content(rendered.text, subtype="plain", charset="utf-8")
    if rendered.html is not None:
        msg.add_alternative(rendered.html, subtype="html", charset="utf-8")
        for part in msg.iter_parts():
            del part["MIME-Version"]  # add_alternative copies it into the parts
    msg["Content-Language"] = rendered.language_used
    return Composed(
        message_id=message_id,
        subject=str(msg["Subject"]),
        mail_from=(config.smtp.envelope_from if config.smtp else site.address).strip(),
        rcpt_to=(to.strip(),),
        raw=msg.as_bytes(policy=MAIL_POLICY),
        dedupe_key=dedupe_key,
    )


def queue_pm_notice(
    session: Session,
    config: Config,
    item: Item,
    *,
    kind: str,
    template: tuple[str, str],
    subject: str,
    context: Mapping[str, Any],
    dedupe_key: str,
    message_pk: int | None,
    now: datetime,
) -> OutboxMail | str | None:
    """Queue a notice to the item's PM.

    Returns the outbox row, None when it was queued before, or a sentence saying why
    nobody could be told (no PM configured for the item's project).
    """
    from mailbot.outgoing.outbox import enqueue

    project = config.project(item.project_key)
    if project is None or not project.pm:
        where = f"project {item.project_key}" if project else "items without a project"
        return f"no PM configured for {where}: nobody notified (set projects.pm)"
    values = {
        "ref": item.ref,
        "project": {"name": project.name, "key": project.key},
        "status": item.status,
        "pm_name": project.pm_name or "",
        "team_signature": config.site.name,
        **context,
    }
    rendered = template_library(config, item).render(*template, project.pm_language, values)
    composed = compose_notice(
        config, to=project.pm, subject=subject, rendered=rendered, dedupe_key=dedupe_key, date=now
    )
    return enqueue(session, composed, kind=kind, message_pk=message_pk)


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
        verdict, message = ctx.verdict, ctx.message
        if (verdict is not None and verdict.category == "none") or message.signals.noise:
            return None  # noise is never escalated (filing does not even call us for it)
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
        try:
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
        except NOTICE_ERRORS as err:
            # The item stays filed and flagged; the audit trail says why nobody was mailed.
            log.error("escalation of %s not queued: %s", item.ref, err)
            queued = f"{err.message} ({err.code})"
        if isinstance(queued, str):
            note = f"escalation not sent: {queued}"
        elif queued is None:
            note = "escalation already queued for this message"
        else:
            note = f"escalated to {queued.rcpt_to[0]}: {'; '.join(reasons)}"
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
