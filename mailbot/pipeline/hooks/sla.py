"""SLA: a person on our side answering in an item's thread is its first human response.

"Our side" is the shared inbox, `site.own_addresses`, a project's alias or PM, or any
address at the site's domain. mailbot's own automatic mail never counts: it is
recognised by its Message-ID in the outbox and by `Auto-Submitted`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.items.sla import aware, record_first_response
from mailbot.message import Message
from mailbot.pipeline.file import FilingContext, FilingHook
from mailbot.storage.models import OutboxMail


def is_automatic(session: Session, message: Message) -> bool:
    """mailbot's own mail coming back, or any mail marked as machine-made."""
    if message.signals.noise:
        return True
    auto = next((v for k, v in message.headers if k == "auto-submitted"), "no")
    if auto.strip().lower() != "no":
        return True
    if message.message_id_synthetic:
        return False
    found = session.scalar(select(OutboxMail.id).where(OutboxMail.message_id == message.message_id))
    return found is not None


def make_hook(config: Config) -> FilingHook | None:
    """The SLA hook is always on: measuring costs nothing and the digest relies on it."""

    def first_human_response(session: Session, ctx: FilingContext) -> str | None:
        if ctx.new_item or ctx.item.first_response_at is not None or ctx.message.from_ is None:
            return None  # only an answer in an existing thread can be a response
        sender = ctx.message.from_.email
        if not config.is_own_address(sender) or is_automatic(session, ctx.message):
            return None
        now = datetime.now(UTC)
        # The time it was written, but never in the future (a wrong clock on the sender's side).
        at = min(aware(ctx.message.date), now) if ctx.message.date else now
        record_first_response(
            session, ctx.item, at, by=sender, how="answered in the thread", message_pk=ctx.row.id
        )
        return f"first human response by {sender}"

    return first_human_response
