"""Where each project stands: its overall status and milestones, which the PM sets here.

The same functions as `mailbot project status|milestone` (`items/progress.py`); the weekly
progress report reads what is set here. A project the person does not work on is 404.
"""

from __future__ import annotations

from datetime import date

from starlette.responses import Response
from starlette.routing import Route

from mailbot.config_types import MILESTONE_STATUSES, ProjectConfig
from mailbot.items import progress
from mailbot.items.actions import ActionError
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


@page()
def project_page(ctx: Ctx) -> Response:
    project = _project(ctx)
    today = _today(ctx)
    return ctx.render(
        "project.html",
        project=project,
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
    due_text = ctx.field("due")
    try:
        due = date.fromisoformat(due_text) if due_text else None
    except ValueError:
        raise ActionError(f"{due_text!r} is not a date", "pick the date again") from None
    progress.set_milestone(
        ctx.db,
        ctx.config,
        project.key,
        ctx.field("name"),
        due=due,
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
