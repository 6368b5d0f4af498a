"""A status the team set in the tracker, applied to the item: the one place polls and
webhooks both come to."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.config_types import ProjectConfig
from mailbot.connectors.base import RemoteIssue
from mailbot.connectors.filing import tracker_name
from mailbot.items.actions import ActionError, set_status
from mailbot.items.lifecycle import LIFECYCLES, StatusError
from mailbot.storage.models import Event, Item, TrackerLink

log = logging.getLogger("mailbot.connectors")


def apply_remote_status(
    session: Session,
    config: Config,
    project: ProjectConfig,
    issue: RemoteIssue,
    *,
    now: datetime,
) -> bool:
    """The team moved an issue in the tracker: move its item the same way, and tell the
    client with the usual status mail in their language (`items.actions.set_status`,
    as the CLI and the web do). Returns whether the item's status changed.

    Polls and webhooks both come here; a status already seen is passed over, so a poll
    after a webhook changes nothing.
    """
    assert project.tracker is not None
    link = session.scalar(
        select(TrackerLink)
        .where(
            TrackerLink.connector == tracker_name(project.key),
            TrackerLink.remote_id == issue.remote_id,
        )
        # Two daemons reading the same change: the second waits here, then sees it seen.
        .with_for_update()
    )
    if link is None or not issue.status or issue.status == link.remote_status:
        return False
    link.remote_status = issue.status
    link.synced_at = now
    item = session.get(Item, link.item_id)
    if item is None:
        return False
    allowed = LIFECYCLES.get(item.category, {}).get(item.status, ())
    wanted = project.tracker.mailbot_statuses(issue.status)
    target = next((s for s in wanted if s in allowed), None)
    actor = f"tracker:{project.tracker.kind}"
    if target is None:
        if wanted and item.status not in wanted:
            session.add(
                Event(
                    item_id=item.id,
                    kind="tracker",
                    actor=actor,
                    detail={
                        "ignored": issue.status,
                        "reason": f"{item.ref} ({item.category}) cannot move from "
                        f"{item.status} to {' or '.join(wanted)}",
                    },
                )
            )
        return False
    try:
        with session.begin_nested():
            # No note: it would be mailed to the client, and the team's words in the
            # tracker are written for the team.
            change = set_status(
                session, config, item.ref, target, actor=actor, notify=True, now=now
            )
    except ActionError:  # no client mail to answer: the status changes all the same
        try:
            with session.begin_nested():
                change = set_status(session, config, item.ref, target, actor=actor, now=now)
        except (ActionError, StatusError) as err:  # merged into another item, say
            _not_applied(session, item, actor, issue.status, err.message)
            return False
    except StatusError as err:
        _not_applied(session, item, actor, issue.status, err.message)
        return False
    reason = f"moved to {issue.status} in the tracker ({issue.key})"
    change.event.detail = {**change.event.detail, "reason": reason}
    log.info("%s is now %s (moved in %s as %s)", item.ref, target, project.tracker.kind, issue.key)
    return True


def _not_applied(session: Session, item: Item, actor: str, status: str, why: str) -> None:
    """A tracker status mailbot cannot follow: written in the item's history, not retried."""
    log.warning("%s: the tracker's %r is not applied: %s", item.ref, status, why)
    session.add(
        Event(
            item_id=item.id, kind="tracker", actor=actor, detail={"ignored": status, "reason": why}
        )
    )
