"""Parsed messages are kept between stages up to a count and about a number of bytes: a
backlog of ordinary mails is parsed once, and large mails cannot fill the memory."""

from __future__ import annotations

from pathlib import Path

import pytest

import mailbot.pipeline.machine
from mailbot.message import Message
from mailbot.parse import parse_bytes
from mailbot.pipeline.machine import _weight
from tests.support.pipeline import MaildirBot, client_mail


def message(n: int, body: str = "It fails.") -> Message:
    return parse_bytes(client_mail("anna@acme.example", f"Issue {n}", body, message_id=f"{n}@x"))


def test_the_cache_keeps_a_backlog_and_drops_the_oldest_past_its_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with MaildirBot(tmp_path) as bot:
        pipeline = bot.pipeline()
        small = [message(n) for n in range(3000)]
        for n, parsed in enumerate(small):
            pipeline._remember(n, parsed)
        assert len(pipeline._messages) == 3000  # more than the 1,000 of old
        big = message(9999, "A long line of logs.\n" * 20_000)
        budget = 3 * _weight(big)
        monkeypatch.setattr(mailbot.pipeline.machine, "MESSAGE_CACHE_BYTES", budget)
        for n in range(10_000, 10_004):
            pipeline._remember(n, big)
        assert list(pipeline._messages) == [10_001, 10_002, 10_003]  # the oldest went first
        assert pipeline._cached_bytes == budget
        pipeline._forget(10_002)
        assert pipeline._cached_bytes == 2 * _weight(big)
