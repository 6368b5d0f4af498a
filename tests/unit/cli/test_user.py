"""`mailbot user`: what the command prints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mailbot.accounts.users import add_user, find_user
from mailbot.storage.models import WebSession
from tests.support.queue_bot import Bot


def test_logout_counts_the_sessions_it_ended(bot: Bot, capsys: pytest.CaptureFixture[str]) -> None:
    later = datetime.now(UTC) + timedelta(days=1)
    with bot.session() as session:
        add_user(session, bot.config, "lena", "correct horse battery", role="pm", actor="root")
        session.flush()
        user = find_user(session, "lena")
        assert user is not None
        session.add(WebSession(id="a" * 64, user_id=user.id, csrf="c", expires_at=later))
    assert bot.cli(capsys, "user", "logout", "lena")[1] == "lena: 1 session ended\n"
    assert bot.cli(capsys, "user", "logout", "lena")[1] == "lena: 0 sessions ended\n"
