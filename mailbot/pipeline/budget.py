"""A time budget for reading one mail: the last guard against a mail that stalls the parser.

Every pattern that sees client text is meant to run in linear time and the header and
HTML caps bound the rest, but a C-level regex or library call cannot be interrupted from
Python. So the parse stage reads each mail in a helper process (a batch's mails in a few
at once); one that takes longer than `processing.parse_timeout` seconds has its process
stopped (a new one starts for the next mail) and is read by its header only, filed for
the PM with the reason.

The helper is `python -m mailbot.pipeline.budget`, talking length-prefixed frames over
its stdin and stdout: not `multiprocessing`, whose spawn start re-runs the caller's main
script in the child.
"""

from __future__ import annotations

import atexit
import fcntl
import logging
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
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

HELPERS = 2  # helper processes a batch is read by at once (the parent only waits meanwhile)
# A helper is given its next mails while it reads one, so it need not wait for this process
# (busy with other threads) to collect each answer before it gets the next mail: at most
# DEPTH mails at once, of which those behind the first take at most half the pipe and
# QUEUE_BYTES. So a write never blocks: once the helper has read its mail, what waits in the
# pipe fits, even while the helper itself waits for its answer to be read.
DEPTH = 4
QUEUE_BYTES = 32 * 1024
Outcome = Message | Exception  # a mail read, or what reading it raised


