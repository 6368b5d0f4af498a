"""parse_bytes: fields, fallbacks, defects, and inputs built to break it."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from mailbot.errors import ParseError
from mailbot.parse import parse_bytes
from mailbot.parse import parser as parser_module

pytestmark = pytest.mark.no_database

CORPUS = Path(__file__).parents[2] / "fixtures" / "corpus"

SIMPLE = (
    b"Return-Path: <anna@example.org>\r\n"
    b"From: =?UTF-8?B?5byg5Lyf?= <Zhang.Wei@Example.COM>\r\n"
    b'To: Support <support@example.com>, "Li, Na" <lina@example.cn>\r\n'
    b"Cc: boss@example.com\r\n"
    b"Reply-To: <reply@example.com>\r\n"
    b"Subject: =?UTF-8?B?5Zue5aSNOiBSZTog?= =?UTF-8?B?55m75b2V5aSx6LSl?=\r\n"
    b"Date: Fri, 20 Nov 2026 10:15:00 +0800\r\n"
    b"Message-ID: <abc.123@mail.example.com>\r\n"
    b"In-Reply-To: <prev@mail.example.com>\r\n"
    b"References: <root@mail.example.com>\r\n <prev@mail.example.com>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Still failing.\r\n\r\n"
    b"On Thu, Nov 19, 2026 at 9:00 AM Support <support@example.com> wrote:\r\n"
    b"> Please retry.\r\n"
)


def test_fields_of_a_simple_reply() -> None:
    message = parse_bytes(SIMPLE)
    assert message.message_id == "abc.123@mail.example.com"
    assert not message.message_id_synthetic
    assert message.in_reply_to == "prev@mail.example.com"
    assert message.references == ("root@mail.example.com", "prev@mail.example.com")
    assert message.from_ is not None
    assert (message.from_.name, message.from_.email) == ("张伟", "zhang.wei@example.com")
    assert [a.email for a in message.to] == ["support@example.com", "lina@example.cn"]
    assert message.to[1].name == "Li, Na"
    assert [a.email for a in message.cc] == ["boss@example.com"]
    assert [a.email for a in message.reply_to] == ["reply@example.com"]
    assert message.subject == "回复: Re: 登录失败"
    assert message.subject_normalized == "登录失败"
    assert message.date == datetime(2026, 11, 20, 2, 15, tzinfo=UTC)
    assert message.date.utcoffset() == timedelta(hours=8)
    assert message.body_source == "text/plain"
    assert message.new_text == "Still failing."
    assert message.header("subject") == "回复: Re: 登录失败"
    assert ("message-id", "<abc.123@mail.example.com>") in message.headers
    assert message.raw_sha256 == hashlib.sha256(SIMPLE).hexdigest()
    assert message.defects == ()
    assert not message.signals.noise


def test_missing_message_id_and_date() -> None:
    data = b"From: a@example.com\nSubject: hi\n\nbody\n"
    received = datetime(2026, 11, 20, 12, 0, tzinfo=timezone(timedelta(hours=1)))
    first = parse_bytes(data, received_at=received)
    second = parse_bytes(data)
    assert first.message_id_synthetic
    assert first.message_id == second.message_id  # stable for the same bytes
    assert first.message_id.startswith("synthetic.") and first.message_id.endswith(
        "@mailbot.invalid"
    )
    assert first.date == received
    assert second.date.tzinfo is not None
    assert "no Date header" in first.defects


def test_unreadable_date_falls_back_and_is_recorded() -> None:
    data = b"From: a@example.com\nDate: someday soon\n\nbody\n"
    received = datetime(2026, 1, 1, tzinfo=UTC)
    message = parse_bytes(data, received_at=received)
    assert message.date == received
    assert any("Date header" in d for d in message.defects)


def test_mail_parser_reads_only_the_dates_the_stdlib_cannot(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[bytes] = []
    original = parser_module.mailparser.parse_from_bytes

    def spy(data: bytes) -> object:
        calls.append(data)
        return original(data)

    monkeypatch.setattr(parser_module.mailparser, "parse_from_bytes", spy)
    plain = parse_bytes(b"From: a@example.com\nDate: Fri, 20 Nov 2026 10:15:00 +0800\n\nx\n")
    assert plain.date == datetime(2026, 11, 20, 2, 15, tzinfo=UTC)
    assert calls == []  # its full pass over the mail is not made for a date the stdlib reads
    # A comment before the date and a leap second: the stdlib gives up, mail-parser reads them.
    for value, expected in (
        ("(sent) Fri, 20 Nov 2026 10:15:00 +0800", datetime(2026, 11, 20, 2, 15, tzinfo=UTC)),
        ("Fri, 20 Nov 2026 23:59:60 +0000", datetime(2026, 11, 21, tzinfo=UTC)),
    ):
        data = f"From: a@example.com\nDate: {value}\n\nx\n".encode()
        message = parse_bytes(data, received_at=datetime(2026, 1, 1, tzinfo=UTC))
        assert message.date == expected
        assert f"non-standard Date header {value!r}" in message.defects
        assert calls[-1] == data


def test_naive_received_at_becomes_utc() -> None:
    message = parse_bytes(b"From: a@example.com\n\nx\n", received_at=datetime(2026, 1, 1))
    assert message.date.tzinfo is not None


def test_html_only_body_is_readable_text() -> None:
    data = (
        b"From: a@example.com\nContent-Type: text/html; charset=utf-8\n\n"
        b"<html><head><style>p {color: red}</style><script>alert(1)</script></head>"
        b"<body><p>Hello <b>there</b>, see <a href='https://example.com/x'>the report</a>.</p>"
        b"<img src='cid:1'></body></html>"
    )
    message = parse_bytes(data)
    assert message.body_source == "text/html"
    assert "Hello there, see the report." in message.text
    for leftover in ("<", "color", "alert", "https://"):
        assert leftover not in message.text


def test_plain_text_preferred_over_html() -> None:
    data = (
        b"From: a@example.com\nContent-Type: multipart/alternative; boundary=B\n\n"
        b"--B\nContent-Type: text/html\n\n<p>HTML version</p>\n"
        b"--B\nContent-Type: text/plain\n\nPlain version\n--B--\n"
    )
    message = parse_bytes(data)
    assert message.body_source == "text/plain"
    assert message.text.strip() == "Plain version"


def test_the_charsets_the_body_declares_are_kept() -> None:
    data = (
        b"From: a@example.com\nContent-Type: multipart/mixed; boundary=B\n\n"
        b"--B\nContent-Type: multipart/alternative; boundary=C\n\n"
        b"--C\nContent-Type: text/plain; charset=Big5-HKSCS\n\nOK\n"
        b"--C\nContent-Type: text/html; charset=big5-hkscs\n\n<p>OK</p>\n--C--\n"
        b"--B\nContent-Type: text/plain; charset=gb2312\nContent-Disposition: attachment\n\n"
        b"x\n--B--\n"
    )
    assert parse_bytes(data).charsets == ("big5-hkscs",)  # lower-case, once; not an attachment's
    assert parse_bytes(SIMPLE).charsets == ("utf-8",)


def test_attachments_rfc2231_and_encoded_words() -> None:
    data = (
        b"From: a@example.com\nContent-Type: multipart/mixed; boundary=B\n\n"
        b"--B\nContent-Type: text/plain\n\nSee attached.\n"
        b"--B\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n"
        b"Content-Disposition: attachment;\n filename*0*=utf-8''%E6%8A%A5%E4%BB%B7;\n"
        b" filename*1*=%E5%8D%95.pdf\n\nJVBERi0xLjQK\n"
        b'--B\nContent-Type: image/png; name="=?gb2312?B?zbzGrA==?=.png"\n'
        b"Content-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--B--\n"
    )
    message = parse_bytes(data)
    assert [(a.filename, a.content_type, a.size) for a in message.attachments] == [
        ("报价单.pdf", "application/pdf", 9),
        ("图片.png", "image/png", 8),
    ]
    assert message.text.strip() == "See attached."


def test_bad_8bit_attachment_filename() -> None:
    message = parse_bytes(
        (CORPUS / "jhillyerd-enmime/mail/mime-bad-8bit-filename.raw").read_bytes()
    )
    assert message.attachments
    assert all(a.filename for a in message.attachments)


def test_invalid_base64_is_a_defect() -> None:
    path = CORPUS / "jhillyerd-enmime/low-quality/malformed-base64-attach.raw"
    message = parse_bytes(path.read_bytes())
    assert any(d.startswith("invalid base64 in part") for d in message.defects)


@pytest.mark.parametrize(
    ("name", "defect"),
    [
        ("demisto-parse-emails/utf_8_with_bom.eml", "byte order mark"),
        ("demisto-parse-emails/smtp_envelope_headers.eml", "SMTP envelope"),
        ("demisto-parse-emails/test_text_before_headers.eml", "before the headers skipped"),
        ("sisimai-set-of-emails/maildir/mac/lhost-exim-01.eml", "CR-only"),
    ],
)
def test_repaired_inputs(name: str, defect: str) -> None:
    message = parse_bytes((CORPUS / name).read_bytes())
    assert message.from_ is not None
    assert message.subject
    assert any(defect in d for d in message.defects)


def test_utf7_and_misspelled_utf8_charsets() -> None:
    outlook = parse_bytes(
        (CORPUS / "sisimai-set-of-emails/maildir/bsd/rhost-outlook-01.eml").read_bytes()
    )
    assert "Delivery to the following recipients failed" in outlook.text
    x3 = parse_bytes((CORPUS / "sisimai-set-of-emails/maildir/bsd/lhost-x3-01.eml").read_bytes())
    assert "Delivery Status Notification" in x3.text


@pytest.mark.parametrize("data", [b"", b"   \r\n\r\n  ", b"\x00\x01\x02\xff" * 100])
def test_not_an_email(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_bytes(data)


def test_binary_garbage_never_crashes() -> None:
    import random

    rng = random.Random(7)
    refused = []
    for size in (1, 10, 1000, 100_000):
        data = bytes(rng.randrange(256) for _ in range(size))
        try:
            message = parse_bytes(data)
        except ParseError as err:
            assert "not an email" in str(err)  # a plain refusal, not an accident
            refused.append(size)
        else:
            assert "no mail headers" in message.defects
    assert {1000, 100_000} <= set(refused)  # a block of binary is never taken for a mail


def test_header_only() -> None:
    message = parse_bytes(b"From: a@example.com\nSubject: only headers\n")
    assert message.subject == "only headers"
    assert message.body_source == "none" and message.text == "" and message.new_text == ""


def test_body_without_headers_is_kept_with_a_defect() -> None:
    message = parse_bytes(b"just a line of text\nand another\n")
    assert "no mail headers" in message.defects
    assert "just a line of text" in message.text


def test_unterminated_multipart() -> None:
    data = (
        b"From: a@example.com\nContent-Type: multipart/mixed; boundary=XYZ\n\n"
        b"--XYZ\nContent-Type: text/plain\n\nHello, the end boundary never comes\n"
    )
    message = parse_bytes(data)
    assert "Hello, the end boundary never comes" in message.text
    assert "multipart end boundary missing" in message.defects


def test_multipart_without_boundary() -> None:
    message = parse_bytes((CORPUS / "jhillyerd-enmime/mail/multipart-wo-boundary.raw").read_bytes())
    assert "multipart without a boundary" in message.defects
    assert "multipart message without boundary" in message.text


def test_twenty_megabyte_body() -> None:
    line = b"This is a long body line that repeats for a while, " * 2 + b"\n"
    data = b"From: a@example.com\nSubject: big\n\nHello at the top.\n\n" + line * (
        20_000_000 // len(line)
    )
    start = time.perf_counter()
    message = parse_bytes(data)
    assert message.new_text.startswith("Hello at the top.")
    assert time.perf_counter() - start < 20


def test_ten_thousand_parts() -> None:
    parts = b"".join(
        b"--B\nContent-Type: application/octet-stream; name=f%d.bin\n\nxx\n" % i
        for i in range(10_000)
    )
    data = (
        b"From: a@example.com\nContent-Type: multipart/mixed; boundary=B\n\n" + parts + b"--B--\n"
    )
    start = time.perf_counter()
    message = parse_bytes(data)
    assert len(message.attachments) == 10_000
    assert time.perf_counter() - start < 20


def test_deep_nesting() -> None:
    depth = 2000
    head = b"".join(
        b"--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n" % (i, i + 1) for i in range(depth)
    )
    data = b"From: a@example.com\nContent-Type: multipart/mixed; boundary=b0\n\n" + head + b"x\n"
    message = parse_bytes(data)
    assert message.from_ is not None
    assert message.defects


def test_wrong_boundary_is_repaired() -> None:
    data = (
        b'From: a@example.com\nContent-Type: multipart/alternative; boundary="declared"\n\n'
        b"--actual\nContent-Type: text/plain; charset=utf-8\n\nThe real text\n"
        b"--actual\nContent-Type: text/html\n\n<p>The real text</p>\n--actual--\n"
    )
    message = parse_bytes(data)
    assert message.text.strip() == "The real text"
    assert "multipart boundary repaired in part 0" in message.defects


def test_format_flowed_is_unwrapped() -> None:
    data = (
        b"From: a@example.com\nContent-Type: text/plain; charset=utf-8; format=flowed\n\n"
        b"This long sentence was wrapped \nby the client.\n\n-- \nAnna\n"
    )
    message = parse_bytes(data)
    assert message.text.startswith("This long sentence was wrapped by the client.\n")
    assert message.new_text == "This long sentence was wrapped by the client."


def test_mutated_fixtures_never_crash() -> None:
    """A small, seeded fuzz run: random edits to real mails, incl. MIME and encoding tokens."""
    import json
    import random

    from mailbot.cli.cmd_parse import message_dict

    rng = random.Random(20261127)
    seeds = [
        (CORPUS / name).read_bytes()
        for name in (
            "mnako-letters/test_chinese_multipart_mixed_gbk_over_base64.txt",
            "webklex-php-imap/attachment_encoded_filename.eml",
            "sisimai-set-of-emails/maildir/bsd/lhost-postfix-01.eml",
            "apache-spamassassin/nice/cjk/gb2312.1",
        )
    ]
    tokens = [b"\n", b"\r", b"=?", b"?=", b"--", b'"', b"=?utf-8?B?", b"\xff\xfe", b"\x00"]
    tokens += [b"boundary=", b"charset=", b"*0*=utf-8''%E4", b"Content-Type: multipart/mixed;"]
    parsed = 0
    for _ in range(400):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 12)):
            at = rng.randrange(len(data))
            choice = rng.random()
            if choice < 0.4:
                data[at] = rng.randrange(256)
            elif choice < 0.7:
                data[at:at] = rng.choice(tokens)
            else:
                del data[at : at + rng.randint(1, 40)]
        try:
            message = parse_bytes(bytes(data))
        except ParseError:
            continue
        parsed += 1
        encoded = json.dumps(message_dict("fuzz", message), ensure_ascii=False).encode("utf-8")
        assert json.loads(encoded)["raw_sha256"] == hashlib.sha256(data).hexdigest()
    assert parsed > 360, f"only {parsed} of 400 slightly damaged mails were read as mail"


@pytest.mark.parametrize("line", [b"@", b":", b"Am 1.2.2013 schrieb a@b", b"From: a@b"])
def test_new_text_reads_a_bounded_number_of_lines(
    line: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Up to ~12 µs a line: 500,000 lines of "@" took 4 s.
    seen: list[str] = []
    monkeypatch.setattr(parser_module, "new_text", lambda text: seen.append(text) or "")
    message = parse_bytes(b"From: a@b.example\nSubject: s\n\nHello\n" + (line + b"\n") * 200_000)
    [read] = seen
    assert read.count("\n") == parser_module.MAX_QUOTE_LINES - 1
    assert read.startswith("Hello\n")
    assert "new text looked for in the first 20,000 lines only" in message.defects
    assert len(message.text) > 200_000  # the body itself is whole


def test_short_bodies_reach_new_text_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    monkeypatch.setattr(parser_module, "new_text", lambda text: seen.append(text) or "")
    body = "line\n" * (parser_module.MAX_QUOTE_LINES - 1)
    message = parse_bytes(b"From: a@b.example\nSubject: s\n\n" + body.encode())
    assert seen == [body]
    assert not any("new text" in defect for defect in message.defects)


HOSTILE_SHARED = Path("/work/shared/corpus/hostile")


@pytest.mark.parametrize("prefix", ["F1-", "F3-", "F4-", "F6-", "F8-", "F9-"])
def test_shared_hostile_mails_parse(prefix: str) -> None:
    # The stalling mails of the shared collection, as delivered (some are megabytes).
    files = sorted(HOSTILE_SHARED.glob(f"{prefix}*.eml"))
    if not files:
        pytest.skip("shared hostile corpus not available")
    for path in files:
        message = parse_bytes(path.read_bytes())
        assert message.from_ is not None, path.name
        assert "\x00" not in message.subject, path.name
