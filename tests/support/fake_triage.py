"""A stand-in triage for tests of later stages: the category is named in the subject."""

from __future__ import annotations

from collections.abc import Iterable

from mailbot.message import Message
from mailbot.triage import Verdict
from mailbot.triage.language import script


class SubjectTriage:
    """issue / change_request / feedback when the subject says so; noise by the parser's signals;
    "unsure" in the subject sends the verdict to review."""

    def classify_many(self, messages: Iterable[Message]) -> list[Verdict]:
        return [self.classify(m) for m in messages]

    def classify(self, message: Message) -> Verdict:
        subject = message.subject.lower()
        if message.signals.noise:
            category = "none"
        elif "change" in subject or "变更" in subject:
            category = "change_request"
        elif "thanks" in subject or "谢谢" in subject:
            category = "feedback"
        else:
            category = "issue"
        zh = any("\u4e00" <= ch <= "\u9fff" for ch in message.subject + message.new_text)
        # Which Chinese: the real detector on the text, the subject when there is none.
        language = script(message.new_text or message.subject) if zh else "en"
        return Verdict(
            category=category,
            confidence=0.9,
            needs_review="unsure" in subject,
            escalate="urgent" in subject or "紧急" in subject,
            escalate_reasons=(),
            language=language,
            explanation={"decided_by": "test subject rule"},
            model_version="test",
        )
