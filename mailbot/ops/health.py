"""Liveness facts for `mailbot doctor` and monitoring: daemon heartbeats and last fetches.

A running daemon calls `beat()` once per cycle of each mailbox loop; the row
named `host:pid:mailbox` is overwritten each time, so the table stays small.
`read_heartbeats()` and `last_fetches()` are what doctor (or a monitoring
probe) reads back; `check_fetches()` and `check_outbox()` are doctor's checks
built on them. Nothing here raises on a database that lacks rows.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from mailbot import __version__
from mailbot.config import Config
from mailbot.config_types import DEFAULT_IDLE_RENEW, MailboxConfig
from mailbot.ops.checks import FAIL, PASS, WARN, Check, ago
from mailbot.pipeline.breakers import list_breakers
from mailbot.pipeline.trust import filter_down
from mailbot.storage.db import Database
from mailbot.storage.models import Cursor, Heartbeat, OutboxMail, OutboxState
from mailbot.text import plural
from mailbot.trust.spam import SpamdChecker, make_checker

log = logging.getLogger("mailbot.ops.health")

HEARTBEAT_INTERVAL = 60.0  # seconds between beats of one mailbox loop
STALL_FACTOR = 3  # a fetch older than this many wait intervals ...
STALL_GRACE = timedelta(minutes=10)  # ... plus this while a daemon beats means a stalled fetcher
OUTBOX_PENDING_WARN = timedelta(hours=1)  # an unsent mail older than this is worth a look


@dataclass(frozen=True, slots=True)
class HeartbeatInfo:
    """One daemon loop's last report."""

    name: str
    at: datetime
    detail: dict[str, Any]

    @property
    def mailbox(self) -> str:
        """The mailbox part of `host:pid:mailbox` (empty for a whole-process beat)."""
        return self.name.split(":", 2)[2] if self.name.count(":") >= 2 else ""

    def age(self, now: datetime | None = None) -> float:
        """Seconds since the beat."""
        return ((now or datetime.now(UTC)) - aware(self.at)).total_seconds()


@dataclass(frozen=True, slots=True)
class FetchInfo:
    """When a configured mailbox was last fetched successfully (None: never)."""

    mailbox: str
    folder: str
    last_fetch_at: datetime | None


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything mailbot stores is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def heartbeat_name(mailbox: str, *, host: str | None = None, pid: int | None = None) -> str:
    """The row name for this process and mailbox: `host:pid:mailbox`."""
    return f"{host or socket.gethostname()}:{pid if pid is not None else os.getpid()}:{mailbox}"


def beat(db: Database, name: str, **detail: Any) -> None:
    """Record that the loop `name` is alive now, with what it last did.

    Typical detail: last_fetch_at (ISO text), stored (messages stored so far),
    errors (count so far), last_error (text). The version is added here.
    Values must be JSON-serialisable; datetimes are turned into ISO text.
    """
    clean = {key: _jsonable(value) for key, value in detail.items()}
    clean.setdefault("version", __version__)
    now = datetime.now(UTC)
    with db.session() as session:
        row = session.get(Heartbeat, name)
        if row is None:
            session.add(Heartbeat(name=name, at=now, detail=clean))
        else:
            row.at = now
            row.detail = clean


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return aware(value).isoformat()
    return value


@dataclass
class Pulse:
    """One mailbox loop's counters: its thread updates them, the daemon's main thread beats.

    Beating from the main thread (not the mailbox thread) is what lets doctor tell a
    stalled fetcher (fresh heartbeat, old fetch) from a daemon that is gone (both old).
    """

    mailbox: str
    name: str = ""
    stored: int = 0
    errors: int = 0
    last_fetch_at: datetime | None = None
    last_error: str | None = None
    _last_beat: float = field(default=float("-inf"), repr=False)

    def __post_init__(self) -> None:
        self.name = self.name or heartbeat_name(self.mailbox)

    def fetched(self, stored: int) -> None:
        """A drain finished: `stored` new messages."""
        self.stored += stored
        self.last_fetch_at = datetime.now(UTC)
        self.last_error = None

    def failed(self, error: str) -> None:
        """The loop met an error (it will reconnect)."""
        self.errors += 1
        self.last_error = error

    def beat(self, db: Database, *, alive: bool = True, every: float = HEARTBEAT_INTERVAL) -> bool:
        """Write the heartbeat if `every` seconds passed; never raises (the DB may be down)."""
        now = time.monotonic()
        if now - self._last_beat < every:
            return False
        self._last_beat = now
        try:
            beat(
                db,
                self.name,
                alive=alive,
                stored=self.stored,
                errors=self.errors,
                last_fetch_at=self.last_fetch_at,
                last_error=self.last_error,
            )
        except Exception as err:  # monitoring must never stop the daemon
            log.warning("%s: cannot write the heartbeat: %s", self.mailbox, err)
            return False
        return True


