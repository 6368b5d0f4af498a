"""Writing replies: rendering and composing a templated reply, here or in writer processes.

A reply is decided in the stages (who, why, which template, which values); turning that
into the mail's bytes is work on its own that needs nothing else: the template, the values
and the mail answered. `ReplyDraft` holds exactly that, and `write_reply` makes the mail
from it, the same bytes wherever it runs.

For a backlog the answer stage hands its drafts to `DraftWriters`, processes of their own
(`python -m mailbot.outgoing.drafts`, length-prefixed pickled frames over stdin and stdout,
as `pipeline.ahead`), which write them on the machine's other core while the stage decides
on the batch's next mails: rendering and composing were most of answering a mail. A draft a
writer could not write (its error, a writer that died or stopped answering) comes back as
None and is written in the stages' own process, where its error is raised as it would be
without writers.
"""

from __future__ import annotations

import logging
import pickle
import select
import struct
import subprocess
import sys
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import IO, Any

from mailbot.message import Address
from mailbot.outgoing.compose import Composed, compose_reply
from mailbot.outgoing.templates import TemplateLibrary

log = logging.getLogger("mailbot.outgoing")

_LENGTH = struct.Struct("!Q")
WRITERS = 2  # processes; with one, the stage would wait for it instead of writing itself
CHUNK = 16  # drafts handed to a writer at once
ANSWER_TIMEOUT = 60.0  # seconds a chunk may take before its writer is given up


@cache
def library(project_dir: Path | None, site_dir: Path | None) -> TemplateLibrary:
    """The templates of a project folder, then the site's, then the built-in set; made once."""
    return TemplateLibrary([d for d in (project_dir, site_dir) if d is not None])


@dataclass(frozen=True, slots=True)
class Original:
    """What a reply needs of the mail it answers (`compose.Original`), copied from its row."""

    message_id: str | None
    message_id_synthetic: bool
    references: tuple[str, ...]
    subject: str | None
    subject_normalized: str | None


@dataclass(frozen=True, slots=True)
class ReplyDraft:
    """All that rendering and composing one reply needs; it pickles."""

    templates: tuple[Path | None, Path | None]  # the project's folder, the site's
    kind: str  # the template folder
    category: str
    language: str  # wanted; the template's own is the first of its fallbacks found
    default_language: str
    values: Mapping[str, Any]
    original: Original
    ref: str
    from_addr: Address
    to: Address
    domain: str
    dedupe_key: str
    envelope_from: str | None
    date: datetime


def write_reply(draft: ReplyDraft) -> Composed:
    """The reply's bytes (raises as `TemplateLibrary.render` and `compose_reply` do)."""
    body = library(*draft.templates).render(
        draft.kind,
        draft.category,
        draft.language,
        draft.values,
        default_language=draft.default_language,
    )
    return compose_reply(
        draft.original,
        body,
        ref=draft.ref,
        from_addr=draft.from_addr,
        envelope_from=draft.envelope_from,
        to=draft.to,
        domain=draft.domain,
        dedupe_key=draft.dedupe_key,
        date=draft.date,
    )


def _write(stream: IO[bytes], value: object) -> None:
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(payload)) + payload)
    stream.flush()


