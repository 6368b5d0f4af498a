"""The weekly client progress summaries: this period's state per project, preview, hold, release.

Everyone sees the summaries of the projects they see, and may preview them: the mail's
text exactly as the client would get it, in the client's language. A pm or an admin
may hold a period's summary before the schedule makes it (it then waits for them) and
release a held one: it is rendered at the release and queued once; the daemon sends it.
The functions are those of `mailbot summary` (`reports/summary.py`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.responses import Response
from starlette.routing import Route

from mailbot.config_types import ProjectConfig
from mailbot.reports.mail import HELD, find_report
from mailbot.reports.summary import (
    KIND,
    current_period,
    hold_summary,
    preview_summary_in,
    release_summary_in,
    render_summary,
)
from mailbot.storage.models import OutboxMail, Report
from mailbot.web.access import project_for
from mailbot.web.context import Ctx, Denied, page


def _project(ctx: Ctx, *, act: bool = False) -> ProjectConfig:
    key = project_for(ctx.me, ctx.request.path_params["project"], act=act)
    project = ctx.config.project(key)
    if project is None:  # TRIAGE, or a project no longer configured: it has no summary
        raise Denied(404)
    return project


def _row(ctx: Ctx, project: ProjectConfig, period: str) -> dict[str, Any]:
    report = find_report(ctx.db, KIND, project.key, period)
    mail = ctx.db.get(OutboxMail, report.outbox_id) if report and report.outbox_id else None
    return {
        "project": project,
        "report": report,
        "state": report.state if report else "not_made",
        "mail": mail,
    }


@page()
def summaries(ctx: Ctx) -> Response:
    period = current_period(ctx.config, ctx.now)
    projects = [p for p in ctx.config.projects if ctx.me.sees(p.key)]
    keys = [p.key for p in projects]
    # Earlier periods still held: released with their own period.
    waiting = ctx.db.scalars(
        select(Report)
        .where(
            Report.kind == KIND,
            Report.state == HELD,
            Report.period != period,
            Report.scope.in_(keys),
        )
        .order_by(Report.scope, Report.period)
    ).all()
    schedules = ctx.config.schedules
    return ctx.render(
        "summaries.html",
        period=period,
        rows=[_row(ctx, p, period) for p in projects],
        waiting=waiting,
        schedules=schedules,
        held_by_default=schedules.summary_hold or ctx.config.acknowledgements.observing(ctx.now),
        done=ctx.request.query_params.get("done") or "",
        done_project=ctx.request.query_params.get("project") or "",
    )


@page()
def preview(ctx: Ctx) -> Response:
    """The summary mail as the client would get it if it were made now."""
    project = _project(ctx)
    period = (ctx.request.query_params.get("period") or "").strip() or None
    summary = preview_summary_in(ctx.db, ctx.config, project, ctx.now, period=period)
    subject, rendered = render_summary(ctx.config, summary)
    return ctx.render(
        "summary_preview.html",
        project=project,
        summary=summary,
        subject=subject,
        rendered=rendered,
        row=_row(ctx, project, summary.period),
    )


@page(write=True)
def hold(ctx: Ctx) -> Response:
    project = _project(ctx, act=True)
    outcome = hold_summary(
        ctx.db,
        ctx.config,
        project,
        ctx.now,
        period=ctx.field("period") or None,
        actor=ctx.me.name,
    )
    return ctx.redirect("/summaries", done=outcome.result, project=project.key)


@page(write=True)
def release(ctx: Ctx) -> Response:
    project = _project(ctx, act=True)
    outcome = release_summary_in(
        ctx.db,
        ctx.config,
        project,
        ctx.now,
        period=ctx.field("period") or None,
        actor=ctx.me.name,
    )
    ctx.send_soon()
    return ctx.redirect("/summaries", done=outcome.result, project=project.key)


ROUTES = [
    Route("/summaries", summaries, methods=["GET"], name="summaries"),
    Route("/summaries/{project}/preview", preview, methods=["GET"]),
    Route("/summaries/{project}/hold", hold, methods=["POST"]),
    Route("/summaries/{project}/release", release, methods=["POST"]),
]

NAV = [("/summaries", "Summaries", False)]
