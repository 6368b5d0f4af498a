"""A batch is worked without a savepoint per message first; when a message fails, the batch
is rolled back and worked again with savepoints, the failing message left out: it is
recorded as failed after one try, like any other failure, and the rest commit."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

import mailbot.pipeline.machine
import mailbot.storage.store
from mailbot.storage.models import Event, MessageState, StoredMessage
from tests.support.pipeline import MaildirBot


def by_subject(bot: MaildirBot) -> dict[str, tuple[str, int]]:
    with bot.session() as s:
        return {row.subject: (row.state, row.attempts) for row in s.scalars(select(StoredMessage))}


def test_a_mail_that_fails_once_is_tried_once_and_recorded_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tries: Counter[str] = Counter()
    real = mailbot.pipeline.machine.file_one

    def file_one(session: Any, config: Any, row: Any, *args: Any) -> str:
        tries[row.subject] += 1
        if row.subject == "Issue: flaky" and tries[row.subject] == 1:
            raise RuntimeError("a hiccup on the first try only")
        return real(session, config, row, *args)

    monkeypatch.setattr(mailbot.pipeline.machine, "file_one", file_one)
    with MaildirBot(tmp_path, max_attempts=3, retry_delay=3600.0) as bot:
        for subject in ("Issue: first", "Issue: flaky", "Issue: last"):
            bot.deliver("anna@acme.example", subject, "It fails.")
        bot.run()
        states = by_subject(bot)
        # Not given a second try within its batch: it waits for its retry like any failure.
        assert tries["Issue: flaky"] == 1
        assert states["Issue: flaky"] == (MessageState.FAILED, 1)
        assert states["Issue: first"][0] == states["Issue: last"][0] == MessageState.ANSWERED
        # The mail before it was worked again with a savepoint, the one after once; each
        # was filed once.
        assert (tries["Issue: first"], tries["Issue: last"]) == (2, 1)
        assert len(bot.events("filed")) == 2
        assert len(bot.outbox("ack")) == 2


def test_a_failure_found_only_when_the_batch_is_written_is_isolated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad value shows when the batch is flushed, not in any message's work: the batch
    worked with savepoints finds the one message it belongs to."""
    real = mailbot.storage.store.message_fields

    def message_fields(message: Any) -> dict[str, Any]:
        fields = real(message)
        if message.subject == "Issue: bad":
            fields["sent_at"] = datetime(2026, 1, 1)  # no zone: refused as it is written
        return fields

    monkeypatch.setattr(mailbot.pipeline.machine, "message_fields", message_fields)
    with MaildirBot(tmp_path, max_attempts=3, retry_delay=3600.0) as bot:
        savepoints: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if statement.startswith("SAVEPOINT"):
                savepoints.append(statement)

        event.listen(bot.db.engine, "before_cursor_execute", count)
        for subject in ("Issue: one", "Issue: bad", "Issue: two"):
            bot.deliver("anna@acme.example", subject, "It fails.")
        bot.run()
        with bot.session() as s:  # a mail that did not parse has no subject recorded
            states = s.scalars(select(StoredMessage.state).order_by(StoredMessage.id)).all()
        assert states == [MessageState.ANSWERED, MessageState.FAILED, MessageState.ANSWERED]
        assert savepoints  # the batch was worked again message by message
        with bot.session() as s:
            failed = s.scalars(select(Event.detail).where(Event.kind == "failed")).all()
        assert [d["stage"] for d in failed] == ["parse"]


def test_a_batch_without_failures_takes_no_savepoint(tmp_path: Path) -> None:
    with MaildirBot(tmp_path) as bot:
        statements: list[str] = []
        event.listen(
            bot.db.engine,
            "before_cursor_execute",
            lambda _c, _k, statement, *_a: statements.append(statement),
        )
        for n in range(5):
            bot.deliver("anna@acme.example", f"Issue: page {n} broken", "It fails.")
        bot.run()
        assert len(bot.outbox("ack")) == 5
        # Taking the first item number of a project is the one savepoint left.
        assert sum(s.startswith("SAVEPOINT") for s in statements) <= 1, statements
