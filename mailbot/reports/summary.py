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
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.config_types import ProjectConfig
from mailbot.errors import MailbotError
from mailbot.items import progress
from mailbot.items.progress import Standing
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
    aware,
    claim_period,
    find_report,
    queue,
    render_report,
)
from mailbot.reports.periods import local_date, reported_week, week_start, week_window
from mailbot.storage.db import Database
from mailbot.storage.models import Event, Item, Report, StoredMessage
from mailbot.storage.store import watching_since

log = logging.getLogger("mailbot.reports")

KIND = "summary"
TEMPLATE = "weekly"
DEFAULT_WINDOW = timedelta(days=7)  # the first summary looks back one week


class ReportError(MailbotError):
    """A report cannot be made or released as asked."""

    code = "MB901"


@dataclass(frozen=True, slots=True)
class MilestoneLine:
    name: str
    due: date | None
    status: str  # planned, in_progress, done
    state: str  # done, late, due_soon, on_track
    done_on: date | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "due": self.due.isoformat() if self.due else None,
            "status": self.status,
            "state": self.state,
            "done_on": self.done_on.isoformat() if self.done_on else None,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class Risk:
    kind: str  # urgent_issue, milestone_late, past_target, overdue_from_client
    subject: str  # an item ref or a milestone name
    title: str = ""
    day: date | None = None  # the date it concerns


