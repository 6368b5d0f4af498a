"""Where a project stands: milestones, its overall status, items' target dates and what waits
on the client. The PM sets these (CLI and web call these functions); the weekly progress
report reads them.

Milestones start in the config (`[[projects]] milestones = [...]`); what the PM changes is
kept in the database and wins, so the config stays a plan and the database the news.
Every change is an audit `Event` with the actor; nothing is committed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.config_types import MILESTONE_STATUSES, ProjectConfig
from mailbot.items.actions import ActionError, find_item
from mailbot.items.sla import is_open
from mailbot.storage.models import Event, Item, Milestone, ProjectState

PROJECT_STATUSES = ("on_track", "at_risk", "delayed")
AT_RISK_DAYS = 7  # a milestone due this soon with urgent work open puts the project at risk


@dataclass(frozen=True, slots=True)
class MilestoneView:
    """A milestone as it stands now."""

    name: str
    due: date | None
    status: str  # planned, in_progress, done, cancelled
    done_on: date | None = None
    note: str | None = None

    def state(self, today: date) -> str:
        """done, late (past its date), due_soon (within a week) or on_track."""
        if self.status == "done":
            return "done"
        if self.due is not None and self.due < today:
            return "late"
        if self.due is not None and self.due <= today + timedelta(days=AT_RISK_DAYS):
            return "due_soon"
        return "on_track"


def milestones(session: Session, project: ProjectConfig) -> list[MilestoneView]:
    """The config's milestones with the PM's changes, then the PM's own; by due date."""
    rows = {
        m.name: m
        for m in session.scalars(select(Milestone).where(Milestone.project_key == project.key))
    }
    found: list[MilestoneView] = []
    for planned in project.milestones:
        row = rows.pop(planned.name, None)
        found.append(
            MilestoneView(
                name=planned.name,
                due=row.due if row is not None and row.due is not None else planned.due,
                status=(row.status if row is not None and row.status else planned.status),
                done_on=row.done_on if row is not None else None,
                note=row.note if row is not None else None,
            )
        )
    for row in rows.values():
        found.append(
            MilestoneView(row.name, row.due, row.status or "planned", row.done_on, row.note)
        )
    found = [m for m in found if m.status != "cancelled"]
    return sorted(found, key=lambda m: (m.due or date.max, m.name))


def set_milestone(
    session: Session,
    config: Config,
    key: str,
    name: str,
    *,
    due: date | None = None,
    status: str | None = None,
    note: str | None = None,
    actor: str,
    today: date | None = None,
) -> MilestoneView:
    """Add a milestone or change one: its date, status or note (None leaves it as it is)."""
    project = config.require_project(key, ActionError)
    name = name.strip()
    if not name:
        raise ActionError("the milestone has no name", 'e.g. mailbot project milestone ACME "UAT"')
    if status is not None and status not in MILESTONE_STATUSES:
        raise ActionError(
            f"{status!r} is not a milestone status", f"use one of {', '.join(MILESTONE_STATUSES)}"
        )
    known = {m.name for m in project.milestones} | {
        m.name
        for m in session.scalars(select(Milestone).where(Milestone.project_key == project.key))
    }
    if name not in known and due is None:
        raise ActionError(
            f"{project.key} has no milestone {name!r} yet",
            "give a new milestone its date with --due YYYY-MM-DD",
        )
    row = session.scalars(
        select(Milestone).where(Milestone.project_key == project.key, Milestone.name == name)
    ).first()
    if row is None:
        row = Milestone(project_key=project.key, name=name, updated_by=actor)
        session.add(row)
    before = {"due": _iso(row.due), "status": row.status, "note": row.note}
    if due is not None:
        row.due = due
    if status is not None:
        row.status = status
        row.done_on = (today or datetime.now(UTC).date()) if status == "done" else None
    if note is not None:
        row.note = note.strip() or None
    row.updated_by, row.updated_at = actor, datetime.now(UTC)
    session.add(
        Event(
            kind="milestone",
            actor=actor,
            detail={
                "project": project.key,
                "name": name,
                "from": before,
                "to": {"due": _iso(row.due), "status": row.status, "note": row.note},
            },
        )
    )
    session.flush()
    shown = {m.name: m for m in milestones(session, project)}
    return shown.get(name) or MilestoneView(name, row.due, "cancelled", None, row.note)


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


# --- the project's overall status ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Standing:
    """on_track, at_risk or delayed; why; and whether the PM said so."""

    status: str
    reasons: tuple[tuple[str, str], ...]  # (code, subject): ("milestone_late", "UAT")
    by_pm: bool = False
    note: str | None = None


