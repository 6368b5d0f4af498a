"""The composed reply: threading headers, loop protection, stable ids, no header injection."""

from __future__ import annotations

import base64
import email
from dataclasses import replace
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage

import pytest

from mailbot.message import Address, Message
from mailbot.outgoing.compose import (
    MAIL_POLICY,
    MAX_REFERENCES,
    Composed,
    ComposeError,
    clean_header_text,
    compose_reply,
    reply_subject,
    stable_message_id,
)
from mailbot.outgoing.templates import Rendered
from mailbot.parse.parser import parse_bytes

pytestmark = pytest.mark.no_database

TEAM = Address("ACME Project Team", "team@agency.example")
WHEN = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
RENDERED = Rendered(
    "zh-Hans",
    "王芳，您好！\n\n已登记为 ACME-42。\n",
    "<p>王芳，您好！</p><p>ACME-42</p>\n",
    ("ack/issue.zh-Hans.txt.j2", "ack/issue.zh-Hans.html.j2"),
)


def client_mail(
    subject: str = "Export times out", name: str = "Maria Keller", **extra: str
) -> Message:
    """A client's mail as the parser sees it."""
    encoded_subject = "=?utf-8?b?" + base64.b64encode(subject.encode()).decode() + "?="
    encoded_name = "=?utf-8?b?" + base64.b64encode(name.encode()).decode() + "?="
    headers = {
        "From": f"{encoded_name} <maria@client.example>",
        "To": "ACME Project Team <team@agency.example>",
        "Subject": encoded_subject,
        "Date": "Fri, 27 Nov 2026 09:12:00 +0100",
        "Message-ID": "<CAB+x7q9@mail.client.example>",
        **extra,
    }
    raw = "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\nHello team,\r\n"
    return parse_bytes(raw.encode())


def compose(original: Message | None = None, **overrides: object) -> Composed:
    original = original or client_mail()
    assert original.from_ is not None
    args: dict[str, object] = {
        "ref": "ACME-42",
        "from_addr": TEAM,
        "to": original.from_,
        "domain": "agency.example",
        "dedupe_key": "ack:17",
        "reply_to": TEAM,
        "date": WHEN,
    }
    args.update(overrides)
    return compose_reply(original, RENDERED, **args)  # type: ignore[arg-type]


def parsed(composed: Composed) -> EmailMessage:
    msg = email.message_from_bytes(composed.raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_reply_threads_under_the_client_mail() -> None:
    original = client_mail(
        **{
            "References": "<root@client.example> <mid@agency.example>",
            "In-Reply-To": "<mid@agency.example>",
        }
    )
    msg = parsed(compose(original))
    assert msg["In-Reply-To"] == "<CAB+x7q9@mail.client.example>"
    assert msg["References"].split() == [
        "<root@client.example>",
        "<mid@agency.example>",
        "<CAB+x7q9@mail.client.example>",
    ]
    assert msg["Subject"] == "Re: Export times out [ACME-42]"
    assert msg["To"] == "Maria Keller <maria@client.example>"
    assert msg["From"] == "ACME Project Team <team@agency.example>"
    assert msg["Reply-To"] == "ACME Project Team <team@agency.example>"


def test_auto_reply_headers_stop_mail_loops() -> None:
    msg = parsed(compose())
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert msg["Precedence"] is None
    assert msg["Date"] == "Fri, 27 Nov 2026 09:30:00 +0000"


def test_message_id_is_stable_per_dedupe_key() -> None:
    first, again = compose(), compose(date=datetime(2026, 11, 28, tzinfo=UTC))
    other = compose(dedupe_key="ack:18")
    assert first.message_id == again.message_id == stable_message_id("ack:17", "agency.example")
    assert first.message_id != other.message_id
    assert first.message_id.endswith("@agency.example")
    assert parsed(first)["Message-ID"] == f"<{first.message_id}>"
    assert first.dedupe_key == "ack:17"


def test_body_is_utf8_multipart_alternative_text_first() -> None:
    msg = parsed(compose())
    assert msg.get_content_type() == "multipart/alternative"
    text, html = msg.iter_parts()
    assert text.get_content_type() == "text/plain" and text.get_content_charset() == "utf-8"
    # Base64 text is encoded in canonical form (RFC 2045): CRLF line ends.
    assert text.get_content().replace("\r\n", "\n") == RENDERED.text
    assert html.get_content_type() == "text/html"
    assert html.get_content().replace("\r\n", "\n") == RENDERED.html
    assert msg["Content-Language"] == "zh-Hans"


def test_raw_is_7bit_with_crlf_line_ends() -> None:
    raw = compose(client_mail("导出 Excel 超时", "王芳")).raw
    raw.decode("ascii")  # no 8-bit bytes: no server needs 8BITMIME or SMTPUTF8
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))


