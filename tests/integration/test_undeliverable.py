"""A client's address that the SMTP server refuses for good: the PM is told once, in the
PM's language, and nothing is retried or reported again."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

import pytest

from mailbot.storage.models import OutboxState
from tests.servers.smtp import SmtpSink
from tests.support.pipeline import ACME, MaildirBot

pytestmark = pytest.mark.integration


def test_a_refused_acknowledgement_tells_the_pm_once(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    with MaildirBot(
        tmp_path, projects=(ACME,), outbox_dir=None, smtp=smtp_sink.smtp_config()
    ) as bot:
        bot.delivery = None  # the configured SMTP delivery, as `mailbot run` does
        bot.deliver("Anna <anna@acme.example>", "Checkout fails", "Error 500.")
        smtp_sink.fail_next(1, code=550, stage="rcpt")  # "no such user" for the client
        bot.pipeline().run_once()
        [ack] = bot.outbox("ack")
        assert ack.state == OutboxState.FAILED and "550" in (ack.last_error or "")
        [notice] = bot.outbox("undeliverable")
        assert notice.rcpt_to == ["pm@agency.example"] and notice.state == OutboxState.SENT
        bot.pipeline().run_once()  # nothing again: the failure is not retried nor re-reported
        assert len(bot.outbox("undeliverable")) == 1
    [received] = [
        email.message_from_bytes(m.content, policy=policy.default) for m in smtp_sink.messages
    ]
    body = received.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "anna@acme.example" in body and "550" in body and "ACME-1" in received["Subject"]
