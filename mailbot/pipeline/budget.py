"""A time budget for reading one mail: the last guard against a mail that stalls the parser.

Every pattern that sees client text is meant to run in linear time and the header and
HTML caps bound the rest, but a C-level regex or library call cannot be interrupted from
Python. So the parse stage reads each mail in a helper process; one that takes longer
than `processing.parse_timeout` seconds has that process stopped (a new one starts for
the next mail) and is read by its header only, filed for the PM with the reason.

The helper is `python -m mailbot.pipeline.budget`, talking length-prefixed frames over
its stdin and stdout: not `multiprocessing`, whose spawn start re-runs the caller's main
script in the child.
"""

from __future__ import annotations

import atexit
import logging
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
from typing import IO, Any

from mailbot.errors import ParseError
from mailbot.message import Message

log = logging.getLogger("mailbot.pipeline")

_LENGTH = struct.Struct("!Q")
START_TIMEOUT = 60.0  # seconds for the helper to start and read its first mail


class OverBudget(Exception):
    """The mail was not read within the budget; the helper process was stopped."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"could not be read within {seconds:g} s")
        self.seconds = seconds


# --- the helper process ---------------------------------------------------------------------


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def serve(source: IO[bytes], sink: IO[bytes]) -> None:
    """Parse each mail framed on `source`; answer each on `sink` with the Message or the error."""
    from mailbot.parse import parse_bytes

    while True:
        head = _read_exactly(source, _LENGTH.size)
        if head is None:
            return
        data = _read_exactly(source, _LENGTH.unpack(head)[0])
        if data is None:
            return
        try:
            answer: tuple[str, Any] = ("ok", parse_bytes(data))
        except ParseError as err:
            answer = ("parse_error", (err.message, err.hint))
        except Exception as err:  # a parser bug: reported to the parent, never fatal here
            answer = ("error", f"{type(err).__name__}: {err}")
        try:
            payload = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as err:  # an unpicklable result is a bug too
            payload = pickle.dumps(("error", f"{type(err).__name__}: {err}"))
        sink.write(_LENGTH.pack(len(payload)) + payload)
        sink.flush()


# --- the parent's side ----------------------------------------------------------------------


class Reader:
    """One helper process, shared by the threads of this process, started when needed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._fresh = False  # started, not yet answered: its start-up is not the mail's time

    def parse(self, data: bytes, timeout: float) -> Message:
        with self._lock:
            process = self._started()
            assert process.stdin is not None and process.stdout is not None
            budget = max(timeout, START_TIMEOUT) if self._fresh else timeout
            try:
                process.stdin.write(_LENGTH.pack(len(data)) + data)
                process.stdin.flush()
                answer = self._answer(process.stdout, time.monotonic() + budget)
            except (BrokenPipeError, OSError) as err:  # the helper died (killed, no memory)
                self._stop()
                raise RuntimeError(f"the parser process ended: {err}") from None
            if answer is None:
                self._stop()
                raise OverBudget(timeout)
            self._fresh = False
        kind, value = answer
        if kind == "ok":
            return value  # type: ignore[no-any-return]
        if kind == "parse_error":
            message, hint = value
            raise ParseError(message, hint)
        raise RuntimeError(value)

    def _answer(self, stream: IO[bytes], deadline: float) -> tuple[str, Any] | None:
        """The helper's answer, or None when the deadline passes first."""
        fd = stream.fileno()
        buffer = b""
        need = _LENGTH.size
        length: int | None = None
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, max(need - len(buffer), 65536))
            if not chunk:
                raise OSError("the parser process closed its output")
            buffer += chunk
            if length is None and len(buffer) >= _LENGTH.size:
                length = _LENGTH.unpack(buffer[: _LENGTH.size])[0]
                buffer = buffer[_LENGTH.size :]
                need = length
            if length is not None and len(buffer) >= length:
                return pickle.loads(buffer[:length])  # type: ignore[no-any-return]

    def _started(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            self._stop()
            self._process = subprocess.Popen(
                [sys.executable, "-m", "mailbot.pipeline.budget"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
            self._fresh = True
        return self._process

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait(10)
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()

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


if __name__ == "__main__":
    # Answers go to a private copy of stdout; anything a library prints goes to stderr.
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    serve(sys.stdin.buffer, answers)