@dataclass(slots=True)
class Summary:
    """A project's weekly progress report: one ISO week, Monday to Sunday, local time."""

    project: ProjectConfig
    period: str  # the week reported on, e.g. 2026-W48
    since: datetime  # the window covered (UTC): the week, up to now at the latest
    until: datetime
    week_first_day: date
    week_last_day: date
    first: bool  # mailbot started watching during this week: the first report
    watching_since: date | None
    standing: Standing
    milestones: list[MilestoneLine]
    done: list[Line]  # resolved, closed or done in the week
    new: list[Line]  # issues and change requests raised in the week
    feedback_received: int  # feedback items in the week (thanked, not listed)
    in_progress: list[Line]  # open, the team's turn
    waiting_on_you: list[Line]  # open, the client's turn: approvals and questions
    next_week: list[MilestoneLine | Line]  # milestones and expected dates of the next week
    risks: list[Risk]
    changes_by_stage: dict[str, int]  # open change requests per stage, and done this week
    changed: int  # status changes in the week (a quiet week has none)
    recipients: list[str]
    note: str | None = None  # the PM's words, first in the mail

    @property
    def open_issues(self) -> list[Line]:
        return [x for x in (*self.in_progress, *self.waiting_on_you) if x.category == "issue"]

    @property
    def open_changes(self) -> list[Line]:
        return [
            x for x in (*self.in_progress, *self.waiting_on_you) if x.category == "change_request"
        ]

    @property
    def opened(self) -> list[Line]:
        return self.new

    @property
    def delivered(self) -> list[Line]:
        return self.done

    @property
    def quiet(self) -> bool:
        """No news: nothing new, nothing done, no status moved in the week."""
        return not (self.new or self.done or self.feedback_received or self.changed)

    @property
    def empty(self) -> bool:
        """Nothing happened, nothing is open, no plan: no mail is worth sending."""
        return self.quiet and not (self.in_progress or self.waiting_on_you or self.milestones)

    def context(self, config: Config) -> dict[str, Any]:
        year, week = self.period.split("-W")
        tz = ZoneInfo(config.schedules.timezone)
        return {
            "ref": f"{self.project.key} {self.period}",  # the HTML layout's <title>
            "period": self.period,
            "week": {"year": int(year), "number": int(week)},
            "week_first_day": self.week_first_day,
            "week_last_day": self.week_last_day,
            "since": self.since.astimezone(tz).date(),
            "until": (self.until - timedelta(seconds=1)).astimezone(tz).date(),
            "first": self.first,
            "watching_since": self.watching_since,
            "quiet": self.quiet,
            "standing": self.standing,
            "milestones": self.milestones,
            "done": self.done,
            "new": self.new,
            "opened": self.new,
            "delivered": self.done,
            "feedback_received": self.feedback_received,
            "in_progress": self.in_progress,
            "waiting_on_you": self.waiting_on_you,
            "next_week": self.next_week,
            "risks": self.risks,
            "changes_by_stage": self.changes_by_stage,
            "open_issues": self.open_issues,
            "open_changes": self.open_changes,
            "awaiting_approval": [x for x in self.waiting_on_you if x.awaiting_approval],
            "pm_note": self.note,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "project": self.project.key,
            "period": self.period,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "first": self.first,
            "quiet": self.quiet,
            "status": self.standing.status,
            "status_set_by_pm": self.standing.by_pm,
            "status_reasons": [list(r) for r in self.standing.reasons],
            "recipients": self.recipients,
            "milestones": [m.as_dict() for m in self.milestones],
            "done": [x.as_dict() for x in self.done],
            "new": [x.as_dict() for x in self.new],
            "feedback_received": self.feedback_received,
            "in_progress": [x.as_dict() for x in self.in_progress],
            "waiting_on_you": [x.as_dict() for x in self.waiting_on_you],
            "next_week": [x.as_dict() for x in self.next_week],
            "risks": [
                {
                    "kind": r.kind,
                    "subject": r.subject,
                    "title": r.title,
                    "day": r.day.isoformat() if r.day else None,
                }
                for r in self.risks
            ],
            "changes_by_stage": self.changes_by_stage,
            "note": self.note,
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
    now: datetime,
    note: str | None = None,
) -> Summary:
    """Everything one project's report on one week shows, read in the caller's transaction."""
    tz = ZoneInfo(config.schedules.timezone)
    week_from, week_to = week_window(
        period, ZoneInfo(project.timezone or config.schedules.timezone)
    )
    watching = watching_since(session)
    # What mailbot fetched at its first start counts as news of the week it arrived in;
    # nothing is claimed about the days before it was watching (`first` says so).
    since = week_from
    until = min(week_to, now)
    if until < since:
        until = since
    first = watching is not None and week_from < aware(watching) < week_to
    today = (until - timedelta(seconds=1)).astimezone(tz).date()
    ours = config.own_addresses()
    items = [i for i in data.project_items(session, [project.key]) if _client_visible(i, ours)]
    new = [i for i in items if data.in_window(i.created_at, since, until)]
    open_ = [i for i in items if is_open(i)]
    delivered = data.delivered_in(session, items, since, until)
    shown = {i.id: i for i in (*new, *open_, *delivered)}
    lines = {i.id: data.line(i, tz, until) for i in shown.values()}
    open_lines = [lines[i.id] for i in open_ if i.category != "feedback"]
    views = progress.milestones(session, project)
    milestone_lines = [
        MilestoneLine(m.name, m.due, m.status, m.state(today), m.done_on, m.note) for m in views
    ]
    next_from, next_to = today + timedelta(days=1), today + timedelta(days=7)
    next_week: list[MilestoneLine | Line] = [
        m
        for m in milestone_lines
        if m.status != "done" and m.due is not None and next_from <= m.due <= next_to
    ]
    next_week += [
        x for x in open_lines if x.target is not None and next_from <= x.target <= next_to
    ]
    return Summary(
        project=project,
        period=period,
        since=since,
        until=until,
        week_first_day=week_start(period),
        week_last_day=week_start(period) + timedelta(days=6),
        first=first,
        watching_since=aware(watching).astimezone(tz).date() if watching is not None else None,
        standing=progress.standing(session, project, today),
        milestones=milestone_lines,
        done=[lines[i.id] for i in delivered if i.category != "feedback"],
        new=[lines[i.id] for i in new if i.category != "feedback"],
        feedback_received=sum(1 for i in new if i.category == "feedback"),
        in_progress=[x for x in open_lines if not x.waits_on_client],
        waiting_on_you=[x for x in open_lines if x.waits_on_client],
        next_week=next_week,
        risks=_risks(milestone_lines, open_lines, today),
        changes_by_stage=_changes_by_stage(open_lines, delivered),
        changed=data.status_changes_in(session, items, since, until),
        recipients=summary_recipients(session, config, project, list(shown.values()), since, until),
        note=note,
    )


