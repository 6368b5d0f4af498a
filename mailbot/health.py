"""Liveness facts for `mailbot doctor` and monitoring: daemon heartbeats and last fetches.

A running daemon calls `beat()` once per cycle of each mailbox loop; the row
named `host:pid:mailbox` is overwritten each time, so the table stays small.
`read_heartbeats()` and `last_fetches()` are what doctor (or a monitoring
probe) reads back. Nothing here raises on a database that lacks rows.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from mailbot import __version__
from mailbot.config import Config
from mailbot.storage.db import Database
from mailbot.storage.models import Cursor, Heartbeat


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
