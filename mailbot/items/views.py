"""Reading the queue: which items match the PM's filters, and everything about one item."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.config_types import SlaConfig
from mailbot.items.actions import ActionError, item_messages, old_refs
from mailbot.items.sla import (
    FINISHED_STATUSES,
    aware,
    due_at,
    is_overdue,
    overdue_condition,
    sla_state,
)
from mailbot.items.store import UNASSIGNED_KEY
from mailbot.storage.models import Event, Item, StoredMessage, TrackerLink
from mailbot.storage.search import SearchMatch, has_words

_AGE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str) -> timedelta:
    """`30m`, `12h`, `3d`, `2w` as a timedelta."""
    match = _AGE.match(text)
    if not match:
        raise ActionError(
            f"cannot read the age {text!r}", "write a number and a unit: 30m, 12h, 3d or 2w"
        )
    return timedelta(**{_UNITS[match.group(2).lower()]: int(match.group(1))})


def format_age(delta: timedelta) -> str:
    """A short age for tables: 5m, 3h, 2d 4h."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    return f"{hours}h" if hours else f"{mins}m"


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """What `queue list` shows; by default open items only."""

    project: str | None = None
    category: str | None = None
    status: str | None = None
    needs_review: bool = False
    escalated: bool = False
    unassigned: bool = False  # project TRIAGE: not yet filed to a client project
    older_than: timedelta | None = None
    search: str | None = None
    overdue: bool = False
    include_closed: bool = False  # --all
    # A message of the item whose sender is not proven ("unverified"), or who is
    # possibly someone else ("suspicious": failed or look-alike).
    sender: str | None = None  # None | "unverified" | "suspicious"
    # Only these projects (a PM's own, in the web workspace); None: every project.
    projects: tuple[str, ...] | None = None


SENDER_FILTERS = {
    "unverified": ("unverified", "failed", "lookalike"),
    "suspicious": ("failed", "lookalike"),
}


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def queue_query(filters: QueueFilter, now: datetime, sla: SlaConfig) -> Select[tuple[Item]]:
    """The items matching `filters`, oldest first, all in SQL (overdue included)."""
    query = select(Item).order_by(Item.created_at, Item.id)
    if filters.overdue:
        query = query.where(overdue_condition(sla, now))
    if filters.project:
        query = query.where(Item.project_key == filters.project.upper())
    if filters.projects is not None:
        query = query.where(Item.project_key.in_(filters.projects))
    if filters.unassigned:
        query = query.where(Item.project_key == UNASSIGNED_KEY)
    if filters.category:
        query = query.where(Item.category == filters.category)
    if filters.status:
        query = query.where(Item.status == filters.status)
    elif not filters.include_closed:
        query = query.where(Item.status.not_in(FINISHED_STATUSES), Item.merged_into_id.is_(None))
    if filters.needs_review:
        query = query.where(Item.needs_review.is_(True))
    if filters.escalated:
        query = query.where(Item.escalate.is_(True))
    if filters.older_than is not None:
        query = query.where(Item.created_at < now - filters.older_than)
    if filters.sender is not None:
        statuses = SENDER_FILTERS.get(filters.sender)
        if statuses is None:
            raise ActionError(
                f"unknown sender filter {filters.sender!r}",
                f"use one of: {', '.join(SENDER_FILTERS)}",
            )
        query = query.where(
            exists().where(
                StoredMessage.item_id == Item.id, StoredMessage.sender_status.in_(statuses)
            )
        )
    if filters.search and has_words(filters.search):
        # The full-text index (storage/search.py): Chinese by characters, words by prefix.
        query = query.where(or_(SearchMatch(filters.search), Item.ref == filters.search.upper()))
    elif filters.search:  # only punctuation: nothing to index, look for it as it is
        pattern = _like(filters.search)
        in_messages = exists().where(
            StoredMessage.item_id == Item.id,
            or_(
                StoredMessage.new_text.ilike(pattern, escape="\\"),
                StoredMessage.subject.ilike(pattern, escape="\\"),
            ),
        )
        query = query.where(or_(Item.title.ilike(pattern, escape="\\"), in_messages))
    return query


