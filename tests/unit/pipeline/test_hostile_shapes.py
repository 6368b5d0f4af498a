"""Every hostile shape of ../shared/corpus/hostile, at random sizes: read in under a second,
stored once, and never answered to anyone but a listed client.

The shapes are those that once stalled or misled mailbot (whitespace and punctuation runs,
nested HTML lists and comments, encoded-word and parameter floods, huge ids, control and
bidi characters, forged Reply-To); Hypothesis picks their sizes and mixes.
"""

from __future__ import annotations

import resource
import time
from email.header import Header
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from mailbot.config_types import ProjectConfig
from mailbot.parse import parse_bytes
from mailbot.storage.models import OutboxMail, StoredMessage
from tests.support.pipeline import MaildirBot
from tests.support.timing import cpu_seconds

ACME = ProjectConfig(key="ACME", name="ACME", client_domains=("acme-retail.example",))
LISTED = "@acme-retail.example"
SECOND = 1.0  # the budget per mail the issue asks for; real times are milliseconds

# Hypothesis favours small numbers; the sizes that once stalled are drawn as often.
SIZES = st.one_of(st.integers(min_value=0, max_value=100_000), st.sampled_from([40_000, 100_000]))


@st.composite
def bodies(draw: st.DrawFn) -> tuple[str, bytes]:
    """A body of one hostile shape, as (content type, bytes)."""
    n = draw(SIZES)
    shape = draw(
        st.sampled_from(
            [
                "spaces",
                "ideographic",
                "quotes",
                "punctuation",
                "attribution",
                "nested_lists",
                "comments",
                "style",
            ]
        )
    )
    text = {
        "spaces": " " * n + "x",
        "ideographic": "\u3000" * (n // 3) + "x",
        "quotes": "> " * (n // 2) + "x",
        "punctuation": ">" * n,
        "attribution": "2013/7/20 @@@@@@@@@@ x\n" * (n // 24),
        "nested_lists": "<ul><li>" * (n // 8) + "x",
        "comments": "<!--" * (n // 4),
        "style": "<style>" * (n // 7),
    }[shape]
    html = shape in ("nested_lists", "comments", "style")
    return ("text/html" if html else "text/plain"), text.encode()


@st.composite
def hostile_mails(draw: st.DrawFn) -> bytes:
    """A whole mail: a hostile body, and hostile headers picked at random."""
    kind, body = draw(bodies())
    words = draw(st.one_of(st.integers(min_value=0, max_value=20_000), st.just(20_000)))
    subject = Header("x" * 40, "utf-8").encode() * (words // 40) if words else "Login broken"
    params = draw(st.one_of(st.integers(min_value=0, max_value=20_000), st.just(20_000)))
    content_type = f"{kind}; charset=utf-8" + "".join(f"; p{i}=v" for i in range(params))
    name = draw(
        st.sampled_from(
            ["Anna", "Eve\u202egnp.exe\x1b[31m\x07", "WIN A PRIZE http://evil.example", " " * 5000]
        )
    )
    sender = draw(st.sampled_from(["anna" + LISTED, "x@stranger.example"]))
    reply_to = draw(st.sampled_from(["", "victim@third-party.example", "mailer-daemon" + LISTED]))
    msgid = draw(st.sampled_from(["<m@acme-retail.example>", "<" + "A" * 50_000 + "@x>"]))
    head = (
        f"From: {name} <{sender}>\r\nTo: team@agency.example\r\nSubject: {subject}\r\n"
        f"Message-ID: {msgid}\r\n"
        + (f"Reply-To: {reply_to}\r\n" if reply_to else "")
        + f"MIME-Version: 1.0\r\nContent-Type: {content_type}\r\n\r\n"
    )
    return head.encode() + body


@pytest.mark.no_database
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_mails())
def test_every_hostile_shape_is_read_in_under_a_second(data: bytes) -> None:
    messages = []
    elapsed = cpu_seconds(lambda: messages.append(parse_bytes(data)))
    assert elapsed < SECOND, f"{elapsed:.2f} CPU s for a mail of {len(data)} bytes"
    assert isinstance(messages[0].new_text, str)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(hostile_mails(), min_size=1, max_size=4))
def test_hostile_mail_is_stored_once_and_never_answered_to_a_stranger(
    tmp_path_factory: object, mails: list[bytes]
) -> None:
    folder = Path(tmp_path_factory.mktemp("shapes"))  # type: ignore[attr-defined]
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with MaildirBot(
        folder,
        projects=(ACME,),
        message_ids="h{n}@acme-retail.example",
    ) as bot:
        for data in mails:
            bot.deliver_bytes(data)
        started = time.perf_counter()
        bot.run()
        bot.run()  # a second pass stores nothing again
        elapsed = time.perf_counter() - started
        with bot.db.session() as s:
            assert s.scalar(select(func.count()).select_from(StoredMessage)) == len(set(mails))
            for recipients in s.scalars(select(OutboxMail.rcpt_to)):
                # Answers go to a listed client (the sender), never a Reply-To elsewhere.
                assert all(r.endswith(LISTED) for r in recipients), recipients
                assert not any(
                    "third-party" in r or r.startswith("mailer-daemon") for r in recipients
                ), recipients
    assert elapsed < SECOND * 2 * len(mails) + 5  # two passes, and the pipeline's start
    growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert growth_mb < 300, f"peak memory grew by {growth_mb:.0f} MB"
