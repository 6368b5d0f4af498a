"""The PM digest: what needs a project manager's attention, one mail per recipient per day.

Each recipient gets their own projects (every project when `schedules.digest_to` is
set): new items per category since their last digest (or the last 24 hours), items
waiting for review, escalations, items past their SLA, mail nobody could file, and
client summaries held for release. Unassigned mail (TRIAGE) is in every digest, since
no project owns it. A project with no `pm` reaches nobody unless `digest_to` is set.
The digest is in its projects' `pm_language` (the most common one among a recipient's
projects; English when there are none).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.config_types import ProjectConfig
from mailbot.connectors.filing import push_chat
from mailbot.errors import MailbotError
from mailbot.items.sla import is_open, overdue
from mailbot.items.store import UNASSIGNED_KEY
from mailbot.outgoing.send import Audience
from mailbot.outgoing.templates import Rendered
from mailbot.pipeline.answer import WOULD_ANSWER_KIND
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
    report_scope,
)
from mailbot.reports.periods import check_day_period, day_period, local_date
from mailbot.storage.db import Database
from mailbot.storage.models import Event, Item, Report

log = logging.getLogger("mailbot.reports")

KIND = "digest"
TEMPLATE = "daily"
LANGUAGE = "en"  # a digest with no projects
DEFAULT_WINDOW = timedelta(hours=24)  # the first digest looks back one day


@dataclass(slots=True)
class ProjectDigest:
    key: str
    name: str
    new: dict[str, list[Line]] = field(default_factory=dict)  # category -> lines
    needs_review: list[Line] = field(default_factory=list)
    escalations: list[Line] = field(default_factory=list)
    overdue: list[Line] = field(default_factory=list)
    held_summaries: list[str] = field(default_factory=list)  # periods

    @property
    def new_count(self) -> int:
        return sum(len(v) for v in self.new.values())


@dataclass(slots=True)
class Digest:
    recipient: str
    period: str
    since: datetime
    until: datetime
    projects: list[ProjectDigest]
    unassigned_new: list[Line]
    unassigned_open: int
    # Mail filed in the period without an acknowledgement because it arrived too long ago
    # (a backlog, an outage): the client has not been answered, a person should look.
    filed_unanswered: int = 0
    # Observe mode: the items whose client would have been acknowledged in the period.
    would_answer: list[str] = field(default_factory=list)
    language: str = LANGUAGE

    def totals(self) -> dict[str, int]:
        return {
            "new": sum(p.new_count for p in self.projects),
            "needs_review": sum(len(p.needs_review) for p in self.projects),
            "escalations": sum(len(p.escalations) for p in self.projects),
            "overdue": sum(len(p.overdue) for p in self.projects),
            "unassigned": self.unassigned_open,
            "held": sum(len(p.held_summaries) for p in self.projects),
        }

    def context(self, config: Config) -> dict[str, Any]:
        tz = ZoneInfo(config.schedules.timezone)
        return {
            "ref": f"Digest {self.period}",  # the HTML layout's <title>
            "recipient": self.recipient,
            "period": self.period,
            "since": self.since.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            "until": self.until.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            "timezone": config.schedules.timezone,
            "day": self.until.astimezone(tz).date(),
            "projects": self.projects,
            "unassigned_new": self.unassigned_new,
            "unassigned_open": self.unassigned_open,
            "filed_unanswered": self.filed_unanswered,
            "would_answer": self.would_answer,
            "observing": config.acknowledgements.observing(self.until),
            "max_age_hours": config.acknowledgements.max_age_hours,
            "totals": self.totals(),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "recipient": self.recipient,
            "period": self.period,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "totals": self.totals(),
            "projects": [
                {
                    "key": p.key,
                    "name": p.name,
                    "new": {c: [x.as_dict() for x in v] for c, v in p.new.items()},
                    "needs_review": [x.ref for x in p.needs_review],
                    "escalations": [x.ref for x in p.escalations],
                    "overdue": [x.ref for x in p.overdue],
                    "held_summaries": p.held_summaries,
                }
                for p in self.projects
            ],
            "unassigned_new": [x.as_dict() for x in self.unassigned_new],
            "unassigned_open": self.unassigned_open,
            "filed_unanswered": self.filed_unanswered,
            "would_answer": self.would_answer,
        }


def digest_recipients(config: Config) -> dict[str, tuple[ProjectConfig, ...]]:
    """Who gets a digest and about which projects: digest_to gets all, else each PM theirs."""
    if config.schedules.digest_to:
        return {addr: config.projects for addr in config.schedules.digest_to}
    found: dict[str, list[ProjectConfig]] = {}
    for project in config.projects:
        if project.pm:
            found.setdefault(project.pm, []).append(project)
    return {addr: tuple(projects) for addr, projects in found.items()}


def collect_digest(
    session: Session,
    config: Config,
    recipient: str,
    projects: Sequence[ProjectConfig],
    *,
    period: str,
    since: datetime,
    until: datetime,
) -> Digest:
    """Everything one recipient's digest shows, read in the caller's transaction."""
    tz = ZoneInfo(config.schedules.timezone)
    late = {i.id for i in overdue(session, config, until)}
    held: dict[str, list[str]] = {}
    for report in session.scalars(
        select(Report).where(Report.kind == "summary", Report.state == HELD).order_by(Report.period)
    ):
        held.setdefault(report.scope, []).append(report.period)
    sections = []
    for project in projects:
        section = ProjectDigest(project.key, project.name, held_summaries=held.get(project.key, []))
        for item in data.project_items(session, [project.key]):
            row = data.line(item, tz, until)
            if data.in_window(item.created_at, since, until):
                section.new.setdefault(item.category, []).append(row)
            if not is_open(item):
                continue
            if item.needs_review:
                section.needs_review.append(row)
            if item.escalate:
                section.escalations.append(row)
            if item.id in late:
                section.overdue.append(row)
        sections.append(section)
    unassigned = [i for i in data.project_items(session, [UNASSIGNED_KEY]) if is_open(i)]
    return Digest(
        recipient=recipient,
        period=period,
        since=since,
        until=until,
        projects=sections,
        unassigned_new=[
            data.line(i, tz, until)
            for i in unassigned
            if data.in_window(i.created_at, since, until)
        ],
        unassigned_open=len(unassigned),
        filed_unanswered=_filed_too_old(session, since, until),
        would_answer=_would_answer(session, [p.key for p in projects], since, until),
        language=digest_language(projects),
    )


def digest_language(projects: Sequence[ProjectConfig]) -> str:
    """The language of a recipient's digest: their projects' most common `pm_language`."""
    counts = Counter(p.pm_language for p in projects)
    return counts.most_common(1)[0][0] if counts else LANGUAGE


def _filed_too_old(session: Session, since: datetime, until: datetime) -> int:
    """Mails answered "not sent: … max_age_hours" in the period (a backlog filed quietly)."""
    answered = session.scalars(
        select(Event.detail).where(Event.kind == "answered", Event.at >= since, Event.at < until)
    )
    return sum("max_age_hours" in str(detail.get("ack", "")) for detail in answered)


def _would_answer(
    session: Session, keys: Sequence[str], since: datetime, until: datetime
) -> list[str]:
    """Refs of this recipient's items (and unassigned ones) acknowledged in observe mode only."""
    rows = session.execute(
        select(Item.ref)
        .join(Event, Event.item_id == Item.id)
        .where(
            Event.kind == WOULD_ANSWER_KIND,
            Event.at >= since,
            Event.at < until,
            Item.project_key.in_([*keys, UNASSIGNED_KEY]),
        )
        .order_by(Event.id)
    )
    return list(dict.fromkeys(ref for (ref,) in rows))


