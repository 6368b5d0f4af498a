"""Signals like rq: the first asks to stop, the second exits at once."""

from __future__ import annotations

import signal
import threading

import pytest

import mailbot.daemon
from mailbot.daemon import EXIT_NOW_CODE, StopSignals


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
    monkeypatch: pytest.MonkeyPatch, tmp_path: pytest.TempPathFactory
) -> None:
    from mailbot.config import Config
    from mailbot.config_types import MailboxConfig
    from mailbot.daemon import Schedules
    from mailbot.reports.scheduler import ReportScheduler
    from mailbot.storage.db import open_database
    from tests.support.pipeline import make_pipeline

    calls: list[object] = []
    monkeypatch.setattr(
        ReportScheduler, "run_pending", lambda self, now: calls.append(now) or ["x"]
    )
    config = Config(
        mailboxes=(MailboxConfig(name="m", kind="maildir", path=tmp_path),),  # type: ignore[arg-type]
        database_url=f"sqlite:///{tmp_path}/mb.sqlite3",
    )
    sent: list[int] = []
    pipeline = make_pipeline(
        config, open_database(config.database_url), deliver=lambda: sent.append(1)
    )
    schedules = Schedules(pipeline)
    schedules.tick()
    schedules.tick()  # within the minute: nothing
    assert len(calls) == 1 and sent == [1]
    assert calls[0].tzinfo is not None  # type: ignore[attr-defined]
