"""Small pure helpers of the IMAP source: reading IDLE responses and server error texts."""

from __future__ import annotations

import pytest
from imapclient.exceptions import LoginError

from mailbot.config_types import MailboxConfig
from mailbot.errors import ConfigError, SourceError
from mailbot.sources.imap import ImapSource, _bye_text, _describe, _has_new_mail

pytestmark = pytest.mark.no_database


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


class _FakeImap:
    def __init__(self, untagged: dict[str, list[bytes]]) -> None:
        self.untagged_responses = untagged


class _FakeClient:
    def __init__(self, untagged: dict[str, list[bytes]]) -> None:
        self._imap = _FakeImap(untagged)
        self.idled = False

    def idle(self) -> None:
        self.idled = True
        raise AssertionError("wait() went into IDLE with news in hand")


@pytest.mark.parametrize(
    ("untagged", "news"),
    [
        ({"EXISTS": [b"7"]}, True),
        ({"RECENT": [b"1"]}, True),
        ({"RECENT": [b"0"], "EXPUNGE": [b"3"]}, False),
        ({}, False),
    ],
)
def test_news_that_came_with_another_answer_is_taken_once(
    untagged: dict[str, list[bytes]], news: bool
) -> None:
    """An EXISTS filed by imaplib with a SEARCH, FETCH or MOVE answer is not lost."""
    source = ImapSource(MailboxConfig(name="x", host="imap.example.com"))
    client = _FakeClient(dict(untagged))
    source._client = client  # type: ignore[assignment]
    assert source._take_announcements() is news
    assert source._take_announcements() is False  # taken, and the lists emptied
    assert not {"EXISTS", "RECENT", "EXPUNGE"} & set(client._imap.untagged_responses)


def test_wait_looks_again_at_once_when_news_came_with_another_answer() -> None:
    source = ImapSource(MailboxConfig(name="x", host="imap.example.com"))
    client = _FakeClient({"EXISTS": [b"7"]})
    source._client = client  # type: ignore[assignment]
    source._capabilities = frozenset({"IDLE"})
    assert source.wait(300) is True
    assert client.idled is False
