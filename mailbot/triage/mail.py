"""The part of a message triage reads: subject, new text, headers and parser signals."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from mailbot.message import Message, Signals
from mailbot.triage.signoff import without_signoff

# What triage reads of one mail, at most: a client's ask is at the start, and the cost of
# tokenising is not linear in every input (long punctuation runs), so it is bounded here.
MAX_SUBJECT_CHARS = 1_000
MAX_TEXT_CHARS = 20_000
MAX_RUN = 20  # of one repeated non-word character (">>>>", "=====", "!!!!")
_LONG_RUN = re.compile(r"([^\w\s])\1{" + str(MAX_RUN) + ",}")


def bounded(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, with long runs of one symbol shortened."""
    return _LONG_RUN.sub(lambda m: m.group(1) * MAX_RUN, text[: limit * 2])[:limit]


@dataclass(frozen=True, slots=True)
class Mail:
    subject: str  # as written (the model was trained on subjects as written)
    text: str  # what the sender wrote now (no quoted history, no signature or disclaimer)
    headers: tuple[tuple[str, str], ...] = ()  # names lower-case
    signals: Signals = field(default_factory=Signals)
    content_type: str = ""  # top-level Content-Type, lower-case, without parameters
    attachment_types: tuple[str, ...] = ()
    body_source: str = "text/plain"
    subject_normalized: str = ""  # Re:/Fwd:/回复: removed; subject rules match this
    # `text` still ends with the sign-off (greeting, signature, disclaimer) that `finished`
    # takes out: a mail made by the stages for the process that classifies it.
    signoff_pending: bool = False

    @property
    def rule_subject(self) -> str:
        return self.subject_normalized or self.subject

    @property
    def full_text(self) -> str:
        """What classifiers read: the subject, a newline, the new text."""
        subject, text = self.subject.strip(), self.text.strip()
        return f"{subject}\n{text}" if subject else text

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers:
            if key == wanted:
                return value
        return None

    def finished(self) -> Mail:
        """This mail as triage reads it: the sign-off taken out if it was left for later."""
        if not self.signoff_pending:
            return self
        return replace(self, text=without_signoff(self.text), signoff_pending=False)

    @classmethod
    def from_message(cls, message: Message, *, signoff_later: bool = False) -> Mail:
        """What triage reads of `message`. `signoff_later`: its sign-off is taken out by
        `finished`, in the process that classifies it (most of the work of making a Mail)."""
        content_type = (message.header("content-type") or "").split(";", 1)[0].strip().lower()
        text = bounded(message.new_text, MAX_TEXT_CHARS)
        return cls(
            subject=bounded(message.subject, MAX_SUBJECT_CHARS),
            subject_normalized=bounded(message.subject_normalized, MAX_SUBJECT_CHARS),
            text=text if signoff_later else without_signoff(text),
            signoff_pending=signoff_later,
            headers=message.headers,
            signals=message.signals,
            content_type=content_type,
            attachment_types=tuple(a.content_type.lower() for a in message.attachments),
            body_source=message.body_source,
        )

    @classmethod
    def from_example(cls, example: str | Mapping[str, Any]) -> Mail:
        """Build a Mail from a rule file's `examples` entry: a text, or a table of fields."""
        if isinstance(example, str):
            return cls(subject="", text=example)
        signals = set(example.get("signals", ()))
        headers = tuple((k.lower(), str(v)) for k, v in example.get("headers", {}).items())
        return cls(
            subject=example.get("subject", ""),
            text=example.get("text", ""),
            headers=headers,
            signals=Signals(
                auto_reply="auto_reply" in signals,
                bounce="bounce" in signals,
                bulk="bulk" in signals,
                reasons=tuple(sorted(signals)),
            ),
            content_type=example.get("content_type", "text/plain").lower(),
            attachment_types=tuple(t.lower() for t in example.get("attachments", ())),
            body_source=example.get("body_source", "text/plain"),
        )
