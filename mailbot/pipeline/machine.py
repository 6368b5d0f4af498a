"""The stage machine: take fetched mail in, then move every stored message forward.

`Pipeline.run_once` is the one code path of `mailbot run --once`, of each turn of
the daemon's loop and of the tests: intake every mailbox (fetch → store → parse →
move the server copy), then advance the stages until nothing is due, then deliver
the outbox. The original bytes are committed before anything else happens to them;
after that, each stage claims a batch of messages (`mailbot.storage.work`) and works
on the batch in one transaction, each message in a savepoint of its own: one message's
failure is rolled back alone and recorded with it, the others go on and commit
together, before any server copy moves and before anything is sent.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.orm import Session, defer, load_only
from sqlalchemy.orm.attributes import set_committed_value

from mailbot.config import Config
from mailbot.config_types import MailboxConfig
from mailbot.message import Message, RawMail
from mailbot.outgoing.outbox import SendStats
from mailbot.pipeline import budget, spam, trust
from mailbot.pipeline.ahead import TriageAhead, TriageSettings
from mailbot.pipeline.file import Acknowledger, BatchContext, FileBatch, FilingHook
from mailbot.pipeline.stages import (
    ANSWER,
    CLASSIFY,
    FILE,
    HEADER_READ,
    PARSE,
    STAGES,
    Stage,
    StageError,
    answer_one,
    classify_batch,
    describe_error,
    file_one,
    parse_stored,
    record_parsed,
    signals_verdict,
    unread_for_review,
    verdict_fields,
)
from mailbot.pipeline.trust import Trust, TrustChecks
from mailbot.sources.base import Source
from mailbot.storage import work
from mailbot.storage.db import Database, database_unavailable
from mailbot.storage.expressions import among
from mailbot.storage.models import Blob, Event, Item, MessageState, OutboxMail, StoredMessage
from mailbot.storage.store import (
    FAILED,
    PROCESSED,
    Stored,
    abandon_stale_locations,
    get_cursor,
    mark_server_done,
    message_fields,
    pending_locations,
    set_server_target,
    store_batch,
    touch_cursor,
)
from mailbot.text import plural
from mailbot.triage.mail import Mail

if TYPE_CHECKING:
    from mailbot.triage import Triage

log = logging.getLogger("mailbot.run")

STAGE_LEASE = timedelta(minutes=10)  # a claimed message is hidden from other workers this long
STAGE_BATCH = 100  # messages claimed at once by one stage
# Parsed messages kept between stages, so a mail is parsed once: at most this many, and
# about this much of their text (a backlog of a few thousand ordinary mails fits).
MESSAGE_CACHE = 20_000
MESSAGE_CACHE_BYTES = 48 * 1024 * 1024
PARSE_CHUNK_BYTES = 16 * 1024 * 1024  # stored bytes held at once to be parsed together
# What the stages read of a mail is its parsed Message: of its row, these are not loaded
# (each JSON column is decoded at every load, a row is loaded in every stage, and the
# full text is most of a row's size). Read anyway, a column is loaded then, in the batch.
NOT_LOADED = (
    StoredMessage.text,
    StoredMessage.attachments,
    StoredMessage.signals,
    StoredMessage.defects,
)
# Classify reads of a row only its claim, its earlier spam verdict and where its bytes are.
NOT_LOADED_AT_CLASSIFY = (
    *NOT_LOADED,
    StoredMessage.new_text,
    StoredMessage.references,
    StoredMessage.recipients,
    StoredMessage.verdict,
    StoredMessage.sender_check,
    StoredMessage.route,
)


def _weight(message: Message) -> int:
    """About what a parsed message holds in memory: its texts and headers, generously."""
    header = sum(len(name) + len(value) for name, value in message.headers)
    return 2 * (len(message.text) + len(message.new_text) + len(message.subject) + header) + 2048


def blame(err: Exception) -> str:
    """Why a message's work failed, for its record. The database gone (a restart, a killed
    session, "database is locked") is no message's fault: that is raised on, to the work
    loop, which tries again after a back-off, and no attempt is counted against a mail."""
    if database_unavailable(err):
        raise err
    return describe_error(err)


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


SourceFactory = Callable[[MailboxConfig, threading.Event], Source]
_Worked = TypeVar("_Worked")  # what one attempt at a batch returns
ReadBatch = tuple[dict[int, Message], dict[int, str]]  # parsed messages, and what failed
Checked = tuple[int, Message, "Trust | None"]  # a message to classify, with its checks


class _MessageFailed(Exception):
    """One message of a batch worked without savepoints failed: the batch is rolled back."""

    def __init__(self, row_id: int, error: str) -> None:
        super().__init__(error)
        self.row_id = row_id
        self.error = error


class IntakeRun:
    """`run --once`'s intake of every mailbox, on a thread of its own beside the stages.

    `arrived` is set after each batch is stored and parsed, and once more at the end.
    """

    def __init__(self, pipeline: Pipeline, failed_now: set[int]) -> None:
        self.pipeline = pipeline
        self.failed_now = failed_now
        self.arrived = threading.Event()
        self.stats = RunStats()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="intake", daemon=True)
        self._thread.start()

    def done(self) -> bool:
        return not self._thread.is_alive()

    def wait(self) -> None:
        self._thread.join()

    def finish(self) -> RunStats:
        """Wait for the intake to end; its counts, or the error that ended it."""
        self.wait()
        if self.error is not None:
            raise self.error
        return self.stats

    def _run(self) -> None:
        pipeline = self.pipeline
        try:
            for box in pipeline.config.mailboxes:
                if pipeline.stop_event.is_set():
                    break
                with pipeline.source_factory(box, pipeline.stop_event) as source:
                    self.stats.add(
                        pipeline.intake(source, box, self.failed_now, on_batch=self.arrived.set)
                    )
        except BaseException as err:  # raised by `finish`, on the caller's thread
            self.error = err
        finally:
            self.arrived.set()


class Pipeline:
    """Takes mail in and moves each stored message through the stages, exactly once."""

    def __init__(
        self,
        config: Config,
        db: Database,
        *,
        source_factory: SourceFactory,
        stop_event: threading.Event | None = None,
        triage: Triage | None = None,
        acknowledger: Acknowledger | None = None,
        hooks: Sequence[FilingHook] = (),
        deliver: Callable[[], object] | None = None,
        courier: Callable[[], AbstractContextManager[object]] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        trust: TrustChecks | None = None,
        ahead: TriageSettings | None = None,
        ahead_started: TriageAhead | None = None,
    ) -> None:
        self.config = config
        self.db = db
        self.source_factory = source_factory
        self.stop_event = stop_event or threading.Event()
        self.triage = triage
        self.acknowledger = acknowledger
        self.hooks = tuple(hooks)  # policies run when a message is filed
        self.trust = trust  # sender and spam checks at classify; None: not checked
        # Mail is read in a helper process with a time budget (processing.parse_timeout).
        self.reader = budget.shared_reader() if config.parse_timeout > 0 else None
        self.deliver = deliver  # sends the outbox; its own step, never called from a stage
        # Delivers in another process while the stages work a backlog (None: a thread).
        self.courier = courier
        self.clock = clock
        self.retry = work.RetryPolicy(config.max_attempts, base=config.retry_delay)
        self._messages: OrderedDict[int, Message] = OrderedDict()
        self._cached_bytes = 0  # what the cached messages weigh (`_weight`)
        self._cache_lock = threading.Lock()  # intake threads and the worker share the cache
        self._answered = threading.Event()  # an answer batch committed: there may be mail
        # Classifies a backlog's next batch in a process of its own (None: not wanted).
        self.ahead_settings = ahead
        self._ahead: TriageAhead | None = ahead_started
        self._ahead_ending: TriageAhead | None = None  # told to stop, not yet waited for
        self._handed_over: list[Checked] = []  # the batch it is classifying

    # --- the loop --------------------------------------------------------------------

    def run_once(self) -> RunStats:
        """Intake every mailbox once, advance every stage, deliver: the `--once` path."""
        total = RunStats()
        self.release_dead_claims()
        failed_now: set[int] = set()  # what fails in this run waits for the next one
        if not getattr(self.triage, "loaded", True):
            # The model is not loaded here: it loads in triage ahead while the mail comes
            # in, and classifies what comes, however little (stopped at once if nothing).
            self._start_ahead()
        # Intake runs on a thread of its own, as in the daemon: the stages work what an
        # earlier run left, then each batch once it is stored and parsed, while the
        # helpers parse the next one.
        taking_in = IntakeRun(self, failed_now)
        try:
            total.add(self.advance(failed_now, then_send=True, taking_in=taking_in))
        except BaseException:
            taking_in.wait()  # its batch ends as it would have (no half-stored batch)
            raise
        total.add(taking_in.finish())
        return total

    @contextmanager
    def _delivering_meanwhile(self) -> Iterator[None]:
        """Deliver what the answer stage queues while the stages go on: a backlog's first
        acknowledgements go out while the later mails are filed (`advance`).

        In the courier process when there is one (`outgoing.courier`), else on a thread of
        its own. Only what an answer batch committed is there to send, as always. Both stop
        before the caller's own delivery sends what is left.
        """
        if self.deliver is None:
            yield
            return
        if self.courier is not None:
            with self.courier():
                yield
            return
        done = threading.Event()

        def delivering() -> None:
            try:
                while self._answered.wait() and not (done.is_set() or self.stop_event.is_set()):
                    self._answered.clear()
                    while not done.is_set() and not self.stop_event.is_set():
                        assert self.deliver is not None
                        stats = self.deliver()
                        if not (isinstance(stats, SendStats) and stats.busy):
                            break
            except Exception:  # the delivery after the stages tries again
                log.exception("delivering while the stages go on failed")

        sender = threading.Thread(target=delivering, name="deliver-meanwhile", daemon=True)
        sender.start()
        try:
            yield
        finally:
            done.set()
            self._answered.set()
            sender.join()

    def send(self, *, until_done: bool = False) -> SendStats:
        """Deliver what is due in the outbox (new mail, retries); the last delivery's counts.

        One delivery sends a bounded number: the daemon's loop comes straight back for the
        rest while a delivery did something (`busy`). `until_done` goes on itself, as
        `run --once` must not leave a backlog.
        """
        stats = SendStats()
        while self.deliver is not None and not self.stop_event.is_set():
            delivered = self.deliver()
            stats = delivered if isinstance(delivered, SendStats) else SendStats()
            # Until a delivery finds nothing due (what failed waits for its retry time).
            if not until_done or not stats.busy:
                break
        return stats

    def release_dead_claims(self) -> None:
        """Take back what a killed process of this machine had claimed (messages, mail)."""
        now = self.clock()
        with self.db.session() as session:
            messages = work.release_dead_claims(session, StoredMessage, now)
            mails = work.release_dead_claims(session, OutboxMail, now)
        if messages or mails:
            log.info(
                "took back %s and %s claimed by a process that is gone",
                plural(messages, "message"),
                plural(mails, "outgoing mail"),
            )

    def advance(
        self,
        failed_now: set[int] | None = None,
        *,
        then_send: bool = False,
        taking_in: IntakeRun | None = None,
    ) -> RunStats:
        """Run the stages until none has a due message (or a stop is requested).

        A message that fails is not tried again in the same call (nor in calls given the
        same `failed_now`), even when its retry is due at once. Once a stage worked a full
        batch (a backlog: a first start, a catch-up after an outage, `run
        --once`), what they queue is delivered meanwhile, not after the whole backlog.
        `then_send`: once the stages are done, deliver what is due (`send(until_done=True)`)
        before the delivery meanwhile stops, so the rest of a backlog's mail goes out over
        both at once. `taking_in`: an intake going on beside; the stages are done only
        once it has ended, and until then wait for its next batch when nothing is due.
        """
        stats = RunStats()
        failed_now = set() if failed_now is None else failed_now
        with ExitStack() as meanwhile:
            meanwhile.callback(self._stop_ahead, stats)
            delivering = False
            while not self.stop_event.is_set():
                # Read before the round: a batch stored during it is worked in the next.
                coming = taking_in is not None and not taking_in.done()
                if taking_in is not None:
                    taking_in.arrived.clear()
                moved = 0
                # What classify and file advanced stays claimed and is the next stage's
                # batch: no claim of its own, no wait for the write lock to take it.
                handed: list[int] = []
                for stage in STAGES:
                    chain: list[int] | None = [] if stage in (CLASSIFY, FILE) else None
                    try:
                        worked = self.advance_stage(
                            stage, stats, handed or None, failed_now=failed_now, chain=chain
                        )
                    except BaseException:
                        self._release(chain or [])
                        raise
                    handed = chain or []
                    if worked >= STAGE_BATCH and not delivering:
                        meanwhile.enter_context(self._delivering_meanwhile())
                        delivering = True
                    moved += worked
                if moved == 0:
                    if taking_in is None or not coming:
                        break
                    taking_in.arrived.wait()
            if then_send:
                # The stages are done: triage ahead ends while the rest is sent.
                self._stop_ahead(stats, wait=False)
                self.send(until_done=True)
        if then_send and delivering:
            # What the delivery meanwhile gave back as it stopped (its connection lost).
            self.send(until_done=True)
        return stats

    def advance_stage(
        self,
        stage: Stage,
        stats: RunStats,
        ids: Sequence[int] | None = None,
        *,
        failed_now: set[int] | None = None,
        read: ReadBatch | None = None,
        chain: list[int] | None = None,
    ) -> int:
        """Claim due messages of one stage (or take `ids`, already claimed) and work them.

        `read`: for the parse stage, `ids` parsed already. `chain`: the messages the stage
        advanced keep their claim and are added to it, for the caller to hand to the next
        stage (which releases what it does not work). What the intake parsed stays claimed
        so: classify's claims take this process's own mail with the due mail, and another
        daemon sharing the database does not take it (and parse it again to classify it).
        """
        now = self.clock()
        if ids is None:
            ready = stage.ready()
            if failed_now:
                ready = and_(ready, StoredMessage.id.not_in(failed_now))
            if stage is CLASSIFY and self._handed_over:  # held, being classified meanwhile
                ready = and_(ready, StoredMessage.id.not_in(self._handed_ids()))
            with self.db.session() as session:
                ids = work.claim(
                    session,
                    StoredMessage,
                    ready,
                    now=now,
                    lease=STAGE_LEASE,
                    limit=STAGE_BATCH,
                    also_mine=stage is CLASSIFY,
                )
        if not ids and not (stage is CLASSIFY and self._handed_over):
            return 0
        before = stats.failed
        recorded: list[int] = []  # with triage ahead: a batch claimed before, recorded now
        try:
            if stage is CLASSIFY and not ids:
                recorded = self._classify_rest(stats, chain)
            elif stage is CLASSIFY:
                if len(ids) >= STAGE_BATCH:
                    self._start_ahead()
                recorded = self._classify(ids, stats, chain)
            elif stage is PARSE:
                self._parse_batch(ids, stats, read, chain)
            else:
                self._batch(stage, ids, stats, chain)
        finally:
            # Classified meanwhile, or claimed for the next stage: not given back.
            held = {*self._handed_ids(), *(chain or ())}
            untouched = [i for i in ids if i not in held]
            with self.db.session() as session:  # what a stop left untouched goes back
                work.release(session, StoredMessage, untouched, self.clock())
            if failed_now is not None and stats.failed > before:
                with self.db.session() as session:
                    failed_now.update(
                        session.scalars(
                            select(StoredMessage.id).where(
                                among(StoredMessage.id, [*ids, *recorded]),
                                StoredMessage.state.in_(
                                    (MessageState.FAILED, MessageState.SET_ASIDE)
                                ),
                            )
                        )
                    )
        return len(ids) or len(recorded)

    def _handed_ids(self) -> list[int]:
        """The messages of the batch triage ahead is classifying (claimed, held here)."""
        return [row_id for row_id, _m, _c in self._handed_over]

    def _start_ahead(self) -> None:
        """Start classifying beside the stages (a backlog): ready a few seconds later."""
        if self._ahead is not None or self.ahead_settings is None or self.triage is None:
            return
        self._ahead = TriageAhead.start(self.ahead_settings)
        if self._ahead is None:  # not again in this process
            self.ahead_settings = None

    def _stop_ahead(self, stats: RunStats, *, wait: bool = True) -> None:
        """Record what is still handed over, then stop the process: with `wait`, until it
        has ended; else it ends while the caller goes on, and the next call waits."""
        try:
            if self._handed_over:
                self._classify_rest(stats)
        finally:
            if self._handed_over:  # not recorded (the database went away): claimable again
                ids, self._handed_over = self._handed_ids(), []
                self._release(ids)
            if self._ahead is not None:
                self._ahead.close(wait=False)
                self._ahead_ending, self._ahead = self._ahead, None
            if wait and self._ahead_ending is not None:
                self._ahead_ending.wait_ended()
                self._ahead_ending = None

    # --- a batch of messages, one stage ---------------------------------------------

    def _batch(
        self, stage: Stage, ids: Sequence[int], stats: RunStats, chain: list[int] | None = None
    ) -> None:
        """File or answer a batch in one transaction; a failing message is rolled back alone.

        The batch is first worked without a savepoint per message (they cost two statements
        each and a flush of every message on its own). Should a message's work raise, the
        transaction is rolled back and the batch worked again, each message in a savepoint,
        the failing one left out and recorded as failed once the others have committed.
        Should the batch not commit at all, its messages are done again one by one, each in
        its own transaction.
        """
        messages, failures = self._messages_of(ids)
        worked = self._climb(
            stage,
            ids,
            stats,
            failures,
            lambda careful: self._attempt(
                stage, ids, messages, failures, careful=careful, keep_claims=chain is not None
            ),
        )
        if worked is None:
            return
        done, retried = worked
        stats.retried += retried
        if chain is not None:
            chain.extend(row.id for row, _note in done)
        if stage is ANSWER and done:
            self._answered.set()
        for row, note in done:
            stats.filed += stage is FILE
            self._log_advanced(row, stage, note)
            if stage is ANSWER:
                self._forget(row.id)
        for row_id, error in failures.items():
            self._failed(stage, row_id, error, stats)

    def _climb(
        self,
        stage: Stage,
        ids: Sequence[int],
        stats: RunStats,
        failures: dict[int, str],
        attempt: Callable[[bool], _Worked],
    ) -> _Worked | None:
        """The ladder every batch climbs: `attempt` at once; should that fail, again with each
        message in a savepoint; should the batch not commit at all, one by one (None).

        A database that went away is no message's fault: it is raised to the work loop.
        """
        try:
            try:
                return attempt(False)
            except _MessageFailed as failed:
                failures[failed.row_id] = failed.error
            except Exception as err:
                if database_unavailable(err):
                    raise
                log.debug(
                    "%s: a batch of %d failed as a whole; message by message",
                    stage.name,
                    len(ids),
                    exc_info=True,
                )
            return attempt(True)
        except Exception as err:
            if database_unavailable(err):
                raise
            log.exception("%s: a batch of %d could not be saved; one by one", stage.name, len(ids))
            for row_id in ids:
                if self.stop_event.is_set():
                    break
                self._one(stage, row_id, stats)
            return None

    def _attempt(
        self,
        stage: Stage,
        ids: Sequence[int],
        messages: dict[int, Message],
        failures: dict[int, str],
        *,
        careful: bool,
        keep_claims: bool = False,
    ) -> tuple[list[tuple[StoredMessage, str]], int]:
        """One transaction over the batch's messages (those in `failures` left out): what
        was done and how many of it were retries.

        `careful`: each message in a savepoint, its failure added to `failures`; else the
        first failure raises `_MessageFailed` and the whole transaction is rolled back.
        `keep_claims`: what is advanced stays claimed, for the next stage.
        """
        done: list[tuple[StoredMessage, str]] = []
        retried = 0
        now = self.clock()
        # An answer batch renders and composes its mails before it writes anything: on
        # SQLite the courier then marks mail sent meanwhile, instead of waiting for the
        # batch's end (`read_then_write`). With savepoints the lock is taken at once.
        writing_late = stage is ANSWER and not careful
        with self.db.read_then_write() if writing_late else self.db.batch() as session:
            rows = self._claimed_rows(session, ids)
            # Their items in one query, held here so the session finds them by id.
            items = (
                session.scalars(
                    select(Item).where(among(Item.id, {r.item_id for r in rows.values()} - {None}))
                ).all()
                if stage is ANSWER
                else []
            )
            rows = {i: row for i, row in rows.items() if i in messages and i not in failures}
            batch = self._prepare(session, stage, rows, messages, items)
            # Answering leaves the message rows alone: their new state is written for
            # the whole batch at its end, in one statement.
            at_end = stage is ANSWER
            for row_id, row in rows.items():
                if self.stop_event.is_set():
                    break
                message = messages[row_id]
                retry = row.state == MessageState.FAILED
                try:
                    if careful:
                        with session.begin_nested():
                            note = self._work(session, stage, row, message, batch)
                            if not at_end:
                                self._advance_row(row, stage, now, keep_claims)
                    else:
                        note = self._work(session, stage, row, message, batch)
                        if not at_end:
                            self._advance_row(row, stage, now, keep_claims)
                except Exception as err:
                    error = blame(err)  # the database gone is no message's fault: raised on
                    if not isinstance(err, StageError):
                        log.exception("%s failed for message %s", stage.name, row_id)
                    if not careful:
                        raise _MessageFailed(row_id, error) from err
                    if batch is not None:
                        batch.drop()
                    failures[row_id] = error
                    continue
                if batch is not None:
                    batch.keep()
                retried += retry
                done.append((row, note))
            if batch is not None:
                batch.finish(session)
            if at_end and done:
                session.execute(
                    update(StoredMessage)
                    .where(among(StoredMessage.id, [row.id for row, _ in done]))
                    .values(**self._advanced_values(stage, now))
                    .execution_options(synchronize_session=False)
                )
            del items
        return done, retried

    def _prepare(
        self,
        session: Session,
        stage: Stage,
        rows: dict[int, StoredMessage],
        messages: dict[int, Message],
        items: Sequence[Item],
    ) -> BatchContext | None:
        """What the batch's messages need from the database, read in a few queries."""
        if stage is FILE:
            return FileBatch.read(session, [(row, messages[i]) for i, row in rows.items()])
        if stage is ANSWER and self.acknowledger is not None:
            by_id = {item.id: item for item in items}
            return self.acknowledger.prepare(
                session,
                [
                    (row, messages[row_id], by_id[row.item_id])
                    for row_id, row in rows.items()
                    if row.item_id in by_id
                ],
            )
        return None

    def _parse_batch(
        self,
        ids: Sequence[int],
        stats: RunStats,
        read: ReadBatch | None = None,
        chain: list[int] | None = None,
    ) -> None:
        """Parse a batch (no transaction open meanwhile), then record it in one.

        `read`: the batch parsed already (`_read_batch`, run while the next was fetched).
        `chain`: as for `advance_stage`.
        """
        parsed, failures = read if read is not None else self._read_batch(ids)
        worked = self._climb(
            PARSE,
            ids,
            stats,
            failures,
            lambda careful: self._record_parsed(
                parsed, failures, careful=careful, keep_claims=chain is not None
            ),
        )
        if worked is None:
            return
        done, retried = worked
        stats.retried += retried
        if chain is not None:
            chain.extend(row.id for row in done)
        for row in done:
            self._remember(row.id, parsed[row.id])
            self._log_advanced(row, PARSE, "parsed")
        for row_id, error in failures.items():
            self._failed(PARSE, row_id, error, stats)

    def _read_batch(self, ids: Sequence[int]) -> ReadBatch:
        """A batch's stored mails parsed: each claimed one's Message, or why it failed.

        Their bytes are read a chunk at a time (`PARSE_CHUNK_BYTES`), in one query each."""
        parsed: dict[int, Message] = {}
        failures: dict[int, str] = {}
        limit = self.config.max_message_bytes
        with self.db.session() as session:
            rows = self._claimed_rows(session, ids)
            sizes: dict[str, int] = dict(
                session.execute(  # type: ignore[arg-type]
                    select(Blob.sha256, Blob.size).where(
                        among(Blob.sha256, {row.sha256 for row in rows.values()})
                    )
                ).all()
            )
            chunk: dict[int, tuple[bytes, int]] = {}  # read by the helpers at once
            whole: dict[int, str] = {}  # to be read into the chunk: row id → sha256
            held = 0

            def parse_chunk() -> None:
                nonlocal chunk, whole, held
                data = dict(
                    session.execute(  # type: ignore[arg-type]
                        select(Blob.sha256, Blob.data).where(
                            among(Blob.sha256, set(whole.values()))
                        )
                    ).all()
                    if whole
                    else ()
                )
                for row_id, sha256 in whole.items():
                    chunk[row_id] = (bytes(data.get(sha256) or b""), sizes[sha256])
                self._parse_chunk(chunk, parsed, failures)
                chunk, whole, held = {}, {}, 0

            for row_id, row in rows.items():
                if self.stop_event.is_set():
                    break
                size = sizes.get(row.sha256)
                try:
                    if size is None:  # a foreign key guarantees it
                        raise StageError(f"the original bytes of message {row.id} are missing")
                    if limit is not None and size > limit:
                        chunk[row_id] = self._stored(session, row)  # its start only
                        continue
                except Exception as err:
                    failures[row_id] = blame(err)
                    continue
                whole[row_id] = row.sha256
                held += size
                if held >= PARSE_CHUNK_BYTES:
                    parse_chunk()
            parse_chunk()
        return parsed, failures

    def _record_parsed(
        self,
        parsed: dict[int, Message],
        failures: dict[int, str],
        *,
        careful: bool,
        keep_claims: bool = False,
    ) -> tuple[list[StoredMessage], int]:
        """Write the parsed messages in one transaction: what was done, how many retries.

        `careful`: each message in a savepoint, its failure added to `failures`.
        `keep_claims`: what is advanced stays claimed, for the next stage.
        """
        done: list[StoredMessage] = []
        retried = 0
        with self.db.batch() as session:
            rows = self._claimed_rows(session, list(parsed), state_only=True)
            for row_id, row in rows.items():
                retry = row.state == MessageState.FAILED
                if careful:
                    try:
                        with session.begin_nested():
                            self._write_parsed(session, [row], parsed, keep_claims)
                    except Exception as err:
                        log.exception("recording the parsed message %s failed", row_id)
                        failures[row_id] = blame(err)
                        continue
                retried += retry
                done.append(row)
            if not careful:
                self._write_parsed(session, done, parsed, keep_claims)
        return done, retried

    def _write_parsed(
        self,
        session: Session,
        rows: Sequence[StoredMessage],
        parsed: dict[int, Message],
        keep_claims: bool = False,
    ) -> None:
        """The rows' parses and their new state, in one statement: the ORM would write one for
        each set of columns that changed, and compare every column first."""
        if not rows:
            return
        table = StoredMessage.__table__
        advanced = self._advanced_values(PARSE, self.clock(), keep_claims)
        session.execute(
            update(table).where(table.c.id == bindparam("row_id")),
            [{"row_id": row.id, **message_fields(parsed[row.id]), **advanced} for row in rows],
        )
        for row in rows:  # as now written, for what reads them after the batch
            for key, value in advanced.items():
                set_committed_value(row, key, value)

    def _claimed_rows(
        self,
        session: Session,
        ids: Sequence[int],
        *,
        state_only: bool = False,
        not_loaded: Sequence[Any] = NOT_LOADED,
    ) -> dict[int, StoredMessage]:
        """The rows of `ids` still claimed by this process, in the order of `ids`, without
        the columns `not_loaded`; `state_only`: with nothing but the state."""
        if not ids:
            return {}
        query = select(StoredMessage).where(among(StoredMessage.id, ids))
        if state_only:
            query = query.options(load_only(StoredMessage.state, StoredMessage.claimed_by))
        else:
            query = query.options(*(defer(column) for column in not_loaded))
        found = {row.id: row for row in session.scalars(query)}
        me = work.worker_name()
        return {i: found[i] for i in ids if i in found and found[i].claimed_by == me}

    def _messages_of(self, ids: Sequence[int]) -> tuple[dict[int, Message], dict[int, str]]:
        """The parsed messages of a batch (parsed again when not cached), and what failed.

        Read before the batch's transaction opens, so no write lock waits on a parser.
        """
        messages: dict[int, Message] = {}
        failures: dict[int, str] = {}
        with self._cache_lock:
            missing = [i for i in ids if i not in self._messages]
            messages = {i: self._messages[i] for i in ids if i in self._messages}
        if missing:  # parsed again by the helpers at once (a backlog outgrows the cache)
            parsed, failures = self._read_batch(missing)
            for row_id, message in parsed.items():
                self._remember(row_id, message)
            messages.update(parsed)
        return messages, failures

    # --- one message, one stage ------------------------------------------------------

    def _one(self, stage: Stage, row_id: int, stats: RunStats) -> None:
        """One stage for one message in a transaction of its own; a failure stays with it."""
        try:
            with self.db.session() as session:
                row = self._claimed(session, row_id)
                if row is None:
                    return
                retry = row.state == MessageState.FAILED
                if stage is PARSE:
                    self._parse(session, row)
                    note = "parsed"
                else:
                    note = self._work(session, stage, row, self._message(session, row))
                stats.filed += stage is FILE
                stats.retried += retry
                self._advanced(session, row, stage, note)
            if stage is ANSWER:
                self._forget(row_id)
        except Exception as err:
            error = blame(err)
            if not isinstance(err, StageError):
                log.exception("%s failed for message %s", stage.name, row_id)
            self._failed(stage, row_id, error, stats)

    def _work(
        self,
        session: Session,
        stage: Stage,
        row: StoredMessage,
        message: Message,
        batch: BatchContext | None = None,
    ) -> str:
        """File or answer one message; returns the note for the log.

        `batch`: what was read for the message's batch (None: the message alone)."""
        if stage is FILE:
            filing = batch if isinstance(batch, FileBatch) else None
            return file_one(session, self.config, row, message, self.hooks, filing)
        if stage is ANSWER:
            decision = answer_one(session, row, message, self.acknowledger, batch)
            item = session.get(Item, row.item_id) if row.item_id is not None else None
            filed_as = item.ref if item is not None else "not filed"
            return f"{filed_as} ({row.category or 'unclassified'}), answer: {decision}"
        raise AssertionError(stage.name)  # pragma: no cover - parse and classify: batches

    def _classify(
        self, ids: Sequence[int], stats: RunStats, chain: list[int] | None = None
    ) -> list[int]:
        """Classify a batch at once (the model is faster so); a failure stays with its mail.

        Each mail's sender and spam checks run first, one by one (they read the bytes and
        may ask a spam filter); their verdicts then adjust the triage's. With triage ahead
        (`pipeline.ahead`) running, the batch is handed to it and the one handed over
        before is recorded: this one is classified while the stages go on. Returns the
        ids of what was recorded (the batch handed over before, or this one); `chain`: as
        for `advance_stage`.
        """
        return self._classified(self._checked(ids, stats), stats, chain)

    def _classify_rest(self, stats: RunStats, chain: list[int] | None = None) -> list[int]:
        """Record the batch still handed over to triage ahead (its verdicts, or made here)."""
        return self._classified([], stats, chain)

    def _classified(
        self, todo: list[Checked], stats: RunStats, chain: list[int] | None = None
    ) -> list[int]:
        """Hand `todo` to triage ahead when it is ready (else classify it here), and record
        the batch handed over before; the ids of what was recorded."""
        if todo and self._ahead is not None and not getattr(self.triage, "loaded", True):
            self._ahead.wait_ready()  # loading there already: not a second time here
        ahead = self._ahead if self._ahead is not None and self._ahead.ready() else None
        before, self._handed_over = self._handed_over, []
        # Taken back before the next batch is handed over: one batch in the pipe at a time.
        verdicts = self._ahead.verdicts(len(before)) if before and self._ahead else None
        here: list[Checked] = []
        if todo and ahead is not None and not ahead.broken:
            ahead.submit([Mail.from_message(m, signoff_later=True) for _, m, _ in todo])
            self._handed_over = todo
        elif todo:
            here = todo
            self._record_classified(here, self._verdicts_here(here), stats, chain)
        if before:
            if verdicts is None:
                verdicts = self._verdicts_here(before)
            self._record_classified(before, verdicts, stats, chain)
        return [row_id for row_id, _m, _c in [*before, *here]]

    def _checked(self, ids: Sequence[int], stats: RunStats) -> list[Checked]:
        """The batch's messages with their sender and spam checks; what cannot be read or
        checked is recorded as failed."""
        todo: list[Checked] = []
        messages, unread = self._messages_of(ids)
        with self.db.session() as session:
            wanted = [i for i in ids if i in messages]
            rows = self._claimed_rows(session, wanted, not_loaded=NOT_LOADED_AT_CLASSIFY)
            stored = self._stored_at_once(session, rows.values()) if self.trust else {}
            for row_id, row in rows.items():
                try:
                    message = messages[row_id]
                    raw = stored.pop(row.sha256, None)
                    todo.append((row_id, message, self._trust(session, row, message, raw)))
                except Exception as err:
                    unread[row_id] = blame(err)
        for row_id, error in unread.items():
            self._failed(CLASSIFY, row_id, error, stats)
        return todo

    def _verdicts_here(self, todo: Sequence[Checked]) -> Sequence[Any]:
        if self.triage is not None:
            return classify_batch(self.triage, [m for _, m, _ in todo])
        return [signals_verdict(m) for _, m, _ in todo]

    def _record_classified(
        self,
        todo: Sequence[Checked],
        verdicts: Sequence[Any],
        stats: RunStats,
        chain: list[int] | None = None,
    ) -> None:
        """Write the batch's verdicts, adjusted by its checks, in one transaction; `chain`:
        what is advanced stays claimed and is added to it."""
        if not todo:
            return
        done: list[tuple[StoredMessage, str]] = []
        now = self.clock()
        with self.db.session() as session:
            rows = self._claimed_rows(
                session,
                [row_id for row_id, _m, _c in todo],
                not_loaded=NOT_LOADED_AT_CLASSIFY,
            )
            for (row_id, message, checked), verdict in zip(todo, verdicts, strict=True):
                row = rows.get(row_id)
                if isinstance(verdict, Exception) or row is None:
                    continue
                stats.retried += row.state == MessageState.FAILED
                if checked is not None:
                    trust.record(row, checked)
                    trust.note_filter_health(session, checked.spam, self.clock())
                    verdict = trust.apply(verdict, checked, message)
                verdict = unread_for_review(verdict, message)
                note = "triage is off"
                if verdict is not None:
                    for key, value in verdict_fields(verdict).items():
                        setattr(row, key, value)
                    note = f"{verdict.category} ({verdict.confidence:.2f})"
                    if checked is not None and trust.person_said_not_spam(checked):
                        spam.learned_from_not_spam(session, row, verdict.category)
                self._advance_row(row, CLASSIFY, now, chain is not None)
                done.append((row, note))
        if chain is not None:
            chain.extend(row.id for row, _note in done)
        for row, note in done:
            self._log_advanced(row, CLASSIFY, note)
        for (row_id, _message, _checked), verdict in zip(todo, verdicts, strict=True):
            if isinstance(verdict, Exception):
                self._failed(CLASSIFY, row_id, f"triage: {describe_error(verdict)}", stats)

    def _stored_at_once(self, session: Session, rows: Iterable[StoredMessage]) -> dict[str, bytes]:
        """The stored bytes of a batch's mails in one query, by sha256, as far as they fit
        in PARSE_CHUNK_BYTES together; the others are read one by one."""
        sizes = session.execute(
            select(Blob.sha256, Blob.size).where(among(Blob.sha256, {row.sha256 for row in rows}))
        ).all()
        wanted, total = [], 0
        for sha256, size in sizes:
            if total + size <= PARSE_CHUNK_BYTES:
                wanted.append(sha256)
                total += size
        if not wanted:
            return {}
        found = session.execute(
            select(Blob.sha256, Blob.data).where(among(Blob.sha256, wanted))
        ).all()
        return {sha256: bytes(data) for sha256, data in found}

    def _trust(
        self, session: Session, row: StoredMessage, message: Message, raw: bytes | None = None
    ) -> Trust | None:
        """The sender and spam checks of a message (`raw`: its stored bytes, if read)."""
        if self.trust is None:
            return None
        if raw is not None:
            return self.trust.check(session, row, raw, message)
        blob = session.get(Blob, row.sha256)
        if blob is None:  # a foreign key guarantees it
            raise StageError(f"the original bytes of message {row.id} are missing")
        try:
            return self.trust.check(session, row, blob.data, message)
        finally:
            session.expunge(blob)  # a batch's bytes are not all kept in memory at once

    def _claimed(self, session: Session, row_id: int) -> StoredMessage | None:
        row = session.get(StoredMessage, row_id)
        if row is None or row.claimed_by != work.worker_name():
            return None  # taken back from us (our lease ended): not ours to touch now
        return row

    def _advanced(self, session: Session, row: StoredMessage, stage: Stage, note: str) -> None:
        self._advance_row(row, stage, self.clock())
        self._log_advanced(row, stage, note)

    def _advance_row(
        self, row: StoredMessage, stage: Stage, now: datetime, keep_claim: bool = False
    ) -> None:
        """The row's new state, its claim dropped (due at once for the next stage) or kept
        for the next stage (`keep_claim`), written with the session's next flush (a
        savepoint's end, the commit): one UPDATE with the stage's other changes, or a
        batch's at once."""
        for key, value in self._advanced_values(stage, now, keep_claim).items():
            setattr(row, key, value)

    @staticmethod
    def _advanced_values(
        stage: Stage, now: datetime, keep_claim: bool = False
    ) -> dict[str, object]:
        """What a message that went through `stage` gets: its new state, no error, and no
        claim (or a new one, `work.claim_values`, with `keep_claim`). In the statement
        that writes the stage's work: on SQLite a message's row is written whole (its
        texts too) by each UPDATE that touches it."""
        return {
            "state": stage.makes,
            "failed_stage": None,
            "error": None,
            **(
                work.claim_values(now, STAGE_LEASE)
                if keep_claim
                else {"claimed_by": None, "next_attempt_at": now}
            ),
        }

    def _release(self, ids: Sequence[int]) -> None:
        """Give back messages claimed for a stage that did not take them."""
        if ids:
            with suppress(Exception), self.db.session() as session:
                work.release(session, StoredMessage, ids, self.clock())

    def _log_advanced(self, row: StoredMessage, stage: Stage, note: str) -> None:
        if stage is ANSWER:  # the line an admin reads: who wrote, where it went, the answer
            log.info(
                "message %s <%s> from %s: %s", row.id, row.message_id, row.from_email or "-", note
            )
        elif stage is FILE:
            log.info("message %s <%s> %s: %s", row.id, row.message_id, row.state, note)
        else:
            log.debug("message %s: %s → %s (%s)", row.id, stage.name, row.state, note)

    def _failed(self, stage: Stage, row_id: int, error: str, stats: RunStats) -> None:
        now = self.clock()
        with self.db.session() as session:
            row = session.get(StoredMessage, row_id)
            if row is None:
                return
            retry = row.state == MessageState.FAILED
            outcome = work.fail(
                session,
                StoredMessage,
                row_id,
                attempts_before=row.attempts,
                error=f"{stage.name}: {error}" if stage is not PARSE else error,
                error_column="error",
                now=now,
                policy=self.retry,
                failed_values={"state": MessageState.FAILED, "failed_stage": stage.name},
                set_aside_values={"state": MessageState.SET_ASIDE, "failed_stage": stage.name},
            )
            session.add(
                Event(
                    message_pk=row_id,
                    kind="retry_failed" if outcome.attempts > 1 else "failed",
                    detail={"stage": stage.name, "attempt": outcome.attempts, "error": error},
                )
            )
            stats.failed += 1
            stats.retried += retry
            if outcome.set_aside:
                session.add(
                    Event(
                        message_pk=row_id,
                        kind="set_aside",
                        detail={"stage": stage.name, "attempts": outcome.attempts, "error": error},
                    )
                )
                stats.set_aside += 1
                log.error(
                    "message %s set aside after %d failed attempts at %s: %s "
                    "(what to do: `mailbot failed show %s`, then `mailbot failed requeue %s`)",
                    row_id,
                    outcome.attempts,
                    stage.name,
                    error,
                    row_id,
                    row_id,
                )
            else:
                log.warning(
                    "message %s: %s failed (attempt %d of %d, next try %s): %s",
                    row_id,
                    stage.name,
                    outcome.attempts,
                    self.retry.max_attempts,
                    f"{outcome.retry_at:%H:%M:%S}" if outcome.retry_at else "-",
                    error,
                )
        self._forget(row_id)

    # --- messages between stages -----------------------------------------------------

    def _parse(self, session: Session, row: StoredMessage) -> Message:
        message = self._read(session, row)
        record_parsed(row, message)
        self._remember(row.id, message)
        return message

    def _read(self, session: Session, row: StoredMessage) -> Message:
        """Parse the stored bytes of a message (what is too large: its header only)."""
        data, size = self._stored(session, row)
        return parse_stored(
            data,
            self.config.max_message_bytes,
            reader=self.reader,
            timeout=self.config.parse_timeout,
            size=size,
        )

    def _stored(self, session: Session, row: StoredMessage) -> tuple[bytes, int]:
        """A message's stored bytes (over `max_message_bytes`: their start) and its size."""
        size = session.scalar(select(Blob.size).where(Blob.sha256 == row.sha256))
        if size is None:  # a foreign key guarantees it
            raise StageError(f"the original bytes of message {row.id} are missing")
        limit = self.config.max_message_bytes
        if limit is not None and size > limit:  # only the start is read from the database
            data = session.scalar(
                select(func.substr(Blob.data, 1, HEADER_READ)).where(Blob.sha256 == row.sha256)
            )
        else:
            data = session.scalar(select(Blob.data).where(Blob.sha256 == row.sha256))
        return bytes(data or b""), size

    def _parse_chunk(
        self,
        chunk: dict[int, tuple[bytes, int]],
        parsed: dict[int, Message],
        failures: dict[int, str],
    ) -> None:
        """Parse stored mails, those read whole by the helper processes at once."""
        limit, timeout = self.config.max_message_bytes, self.config.parse_timeout
        whole = [i for i, (_data, size) in chunk.items() if limit is None or size <= limit]
        read: dict[int, Message | Exception] = {}
        if self.reader is not None and timeout > 0 and whole:
            outcomes = self.reader.parse_many([chunk[i][0] for i in whole], timeout)
            read = dict(zip(whole, outcomes, strict=True))
        for row_id, (data, size) in chunk.items():
            try:
                parsed[row_id] = parse_stored(
                    data,
                    limit,
                    reader=self.reader,
                    timeout=timeout,
                    size=size,
                    read=read.get(row_id),
                )
            except Exception as err:
                failures[row_id] = blame(err)

    def _message(self, session: Session, row: StoredMessage) -> Message:
        """The parsed message: from the cache, else parsed again from the stored bytes."""
        with self._cache_lock:
            cached = self._messages.get(row.id)
        if cached is not None:
            return cached
        message = self._read(session, row)
        self._remember(row.id, message)
        return message

    def _remember(self, row_id: int, message: Message) -> None:
        with self._cache_lock:
            self._forget_locked(row_id)
            self._messages[row_id] = message
            self._cached_bytes += _weight(message)
            while len(self._messages) > MESSAGE_CACHE or (
                self._cached_bytes > MESSAGE_CACHE_BYTES and len(self._messages) > 1
            ):
                self._forget_locked(next(iter(self._messages)))  # the oldest

    def _forget(self, row_id: int) -> None:
        with self._cache_lock:
            self._forget_locked(row_id)

    def _forget_locked(self, row_id: int) -> None:
        message = self._messages.pop(row_id, None)
        if message is not None:
            self._cached_bytes -= _weight(message)

    # --- intake: fetch → store → parse → move the server copy ----------------------------

    def intake(
        self,
        source: Source,
        box: MailboxConfig,
        failed_now: set[int] | None = None,
        *,
        on_batch: Callable[[], None] | None = None,
    ) -> RunStats:
        """Fetch what is new in one mailbox, store it, parse it, then move the server copies.

        `on_batch` is called once each batch's parse is recorded: the stages may take it.
        """
        with self.db.mailbox_lock(source.account, source.folder) as mine:
            if not mine:
                log.debug("%s: another mailbot process is draining it; skipping", box.name)
                return RunStats(mailboxes=[box.name])
            failed_now = set() if failed_now is None else failed_now
            return self._intake(source, box, failed_now, on_batch)

    def _intake(
        self,
        source: Source,
        box: MailboxConfig,
        failed_now: set[int],
        on_batch: Callable[[], None] | None,
    ) -> RunStats:
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
            pending = list(pending_locations(session, account, folder, uidvalidity))
            leftover = [
                (loc.id, loc.server_target, RawMail(int(loc.uid), loc.key, b"")) for loc in pending
            ]
        if leftover:
            log.info(
                "%s/%s: finishing %d server moves left from an earlier run",
                account,
                folder,
                len(leftover),
            )
            self._settle(source, leftover)

        # A batch's bytes are parsed (in the helper processes, on a thread here that mostly
        # waits for them) while they are stored, and the next batch while this one's parse
        # is recorded and its server copies move. Parsing changes nothing: each batch still
        # commits its bytes, then what they say, then moves its server copies, and only
        # then is the next stored.
        batches = iter(source.fetch(after, box.batch_size))
        with ThreadPoolExecutor(1, thread_name_prefix="parse-ahead") as reading:
            ahead = self._fetch_ahead(batches, reading)
            while ahead is not None and not self.stop_event.is_set():
                batch, parsing = ahead
                now = self.clock()
                with self.db.session() as session:
                    stored = store_batch(
                        session,
                        account,
                        folder,
                        uidvalidity,
                        batch,
                        claimed_by=work.worker_name(),
                        claimed_until=now + STAGE_LEASE,
                    )
                # Committed: the bytes are safe. The next batch is fetched now, so the
                # helpers parse it while this one's parse is recorded and its copies move;
                # should that fetch fail (the connection cut), it is raised once this
                # batch's parse is recorded, as it would have been fetched after it.
                fetch_failed: Exception | None = None
                try:
                    ahead = (
                        None if self.stop_event.is_set() else self._fetch_ahead(batches, reading)
                    )
                except Exception as err:
                    ahead, fetch_failed = None, err
                # Record what is new, so a mail that is not a mail goes to the failed
                # folder; then the server copies may move.
                fresh = [s for s in stored if s.outcome == "stored"]
                parse_stats = RunStats()
                # Parsed, the mail stays claimed by this process: its stages take it
                # from the cache, not another daemon sharing the database.
                self.advance_stage(
                    PARSE,
                    parse_stats,
                    [s.message_pk for s in fresh],
                    failed_now=failed_now,
                    read=self._read_ahead(fresh, parsing),
                    chain=[],
                )
                if on_batch is not None:
                    on_batch()
                if fetch_failed is not None:
                    raise fetch_failed
                targets, unparsed = self._targets(stored)
                self._settle(source, targets)
                self._log(box.name, stored)
                stats.fetched += len(stored)
                failed = {s.message_pk for s in fresh} & unparsed
                stats.duplicates += sum(s.outcome == "duplicate" for s in stored)
                stats.failed += len(failed)
                stats.stored += len(fresh) - len(failed)
                stats.set_aside += parse_stats.set_aside
            if self.stop_event.is_set():
                log.info("%s: stop requested; leaving after the current batch", box.name)
        with self.db.session() as session:
            touch_cursor(session, account, folder, uidvalidity)
        return stats

    def _fetch_ahead(
        self, batches: Iterator[list[RawMail]], reading: ThreadPoolExecutor
    ) -> tuple[list[RawMail], Future[ReadBatch]] | None:
        """The next fetched batch, its parsing begun; None when there is none."""
        batch = next(batches, None)
        if batch is None:
            return None
        return batch, reading.submit(self._parse_fetched, batch)

    def _parse_fetched(self, batch: Sequence[RawMail]) -> ReadBatch:
        """A fetched batch parsed as the parse stage parses it from the store, by uid."""
        limit = self.config.max_message_bytes
        parsed: dict[int, Message] = {}
        failures: dict[int, str] = {}
        chunk: dict[int, tuple[bytes, int]] = {}
        for mail in batch:
            size = len(mail.data)
            chunk[mail.uid] = (
                mail.data[:HEADER_READ] if limit is not None and size > limit else mail.data,
                size,
            )
            if sum(len(data) for data, _size in chunk.values()) >= PARSE_CHUNK_BYTES:
                self._parse_chunk(chunk, parsed, failures)
                chunk = {}
        self._parse_chunk(chunk, parsed, failures)
        return parsed, failures

    def _read_ahead(self, fresh: Sequence[Stored], parsing: Future[ReadBatch]) -> ReadBatch | None:
        """What parsing the fetched batch gave, by message id (None: the stage parses)."""
        try:
            parsed, failures = parsing.result()
        except Exception:
            log.exception("parsing a fetched batch failed; it is parsed from the store")
            return None
        by_uid = {s.mail.uid: s.message_pk for s in fresh}
        return (
            {by_uid[uid]: message for uid, message in parsed.items() if uid in by_uid},
            {by_uid[uid]: error for uid, error in failures.items() if uid in by_uid},
        )

    def _unparsed(self, session: Session, ids: Sequence[int]) -> set[int]:
        if not ids:
            return set()
        return set(
            session.scalars(
                select(StoredMessage.id).where(
                    among(StoredMessage.id, ids),
                    StoredMessage.failed_stage == PARSE.name,
                    StoredMessage.state.in_((MessageState.FAILED, MessageState.SET_ASIDE)),
                )
            )
        )

    def _targets(self, stored: Sequence[Stored]) -> tuple[list[tuple[int, str, RawMail]], set[int]]:
        """Where each server copy goes: the failed folder when its message did not parse;
        and the ids of those messages."""
        with self.db.session() as session:
            bad = self._unparsed(session, [s.message_pk for s in stored])
            set_server_target(
                session, [s.location_id for s in stored if s.message_pk in bad], FAILED
            )
        targets = [
            (s.location_id, FAILED if s.message_pk in bad else PROCESSED, s.mail) for s in stored
        ]
        return targets, bad

    def _settle(self, source: Source, items: Sequence[tuple[int, str, RawMail]]) -> None:
        failed = [mail for _id, target, mail in items if target == FAILED]
        done = [mail for _id, target, mail in items if target != FAILED]
        if done:
            source.mark_processed(done)
        if failed:
            source.mark_failed(failed)
        with self.db.session() as session:
            mark_server_done(session, [loc_id for loc_id, _t, _m in items])

    def _log(self, mailbox: str, stored: Sequence[Stored]) -> None:
        """One line per fetched mail: what it is and what became of it."""
        query = (
            select(StoredMessage)
            .where(among(StoredMessage.id, {s.message_pk for s in stored}))
            .options(  # what the lines tell, not the texts
                load_only(
                    StoredMessage.message_id,
                    StoredMessage.from_email,
                    StoredMessage.subject,
                    StoredMessage.failed_stage,
                    StoredMessage.error,
                )
            )
        )
        if not log.isEnabledFor(logging.INFO):  # only the mails that did not parse are told
            query = query.where(StoredMessage.failed_stage == PARSE.name)
        with self.db.session() as session:
            rows = {row.id: row for row in session.scalars(query)}
        for item in stored:
            row = rows.get(item.message_pk)
            if row is None:
                continue
            if item.outcome == "stored" and row.failed_stage == PARSE.name:
                log.warning("%s uid=%s outcome=failed error=%s", mailbox, item.mail.uid, row.error)
                continue
            log.info(
                "%s uid=%s id=<%s> from=%s subject=%r outcome=%s",
                mailbox,
                item.mail.uid,
                row.message_id,
                row.from_email or "-",
                (row.subject or "")[:80],
                item.outcome,
            )
