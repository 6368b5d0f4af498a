"""The stages a stored message passes, in order, and what each one does to one message.

    received ─parse→ parsed ─classify→ classified ─file→ filed ─answer→ answered

Each stage takes messages in one state and leaves them in the next. A stage that fails
for a message leaves it `failed` with the stage's name; the same stage takes it again
when its retry is due (`mailbot.storage.work`), until it is set aside for a person.
The functions here do the work for one message and raise on failure; the machine
(`mailbot.pipeline.machine`) claims, isolates, counts and retries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.orm import Session

from mailbot.errors import MailbotError, ParseError
from mailbot.message import Message
from mailbot.parse import parse_bytes
from mailbot.pipeline.budget import OverBudget, Reader
from mailbot.pipeline.file import (
    Acknowledger,
    Answer,
    BatchContext,
    BatchWrites,
    FileBatch,
    FilingHook,
    file_message,
)
from mailbot.pipeline.route import Route
from mailbot.storage.models import Event, Item, MessageState, StoredMessage
from mailbot.storage.store import message_fields
from mailbot.triage.verdict import Verdict

if TYPE_CHECKING:
    from mailbot.config import Config
    from mailbot.triage import Triage

log = logging.getLogger("mailbot.pipeline")
HEADER_READ = 256 * 1024  # bytes of a mail read when its body is not
HEADER_BUDGET = 5.0  # seconds at least for reading a header (its size is bounded)


@dataclass(frozen=True, slots=True)
class Stage:
    name: str
    takes: str  # the state a message waits in for this stage
    makes: str  # the state it is left in when the stage succeeds

    def ready(self) -> ColumnElement[bool]:
        """Messages this stage may take: waiting for it, or failed in it."""
        return or_(
            StoredMessage.state == self.takes,
            and_(
                StoredMessage.state == MessageState.FAILED,
                StoredMessage.failed_stage == self.name,
            ),
        )


PARSE = Stage("parse", MessageState.RECEIVED, MessageState.PARSED)
CLASSIFY = Stage("classify", MessageState.PARSED, MessageState.CLASSIFIED)
FILE = Stage("file", MessageState.CLASSIFIED, MessageState.FILED)
ANSWER = Stage("answer", MessageState.FILED, MessageState.ANSWERED)
STAGES = (PARSE, CLASSIFY, FILE, ANSWER)
STAGE_BY_NAME = {stage.name: stage for stage in STAGES}


class StageError(MailbotError):
    """A stage could not do its work for one message; the message is retried."""

    code = "MB300"


def describe_error(err: BaseException) -> str:
    """An error in one line for a message's record: our own errors by their words."""
    return err.message if isinstance(err, MailbotError) else f"{type(err).__name__}: {err}"


# --- parse ---------------------------------------------------------------------------


def parse_stored(
    data: bytes,
    max_bytes: int | None = None,
    *,
    reader: Reader | None = None,
    timeout: float = 0,
    size: int | None = None,
    read: Message | Exception | None = None,
) -> Message:
    """Parse the original bytes; any failure is a StageError saying what was wrong.

    Mail over `max_bytes` is read by its header only (the store keeps it whole): the
    PM sees who wrote about what, and that the body was too large to read; `size` is the
    whole mail's when `data` is only its start (enough for the header). With a
    `reader` and a `timeout`, parsing runs in its helper process and a mail not read in
    time is read by its header only as well (`mailbot.pipeline.budget`). `read`: what
    reading `data` whole gave already (`Reader.parse_many` reads a batch at once).
    """

    def parse(raw: bytes, budget: float = timeout) -> Message:
        if reader is not None and budget > 0:
            return reader.parse(raw, budget)
        return parse_bytes(raw)

    def header(raw: bytes) -> Message:  # a few KB: seconds are plenty, whatever the budget
        return parse(raw, max(timeout, HEADER_BUDGET) if timeout > 0 else 0)

    try:
        total = len(data) if size is None else size
        if max_bytes is not None and total > max_bytes:
            megabytes = f"{total / 1_048_576:.1f} MB"
            why = (
                f"This mail is {megabytes}, more than processing.max_message_bytes "
                f"({max_bytes / 1_048_576:.1f} MB)"
            )
            return _header_only(data, header, why, f"too large to read ({megabytes})")
        try:
            if isinstance(read, Exception):
                raise read
            return read if read is not None else parse(data)
        except OverBudget as err:
            log.warning("a mail could not be read within %g s: reading its header only", timeout)
            why = f"This mail could not be read within {err.seconds:g} s"
            defect = f"could not be read in time ({err.seconds:g} s)"
            return _header_only(data, header, why, defect)
    except OverBudget as err:
        raise StageError(f"not even the header could be read within {err.seconds:g} s") from None
    except ParseError as err:
        raise StageError(err.message) from None
    except Exception as err:  # a parser bug must not stop the mailbox
        log.exception("the parser crashed")
        raise StageError(f"internal error while parsing: {describe_error(err)}") from None


