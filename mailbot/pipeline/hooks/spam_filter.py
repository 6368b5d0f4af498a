"""The spam filter is down: tell a PM once, when the first unchecked client mail is filed.

While spamd or rspamd does not answer, mail is still filed (marked "not checked", with the
reason); the first such mail to reach an item tells that item's PM, once for the whole
outage. The classify stage records the filter answering again, which ends the outage.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.outgoing.notice import queue_pm_notice, told
from mailbot.pipeline.file import FilingContext, FilingHook
from mailbot.pipeline.trust import FILTER_DOWN, FILTERS, filter_down, spam_verdict
from mailbot.storage.models import Event

NOTICE_KIND = "spam_filter"


def make_hook(config: Config) -> FilingHook | None:
    """On when a spam filter is configured."""
    if config.spam.backend not in FILTERS:
        return None

    def tell_pm_once(session: Session, ctx: FilingContext) -> str | None:
        verdict = spam_verdict(ctx.row)
        if verdict is None or verdict.status != "not_checked" or verdict.source not in FILTERS:
            return None
        if filter_down(session):
            return f"spam filter down ({verdict.source}): the PM was told before"
        now = datetime.now(UTC)
        reason = verdict.reasons[0] if verdict.reasons else "no answer"
        event = Event(
            message_pk=ctx.row.id,
            item_id=ctx.item.id,
            kind=FILTER_DOWN,
            at=now,
            detail={"source": verdict.source, "reason": reason},
        )
        session.add(event)
        session.flush()  # its id makes this outage's notice unique
        queued = queue_pm_notice(
            session,
            config,
            ctx.item,
            kind=NOTICE_KIND,
            template=(NOTICE_KIND, "notice"),
            subject=f"[Spam filter down] {verdict.source}",
            context={
                "source": verdict.source,
                "reason": reason,
                "since": f"{now:%Y-%m-%d %H:%M} UTC",
            },
            dedupe_key=f"{NOTICE_KIND}:{event.id}",
            message_pk=ctx.row.id,
            now=now,
        )
        return f"spam filter down ({verdict.source}: {reason}): {told(queued)}"

    return tell_pm_once
