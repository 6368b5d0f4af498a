"""The long-running daemon in rq's shape: one loop, `work_once(); wait()`, signals like rq.

Each mailbox has a watcher thread that keeps its connection, takes new mail in (fetch →
store → parse → move the server copy: `Pipeline.intake`) and waits on IDLE or polls.
The one work loop advances every stored message through the stages, delivers the
outbox and runs the report schedule, then waits until a watcher brings mail or a
retry falls due. `mailbot run --once` is the same intake and the same work, once.

First SIGTERM/SIGINT: finish the current batch, commit, log out, exit 0.
Second: exit at once.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from datetime import UTC, datetime
from types import FrameType

from mailbot.config_types import MailboxConfig
from mailbot.errors import SourceError
from mailbot.ops.health import Pulse
from mailbot.ops.space import SpaceGuard, out_of_space
from mailbot.pipeline.machine import Pipeline
from mailbot.pipeline.stages import describe_error
from mailbot.reports.scheduler import ReportScheduler
from mailbot.sources.backoff import backoff_delays
from mailbot.storage import work
from mailbot.storage.db import database_unavailable
from mailbot.text import plural

log = logging.getLogger("mailbot.daemon")

EXIT_NOW_CODE = 1
WORK_CHECK_INTERVAL = 30.0  # seconds; how often an idle daemon looks for due retries
SCHEDULE_CHECK_INTERVAL = 60.0  # seconds between looks at the report schedule
SPACE_WAIT = 2.0  # seconds between looks at the free disk space while it is short
WORK_RETRY_BASE = 1.0  # seconds; a failed turn is tried again after 1, 2, 4 … up to 30 s
WORK_DUE_FLOOR = 1.0  # seconds at least between turns that wait for a retry to fall due


class StopSignals:
    """Turns the first SIGTERM/SIGINT into a stop request and the second into an exit."""

    def __init__(self, stop_event: threading.Event) -> None:
        self.stop_event = stop_event

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.stop_event.is_set():
            log.warning("second %s: exiting now", name)
            os._exit(EXIT_NOW_CODE)
        log.info(
            "%s received: finishing the current batch, then stopping "
            "(send it again to stop at once)",
            name,
        )
        self.stop_event.set()


def watch_mailbox(
    pipeline: Pipeline,
    box: MailboxConfig,
    wake: threading.Event,
    pulse: Pulse | None = None,
    space: SpaceGuard | None = None,
) -> None:
    """Connect, take new mail in, wait for more, repeat; reconnect with backoff on failure.

    While `space` says a disk is short, no mail is fetched: it waits on the server.
    """
    stop = pipeline.stop_event
    delays = backoff_delays()
    while not stop.is_set():
        try:
            with pipeline.source_factory(box, stop) as source:
                delays = backoff_delays()  # connected: start the backoff again from 1 s
                while not stop.is_set():
                    if space is not None and (reason := space.shortage()):
                        if pulse is not None:
                            pulse.failed(reason)
                        stop.wait(SPACE_WAIT)
                        continue
                    # Each batch is worked as soon as it is parsed, while the next comes in.
                    stats = pipeline.intake(source, box, on_batch=wake.set)
                    if pulse is not None:
                        pulse.fetched(stats.stored)
                    if stop.is_set():
                        break
                    if stats.fetched:
                        wake.set()  # the work loop takes it from here
                        # Look again before waiting: mail that came while we worked was
                        # announced with another command's answer (MOVE, EXPUNGE), which
                        # is lost, and IDLE would not announce it again.
                        continue
                    # In IDLE the server says when mail comes; looking again every
                    # idle_recheck seconds anyway catches an announcement that was lost.
                    source.wait(box.idle_recheck if box.idle else box.poll_interval)
        except SourceError as err:
            if pulse is not None:
                pulse.failed(err.message)
            if not getattr(err, "retryable", True):
                log.error("%s: %s", box.name, err)
            delay = next(delays)
            log.warning("%s: %s; reconnecting in %.1fs", box.name, err.message, delay)
            stop.wait(delay)
        except Exception as err:  # keep the daemon alive; the stack trace is for the bug report
            if pulse is not None:
                pulse.failed(describe_error(err))
            delay = next(delays)
            what = outage(err)
            if what is not None:  # no bug: say what to do, without a stack trace
                log.error(
                    "%s: %s (%s); new mail waits on the server, retrying in %.1fs",
                    box.name,
                    what,
                    describe_error(err),
                    delay,
                )
            else:
                log.exception(
                    "%s: unexpected error (%s); retrying in %.1fs",
                    box.name,
                    describe_error(err),
                    delay,
                )
            stop.wait(delay)
    wake.set()
    log.info("%s: stopped", box.name)


class Schedules:
    """Digests and client summaries, checked about once a minute from the work loop."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.next_check = 0.0
        self.reports = None
        if pipeline.config.schedules.enabled:
            self.reports = ReportScheduler(pipeline.config, pipeline.db)

    def tick(self) -> None:
        if self.reports is None or time.monotonic() < self.next_check:
            return
        self.next_check = time.monotonic() + SCHEDULE_CHECK_INTERVAL
        try:
            if self.reports.run_pending(datetime.now(UTC)):
                self.pipeline.send()
        except Exception:  # a report problem must never stop the mail
            log.exception("scheduled reports failed; trying again in a minute")


