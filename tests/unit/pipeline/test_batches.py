"""A stage works a batch in one transaction, a savepoint per message: a bad mail is rolled
back alone, and a batch that cannot be saved at all is done again one message at a time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from mailbot.pipeline.file import FileBatch
from mailbot.storage.models import Event, Item, MessageState, StoredMessage
from tests.support.pipeline import MaildirBot


def states(bot: MaildirBot) -> list[str]:
    with bot.session() as s:
        return sorted(s.scalars(select(StoredMessage.state)))


def test_a_batch_that_cannot_be_saved_is_done_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failed: list[str] = []
    real = FileBatch.finish

    def finish(batch: FileBatch, session: Any) -> None:
        # The filing batch cannot be saved, once: its end fails inside the transaction.
        if not failed:
            failed.append("file")
            raise RuntimeError("the database went away")
        real(batch, session)

    monkeypatch.setattr(FileBatch, "finish", finish)
    with MaildirBot(tmp_path) as bot:
        for n in range(3):
            bot.deliver("anna@acme.example", f"Issue: checkout broken {n}", "It fails.")
        bot.run()
        assert failed == ["file"]  # the filing batch did fail
        assert states(bot) == [MessageState.ANSWERED] * 3
        with bot.session() as s:
            assert s.scalar(select(func.count()).select_from(Item)) == 3
            filed = s.scalars(select(Event).where(Event.kind == "filed")).all()
            assert len(filed) == 3  # filed once each: the failed batch left nothing behind
            # Each stage dropped its claim with the work it wrote: nothing is held.
            assert s.scalars(select(StoredMessage.claimed_by).distinct()).all() == [None]
        assert len(bot.outbox("ack")) == 3


def test_a_status_a_person_sets_while_acknowledgements_are_composed_stands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_backend: str
) -> None:
    """An answer batch writes at its end; on SQLite it takes the write lock only then. A PM
    who moves the item meanwhile is not overwritten: the batch is worked again."""
    if database_backend != "sqlite":
        pytest.skip("SQLite's write lock")
    import mailbot.pipeline.answer as answer

    real = answer.send_templated
    moved: list[str] = []

    def send_templated(session: Any, config: Any, **kwargs: Any) -> Any:
        if not moved:  # the PM, in the web workspace, while the first mail is composed
            with bot.session() as s:
                item = s.scalars(select(Item)).one()
                moved.append(item.status)
                item.status = "in_progress"
        return real(session, config, **kwargs)

    monkeypatch.setattr(answer, "send_templated", send_templated)
    with MaildirBot(tmp_path) as bot:
        bot.deliver("anna@acme.example", "Issue: checkout broken", "It fails.")
        bot.run()
        assert moved == ["new"]
        with bot.session() as s:
            assert s.scalars(select(Item.status)).one() == "in_progress"
        assert len(bot.outbox("ack")) == 1
        assert states(bot) == [MessageState.ANSWERED]


def test_a_parsed_batch_is_recorded_whole_in_one_statement(tmp_path: Path) -> None:
    """Every column of the parse is written, as the parser read it, by one statement for the
    batch's messages."""
    from sqlalchemy import event

    from mailbot.parse import parse_bytes
    from mailbot.storage.models import Blob
    from mailbot.storage.store import message_fields

    updates: list[str] = []
    with MaildirBot(tmp_path) as bot:
        event.listen(
            bot.db.engine,
            "before_cursor_execute",
            lambda _c, _cur, statement, *_a: (
                updates.append(statement)
                if statement.startswith("UPDATE messages SET message_id")
                else None
            ),
        )
        bot.deliver("anna@acme.example", "Issue: checkout broken", "It fails.\n\n> old")
        bot.deliver(
            "李娜 <li@acme.example>",
            "发票导出失败",
            "导出发票时报错。",
            extra="Cc: bo@acme.example\r\n",
        )
        bot.run()
        assert len(updates) == 1
        with bot.session() as s:
            for row in s.scalars(select(StoredMessage)):
                data = s.scalar(select(Blob.data).where(Blob.sha256 == row.sha256))
                for key, value in message_fields(parse_bytes(bytes(data))).items():
                    assert getattr(row, key) == value, key
