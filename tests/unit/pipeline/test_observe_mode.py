"""Observe mode: a new installation files and classifies, records what it would have sent,
and sends clients nothing until the admin switches it on."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from mailbot.config_types import AckConfig
from mailbot.reports.digest import preview_digests
from tests.support.pipeline import MaildirBot

SUBJECTS = ("issue: checkout fails", "change_request: add a banner", "feedback: thanks, looks good")


def test_fifty_mails_are_filed_and_none_is_answered_until_the_mode_is_on(tmp_path: Path) -> None:
    with MaildirBot(tmp_path, acknowledgements=AckConfig(mode="observe")) as bot:
        for n in range(50):
            bot.deliver(f"Client {n} <c{n}@acme.example>", f"{SUBJECTS[n % 3]} #{n}")
        sent = bot.run()
        assert sent == []  # nothing at all went out to clients
        assert len(bot.items()) == 50
        would = bot.events("would_answer")
        assert len(would) == 50
        assert {e["to"] for e in would} == {f"c{n}@acme.example" for n in range(50)}
        assert all("observe mode" in d for d in bot.decisions())
        # The PM's digest says what would have been sent.
        digests = preview_digests(bot.db, bot.config, datetime.now(UTC) + timedelta(minutes=1))
        assert len(digests[0].would_answer) == 50
        text = digests[0].context(bot.config)
        assert text["observing"] is True
        # Switched on: only mail arriving afterwards is answered, none of the fifty.
        bot.config = dataclasses.replace(bot.config, acknowledgements=AckConfig(mode="on"))
        bot.deliver("Late <late@acme.example>", "issue: the export fails")
        sent = bot.run()
        assert [str(m["To"]) for m in sent] == ["Late <late@acme.example>"]
        assert bot.run() == []


def test_observe_until_ends_the_quiet_period_by_itself() -> None:
    acks = AckConfig(mode="observe", observe_until=date(2026, 12, 10))
    assert acks.observing(datetime(2026, 12, 9, 23, 59, tzinfo=UTC))
    assert not acks.observing(datetime(2026, 12, 10, 0, 0, tzinfo=UTC))
    assert not AckConfig(mode="on").observing(datetime(2026, 12, 9, tzinfo=UTC))


def test_status_and_doctor_say_observe_mode(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from mailbot.cli import main

    config = tmp_path / "mailbot.toml"
    config.write_text(
        f"""
[mailbox]
kind = "maildir"
path = "{tmp_path / "Maildir"}"

[database]
url = "sqlite:///{tmp_path / "mb.sqlite3"}"

[acknowledgements]
mode = "observe"
observe_until = 2099-01-01
""",
        encoding="utf-8",
    )
    assert main(["--config", str(config), "status"]) == 0
    out = capsys.readouterr().out
    assert "observe mode until 2099-01-01" in out
    assert 'acknowledgements.mode = "on"' in out
    assert "0 open, 0 to review, 0 escalated" in out
    main(["--config", str(config), "doctor"])
    assert "observe mode until 2099-01-01" in capsys.readouterr().out
