"""Reports as mail: record each period's report once, and queue its mail through outgoing.

A report is made once per (kind, scope, period): the `Report` row and its outbox row
are written in one transaction, and the unique constraint on the report decides
between two daemons (or a daemon and a person running `mailbot summary --send`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.config_types import ProjectConfig
from mailbot.message import Address
from mailbot.outgoing.outbox import UPSERT_DIALECTS
from mailbot.outgoing.send import Audience, render_templated, send_templated
from mailbot.outgoing.templates import Rendered
from mailbot.storage.models import Report

log = logging.getLogger("mailbot.reports")

HELD = "held"
QUEUED = "queued"
SCOPE_MAX = 50  # the width of reports.scope


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one report: queued, held, already made, or skipped (and why)."""

    kind: str
    scope: str
    period: str
    result: str  # "queued", "held", "exists", "released", "skipped"
    detail: str = ""
    outbox_id: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "scope": self.scope,
            "period": self.period,
            "result": self.result,
            "detail": self.detail,
            "outbox_id": self.outbox_id,
        }


def report_scope(value: str) -> str:
    """The scope key of a report: the value itself, or a stable digest if it is too long.

    Digest scopes are recipient addresses, which may be longer than the column.
    """
    value = value.strip().lower()
    if len(value) <= SCOPE_MAX:
        return value
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]
    return f"{value[: SCOPE_MAX - 17]}~{digest}"


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite drops the zone


def find_report(session: Session, kind: str, scope: str, period: str) -> Report | None:
    return session.scalars(
        select(Report).where(Report.kind == kind, Report.scope == scope, Report.period == period)
    ).first()


def previous_report_time(
    session: Session, kind: str, scope: str, period: str, before: datetime
) -> datetime | None:
    """When the last earlier report of this kind and scope was made: the window's start."""
    rows = session.scalars(
        select(Report.created_at).where(
            Report.kind == kind, Report.scope == scope, Report.period != period
        )
    ).all()
    earlier = [aware(t) for t in rows if aware(t) < before]
    return max(earlier, default=None)


def claim_period(
    session: Session, *, kind: str, scope: str, period: str, state: str, now: datetime
) -> Report | None:
    """Insert this period's report row; None if it exists (made earlier or by another daemon).

    SQLite and PostgreSQL use INSERT … ON CONFLICT DO NOTHING: it waits for a concurrent
    insert of the same period and then does nothing, and (unlike a SAVEPOINT opened
    first, which pysqlite would commit on its own) keeps the row in the caller's
    transaction with the outbox row. Other databases use a SAVEPOINT.
    """
    if find_report(session, kind, scope, period) is not None:
        return None
    values = {"kind": kind, "scope": scope, "period": period, "state": state, "created_at": now}
    dialect = session.get_bind().dialect.name
    if dialect in UPSERT_DIALECTS:
        insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        stmt = insert(Report).values(**values).on_conflict_do_nothing().returning(Report.id)
        new_id = session.execute(stmt).scalar_one_or_none()
        return None if new_id is None else session.get(Report, new_id)
    report = Report(**values)
    try:
        with session.begin_nested():
            session.add(report)
            session.flush()
    except IntegrityError:
        return None
    return report


@dataclass(frozen=True, slots=True)
class ReportMail:
    """What a report's mail says and how: the same for its preview and the mail sent."""

    kind: str  # "digest" or "summary": the outbox kind and the template folder
    template: str  # the body; the subject line is the kind's subject template
    context: Mapping[str, Any]
    project: ProjectConfig | None = None
    audience: Audience = Audience.CLIENT
    language: str | None = None  # None: the project's language


def render_report(config: Config, mail: ReportMail) -> tuple[str, Rendered]:
    """The subject line and the body, as `queue` sends them."""
    draft = render_templated(
        config,
        kind=mail.kind,
        category=mail.template,
        project=mail.project,
        audience=mail.audience,
        context=mail.context,
        language=mail.language,
        subject=True,
    )
    return draft.subject or "", draft.body


def queue(
    session: Session,
    config: Config,
    report: Report,
    mail: ReportMail,
    *,
    to: Sequence[str],
    now: datetime,
) -> int | None:
    """Queue a report's mail and link it; the outbox id (the earlier one if queued before)."""
    row = send_templated(
        session,
        config,
        kind=mail.kind,
        category=mail.template,
        project=mail.project,
        audience=mail.audience,
        to=[Address("", a) for a in to],
        context=mail.context,
        language=mail.language,
        dedupe_key=f"{report.kind}:{report.scope}:{report.period}",
        now=now,
    )
    report.state = QUEUED
    if row is not None:
        report.outbox_id = row.id
        log.info("%s %s for %s queued to %s", report.kind, report.period, report.scope, to)
        return row.id
    return report.outbox_id
