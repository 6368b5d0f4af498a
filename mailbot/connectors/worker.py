"""Sending due pushes (retries, backoff, exactly once) and reading trackers back.

`Connectors.run()` is one turn, called by the daemon's loop after the mail delivery (and
by `mailbot run --once`): queue what mailbot itself changed (statuses, moved items) and
the failures to announce, send what is due, poll each tracker whose interval has passed.

Exactly once: a push is claimed (`storage.work`), its remote effect done, then recorded.
A crash between the two leaves it pending; the retry first looks for what the last try
made — the issue by its "[ACME-42]" marker, the note by its "(mailbot push N)" line —
and records that instead of making a second.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.config_types import ChatConfig, ProjectConfig, TrackerConfig
from mailbot.connectors import alerts, chat, pushes
from mailbot.connectors.base import NewIssue, PushFailed, RemoteIssue, Tracker, note_marker
from mailbot.connectors.filing import stored_client_text, tracker_name
from mailbot.connectors.github import GitHubTracker
from mailbot.connectors.gitlab import GitLabTracker
from mailbot.connectors.jira import JiraTracker
from mailbot.connectors.redmine import RedmineTracker
from mailbot.connectors.statuses import apply_remote_status
from mailbot.errors import MailbotError
from mailbot.items.actions import client_messages
from mailbot.storage import work
from mailbot.storage.db import Database
from mailbot.storage.models import ConnectorCursor, Event, Item, Push, PushState, TrackerLink

log = logging.getLogger("mailbot.connectors")

WAIT_FOR_ISSUE = timedelta(seconds=30)  # a note or status waits this long for its issue
POLL_OVERLAP = timedelta(minutes=2)  # polls reach back this far: the tracker's clock may lag
FIRST_POLL_BACK = timedelta(hours=1)  # the first poll of a tracker looks back this far
# Failed tries before a push is set aside: with the doubling backoff (1, 2, 4 … minutes,
# then hourly) about 6 hours, so a tracker's maintenance window or outage passes.
PUSH_MAX_ATTEMPTS = 12


@dataclass
class PushStats:
    done: int = 0
    retried: int = 0
    failed: int = 0
    waiting: int = 0  # postponed: their issue is not there yet, or a rate limit
    synced: int = 0  # statuses changed from the tracker


def make_tracker(config: TrackerConfig) -> Tracker:
    """The tracker client a `[projects.tracker]` kind names."""
    if config.kind == "redmine":
        return RedmineTracker(config)
    if config.kind == "jira":
        return JiraTracker(config)
    if config.kind == "github":
        return GitHubTracker(config)
    if config.kind == "gitlab":
        return GitLabTracker(config)
    raise PushFailed(f"no tracker of kind {config.kind!r}", permanent=True)


def configured(config: Config) -> bool:
    """Is any tracker or chat configured? Without one, the worker never runs."""
    return bool(config.chat) or any(p.tracker or p.chat for p in config.projects)


class Connectors:
    """The configured trackers and chats of one config, their clients made once."""

    def __init__(
        self,
        config: Config,
        db: Database,
        *,
        trackers: Callable[[TrackerConfig], Tracker] = make_tracker,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.db = db
        self.clock = clock
        self._make_tracker = trackers
        self._trackers: dict[str, Tracker] = {}
        self._released = False
        self.failure_chats = alerts.wanted(config)
        self.policy = work.RetryPolicy(PUSH_MAX_ATTEMPTS, base=config.retry_delay)
        self.chats: dict[str, tuple[ChatConfig, ProjectConfig | None]] = {
            c.name: (c, None) for c in config.chat
        }
        for project in config.projects:
            self.chats.update({c.name: (c, project) for c in project.chat})

    def tracker(self, project: ProjectConfig) -> Tracker:
        assert project.tracker is not None
        if project.key not in self._trackers:
            self._trackers[project.key] = self._make_tracker(project.tracker)
        return self._trackers[project.key]

    def tracked_projects(self) -> list[ProjectConfig]:
        return [p for p in self.config.projects if p.tracker is not None]

    # --- one turn --------------------------------------------------------------------

    def run(self, *, until_done: bool = False) -> PushStats:
        """Queue status changes made in mailbot, send due pushes, poll the trackers that are due."""
        stats = PushStats()
        if not self._released:  # a process of ours killed while pushing: take its claims back
            with self.db.session() as session:
                work.release_dead_claims(session, Push, self.clock())
            self._released = True
        for project in self.tracked_projects():
            self.queue_item_changes(project)
        if self.failure_chats:
            with self.db.session() as session:
                alerts.queue_failures(session, self.config, self.clock())
        while True:
            before = stats.done + stats.retried + stats.failed
            self.send_due(stats)
            if not until_done or stats.done + stats.retried + stats.failed == before:
                break
        for project in self.tracked_projects():
            try:
                self.poll(project, stats)
            except (PushFailed, MailbotError) as err:
                log.warning("%s: polling failed, trying again later: %s", project.key, err)
            except Exception:  # a bad answer: one tracker must not stop the others
                log.exception("%s: polling failed, trying again later", project.key)
        return stats

    def send_due(self, stats: PushStats) -> None:
        for push in pushes.claim(self.db, self.clock()):
            self.send_one(push, stats)

    def send_one(self, push: pushes.Claimed, stats: PushStats) -> None:
        now = self.clock()
        try:
            if push.kind == "chat":
                self._send_chat(push, stats)
            else:
                self._send_tracker(push, stats)
        except MailbotError as err:  # a secret that cannot be read: said plainly, retried
            self.send_one_failed(push, PushFailed(str(err)), now, stats)
        except PushFailed as err:
            self.send_one_failed(push, err, now, stats)
        except Exception as err:  # a bug or a bad answer: kept with the push, retried
            log.exception("push %d failed unexpectedly", push.id)
            self.send_one_failed(push, PushFailed(repr(err)), now, stats)

    def send_one_failed(
        self, push: pushes.Claimed, err: PushFailed, now: datetime, stats: PushStats
    ) -> None:
        """Count the failed attempt: retried after its backoff, or set aside."""
        with self.db.session() as session:
            outcome = pushes.fail(
                session,
                push,
                str(err),
                now,
                self.policy,
                permanent=err.permanent,
                retry_after=err.retry_after,
            )
        if outcome.set_aside:
            stats.failed += 1
        else:
            stats.retried += 1

    # --- chat ------------------------------------------------------------------------

    def _send_chat(self, push: pushes.Claimed, stats: PushStats) -> None:
        if push.connector not in self.chats:
            raise PushFailed(
                f"chat webhook {push.connector} is no longer configured", permanent=True
            )
        config, project = self.chats[push.connector]
        now = self.clock()
        with self.db.session() as session:
            wait_until = chat.room_at(session, config, now)
            if wait_until is not None:
                pushes.postpone(session, push, wait_until, f"over {config.per_minute} a minute")
                stats.waiting += 1
                return
        try:
            title, text = chat.render(self.config, project, push.payload)
        except MailbotError as err:  # a broken template: a person must fix it
            raise PushFailed(str(err), permanent=True) from None
        chat.send(config, title, text, push.payload["event"], now=now)
        with self.db.session() as session:
            pushes.finish(session, push, self.clock())
        stats.done += 1

    # --- trackers --------------------------------------------------------------------

    def _project_of(self, push: pushes.Claimed) -> ProjectConfig:
        key = push.connector.removeprefix("tracker:")
        project = self.config.project(key)
        if project is None or project.tracker is None:
            raise PushFailed(f"project {key} has no [projects.tracker] any more", permanent=True)
        return project

    def _send_tracker(self, push: pushes.Claimed, stats: PushStats) -> None:
        project = self._project_of(push)
        tracker = self.tracker(project)
        if push.kind == "create":
            # Looked up first, every time: a process killed after the tracker made the
            # issue and before it was recorded here left no trace of the try in this row.
            issue = tracker.find(push.payload["ref"])
            if issue is None:
                issue = tracker.create(
                    NewIssue(
                        push.payload["ref"], push.payload["title"], push.payload["description"]
                    )
                )
            with self.db.session() as session:
                self._link(session, push, issue)
                pushes.finish(session, push, self.clock(), remote_id=issue.remote_id)
            stats.done += 1
            log.info("%s pushed to %s as %s", push.payload["ref"], tracker.kind, issue.key)
            return
        with self.db.session() as session:
            link = session.get(TrackerLink, push.item_id) if push.item_id else None
            if link is None or link.connector != push.connector:  # moved from another tracker
                self._wait_for_issue(session, push, stats)
                return
            remote_id = link.remote_id
        if push.kind == "note":
            mark = note_marker(push.id)
            if not tracker.has_note(remote_id, mark):  # looked up first, as for issues
                tracker.add_note(remote_id, f"{push.payload['text']}\n\n{mark}")
        elif push.kind == "status":
            tracker.set_status(remote_id, push.payload["tracker_status"])
        else:
            raise PushFailed(f"unknown push kind {push.kind!r}", permanent=True)
        with self.db.session() as session:
            if push.kind == "status":
                link = session.get(TrackerLink, push.item_id)
                if link is not None:
                    link.remote_status = push.payload["tracker_status"]
            pushes.finish(session, push, self.clock())
        stats.done += 1

    def _wait_for_issue(self, session: Session, push: pushes.Claimed, stats: PushStats) -> None:
        """A note or status before its issue exists: wait while its create is pending."""
        create = session.scalar(
            select(Push).where(
                Push.connector == push.connector,
                Push.kind == "create",
                Push.item_id == push.item_id,
            )
        )
        if create is None or create.state == PushState.FAILED:
            raise PushFailed(
                f"{push.payload.get('ref')} has no issue in the tracker to add this to",
                permanent=True,
            )
        pushes.postpone(session, push, self.clock() + WAIT_FOR_ISSUE, "waiting for its issue")
        stats.waiting += 1

    def _link(self, session: Session, push: pushes.Claimed, issue: RemoteIssue) -> None:
        if push.item_id is None:
            return
        earlier = session.get(TrackerLink, push.item_id)
        if earlier is not None and earlier.connector == push.connector:
            return
        if earlier is not None:  # the item moved to another project's tracker
            session.delete(earlier)
            session.flush()
        session.add(
            TrackerLink(
                item_id=push.item_id,
                connector=push.connector,
                remote_id=issue.remote_id,
                remote_key=issue.key,
                url=issue.url,
                remote_status=issue.status,
                synced_at=self.clock(),
            )
        )
        session.add(
            Event(
                item_id=push.item_id,
                kind="tracker",
                actor=f"tracker:{self._project_of(push).tracker.kind}",  # type: ignore[union-attr]
                detail={"pushed": issue.key, "url": issue.url},
            )
        )

    # --- statuses, both ways ---------------------------------------------------------

    def _cursor(self, session: Session, name: str) -> ConnectorCursor:
        cursor = session.get(ConnectorCursor, name)
        if cursor is None:
            # Status changes made before the tracker was configured are not pushed.
            last = session.scalar(select(func.max(Event.id))) or 0
            cursor = ConnectorCursor(name=name, polled_at=None, status_event_id=last)
            session.add(cursor)
            session.flush()
        return cursor

    def queue_item_changes(self, project: ProjectConfig) -> int:
        """Queue what was done to the project's items in mailbot since the last look: a
        status push for each status change (the CLI, the web workspace, a reopening
        follow-up) of an item in the tracker, and an issue for each item moved into the
        project (from the triage queue, or from another project)."""
        assert project.tracker is not None
        name = tracker_name(project.key)
        queued = 0
        with self.db.session() as session:
            cursor = self._cursor(session, name)
            tracked = select(Push.item_id).where(Push.connector == name, Push.kind == "create")
            rows = session.execute(
                select(Event.id, Event.item_id, Event.actor, Event.kind, Event.detail)
                .join(Item, Item.id == Event.item_id)
                .where(
                    Event.id > cursor.status_event_id,
                    Event.kind.in_(("status", "moved")),
                    Item.project_key == project.key,
                )
                .order_by(Event.id)
            ).all()
            for event_id, item_id, actor, kind, detail in rows:
                cursor.status_event_id = max(cursor.status_event_id, event_id)
                known = session.scalar(tracked.where(Push.item_id == item_id)) is not None
                if kind == "moved":
                    if not known and (detail or {}).get("to_project") == project.key:
                        queued += self._queue_moved(session, name, item_id)
                    continue
                theirs = project.tracker.tracker_status(str((detail or {}).get("to")))
                if actor.startswith("tracker:") or theirs is None:
                    continue  # came from the tracker, or a status the tracker does not have
                if not known:
                    continue  # an item from before the tracker was configured
                pushes.enqueue(
                    session,
                    connector=name,
                    kind="status",
                    dedupe_key=f"status:{event_id}",
                    payload={"status": detail.get("to"), "tracker_status": theirs},
                    item_id=item_id,
                    now=self.clock(),
                )
                queued += 1
        return queued

    def _queue_moved(self, session: Session, name: str, item_id: int) -> int:
        """An item moved into a tracked project becomes an issue there, like a new one."""
        item = session.get(Item, item_id)
        if item is None:
            return 0
        rows = client_messages(session, self.config, item)
        payload = {
            "ref": item.ref,
            "title": item.title,
            "description": stored_client_text(rows[0]) if rows else item.title,
        }
        made = pushes.enqueue(
            session,
            connector=name,
            kind="create",
            dedupe_key=f"create:{name}:{item.id}",
            payload=payload,
            item_id=item.id,
            message_pk=rows[0].id if rows else None,
            now=self.clock(),
        )
        return 0 if made is None else 1

    def poll(self, project: ProjectConfig, stats: PushStats, *, force: bool = False) -> None:
        """Read the issues changed since the last poll, when the interval has passed."""
        assert project.tracker is not None
        if project.tracker.poll_interval <= 0 and not force:
            return
        now = self.clock()
        name = tracker_name(project.key)
        with self.db.session() as session:
            last = self._cursor(session, name).polled_at
        interval = timedelta(seconds=project.tracker.poll_interval)
        if last is not None and now - last < interval and not force:
            return
        since = (last or now - FIRST_POLL_BACK) - POLL_OVERLAP
        issues = self.tracker(project).updated_since(since)
        for issue in issues:
            with self.db.session() as session:
                if apply_remote_status(session, self.config, project, issue, now=now):
                    stats.synced += 1
        with self.db.session() as session:
            self._cursor(session, name).polled_at = now
