"""What parse, classify and file advance goes on to the next stage still claimed: a batch is
claimed once for classify, file and answer, and what the next stage does not take is given
back, due at once; what the intake parsed is classified by the process that parsed it."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from mailbot.pipeline.machine import Pipeline
from mailbot.pipeline.stages import FILE
from mailbot.storage import work
from mailbot.storage.models import MessageState, StoredMessage
from tests.support.pipeline import ACME, MaildirBot, utc_now


def _claims_by_state(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many messages `work.claim` took, by the state they waited in."""
    taken: Counter[str] = Counter()
    claim = work.claim

    def counting(session: Any, model: Any, ready: Any, **kw: Any) -> list[int]:
        ids = claim(session, model, ready, **kw)
        if model is StoredMessage and ids:
            for state in session.scalars(
                select(StoredMessage.state).where(StoredMessage.id.in_(ids))
            ):
                taken[state] += 1
        return ids

    monkeypatch.setattr(work, "claim", counting)
    return taken


def _left(bot: MaildirBot) -> list[tuple[str, str | None, bool]]:
    """Each message's state, claim, and whether it is due now."""
    now = utc_now()
    with bot.session() as session:
        rows = session.scalars(select(StoredMessage).order_by(StoredMessage.id)).all()
        return [(r.state, r.claimed_by, r.next_attempt_at <= now) for r in rows]


def test_a_batch_is_claimed_for_classify_and_then_filed_and_answered_without_a_claim(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = _claims_by_state(monkeypatch)
    with MaildirBot(tmp_path, projects=(ACME,)) as bot:
        for n in range(30):
            bot.deliver(f"client{n}@acme.example", f"Issue: page {n} broken", f"Error {n}.")
        assert len(bot.run()) == 30
        assert _left(bot) == [(MessageState.ANSWERED, None, True)] * 30
    # Claimed once (classify's, with the state the claim found them in), never again.
    assert taken[MessageState.PARSED] == 30
    assert taken[MessageState.CLASSIFIED] == taken[MessageState.FILED] == 0


def test_a_stop_after_classify_gives_the_batch_back_due_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = Pipeline._record_classified

    def recording_then_stop(self: Pipeline, *args: Any, **kw: Any) -> None:
        record(self, *args, **kw)
        self.stop_event.set()  # as SIGTERM would, between classify and file

    monkeypatch.setattr(Pipeline, "_record_classified", recording_then_stop)
    with MaildirBot(tmp_path, projects=(ACME,)) as bot:
        for n in range(5):
            bot.deliver("anna@acme.example", f"Issue: page {n} broken", f"Error {n}.")
        bot.run()
        assert _left(bot) == [(MessageState.CLASSIFIED, None, True)] * 5
        monkeypatch.setattr(Pipeline, "_record_classified", record)
        assert len(bot.run()) == 5  # the next run files and answers them
        assert _left(bot) == [(MessageState.ANSWERED, None, True)] * 5


def test_a_database_error_after_filing_gives_the_filed_batch_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logged = Pipeline._log_advanced

    def failing_after_filing(self: Pipeline, row: Any, stage: Any, note: str) -> None:
        if stage is FILE:  # the batch has committed, its claims kept for answering
            raise OperationalError("SELECT 1", None, Exception("disk I/O error"))
        logged(self, row, stage, note)

    monkeypatch.setattr(Pipeline, "_log_advanced", failing_after_filing)
    with MaildirBot(tmp_path, projects=(ACME,)) as bot:
        for n in range(5):
            bot.deliver("anna@acme.example", f"Issue: page {n} broken", f"Error {n}.")
        with pytest.raises(OperationalError):
            bot.run()
        assert _left(bot) == [(MessageState.FILED, None, True)] * 5
        monkeypatch.setattr(Pipeline, "_log_advanced", logged)
        assert len(bot.run()) == 5
        assert len(bot.items()) == 5  # filed once


def _intake(bot: MaildirBot, pipeline: Pipeline) -> None:
    box = bot.config.mailboxes[0]
    with pipeline.source_factory(box, pipeline.stop_event) as source:
        pipeline.intake(source, box)


def _rereads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many stored mails the stages read and parsed again (not found in the cache)."""
    counted: list[int] = []
    read = Pipeline._read_batch

    def counting(self: Pipeline, ids: Any) -> Any:
        counted.extend(ids)
        return read(self, ids)

    monkeypatch.setattr(Pipeline, "_read_batch", counting)
    return counted


def test_what_the_intake_parsed_is_left_to_the_process_that_parsed_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its parse is in that process's memory: another daemon sharing the database does not
    take the mail (and parse it again to classify it); this one classifies it from memory."""
    rereads = _rereads(monkeypatch)
    with MaildirBot(tmp_path, projects=(ACME,)) as bot:
        for n in range(3):
            bot.deliver(f"client{n}@acme.example", f"Issue: page {n} broken", f"Error {n}.")
        pipeline = bot.pipeline()
        _intake(bot, pipeline)
        me = work.worker_name()
        assert _left(bot) == [(MessageState.PARSED, me, False)] * 3
        with monkeypatch.context() as elsewhere:
            elsewhere.setattr(work, "worker_name", lambda: "elsewhere:1")
            bot.pipeline().advance()  # a second daemon's turn
        assert _left(bot) == [(MessageState.PARSED, me, False)] * 3
        pipeline.advance(then_send=True)
        assert _left(bot) == [(MessageState.ANSWERED, None, True)] * 3
        assert len(bot.new_mail()) == 3
    assert rereads == []


def test_what_the_intake_parsed_is_taken_by_another_once_its_claim_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process that parsed it is gone (on another machine, or its lease ran out): the
    mail is read again from the store and answered once."""
    rereads = _rereads(monkeypatch)
    with MaildirBot(tmp_path, projects=(ACME,)) as bot:
        for n in range(3):
            bot.deliver(f"client{n}@acme.example", f"Issue: page {n} broken", f"Error {n}.")
        _intake(bot, bot.pipeline())
        with bot.session() as session:  # its lease ended
            session.execute(
                update(StoredMessage).values(next_attempt_at=utc_now() - timedelta(seconds=1))
            )
        with monkeypatch.context() as elsewhere:
            elsewhere.setattr(work, "worker_name", lambda: "elsewhere:1")
            bot.pipeline().advance(then_send=True)
        assert _left(bot) == [(MessageState.ANSWERED, None, True)] * 3
        assert len(bot.new_mail()) == 3
        assert len(bot.items()) == 3
    assert len(rereads) == 3
