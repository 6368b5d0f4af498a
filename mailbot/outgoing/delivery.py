"""Delivering the outbox: over SMTP, or as .eml files in a folder (the demo, dry runs)."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.outgoing.notice import tell_pm_undeliverable
from mailbot.outgoing.outbox import SendStats, SentMarks, claim_due
from mailbot.outgoing.smtp import drain_outbox
from mailbot.storage import work
from mailbot.storage.db import Database
from mailbot.storage.models import OutboxMail

log = logging.getLogger("mailbot.delivery")

DIRECTORY_LEASE = timedelta(minutes=5)
DIRECTORY_BATCH = 50  # mails claimed at once


def deliver_outbox(db: Database, config: Config, *, now: datetime | None = None) -> SendStats:
    """Send what is due by whatever transport is configured; never raises for transport trouble."""
    if config.smtp is not None:

        def tell_pm(session: Session, row: OutboxMail, error: str, when: datetime) -> object:
            return tell_pm_undeliverable(session, config, row, error, when)

        return drain_outbox(db, config.smtp, now=now, on_set_aside=tell_pm)
    if config.outbox_dir is not None:
        return write_outbox(db, config.outbox_dir, now=now)
    return SendStats()


def write_outbox(db: Database, directory: Path, *, now: datetime | None = None) -> SendStats:
    """Write each due mail to `directory` as <id>-<kind>.eml, exactly once, then mark it sent."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    stats = SendStats()
    claimed: list[OutboxMail] = []  # taken a batch at a time, written one by one
    in_flight: OutboxMail | None = None  # written, perhaps, but not yet marked sent
    marks = SentMarks(db)
    try:
        while claimed or (claimed := claim_due(db, now, DIRECTORY_LEASE, DIRECTORY_BATCH)):
            row = in_flight = claimed.pop(0)
            written = _write_one(db, directory, row, now, marks)
            in_flight = None
            if not written:
                stats.waiting = 1 + len(claimed)
                break
            stats.sent += 1
    finally:
        marks.close()
        # Not written in this drain, or not marked (the database went away): due again at
        # once, not at the lease's end. Writing it again gives the same file.
        left = [row.id for row in claimed] + ([in_flight.id] if in_flight else [])
        if left:
            with db.session() as session:
                work.release(session, OutboxMail, left, now)
    return stats


def _write_one(
    db: Database, directory: Path, row: OutboxMail, now: datetime, marks: SentMarks
) -> bool:
    """Write one mail and mark it sent; False (the mail released) if it cannot be written."""
    target = directory / f"{row.id:06d}-{row.kind}.eml"
    tmp = target.with_suffix(".tmp")
    try:
        # Client mail: readable by mailbot alone, whatever the umask.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(row.raw)
        os.replace(tmp, target)  # a crash leaves either nothing or the whole file
    except OSError as err:  # a full disk, a folder gone: the mail waits for the next drain
        tmp.unlink(missing_ok=True)
        log.warning("cannot write %s (%s); it waits for the next drain", target, err)
        with db.session() as session:  # due again at once, not at the lease's end
            work.release(session, OutboxMail, [row.id], now)
        return False
    marks.mark(row, now)
    log.info("wrote %s (%s to %s)", target, row.kind, ", ".join(row.rcpt_to))
    return True
