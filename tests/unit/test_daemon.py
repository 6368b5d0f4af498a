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
