"""Change control: apply the client's emailed answer to an approval request.

Runs on follow-ups in a change request's thread once approval was requested and while
the decision is open. A clear "Approved" / "同意" approves, a clear "Rejected" / "不同意"
rejects, each recorded with the client's words — but only from a reply to *our* approval
request (its Message-ID in In-Reply-To/References: only the client received it) sent by
the client. Anything else leaves the status alone, marks the item for review and tells
the PM: an unclear answer, or an answer that cannot be trusted as the client's (not a
reply to our request, a forged or look-alike sender). mailbot never guesses a decision.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.items.change_control import (
    APPROVAL_KIND,
    AWAITING_DECISION,
    Phrases,
    interpret_reply,
    load_phrases,
)
from mailbot.items.lifecycle import change_status
from mailbot.message import Address
from mailbot.outgoing.notice import queue_pm_notice, told
from mailbot.outgoing.send import SEND_ERRORS, send_templated
from mailbot.pipeline.file import FilingContext, FilingHook
from mailbot.pipeline.hooks.escalation import client_text
from mailbot.pipeline.trust import sender_verdict
from mailbot.storage.expressions import among
from mailbot.storage.models import Event, OutboxMail, StoredMessage

log = logging.getLogger("mailbot.items.change_control")

PM_NOTICE_KIND = "pm_notice"
DECISION_KIND = "decision"  # the confirmation to the client of the decision we recorded
CLOCK_SKEW = timedelta(minutes=15)  # a client's clock may run this much behind ours
NEW_STATUS = {"approve": "approved", "reject": "rejected"}


def replies_to_our_request(session: Session, ctx: FilingContext) -> bool:
    """Does the mail answer the approval request we sent the client for this item?"""
    ids = [i for i in (ctx.message.in_reply_to, *ctx.message.references) if i]
    if not ids:
        return False
    found = session.scalar(
        select(OutboxMail.id)
        .join(StoredMessage, OutboxMail.message_pk == StoredMessage.id)
        .where(
            OutboxMail.kind == APPROVAL_KIND,
            among(OutboxMail.message_id, ids),
            StoredMessage.item_id == ctx.item.id,
        )
    )
    return found is not None


def from_the_client(config: Config, ctx: FilingContext) -> bool:
    """The item's client, or another person of the client's (their boss may answer)."""
    sender = ctx.message.from_.email if ctx.message.from_ else ""
    if not sender:
        return False
    if sender == (ctx.item.client_email or "").lower():
        return True
    project = config.project(ctx.item.project_key)
    if project is None:
        return False
    domain = sender.rpartition("@")[2]
    return sender in project.client_addresses or domain in project.client_domains


class ChangeControlHook:
    """The filing hook; phrases are loaded at start-up so a broken file stops the daemon early."""

    def __init__(
        self, config: Config, phrases: Phrases, *, clock: type[datetime] = datetime
    ) -> None:
        self.config = config
        self.phrases = phrases
        self.clock = clock

    def __call__(self, session: Session, ctx: FilingContext) -> str | None:
        item = ctx.item
        if ctx.new_item or item.category != "change_request" or item.approval_requested_at is None:
            return None
        if item.status not in AWAITING_DECISION:
            return None  # decided already; later mail is ordinary correspondence
        if ctx.message.signals.noise or not from_the_client(self.config, ctx):
            return None  # an out-of-office or our own PM in the thread is no answer
        asked = item.approval_requested_at
        asked = asked if asked.tzinfo else asked.replace(tzinfo=UTC)  # SQLite drops the zone
        if ctx.message.date < asked - CLOCK_SKEW:
            # Dated before we asked: delivered late, re-sent, or a wrong clock. Not read as
            # an answer to this request, but not ignored either.
            return self._ambiguous(
                session,
                ctx,
                f"dated {ctx.message.date:%Y-%m-%d %H:%M %Z}, before the approval request",
            )
        if not replies_to_our_request(session, ctx):
            # The subject tag or the client's own Message-ID can be copied by anyone; our
            # request's Message-ID only the client received.
            return self._ambiguous(
                session,
                ctx,
                "not a reply to our approval request (its Message-ID is not in the thread "
                "headers): not taken as the client's decision",
            )
        doubt = self._sender_doubt(ctx)
        if doubt is not None:
            return self._ambiguous(session, ctx, doubt)
        decision = interpret_reply(ctx.message.new_text, self.phrases)
        actor = ctx.message.from_.email if ctx.message.from_ else "client"
        if decision.kind in NEW_STATUS:
            event = change_status(
                item,
                NEW_STATUS[decision.kind],
                actor=actor,
                reason=f"the client answered by email: {decision.evidence}",
            )
            event.message_pk = ctx.row.id
            event.detail = {**event.detail, "evidence": decision.evidence}
            session.add(event)
            # needs_review stays as it is: it may be a triage doubt, which a PM clears.
            confirmed = self._confirm(session, ctx, NEW_STATUS[decision.kind])
            return (
                f"change request {NEW_STATUS[decision.kind]} by {actor}: {decision.evidence}; "
                f"{confirmed}"
            )
        return self._ambiguous(session, ctx, decision.evidence)

    def _sender_doubt(self, ctx: FilingContext) -> str | None:
        """Why the sender's word cannot decide (see docs/security.md); None when it can."""
        verdict = sender_verdict(ctx.row)
        if verdict is not None and verdict.suspicious:
            why = verdict.reasons[0] if verdict.reasons else verdict.status
            return f"possible impersonation ({verdict.status}: {why}): not taken as a decision"
        if "approval" not in self.config.authentication.require_verified_for:
            return None
        if verdict is None or not verdict.verified:
            why = verdict.reasons[0] if verdict and verdict.reasons else "not checked"
            return (
                f"the sender is not verified ({why}): a decision by email needs a verified "
                "sender, so the PM confirms it"
            )
        return None

    def _confirm(self, session: Session, ctx: FilingContext, status: str) -> str:
        """Tell the client, in their thread and language, which decision we recorded."""
        message = ctx.message
        if not self.config.acknowledgements.enabled or message.from_ is None:
            return "decision not confirmed: acknowledgements are off"
        # No breaker check: a decision is taken once, from a reply to our own request, so
        # its confirmation cannot loop; a breaker tripped by forgeries must not hide it.
        now = self.clock.now(UTC)
        if self.config.acknowledgements.observing(now):
            return "decision not confirmed: observe mode (nothing automatic goes to clients)"
        try:
            outbox = send_templated(
                session,
                self.config,
                kind=DECISION_KIND,
                category=status,
                item=ctx.item,
                thread_from=ctx.row,
                # To the client who decided, never to a Reply-To someone else wrote.
                to=[Address(message.from_.name, message.from_.email)],
                dedupe_key=f"{DECISION_KIND}:{ctx.row.sha256}",
                now=now,
            )
        except SEND_ERRORS as err:
            # The decision stands; a person tells the client by hand.
            log.error("confirmation of %s's decision not queued: %s", ctx.item.ref, err)
            return f"decision not confirmed: {err.message} ({err.code})"
        return f"confirmed to the client ({outbox.message_id})" if outbox else "already confirmed"

    def _ambiguous(self, session: Session, ctx: FilingContext, evidence: str) -> str:
        item = ctx.item
        item.needs_review = True
        queued = queue_pm_notice(
            session,
            self.config,
            item,
            kind=PM_NOTICE_KIND,
            template=("approval", "ambiguous"),
            subject=f"[Decision needed] {item.ref}: unclear answer to the approval request",
            context={
                "client": str(ctx.message.from_),
                "evidence": evidence,
                "new_text": client_text(ctx) or "(nothing written)",
            },
            dedupe_key=f"{PM_NOTICE_KIND}:approval:{ctx.row.sha256}",
            message_pk=ctx.row.id,
            now=self.clock.now(UTC),
        )
        notified = told(queued)
        session.add(
            Event(
                message_pk=ctx.row.id,
                item_id=item.id,
                kind="approval_ambiguous",
                detail={
                    "note": "ambiguous answer, PM to decide",
                    "evidence": evidence,
                    "notified": notified,
                },
            )
        )
        return f"ambiguous answer, PM to decide: {evidence}; {notified}"


def make_hook(config: Config) -> FilingHook | None:
    return ChangeControlHook(config, load_phrases())
