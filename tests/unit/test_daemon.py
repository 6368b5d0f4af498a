"""Signals like rq: the first asks to stop, the second exits at once."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import mailbot.daemon
from mailbot.daemon import EXIT_NOW_CODE, StopSignals

if TYPE_CHECKING:
    from mailbot.pipeline.machine import Pipeline


def pipeline_over(tmp_path: Path, deliver: Callable[[], object]) -> Pipeline:
    """The production pipeline over an empty Maildir and SQLite, `deliver` its delivery."""
    from mailbot.config import Config
    from mailbot.config_types import MailboxConfig
    from mailbot.storage.db import open_database
    from tests.support.pipeline import make_pipeline

    config = Config(
        mailboxes=(MailboxConfig(name="m", kind="maildir", path=tmp_path),),
        database_url=f"sqlite:///{tmp_path}/mb.sqlite3",
    )
    return make_pipeline(config, open_database(config.database_url), deliver=deliver)


def test_first_signal_requests_a_stop_second_exits_now(monkeypatch: pytest.MonkeyPatch) -> None:
    exits: list[int] = []
    monkeypatch.setattr(mailbot.daemon.os, "_exit", exits.append)
    stop = threading.Event()
    handler = StopSignals(stop)
    handler._handle(signal.SIGTERM, None)
    assert stop.is_set() and exits == []
    handler._handle(signal.SIGINT, None)
    assert exits == [EXIT_NOW_CODE]


def test_schedules_tick_at_most_once_a_minute_and_send_what_they_made(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from mailbot.daemon import Schedules
    from mailbot.reports.scheduler import ReportScheduler

    calls: list[object] = []
    monkeypatch.setattr(
        ReportScheduler, "run_pending", lambda self, now: calls.append(now) or ["x"]
    )
    sent: list[int] = []
    pipeline = pipeline_over(tmp_path, deliver=lambda: sent.append(1))
    schedules = Schedules(pipeline)
    schedules.tick()
    schedules.tick()  # within the minute: nothing
    assert len(calls) == 1 and sent == [1]
    assert calls[0].tzinfo is not None  # type: ignore[attr-defined]


def test_an_idling_watcher_looks_again_after_idle_recheck(tmp_path: Path) -> None:
    """Mail whose announcement was lost is found at the next look, not 25 minutes later."""
    import dataclasses
    import threading

    from mailbot.config import load_config
    from mailbot.daemon import watch_mailbox

    config_path = tmp_path / "mailbot.toml"
    config_path.write_text(
        f'[mailbox]\nname = "in"\nkind = "maildir"\npath = "{tmp_path / "Maildir"}"\n'
        "idle_recheck = 7\n",
        encoding="utf-8",
    )
    box = load_config(config_path).mailboxes[0]
    assert box.idle_recheck == 7.0
    waited: list[float] = []
    stop = threading.Event()

    class Source:
        def __enter__(self) -> Source:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def wait(self, timeout: float) -> bool:
            waited.append(timeout)
            stop.set()
            return False

    class Pipeline:
        stop_event = stop

        def source_factory(self, box: object, stop_event: object) -> Source:
            return Source()

        def intake(self, source: object, box: object, **_kw: object) -> object:
            return dataclasses.make_dataclass("Stats", [("stored", int), ("fetched", int)])(0, 0)

    watch_mailbox(Pipeline(), box, threading.Event())  # type: ignore[arg-type]
    assert waited == [7.0]


def test_the_work_loop_comes_back_at_once_while_the_outbox_has_more(tmp_path: Path) -> None:
    """A delivery sends a bounded batch; a backlog must not wait WORK_CHECK_INTERVAL per batch."""
    from mailbot.daemon import WORK_CHECK_INTERVAL, Schedules, work_once
    from mailbot.outgoing.outbox import SendStats

    deliveries = iter([SendStats(sent=100), SendStats(sent=50, retried=1), SendStats()])
    pipeline = pipeline_over(tmp_path, deliver=lambda: next(deliveries))
    schedules = Schedules(pipeline)
    assert [work_once(pipeline, schedules) for _ in range(3)] == [0, 0, WORK_CHECK_INTERVAL]


def test_mail_that_waits_for_disk_space_is_tried_again_within_seconds(tmp_path: Path) -> None:
    """A full outbox disk: the mail goes out once there is room, not at the next 30 s check."""
    from mailbot.daemon import SPACE_WAIT, WORK_CHECK_INTERVAL, Schedules, work_once
    from mailbot.outgoing.outbox import SendStats

    deliveries = iter([SendStats(waiting=3), SendStats(sent=3), SendStats()])
    pipeline = pipeline_over(tmp_path, deliver=lambda: next(deliveries))
    schedules = Schedules(pipeline)
    delays = [work_once(pipeline, schedules) for _ in range(3)]
    assert delays == [SPACE_WAIT, 0, WORK_CHECK_INTERVAL]
    assert SPACE_WAIT < WORK_CHECK_INTERVAL / 10


def test_a_turn_the_database_fails_is_said_in_words_and_tried_again_after_a_back_off(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A database restart or a killed session: the next turn comes within seconds, not at
    the next 30 s check, and the log says what happened without a stack trace."""
    import sqlalchemy.exc

    from mailbot.daemon import Schedules, work_once
    from mailbot.outgoing.outbox import SendStats
    from mailbot.storage.db import database_unavailable

    pipeline = pipeline_over(tmp_path, deliver=lambda: SendStats())

    class DriverError(Exception):
        def __init__(self, text: str, sqlstate: str | None = None) -> None:
            super().__init__(text)
            self.sqlstate = sqlstate

    def operational(text: str, sqlstate: str | None = None) -> Exception:
        return sqlalchemy.exc.OperationalError("SELECT 1", {}, DriverError(text, sqlstate))

    killed = operational("terminating connection due to administrator command", "57P01")
    assert database_unavailable(killed)
    assert database_unavailable(operational("deadlock detected", "40P01"))
    assert database_unavailable(operational("database is locked"))  # SQLite: no SQLSTATE
    lost = operational("server closed the connection unexpectedly")
    lost.connection_invalidated = True  # as SQLAlchemy marks a disconnect
    assert database_unavailable(lost)
    # What the database refuses for the data at hand is the data's: not to be retried forever.
    assert not database_unavailable(operational("index row size 3120 exceeds maximum", "54000"))
    assert not database_unavailable(RuntimeError("batch failed"))
    wrapped = RuntimeError("the batch failed")
    wrapped.__cause__ = killed
    assert database_unavailable(wrapped)

    def advance() -> None:
        raise killed

    pipeline.advance = advance  # type: ignore[method-assign]
    schedules = Schedules(pipeline)
    with caplog.at_level("ERROR", logger="mailbot.daemon"):
        assert work_once(pipeline, schedules) is None
    (record,) = [r for r in caplog.records if r.name == "mailbot.daemon"]
    assert "the database is not answering" in record.getMessage(), record.getMessage()
    assert record.exc_info is None  # no stack trace for what is not a bug

    def bug() -> None:
        raise KeyError("a bug")

    pipeline.advance = bug  # type: ignore[method-assign]
    caplog.clear()
    with caplog.at_level("ERROR", logger="mailbot.daemon"):
        assert work_once(pipeline, schedules) is None
    assert caplog.records[0].exc_info is not None  # a bug keeps its stack trace


