"""A backlog's acknowledgements are written by writer processes beside the answer stage:
the same mails as without them, and a reply they cannot write is answered as it would be."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import mailbot.app
import mailbot.outgoing.send as send
import mailbot.pipeline.answer as answer
from mailbot.pipeline.machine import STAGE_BATCH
from mailbot.storage.models import Event, MessageState, StoredMessage
from tests.support.pipeline import ACME, MaildirBot

BACKLOG = STAGE_BATCH + 20  # a full batch, and a rest


def drain(folder: Path, **overrides: Any) -> MaildirBot:
    bot = MaildirBot(folder, **overrides)
    for n in range(BACKLOG):
        zh = n % 2 == 1
        subject = f"Issue: 登录失败 {n}" if zh else f"Issue: checkout broken {n}"
        bot.deliver(f"client{n}@acme.example", subject, "我们无法登录。" if zh else "It fails.")
    bot.run()
    return bot


def mails(bot: MaildirBot) -> dict[str, bytes]:
    """Each acknowledgement's bytes by its subject, without what differs from run to run:
    its Date, its Message-ID (made from the client mail's bytes, which have a Date too)
    and its MIME boundary."""
    found = {}
    for row in bot.outbox("ack"):
        raw = re.sub(rb"\r\n(Date|Message-ID): [^\r]*", b"", row.raw)
        found[row.subject] = re.sub(rb"={15}\d+==", b"BOUNDARY", raw)
    return found


def answered_here(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The replies written in the stages' own process (not by the writers)."""
    here: list[str] = []
    real = answer.write_reply

    def write_reply(draft: Any) -> Any:
        here.append(draft.dedupe_key)
        return real(draft)

    monkeypatch.setattr(answer, "write_reply", write_reply)  # what the writers gave back
    monkeypatch.setattr(send, "write_reply", write_reply)  # a reply queued at once
    return here


def test_the_writers_write_a_backlogs_acknowledgements_as_the_stage_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = answered_here(monkeypatch)
    with drain(tmp_path / "writers") as bot:
        with_writers = mails(bot)
    assert len(with_writers) == BACKLOG
    assert here == []  # every one written by the writers
    monkeypatch.setattr(mailbot.app, "WRITERS", 0)
    with drain(tmp_path / "here") as bot:
        without = mails(bot)
    assert with_writers == without


def test_a_reply_the_writers_cannot_write_is_answered_as_without_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One client's acknowledgement cannot be rendered (its project's template breaks on
    its subject): the item stays filed, the PM learns why, and the batch's others go out."""
    templates = tmp_path / "templates" / "ack"
    templates.mkdir(parents=True)
    (templates / "issue.en.txt.j2").write_text(
        "Hello,\n{% if '7' in subject %}{{ no_such_value }}{% endif %}logged as {{ ref }}.\n"
    )
    acme = dataclasses.replace(ACME, templates_dir=tmp_path / "templates")
    here = answered_here(monkeypatch)
    with drain(tmp_path / "bot", projects=(acme,)) as bot:
        with bot.session() as s:
            failed = s.scalars(select(Event).where(Event.kind == "ack_failed")).all()
            states = set(s.scalars(select(StoredMessage.state)))
        sent = mails(bot)
    # English subjects with a 7 in the first batch's numbers: 7, 17, …, 97 (and 70–79).
    broken = {n for n in range(BACKLOG) if n % 2 == 0 and "7" in str(n)}
    assert len(failed) == len(broken)
    assert all("no_such_value" in event.detail["error"] for event in failed)
    assert states == {MessageState.ANSWERED}
    assert len(sent) == BACKLOG - len(broken)
    # The batch with them was answered again in the stage's own process, mail by mail;
    # the next batch's replies were written by the writers again.
    assert STAGE_BATCH <= len(here) < BACKLOG
