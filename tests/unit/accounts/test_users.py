"""Accounts: names, roles, projects, passwords, audit events; the `mailbot user` command."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from mailbot.accounts.passwords import password_matches
from mailbot.accounts.users import (
    UserError,
    add_user,
    change_user,
    find_user,
    list_users,
    set_disabled,
)
from mailbot.storage.models import Event, User, WebSession
from tests.support.queue_bot import Bot

PASSWORD = "correct horse battery"


def test_add_user_hashes_the_password_and_checks_everything(bot: Bot) -> None:
    with bot.session() as session:
        user = add_user(
            session, bot.config, "Lena", PASSWORD, role="pm", projects=["acme"], actor="root"
        )
        assert user.name == "lena"
        assert PASSWORD not in user.password_hash and user.password_hash.startswith("$argon2id$")
        assert password_matches(user.password_hash, PASSWORD)
        assert not password_matches(user.password_hash, PASSWORD + "x")
        assert list_users(session)[0].projects == ("ACME",)
        event = session.scalars(select(Event).where(Event.kind == "user_added")).one()
        assert event.actor == "root" and event.detail["user"] == "lena"
        assert PASSWORD not in str(event.detail)
    bad = [
        ({"name": "x"}, "cannot be a user name"),
        ({"role": "boss"}, "unknown role"),
        ({"projects": ["NOPE"]}, "no project 'NOPE'"),
        ({"password": "short"}, "too short"),
        ({"timezone": "Mars/Base"}, "unknown time zone"),
        ({"name": "lena"}, "exists already"),
    ]
    for change, message in bad:
        args = {"name": "anna", "password": PASSWORD, "role": "pm", "projects": ["ACME"]}
        args.update(change)  # type: ignore[arg-type]
        with bot.session() as session, pytest.raises(UserError, match=message):
            add_user(session, bot.config, actor="root", **args)  # type: ignore[arg-type]


def test_disable_and_change_end_or_keep_sessions(bot: Bot) -> None:
    with bot.session() as session:
        user = add_user(session, bot.config, "lena", PASSWORD, role="pm", actor="root")
        session.flush()
        from datetime import UTC, datetime

        now = datetime.now(UTC)
        session.add(WebSession(id="a" * 64, user_id=user.id, csrf="c", expires_at=now))
        change_user(session, bot.config, "lena", actor="root", projects=["HX", "TRIAGE"])
        assert session.scalars(select(WebSession)).all()  # a change keeps the session
        set_disabled(session, "lena", True, actor="root")
        assert not session.scalars(select(WebSession)).all()
        assert find_user(session, "LENA").disabled
    with bot.session() as session:
        assert list_users(session)[0].projects == ("HX", "TRIAGE")


def test_the_user_command(bot: Bot, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    code, out, err = bot.cli(
        capsys,
        "user",
        "add",
        "anna",
        "--role",
        "pm",
        "--project",
        "ACME",
        "--password-stdin",
        "--actor",
        "ops",
    )
    assert code == 0, err
    assert "added anna (pm)" in out
    code, out, _err = bot.cli(capsys, "user", "list")
    assert "anna" in out and "ACME" in out
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    code, _out, err = bot.cli(capsys, "user", "passwd", "anna", "--password-stdin")
    assert code == 2 and "too short" in err
    code, out, _err = bot.cli(capsys, "user", "disable", "anna")
    assert code == 0
    code, out, _err = bot.cli(capsys, "user", "list", "--json")
    assert '"disabled": true' in out
    with bot.session() as session:
        assert session.scalars(select(User)).one().disabled


def test_no_terminal_and_no_stdin_flag_is_explained(bot: Bot, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, _out, err = bot.cli(capsys, "user", "add", "anna", "--role", "admin")
    assert code == 2 and "--password-stdin" in err


def test_outside_the_tests_passwords_are_hashed_at_argon2s_full_cost() -> None:
    from argon2 import PasswordHasher

    from mailbot.accounts import passwords

    assert passwords.DEFAULT_HASHER.time_cost >= 3
    assert passwords.DEFAULT_HASHER.memory_cost >= 64 * 1024  # KiB
    cheap = passwords.use_hasher(passwords.DEFAULT_HASHER)
    try:
        full = passwords.hash_password("correct horse battery")
    finally:
        passwords.use_hasher(cheap)
    assert full.startswith("$argon2id$") and ",t=3," in full and "m=65536" in full
    # A hash names its own cost: one made at the full cost still checks after a change.
    assert passwords.password_matches(full, "correct horse battery")
    assert not passwords.password_matches(full, "wrong")
    assert isinstance(cheap, PasswordHasher) and cheap.time_cost < 3


def test_an_unknown_name_is_checked_against_a_hash_made_at_the_first_sign_in() -> None:
    import subprocess
    import sys

    from mailbot.accounts import passwords

    # Not at import: every command imports the module; a full-cost hash is ~0.1 s and 64 MiB.
    made = subprocess.run(
        [sys.executable, "-c", "from mailbot.accounts import passwords as p; print(p._DUMMY_HASH)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert made.stdout.strip() == "None"
    assert not passwords.password_matches(None, "anything")  # checked against the dummy
    assert passwords._DUMMY_HASH is not None and passwords._DUMMY_HASH.startswith("$argon2id$")