UNREAD = ("too large to read", "could not be read in time")  # defects of a header-only read


def _header_only(data: bytes, parse: Callable[[bytes], Message], why: str, defect: str) -> Message:
    end = min((i for i in (data.find(b"\r\n\r\n"), data.find(b"\n\n")) if i >= 0), default=-1)
    head = data[: end if 0 <= end < HEADER_READ else HEADER_READ]
    note = f"{why}: only its header was read. The whole mail is stored: mailbot messages --raw ID."
    # Only the header's own Content-* lines would describe a body we do not read.
    lines = [
        line
        for line in head.replace(b"\r\n", b"\n").split(b"\n")
        if not line.lower().startswith((b"content-", b"mime-version"))
    ]
    stub = b"\n".join(lines) + b"\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n"
    message = parse(stub + note.encode())
    return replace(message, defects=(*message.defects, defect))


def record_parsed(row: StoredMessage, message: Message) -> None:
    for key, value in message_fields(message).items():
        setattr(row, key, value)


# --- classify ------------------------------------------------------------------------


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


def noise_verdict(
    decided_by: str, *, language: str = "en", model_version: str = "signals", **explanation: Any
) -> Verdict:
    """Category none, for certain: mail nobody answers (a robot, a bounce, spam)."""
    return Verdict(
        category="none",
        confidence=1.0,
        needs_review=False,
        escalate=False,
        escalate_reasons=(),
        language=language,
        explanation={"decided_by": decided_by, "model": None, **explanation},
        model_version=model_version,
    )


def signals_verdict(message: Message) -> Verdict | None:
    """With triage off, noise is still decided here, once: by the parser's signals."""
    if not message.signals.noise:
        return None
    return noise_verdict("the parser's signals: " + ", ".join(message.signals.reasons))


def unread_for_review(verdict: Verdict | None, message: Message) -> Verdict | None:
    """A mail read by its header only is for a person to read, whatever triage made of it."""
    unread = [d for d in message.defects if d.startswith(UNREAD)]
    if verdict is None or not unread or verdict.category == "none":
        return verdict
    return replace(verdict, needs_review=True, review_reasons=(*verdict.review_reasons, unread[0]))


def classify_batch(triage: Triage, messages: Sequence[Message]) -> list[Verdict | Exception]:
    """Verdicts for a batch; when the batch fails, one by one, so only the bad mail fails."""
    try:
        return list(triage.classify_many(messages))
    except Exception:
        results: list[Verdict | Exception] = []
        for message in messages:
            try:
                results.append(triage.classify(message))
            except Exception as err:
                results.append(err)
        return results


def stored_verdict(row: StoredMessage) -> Verdict | None:
    return Verdict.from_dict(row.verdict) if row.verdict else None


# --- file ----------------------------------------------------------------------------


def file_one(
    session: Session,
    config: Config,
    row: StoredMessage,
    message: Message,
    hooks: Sequence[FilingHook],
    batch: FileBatch | None = None,
) -> str:
    """Route and file one message; returns the item reference, or "noise".

    `batch`: what was read for the message's batch (`FileBatch.read`)."""
    filed = file_message(session, config, row, message, stored_verdict(row), hooks, batch)
    return filed.item_ref or filed.outcome


# --- answer --------------------------------------------------------------------------


def answer_one(
    session: Session,
    row: StoredMessage,
    message: Message,
    acknowledger: Acknowledger | None,
    batch: BatchContext | None = None,
) -> str:
    """Decide (and queue) the acknowledgement of one filed message; returns the decision.

    `batch`: what the acknowledger read for the message's batch (`Acknowledger.prepare`).
    """
    if row.item_id is None:
        answer = Answer("not sent: noise is never answered")
    elif acknowledger is None:
        answer = Answer("not sent: acknowledgements are not configured")
    else:
        item = session.get(Item, row.item_id)
        if item is None:  # a foreign key guarantees it
            raise StageError(f"message {row.id} is filed under a missing item {row.item_id}")
        stored = row.route or {}
        answer = acknowledger.acknowledge(
            session,
            row=row,
            message=message,
            verdict=stored_verdict(row),
            item=item,
            route=Route.from_dict(stored, row.item_id),
            new_item=bool(stored.get("new_item")),
            batch=batch,
        )
    detail = {"ack": answer.text, "checks": list(answer.checks)}
    if isinstance(batch, BatchWrites):  # its answer's last event: written with the batch's
        batch.event(message_pk=row.id, item_id=row.item_id, kind="answered", detail=detail)
    else:
        session.add(Event(message_pk=row.id, item_id=row.item_id, kind="answered", detail=detail))
    return answer.text
