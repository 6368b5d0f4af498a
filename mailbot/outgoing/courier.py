"""A process of its own that delivers the outbox while the stages work a backlog.

A backlog (`run --once`, a first start, the daemon catching up after an outage) is filed
and answered in batches; each answer batch that commits puts its acknowledgements in the
outbox. Sent from a thread of the same process,
they would wait for that process's one interpreter lock behind the stages, and the
stages behind them. Sent from this process instead, on the machine's other core, they go
out while the later mail is still being read, and the drain's end does not wait for them.

It is `python -m mailbot.outgoing.courier`: the config comes pickled on its stdin, and the
end of its stdin tells it to stop (so it also stops when the drain's process dies). It
sends exactly as the drain would (`delivery.deliver_outbox`: claims, one commit per
mail); what it has not sent when it stops is sent by the drain's own last delivery.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from typing import IO

from mailbot.config import Config
from mailbot.storage.db import resolve_url

log = logging.getLogger("mailbot.delivery")

POLL = 0.1  # seconds between two looks at an empty outbox
ROOM_WAIT = 5.0  # seconds before trying again to write mail a full disk refused
STOP_TIMEOUT = 60.0  # seconds to finish the delivery under way once told to stop


def usable(config: Config) -> bool:
    """Whether another process can deliver for this config: a database it can open."""
    url = config.database_url
    in_memory = url == "sqlite://" or ":memory:" in url
    return (config.smtp is not None or config.outbox_dir is not None) and not in_memory


@contextmanager
def delivering(config: Config) -> Iterator[subprocess.Popen[bytes] | None]:
    """Deliver in a courier process until the block ends (then wait for it to finish);
    gives the process, or None when it could not be started."""
    process: subprocess.Popen[bytes] | None = None
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "mailbot.outgoing.courier"], stdin=subprocess.PIPE
        )
        assert process.stdin is not None
        # The database this process really uses (the same URL, except under the tests).
        given = replace(config, database_url=resolve_url(config.database_url))
        process.stdin.write(pickle.dumps((given, logging.getLogger().level)))
        process.stdin.flush()
    except OSError as err:  # cannot start one: the drain's own delivery sends everything
        log.warning("cannot start the delivering process (%s); mail goes out at the end", err)
        if process is not None:  # started, then lost: not left behind
            process.kill()
            process.wait()
        yield None
        return
    try:
        yield process
    finally:
        with suppress(OSError):
            process.stdin.close()  # the signal to stop
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            # Stuck on a server that does not answer: what it claimed is released when
            # the next drain finds its process gone.
            process.kill()
            process.wait()


def serve(config: Config, source: IO[bytes], stop: threading.Event | None = None) -> None:
    """Deliver for `config` until `source` ends (or `stop` is set)."""
    from mailbot.outgoing.delivery import deliver_outbox
    from mailbot.storage.db import database_unavailable, open_database

    stopping = stop or threading.Event()

    def watch() -> None:
        # Until the end of the stream: told to stop, or the parent died. From the file
        # descriptor, not the buffered stream, whose lock a thread still reading at exit
        # would hold against the interpreter's shutdown.
        while os.read(source.fileno(), 4096):
            pass
        stopping.set()

    threading.Thread(target=watch, name="courier-stop", daemon=True).start()
    db = open_database(config.database_url, migrate=False)
    try:
        while not stopping.is_set():
            stats = deliver_outbox(db, config)
            if stats.waiting:  # no room to write the mail: not again every moment
                stopping.wait(ROOM_WAIT)
            elif not stats.busy:
                stopping.wait(POLL)
    except Exception as err:  # the drain's own delivery at its end tries again
        if not database_unavailable(err):
            raise
        log.warning(
            "delivering while the stages go on stopped: the database does not answer (%s); "
            "what is queued goes out at the end of the drain",
            err.__class__.__name__,
        )
    finally:
        db.dispose()


if __name__ == "__main__":
    from mailbot.logsetup import setup_logging

    # The drain says when to stop (the end of stdin). Ctrl-C reaches the whole process
    # group: the mail under way is still recorded; a stop request ends the loop after it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    told_to_stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signo, _frame: told_to_stop.set())
    try:
        given, level = pickle.load(sys.stdin.buffer)
    except (EOFError, pickle.UnpicklingError):
        sys.exit(0)  # the parent stopped before it said anything
    setup_logging(level or logging.WARNING)
    serve(given, sys.stdin.buffer, told_to_stop)
