"""Through the pipeline: a PM answering in the thread meets the SLA; the queue shows it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from mailbot.items.sla import overdue
from mailbot.storage.models import Item
from tests.support.queue_bot import Bot


def test_a_pm_reply_in_the_thread_is_the_first_response(
    bot: Bot, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = bot.deliver("Anna <anna@acme.example>", "Checkout fails", "Error 500.")
    bot.deliver("王芳 <wangfang@huaxin.example>", "后台登录不了", "登录不了。")
    bot.run()
    with bot.session() as s:  # both came in five hours ago: past the four-hour SLA
        s.execute(update(Item).values(created_at=datetime.now(UTC) - timedelta(hours=5)))
    late = bot.cli_json(capsys, "queue", "list", "--overdue")
    assert [row["ref"] for row in late] == ["ACME-1", "HX-1"]

    bot.deliver("Lena <pm@agency.example>", "Re: Checkout fails", "On it.", reply_to=first)
    bot.run()
    late = bot.cli_json(capsys, "queue", "list", "--overdue")
    assert [row["ref"] for row in late] == ["HX-1"]
    [acme] = bot.cli_json(capsys, "queue", "list", "--project", "ACME")
    assert acme["sla"] == "met" and acme["first_response_at"] is not None
    with bot.session() as s:
        assert [i.ref for i in overdue(s, bot.config, datetime.now(UTC))] == ["HX-1"]
