"""Small pure helpers of the IMAP source: reading IDLE responses and server error texts."""

from __future__ import annotations

import pytest
from imapclient.exceptions import LoginError

from mailbot.config_types import MailboxConfig
from mailbot.errors import ConfigError, SourceError
from mailbot.sources.imap import ImapSource, _bye_text, _describe, _has_new_mail


@pytest.mark.parametrize(
    ("responses", "expected"),
    [
        ([], False),
        ([(b"OK", b"Still here")], False),
        ([(3, b"EXPUNGE")], False),
        ([(0, b"RECENT")], False),
        ([(4, b"EXISTS")], True),
        ([(2, b"FETCH", (b"FLAGS", ())), (1, b"RECENT")], True),
    ],
)
def test_new_mail_is_exists_or_recent(responses: list[object], expected: bool) -> None:
    assert _has_new_mail(responses) is expected


def test_bye_text() -> None:
    assert _bye_text([(b"BYE", b"Server", b"shutting", b"down.")]) == "Server shutting down."
    assert _bye_text([(1, b"EXISTS")]) is None


def test_describe_drops_the_bytes_repr() -> None:
    err = LoginError(str(b"[AUTHENTICATIONFAILED] Authentication failed."))
    assert _describe(err) == "[AUTHENTICATIONFAILED] Authentication failed."
    assert _describe(TimeoutError()) == "TimeoutError"


def test_close_without_a_connection_is_harmless() -> None:
    source = ImapSource(MailboxConfig(name="x", host="imap.example.com"))
    source.close()
    source.close()
    with pytest.raises(SourceError, match="not connected"):
        source.client  # noqa: B018 - still closed, and says so


def test_unknown_security_mode_is_rejected_before_connecting() -> None:
    with pytest.raises(ConfigError, match="starttls"):
        ImapSource(MailboxConfig(name="x", host="imap.example.com", security="ssl"))
