"""First-response SLA: when a person must first answer a new item, and which items are late.

Hours are wall-clock hours counted from the item's creation (nights and weekends
included); `[sla] <category>_hours` sets them. An item meets its SLA once
`first_response_at` is set: a person on our side answered in its thread
(`mailbot.pipeline.hooks.sla`) or a PM sent a status update with `queue status --notify`.
mailbot's own acknowledgement never counts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.config_types import SlaConfig
from mailbot.storage.models import Event, Item

# Statuses in which nobody is waiting for us any more: no SLA runs for them.
FINISHED_STATUSES = frozenset({"resolved", "closed", "done", "rejected", "noted", "merged"})
MERGED_STATUS = "merged"


def aware(moment: datetime) -> datetime:
    """A timezone-aware datetime; SQLite gives back naive UTC values."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def is_open(item: Item) -> bool:
    """Whether the item still waits for work (not finished, not merged into another)."""
    return item.merged_into_id is None and item.status not in FINISHED_STATUSES


def due_at(item: Item, config: Config) -> datetime | None:
    """When the first human response is due, or None when the category has no SLA."""
    hours = config.sla.hours_for(item.category)
    if hours is None:
        return None
    return aware(item.created_at) + timedelta(hours=hours)


def is_overdue(item: Item, config: Config, now: datetime) -> bool:
    """Open, still without a human response, and past its due time."""
    due = due_at(item, config)
    return due is not None and item.first_response_at is None and is_open(item) and aware(now) > due


def sla_state(item: Item, config: Config, now: datetime) -> str:
    """One word for tables and JSON: met, breached, due, closed or none."""
    if item.first_response_at is not None:
        return "met"
    if not is_open(item):
        return "closed"
    due = due_at(item, config)
    if due is None:
        return "none"
    return "breached" if aware(now) > due else "due"


def overdue_condition(sla: SlaConfig, now: datetime) -> ColumnElement[bool]:
    """`is_overdue` as SQL, for the queue's filter and counts on a large database."""
    late = [
        and_(Item.category == category, Item.created_at < aware(now) - timedelta(hours=hours))
        for category in ("issue", "change_request", "feedback")
        if (hours := sla.hours_for(category)) is not None
    ]
    return and_(
        Item.first_response_at.is_(None),
        Item.merged_into_id.is_(None),
        Item.status.not_in(FINISHED_STATUSES),
        or_(*late) if late else false(),
    )


def overdue(session: Session, config: Config, now: datetime) -> list[Item]:
    """Open items without a first human response whose SLA has passed, most overdue first."""
    candidates = session.scalars(
        select(Item)
        .where(
            Item.first_response_at.is_(None),
            Item.merged_into_id.is_(None),
            Item.status.not_in(FINISHED_STATUSES),
        )
        .order_by(Item.created_at, Item.id)
    )
    return [item for item in candidates if is_overdue(item, config, now)]


def record_first_response(
    session: Session, item: Item, at: datetime, *, by: str, how: str, message_pk: int | None = None
) -> bool:
    """Set `first_response_at` once, with an audit event; False if it was already set."""
    if item.first_response_at is not None:
        return False
    item.first_response_at = aware(at)
    session.add(
        Event(
            item_id=item.id,
            message_pk=message_pk,
            kind="first_response",
            actor=by,
            detail={"at": aware(at).isoformat(), "how": how},
        )
    )
    return True
