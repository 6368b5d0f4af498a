"""Where each project stands: its overall status and milestones, which the PM sets here.

The same functions as `mailbot project status|milestone` (`items/progress.py`); the weekly
progress report reads what is set here. A project the person does not work on is 404.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from starlette.responses import Response
from starlette.routing import Route

from mailbot.config_types import MILESTONE_STATUSES, ProjectConfig
from mailbot.items import progress
from mailbot.items.lifecycle import LIFECYCLES
from mailbot.items.sla import is_open, is_overdue
from mailbot.storage.models import Item
from mailbot.web.access import project_for
from mailbot.web.context import Ctx, Denied, page


def _project(ctx: Ctx, *, act: bool = False) -> ProjectConfig:
    key = project_for(ctx.me, ctx.request.path_params["key"], act=act)
    project = ctx.config.project(key)
    if project is None:  # TRIAGE has no plan
        raise Denied(404)
    return project


def _today(ctx: Ctx) -> date:
    return ctx.now.astimezone(ctx.zone).date()


@page()
def projects(ctx: Ctx) -> Response:
    today = _today(ctx)
    rows = []
    for project in ctx.config.projects:
        if not ctx.me.sees(project.key):
            continue
        views = progress.milestones(ctx.db, project)
        upcoming = next((m for m in views if m.status != "done"), None)
        rows.append(
            {
                "project": project,
                "standing": progress.standing(ctx.db, project, today),
                "next": upcoming,
                "next_state": upcoming.state(today) if upcoming else "",
            }
        )
    return ctx.render("projects.html", rows=rows)


def overview(ctx: Ctx, project: ProjectConfig) -> dict[str, object]:
    """Open items by category and status, overdue, waiting on the client, change requests by
    stage (done and rejected ones too): what the PM looks at first."""
    items = ctx.db.scalars(
        select(Item).where(Item.project_key == project.key, Item.merged_into_id.is_(None))
    ).all()
    open_items = [i for i in items if is_open(i)]
    by_category: dict[str, dict[str, int]] = {}
    for item in open_items:
        row = by_category.setdefault(item.category, {})
        row[item.status] = row.get(item.status, 0) + 1
    stages = {stage: 0 for stage in LIFECYCLES["change_request"]}
    for item in items:
        if item.category == "change_request" and item.status in stages:
            stages[item.status] += 1
    return {
        "open": len(open_items),
        "by_category": by_category,
        "overdue": [i for i in open_items if is_overdue(i, ctx.config, ctx.now)],
        "waiting": [
            i
            for i in open_items
            if i.waiting_since is not None
            or (i.approval_requested_at is not None and i.status in ("submitted", "under_review"))
        ],
        "stages": stages,
    }


@page()
def project_page(ctx: Ctx) -> Response:
    project = _project(ctx)
    today = _today(ctx)
    return ctx.render(
        "project.html",
        project=project,
        overview=overview(ctx, project),
        standing=progress.standing(ctx.db, project, today),
        milestones=progress.milestones(ctx.db, project),
        today=today,
        statuses=[s for s in MILESTONE_STATUSES],
        done=ctx.request.query_params.get("done") or "",
    )


@page(write=True)
def set_status(ctx: Ctx) -> Response:
    project = _project(ctx, act=True)
    progress.set_project_status(
        ctx.db,
        ctx.config,
        project.key,
        ctx.field("status"),
        note=ctx.field("note"),
        actor=ctx.me.name,
    )
    return ctx.redirect(f"/projects/{project.key}", done="status")


@page(write=True)
def set_milestone(ctx: Ctx) -> Response:
    project = _project(ctx, act=True)
    progress.set_milestone(
        ctx.db,
        ctx.config,
        project.key,
        ctx.field("name"),
        due=ctx.day("due"),
        status=ctx.field("status") or None,
        note=ctx.field("note") or None,
        actor=ctx.me.name,
        today=_today(ctx),
    )
    return ctx.redirect(f"/projects/{project.key}", done="milestone")


ROUTES = [
    Route("/projects", projects, methods=["GET"], name="projects"),
    Route("/projects/{key}", project_page, methods=["GET"]),
    Route("/projects/{key}/status", set_status, methods=["POST"]),
    Route("/projects/{key}/milestone", set_milestone, methods=["POST"]),
]
NAV = [("/projects", "Projects", False)]