def list_items(
    session: Session,
    config: Config,
    filters: QueueFilter,
    now: datetime,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> list[Item]:
    """The items matching `filters`, oldest first; `limit` of them from `offset` if given."""
    query = queue_query(filters, now, config.sla)
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def count_items(session: Session, config: Config, filters: QueueFilter, now: datetime) -> int:
    """How many items match `filters`."""
    query = queue_query(filters, now, config.sla).order_by(None)
    return int(session.scalar(query.with_only_columns(func.count(Item.id))) or 0)


def flags(item: Item, config: Config, now: datetime) -> str:
    """! escalated, ? needs review, L late (SLA breached), M merged."""
    marks = [
        ("!", item.escalate),
        ("?", item.needs_review),
        ("L", is_overdue(item, config, now)),
        ("M", item.merged_into_id is not None),
    ]
    return "".join(mark for mark, on in marks if on)


def _iso(moment: datetime | None) -> str | None:
    return aware(moment).isoformat() if moment is not None else None


def item_summary(item: Item, config: Config, now: datetime) -> dict[str, Any]:
    """One item as `queue list --json` prints it."""
    due = due_at(item, config)
    return {
        "ref": item.ref,
        "project": item.project_key,
        "category": item.category,
        "status": item.status,
        "title": item.title,
        "client": item.client_email,
        "client_name": item.client_name,
        "language": item.language,
        "assignee": item.assignee,
        "confidence": item.confidence,
        "needs_review": item.needs_review,
        "escalate": item.escalate,
        "flags": flags(item, config, now),
        "created_at": _iso(item.created_at),
        "age_seconds": int((aware(now) - aware(item.created_at)).total_seconds()),
        "sla_due_at": _iso(due),
        "sla": sla_state(item, config, now),
        "first_response_at": _iso(item.first_response_at),
    }


def verdict_reasons(verdict: dict[str, Any] | None) -> list[str]:
    """Why triage decided as it did, in short sentences."""
    if not verdict:
        return []
    explanation = verdict.get("explanation") or {}
    reasons = [f"decided by {explanation['decided_by']}"] if explanation.get("decided_by") else []
    for hit in explanation.get("rules") or []:
        reasons.append(f"rule {hit.get('rule')}: {hit.get('description')} [{hit.get('evidence')}]")
    reasons += [f"review: {r}" for r in verdict.get("review_reasons") or []]
    reasons += [f"escalate: {r}" for r in verdict.get("escalate_reasons") or []]
    return reasons


def _message(row: StoredMessage) -> dict[str, Any]:
    return {
        "id": row.id,
        "message_id": row.message_id,
        "from": row.from_email,
        "from_name": row.from_name,
        "sent_at": _iso(row.sent_at),
        "received_at": _iso(row.received_at),
        "subject": row.subject,
        "new_text": row.new_text,
        "category": row.category,
        "confidence": row.confidence,
        "language": row.language,
        "reasons": verdict_reasons(row.verdict),
        "verdict": row.verdict,
        "sender_check": row.sender_check,
        "spam_check": row.spam_check,
        "route": row.route,
    }


def _event(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": _iso(event.at),
        "kind": event.kind,
        "actor": event.actor,
        "message": event.message_pk,
        "detail": event.detail,
    }


def tracker_issue(session: Session, item: Item) -> dict[str, Any] | None:
    """The item's issue in the team's tracker (mailbot.connectors), if it has one."""
    link = session.get(TrackerLink, item.id)
    if link is None:
        return None
    return {"key": link.remote_key, "url": link.url, "status": link.remote_status}


def item_detail(session: Session, config: Config, item: Item, now: datetime) -> dict[str, Any]:
    """Everything about one item: messages with verdicts and routes, and its history."""
    rows = item_messages(session, item)
    ids = [row.id for row in rows]
    events = session.scalars(
        select(Event)
        .where(or_(Event.item_id == item.id, Event.message_pk.in_(ids)))
        .order_by(Event.at, Event.id)
    )
    merged_into = session.get(Item, item.merged_into_id) if item.merged_into_id else None
    return {
        **item_summary(item, config, now),
        "old_refs": old_refs(session, item),
        "merged_into": merged_into.ref if merged_into else None,
        "impact": item.impact,
        "tracker": tracker_issue(session, item),
        "messages": [_message(row) for row in rows],
        "events": [_event(event) for event in events],
    }
