"""`run --once` works each batch while the next is taken in (`IntakeRun`, a thread beside)."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from mailbot.daemon import watch_mailbox
from mailbot.errors import SourceError
from mailbot.message import RawMail
from mailbot.pipeline.machine import Pipeline
from mailbot.storage.models import MessageState, StoredMessage
from tests.support.pipeline import ACME, MaildirBot
from tests.support.waiting import wait_for

BATCH = 5


def _bot(folder: Path, mails: int) -> MaildirBot:
    bot = MaildirBot(folder, projects=(ACME,))
    box = dataclasses.replace(bot.config.mailboxes[0], batch_size=BATCH)
    bot.config = dataclasses.replace(bot.config, mailboxes=(box,))
    for n in range(mails):
        bot.deliver(f"client{n % 3}@acme.example", f"Issue: page {n} broken", f"Error {n}.")
    return bot


def _answered(bot: MaildirBot) -> int:
    return _count(bot, StoredMessage.state == MessageState.ANSWERED)


def _count(bot: MaildirBot, *where: Any) -> int:
    """The stored messages (`where` they hold)."""
    with bot.session() as s:
        return s.scalar(select(func.count()).select_from(StoredMessage).where(*where))


def _fetching(
    pipeline: Pipeline, before_batch: int, then: Callable[[], None]
) -> Callable[..., Any]:
    """The pipeline's sources, each calling `then` before it hands over batch `before_batch`."""
    real = pipeline.source_factory

    def factory(box: Any, stop: Any) -> Any:
        source = real(box, stop)
        fetch = source.fetch

        def fetching(after: int, size: int) -> Iterator[list[RawMail]]:
            for n, batch in enumerate(fetch(after, size)):
                if n == before_batch:
                    then()
                yield batch

        source.fetch = fetching
        return source

    return factory


def test_the_first_batch_is_answered_while_the_last_is_still_on_the_server(
    tmp_path: Path,
) -> None:
    waited: list[bool] = []
    with _bot(tmp_path, 3 * BATCH) as bot:
        pipeline = bot.pipeline()
        # Run one after the other, intake then stages, this would wait in vain.
        pipeline.source_factory = _fetching(
            pipeline, 2, lambda: waited.append(wait_for(lambda: _answered(bot) >= BATCH, 60))
        )
        stats = pipeline.run_once()
        assert waited == [True]
        assert stats.stored == 3 * BATCH and stats.fetched == 3 * BATCH
        assert _answered(bot) == 3 * BATCH
        files = bot.outbox_files("ack")
        assert len(files) == 3 * BATCH  # each answered once
        assert len({f.read_bytes() for f in files}) == 3 * BATCH


def test_an_intake_that_fails_half_way_is_raised_after_the_rest_is_worked(
    tmp_path: Path,
) -> None:
    def cut() -> None:
        raise SourceError("the connection was cut", "it is tried again at the next run")

    with _bot(tmp_path, 3 * BATCH) as bot:
        pipeline = bot.pipeline()
        pipeline.source_factory = _fetching(pipeline, 1, cut)
        with pytest.raises(SourceError, match="cut"):
            pipeline.run_once()
        # What was stored before the cut was worked and answered all the same.
        assert _answered(bot) == BATCH and len(bot.outbox_files("ack")) == BATCH
        pipeline.source_factory = bot.pipeline().source_factory
        pipeline.run_once()  # the next run takes the rest
        assert _answered(bot) == 3 * BATCH and len(bot.outbox_files("ack")) == 3 * BATCH


def test_the_daemons_watcher_wakes_the_work_loop_after_each_batch(tmp_path: Path) -> None:
    """A first start's backlog is worked as it comes in, not once all of it is stored."""
    woken: list[bool] = []
    with _bot(tmp_path, 3 * BATCH) as bot:
        pipeline = bot.pipeline()
        wake = threading.Event()
        pipeline.source_factory = _fetching(pipeline, 2, lambda: woken.append(wake.is_set()))
        box = pipeline.config.mailboxes[0]
        watcher = threading.Thread(target=watch_mailbox, args=(pipeline, box, wake))
        watcher.start()
        try:
            assert wait_for(lambda: _count(bot) == 3 * BATCH, 60)
        finally:
            pipeline.stop_event.set()
            watcher.join(30)
        assert not watcher.is_alive()
    assert woken == [True]  # by the first batch, before the last was fetched