class _Helper:
    """One helper process, the mails it was given (the first is the one it reads) and the
    answers it is writing, read as they come."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mailbot.pipeline.budget"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.fresh = True  # started, not yet answered: its start-up is not the mail's time
        self.pending: deque[tuple[int, int]] = deque()  # (place in the batch, bytes) sent
        self.deadline = 0.0  # of the first pending mail
        self.timeout = 0.0
        self._buffer = b""
        self._room = _queue_room(self.process.stdin)

    @property
    def fd(self) -> int:
        assert self.process.stdout is not None
        return self.process.stdout.fileno()

    @property
    def busy(self) -> bool:
        return bool(self.pending)

    def alive(self) -> bool:
        return self.process.poll() is None

    def takes(self, size: int) -> bool:
        """Whether a mail of `size` bytes can be given now without a write that may block."""
        if not self.pending:
            return True
        behind = sum(sent for _, sent in list(self.pending)[1:])
        framed = _LENGTH.size + size
        return len(self.pending) < DEPTH and behind + framed <= self._room

    def send(self, index: int, data: bytes, timeout: float) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(_LENGTH.pack(len(data)) + data)
        self.process.stdin.flush()
        self.pending.append((index, _LENGTH.size + len(data)))
        self.timeout = timeout
        if len(self.pending) == 1:
            self._start_clock()

    def _start_clock(self) -> None:
        """The first pending mail's budget starts: it is being read now."""
        budget = max(self.timeout, START_TIMEOUT) if self.fresh else self.timeout
        self.deadline = time.monotonic() + budget

    def read(self) -> list[tuple[int, tuple[str, Any]]]:
        """What the helper wrote since (select said there is some): each whole answer, with
        the place of its mail."""
        chunk = os.read(self.fd, 1 << 20)
        if not chunk:
            raise OSError("the parser process closed its output")
        self._buffer += chunk
        answers = []
        while len(self._buffer) >= _LENGTH.size:
            length = _LENGTH.unpack(self._buffer[: _LENGTH.size])[0]
            end = _LENGTH.size + length
            if len(self._buffer) < end:
                break
            answer = pickle.loads(self._buffer[_LENGTH.size : end])
            self._buffer = self._buffer[end:]
            index, _ = self.pending.popleft()
            answers.append((index, answer))
            self.fresh = False
            if self.pending:  # the next one is read from now on
                self._start_clock()
        return answers

    def stop(self) -> list[int]:
        """Stop the process; the places of the mails it was given and did not answer."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        left = [index for index, _ in self.pending]
        self.pending.clear()
        return left


def _queue_room(pipe: IO[bytes] | None) -> int:
    """Bytes that may wait behind a helper's mail in its input pipe (0: none)."""
    if pipe is None:
        return 0
    try:
        size = fcntl.fcntl(pipe.fileno(), fcntl.F_GETPIPE_SZ)
    except (AttributeError, OSError):  # not Linux: one mail at a time
        return 0
    return min(QUEUE_BYTES, size // 2)


def _outcome(answer: tuple[str, Any]) -> Outcome:
    kind, value = answer
    if kind == "ok":
        return value  # type: ignore[no-any-return]
    if kind == "parse_error":
        message, hint = value
        return ParseError(message, hint)
    return RuntimeError(value)


class Reader:
    """A few helper processes, shared by the threads of this process, started when needed."""

    def __init__(self, helpers: int = HELPERS) -> None:
        self._lock = threading.Lock()
        self._size = max(1, helpers)
        self._helpers: list[_Helper] = []

    def parse(self, data: bytes, timeout: float) -> Message:
        outcome = self.parse_many([data], timeout)[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def parse_many(self, datas: Sequence[bytes], timeout: float) -> list[Outcome]:
        """Read each mail within `timeout` seconds, a few at once; in order, each mail's
        Message or what reading it raised (`OverBudget`, `ParseError`, RuntimeError).

        A helper whose mail takes too long is stopped (a new one starts for the next
        mail); the other mails, those given to it behind that one included, are not held
        up by it.
        """
        outcomes: list[Outcome | None] = [None] * len(datas)
        todo = deque(range(len(datas)))
        with self._lock:
            while todo or any(h.busy for h in self._helpers):
                while todo:
                    helper = self._taker(len(datas[todo[0]]))
                    if helper is None:
                        break
                    index = todo.popleft()
                    try:
                        helper.send(index, datas[index], timeout)
                    except (BrokenPipeError, OSError) as err:  # the helper died meanwhile
                        self._died(helper, err, outcomes, todo, index)
                self._collect(outcomes, todo)
        return [o if o is not None else RuntimeError("not read") for o in outcomes]

    def _taker(self, size: int) -> _Helper | None:
        """The helper to give a mail of `size` bytes: an idle one (started if need be),
        else the one with the fewest mails that can take it without blocking."""
        for helper in [h for h in self._helpers if not h.busy and not h.alive()]:
            self._drop(helper)  # ended while idle (killed, out of memory): a new one starts
        idle = [h for h in self._helpers if not h.busy]
        if idle:
            return idle[0]
        if len(self._helpers) < self._size:
            helper = _Helper()
            self._helpers.append(helper)
            return helper
        takers = [h for h in self._helpers if h.takes(size)]
        return min(takers, key=lambda h: len(h.pending), default=None)

    def _collect(self, outcomes: list[Outcome | None], todo: deque[int]) -> None:
        """Wait for the first answer or deadline of the busy helpers and take what came;
        what a stopped helper was given behind its mail goes back to `todo`."""
        busy = [h for h in self._helpers if h.busy]
        if not busy:
            return
        left = min(h.deadline for h in busy) - time.monotonic()
        ready = select.select([h.fd for h in busy], [], [], max(left, 0))[0] if left > 0 else []
        for helper in busy:
            if helper.fd in ready:
                try:
                    for index, answer in helper.read():
                        outcomes[index] = _outcome(answer)
                except (OSError, EOFError, pickle.UnpicklingError) as err:
                    self._died(helper, err, outcomes, todo)
            elif time.monotonic() >= helper.deadline:
                over, *behind = self._drop(helper)
                outcomes[over] = OverBudget(helper.timeout)
                todo.extendleft(reversed(behind))

    def _died(
        self,
        helper: _Helper,
        err: Exception,
        outcomes: list[Outcome | None],
        todo: deque[int],
        sending: int | None = None,
    ) -> None:
        """The helper ended: the mail it was reading is told so, the others go back."""
        given = self._drop(helper)
        if sending is not None:
            given.append(sending)
        failed, *behind = given
        outcomes[failed] = RuntimeError(f"the parser process ended: {err}")
        todo.extendleft(reversed(behind))

    def _drop(self, helper: _Helper) -> list[int]:
        self._helpers.remove(helper)
        return helper.stop()

    def close(self) -> None:
        with self._lock:
            for helper in self._helpers:
                helper.stop()
            self._helpers = []


_shared: Reader | None = None
_shared_lock = threading.Lock()


def shared_reader() -> Reader:
    """The process's reader (its helpers serve every pipeline and thread)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Reader()
            atexit.register(_shared.close)
        return _shared


if __name__ == "__main__":
    from mailbot.logsetup import setup_logging

    # What a library logs here reaches the daemon's log in its format, not as bare lines.
    setup_logging("WARNING")
    # mail-parser warns of every part that is not text ("Email content 'png' not handled")
    # without saying which mail: nothing an admin can act on.
    logging.getLogger("mailparser").setLevel(logging.ERROR)
    # Answers go to a private copy of stdout; anything a library prints goes to stderr.
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    serve(sys.stdin.buffer, answers)
