"""Header decoding: RFC 2047 words, raw 8-bit bytes, ids and addresses."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.message import Address
from mailbot.parse import parse_bytes
from mailbot.parse.addresses import parse_addresses
from mailbot.parse.headers import decode_value, id_list, message_id

pytestmark = pytest.mark.no_database

HOSTILE = Path(__file__).parents[2] / "fixtures" / "hostile"


def _raw(data: bytes) -> str:
    """A header value as the stdlib hands it over: 8-bit bytes as surrogates."""
    return data.decode("ascii", "surrogateescape")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=?UTF-8?B?5L2g5aW9?=", "你好"),
        ("=?gb2312?B?xOO6ww==?=", "你好"),
        ("=?utf-8?q?caf=C3=A9_au_lait?=", "café au lait"),
        ("=?utf-8?B?5L2g?= =?utf-8?B?5aW9?=", "你好"),  # whitespace between words dropped
        ("=?utf-8?q?=E4=BD?= =?utf-8?q?=A0?=", "你"),  # a character split across words
        ("Re: =?utf-8?B?5L2g5aW9?= world", "Re: 你好 world"),
        ("=?utf-8?B?5L2g5aW9?", "=?utf-8?B?5L2g5aW9?"),  # unterminated: left alone
        ("=?utf-8?B?5L2g5aW?=", "你\ufffd"),  # bad padding does not raise
        ("=?x-unknown?Q?abc?=", "abc"),
        ("folded\r\n line", "folded line"),
        ("", ""),
    ],
)
def test_decode_value(value: str, expected: str) -> None:
    assert decode_value(value) == expected


def test_raw_8bit_gb2312_header() -> None:
    defects: list[str] = []
    assert decode_value(_raw("主题：报价".encode("gb2312")), defects) == "主题：报价"
    assert defects == ["raw 8-bit header, detected gb18030"]


def test_ids() -> None:
    assert message_id(" <a.b@c> ") == "a.b@c"
    assert message_id("no-brackets@example.com") == "no-brackets@example.com"
    assert message_id("") is None
    assert id_list("<a@x> <b@x>\r\n\t<a@x>") == ("a@x", "b@x")
    assert id_list("a@x, b@x") == ("a@x", "b@x")


def test_addresses() -> None:
    defects: list[str] = []
    found = parse_addresses(
        ['"=?utf-8?B?5byg5Lyf?=" <ZW@Example.com>, li@example.cn', "Undisclosed recipients:;"],
        defects,
        "to",
    )
    assert found == (Address("张伟", "zw@example.com"), Address("", "li@example.cn"))
    assert defects == []


def test_raw_8bit_display_name() -> None:
    value = _raw(b'"' + "陳大文".encode("big5") + b'" <chan@example.com.hk>')
    assert parse_addresses([value], [], "from") == (Address("陳大文", "chan@example.com.hk"),)


def test_whole_address_in_an_encoded_word() -> None:
    value = "=?unknown-8bit?q?=22test=22_=3Ctest=40test.com=3E?="
    assert parse_addresses([value], [], "from") == (Address("test", "test@test.com"),)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=?utf-8?b?TG9naW4AIGJyb2tlbg==?=", "Login broken"),  # an encoded NUL (F6)
        ("Login\x00 broken", "Login broken"),
        ("a\x01b\x07c\x08d\x0be\x0cf\x1bg\x1fh\x7fi", "abcdefghi"),
        ("=?utf-8?q?tab=09stays?=", "tab\tstays"),
        ("=?utf-8?q?line=0Abreak?=", "line break"),
        ("\u202eright-to-left\u200b", "\u202eright-to-left\u200b"),  # not C0: left to others
    ],
)
def test_control_characters_are_removed_from_header_text(value: str, expected: str) -> None:
    assert decode_value(value) == expected


def test_no_control_character_reaches_a_parsed_field() -> None:
    # F6-pg-nul-subject.eml: PostgreSQL refuses NUL in text; every header-derived field is
    # cleaned the same way.
    data = (
        (HOSTILE / "F6-pg-nul-subject.eml")
        .read_bytes()
        .replace(
            b"From: Anna <anna@acme-retail.example>",
            b'From: "=?utf-8?q?An=00na=1B?=" <anna@acme-retail.example>\n'
            b"Reply-To: <=?utf-8?q?x=00y?=@b.example>",
        )
    )
    message = parse_bytes(data)
    assert message.subject == "Login broken"
    assert message.from_ == Address("Anna", "anna@acme-retail.example")
    assert [a.email for a in message.reply_to] == ["xy@b.example"]
    for name, value in message.headers:
        assert not any(ord(c) < 32 and c != "\t" for c in name + value), name
