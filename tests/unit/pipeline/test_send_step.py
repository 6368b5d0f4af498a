"""The delivery step: bounded in the daemon's loop, until nothing is left in `run --once`."""

from __future__ import annotations

from pathlib import Path

from mailbot.outgoing.outbox import SendStats
from tests.support.pipeline import ACME, MaildirBot


def test_run_once_delivers_until_nothing_is_due_and_the_loop_once(tmp_path: Path) -> None:
    backlog = [100, 100, 37, 0]  # what each delivery sends, as SMTP's 100-mail drains do
    calls: list[int] = []

    def deliver() -> SendStats:
        calls.append(sent := backlog[len(calls)] if len(calls) < len(backlog) else 0)
        return SendStats(sent=sent)

    with MaildirBot(tmp_path, projects=(ACME,), delivery=deliver) as bot:
        bot.pipeline().run_once()
        assert calls == [100, 100, 37, 0]
        calls.clear()
        backlog[:] = [100, 100]
        bot.pipeline().send()  # the daemon's step: one drain, the next loop does the rest
        assert calls == [100]
