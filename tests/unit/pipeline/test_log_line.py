"""The one log line per mail an admin reads: who wrote, the item it was filed as, the answer."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.support.pipeline import MaildirBot


def test_each_mail_is_logged_with_its_item_and_the_answer_decision(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mailbot.run")
    with MaildirBot(tmp_path) as bot:
        bot.deliver("Peter <peter@acme.example>", "issue: checkout fails")
        bot.run()
        (item,) = bot.items()
    lines = [r.getMessage() for r in caplog.records if "from peter@acme.example:" in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in caplog.records]
    assert f": {item.ref} (issue), " in lines[0]
    assert ", answer: queued " in lines[0]
