"""The long-running daemon: one loop per mailbox, IDLE or polling, signals like rq.

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

from mailbot.config_types import DEFAULT_IDLE_RENEW, MailboxConfig
from mailbot.errors import SourceError
from mailbot.health import Pulse
from mailbot.runner import Ingest, describe_error
from mailbot.sources.backoff import backoff_delays

log = logging.getLogger("mailbot.daemon")

EXIT_NOW_CODE = 1
OUTBOX_CHECK_INTERVAL = 60.0  # seconds; how often an idle daemon looks for due retries
SCHEDULE_CHECK_INTERVAL = 60.0  # seconds between looks at the report schedule


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


def serve_mailbox(ingest: Ingest, box: MailboxConfig, pulse: Pulse | None = None) -> None:
    """Connect, drain, wait for mail, repeat; reconnect with backoff on any failure."""
    stop = ingest.stop_event
    delays = backoff_delays()
    while not stop.is_set():
        try:
            with ingest.source_factory(box, stop) as source:
                delays = backoff_delays()  # connected: start the backoff again from 1 s
                while not stop.is_set():
                    ingest.advance_stored()
                    stats = ingest.drain(source, box)
                    if pulse is not None:
                        pulse.fetched(stats.stored)
                    ingest.send()
                    if stop.is_set():
                        break
                    source.wait(_wait_time(ingest, box))
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
            log.exception(
                "%s: unexpected error (%s); retrying in %.1fs", box.name, describe_error(err), delay
            )
            stop.wait(delay)
    log.info("%s: stopped", box.name)


def _wait_time(ingest: Ingest, box: MailboxConfig) -> float:
    wait = DEFAULT_IDLE_RENEW if box.idle else box.poll_interval
    if ingest.deliver is not None:
        wait = min(wait, OUTBOX_CHECK_INTERVAL)  # outbox retries fall due while we idle
    return wait


class Schedules:
    """Digests and client summaries, checked about once a minute from the main thread."""

    def __init__(self, ingest: Ingest) -> None:
        self.ingest = ingest
        self.next_check = 0.0
        self.reports = None
        if ingest.config.schedules.enabled:
            from mailbot.reports.scheduler import ReportScheduler

            self.reports = ReportScheduler(ingest.config, ingest.db)

    def tick(self) -> None:
        if self.reports is None or time.monotonic() < self.next_check:
            return
        self.next_check = time.monotonic() + SCHEDULE_CHECK_INTERVAL
        try:
            if self.reports.run_pending(datetime.now(UTC)):
                self.ingest.send()
        except Exception:  # a report problem must never stop the mail
            log.exception("scheduled reports failed; trying again in a minute")


def run_forever(ingest: Ingest) -> None:
    """Serve every mailbox, one thread each, until a stop is requested."""
    schedules = Schedules(ingest)
    pulses = [Pulse(box.name) for box in ingest.config.mailboxes]
    threads = [
        threading.Thread(
            target=serve_mailbox,
            args=(ingest, box, pulse),
            name=f"mailbox-{box.name}",
            daemon=True,
        )
        for box, pulse in zip(ingest.config.mailboxes, pulses, strict=True)
    ]
    for thread in threads:
        thread.start()
    log.info("mailbot running: %d mailbox(es); SIGTERM to stop", len(threads))
    while any(t.is_alive() for t in threads):
        if not ingest.stop_event.is_set():
            schedules.tick()
        for thread, pulse in zip(threads, pulses, strict=True):
            # From this thread, not the mailbox's: a hung fetch still beats, so doctor
            # can tell a stalled fetcher from a daemon that is gone.
            pulse.beat(ingest.db, alive=thread.is_alive())
            thread.join(timeout=0.5)
