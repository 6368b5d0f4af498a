"""One item: its thread in order, the verdict and why, the route, the SLA clock, the history."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sqlalchemy import or_, select
from starlette.responses import Response
from starlette.routing import Route

from mailbot.items.actions import item_messages, old_refs
from mailbot.items.lifecycle import LIFECYCLES
from mailbot.items.sla import due_at, sla_state
from mailbot.items.views import flags, tracker_issue, verdict_reasons
from mailbot.parse.parser import read_attachment
from mailbot.storage.models import Blob, Event, Item, OutboxMail, StoredMessage
from mailbot.web.access import item_for
from mailbot.web.context import Ctx, Denied, page


def quoted_part(row: StoredMessage) -> str:
    """What the mail carried besides its new text: the quoted history and the signature."""
    text, new = (row.text or "").strip(), (row.new_text or "").strip()
    if not text or text == new:
        return ""
    if new and text.startswith(new):
        return text[len(new) :].strip()
    return text


def thread(ctx: Ctx, item: Item) -> list[dict[str, Any]]:
    """Client mails and what we sent, oldest first."""
    rows = item_messages(ctx.db, item)
    entries: list[dict[str, Any]] = [
        {
            "kind": "ours"
            if row.from_email and ctx.config.is_own_address(row.from_email)
            else "client",
            "at": row.arrived_at,
            "row": row,
            "quoted": quoted_part(row),
            "reasons": verdict_reasons(row.verdict),
        }
        for row in rows
    ]
    ids = [row.id for row in rows]
    sent = ctx.db.scalars(
        select(OutboxMail)
        .where(
            or_(
                OutboxMail.message_pk.in_(ids),
                OutboxMail.dedupe_key.like(f"status:{item.id}:%"),
                OutboxMail.dedupe_key.like(f"approval:{item.ref}:%"),
            )
        )
        .order_by(OutboxMail.created_at)
    )
    for mail in sent:
        entries.append({"kind": "outbox", "at": mail.sent_at or mail.created_at, "mail": mail})
    entries.sort(key=lambda e: e["at"])
    return entries


def events(ctx: Ctx, item: Item) -> list[Event]:
    ids = [row.id for row in item_messages(ctx.db, item)]
    return list(
        ctx.db.scalars(
            select(Event)
            .where(or_(Event.item_id == item.id, Event.message_pk.in_(ids)))
            .order_by(Event.at, Event.id)
        )
    )


# What each kind of event says in one line: the detail keys worth reading, in order. The
# whole record is still one click away on the page.
EVENT_KEYS: dict[str, tuple[str, ...]] = {
    "stored": ("folder",),
    "created": ("ref", "category", "split_from"),
    "filed": ("item", "route"),
    "status": ("from", "to", "reason"),
    "answered": ("ack",),
    "would_answer": ("to", "language"),
    "moved": ("from", "to", "reason"),
    "reclassified": ("from", "to", "reason"),
    "assigned": ("from", "to", "reason"),
    "note": ("text",),
    "merged": ("into", "reason"),
    "merged_from": ("from", "reason"),
    "split": ("to", "reason"),
    "target_date": ("from", "to"),
    "waiting": ("note", "needed_by"),
    "waiting_ended": ("note", "why"),
}
SUMMARY_CHARS = 160


def event_summary(event: Event) -> str:
    """One readable line for the history: the event's main facts, not its whole record."""
    detail = event.detail or {}
    keys = EVENT_KEYS.get(event.kind)
    if keys is None:  # another kind: its plain values, never nested records
        keys = tuple(k for k, v in detail.items() if isinstance(v, str | int | float))
    parts = []
    for key in keys:
        value = detail.get(key)
        if value in (None, "", [], {}) or isinstance(value, dict | list):
            continue
        if key in ("from", "to") and event.kind in ("status", "moved", "reclassified"):
            continue  # shown as "from → to" below
        parts.append(str(value))
    if event.kind in ("status", "moved", "reclassified", "assigned", "target_date"):
        before, after = detail.get("from"), detail.get("to")
        if before or after:
            parts.insert(0, f"{before or '–'} → {after or '–'}")
    text = " · ".join(parts)
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


@page()
def item_page(ctx: Ctx) -> Response:
    item = item_for(ctx.db, ctx.me, ctx.request.path_params["ref"])
    if item.ref != ctx.request.path_params["ref"]:
        return ctx.redirect(f"/items/{item.ref}")  # an old reference: the item was moved
    merged_into = ctx.db.get(Item, item.merged_into_id) if item.merged_into_id else None
    return ctx.render(
        "item.html",
        item=item,
        flags=flags(item, ctx.config, ctx.now),
        sla=sla_state(item, ctx.config, ctx.now),
        due=due_at(item, ctx.config),
        old_refs=old_refs(ctx.db, item),
        tracker=tracker_issue(ctx.db, item),
        merged_into=merged_into,
        thread=thread(ctx, item),
        events=events(ctx, item),
        event_summary=event_summary,
        next_statuses=LIFECYCLES.get(item.category, {}).get(item.status, ()),
        categories=list(LIFECYCLES),
        projects=ctx.config.projects,
    )


@page()
def attachment(ctx: Ctx) -> Response:
    """One attachment of a client mail, as a download that no browser renders.

    Whatever type the sender declared, it is served as application/octet-stream with
    `Content-Disposition: attachment` and a sandboxing CSP: an HTML or SVG file from a
    stranger never runs in the workspace's origin.
    """
    row = ctx.db.get(StoredMessage, int(ctx.request.path_params["id"]))
    if row is None:
        raise Denied(404)
    item = ctx.db.get(Item, row.item_id) if row.item_id is not None else None
    if item is None:
        if not ctx.me.is_admin:  # noise and spam belong to no project: admins only
            raise Denied(404)
    else:
        item_for(ctx.db, ctx.me, item.ref)
    blob = ctx.db.get(Blob, row.sha256)
    found = read_attachment(blob.data, int(ctx.request.path_params["n"])) if blob else None
    if found is None:
        raise Denied(404)
    meta, data = found
    name = safe_filename(meta.filename, meta.content_type)
    return Response(
        data,
        media_type="application/octet-stream",
        headers={
            "content-disposition": f'attachment; filename="{ascii_name(name)}"; '
            f"filename*=UTF-8''{quote(name)}",
            "content-security-policy": "sandbox; default-src 'none'",
            "cache-control": "private, no-store",
        },
    )


def safe_filename(name: str | None, content_type: str) -> str:
    """A name for the download: no path, no control characters, never empty."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '"<>:|?*').strip(". ")
    if not base:
        base = "message.eml" if content_type == "message/rfc822" else "attachment"
    return base[:150]


def ascii_name(name: str) -> str:
    return name.encode("ascii", "replace").decode("ascii").replace("?", "_")


ROUTES = [
    Route("/items/{ref}", item_page, methods=["GET"], name="item"),
    Route("/messages/{id:int}/attachments/{n:int}", attachment, methods=["GET"]),
]