def digest_mail(config: Config, digest: Digest) -> ReportMail:
    """The digest as a mail: to a PM (or a team address), in the PM's language."""
    return ReportMail(
        KIND, TEMPLATE, digest.context(config), audience=Audience.PM, language=digest.language
    )


def render_digest(config: Config, digest: Digest) -> tuple[str, Rendered]:
    """The subject line and the body of one digest, as `make_digests` sends them."""
    return render_report(config, digest_mail(config, digest))


def preview_digests(db: Database, config: Config, now: datetime) -> list[Digest]:
    """Every recipient's digest as it would be made now; nothing is recorded."""
    now = now.astimezone(UTC)
    period = day_period(local_date(config.schedules, now))
    with db.session() as session:
        return [
            collect_digest(
                session,
                config,
                recipient,
                projects,
                period=period,
                since=_since(session, recipient, period, now),
                until=now,
            )
            for recipient, projects in digest_recipients(config).items()
        ]


def make_digests(
    db: Database, config: Config, now: datetime, *, period: str | None = None
) -> list[Outcome]:
    """Make and queue each recipient's digest for `period` (default: today's), once.

    Each recipient is its own transaction: one bad address does not stop the others.
    """
    now = now.astimezone(UTC)
    period = check_day_period(period) if period else day_period(local_date(config.schedules, now))
    outcomes = []
    for recipient, projects in digest_recipients(config).items():
        scope = report_scope(recipient)
        try:
            outcomes.append(_make_one(db, config, recipient, projects, scope, period, now))
        except MailbotError as err:  # a bad address or template: the others still go out
            outcomes.append(Outcome(KIND, scope, period, "failed", str(err)))
    return outcomes


