"""The time budget for reading a mail: parsing in a helper process that is stopped when a
mail takes too long; the mail is then read by its header only and filed for a person."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.errors import ParseError
from mailbot.parse import parse_bytes
from mailbot.pipeline.budget import OverBudget, Reader, shared_reader
from mailbot.storage.models import Blob, Item, StoredMessage
from tests.support.pipeline import ACME, MaildirBot, client_mail


def mail(body: str, subject: str = "Export fails") -> bytes:
    return client_mail(
        "Anna <anna@acme.example>",
        subject,
        body,
        message_id=f"{len(body)}@acme.example",
        date=datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
    )


@pytest.fixture
def reader() -> Iterator[Reader]:
    reader = Reader()
    yield reader
    reader.close()


def test_the_helper_reads_a_mail_as_parse_bytes_does(reader: Reader) -> None:
    data = mail("The export to Excel fails since this morning.\n\n> old quote")
    assert reader.parse(data, 30.0) == parse_bytes(data)


def test_a_mail_over_budget_stops_the_helper_and_the_next_one_is_read(reader: Reader) -> None:
    reader.parse(mail("warm up"), 30.0)  # the helper has started
    slow = mail("A line of text that goes on.\n" * 200_000)  # ~6 MB: far more than 1 ms
    with pytest.raises(OverBudget, match=r"could not be read within 0\.001 s"):
        reader.parse(slow, 0.001)
    after = mail("The next mail.")
    assert reader.parse(after, 30.0).new_text.startswith("The next mail.")


def test_what_the_helper_logs_is_formatted_and_library_chatter_stays_out(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """mail-parser warns bare on stderr of each part that is not text; the daemon's log
    must not fill with lines that say neither when nor which mail."""
    enriched = (
        b"From: Anna <anna@acme.example>\r\nTo: team@agency.example\r\nSubject: Notes\r\n"
        b"Message-ID: <enriched@acme.example>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/alternative; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nThe export fails.\r\n"
        b"--b\r\nContent-Type: text/enriched\r\n\r\n<bold>The export fails.</bold>\r\n"
        b"--b--\r\n"
    )
    reader = Reader()
    try:
        assert reader.parse(enriched, 30.0).new_text.startswith("The export fails.")
    finally:
        reader.close()
    err = capfd.readouterr().err
    assert "not handled" not in err, err
    assert all(" WARNING " in line or " ERROR " in line for line in err.splitlines()), err


def test_errors_come_back_as_they_would_in_process(reader: Reader) -> None:
    with pytest.raises(ParseError):
        parse_bytes(b"")
    with pytest.raises(ParseError):
        reader.parse(b"", 30.0)


def test_a_mail_not_read_in_time_is_stored_whole_and_filed_by_its_header(tmp_path: Path) -> None:
    slow = mail("A line of text that goes on.\n" * 200_000, subject="Logs of the failing export")
    with MaildirBot(tmp_path, projects=(ACME,)) as bot:
        shared_reader().parse(mail("warm up"), 30.0)
        bot.config = dataclasses.replace(bot.config, parse_timeout=0.001)
        bot.deliver_bytes(slow)
        bot.run()
        with bot.db.session() as s:
            row = s.scalars(select(StoredMessage)).one()
            assert s.get(Blob, row.sha256).data == slow  # nothing lost  # type: ignore[union-attr]
            assert row.subject == "Logs of the failing export"
            assert "could not be read in time (0.001 s)" in row.defects
            assert "could not be read within 0.001 s" in (row.new_text or "")
            item = s.get(Item, row.item_id)
            assert item is not None and item.needs_review