def _risks(milestones: Sequence[MilestoneLine], lines: Sequence[Line], today: date) -> list[Risk]:
    """What could hurt the plan, worst first: urgent issues, late milestones, slipped dates."""
    found = [Risk("urgent_issue", x.ref, x.title) for x in lines if x.escalate]
    found += [Risk("milestone_late", m.name, day=m.due) for m in milestones if m.state == "late"]
    found += [
        Risk("past_target", x.ref, x.title, x.target)
        for x in lines
        if x.target is not None and x.target < today and not x.escalate
    ]
    found += [
        Risk("overdue_from_client", x.ref, x.waiting or x.title, x.needed_by)
        for x in lines
        if x.needed_by is not None and x.needed_by < today
    ]
    return found


CHANGE_STAGES = ("submitted", "under_review", "awaiting_approval", "approved", "scheduled")


def _changes_by_stage(lines: Sequence[Line], delivered: Sequence[Item]) -> dict[str, int]:
    counts = dict.fromkeys((*CHANGE_STAGES, "done"), 0)
    for x in lines:
        if x.category != "change_request":
            continue
        stage = "awaiting_approval" if x.awaiting_approval else x.status
        if stage in counts:
            counts[stage] += 1
    counts["done"] = sum(1 for i in delivered if i.category == "change_request")
    return counts


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
    """The week a report made now is about: the last whole week."""
    return reported_week(local_date(config.schedules, now))


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
    found = find_report(session, KIND, project.key, period)
    note = found.note if found is not None else None
    return collect_summary(session, config, project, period=period, now=now, note=note)


def make_summary(
    db: Database,
    config: Config,
    project: ProjectConfig,
    now: datetime,
    *,
    period: str | None = None,
    hold: bool = False,
    scheduled: bool = False,
) -> Outcome:
    """Make this period's summary once: queue it, or hold it for the PM to release.

    `scheduled`: made by the schedule, not asked for by a person; a project's first one
    is then held for the PM (schedules.summary_hold_first).
    """
    with db.session() as session:
        return make_summary_in(
            session, config, project, now, period=period, hold=hold, scheduled=scheduled
        )


def make_summary_in(
    session: Session,
    config: Config,
    project: ProjectConfig,
    now: datetime,
    *,
    period: str | None = None,
    hold: bool = False,
    scheduled: bool = False,
) -> Outcome:
    """`make_summary` in the caller's transaction."""
    now = now.astimezone(UTC)
    period = period or current_period(config, now)
    week_start(period)
    if find_report(session, KIND, project.key, period) is not None:
        return Outcome(KIND, project.key, period, "exists", "made earlier")
    summary = collect_summary(session, config, project, period=period, now=now)
    if summary.empty:
        return Outcome(KIND, project.key, period, "skipped", "nothing to report")
    if summary.quiet and config.schedules.summary_quiet_weeks == "skip":
        return Outcome(KIND, project.key, period, "skipped", "a quiet week (summary_quiet_weeks)")
    if scheduled and config.schedules.summary_hold_first and not _reported_before(session, project):
        hold = True  # the first one made on the schedule: the PM reads it before the client
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
        log.info("report %s for %s held for the PM to read and release", period, project.key)
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
    report.created_at = now
    summary = collect_summary(
        session, config, project, period=report.period, now=now, note=report.note
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


def _reported_before(session: Session, project: ProjectConfig) -> bool:
    """Has this project had a report made (sent or held) before?"""
    found = session.scalars(
        select(Report.id).where(Report.kind == KIND, Report.scope == project.key).limit(1)
    ).first()
    return found is not None


def set_summary_note(
    session: Session,
    config: Config,
    project: ProjectConfig,
    now: datetime,
    note: str,
    *,
    period: str | None = None,
    actor: str,
) -> Outcome:
    """The PM's own words at the top of a held report (an empty note removes them)."""
    now = now.astimezone(UTC)
    period = period or current_period(config, now)
    week_start(period)
    found = find_report(session, KIND, project.key, period)
    if found is None:
        hold_summary(session, config, project, now, period=period, actor=actor)
        found = find_report(session, KIND, project.key, period)
    if found is None or found.state != HELD:
        raise ReportError(
            f"the report {period} for {project.key} was already sent",
            "a note can be added to a held report only; hold the next one first",
        )
    found.note = note.strip() or None
    session.add(
        Event(
            kind="summary_note",
            actor=actor,
            at=now,
            detail={"project": project.key, "period": period, "note": found.note},
        )
    )
    return Outcome(KIND, project.key, period, "held", "note saved")
