"""The workspace always keeps an enabled admin; signing a user out everywhere is recorded."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from mailbot.accounts.signin import sign_in
from mailbot.accounts.users import (
    UserError,
    add_user,
    change_user,
    find_user,
    set_disabled,
    sign_out_everywhere,
)
from mailbot.storage.models import Event, WebSession
from tests.support.queue_bot import Bot

PASSWORD = "correct horse battery"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_the_last_enabled_admin_can_be_neither_demoted_nor_disabled(bot: Bot) -> None:
    with bot.session() as s:
        add_user(s, bot.config, "root", PASSWORD, role="admin", actor="test")
        add_user(s, bot.config, "lena", PASSWORD, role="pm", projects=["ACME"], actor="test")
        with pytest.raises(UserError, match="last enabled admin"):
            change_user(s, bot.config, "root", role="pm", actor="root")
        with pytest.raises(UserError, match="last enabled admin"):
            set_disabled(s, "root", True, actor="root")
        # A disabled admin does not count.
        add_user(s, bot.config, "old", PASSWORD, role="admin", actor="root")
        set_disabled(s, "old", True, actor="root")
        with pytest.raises(UserError, match="last enabled admin"):
            change_user(s, bot.config, "root", role="viewer", actor="root")
        # Other changes of the last admin, and changes of others, are fine.
        change_user(s, bot.config, "root", role="admin", language="zh-Hans", actor="root")
        set_disabled(s, "lena", True, actor="root")
        # With a second enabled admin, either may step down, but not both.
        set_disabled(s, "old", False, actor="root")
        change_user(s, bot.config, "root", role="pm", actor="root")
        assert find_user(s, "root").role == "pm"
        with pytest.raises(UserError, match="last enabled admin"):
            set_disabled(s, "old", True, actor="old")
        assert not find_user(s, "old").disabled


def test_sign_out_everywhere_ends_every_session_and_says_who(bot: Bot) -> None:
    with bot.session() as s:
        add_user(s, bot.config, "lena", PASSWORD, role="pm", projects=["ACME"], actor="test")
    for _ in range(2):
        with bot.session() as s:
            sign_in(s, bot.config.web, "lena", PASSWORD, address="10.0.0.1", now=NOW)
    with bot.session() as s:
        assert sign_out_everywhere(s, "Lena", actor="root") == 2
        assert s.scalars(select(WebSession)).all() == []
        event = s.scalars(select(Event).where(Event.kind == "user_signed_out")).one()
        assert event.actor == "root" and event.detail == {"user": "lena", "sessions": 2}