def read_heartbeats(db: Database) -> list[HeartbeatInfo]:
    """Every heartbeat row, newest first."""
    with db.session() as session:
        rows = session.scalars(select(Heartbeat).order_by(Heartbeat.at.desc())).all()
        return [HeartbeatInfo(row.name, aware(row.at), dict(row.detail or {})) for row in rows]


def forget_heartbeats(db: Database, older_than_seconds: float) -> int:
    """Delete beats of processes gone for longer than this (old pids after restarts)."""
    now = datetime.now(UTC)
    gone = [b.name for b in read_heartbeats(db) if b.age(now) > older_than_seconds]
    if gone:
        with db.session() as session:
            for name in gone:
                row = session.get(Heartbeat, name)
                if row is not None:
                    session.delete(row)
    return len(gone)


def last_fetches(db: Database, config: Config) -> list[FetchInfo]:
    """The last successful fetch of each configured mailbox's inbox, from its cursor."""
    result = []
    with db.session() as session:
        for box in config.mailboxes:
            cursor = session.get(Cursor, (box.account, box.folders.inbox))
            at = cursor.last_fetch_at if cursor is not None else None
            result.append(FetchInfo(box.name, box.folders.inbox, aware(at) if at else None))
    return result


# --- doctor's checks on these facts -------------------------------------------------


def stall_limit(box: MailboxConfig) -> timedelta:
    """How old the last fetch may be before a running daemon counts as stalled."""
    interval = DEFAULT_IDLE_RENEW if box.idle else box.poll_interval
    return timedelta(seconds=STALL_FACTOR * interval) + STALL_GRACE


def check_fetches(config: Config, db: Database, now: datetime | None = None) -> list[Check]:
    """The last successful fetch of each mailbox, judged against the daemon's heartbeat."""
    now = now or datetime.now(UTC)
    beats = read_heartbeats(db)
    checks = []
    for fetch in last_fetches(db, config):
        box = next(b for b in config.mailboxes if b.name == fetch.mailbox)
        limit = stall_limit(box)
        mine = [b for b in beats if b.mailbox == box.name]
        alive = [b for b in mine if now - b.at <= limit]
        if fetch.last_fetch_at is None:
            checks.append(
                Check(
                    "last fetch",
                    box.name,
                    WARN,
                    "never fetched",
                    "start mailbot (mailbot run, or systemctl start mailbot)",
                )
            )
            continue
        age = now - fetch.last_fetch_at
        detail = f"{fetch.last_fetch_at:%Y-%m-%d %H:%M:%S} UTC ({ago(age)})"
        if age <= limit:
            checks.append(Check("last fetch", box.name, PASS, detail))
        elif alive:
            checks.append(
                Check(
                    "last fetch",
                    box.name,
                    FAIL,
                    f"{detail}, yet the daemon {alive[0].name} beat {ago(now - alive[0].at)}: "
                    "its fetcher is stalled",
                    "look at the log (journalctl -u mailbot), then restart the daemon",
                )
            )
        else:
            why = f"last heartbeat {ago(now - mine[0].at)}" if mine else "no heartbeat recorded"
            checks.append(
                Check(
                    "last fetch",
                    box.name,
                    WARN,
                    f"{detail}; no daemon seems to run ({why})",
                    "start mailbot (systemctl start mailbot) if it should be running",
                )
            )
    return checks


