"""Status lifecycles per category, and the one way a status changes (with an audit event)."""

from __future__ import annotations

from mailbot.errors import MailbotError
from mailbot.storage.models import Event, Item

# status -> statuses it may move to
LIFECYCLES: dict[str, dict[str, tuple[str, ...]]] = {
    "issue": {
        "new": ("acknowledged", "in_progress", "resolved", "closed"),
        "acknowledged": ("in_progress", "resolved", "closed"),
        "in_progress": ("resolved", "closed"),
        "resolved": ("closed", "reopened"),
        "closed": ("reopened",),
        "reopened": ("in_progress", "resolved", "closed"),
    },
    "change_request": {
        "submitted": ("under_review", "approved", "rejected"),
        "under_review": ("approved", "rejected"),
        "approved": ("scheduled", "done"),
        "rejected": ("under_review",),
        "scheduled": ("done",),
        "done": (),
    },
    "feedback": {"received": ("noted",), "noted": ()},
}
INITIAL = {"issue": "new", "change_request": "submitted", "feedback": "received"}
CLOSED_ISSUE_STATES = ("resolved", "closed")


class StatusError(MailbotError):
    code = "MB700"


def initial_status(category: str) -> str:
    return INITIAL[category]


def change_status(item: Item, status: str, *, actor: str, reason: str) -> Event:
    """Move an item to `status` if its lifecycle allows it; returns the audit event to add."""
    allowed = LIFECYCLES[item.category].get(item.status, ())
    if status not in allowed:
        raise StatusError(
            f"{item.ref} is {item.status}; a {item.category} cannot move to {status}",
            f"allowed next: {', '.join(allowed) or 'none (final state)'}",
        )
    event = Event(
        item_id=item.id,
        kind="status",
        actor=actor,
        detail={"from": item.status, "to": status, "reason": reason},
    )
    item.status = status
    return event
