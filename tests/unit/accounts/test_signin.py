"""Sign-in behind the `Authenticator` interface; sessions; throttling per address."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.accounts.signin import (
    MAX_FAILED_PER_ADDRESS,
    SignInError,
    TooManyAttempts,
    resume,
    sign_in,
    sign_out,
)
from mailbot.accounts.users import add_user
from mailbot.config_types import WebConfig
from mailbot.storage.models import User, WebSession
from tests.support.queue_bot import Bot

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
WEB = WebConfig()


class TrustEveryone:
    """Another way of proving who one is (a stand-in for single sign-on)."""

    def authenticate(self, session: Session, name: str, secret: str) -> User | None:
        return session.scalars(select(User).where(User.name == name)).first() if secret else None


def test_any_authenticator_opens_the_same_sessions(bot: Bot) -> None:
    with bot.session() as session:
        add_user(session, bot.config, "lena", "a long password", role="pm", actor="t")
        signed = sign_in(
            session,
            WEB,
            "lena",
            "token",
            address="10.0.0.1",
            now=NOW,
            authenticator=TrustEveryone(),
        )
        row = session.scalars(select(WebSession)).one()
        assert row.id != signed.token and len(row.id) == 64  # only the digest is stored
        visit = resume(session, WEB, signed.token, NOW + timedelta(minutes=5))
        assert visit is not None and visit.person.name == "lena" and visit.csrf == signed.csrf
        assert resume(session, WEB, signed.token + "x", NOW) is None
        assert sign_out(session, signed.token) == 1
        assert resume(session, WEB, signed.token, NOW) is None


def test_one_address_trying_many_names_is_slowed_down(bot: Bot) -> None:
    for n in range(MAX_FAILED_PER_ADDRESS):
        with bot.session() as session, pytest.raises(SignInError):
            sign_in(session, WEB, f"guess{n}", "x", address="203.0.113.9", now=NOW)
    with bot.session() as session, pytest.raises(TooManyAttempts):
        sign_in(session, WEB, "another", "x", address="203.0.113.9", now=NOW)
    with bot.session() as session, pytest.raises(SignInError) as other:
        sign_in(session, WEB, "another", "x", address="198.51.100.1", now=NOW)
    assert not isinstance(other.value, TooManyAttempts)
