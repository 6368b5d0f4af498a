"""The queue: filtered, searched, sorted and paged; the rows refresh themselves."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import func, select
from starlette.responses import Response
from starlette.routing import Route

from mailbot.items.lifecycle import LIFECYCLES
from mailbot.items.views import QueueFilter, count_items, flags, format_age, queue_query
from mailbot.storage.models import Item
from mailbot.web.access import visible_projects
from mailbot.web.context import Ctx, page

PAGE_SIZE = 50
QUICK_FILTERS = ("needs_review", "escalated", "overdue", "unassigned")
SORTS = {
    "oldest": (Item.created_at, Item.id),
    "newest": (Item.created_at.desc(), Item.id.desc()),
    "updated": (Item.updated_at.desc(), Item.id.desc()),
    "ref": (Item.project_key, Item.number),
}


def _flag(ctx: Ctx, name: str) -> bool:
    return ctx.request.query_params.get(name) in ("1", "on", "true")


def queue_filter(ctx: Ctx) -> QueueFilter:
    q = ctx.request.query_params
    sender = q.get("sender") or None
    return QueueFilter(
        project=q.get("project") or None,
        category=q.get("category") or None,
        status=q.get("status") or None,
        needs_review=_flag(ctx, "needs_review"),
        escalated=_flag(ctx, "escalated"),
        unassigned=_flag(ctx, "unassigned"),
        overdue=_flag(ctx, "overdue"),
        include_closed=_flag(ctx, "closed"),
        search=(q.get("q") or "").strip() or None,
        sender=sender if sender in ("unverified", "suspicious") else None,
        projects=visible_projects(ctx.me),
    )


def _count(ctx: Ctx, filters: QueueFilter) -> int:
    return count_items(ctx.db, ctx.config, filters, ctx.now)


def _rows(ctx: Ctx, filters: QueueFilter, sort: str, number: int) -> tuple[list[Item], int]:
    query = queue_query(filters, ctx.now, ctx.config.sla).order_by(None).order_by(*SORTS[sort])
    items = list(ctx.db.scalars(query.offset((number - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
    return items, _count(ctx, filters)


def _view(ctx: Ctx, current: str | None = None) -> dict[str, Any]:
    filters = queue_filter(ctx)
    sort = ctx.request.query_params.get("sort") or "oldest"
    sort = sort if sort in SORTS else "oldest"
    try:
        number = max(1, int(ctx.request.query_params.get("page") or 1))
    except ValueError:
        number = 1
    items, total = _rows(ctx, filters, sort, number)
    counts = {name: _count(ctx, replace(filters, **{name: True})) for name in QUICK_FILTERS}
    params = {k: v for k, v in ctx.request.query_params.items() if k not in ("page", "since")}
    return {
        "filters": filters,
        "items": items,
        "total": total,
        "counts": counts,
        "page": number,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "sort": sort,
        "sorts": list(SORTS),
        "params": params,
        "flags": lambda item: flags(item, ctx.config, ctx.now),
        "age": lambda item: format_age(ctx.now - item.created_at),
        "projects": [p for p in ctx.config.projects if ctx.me.sees(p.key)],
        "categories": list(LIFECYCLES),
        "statuses": sorted({s for states in LIFECYCLES.values() for s in states}),
        "newest_id": ctx.db.scalar(select(func.max(Item.id))) or 0,
        "fingerprint": current or fingerprint(ctx),
    }


def fingerprint(ctx: Ctx) -> str:
    """Changes when any item is added or changed, and every minute (the ages shown)."""
    count, newest, changed = ctx.db.execute(
        select(func.count(Item.id), func.max(Item.id), func.max(Item.updated_at))
    ).one()
    changed_at = changed.timestamp() if changed is not None else 0
    return f"{count}.{newest or 0}.{changed_at:.0f}.{ctx.now.timestamp() // 60:.0f}"


@page()
def queue(ctx: Ctx) -> Response:
    return ctx.render("queue.html", **_view(ctx))


@page()
def queue_rows(ctx: Ctx) -> Response:
    """The table alone, for htmx: polled, so items filed by the daemon appear by themselves.

    Nothing changed since the page's fingerprint: 204, which htmx leaves as it is (the
    poll then costs one small query instead of the whole table and its counts).
    """
    current = fingerprint(ctx)
    if ctx.request.query_params.get("since") == current:
        return Response(status_code=204)
    return ctx.render("queue_rows.html", **_view(ctx, current))


ROUTES = [
    Route("/", queue, methods=["GET"], name="queue"),
    Route("/queue/rows", queue_rows, methods=["GET"], name="queue_rows"),
]
