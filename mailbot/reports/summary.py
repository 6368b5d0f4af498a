"""The client progress summary: one warm, plain weekly update per project, in its language.

It lists what the client raised and what we finished since the last summary, every
open issue and change request with its status, and what happens next. Only the
project's own client items are shown: never noise, never unassigned (TRIAGE) mail,
never items merged into others.

Recipients: the project's `client_addresses`, plus every distinct address within the
project's `client_domains` that wrote mail filed to the project's items during the
period. Robots (noreply@, mailer-daemon@ ...), our own addresses, addresses whose
automatic answers we stopped, and people at free-mail domains who are not listed in
`client_addresses` are never added. All of them are on one mail, so the client team
sees who received the update.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.config_types import ProjectConfig
from mailbot.errors import MailbotError
from mailbot.items.sla import is_open
from mailbot.message import is_robot_address
from mailbot.outgoing.templates import Rendered
from mailbot.reports import data
from mailbot.reports.data import Line
from mailbot.reports.mail import (
    HELD,
    QUEUED,
    Outcome,
    ReportMail,
    claim_period,
    find_report,
    previous_report_time,
    queue,
    render_report,
)
from mailbot.reports.periods import local_date, week_period, week_start
from mailbot.storage.db import Database
from mailbot.storage.models import Event, Item, Report, StoredMessage

log = logging.getLogger("mailbot.reports")

KIND = "summary"
TEMPLATE = "weekly"
DEFAULT_WINDOW = timedelta(days=7)  # the first summary looks back one week


class ReportError(MailbotError):
    """A report cannot be made or released as asked."""

    code = "MB901"


@dataclass(slots=True)
class Summary:
    project: ProjectConfig
    period: str
    since: datetime
    until: datetime
    opened: list[Line]  # issues and change requests raised in the window
    feedback_received: int  # feedback items in the window (thanked, not listed)
    delivered: list[Line]  # resolved, closed or done in the window
    open_issues: list[Line]
    open_changes: list[Line]
    recipients: list[str]

    @property
    def empty(self) -> bool:
        """Nothing happened and nothing is open: no mail is worth sending."""
        return not (
            self.opened
            or self.delivered
            or self.open_issues
            or self.open_changes
            or self.feedback_received
        )

    def context(self, config: Config) -> dict[str, Any]:
        tz = ZoneInfo(config.schedules.timezone)
        year, week = self.period.split("-W")
        return {
            "ref": f"{self.project.key} {self.period}",  # the HTML layout's <title>
            "period": self.period,
            "week": {"year": int(year), "number": int(week)},
            "since": self.since.astimezone(tz).date(),
            "until": self.until.astimezone(tz).date(),
            "opened": self.opened,
            "feedback_received": self.feedback_received,
            "delivered": self.delivered,
            "open_issues": self.open_issues,
            "open_changes": self.open_changes,
            "awaiting_approval": [x for x in self.open_changes if x.awaiting_approval],
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "project": self.project.key,
            "period": self.period,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "recipients": self.recipients,
            "opened": [x.as_dict() for x in self.opened],
            "feedback_received": self.feedback_received,
            "delivered": [x.as_dict() for x in self.delivered],
            "open_issues": [x.as_dict() for x in self.open_issues],
            "open_changes": [x.as_dict() for x in self.open_changes],
        }


def summary_recipients(
    session: Session,
    config: Config,
    project: ProjectConfig,
    items: Sequence[Item],
    since: datetime,
    until: datetime,
) -> list[str]:
    """The client contacts of a project for this period (see the module docstring).

    Writers count when they wrote during the period or wrote about an item the summary
    shows, so a quiet week still reaches the people waiting on open items.
    """
    found = list(project.client_addresses)
    ids = [i.id for i in items]
    writers = session.scalars(
        select(StoredMessage.from_email)
        .join(Item, StoredMessage.item_id == Item.id)
        .where(
            Item.project_key == project.key,
            StoredMessage.category.is_distinct_from("none"),
            or_(
                Item.id.in_(ids),
                and_(StoredMessage.arrived_at >= since, StoredMessage.arrived_at < until),
            ),
        )
        .distinct()
    )
    ours = config.own_addresses()
    for address in sorted({a.strip().lower() for a in writers if a}):
        domain = address.rpartition("@")[2]
        if domain not in project.client_domains or address in found or address in ours:
            continue
        # A breaker stops automatic answers, never a client's summary.
        if is_robot_address(address):
            continue
        found.append(address)
    return found


def collect_summary(
    session: Session,
    config: Config,
    project: ProjectConfig,
    *,
    period: str,
    since: datetime,
    until: datetime,
) -> Summary:
    """Everything one project's summary shows, read in the caller's transaction."""
    tz = ZoneInfo(config.schedules.timezone)
    ours = config.own_addresses()
    items = [i for i in data.project_items(session, [project.key]) if _client_visible(i, ours)]

    new = [i for i in items if data.in_window(i.created_at, since, until)]
    open_ = [i for i in items if is_open(i)]
    delivered = data.delivered_in(session, items, since, until)
    shown = {i.id: i for i in (*new, *open_, *delivered)}
    return Summary(
        project=project,
        period=period,
        since=since,
        until=until,
        opened=[data.line(i, tz, until) for i in new if i.category != "feedback"],
        feedback_received=sum(1 for i in new if i.category == "feedback"),
        delivered=[data.line(i, tz, until) for i in delivered],
        open_issues=[data.line(i, tz, until) for i in open_ if i.category == "issue"],
        open_changes=[data.line(i, tz, until) for i in open_ if i.category == "change_request"],
        recipients=summary_recipients(session, config, project, list(shown.values()), since, until),
    )


def _client_visible(item: Item, ours: set[str]) -> bool:
    """An item a client may read about: theirs, not a robot's or one of our own."""
    if item.category not in data.CLIENT_CATEGORIES:
        return False
    sender = (item.client_email or "").lower()
    if not sender or sender in ours:
        return False
    return not is_robot_address(sender)


