"""Triage ahead: a process that classifies the next batch of a backlog while this one is filed.

Of a backlog's work, classifying is the part that needs nothing but the mail itself: no
database, no other mail. So while the stages file and answer one batch, this process
classifies the next, on the machine's other core (`Pipeline._classify`). The verdicts
are the same: the same triage, loaded from the same rules and model.

It is `python -m mailbot.pipeline.ahead`, talking length-prefixed pickled frames over its
stdin and stdout (as `budget`): first the triage settings, answered with "ready" once
the model is loaded; then each batch of mails, answered with a verdict or the error for
each. The end of its stdin stops it. Should it fail to start or die, the stages classify
in their own process, as without it.
"""

from __future__ import annotations

import logging
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from mailbot.triage.mail import Mail

if TYPE_CHECKING:
    from mailbot.config import Config

log = logging.getLogger("mailbot.pipeline")

_LENGTH = struct.Struct("!Q")
ANSWER_TIMEOUT = 120.0  # seconds a batch's verdicts may take before the process is given up
START_TIMEOUT = 120.0  # seconds to load the triage (a busy machine, a cold disk)


@dataclass(frozen=True)
class TriageSettings:
    """What the process loads its triage from (the config's [triage])."""

    rules_dir: Path | None
    model_dir: Path | None
    review_threshold: float


def triage_settings(config: Config) -> TriageSettings | None:
    """What triage ahead loads for `config` (None: triage is off)."""
    triage = config.triage
    if not triage.enabled:
        return None
    return TriageSettings(triage.rules_dir, triage.model_dir, triage.review_threshold)


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
    """Load the triage the first frame names, then classify each batch framed on `source`."""
    from mailbot.triage import Triage

    settings = _read(source)
    if not isinstance(settings, TriageSettings):
        return
    triage = Triage.load(settings.rules_dir, settings.model_dir, settings.review_threshold)
    try:
        _write(sink, "ready")
        while (mails := _read(source)) is not None:
            _write(sink, classified(triage, mails))
    except BrokenPipeError:
        return  # the stages stopped (or died) while this batch was classified


def classified(triage: Any, mails: Sequence[Mail]) -> list[object]:
    """Verdicts for a batch; when the batch fails, one by one, so only the bad mail fails
    (its error as an exception, or as text when it cannot be pickled)."""
    try:
        return list(triage.classify_mails(mails))
    except Exception:
        results: list[object] = []
        for mail in mails:
            try:
                results.append(triage.classify_mails([mail])[0])
            except Exception as err:
                results.append(RuntimeError(f"{type(err).__name__}: {err}"))
        return results


# --- the stages' side -----------------------------------------------------------------------


class TriageAhead:
    """The running process: one batch at a time handed over, its verdicts taken back later."""

    @classmethod
    def start(cls, settings: TriageSettings) -> TriageAhead | None:
        """The process, loading from now on; None (said in the log) if it cannot start."""
        try:
            return cls(settings)
        except OSError as err:
            log.warning("cannot start classifying beside the stages (%s); classifying here", err)
            return None

    def __init__(self, settings: TriageSettings) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mailbot.pipeline.ahead"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self._ready = False
        self.broken = False
        self._send(settings)

    def _send(self, value: object) -> None:
        assert self.process.stdin is not None
        if self.broken:
            return
        try:
            _write(self.process.stdin, value)
        except OSError:
            self._give_up("it stopped reading")

    def _answer(self, timeout: float | None) -> Any:
        """The next frame within `timeout` seconds (None: wait), or None if there is none."""
        stdout = self.process.stdout
        assert stdout is not None
        try:
            if timeout is not None and not select.select([stdout], [], [], timeout)[0]:
                return None
            answer = _read(stdout)
        except (OSError, ValueError, EOFError, pickle.UnpicklingError) as err:
            self._give_up(f"its answer could not be read: {err}")
            return None
        if answer is None:
            self._give_up("it ended")
        return answer

    def ready(self) -> bool:
        """Whether it has loaded the triage (never waits)."""
        if not self._ready and not self.broken:
            self._ready = self._answer(0) == "ready"
        return self._ready and not self.broken

    def wait_ready(self, timeout: float = START_TIMEOUT) -> bool:
        """Wait until it has loaded the triage; False if it failed meanwhile."""
        if not self._ready and not self.broken:
            answer = self._answer(timeout)
            self._ready = answer == "ready"
            if not self._ready:
                self._give_up(f"not ready within {timeout:g} s")
        return self._ready and not self.broken

    def submit(self, mails: Sequence[Mail]) -> None:
        """Hand over a batch; only one at a time, taken back with `verdicts` first."""
        self._send(list(mails))

    def verdicts(self, count: int) -> list[object] | None:
        """The verdicts of the batch handed over (None: the process failed, it is given up)."""
        if self.broken:
            return None
        answer = self._answer(ANSWER_TIMEOUT)
        if answer is None:
            self._give_up(f"no verdicts within {ANSWER_TIMEOUT:g} s")
            return None
        if not isinstance(answer, list) or len(answer) != count:
            self._give_up("its answer did not fit the batch")
            return None
        return answer

    def _give_up(self, why: str) -> None:
        if not self.broken:
            log.warning("classifying beside the stages stopped (%s); classifying here", why)
        self.broken = True
        self.close()

    def close(self, *, wait: bool = True) -> None:
        """Tell the process to stop (the end of its input); `wait` until it has ended.

        One still loading has nothing of ours: it is killed rather than left to load.
        """
        if not self.ready():
            with suppress(OSError):
                self.process.kill()
        for stream in (self.process.stdin, self.process.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        if wait:
            self.wait_ended()

    def wait_ended(self) -> None:
        """Wait for the process told to stop to end; killed if it does not in 10 s."""
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


if __name__ == "__main__":
    from mailbot.logsetup import setup_logging

    # The stages say when to stop (the end of stdin): Ctrl-C reaches the whole process
    # group, and the stages decide what it means.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    setup_logging("WARNING")
    # Answers go to a private copy of stdout; anything a library prints goes to stderr.
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    # From the module, not this __main__: the settings unpickle as the module's class.
    from mailbot.pipeline.ahead import serve as serving

    serving(sys.stdin.buffer, answers)
    # Every answer is flushed as it is written. Tearing down an interpreter with spaCy and
    # a model loaded takes a tenth of a second, and the stages wait for this process to end.
    answers.close()
    os._exit(0)
