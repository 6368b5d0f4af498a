"""Auto-reply, bounce and bulk signals from headers and part types."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.message import Address
from mailbot.parse import parse_bytes
from mailbot.parse.signals import detect

pytestmark = pytest.mark.no_database

CORPUS = Path(__file__).parents[2] / "fixtures" / "corpus"
PERSON = Address("Anna", "anna@example.org")


def test_plain_mail_has_no_signals() -> None:
    signals = detect({"subject": "hello"}, PERSON, ["text/plain"])
    assert not signals.noise and signals.reasons == ()


@pytest.mark.parametrize("value", ["auto-replied", "auto-generated", "auto-notified; x=1"])
def test_auto_submitted(value: str) -> None:
    signals = detect({"auto-submitted": value}, PERSON, ["text/plain"])
    assert signals.auto_reply and f"header Auto-Submitted: {value}" in signals.reasons


def test_auto_submitted_no_is_a_person() -> None:
    assert not detect({"auto-submitted": "no"}, PERSON, ["text/plain"]).auto_reply


def test_auto_response_suppress_alone_is_only_a_note() -> None:
    signals = detect({"x-auto-response-suppress": "All"}, PERSON, ["text/plain"])
    assert not signals.noise
    assert signals.reasons == ("note: header X-Auto-Response-Suppress: All",)


@pytest.mark.parametrize("name", ["x-autoreply", "x-autorespond"])
def test_autoreply_headers(name: str) -> None:
    assert detect({name: "yes"}, PERSON, ["text/plain"]).auto_reply


def test_null_return_path_is_a_bounce_unless_auto_reply() -> None:
    assert detect({"return-path": "<>"}, PERSON, ["text/plain"]).bounce
    signals = detect({"return-path": "<>", "auto-submitted": "auto-replied"}, PERSON, [])
    assert signals.auto_reply and not signals.bounce


@pytest.mark.parametrize(
    "sender",
    [Address("", "mailer-daemon@example.com"), Address("Mail Delivery Subsystem", "x@y.z")],
)
def test_bounce_senders(sender: Address) -> None:
    assert detect({}, sender, ["text/plain"]).bounce


def test_report_types() -> None:
    assert detect({}, PERSON, ["multipart/report", "message/delivery-status"]).bounce
    receipt = detect({}, PERSON, ["multipart/report", "message/disposition-notification"])
    assert receipt.auto_reply and not receipt.bounce


@pytest.mark.parametrize(
    "headers",
    [{"precedence": "bulk"}, {"precedence": "List"}, {"list-id": "<x.example>"},
     {"list-unsubscribe": "<mailto:u@x>"}],
)  # fmt: skip
def test_bulk(headers: dict[str, str]) -> None:
    assert detect(headers, PERSON, ["text/plain"]).bulk


@pytest.mark.parametrize(
    ("name", "auto_reply", "bounce", "bulk"),
    [
        ("sisimai-set-of-emails/maildir/bsd/rfc3834-01.eml", True, False, False),
        ("sisimai-set-of-emails/maildir/bsd/rfc3834-02.eml", True, False, False),
        ("sisimai-set-of-emails/maildir/bsd/rfc3834-05.eml", True, False, False),
        ("sisimai-set-of-emails/maildir/bsd/rfc3834-06.eml", True, False, True),
        ("sisimai-set-of-emails/maildir/bsd/lhost-postfix-01.eml", True, True, False),
        ("sisimai-set-of-emails/maildir/bsd/rhost-tencent-01.eml", True, True, False),
        ("webklex-php-imap/example_bounce.eml", True, True, False),
        ("apache-spamassassin/nice/cjk/gb2312.2", False, False, True),
        ("demisto-parse-emails/chinese_gb2312_encoding.eml", False, False, False),
    ],
)
# Delivery reports carry Auto-Submitted too, so they are auto-replies and bounces at once.
def test_fixture_signals(name: str, auto_reply: bool, bounce: bool, bulk: bool) -> None:
    signals = parse_bytes((CORPUS / name).read_bytes()).signals
    assert (signals.auto_reply, signals.bounce, signals.bulk) == (auto_reply, bounce, bulk)
    assert signals.reasons or not signals.noise
