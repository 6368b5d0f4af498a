"""A time budget for reading one mail: the last guard against a mail that stalls the parser.

Every pattern that sees client text is meant to run in linear time and the header and
HTML caps bound the rest, but a C-level regex or library call cannot be interrupted from
Python. So the parse stage reads each mail in a helper process; one that takes longer
than `processing.parse_timeout` seconds has that process stopped (a new one starts for
the next mail) and is read by its header only, filed for the PM with the reason.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import threading
from multiprocessing.connection import Connection
from typing import Any

from mailbot.errors import ParseError
from mailbot.message import Message

log = logging.getLogger("mailbot.pipeline")

# Spawn, not fork: the daemon has threads (one per mailbox), and a forked child of a
# threaded process may inherit a lock held by another thread.
_CONTEXT = multiprocessing.get_context("spawn")


class OverBudget(Exception):
    """The mail was not read within the budget; the helper process was stopped."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"could not be read within {seconds:g} s")
        self.seconds = seconds


def _serve(conn: Connection) -> None:
    """The helper process: parse each mail sent, answer with the Message or the error."""
    from mailbot.parse import parse_bytes

    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            answer: tuple[str, Any] = ("ok", parse_bytes(data))
        except ParseError as err:
            answer = ("parse_error", (err.message, err.hint))
        except Exception as err:  # a parser bug: reported to the parent, never fatal here
            answer = ("error", f"{type(err).__name__}: {err}")
        try:
            conn.send(answer)
        except Exception as err:  # an unpicklable result is a bug too
            conn.send(("error", f"{type(err).__name__}: {err}"))


class Reader:
    """One helper process, shared by the threads of this process, started when needed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: Any = None
        self._conn: Connection | None = None

    def parse(self, data: bytes, timeout: float) -> Message:
        with self._lock:
            conn = self._connection()
            try:
                conn.send_bytes(data)
                if not conn.poll(timeout):
                    self._stop()
                    raise OverBudget(timeout)
                kind, value = conn.recv()
            except (EOFError, OSError) as err:  # the helper died (killed, out of memory)
                self._stop()
                raise RuntimeError(f"the parser process ended: {err}") from None
        if kind == "ok":
            return value  # type: ignore[no-any-return]
        if kind == "parse_error":
            message, hint = value
            raise ParseError(message, hint)
        raise RuntimeError(value)

    def _connection(self) -> Connection:
        if self._conn is None or self._process is None or not self._process.is_alive():
            self._stop()
            parent, child = _CONTEXT.Pipe()
            process = _CONTEXT.Process(
                target=_serve, args=(child,), name="mailbot-parser", daemon=True
            )
            process.start()
            child.close()
            self._process, self._conn = process, parent
        return self._conn

    def _stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._process is not None and self._process.is_alive():
            self._process.kill()
            self._process.join(5)
        self._process, self._conn = None, None

    def close(self) -> None:
        with self._lock:
            self._stop()


_shared: Reader | None = None
_shared_lock = threading.Lock()


def shared_reader() -> Reader:
    """The process's reader (one helper process however many pipelines and threads)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Reader()
            atexit.register(_shared.close)
        return _shared