def summary_mail(config: Config, summary: Summary) -> ReportMail:
    """The summary as a mail to the client, in the project's language."""
    return ReportMail(KIND, TEMPLATE, summary.context(config), project=summary.project)


def render_summary(config: Config, summary: Summary) -> tuple[str, Rendered]:
    """The subject line and the body, as they are sent."""
    return render_report(config, summary_mail(config, summary))


def current_period(config: Config, now: datetime) -> str:
    return week_period(local_date(config.schedules, now))


def project_or_fail(config: Config, key: str) -> ProjectConfig:
    project = config.project(key)
    if project is None:
        known = ", ".join(p.key for p in config.projects) or "none configured"
        raise ReportError(f"no project {key!r}", f"use one of the project keys: {known}")
    return project


def preview_summary(
    db: Database, config: Config, project: ProjectConfig, now: datetime, period: str | None = None
) -> Summary:
    """The summary as it would be made now; nothing is recorded or sent."""
    with db.session() as session:
        return preview_summary_in(session, config, project, now, period=period)


def preview_summary_in(
    session: Session,
    config: Config,
    project: ProjectConfig,
    now: datetime,
    period: str | None = None,
) -> Summary:
    """`preview_summary` in the caller's transaction (the web workspace's)."""
    now = now.astimezone(UTC)
    period = period or current_period(config, now)
    week_start(period)  # a readable error for a malformed key
    since = _since(session, project, period, now)
    return collect_summary(session, config, project, period=period, since=since, until=now)


def make_summary(
    db: Database,
    config: Config,
    project: ProjectConfig,
    now: datetime,
    *,
    period: str | None = None,
    hold: bool = False,
) -> Outcome:
    """Make this period's summary once: queue it, or hold it for the PM to release."""
    with db.session() as session:
        return make_summary_in(session, config, project, now, period=period, hold=hold)


def make_summary_in(
    session: Session,
    config: Config,
    project: ProjectConfig,
    now: datetime,
    *,
    period: str | None = None,
    hold: bool = False,
) -> Outcome:
    """`make_summary` in the caller's transaction."""
    now = now.astimezone(UTC)
    period = period or current_period(config, now)
    week_start(period)
    if find_report(session, KIND, project.key, period) is not None:
        return Outcome(KIND, project.key, period, "exists", "made earlier")
    since = _since(session, project, period, now)
    summary = collect_summary(session, config, project, period=period, since=since, until=now)
    if summary.empty:
        return Outcome(KIND, project.key, period, "skipped", "nothing to report")
    if not summary.recipients:
        return Outcome(
            KIND,
            project.key,
            period,
            "skipped",
            f"no client contacts: add client_addresses to project {project.key}",
        )
    state = HELD if hold else QUEUED
    report = claim_period(
        session, kind=KIND, scope=project.key, period=period, state=state, now=now
    )
    if report is None:
        return Outcome(KIND, project.key, period, "exists", "made meanwhile by another process")
    if hold:
        log.info("summary %s for %s held for release by the PM", period, project.key)
        return Outcome(KIND, project.key, period, "held", ", ".join(summary.recipients))
    outbox_id = _queue(session, config, report, summary, now)
    return Outcome(KIND, project.key, period, "queued", ", ".join(summary.recipients), outbox_id)


