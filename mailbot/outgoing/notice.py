"""Notices to a project's PM: escalations, breakers, change-control questions."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.outgoing.send import (
    MAX_SUBJECT_CHARS,
    SEND_ERRORS,
    Audience,
    render_templated,
    send_templated,
)
from mailbot.outgoing.templates import TemplateNotFound
from mailbot.storage.models import Item, OutboxMail, StoredMessage

log = logging.getLogger("mailbot.notice")

# A notice's subject line in the PM's language: `escalation/notice_subject.zh-Hans.txt.j2`.
SUBJECT_SUFFIX = "_subject"


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
    nobody could be told (no PM configured, or the notice cannot be made). The message
    stays filed either way.
    """
    project = config.project(item.project_key)
    if project is None or not project.pm:
        where = f"project {item.project_key}" if project else "items without a project"
        return f"no PM configured for {where}: nobody notified (set projects.pm)"
    template_kind, category = template
    try:
        subject = _subject_line(config, item, template_kind, category, context) or subject
        return send_templated(
            session,
            config,
            kind=kind,
            template_kind=template_kind,
            category=category,
            item=item,
            project=project,
            audience=Audience.PM,
            subject=subject,
            context=context,
            dedupe_key=dedupe_key,
            message_pk=message_pk,
            now=now,
        )
    except SEND_ERRORS as err:
        log.error("%s notice for %s not queued: %s", kind, item.ref, err)
        return f"{err.message} ({err.code})"


def _subject_line(
    config: Config, item: Item, kind: str, category: str, context: Mapping[str, Any]
) -> str | None:
    """The notice's subject in the PM's language (`<kind>/<category>_subject.<lang>.txt.j2`),
    or None when there is no such template and the caller's own line is used."""
    try:
        draft = render_templated(
            config,
            kind=kind,
            category=f"{category}{SUBJECT_SUFFIX}",
            item=item,
            audience=Audience.PM,
            context=context,
        )
    except TemplateNotFound:
        return None
    line = " ".join(draft.body.text.split())
    return line[:MAX_SUBJECT_CHARS] or None


def told(queued: OutboxMail | str | None) -> str:
    """What `queue_pm_notice` did, as an audit note: told (to whom), told already, or why not."""
    if isinstance(queued, str):
        return f"PM not told: {queued}"
    if queued is None:
        return "PM told already"
    return f"PM told ({queued.rcpt_to[0]})"


UNDELIVERABLE_KIND = "undeliverable"
# Mail to our own people: one that cannot be delivered is logged, not reported by mail
# (a notice about a notice to an address that refuses mail would go nowhere either).
PM_KINDS = frozenset(
    {"escalation", "breaker", "pm_notice", "spam_filter", "digest", UNDELIVERABLE_KIND}
)


def tell_pm_undeliverable(
    session: Session, config: Config, row: OutboxMail, error: str, now: datetime
) -> OutboxMail | str | None:
    """A mail to a client was given up on: its item's PM hears of it, once, with the reason."""
    if row.kind in PM_KINDS or row.message_pk is None:
        return None
    stored = session.get(StoredMessage, row.message_pk)
    item = session.get(Item, stored.item_id) if stored and stored.item_id else None
    if item is None:
        return None
    return queue_pm_notice(
        session,
        config,
        item,
        kind=UNDELIVERABLE_KIND,
        template=(UNDELIVERABLE_KIND, "notice"),
        subject=f"[Not delivered] {item.ref}: {row.subject}"[:200],
        context={"to": ", ".join(row.rcpt_to), "error": error[:1000], "what": row.kind},
        dedupe_key=f"{UNDELIVERABLE_KIND}:{row.id}",
        message_pk=row.message_pk,
        now=now,
    )
