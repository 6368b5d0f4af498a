"""`run --once` with a backlog delivers the first acknowledgements while the later mails are
still worked: only what an answer batch committed, each mail once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from mailbot.daemon import Schedules, work_once
from mailbot.outgoing.outbox import SendStats
from mailbot.pipeline.machine import STAGE_BATCH, Pipeline
from mailbot.pipeline.stages import ANSWER
from mailbot.storage.models import MessageState, OutboxMail, StoredMessage
from tests.support.pipeline import ACME, MaildirBot
from tests.support.waiting import wait_for


def test_acknowledgements_go_out_while_later_mails_are_worked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    total = STAGE_BATCH + 20  # two answer batches
    seen: list[tuple[int, int]] = []  # (answered, queued) at each delivery on the thread
    delivered = threading.Event()
    real = Pipeline._batch

    def batch(self: Pipeline, stage: Any, ids: Any, stats: Any, chain: Any = None) -> None:
        real(self, stage, ids, stats, chain)
        if stage is ANSWER and not delivered.is_set():
            # The first answer batch has committed: its mail goes out before the next.
            assert wait_for(delivered.is_set, 60)

    monkeypatch.setattr(Pipeline, "_batch", batch)
    with MaildirBot(tmp_path, projects=(ACME,)) as bot:

        def deliver() -> SendStats:
            if threading.current_thread() is not threading.main_thread():
                with bot.session() as s:
                    answered = s.scalar(
                        select(func.count())
                        .select_from(StoredMessage)
                        .where(StoredMessage.state == MessageState.ANSWERED)
                    )
                    queued = s.scalar(select(func.count()).select_from(OutboxMail))
                seen.append((answered or 0, queued or 0))
            stats = bot.send()
            if seen:
                delivered.set()
            return stats

        bot.delivery = deliver
        for n in range(total):
            bot.deliver(f"client{n % 7}@acme.example", f"Issue: page {n} broken", f"Error {n}.")
        bot.run()
        # The thread delivered the first batch's mail while the others were not answered.
        assert seen and seen[0] == (STAGE_BATCH, STAGE_BATCH)
        files = bot.outbox_files("ack")
        assert len(files) == total  # every mail answered once, nothing twice
        assert len({f.read_bytes() for f in files}) == total


def test_what_is_left_of_a_backlog_goes_out_over_both_deliveries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the stages are done, `run --once` sends what is left while the delivery
    meanwhile still runs (two connections drain the outbox), each mail once."""
    running = threading.Event()
    real = Pipeline._delivering_meanwhile

    @contextmanager
    def watched(self: Pipeline) -> Iterator[None]:
        with real(self):
            running.set()
            try:
                yield
            finally:
                running.clear()

    monkeypatch.setattr(Pipeline, "_delivering_meanwhile", watched)
    beside: list[bool] = []  # at each delivery of the run itself: was the other one running?
    with MaildirBot(tmp_path, projects=(ACME,)) as bot:

        def deliver() -> SendStats:
            if threading.current_thread() is threading.main_thread():
                beside.append(running.is_set())
            return bot.send()

        bot.delivery = deliver
        total = STAGE_BATCH + 20
        for n in range(total):
            bot.deliver(f"client{n % 7}@acme.example", f"Issue: page {n} broken", f"Error {n}.")
        bot.run()
        assert beside[0] is True  # the run's own first delivery: beside the other one
        assert beside[-1] is False  # its last: after the other stopped, for what it left
        files = bot.outbox_files("ack")
        assert len(files) == total
        assert len({f.read_bytes() for f in files}) == total


@pytest.mark.parametrize(("mails", "meanwhile"), [(5, 0), (STAGE_BATCH + 5, 1)])
def test_the_daemons_work_loop_delivers_meanwhile_on_a_backlog_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mails: int, meanwhile: int
) -> None:
    entered: list[int] = []
    real = Pipeline._delivering_meanwhile

    def counting(self: Pipeline) -> Any:
        entered.append(1)
        return real(self)

    monkeypatch.setattr(Pipeline, "_delivering_meanwhile", counting)
    with MaildirBot(tmp_path, projects=(ACME,)) as bot:
        for n in range(mails):
            bot.deliver(f"client{n % 7}@acme.example", f"Issue: page {n} broken", f"Error {n}.")
        pipeline = bot.pipeline()
        (box,) = bot.config.mailboxes
        with pipeline.source_factory(box, pipeline.stop_event) as source:
            pipeline.intake(source, box, set())  # what a mailbox watcher does
        work_once(pipeline, Schedules(pipeline))  # one turn of the daemon's work loop
        # A few mails are answered, then sent by the turn itself, with no helper started.
        assert len(entered) == meanwhile
        if not meanwhile:
            assert len(bot.outbox_files("ack")) == mails
        while work_once(pipeline, Schedules(pipeline)) == 0.0:  # the turns that follow
            pass
        assert len(bot.outbox_files("ack")) == mails
