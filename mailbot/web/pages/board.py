"""The change-request board: every open change request of the person's projects, by stage."""

from __future__ import annotations

from sqlalchemy import select
from starlette.responses import Response
from starlette.routing import Route

from mailbot.items.lifecycle import LIFECYCLES
from mailbot.items.views import format_age
from mailbot.storage.models import Item
from mailbot.web.access import project_for, visible_projects
from mailbot.web.context import Ctx, page

STAGES = tuple(LIFECYCLES["change_request"])  # submitted → under_review → approved …


@page()
def board(ctx: Ctx) -> Response:
    query = (
        select(Item)
        .where(Item.category == "change_request", Item.merged_into_id.is_(None))
        .order_by(Item.created_at, Item.id)
    )
    chosen = ctx.request.query_params.get("project") or ""
    if chosen:
        query = query.where(Item.project_key == project_for(ctx.me, chosen))
    projects = visible_projects(ctx.me)
    if projects is not None:
        query = query.where(Item.project_key.in_(projects))
    columns: dict[str, list[Item]] = {stage: [] for stage in STAGES}
    for item in ctx.db.scalars(query):
        columns.setdefault(item.status, []).append(item)
    return ctx.render(
        "board.html",
        columns=columns,
        chosen=chosen.upper(),
        projects=[p for p in ctx.config.projects if ctx.me.sees(p.key)],
        age=lambda item: format_age(ctx.now - item.created_at),
    )


ROUTES = [Route("/board", board, methods=["GET"], name="board")]
NAV = [("/board", "Change requests", False)]
