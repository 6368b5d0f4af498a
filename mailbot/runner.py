"""The ingest loop: fetch -> parse -> classify -> store -> settle the server copy -> file.

`Ingest.drain` is the one code path used by `mailbot run --once`, by the
daemon and by the tests. Parsing and classifying are pure; the store stage
commits before the server copy moves; the file stage commits the item, the
message's state and any acknowledgement together.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.config_types import MailboxConfig
from mailbot.errors import MailbotError, ParseError
from mailbot.filing import Acknowledger, FilingHook, NoAcknowledgements, file_message
from mailbot.message import Message
from mailbot.parse import parse_bytes
from mailbot.sources.base import RawMail, Source
from mailbot.storage.db import Database
from mailbot.storage.models import Blob, Event, MessageState, StoredMessage
from mailbot.storage.store import (
    FAILED,
    Parsed,
    Stored,
    abandon_stale_locations,
    get_cursor,
    mark_server_done,
    message_fields,
    pending_locations,
    sha256_of,
    store_batch,
    touch_cursor,
)

if TYPE_CHECKING:
    from mailbot.triage import Triage, Verdict

log = logging.getLogger("mailbot.run")


@dataclass
class RunStats:
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    failed: int = 0
    filed: int = 0
    retried: int = 0
    set_aside: int = 0
    mailboxes: list[str] = field(default_factory=list)

    def add(self, other: RunStats) -> None:
        for name in ("fetched", "stored", "duplicates", "failed", "filed", "retried", "set_aside"):
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


def verdict_fields(verdict: Verdict) -> dict[str, Any]:
    return {
        "category": verdict.category,
        "confidence": verdict.confidence,
        "needs_review": verdict.needs_review,
        "escalate": verdict.escalate,
        "language": verdict.language,
        "verdict": verdict.to_dict(),
        "model_version": verdict.model_version,
    }


def load_triage(config: Config) -> Triage | None:
    """The triage stage as configured, loaded once; None when triage is off."""
    if not config.triage.enabled:
        return None
    from mailbot.triage import Triage

    return Triage.load(
        rules_dir=config.triage.rules_dir,
        model_dir=config.triage.model_dir,
        review_threshold=config.triage.review_threshold,
    )


def open_source(config: MailboxConfig, stop_event: threading.Event) -> Source:
    if config.kind == "maildir":
        from mailbot.sources.maildir import MaildirSource

        return MaildirSource(config, stop_event)
    from mailbot.sources.imap import ImapSource

    return ImapSource(config, stop_event=stop_event)


SourceFactory = Callable[[MailboxConfig, threading.Event], Source]


class Ingest:
    """Drains mailboxes into the database and files what arrives, exactly once per message."""

    def __init__(
        self,
        config: Config,
        db: Database,
        stop_event: threading.Event | None = None,
        source_factory: SourceFactory = open_source,
        triage: Triage | None = None,
        acknowledger: Acknowledger | None = None,
        deliver: Callable[[], object] | None = None,
        hooks: Sequence[FilingHook] = (),
    ) -> None:
        self.config = config
        self.db = db
        self.stop_event = stop_event or threading.Event()
        self.source_factory = source_factory
        self.triage = triage
        self.acknowledger = acknowledger or NoAcknowledgements()
        self.hooks = tuple(hooks)  # policies run after filing: escalation, change control, SLA
        self.deliver = deliver  # sends the outbox; called right after filing and each cycle

    def run_once(self) -> RunStats:
        """Finish what earlier runs left, then drain every mailbox once; the `--once` path."""
        total = self.advance_stored()  # first, so what fails now waits for the next run
        for box in self.config.mailboxes:
            if self.stop_event.is_set():
                break
            with self.source_factory(box, self.stop_event) as source:
                total.add(self.drain(source, box))
        self.send()  # retries that became due, even when nothing new arrived
        return total

    def classify(self, parsed: Sequence[Parsed]) -> dict[str, Verdict]:
        """The classify stage for a batch: verdicts by content hash."""
        if self.triage is None:
            return {}
        todo = [p for p in parsed if p.message is not None]
        verdicts = self.triage.classify_many([p.message for p in todo])  # type: ignore[misc]
        return {p.sha256: v for p, v in zip(todo, verdicts, strict=True)}

    def drain(self, source: Source, box: MailboxConfig) -> RunStats:
        with self.db.mailbox_lock(source.account, source.folder) as mine:
            if not mine:
                log.debug("%s: another mailbot process is draining it; skipping", box.name)
                return RunStats(mailboxes=[box.name])
            return self._drain(source, box)

    def _drain(self, source: Source, box: MailboxConfig) -> RunStats:
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
            verdicts = self.classify(parsed)
            extra = {sha: verdict_fields(v) for sha, v in verdicts.items()}
            with self.db.session() as session:
                stored = store_batch(session, account, folder, uidvalidity, parsed, extra)
            # Committed: only now may the server copies move.
            self._settle(source, [(s.location_id, s.target, s.mail) for s in stored])
            fresh = [s for s in stored if s.outcome == "stored"]
            stats.filed += self._file(
                [(s.message_pk, s.message, verdicts.get(s.sha256)) for s in fresh]
            )
            for item in stored:
                self._log(box.name, item, verdicts.get(item.sha256))
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

    def _file(self, todo: Sequence[tuple[int, Message | None, Verdict | None]]) -> int:
        """The file stage for stored messages, one savepoint each so one failure stays alone."""
        filed = 0
        if not todo:
            return filed
        with self.db.session() as session:
            for message_pk, message, verdict in todo:
                # Locked and re-checked: another daemon's recovery pass may have filed it.
                # Skip a row that pass holds rather than wait: waiting here while holding the
                # project counter could deadlock with it.
                row = session.scalars(
                    select(StoredMessage)
                    .where(
                        StoredMessage.id == message_pk, StoredMessage.state == MessageState.PARSED
                    )
                    .with_for_update(skip_locked=True)
                ).first()
                if row is None or message is None:
                    continue
                filed += self._file_one(session, row, message, verdict)
        if filed:
            self.send()
        return filed

    def _file_one(
        self, session: Session, row: StoredMessage, message: Message, verdict: Verdict | None
    ) -> int:
        """File one message in a savepoint; a failure marks it failed and leaves the rest."""
        try:
            with session.begin_nested():
                file_message(
                    session, self.config, row, message, verdict, self.acknowledger, self.hooks
                )
            return 1
        except Exception as err:  # a bug in one message's filing must not stop the others
            log.exception("filing message %s failed", row.id)
            _record_failure(session, row, f"filing: {describe_error(err)}")
            return 0

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
    def _log(mailbox: str, item: Stored, verdict: Verdict | None) -> None:
        msg = item.message
        if msg is None:
            log.warning(
                "%s uid=%s outcome=%s error=%s", mailbox, item.mail.uid, item.outcome, item.error
            )
            return
        triage = (
            f" category={verdict.category} confidence={verdict.confidence:.2f}" if verdict else ""
        )
        log.info(
            "%s uid=%s id=<%s> from=%s subject=%r outcome=%s%s",
            mailbox,
            item.mail.uid,
            msg.message_id,
            msg.from_.email if msg.from_ else "-",
            msg.subject[:80],
            item.outcome,
            triage,
        )

    def advance_stored(self) -> RunStats:
        """Take stored messages that are not filed yet (a crash, a failure) one stage further.

        Each attempt parses the stored original again, classifies and files it;
        after max_attempts failures the message is set aside for a person.
        """
        stats = RunStats()
        limit = self.config.max_attempts
        with self.db.session() as session:
            rows = session.scalars(
                select(StoredMessage)
                .where(StoredMessage.state.in_((MessageState.FAILED, MessageState.PARSED)))
                .order_by(StoredMessage.id)
            ).all()
        for row_id in [r.id for r in rows]:
            with self.db.session() as session:
                # Another daemon may be advancing the same row: skip it rather than wait.
                row = session.scalars(
                    select(StoredMessage)
                    .where(
                        StoredMessage.id == row_id,
                        StoredMessage.state.in_((MessageState.FAILED, MessageState.PARSED)),
                    )
                    .with_for_update(skip_locked=True)
                ).first()
                if row is None:
                    continue
                if row.state == MessageState.FAILED and row.attempts >= limit:
                    self._set_aside(session, row, stats)
                    continue
                retry = row.state == MessageState.FAILED
                if retry:
                    stats.retried += 1
                blob = session.get(Blob, row.sha256)
                assert blob is not None  # a foreign key guarantees it
                result = parse_mail(RawMail(0, str(row.id), blob.data))
                if result.message is None:
                    _record_failure(session, row, result.error or "unparseable")
                else:
                    for key, value in message_fields(result.message).items():
                        setattr(row, key, value)
                    verdicts = self.classify([result])
                    verdict = verdicts.get(result.sha256)
                    if verdict is not None:
                        for key, value in verdict_fields(verdict).items():
                            setattr(row, key, value)
                    row.state, row.error = MessageState.PARSED, None
                    stats.filed += self._file_one(session, row, result.message, verdict)
                if retry and row.state == MessageState.FAILED and row.attempts >= limit:
                    self._set_aside(session, row, stats)
        if stats.filed:
            self.send()
        return stats

    def send(self) -> None:
        """Deliver what is due in the outbox (acknowledgements, retries)."""
        if self.deliver is not None:
            self.deliver()

    @staticmethod
    def _set_aside(session: Session, row: StoredMessage, stats: RunStats) -> None:
        row.state = MessageState.SET_ASIDE
        detail = {"attempts": row.attempts, "error": row.error}
        session.add(Event(message_pk=row.id, kind="set_aside", detail=detail))
        log.error(
            "message %s set aside after %d failed attempts: %s", row.id, row.attempts, row.error
        )
        stats.set_aside += 1


def _record_failure(session: Session, row: StoredMessage, error: str) -> None:
    row.state = MessageState.FAILED
    row.attempts += 1
    row.error = error
    session.add(
        Event(
            message_pk=row.id,
            kind="retry_failed" if row.attempts > 1 else "failed",
            detail={"attempt": row.attempts, "error": error},
        )
    )


def describe_error(err: Exception) -> str:
    return str(err) if isinstance(err, MailbotError) else f"{type(err).__name__}: {err}"
