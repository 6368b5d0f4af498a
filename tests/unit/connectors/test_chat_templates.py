"""Every chat template renders in every language with the facts its event carries."""

from __future__ import annotations

from typing import Any

import pytest

from mailbot.config import Config
from mailbot.config_types import CHAT_EVENTS, Folders, MailboxConfig
from mailbot.connectors.chat import render

pytestmark = pytest.mark.no_database

ITEM = {
    "ref": "ACME-7",
    "item_id": 7,
    "title": "Checkout fails",
    "category": "issue",
    "status": "new",
    "client": "王芳",
}
FACTS: dict[str, dict[str, Any]] = {
    "escalation": ITEM,
    "review": ITEM,
    "failure": {
        "what": "mail",
        "ref": "ACME-7",
        "subject": "wang@acme.example: Re: Checkout fails",
        "error": "550 mailbox unavailable",
    },
    "digest": {
        "project_name": "ACME web shop",
        "period": "2026-12-04",
        "counts": {"new": 3, "needs_review": 1, "escalations": 1, "overdue": 0},
        "items": [{"ref": "ACME-7", "title": "Checkout fails", "why": "escalations"}],
    },
}
CONFIG = Config(mailboxes=(MailboxConfig(name="m", kind="maildir", folders=Folders()),))


@pytest.mark.parametrize("language", ["en", "zh-Hans", "zh-Hant", "zh-HK"])
@pytest.mark.parametrize("event", CHAT_EVENTS)
def test_every_event_in_every_language(event: str, language: str) -> None:
    payload = {"event": event, "language": language, "project": "ACME", "facts": FACTS[event]}
    title, text = render(CONFIG, None, payload)
    assert title and text and "\n" not in title
    assert ("ACME" in title + text) and ("Checkout fails" in text or event == "failure")
    chinese = any("\u4e00" <= ch <= "\u9fff" for ch in title)
    assert chinese == (language != "en"), title
    if language in ("zh-Hant", "zh-HK"):
        assert not any(ch in title + text for ch in "这们题处"), "Simplified in Traditional"