def hold_summary(
    session: Session,
    config: Config,
    project: ProjectConfig,
    now: datetime,
    *,
    period: str | None = None,
    actor: str,
) -> Outcome:
    """Keep a period's summary back for the PM, before the schedule makes it.

    The period is recorded as held at once, whatever there is to report yet: the
    schedule then leaves it alone, and `release_summary` sends it, rendered at the
    release. A summary already sent cannot be held; one held already stays so.
    """
    now = now.astimezone(UTC)
    period = period or current_period(config, now)
    week_start(period)
    found = find_report(session, KIND, project.key, period)
    if found is None:
        found = claim_period(
            session, kind=KIND, scope=project.key, period=period, state=HELD, now=now
        )
        if found is not None:
            session.add(
                Event(
                    kind="summary_held",
                    actor=actor,
                    at=now,
                    detail={"project": project.key, "period": period},
                )
            )
            log.info("summary %s for %s held for release by %s", period, project.key, actor)
            return Outcome(KIND, project.key, period, "held", f"held by {actor}")
        found = find_report(session, KIND, project.key, period)  # made meanwhile
    if found is not None and found.state == HELD:
        return Outcome(KIND, project.key, period, "exists", "held already")
    raise ReportError(
        f"the summary {period} for {project.key} was already sent",
        "a sent summary cannot be held; the next period's can be",
    )


def release_summary(
    db: Database,
    config: Config,
    project: ProjectConfig,
    now: datetime,
    *,
    period: str | None = None,
    actor: str = "mailbot",
) -> Outcome:
    """Send a held summary, rendered now: it covers everything up to the release.

    The report's time becomes the release time, so the next summary starts there.
    """
    with db.session() as session:
        return release_summary_in(session, config, project, now, period=period, actor=actor)


def release_summary_in(
    session: Session,
    config: Config,
    project: ProjectConfig,
    now: datetime,
    *,
    period: str | None = None,
    actor: str = "mailbot",
) -> Outcome:
    """`release_summary` in the caller's transaction; an audit event names the `actor`."""
    now = now.astimezone(UTC)
    query = select(Report).where(Report.kind == KIND, Report.scope == project.key)
    if period:
        week_start(period)
        query = query.where(Report.period == period)
    else:
        query = query.where(Report.state == HELD)
    report = session.scalars(query.order_by(Report.period.desc())).first()
    if report is None:
        what = f"for {period}" if period else "waiting"
        raise ReportError(
            f"no held summary {what} for {project.key}",
            f"run `mailbot summary --project {project.key} --send` to send one now instead",
        )
    if report.state != HELD:
        return Outcome(KIND, project.key, report.period, "exists", "already sent", report.outbox_id)
    # Only one release wins, even when two people press the button together.
    claimed = session.execute(
        update(Report).where(Report.id == report.id, Report.state == HELD).values(state=QUEUED)
    ).rowcount
    if not claimed:
        return Outcome(KIND, project.key, report.period, "exists", "released meanwhile")
    session.refresh(report)
    since = _since(session, project, report.period, now)
    report.created_at = now
    summary = collect_summary(
        session, config, project, period=report.period, since=since, until=now
    )
    if not summary.recipients:
        raise ReportError(
            f"the held summary {report.period} for {project.key} has no client contacts",
            f"add client_addresses to project {project.key} and release it again",
        )
    outbox_id = _queue(session, config, report, summary, now)
    session.add(
        Event(
            kind="summary_released",
            actor=actor,
            at=now,
            detail={"project": project.key, "period": report.period, "outbox": outbox_id},
        )
    )
    return Outcome(
        KIND, project.key, report.period, "released", ", ".join(summary.recipients), outbox_id
    )


def _queue(
    session: Session, config: Config, report: Report, summary: Summary, now: datetime
) -> int | None:
    return queue(
        session, config, report, summary_mail(config, summary), to=summary.recipients, now=now
    )


def _since(session: Session, project: ProjectConfig, period: str, until: datetime) -> datetime:
    last = previous_report_time(session, KIND, project.key, period, until)
    return last or until - DEFAULT_WINDOW