def test_text_only_when_there_is_no_html() -> None:
    original = client_mail()
    assert original.from_ is not None
    composed = compose_reply(
        original,
        replace(RENDERED, html=None),
        ref="ACME-42",
        from_addr=TEAM,
        to=original.from_,
        domain="agency.example",
        dedupe_key="ack:1",
    )
    msg = parsed(composed)
    assert msg.get_content_type() == "text/plain"
    assert msg["Reply-To"] is None
    assert composed.mail_from == "team@agency.example"
    assert composed.rcpt_to == ("maria@client.example",)


def test_envelope_sender_can_differ_from_the_header() -> None:
    composed = compose(envelope_from="bounces@agency.example")
    assert composed.mail_from == "bounces@agency.example"
    assert parsed(composed)["From"].addresses[0].addr_spec == "team@agency.example"


def test_names_are_encoded_per_rfc2047() -> None:
    original = client_mail(name="王芳")
    composed = compose(original, from_addr=Address("ACME 项目组", "team@agency.example"))
    assert b"=?utf-8?" in composed.raw
    msg = parsed(composed)
    assert msg["To"] == "王芳 <maria@client.example>"
    assert msg["From"] == "ACME 项目组 <team@agency.example>"


# --- subject rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("Export times out", "Re: Export times out [ACME-42]"),
        ("Re: RE: Export times out", "Re: Export times out [ACME-42]"),
        ("Re: Export times out [ACME-42]", "Re: Export times out [ACME-42]"),
        ("Fwd: Export [acme-42] times out", "Re: Export [acme-42] times out"),
        ("回复：导出 Excel 超时", "Re: 导出 Excel 超时 [ACME-42]"),
        ("回覆：匯出 Excel 逾時", "Re: 匯出 Excel 逾時 [ACME-42]"),
        ("答复: 转发：网站打不开", "Re: 网站打不开 [ACME-42]"),
        ("", "Re: [ACME-42]"),
    ],
)
def test_reply_subject(original: str, expected: str) -> None:
    assert reply_subject(original, "ACME-42") == expected


def test_chinese_subject_round_trips_through_the_headers() -> None:
    msg = parsed(compose(client_mail("回复：导出 Excel 超时")))
    assert msg["Subject"] == "Re: 导出 Excel 超时 [ACME-42]"


def test_very_long_subjects_are_shortened() -> None:
    subject = reply_subject("x" * 5000, "ACME-42")
    assert len(subject) < 230 and subject.endswith("… [ACME-42]")


# --- header injection -------------------------------------------------------------------

EVIL = "Hello\r\nBcc: evil@x.com"


def header_names(raw: bytes) -> list[str]:
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    return [line.split(":", 1)[0].lower() for line in head.split("\r\n") if line[:1].strip()]


def test_crlf_in_subject_and_names_never_adds_a_header() -> None:
    original = client_mail(subject=EVIL, name=EVIL)
    composed = compose(original, from_addr=Address(EVIL, "team@agency.example"))
    names = header_names(composed.raw)
    assert "bcc" not in names
    assert len(names) == len(set(names)), "a header appears twice"
    msg = parsed(composed)
    assert msg["Bcc"] is None
    assert msg["Subject"] == "Re: Hello Bcc: evil@x.com [ACME-42]"
    assert msg["To"].addresses[0].display_name == "Hello Bcc: evil@x.com"
    assert composed.rcpt_to == ("maria@client.example",)


def test_crlf_straight_from_a_message_object_is_also_folded() -> None:
    # Not everything comes through the parser: build the Message by hand.
    original = replace(
        client_mail(),
        subject=EVIL,
        subject_normalized=EVIL,
        from_=Address("Eve\nTo: x@y.example\r\n", "eve@client.example"),
    )
    assert original.from_ is not None
    composed = compose(original, to=original.from_)
    assert set(header_names(composed.raw)).isdisjoint({"bcc", "cc"})
    assert header_names(composed.raw).count("to") == 1
    assert parsed(composed)["Subject"] == "Re: Hello Bcc: evil@x.com [ACME-42]"


@pytest.mark.parametrize(
    "value", ["a\rb", "a\nb", "a\x00b", "a\x0bb", "a\u2028b", "a\u202eb", "a\x85b", "a \t\t b"]
)
def test_control_characters_become_one_space(value: str) -> None:
    assert clean_header_text(value) == "a b"