def work_once(
    pipeline: Pipeline, schedules: Schedules, space: SpaceGuard | None = None
) -> float | None:
    """One turn of the work loop: every due stage, the outbox, the report schedule.

    Returns the seconds until the next turn is due: none while the outbox may hold more
    (a backlog of acknowledgements goes out at the server's pace, not one batch per
    `WORK_CHECK_INTERVAL`; new mail is worked between two batches), `SPACE_WAIT` while a
    disk is short or mail could not be written for want of space (it goes out as soon as
    there is room again, not at the next check), else `WORK_CHECK_INTERVAL`; None when the
    turn failed (the database went away): the loop tries again after a growing back-off.
    Skipped while a disk is short: a write that fails for want of space would count as a
    failed attempt, and enough of them set mail aside for a person.
    """
    if space is not None and space.shortage():
        return SPACE_WAIT
    delay: float | None = WORK_CHECK_INTERVAL
    try:
        pipeline.advance()
        stats = pipeline.send()
        if stats.busy:
            delay = 0.0
        elif stats.waiting:
            delay = SPACE_WAIT
    except Exception as err:  # e.g. the database is down: log it, try again soon
        delay = SPACE_WAIT if out_of_space(err) else None
        what = outage(err)
        if what is not None:  # no bug: no stack trace
            log.error("%s (%s); trying again shortly", what, describe_error(err))
        else:
            log.exception("the work loop failed (%s); trying again shortly", describe_error(err))
    if not pipeline.stop_event.is_set():
        schedules.tick()
    if delay and space is not None and space.shortage():
        delay = SPACE_WAIT
    elif delay == WORK_CHECK_INTERVAL:
        delay = _until_next_due(pipeline)
    return delay


def outage(err: BaseException) -> str | None:
    """What to do about a failure that is no bug (a full disk, the database not answering),
    in words for the log; None for a bug, which keeps its stack trace."""
    if out_of_space(err):
        return "the disk is full: free space on the disk of the database or the outbox folder"
    if database_unavailable(err):
        return "the database is not answering: if this goes on, check the database server"
    return None


def _until_next_due(pipeline: Pipeline) -> float:
    """Seconds until a retry or a lease falls due, between WORK_DUE_FLOOR and
    WORK_CHECK_INTERVAL: a retry set for a minute from now happens then, not up to 30 s
    later."""
    try:
        with pipeline.db.session() as session:
            due = work.next_due(session)
    except Exception:  # the check is a nicety; the turn after next looks again
        return WORK_CHECK_INTERVAL
    if due is None:
        return WORK_CHECK_INTERVAL
    wait = (due - pipeline.clock()).total_seconds()
    return min(WORK_CHECK_INTERVAL, max(WORK_DUE_FLOOR, wait))


def run_forever(pipeline: Pipeline) -> None:
    """Watch every mailbox (a thread each) and work in this thread until a stop."""
    stop = pipeline.stop_event
    wake = threading.Event()
    schedules = Schedules(pipeline)
    space = SpaceGuard(pipeline.config)
    pulses = [Pulse(box.name) for box in pipeline.config.mailboxes]
    threads = [
        threading.Thread(
            target=watch_mailbox,
            args=(pipeline, box, wake, pulse, space),
            name=f"mailbox-{box.name}",
            daemon=True,
        )
        for box, pulse in zip(pipeline.config.mailboxes, pulses, strict=True)
    ]
    pipeline.release_dead_claims()
    for thread in threads:
        thread.start()
    log.info("mailbot running: %s; SIGTERM to stop", plural(len(threads), "mailbox", "mailboxes"))
    next_work = 0.0
    retries = backoff_delays(WORK_RETRY_BASE, WORK_CHECK_INTERVAL)
    while not stop.is_set():
        if wake.is_set() or time.monotonic() >= next_work:
            wake.clear()
            delay = work_once(pipeline, schedules, space)
            if delay is None:  # failed: soon again, then less and less often
                delay = next(retries)
            else:
                retries = backoff_delays(WORK_RETRY_BASE, WORK_CHECK_INTERVAL)
            if not delay:
                wake.set()
            next_work = time.monotonic() + delay
        for thread, pulse in zip(threads, pulses, strict=True):
            # From this thread, not the mailbox's: a hung fetch still beats, so doctor
            # can tell a stalled fetcher from a daemon that is gone.
            pulse.beat(pipeline.db, alive=thread.is_alive())
        wake.wait(timeout=0.5)
    while any(thread.is_alive() for thread in threads):  # each finishes its batch
        for thread, pulse in zip(threads, pulses, strict=True):
            pulse.beat(pipeline.db, alive=thread.is_alive())
            thread.join(timeout=0.5)
