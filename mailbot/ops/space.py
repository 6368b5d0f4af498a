"""Free disk space where mailbot writes: the SQLite file's folder and the outbox folder.

Below `processing.min_free_space_mb` the daemon stops taking new mail (it stays on the server,
where nothing is lost) and stops working the stages (a write that fails for want of space would
count as a failed attempt and could set mail aside for a person); it goes on by itself once
there is space again. `mailbot doctor` says which disk is short and by how much.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from mailbot.config import Config
from mailbot.ops.checks import FAIL, PASS, Check

log = logging.getLogger("mailbot.space")

MB = 1024 * 1024
RECHECK_SECONDS = 2.0  # a statvfs is cheap, but the watchers and the work loop all ask


@dataclass(frozen=True, slots=True)
class Place:
    """A folder mailbot writes to, and what it holds."""

    what: str  # "the database", "the outbox folder"
    path: Path


@dataclass(frozen=True, slots=True)
class Space:
    """Free space measured at one place."""

    place: Place
    free_bytes: int

    @property
    def free_mb(self) -> float:
        return self.free_bytes / MB


def places(config: Config) -> list[Place]:
    """Where mailbot writes on this machine (a PostgreSQL server's disk is its own business)."""
    found = []
    sqlite_file = _sqlite_file(config.database_url)
    if sqlite_file is not None:
        found.append(Place("the database", sqlite_file.parent))
    if config.outbox_dir is not None and config.smtp is None:
        found.append(Place("the outbox folder", config.outbox_dir))
    return found


def _sqlite_file(url: str) -> Path | None:
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _existing(path: Path) -> Path:
    """The folder itself, or its nearest parent that exists (a folder not yet made)."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def measure(place: Place) -> Space:
    stats = os.statvfs(_existing(place.path))
    return Space(place, stats.f_bavail * stats.f_frsize)


def shortage(config: Config, measure: Callable[[Place], Space] = measure) -> str | None:
    """Why mailbot must not take new mail now, in plain words; None when there is space."""
    needed = config.min_free_space_mb
    if needed <= 0:
        return None
    short = [s for s in map(measure, places(config)) if s.free_bytes < needed * MB]
    if not short:
        return None
    return "; ".join(
        f"{s.place.what} ({s.place.path}) has {s.free_mb:.1f} MB free, "
        f"less than the {needed} MB mailbot keeps free" + " (processing.min_free_space_mb)"
        for s in short
    )


def out_of_space(err: BaseException) -> bool:
    """Whether `err` (or what caused it) is a write refused for want of disk space."""
    seen: BaseException | None = err
    for _ in range(5):  # the DB driver's error, wrapped by SQLAlchemy's
        if seen is None:
            return False
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "database or disk is full" in str(seen):
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False


def check_space(config: Config, measure: Callable[[Place], Space] = measure) -> list[Check]:
    """One doctor line per place: enough space, or new mail waiting on the server until there is."""
    needed = config.min_free_space_mb
    checks = []
    for space in map(measure, places(config)):
        detail = f"{space.place.path}: {space.free_mb:.1f} MB free"
        if needed > 0 and space.free_bytes < needed * MB:
            checks.append(
                Check(
                    "disk space",
                    space.place.what,
                    FAIL,
                    f"{detail}, less than the {needed} MB mailbot keeps free: it takes no new "
                    "mail (the mail waits on the server) and does no work until there is space",
                    "free space on that disk; mailbot goes on by itself within seconds",
                )
            )
        else:
            checks.append(Check("disk space", space.place.what, PASS, detail))
    return checks


class SpaceGuard:
    """Asked before each intake and each turn of work: is there space to write?

    Logs once when mailbot stops for want of space and once when it goes on.
    """

    def __init__(
        self, config: Config, measure: Callable[[Place], Space] = measure, every: float = 0.0
    ) -> None:
        self.config = config
        self.measure = measure
        self.every = every or RECHECK_SECONDS
        self._lock = threading.Lock()
        self._reason: str | None = None
        self._checked = float("-inf")

    def shortage(self) -> str | None:
        """The reason to wait, or None; measured at most every `every` seconds."""
        with self._lock:
            now = time.monotonic()
            if now - self._checked < self.every:
                return self._reason
            self._checked = now
            try:
                reason = shortage(self.config, self.measure)
            except OSError as err:  # a folder we cannot look at: do not stop the mail for it
                log.warning("cannot measure free disk space: %s", err)
                reason = None
            if reason and not self._reason:
                log.error("stopped taking new mail: %s. Free space on that disk.", reason)
            elif self._reason and not reason:
                log.warning("there is disk space again: taking new mail")
            self._reason = reason
            return reason
