"""Queries shared by the digest and the summary: items as plain lines, what was delivered.

What counts as open and as overdue is `mailbot.items.sla`'s, so reports and the SLA agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailbot.reports.mail import aware
from mailbot.storage.models import Event, Item

DELIVERED = ("resolved", "closed", "done")  # what a client reads as "done for you"
CLIENT_CATEGORIES = ("issue", "change_request", "feedback")


@dataclass(frozen=True, slots=True)
class Line:
    """One item as a report shows it; plain values so templates stay simple."""

    ref: str
    title: str
    category: str
    status: str
    client: str  # the client's name, else address
    opened: date  # local date
    waiting_hours: int  # since it was opened
    escalate: bool
    needs_review: bool
    awaiting_approval: bool  # a change request whose estimate waits for the client
    target: date | None = None  # when the team expects it done
    waiting: str | None = None  # what the client was asked for (a question, material)
    needed_by: date | None = None  # when we need it by

    @property
    def waits_on_client(self) -> bool:
        return self.awaiting_approval or self.waiting is not None

    def as_dict(self) -> dict[str, Any]:
        found = asdict(self)
        for key in ("opened", "target", "needed_by"):
            found[key] = found[key].isoformat() if found[key] else None
        return found


def line(item: Item, tz: ZoneInfo, now: datetime) -> Line:
    created = aware(item.created_at)
    return Line(
        ref=item.ref,
        title=item.title,
        category=item.category,
        status=item.status,
        client=item.client_name or item.client_email or "",
        opened=created.astimezone(tz).date(),
        waiting_hours=max(0, int((now - created).total_seconds() // 3600)),
        escalate=bool(item.escalate),
        needs_review=bool(item.needs_review),
        awaiting_approval=item.approval_requested_at is not None
        and item.status in ("submitted", "under_review"),
        target=item.target_date,
        waiting=item.waiting_note if item.waiting_since is not None else None,
        needed_by=item.needed_by if item.waiting_since is not None else None,
    )


def project_items(session: Session, keys: Sequence[str]) -> list[Item]:
    """Every live (not merged) item of these projects, oldest first."""
    if not keys:
        return []
    return list(
        session.scalars(
            select(Item)
            .where(Item.project_key.in_(list(keys)), Item.merged_into_id.is_(None))
            .order_by(Item.id)
        )
    )


def in_window(moment: datetime, since: datetime, until: datetime) -> bool:
    return since <= aware(moment) < until


def delivered_in(
    session: Session, items: Sequence[Item], since: datetime, until: datetime
) -> list[Item]:
    """Items whose status moved to resolved, closed or done within the window."""
    by_id = {i.id: i for i in items}
    if not by_id:
        return []
    events = session.scalars(
        select(Event).where(
            Event.kind == "status",
            Event.item_id.in_(list(by_id)),
            Event.at >= since,
            Event.at < until,
        )
    )
    done = {e.item_id for e in events if (e.detail or {}).get("to") in DELIVERED}
    return [by_id[i] for i in sorted(done) if i is not None and by_id[i].status in DELIVERED]


def status_changes_in(
    session: Session, items: Sequence[Item], since: datetime, until: datetime
) -> int:
    """How many status changes these items had within the window."""
    ids = [i.id for i in items]
    if not ids:
        return 0
    query = select(func.count(Event.id)).where(
        Event.kind == "status", Event.item_id.in_(ids), Event.at >= since, Event.at < until
    )
    return int(session.scalar(query) or 0)
