"""A batch's mails are read by a few helper processes at once, each within its budget: a mail
that stalls its helper is over budget alone, and the others are read meanwhile."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from mailbot.errors import ParseError
from mailbot.message import Message
from mailbot.parse import parse_bytes
from mailbot.pipeline import budget
from mailbot.pipeline.budget import OverBudget, Reader
from tests.support.pipeline import client_mail

pytestmark = pytest.mark.no_database


def mail(n: int) -> bytes:
    return client_mail(
        "Anna <anna@acme.example>",
        f"Export fails {n}",
        f"The export number {n} fails since this morning.",
        message_id=f"{n}@acme.example",
        date=datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
    )


@pytest.fixture
def reader() -> Iterator[Reader]:
    reader = Reader(helpers=2)
    yield reader
    reader.close()


def test_a_batch_is_read_in_order_as_parse_bytes_reads_each_mail(reader: Reader) -> None:
    datas = [mail(n) for n in range(7)] + [b""]
    outcomes = reader.parse_many(datas, 30.0)
    assert outcomes[:7] == [parse_bytes(data) for data in datas[:7]]
    assert isinstance(outcomes[7], ParseError)  # an error stays with its mail


def test_a_stalled_helper_holds_up_its_own_mail_only(reader: Reader) -> None:
    reader.parse_many([mail(0), mail(1)], 30.0)  # both helpers started
    stalled = reader._helpers[0].process.pid  # the first idle helper takes the next mail
    os.kill(stalled, signal.SIGSTOP)
    try:
        outcomes = reader.parse_many([mail(2), mail(3), mail(4)], 2.0)
    finally:
        with contextlib.suppress(ProcessLookupError):  # stopped for good by then
            os.kill(stalled, signal.SIGCONT)
    assert isinstance(outcomes[0], OverBudget)
    assert [o.subject for o in outcomes[1:] if isinstance(o, Message)] == [
        "Export fails 3",
        "Export fails 4",
    ]
    assert stalled not in [h.process.pid for h in reader._helpers]  # it was stopped
    assert reader.parse(mail(5), 30.0).subject == "Export fails 5"


def test_a_helper_that_died_while_idle_is_replaced(reader: Reader) -> None:
    reader.parse_many([mail(0), mail(1)], 30.0)
    for helper in reader._helpers:
        os.kill(helper.process.pid, signal.SIGKILL)
        helper.process.wait(10)
    outcomes = reader.parse_many([mail(2), mail(3)], 30.0)
    assert [o.subject for o in outcomes if isinstance(o, Message)] == [
        "Export fails 2",
        "Export fails 3",
    ]


def _given_at_once(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Each mail given to a helper, as (its pid, how many mails it held then)."""
    given: list[tuple[int, int]] = []
    send = budget._Helper.send

    def recording(self: budget._Helper, index: int, data: bytes, timeout: float) -> None:
        send(self, index, data, timeout)
        given.append((self.process.pid, len(self.pending)))

    monkeypatch.setattr(budget._Helper, "send", recording)
    return given


def test_mails_given_behind_a_stalled_one_are_read_by_the_next_helper(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reader = Reader(helpers=1)
    try:
        reader.parse(mail(0), 30.0)
        stalled = reader._helpers[0].process.pid
        given = _given_at_once(monkeypatch)
        os.kill(stalled, signal.SIGSTOP)
        try:
            outcomes = reader.parse_many([mail(n) for n in range(1, 5)], 1.0)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(stalled, signal.SIGCONT)
    finally:
        reader.close()
    # The stalled helper held the first mail and those behind it at once.
    assert max(held for pid, held in given if pid == stalled) == 4
    assert isinstance(outcomes[0], OverBudget)
    assert [o.subject for o in outcomes[1:] if isinstance(o, Message)] == [
        "Export fails 2",
        "Export fails 3",
        "Export fails 4",
    ]


def test_a_helper_killed_with_mails_behind_its_own_fails_that_mail_alone() -> None:
    reader = Reader(helpers=1)
    try:
        reader.parse(mail(0), 30.0)
        helper = reader._helpers[0]
        os.kill(helper.process.pid, signal.SIGSTOP)
        done: list[list[budget.Outcome]] = []
        reading = threading.Thread(
            target=lambda: done.append(reader.parse_many([mail(n) for n in range(1, 5)], 30.0))
        )
        reading.start()
        deadline = time.monotonic() + 30
        while len(helper.pending) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)  # until all four are given to it
        os.kill(helper.process.pid, signal.SIGKILL)
        reading.join(30)
    finally:
        reader.close()
    [outcomes] = done
    assert isinstance(outcomes[0], RuntimeError)
    assert "the parser process ended" in str(outcomes[0])
    assert [o.subject for o in outcomes[1:] if isinstance(o, Message)] == [
        "Export fails 2",
        "Export fails 3",
        "Export fails 4",
    ]


def test_a_large_mail_waits_for_the_helper_instead_of_filling_its_pipe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Written behind a mail the helper reads, a large one could fill the pipe while the
    helper waits for its answer to be read: a deadlock. It is given once the helper is idle."""
    given = _given_at_once(monkeypatch)
    large = client_mail(
        "Anna <anna@acme.example>",
        "Export fails 9",
        "A long line of the export log.\n" * 4000,  # ~120 KB, more than the pipe holds
        message_id="9@acme.example",
    )
    reader = Reader(helpers=1)
    try:
        outcomes = reader.parse_many([mail(1), large, mail(2), mail(3)], 30.0)
    finally:
        reader.close()
    assert [o.subject for o in outcomes if isinstance(o, Message)] == [
        "Export fails 1",
        "Export fails 9",
        "Export fails 2",
        "Export fails 3",
    ]
    assert [held for _pid, held in given][:2] == [1, 1]  # the large one alone
