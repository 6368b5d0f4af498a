"""Connectors: a filed mail becomes a push to the team's tracker and chat.

A new item is queued as a tracker issue, a client's follow-up as a note on it, an
escalation or a doubtful new item as a chat notice — rows in the filing transaction,
sent later by `connectors.worker`. Off (None) when no tracker or chat is configured.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.connectors.filing import push_filed
from mailbot.connectors.worker import configured
from mailbot.pipeline.file import FilingContext, FilingHook
from mailbot.pipeline.hooks.escalation import ESCALATION_KIND
from mailbot.storage.models import Event


class ConnectorsHook:
    def __init__(self, config: Config) -> None:
        self.config = config

    def __call__(self, session: Session, ctx: FilingContext) -> str | None:
        escalated = (
            session.scalar(
                select(Event.id).where(
                    Event.message_pk == ctx.row.id, Event.kind == ESCALATION_KIND
                )
            )
            is not None
        )
        queued = push_filed(
            session,
            self.config,
            item=ctx.item,
            row=ctx.row,
            message=ctx.message,
            new_item=ctx.new_item,
            escalated=escalated,
        )
        if not queued:
            return None
        return "pushed: " + ", ".join(f"{p.kind} to {p.connector}" for p in queued)


def make_hook(config: Config) -> FilingHook | None:
    return ConnectorsHook(config) if configured(config) else None
