"""Who gets an acknowledgement: the decision chain, through the whole pipeline on a Maildir."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import select, update

from mailbot.config_types import AckConfig, ProjectConfig
from mailbot.pipeline.answer import add_working_days
from mailbot.storage.models import Breaker, Item, OutboxMail
from tests.support.pipeline import MaildirBot

ACME = ProjectConfig(
    key="ACME",
    name="ACME web shop",
    client_domains=("acme.example",),
    pm="pm@agency.example",
    alias="team+acme@agency.example",
)


class Bot(MaildirBot):
    """ACME alone, the acknowledgement settings given, mail with no Date header."""

    def __init__(self, tmp_path: Path, **acks: object) -> None:
        super().__init__(
            tmp_path,
            projects=(ACME,),
            acknowledgements=dataclasses.replace(AckConfig(), **acks),  # type: ignore[arg-type]
            date=None,
        )

    def run(self) -> list[bytes]:  # type: ignore[override]
        """One pass; the acknowledgements written so far (a PM notice of a breaker is not one)."""
        super().run()
        return [p.read_bytes() for p in self.outbox_files("ack")]


@pytest.mark.parametrize(
    ("sender", "subject", "extra", "reason"),
    [
        ("noreply@acme.example", "Your invoice", "", "robot address"),
        ("MAILER-DAEMON@acme.example", "failure", "", "noise"),  # the parser calls it a bounce
        ("notifications@acme.example", "Build passed", "", "robot address"),
        ("pm@agency.example", "Forwarding a bug", "", "our own addresses"),
        ("colleague@agency.example", "Bug", "", "our own addresses"),
        ("stranger@elsewhere.example", "Bug", "", "unknown to every project"),
        ("anna@acme.example", "Out of office", "Auto-Submitted: auto-replied\r\n", "noise"),
    ],
)
def test_mail_that_is_not_answered(
    tmp_path: Path, sender: str, subject: str, extra: str, reason: str
) -> None:
    bot = Bot(tmp_path)
    bot.deliver(sender, subject, extra=extra)
    assert bot.run() == []
    if reason != "noise":  # noise is not even filed as an item
        assert reason in bot.decisions()[0]


def test_a_client_is_answered_once_and_follow_ups_are_not(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    bot.deliver("Anna <anna@acme.example>", "Login broken")
    assert len(bot.run()) == 1
    bot.deliver(
        "Anna <anna@acme.example>", "Re: Login broken", extra="In-Reply-To: <m1@client>\r\n"
    )
    assert len(bot.run()) == 1
    assert "follow-up" in bot.decisions()[1]


def test_follow_ups_and_unknown_senders_can_be_answered_when_configured(tmp_path: Path) -> None:
    bot = Bot(tmp_path, follow_ups=True, unknown_senders="acknowledge")
    bot.deliver("anna@acme.example", "Login broken")
    bot.deliver("anna@acme.example", "Re: Login broken", extra="In-Reply-To: <m1@client>\r\n")
    bot.deliver("stranger@elsewhere.example", "Please change the colours")
    assert len(bot.run()) == 3


def test_rate_limit_trips_a_breaker(tmp_path: Path) -> None:
    bot = Bot(tmp_path, max_per_sender_per_hour=2)
    for i in range(4):
        bot.deliver("anna@acme.example", f"Bug number {i}")
    assert len(bot.run()) == 2
    with bot.db.session() as s:
        breaker = s.get(Breaker, "anna@acme.example")
        assert breaker is not None and "loop" in breaker.reason
    assert "rate limit" in bot.decisions()[2]
    assert "answers to anna@acme.example are stopped" in bot.decisions()[3]


def test_fast_replies_to_our_acknowledgements_trip_the_breaker_the_second_time(
    tmp_path: Path,
) -> None:
    bot = Bot(tmp_path)
    for subject in ("Login broken", "Export broken"):
        bot.deliver("anna@acme.example", subject)
        ack = bot.run()[-1]
        our_id = message_from_bytes(ack, policy=policy.default)["Message-ID"]
        # A robot answers our acknowledgement at once, as a new subject, without auto headers.
        bot.deliver(
            "anna@acme.example", "Thank you for your message", extra=f"In-Reply-To: {our_id}\r\n"
        )
        bot.run()
        with bot.db.session() as s:
            tripped = s.get(Breaker, "anna@acme.example") is not None
        # Once may be a person saying thanks at once; twice in an hour is a loop.
        assert tripped == (subject == "Export broken")


def test_a_slow_human_reply_to_our_acknowledgement_is_not_a_robot(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    bot.deliver("anna@acme.example", "Login broken")
    [ack] = bot.run()
    with bot.db.session() as s:  # sent an hour ago
        s.execute(update(OutboxMail).values(sent_at=datetime.now(UTC) - timedelta(hours=1)))
    our_id = message_from_bytes(ack, policy=policy.default)["Message-ID"]
    bot.deliver("anna@acme.example", "Re: Login broken", extra=f"In-Reply-To: {our_id}\r\n")
    assert len(bot.run()) == 1
    with bot.db.session() as s:
        assert s.get(Breaker, "anna@acme.example") is None
        assert s.scalars(select(Item)).one().ref == "ACME-1"


def test_client_text_cannot_add_headers_or_break_templates(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    # An encoded CR/LF in the subject and the name decodes to a line break.
    bot.deliver(
        "=?utf-8?q?Eve=0D=0ABcc=3A_x=40evil=2Eexample?= <eve@acme.example>",
        "=?utf-8?q?Bug=0D=0ABcc=3A_evil=40evil=2Eexample?= {{ 7*7 }} <script>",
        body="{% raw %}{{ config }}<script>alert(1)</script>",
    )
    [ack] = bot.run()
    head = ack.split(b"\r\n\r\n", 1)[0].decode()
    assert not any(line.startswith("Bcc:") for line in head.split("\r\n"))
    parsed = message_from_bytes(ack, policy=policy.default)
    assert parsed["Bcc"] is None
    assert "{{ 7*7 }}" in parsed["Subject"] and "49" not in parsed["Subject"]
    html = parsed.get_body(("html",))
    assert html is None or "<script>" not in html.get_content()


def test_working_days_skip_weekends() -> None:
    friday = datetime(2026, 11, 27).date()
    assert add_working_days(friday, 1).isoformat() == "2026-11-30"
    assert add_working_days(friday, 5).isoformat() == "2026-12-04"


def test_outgoing_mail_written_to_a_folder_is_readable_by_mailbot_alone(tmp_path: Path) -> None:
    import os
    import stat

    old = os.umask(0o022)
    try:
        bot = Bot(tmp_path)
        bot.deliver("anna@acme.example", "Login broken")
        bot.run()
    finally:
        os.umask(old)
    [ack] = bot.outbox_files("ack")
    assert stat.S_IMODE(ack.stat().st_mode) == 0o600
