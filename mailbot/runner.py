"""The ingest loop: fetch -> parse -> store -> settle the server copy.

`drain_mailbox` is the one code path used by `mailbot run --once`, by the
daemon and by the tests.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.config_types import MailboxConfig
from mailbot.errors import MailbotError, ParseError
from mailbot.parse import parse_bytes
from mailbot.sources.base import RawMail, Source
from mailbot.storage.db import Database
from mailbot.storage.models import Blob, Event, MessageState, StoredMessage
from mailbot.storage.store import (
    FAILED,
    Parsed,
    Stored,
    _message_row,
    abandon_stale_locations,
    get_cursor,
    mark_server_done,
    pending_locations,
    sha256_of,
    store_batch,
    touch_cursor,
)

log = logging.getLogger("mailbot.run")


@dataclass
class RunStats:
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    failed: int = 0
    retried: int = 0
    set_aside: int = 0
    mailboxes: list[str] = field(default_factory=list)

    def add(self, other: RunStats) -> None:
        for name in ("fetched", "stored", "duplicates", "failed", "retried", "set_aside"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.mailboxes += other.mailboxes


def parse_mail(mail: RawMail) -> Parsed:
    """The parse stage for one mail: never raises, an error becomes part of the result."""
    digest = sha256_of(mail.data)
    try:
        return Parsed(mail, digest, parse_bytes(mail.data))
    except ParseError as err:
        return Parsed(mail, digest, None, err.message)
    except Exception as err:  # a parser bug must not stop the mailbox
        log.exception("parser crashed on uid %s (sha256 %s)", mail.uid, digest[:12])
        return Parsed(
            mail, digest, None, f"internal error while parsing: {type(err).__name__}: {err}"
        )


def open_source(config: MailboxConfig, stop_event: threading.Event) -> Source:
    if config.kind == "maildir":
        from mailbot.sources.maildir import MaildirSource

        return MaildirSource(config, stop_event)
    from mailbot.sources.imap import ImapSource

    return ImapSource(config, stop_event=stop_event)


SourceFactory = Callable[[MailboxConfig, threading.Event], Source]


class Ingest:
    """Drains mailboxes into the database, exactly once per message."""

    def __init__(
        self,
        config: Config,
        db: Database,
        stop_event: threading.Event | None = None,
        source_factory: SourceFactory = open_source,
    ) -> None:
        self.config = config
        self.db = db
        self.stop_event = stop_event or threading.Event()
        self.source_factory = source_factory

    def run_once(self) -> RunStats:
        """Retry failed messages, then drain every mailbox once; the `--once` path."""
        total = self.retry_failed()  # first, so what fails now waits for the next run
        for box in self.config.mailboxes:
            if self.stop_event.is_set():
                break
            with self.source_factory(box, self.stop_event) as source:
                total.add(self.drain(source, box))
        return total

    def drain(self, source: Source, box: MailboxConfig) -> RunStats:
        stats = RunStats(mailboxes=[box.name])
        account, folder = source.account, source.folder
        uidvalidity = source.uidvalidity()
        with self.db.session() as session:
            cursor = get_cursor(session, account, folder)
            after = 0
            if cursor is not None and cursor.uidvalidity == uidvalidity:
                after = cursor.last_uid
            elif cursor is not None:
                stale = abandon_stale_locations(session, account, folder, uidvalidity)
                log.warning(
                    "%s/%s: UIDVALIDITY changed (%s -> %s); rescanning the folder, "
                    "already stored messages are recognised by content (%d pending moves dropped)",
                    account,
                    folder,
                    cursor.uidvalidity,
                    uidvalidity,
                    stale,
                )
            pending = [
                (loc.id, loc.server_target, RawMail(int(loc.uid), loc.key, b""))
                for loc in pending_locations(session, account, folder, uidvalidity)
            ]
        if pending:
            log.info(
                "%s/%s: finishing %d server moves left from an earlier run",
                account,
                folder,
                len(pending),
            )
            self._settle(source, pending)

        for batch in source.fetch(after, box.batch_size):
            parsed = [parse_mail(mail) for mail in batch]
            with self.db.session() as session:
                stored = store_batch(session, account, folder, uidvalidity, parsed)
            # Committed: only now may the server copies move.
            self._settle(source, [(s.location_id, s.target, s.mail) for s in stored])
            for item in stored:
                self._log(box.name, item)
                stats.fetched += 1
                if item.outcome == "stored":
                    stats.stored += 1
                elif item.outcome == "duplicate":
                    stats.duplicates += 1
                else:
                    stats.failed += 1
            if self.stop_event.is_set():
                log.info("%s: stop requested; leaving after the current batch", box.name)
                break
        with self.db.session() as session:
            touch_cursor(session, account, folder, uidvalidity)
        return stats

    def _settle(self, source: Source, items: Sequence[tuple[int, str, RawMail]]) -> None:
        failed = [mail for _id, target, mail in items if target == FAILED]
        done = [mail for _id, target, mail in items if target != FAILED]
        if done:
            source.mark_processed(done)
        if failed:
            source.mark_failed(failed)
        with self.db.session() as session:
            mark_server_done(session, [loc_id for loc_id, _t, _m in items])

    @staticmethod
    def _log(mailbox: str, item: Stored) -> None:
        msg = item.message
        if msg is None:
            log.warning(
                "%s uid=%s outcome=%s error=%s", mailbox, item.mail.uid, item.outcome, item.error
            )
            return
        log.info(
            "%s uid=%s id=<%s> from=%s subject=%r outcome=%s",
            mailbox,
            item.mail.uid,
            msg.message_id,
            msg.from_.email if msg.from_ else "-",
            msg.subject[:80],
            item.outcome,
        )

    def retry_failed(self) -> RunStats:
        """Parse again what failed before; after max_attempts, set it aside for a person."""
        stats = RunStats()
        limit = self.config.max_attempts
        with self.db.session() as session:
            rows = session.scalars(
                select(StoredMessage).where(StoredMessage.state == MessageState.FAILED)
            ).all()
            for row in rows:
                if row.attempts < limit:
                    self._retry(session, row, stats)
                if row.state == MessageState.FAILED and row.attempts >= limit:
                    row.state = MessageState.SET_ASIDE
                    detail = {"attempts": row.attempts, "error": row.error}
                    session.add(Event(message=row, kind="set_aside", detail=detail))
                    log.error(
                        "message %s set aside after %d failed attempts: %s",
                        row.id,
                        row.attempts,
                        row.error,
                    )
                    stats.set_aside += 1
        return stats

    @staticmethod
    def _retry(session: Session, row: StoredMessage, stats: RunStats) -> None:
        blob = session.get(Blob, row.sha256)
        assert blob is not None  # a foreign key guarantees it
        result = parse_mail(RawMail(0, str(row.id), blob.data))
        stats.retried += 1
        row.attempts += 1
        if result.message is None:
            row.error = result.error
            detail = {"attempt": row.attempts, "error": result.error}
            session.add(Event(message=row, kind="retry_failed", detail=detail))
            return
        for key, value in _message_row(result.message).items():
            setattr(row, key, value)
        row.state, row.error = MessageState.PARSED, None
        session.add(Event(message=row, kind="stored", detail={"attempt": row.attempts}))


def describe_error(err: Exception) -> str:
    return str(err) if isinstance(err, MailbotError) else f"{type(err).__name__}: {err}"