def derived_standing(
    session: Session, project: ProjectConfig, today: date
) -> tuple[str, list[tuple[str, str]]]:
    """What the facts say: a late milestone delays; urgent work near a milestone risks it."""
    views = milestones(session, project)
    reasons: list[tuple[str, str]] = []
    late = [m for m in views if m.state(today) == "late"]
    for m in late:
        reasons.append(("milestone_late", m.name))
    items = list(
        session.scalars(
            select(Item).where(Item.project_key == project.key, Item.merged_into_id.is_(None))
        )
    )
    urgent = [i for i in items if is_open(i) and i.escalate and i.category == "issue"]
    overdue = [
        i for i in items if is_open(i) and i.target_date is not None and i.target_date < today
    ]
    for i in urgent:
        reasons.append(("urgent_issue", i.ref))
    for i in overdue:
        reasons.append(("past_target", i.ref))
    if late:
        return "delayed", reasons
    soon = [m for m in views if m.state(today) == "due_soon"]
    if urgent or overdue or (soon and any(is_open(i) and i.escalate for i in items)):
        return "at_risk", reasons
    return "on_track", reasons


def standing(session: Session, project: ProjectConfig, today: date) -> Standing:
    """The PM's word when given, else what the facts say (the reasons are kept either way)."""
    status, reasons = derived_standing(session, project, today)
    set_by_pm = session.get(ProjectState, project.key)
    if set_by_pm is not None:
        return Standing(set_by_pm.status, tuple(reasons), True, set_by_pm.note)
    return Standing(status, tuple(reasons), False, None)


def set_project_status(
    session: Session,
    config: Config,
    key: str,
    status: str,
    *,
    note: str = "",
    actor: str,
) -> ProjectState | None:
    """The PM's overall status for a project; "auto" hands it back to the facts."""
    project = config.require_project(key, ActionError)
    if status not in (*PROJECT_STATUSES, "auto"):
        raise ActionError(
            f"{status!r} is not a project status",
            f"use one of {', '.join(PROJECT_STATUSES)}, or auto to let the facts decide",
        )
    row = session.get(ProjectState, project.key)
    before = row.status if row is not None else "auto"
    if status == "auto":
        if row is not None:
            session.delete(row)
        row = None
    else:
        if row is None:
            row = ProjectState(project_key=project.key, status=status, set_by=actor)
            session.add(row)
        row.status, row.note, row.set_by = status, note.strip() or None, actor
        row.set_at = datetime.now(UTC)
    session.add(
        Event(
            kind="project_status",
            actor=actor,
            detail={"project": project.key, "from": before, "to": status, "note": note.strip()},
        )
    )
    return row


# --- items: target dates and waiting on the client -------------------------------------------


def set_target(session: Session, ref: str, target: date | None, *, actor: str) -> Item:
    """When the team expects the item done (shown to the client); None clears it."""
    item = find_item(session, ref)
    if not is_open(item) and target is not None:
        raise ActionError(f"{item.ref} is {item.status}: it needs no target date", "nothing to do")
    session.add(
        Event(
            item_id=item.id,
            kind="target_date",
            actor=actor,
            detail={"from": _iso(item.target_date), "to": _iso(target)},
        )
    )
    item.target_date = target
    return item


def set_waiting(
    session: Session,
    ref: str,
    note: str,
    *,
    needed_by: date | None = None,
    actor: str,
    now: datetime | None = None,
) -> Item:
    """The item waits on the client (a question asked, material needed), by when."""
    if not note.strip():
        raise ActionError(
            "say what the client is asked for",
            'e.g. --waiting "the test account for the payment provider"',
        )
    item = find_item(session, ref)
    if not is_open(item):
        raise ActionError(f"{item.ref} is {item.status}: nothing can wait on it", "nothing to do")
    item.waiting_since = now or datetime.now(UTC)
    item.waiting_note, item.needed_by = note.strip(), needed_by
    session.add(
        Event(
            item_id=item.id,
            kind="waiting",
            actor=actor,
            detail={"note": item.waiting_note, "needed_by": _iso(needed_by)},
        )
    )
    return item


def clear_waiting(session: Session, item: Item, *, actor: str, why: str) -> bool:
    """No longer waiting on the client (they answered, or the PM says so)."""
    if item.waiting_since is None:
        return False
    session.add(
        Event(
            item_id=item.id,
            kind="waiting_ended",
            actor=actor,
            detail={"note": item.waiting_note, "why": why},
        )
    )
    item.waiting_since, item.waiting_note, item.needed_by = None, None, None
    return True
