"""Header bounds before MIME parsing: huge headers and parameter lists are cut, with defects
(fixtures: tests/fixtures/hostile/ORIGIN.md; the F9 mails over 50 KB are rebuilt here)."""

from __future__ import annotations

import pytest

from mailbot.parse import limits, parse_bytes
from mailbot.parse import parser as parser_module
from mailbot.parse.limits import MAX_HEADER_BYTES, MAX_PARAMETERS, bound_headers

pytestmark = pytest.mark.no_database

BASE = (
    b"From: Anna <anna@acme-retail.example>\nTo: team@agency.example\nSubject: test\n"
    b"Message-ID: <c@x>\nDate: Mon, 2 Mar 2026 10:00:00 +0000\nMIME-Version: 1.0\n"
)


@pytest.fixture
def parsed_bytes(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The bytes each parse hands to the MIME parser."""
    seen: list[bytes] = []
    original = parser_module.message_from_bytes

    def spy(data: bytes) -> object:
        seen.append(data)
        return original(data)

    monkeypatch.setattr(parser_module, "message_from_bytes", spy)
    return seen


def _fields(data: bytes) -> list[bytes]:
    return [data[start:end] for start, end in limits._fields(data)[0]]


def _assert_bounded(data: bytes) -> None:
    fields = _fields(data)
    assert len(fields) <= limits.MAX_HEADER_FIELDS
    assert sum(map(len, fields)) <= limits.MAX_HEADER_BLOCK
    for field in fields:
        assert len(field) <= MAX_HEADER_BYTES
        assert field.count(b";") <= MAX_PARAMETERS or len(field) <= 1024


def _without(header: bytes) -> bytes:
    return b"".join(line for line in BASE.splitlines(keepends=True) if not line.startswith(header))


@pytest.mark.parametrize(
    ("word", "count", "text"),
    [
        (b"=?gb2312?q?=C4=E3?=", 100_000, "你"),  # F9-subject-100k-encoded-words.eml, 2 MB
        (b"=?utf-8?b?5L2g?=", 250_000, "你"),  # F9-mutant-subject-250k-encoded-words.eml
        (b"=?utf-8?q?x?=", 300_000, "x"),
    ],
)
def test_huge_subject_of_encoded_words_is_cut(
    word: bytes, count: int, text: str, parsed_bytes: list[bytes]
) -> None:
    data = _without(b"Subject") + b"Subject: " + (word + b" ") * count + b"\n\nbody\n"
    message = parse_bytes(data)
    assert set(message.subject) == {text}
    assert abs(len(message.subject) - MAX_HEADER_BYTES // (len(word) + 1)) <= 1
    size = (len(b"Subject: ") + (len(word) + 1) * count + 1) // 1024
    assert f"Subject header cut from {size} KB to 32 KB" in message.defects
    assert message.new_text == "body"
    _assert_bounded(parsed_bytes[0])


@pytest.mark.parametrize("count", [50_000, 83_333])
def test_rfc2231_parameters_are_cut(count: int, parsed_bytes: list[bytes]) -> None:
    # F9-content-type-50k-rfc2231-params.eml (828 KB) and its 83k mutant (1.4 MB), rebuilt.
    params = b"; ".join(b"p%d*%d*=x" % (i, i) for i in range(count))
    message = parse_bytes(b"Content-Type: text/plain; " + params + b"\n" + BASE + b"\nhello\n")
    assert message.new_text == "hello"
    assert f"Content-Type header cut to 100 parameters (of {count})" in message.defects
    _assert_bounded(parsed_bytes[0])


def test_parameters_of_a_mime_part_are_cut(parsed_bytes: list[bytes]) -> None:
    names = b"; ".join(b"filename*%d*=x" % i for i in range(50_000))
    data = (
        BASE + b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\n"
        b"hi\n--b\nContent-Type: application/pdf\nContent-Disposition: attachment;\n " + names
        + b"\n\nJVBERg==\n--b--\n"
    )  # fmt: skip
    message = parse_bytes(data)
    assert message.text == "hi"
    assert [a.content_type for a in message.attachments] == ["application/pdf"]
    assert message.attachments[0].filename == "x" * MAX_PARAMETERS
    assert (
        "Content-Disposition header of a MIME part cut to 100 parameters (of 50000)"
        in message.defects
    )
    part_field = parsed_bytes[0].split(b"Content-Disposition:")[1].split(b"\n\n")[0]
    assert part_field.count(b";") == MAX_PARAMETERS


def test_a_huge_to_header_is_cut_at_an_address_boundary(parsed_bytes: list[bytes]) -> None:
    addresses = b", ".join(b'"Client %d" <c%d@acme-retail.example>' % (i, i) for i in range(50_000))
    message = parse_bytes(_without(b"To") + b"To: " + addresses + b"\n\nhi\n")
    assert 800 < len(message.to) < 1000
    assert message.to[0].email == "c0@acme-retail.example"
    assert message.to[-1].email == f"c{len(message.to) - 1}@acme-retail.example"
    assert f"To header cut from {(len(addresses) + 5) // 1024} KB to 32 KB" in message.defects
    _assert_bounded(parsed_bytes[0])


def test_100k_encoded_words_in_a_display_name(parsed_bytes: list[bytes]) -> None:
    name = b"=?utf-8?b?5L2g?= " * 100_000
    message = parse_bytes(
        _without(b"From") + b"From: " + name + b"<anna@acme-retail.example>\n\nhi\n"
    )
    assert message.from_ is not None and set(message.from_.name) <= {"你"}
    assert any(defect.startswith("From header cut from 1660 KB") for defect in message.defects)
    _assert_bounded(parsed_bytes[0])


def test_padding_is_folded_before_anything_is_cut() -> None:
    # F9-from-50k-spaces.eml: the address after 50,000 spaces survives.
    data = (
        _without(b"From") + b"From: a" + b"\t " * 40_000 + b"b <anna@acme-retail.example>\n\nhi\n"
    )
    message = parse_bytes(data)
    assert message.from_ is not None
    assert (message.from_.name, message.from_.email) == ("a b", "anna@acme-retail.example")
    assert "From header of 78 KB: runs of spaces folded" in message.defects


def test_many_fields_are_dropped_after_the_limit(parsed_bytes: list[bytes]) -> None:
    received = b"Received: from a by b; Mon, 2 Mar 2026 10:00:00 +0000\n" * 100_000
    message = parse_bytes(BASE + received + b"\nhi\n")
    assert message.subject == "test" and message.new_text == "hi"
    assert f"{100_006 - 1000} header fields after the first 1000 dropped" in message.defects
    _assert_bounded(parsed_bytes[0])


def test_an_oversized_block_cuts_the_longest_fields_only() -> None:
    long_field = b"X-Long: " + b"y " * 15_000 + b"\n"  # 30 KB each, 8 of them
    data = b"X-First: 1\n" + long_field * 8 + BASE + b"\nhi\n"
    defects: list[str] = []
    bounded = bound_headers(data, defects)
    fields = _fields(bounded)
    assert sum(map(len, fields)) <= limits.MAX_HEADER_BLOCK
    assert fields[0] == b"X-First: 1\n" and fields[-6:] == _fields(BASE)  # small fields whole
    assert all(8000 < len(field) <= 8200 for field in fields[1:9])
    [defect] = defects
    assert defect.startswith("8 header fields cut to 81")
    assert defect.endswith(" bytes: the headers were over 64 KB")
    assert parse_bytes(data).subject == "test"


def test_cuts_keep_line_endings_and_the_body() -> None:
    data = b"Subject: " + b"word " * 20_000 + b"\r\nFrom: a@b.example\r\n\r\nbody\r\n"
    defects: list[str] = []
    bounded = bound_headers(data, defects)
    subject, sender = _fields(bounded)
    assert subject.endswith(b"word\r\n") and len(subject) <= MAX_HEADER_BYTES
    assert sender == b"From: a@b.example\r\n"
    assert bounded.endswith(b"\r\n\r\nbody\r\n")


def test_a_field_with_a_huge_name_is_dropped() -> None:
    defects: list[str] = []
    bounded = bound_headers(b"X" * 5000 + b": 1\n" + BASE + b"\nhi\n", defects)
    assert bounded == BASE + b"\nhi\n"
    assert defects == ["header field with a name over 1 KB dropped"]


@pytest.mark.parametrize(
    "data",
    [
        BASE + b"\nhello\n",
        BASE + b"Content-Type: text/plain; charset=utf-8; format=flowed\n\nx\n",
        b"From: a@b.example\nSubject: no blank line after the headers\nbody text " + b"z" * 90_000,
        BASE + b"\nContent-Type: text/plain; charset=utf-8\n" + b"long line " * 10_000,
        BASE + b"References: " + b"<id@example.com> " * 1500 + b"\n\nx\n",  # 25 KB: kept
    ],
)
def test_ordinary_mail_is_not_touched(data: bytes) -> None:
    defects: list[str] = []
    assert bound_headers(data, defects) is data
    assert defects == []