def test_hostile_ids_are_not_echoed() -> None:
    original = replace(
        client_mail(),
        message_id="x>\r\nBcc: evil@x.com",
        references=("ok@client.example", "bad id with spaces", "<also@ok>"),
    )
    msg = parsed(compose(original))
    assert msg["In-Reply-To"] is None
    assert msg["References"].split() == ["<ok@client.example>", "<also@ok>"]
    assert "bcc" not in header_names(compose(original).raw)


def test_synthetic_message_ids_are_not_referenced() -> None:
    original = replace(
        client_mail(), message_id="synthetic-123@mailbot", message_id_synthetic=True, references=()
    )
    msg = parsed(compose(original))
    assert msg["In-Reply-To"] is None and msg["References"] is None


def test_long_reference_chains_keep_root_and_newest() -> None:
    refs = tuple(f"m{i}@client.example" for i in range(60))
    msg = parsed(compose(replace(client_mail(), references=refs)))
    ids = msg["References"].split()
    assert len(ids) == MAX_REFERENCES
    assert ids[0] == "<m0@client.example>"
    assert ids[-2:] == ["<m59@client.example>", "<CAB+x7q9@mail.client.example>"]


@pytest.mark.parametrize("bad", ["maria@client.example\r\nBcc: x@y", "no-at-sign", "a b@c.d", ""])
def test_unusable_client_addresses_are_refused(bad: str) -> None:
    with pytest.raises(ComposeError):
        compose(to=Address("Maria", bad))


@pytest.mark.parametrize(
    ("field", "value"), [("ref", "ACME 42\r\nX: y"), ("domain", "a b.example")]
)
def test_internal_values_are_checked(field: str, value: str) -> None:
    with pytest.raises(ValueError):
        compose(**{field: value})


@pytest.mark.parametrize(
    "name", ["", "Maria Keller", "王芳", "O'Brien, Pat", "Dr. Who", "x=?utf-8?q?y?=", '"Q" (x)']
)
@pytest.mark.parametrize(
    "subject", ["Export times out", "导出超时", "a: b (c) <d>; e, f", "x" * 90, "=?utf-8?q?x?= y"]
)
def test_headers_written_as_given_are_the_bytes_the_stdlib_writes(
    name: str, subject: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import re

    import mailbot.outgoing.compose as compose

    def composed() -> bytes:
        mail = compose_reply(
            client_mail(subject, name),
            RENDERED,
            ref="ACME-42",
            from_addr=TEAM,
            to=Address(name, "maria@client.example"),
            reply_to=Address(name, "pm@agency.example"),
            domain="agency.example",
            dedupe_key="ack:1",
            date=WHEN,
        )
        return re.sub(rb"=+\d+==", b"BOUNDARY", mail.raw)

    fast = composed()

    def through_the_stdlib(msg: EmailMessage, name: str, value: object) -> None:
        msg[name] = value

    monkeypatch.setattr(compose, "_set", through_the_stdlib)
    assert fast == composed()
    # and the whole mail as the stdlib's generator writes an EmailMessage with them
    monkeypatch.setattr(compose, "_Lines", lambda: EmailMessage(policy=MAIL_POLICY))
    assert fast == composed()


@pytest.mark.parametrize(
    "name", ["王芳", "O'Brien, Pat", "x=?utf-8?q?y?=", "Ms " + "長い名前" * 20, '"Q" (x)']
)
def test_an_address_line_written_again_is_the_stdlib_line(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Address lines are folded once and then written as folded: the same bytes each time."""
    import re

    import mailbot.outgoing.compose as compose

    def composed(key: str) -> bytes:
        mail = compose_reply(
            client_mail("导出超时", name),
            RENDERED,
            ref="ACME-42",
            from_addr=Address(name, "team@agency.example"),
            to=Address(name, "maria@client.example"),
            domain="agency.example",
            dedupe_key=key,
            date=WHEN,
        )
        return re.sub(rb"=+\d+==", b"BOUNDARY", mail.raw)

    compose._folded_addresses.cache_clear()
    first, again = composed("ack:1"), composed("ack:1")
    assert compose._folded_addresses.cache_info().hits >= 2  # From and To, the second time
    monkeypatch.setattr(compose, "_set", lambda msg, name, value: msg.__setitem__(name, value))
    assert first == again == composed("ack:1")
    read = email.message_from_bytes(first, policy=policy.default)
    for header in ("From", "To"):  # a long name comes back with a space at each fold
        assert read[header].addresses[0].display_name.replace(" ", "") == name.replace(" ", "")
