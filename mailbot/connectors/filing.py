"""The pushes a filed mail or a notice makes, written in the caller's transaction.

Nothing here talks to a tracker or a chat: it only adds rows for the worker
(`connectors.worker`), so a tracker that is down never holds up the filing of mail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.config_types import ChatConfig, ProjectConfig
from mailbot.connectors import pushes
from mailbot.message import Message
from mailbot.storage.models import Item, Push, StoredMessage

MAX_NOTE_CHARS = 20_000  # of a client's text copied into a tracker issue or note


def tracker_name(project_key: str) -> str:
    """The connector name of a project's tracker: "tracker:ACME"."""
    return f"tracker:{project_key}"


def client_text(message: Message) -> str:
    """The client's new text, with the attachments listed (their names and sizes)."""
    text = (message.new_text or message.text or "").strip()[:MAX_NOTE_CHARS]
    sender = message.from_.email if message.from_ else "unknown sender"
    lines = [f"From: {sender}", f"Subject: {message.subject}", "", text or "(no text)"]
    if message.attachments:
        lines += ["", "Attachments:"]
        lines += [
            f"- {a.filename or '(no name)'} ({a.content_type}, {a.size:,} bytes)"
            for a in message.attachments
        ]
    return "\n".join(lines)


def stored_client_text(row: StoredMessage) -> str:
    """`client_text` for a stored message (an item moved into a tracked project later)."""
    text = (row.new_text or "").strip()[:MAX_NOTE_CHARS]
    lines = [f"From: {row.from_email or 'unknown sender'}", f"Subject: {row.subject or ''}"]
    return "\n".join([*lines, "", text or "(no text)"])


def push_filed(
    session: Session,
    config: Config,
    *,
    item: Item,
    row: StoredMessage,
    message: Message,
    new_item: bool,
    escalated: bool = False,
    now: datetime | None = None,
) -> list[Push]:
    """A new item becomes a tracker issue; a client's follow-up, a note on it; an
    escalated mail or a doubtful new item, a chat notice. Returns the pushes queued."""
    project = config.project(item.project_key)
    queued: list[Push | None] = []
    sender = message.from_.email if message.from_ else ""
    from_client = not config.is_own_address(sender)
    if project is not None and project.tracker is not None and (new_item or from_client):
        if new_item:
            payload = {"ref": item.ref, "title": item.title, "description": client_text(message)}
            queued.append(
                pushes.enqueue(
                    session,
                    connector=tracker_name(project.key),
                    kind="create",
                    dedupe_key=f"create:{tracker_name(project.key)}:{item.id}",
                    payload=payload,
                    item_id=item.id,
                    message_pk=row.id,
                    now=now,
                )
            )
        else:
            queued.append(
                pushes.enqueue(
                    session,
                    connector=tracker_name(project.key),
                    kind="note",
                    dedupe_key=f"note:{item.id}:{row.id}",
                    payload={"ref": item.ref, "text": client_text(message)},
                    item_id=item.id,
                    message_pk=row.id,
                    now=now,
                )
            )
    if escalated:
        facts = _item_facts(item)
        queued += push_chat(
            session, config, project, "escalation", facts, key=f"{item.ref}:{row.id}", now=now
        )
    elif new_item and item.needs_review:
        queued += push_chat(session, config, project, "review", _item_facts(item), now=now)
    return [p for p in queued if p is not None]


def _item_facts(item: Item) -> dict[str, Any]:
    return {
        "ref": item.ref,
        "item_id": item.id,
        "title": item.title,
        "category": item.category,
        "status": item.status,
        "client": item.client_name or item.client_email or "",
    }


def chats_for(config: Config, project: ProjectConfig | None, event: str) -> list[ChatConfig]:
    """The webhooks that take `event` for this project: its own, then the site's."""
    own = project.chat if project is not None else ()
    return [c for c in (*own, *config.chat) if event in c.events]


def chat_language(chat: ChatConfig, project: ProjectConfig | None) -> str:
    """The chat's own language, else the PM's (site-wide chats: English)."""
    if chat.language:
        return chat.language
    return project.pm_language if project is not None and chat in project.chat else "en"


def push_chat(
    session: Session,
    config: Config,
    project: ProjectConfig | None,
    event: str,
    facts: dict[str, Any],
    *,
    key: str | None = None,
    now: datetime | None = None,
) -> list[Push | None]:
    """Queue one chat notice of `event` to every webhook that takes it.

    `facts` are the template's context; `key` makes it unique (default: the item's ref).
    """
    found = []
    for chat in chats_for(config, project, event):
        unique = key or str(facts.get("ref", ""))
        found.append(
            pushes.enqueue(
                session,
                connector=chat.name,
                kind="chat",
                dedupe_key=f"chat:{chat.name}:{event}:{unique}",
                payload={
                    "event": event,
                    "language": chat_language(chat, project),
                    "project": project.key if project else None,
                    "facts": facts,
                },
                item_id=facts.get("item_id"),
                now=now,
            )
        )
    return found