def _read(stream: IO[bytes]) -> Any:
    """The next frame, or None at the end of the stream."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    size = _LENGTH.unpack(head)[0]
    data = stream.read(size)
    if len(data) < size:
        return None
    return pickle.loads(data)


# --- the process ----------------------------------------------------------------------------


def serve(source: IO[bytes], sink: IO[bytes]) -> None:
    """Write each chunk of drafts framed on `source`: a Composed, or None, for each."""
    try:
        while (drafts := _read(source)) is not None:
            _write(sink, [_written(draft) for draft in drafts])
    except BrokenPipeError:
        return  # the stages stopped (or died) meanwhile


def _written(draft: ReplyDraft) -> Composed | None:
    try:
        return write_reply(draft)
    except Exception:  # written again by the stages, where the error is theirs to report
        return None


# --- the stages' side -----------------------------------------------------------------------


class _Writer:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mailbot.outgoing.drafts"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.holding: list[int] | None = None  # the indexes of the chunk it is writing

    def send(self, indexes: list[int], drafts: list[ReplyDraft]) -> None:
        assert self.process.stdin is not None
        _write(self.process.stdin, drafts)
        self.holding = indexes

    def ready(self) -> bool:
        return bool(select.select([self.process.stdout], [], [], 0)[0])

    def answer(self) -> list[Any]:
        """The chunk's mails; raises OSError when none come within `ANSWER_TIMEOUT`."""
        stdout = self.process.stdout
        assert stdout is not None
        if not select.select([stdout], [], [], ANSWER_TIMEOUT)[0]:
            raise OSError(f"no answer within {ANSWER_TIMEOUT:g} s")
        found = _read(stdout)
        if not isinstance(found, list) or len(found) != len(self.holding or ()):
            raise OSError("it ended" if found is None else "its answer does not fit")
        self.holding = None
        return found

    def close(self) -> None:
        for stream in (self.process.stdin, self.process.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class DraftWriters:
    """Writer processes for a backlog's replies: drafts in, mails back in the same order.

    Drafts are handed over a chunk at a time as they come (`add`), each writer holding one
    chunk at most, so neither side ever waits on a full pipe; `take` waits for the rest.
    """

    def __init__(self, count: int = WRITERS) -> None:
        self._writers: list[_Writer] = []
        try:
            for _ in range(count):
                self._writers.append(_Writer())
        except OSError:
            self.close()
            raise
        self._drafts: list[ReplyDraft] = []
        self._results: list[Composed | None] = []
        self._waiting: deque[int] = deque()  # indexes of drafts not handed over yet
        self.broken = False

    def add(self, draft: ReplyDraft) -> int:
        """Hand `draft` over (when a chunk is full and a writer free); its index for `take`."""
        index = len(self._drafts)
        self._drafts.append(draft)
        self._results.append(None)
        self._waiting.append(index)
        if len(self._waiting) >= CHUNK:
            self._pass_on(wait=False)
        return index

    def take(self) -> list[Composed | None]:
        """The mails of every draft added since the last `take`, in order (None: not written
        by a writer; the caller writes it)."""
        while self._waiting and not self.broken:
            self._pass_on(wait=True, partial=True)
        for writer in self._writers:
            if writer.holding is not None:
                self._collect(writer)
        results = self._results
        self._drafts, self._results, self._waiting = [], [], deque()
        return results

    def _pass_on(self, *, wait: bool, partial: bool = False) -> None:
        """Give full chunks (with `partial`, also the last one) to free writers; with
        `wait`, wait for a writer to be free first."""
        while self._waiting and not self.broken and (partial or len(self._waiting) >= CHUNK):
            writer = self._free(wait=wait)
            if writer is None:
                return
            indexes = [self._waiting.popleft() for _ in range(min(CHUNK, len(self._waiting)))]
            try:
                writer.send(indexes, [self._drafts[i] for i in indexes])
            except OSError as err:
                self._give_up(f"it stopped reading: {err}")

    def _free(self, *, wait: bool) -> _Writer | None:
        for writer in self._writers:
            if writer.holding is None:
                return writer
        for writer in self._writers:
            if writer.ready():
                self._collect(writer)
                return None if self.broken else writer
        if not wait:
            return None
        writer = self._writers[0]
        self._collect(writer)
        return None if self.broken else writer

    def _collect(self, writer: _Writer) -> None:
        indexes = writer.holding or []
        try:
            for index, composed in zip(indexes, writer.answer(), strict=True):
                self._results[index] = composed if isinstance(composed, Composed) else None
        except (OSError, EOFError, ValueError, pickle.UnpicklingError) as err:
            writer.holding = None
            self._give_up(f"its answer could not be read: {err}")

    def _give_up(self, why: str) -> None:
        """A writer failed: the rest is written by the stages (their results stay None)."""
        if not self.broken:
            log.warning("writing replies beside the stages stopped (%s); writing them here", why)
        self.broken = True
        self._waiting.clear()

    def close(self) -> None:
        for writer in self._writers:
            writer.close()
        self._writers = []


if __name__ == "__main__":
    import os
    import signal

    # The stages say when to stop (the end of stdin): Ctrl-C reaches the whole process
    # group, and the stages decide what it means.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Answers go to a private copy of stdout; anything a library prints goes to stderr.
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    # From the module, not this __main__: the drafts unpickle as the module's classes.
    from mailbot.outgoing.drafts import serve as serving

    serving(sys.stdin.buffer, answers)
