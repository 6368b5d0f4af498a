"""Parsed messages are kept between stages up to a count and about a number of bytes: a
backlog of ordinary mails is parsed once, and large mails cannot fill the memory."""

from __future__ import annotations

from pathlib import Path

import pytest

import mailbot.pipeline.machine
from mailbot.message import Message
from mailbot.parse import parse_bytes
from mailbot.pipeline.machine import _weight
from tests.support.pipeline import MaildirBot, client_mail


def message(n: int, body: str = "It fails.") -> Message:
    return parse_bytes(client_mail("anna@acme.example", f"Issue {n}", body, message_id=f"{n}@x"))


def test_the_cache_keeps_a_backlog_and_drops_the_oldest_past_its_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with MaildirBot(tmp_path) as bot:
        pipeline = bot.pipeline()
        small = [message(n) for n in range(3000)]
        for n, parsed in enumerate(small):
            pipeline._remember(n, parsed)
        assert len(pipeline._messages) == 3000  # more than the 1,000 of old
        big = message(9999, "A long line of logs.\n" * 20_000)
        budget = 3 * _weight(big)
        monkeypatch.setattr(mailbot.pipeline.machine, "MESSAGE_CACHE_BYTES", budget)
        for n in range(10_000, 10_004):
            pipeline._remember(n, big)
        assert list(pipeline._messages) == [10_001, 10_002, 10_003]  # the oldest went first
        assert pipeline._cached_bytes == budget
        pipeline._forget(10_002)
        assert pipeline._cached_bytes == 2 * _weight(big)


def test_what_the_cache_lost_is_read_again_from_the_stored_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restart between two stages, or a backlog larger than the cache: the batch's bytes
    are read a chunk at a time, and a mail over max_message_bytes by its header alone."""
    from sqlalchemy import select

    from mailbot.storage import work
    from mailbot.storage.models import StoredMessage

    with MaildirBot(tmp_path, max_message_bytes=100_000) as bot:
        for n in range(5):
            bot.deliver("anna@acme.example", f"Issue {n}", f"Checkout step {n} fails.")
        bot.deliver_bytes(
            client_mail("anna@acme.example", "Logs", "A" * 200_000, message_id="big@x")
        )
        bot.run()
        with bot.session() as s:
            ids = list(s.scalars(select(StoredMessage.id).order_by(StoredMessage.id)))
            # Claimed again by this process, as a stage would.
            s.execute(StoredMessage.__table__.update().values(claimed_by=work.worker_name()))
        # Two mails' bytes at most in one chunk: the batch takes several reads.
        monkeypatch.setattr(mailbot.pipeline.machine, "PARSE_CHUNK_BYTES", 1500)
        fresh = bot.pipeline()  # nothing cached
        parsed, failed = fresh._read_batch(ids)
        assert failed == {}
        assert [parsed[i].subject for i in ids] == [*(f"Issue {n}" for n in range(5)), "Logs"]
        assert parsed[ids[2]].new_text.strip() == "Checkout step 2 fails."
        assert "only its header was read" in parsed[ids[-1]].new_text
