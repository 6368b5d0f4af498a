"""Status mails: "ACME-42 is now resolved", in the client's language, in the client's thread.

The mail is a reply to the item's first client message (so mail programs keep it in
the conversation), rendered from `templates/status/<status>.<language>.*.j2` and
written to the outbox; the sender delivers it. Its dedupe key names the item, the
status and the status event, so a retry never sends it twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.message import Address, Message
from mailbot.outgoing.compose import compose_reply
from mailbot.outgoing.templates import TemplateLibrary
from mailbot.queue import QueueError
from mailbot.queue.actions import client_messages
from mailbot.storage.models import Blob, Item, OutboxMail, StoredMessage

STATUS_KIND = "status"


def status_dedupe_key(item: Item, status: str, event_id: int) -> str:
    return f"{STATUS_KIND}:{item.id}:{status}:{event_id}"


def original_message(session: Session, row: StoredMessage) -> Message:
    """The stored message parsed again from its original bytes, for threading headers."""
    from mailbot.parse import parse_bytes

    blob = session.get(Blob, row.sha256)
    if blob is None:  # the bytes are always stored first; this is a damaged database
        raise QueueError(
            f"the original bytes of message {row.id} are missing",
            "restore the database from a backup, or write to the client by hand",
        )
    return parse_bytes(blob.data)


def item_language(item: Item, config: Config) -> tuple[str, str]:
    """(the language to write in, the project's default language)."""
    project = config.project(item.project_key)
    default = project.language if project else "en"
    language = item.language if item.language and item.language != "mixed" else default
    return language, default


def notify_status(
    session: Session,
    config: Config,
    item: Item,
    status: str,
    *,
    event_id: int,
    note: str | None,
    now: datetime,
) -> OutboxMail | None:
    """Queue the status mail for `item`; None if this exact mail was queued before."""
    from mailbot.outgoing.outbox import enqueue

    rows = client_messages(session, config, item)
    if not rows:
        raise QueueError(
            f"{item.ref} has no message from the client to reply to",
            "change the status without --notify and write to the client by hand",
        )
    first = rows[0]
    original = original_message(session, first)
    to = original.reply_to[0] if original.reply_to else original.from_
    if to is None:
        raise QueueError(
            f"the first message of {item.ref} has no sender address",
            "change the status without --notify and write to the client by hand",
        )
    project = config.project(item.project_key)
    site = config.site
    language, default = item_language(item, config)
    context = {
        "ref": item.ref,
        "project": {"name": project.name if project else site.name, "key": item.project_key},
        "client_name": to.name or "",
        "subject": original.subject_normalized or item.title,
        "pm_name": project.pm_name if project and project.pm_name else site.name,
        "team_signature": site.name,
        "note": note or None,
        "status": status,
    }
    dirs = [d for d in (project.templates_dir if project else None, site.templates_dir) if d]
    rendered = TemplateLibrary(dirs).render(
        STATUS_KIND, status, language, context, default_language=default
    )
    composed = compose_reply(
        original,
        rendered,
        ref=item.ref,
        from_addr=Address(site.name, site.address),
        to=Address(to.name, to.email),
        domain=site.domain,
        dedupe_key=status_dedupe_key(item, status, event_id),
        envelope_from=config.smtp.envelope_from if config.smtp else None,
        date=now,
    )
    return enqueue(session, composed, kind=STATUS_KIND, message_pk=first.id)
