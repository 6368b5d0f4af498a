"""A batch's mails are read by a few helper processes at once, each within its budget: a mail
that stalls its helper is over budget alone, and the others are read meanwhile."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from mailbot.errors import ParseError
from mailbot.message import Message
from mailbot.parse import parse_bytes
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