def test_the_loop_wakes_when_a_retry_falls_due_not_at_its_next_check(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from mailbot.daemon import WORK_CHECK_INTERVAL, WORK_DUE_FLOOR, Schedules, work_once
    from mailbot.outgoing.compose import Composed
    from mailbot.outgoing.outbox import SendStats, enqueue
    from mailbot.storage.models import OutboxMail

    now = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    pipeline = pipeline_over(tmp_path, deliver=lambda: SendStats())
    db = pipeline.db
    pipeline.clock = lambda: now  # type: ignore[method-assign]
    schedules = Schedules(pipeline)
    assert work_once(pipeline, schedules) == WORK_CHECK_INTERVAL  # nothing waits

    with db.session() as session:
        enqueue(
            session,
            Composed(
                message_id="mailbot.r1@agency.example",
                subject="Re: Export fails",
                mail_from="team@agency.example",
                rcpt_to=("anna@acme.example",),
                raw=b"Subject: r1\r\n\r\nbody\r\n",
                dedupe_key="r1",
            ),
            kind="ack",
            message_pk=None,
        )

    def retry_in(seconds: float) -> None:
        with db.session() as session:
            session.execute(
                update(OutboxMail).values(next_attempt_at=now + timedelta(seconds=seconds))
            )

    retry_in(7)  # the server said 451: tried again in 7 s
    assert work_once(pipeline, schedules) == 7
    retry_in(600)  # far off: the loop still looks every WORK_CHECK_INTERVAL
    assert work_once(pipeline, schedules) == WORK_CHECK_INTERVAL
    retry_in(-5)  # due, yet not taken (another daemon's lease just ended): not a busy loop
    assert work_once(pipeline, schedules) == WORK_DUE_FLOOR
    db.dispose()
