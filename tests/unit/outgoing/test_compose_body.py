"""A composed body is byte for byte what the stdlib's set_content and add_alternative make."""

from __future__ import annotations

import re
from email.message import EmailMessage

import pytest

from mailbot.outgoing import compose
from mailbot.outgoing.compose import MAIL_POLICY

pytestmark = pytest.mark.no_database

TEXTS = [
    "Hello Maria,\n\nRegistered as ACME-42.\n",
    "王芳，您好！\n\n已登记为 ACME-42。\n",
    "Grüße aus Zürich,\r\nÄnderung ACME-7 ist erfasst.\r\n",
    "one line, no end",
    "",
    "old\rline\rends\r",
    "x" * 200 + "\n" + "a long ASCII line goes quoted-printable\n",
    "mostly ASCII with one é\n" * 30,
    "--===============0000000000000000000==\n",
]
HTMLS = [None, "<p>王芳，您好！</p><p>ACME-42</p>\n", "<p>Hello</p>", "<p>" + "é" * 300 + "</p>\n"]


def through_the_stdlib(text: str, html: str | None) -> bytes:
    msg = EmailMessage(policy=MAIL_POLICY)
    msg["Subject"] = "Re: x [ACME-42]"
    msg.set_content(text, subtype="plain", charset="utf-8")
    if html is not None:
        msg.add_alternative(html, subtype="html", charset="utf-8")
        for part in msg.iter_parts():
            del part["MIME-Version"]
    msg["Content-Language"] = "en"
    return msg.as_bytes(policy=MAIL_POLICY)


def written_directly(text: str, html: str | None) -> bytes:
    msg = compose._Lines()
    msg["Subject"] = "Re: x [ACME-42]"
    compose._set_body(msg, text, html)
    msg["Content-Language"] = "en"
    return msg.as_bytes()


def same_boundary(raw: bytes) -> bytes:
    return re.sub(rb"={15}\d{19}==(\.\d+)?", b"BOUNDARY", raw)


@pytest.mark.parametrize("html", HTMLS)
@pytest.mark.parametrize("text", TEXTS)
def test_body_bytes_are_the_stdlib_bytes(text: str, html: str | None) -> None:
    assert same_boundary(written_directly(text, html)) == same_boundary(
        through_the_stdlib(text, html)
    )


def test_a_boundary_a_part_contains_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compose.random, "randrange", lambda _n: 7)
    taken = f"{'=' * 15}{7:019d}=="
    raw = written_directly(f"--{taken}\n", "<p>x</p>")  # the text, 7bit, holds the line
    assert f'boundary="{taken}.0"'.encode() in raw
    assert raw.count(f"--{taken}.0\r\n".encode()) == 2  # before each part
    assert raw.endswith(f"--{taken}.0--\r\n".encode())


def stdlib_choice(text: str) -> tuple[str, str]:
    from email import contentmanager

    return contentmanager._encode_text(text, "utf-8", None, MAIL_POLICY)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "text",
    [
        "王芳，您好！\n\n已登记为 ACME-42。\n" * 5,
        "Hi 王芳,\n\nACME-42 is registered; we answer within one working day.\n",
        "Grüße aus Zürich\n" + "plain ASCII line\n" * 20,
        "é" * 10 + "\n" + "a" * 300 + "\n",
        "ascii only\n",
        "\u0085 next-line character, \x0b and \x0c\n",
        "尾\n" + "\n" * 12 + "x",
    ],
)
def test_the_encoding_chosen_is_the_stdlibs(text: str) -> None:
    assert compose._encoded(text) == stdlib_choice(text)


def test_the_encoding_chosen_is_the_stdlibs_for_any_text() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    ascii_chars = list("abc XYZ.,=\t\r\n-")
    alphabet = st.sampled_from(ascii_chars + list("éüß—“”王芳您好。！") + ["\x85", "😀"])

    @settings(max_examples=400, deadline=None)
    @given(st.lists(st.text(alphabet, max_size=120), max_size=14).map("\n".join))
    def check(text: str) -> None:
        assert compose._encoded(text) == stdlib_choice(text)

    check()
