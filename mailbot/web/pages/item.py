"""One item: its thread in order, the verdict and why, the route, the SLA clock, the history."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from starlette.responses import Response
from starlette.routing import Route

from mailbot.items.actions import item_messages, old_refs
from mailbot.items.lifecycle import LIFECYCLES
from mailbot.items.sla import due_at, sla_state
from mailbot.items.views import flags, verdict_reasons
from mailbot.storage.models import Event, Item, OutboxMail, StoredMessage
from mailbot.web.access import item_for
from mailbot.web.context import Ctx, page


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
        merged_into=merged_into,
        thread=thread(ctx, item),
        events=events(ctx, item),
        next_statuses=LIFECYCLES.get(item.category, {}).get(item.status, ()),
        categories=list(LIFECYCLES),
        projects=ctx.config.projects,
    )


ROUTES = [Route("/items/{ref}", item_page, methods=["GET"], name="item")]
