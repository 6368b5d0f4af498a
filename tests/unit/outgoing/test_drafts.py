"""Replies written from drafts: the same bytes in writer processes as here, in order, and
what a writer cannot write comes back for the stages to write."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

import pytest

from mailbot.message import Address
from mailbot.outgoing.compose import Composed
from mailbot.outgoing.drafts import CHUNK, DraftWriters, Original, ReplyDraft, write_reply

pytestmark = pytest.mark.no_database

WHEN = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)


def draft(n: int, *, ref: str | None = None) -> ReplyDraft:
    chinese = n % 2 == 1
    values = {
        "pm_name": "Pat",
        "pm_named": True,
        "team_signature": "Agency team",
        "project": {"name": "Client portal", "key": "CLIENT"},
        "ref": ref or f"CLIENT-{n}",
        "subject": f"登录失败 {n}" if chinese else f"The checkout fails {n}",
        "status": "new",
        "client_name": "王芳" if chinese else "Maria Keller",
        "first_response": "within 4 working hours",
        "response_due": None,
        "office": None,
        "urgent": n % 3 == 0,
        "escalation_contact": None,
    }
    return ReplyDraft(
        templates=(None, None),
        kind="ack",
        category="issue",
        language="zh-Hans" if chinese else "en",
        default_language="en",
        values=values,
        original=Original(
            message_id=f"m{n}@client.example",
            message_id_synthetic=False,
            references=(),
            subject=values["subject"],
            subject_normalized=values["subject"],
        ),
        ref=values["ref"],
        from_addr=Address("Agency team", "team@agency.example"),
        to=Address(values["client_name"], f"client{n}@client.example"),
        domain="agency.example",
        dedupe_key=f"ack:{n}",
        envelope_from=None,
        date=WHEN,
    )


def without_boundary(composed: Composed) -> bytes:
    """The mail's bytes with its MIME boundary (random in every mail) taken out."""
    return re.sub(rb"={15}\d+==", b"BOUNDARY", composed.raw)


@pytest.fixture
def writers():
    found = DraftWriters()
    yield found
    found.close()


def test_the_writers_write_the_mails_written_here_in_their_order(writers: DraftWriters) -> None:
    drafts = [draft(n) for n in range(2 * CHUNK * 2 + 5)]  # more chunks than writers, a rest
    indexes = [writers.add(d) for d in drafts]
    written = writers.take()
    assert indexes == list(range(len(drafts)))
    assert len(written) == len(drafts)
    for made, wanted in zip(written, drafts, strict=True):
        assert isinstance(made, Composed)
        here = write_reply(wanted)
        assert made.dedupe_key == here.dedupe_key and made.message_id == here.message_id
        assert made.subject == here.subject and made.rcpt_to == here.rcpt_to
        assert without_boundary(made) == without_boundary(here)
    assert not writers.broken
    # The next batch starts again at 0.
    assert writers.add(draft(99)) == 0
    assert [c.dedupe_key for c in writers.take() if c] == ["ack:99"]


def test_a_draft_a_writer_cannot_write_comes_back_for_the_stages(writers: DraftWriters) -> None:
    bad = draft(3, ref="not a ref!")
    with pytest.raises(ValueError):
        write_reply(bad)  # here, its error
    for d in [draft(1), bad, draft(2)]:
        writers.add(d)
    written = writers.take()
    assert [c.dedupe_key if c else None for c in written] == ["ack:1", None, "ack:2"]
    assert not writers.broken  # one bad draft is no broken writer


def test_writers_that_died_leave_the_rest_to_the_stages(
    writers: DraftWriters, caplog: pytest.LogCaptureFixture
) -> None:
    for writer in writers._writers:
        writer.process.kill()
        writer.process.wait()
    with caplog.at_level(logging.WARNING, logger="mailbot.outgoing"):
        for n in range(CHUNK + 1):
            writers.add(draft(n))
        written = writers.take()
    assert written == [None] * (CHUNK + 1)
    assert writers.broken
    assert "writing them here" in caplog.text