def _make_one(
    db: Database,
    config: Config,
    recipient: str,
    projects: Sequence[ProjectConfig],
    scope: str,
    period: str,
    now: datetime,
) -> Outcome:
    with db.session() as session:
        if find_report(session, KIND, scope, period) is not None:
            return Outcome(KIND, scope, period, "exists", "made earlier")
        since = _since(session, recipient, period, now)
        digest = collect_digest(
            session, config, recipient, projects, period=period, since=since, until=now
        )
        report = claim_period(session, kind=KIND, scope=scope, period=period, state=QUEUED, now=now)
        if report is None:  # another daemon made it meanwhile
            return Outcome(KIND, scope, period, "exists", "made meanwhile by another process")
        outbox_id = queue(
            session, config, report, digest_mail(config, digest), to=[recipient], now=now
        )
        queue_chat_cards(session, config, digest, now)
        return Outcome(KIND, scope, period, "queued", recipient, outbox_id)


CARD_LINES = 5  # items named on a chat card; the mailed digest has them all


def queue_chat_cards(session: Session, config: Config, digest: Digest, now: datetime) -> None:
    """Each project of the digest as a compact card to the chats that take "digest"
    (mailbot.connectors), once per project and period whoever's digest it is in."""
    for part in digest.projects:
        project = config.project(part.key)
        lines = [
            *((line, "escalations") for line in part.escalations),
            *((line, "overdue") for line in part.overdue),
            *((line, "needs_review") for line in part.needs_review),
        ]
        facts = {
            "project_name": part.name,
            "period": digest.period,
            "counts": {
                "new": part.new_count,
                "needs_review": len(part.needs_review),
                "escalations": len(part.escalations),
                "overdue": len(part.overdue),
            },
            "items": [
                {"ref": line.ref, "title": line.title[:80], "why": why}
                for line, why in lines[:CARD_LINES]
            ],
        }
        push_chat(
            session, config, project, "digest", facts, key=f"{part.key}:{digest.period}", now=now
        )


def _since(session: Session, recipient: str, period: str, now: datetime) -> datetime:
    last = previous_report_time(session, KIND, report_scope(recipient), period, now)
    return last or now - DEFAULT_WINDOW