def check_outbox(db: Database, now: datetime | None = None) -> list[Check]:
    """Unsent mail: pending for long, or refused for good."""
    now = now or datetime.now(UTC)
    with db.session() as session:
        failed = session.scalar(select(func.count()).where(OutboxMail.state == OutboxState.FAILED))
        oldest = session.scalar(
            select(func.min(OutboxMail.created_at)).where(OutboxMail.state == OutboxState.PENDING)
        )
        late = session.scalar(
            select(func.count()).where(
                OutboxMail.state == OutboxState.PENDING,
                OutboxMail.created_at < now - OUTBOX_PENDING_WARN,
            )
        )
    checks = []
    if late:
        assert oldest is not None
        checks.append(
            Check(
                "outbox pending",
                "outbox",
                WARN,
                f"{plural(late, 'mail')} unsent for over an hour "
                f"(oldest {ago(now - aware(oldest))})",
                "check the SMTP check above and the daemon's log; they are retried by themselves",
            )
        )
    else:
        checks.append(Check("outbox pending", "outbox", PASS, "nothing waits longer than an hour"))
    if failed:
        checks.append(
            Check(
                "outbox failed",
                "outbox",
                WARN,
                f"{plural(failed, 'mail')} {'was' if failed == 1 else 'were'} refused for good "
                "and will not be retried",
                "read last_error in the outbox table; fix the cause and answer those clients",
            )
        )
    else:
        checks.append(Check("outbox failed", "outbox", PASS, "no refused mail"))
    return checks


def check_breakers(db: Database, now: datetime | None = None) -> list[Check]:
    """Addresses whose automatic answers are stopped: a real client there needs a person."""
    now = now or datetime.now(UTC)
    with db.session() as session:
        breakers = list_breakers(session, now)
    if not breakers:
        return [Check("breakers", "answers", PASS, "automatic answers go to every sender")]
    shown = ", ".join(
        f"{b.address} (until {aware(b.expires_at):%Y-%m-%d %H:%M} UTC: {b.reason})"
        for b in breakers[:5]
    )
    more = f" and {len(breakers) - 5} more" if len(breakers) > 5 else ""
    return [
        Check(
            "breakers",
            "answers",
            WARN,
            f"{plural(len(breakers), 'address', 'addresses')} "
            f"{'gets' if len(breakers) == 1 else 'get'} no automatic answers: {shown}{more}",
            "if one is a real client, `mailbot breakers clear ADDRESS`; "
            "`mailbot breakers list` shows them all",
        )
    ]


def check_spam_filter(config: Config, db: Database | None = None) -> list[Check]:
    """Does the configured spam filter answer, and was mail left unchecked?"""
    spam = config.spam
    if spam.backend == "none":
        detail = "no spam filter configured: the built-in heuristics only"
        return [Check("spam filter", "spam", PASS, detail)]
    checker = make_checker(spam)
    where = f"{spam.backend} at {spam.host}:{spam.port}"
    if isinstance(checker, SpamdChecker):
        answers = checker.ping()
    else:
        assert checker is not None
        answers = checker.check(PROBE).status != "not_checked"
    checks = [
        Check("spam filter", "spam", PASS, f"{where} answers")
        if answers
        else Check(
            "spam filter",
            "spam",
            FAIL,
            f"{where} does not answer: mail is filed unchecked for spam",
            f"start the filter (systemctl start {'spamd' if spam.backend == 'spamd' else 'rspamd'})"
            " or fix [spam] host and port",
        )
    ]
    if db is not None:
        with db.session() as session:
            down = filter_down(session)
        if down:
            checks.append(
                Check(
                    "spam filter outage",
                    "spam",
                    WARN,
                    "mail was filed unchecked for spam since the filter last failed",
                    "look through recent items for spam; `mailbot spam mark ID` files one as spam",
                )
            )
    return checks


PROBE = b"From: doctor@localhost\r\nSubject: mailbot doctor\r\n\r\nIs the filter there?\r\n"


def check_answer_mode(config: Config, now: datetime | None = None) -> list[Check]:
    """Observe mode: nothing automatic goes to clients, which an admin must know."""
    now = now or datetime.now(UTC)
    acks = config.acknowledgements
    if not acks.enabled:
        return [
            Check(
                "answers",
                "answers",
                WARN,
                "acknowledgements are off",
                "set acknowledgements.enabled = true when clients should be answered",
            )
        ]
    if acks.observing(now):
        until = f" until {acks.observe_until:%Y-%m-%d}" if acks.observe_until else ""
        return [
            Check(
                "answers",
                "answers",
                WARN,
                f"observe mode{until}: mail is filed and the digest lists what would have "
                "been sent, but clients get nothing automatic",
                'when the decisions look right, set acknowledgements.mode = "on"',
            )
        ]
    return [Check("answers", "answers", PASS, "clients are acknowledged")]
