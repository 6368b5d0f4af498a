"""Filing a batch writes its new items, their `created` events and the messages' new state
together at the batch's end: item ids are handed out ahead as the database would give
them, so nothing written before or after clashes with them."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

import mailbot.pipeline.answer
from mailbot.storage.models import Event, Item, MessageState, OutboxMail, StoredMessage
from tests.support.pipeline import ACME, MaildirBot, client_mail


def test_a_batch_inserts_its_items_at_once_with_ids_nothing_else_takes(tmp_path: Path) -> None:
    with MaildirBot(tmp_path, projects=(ACME,)) as bot:
        bot.deliver("anna@acme.example", "Issue: first", "It fails.")
        bot.run()
        statements: list[tuple[str, bool]] = []

        def count(_c: Any, _k: Any, statement: str, _p: Any, _x: Any, many: bool) -> None:
            statements.append((statement, many))

        event.listen(bot.db.engine, "before_cursor_execute", count)
        for n in range(20):
            bot.deliver(f"client{n}@acme.example", f"Issue: page {n} broken", f"Error {n}.")
        bot.run()
        event.remove(bot.db.engine, "before_cursor_execute", count)
        inserts = [many for s, many in statements if s.startswith("INSERT INTO items")]
        # The 20 new items in an executemany or two (grouped by the columns they set), not
        # one INSERT each.
        assert inserts and all(inserts) and len(inserts) <= 2, inserts

        with bot.session() as s:  # an item made elsewhere, its id from the database
            s.add(
                Item(
                    ref="ACME-999",
                    project_key="ACME",
                    number=999,
                    category="issue",
                    status="new",
                    title="made by hand",
                )
            )
        with bot.session() as s:
            items = s.scalars(select(Item).order_by(Item.id)).all()
            created = {
                e.item_id: e.detail["ref"]
                for e in s.scalars(select(Event).where(Event.kind == "created"))
            }
        assert len({i.id for i in items}) == len(items) == 22
        assert [i.ref for i in items][-1] == "ACME-999"  # after the batch's ids
        # Each item's `created` event names it.
        assert created == {i.id: i.ref for i in items if i.ref != "ACME-999"}


def test_an_acknowledgement_queued_before_is_not_queued_again(tmp_path: Path) -> None:
    data = client_mail("anna@acme.example", "Issue: login broken", "It fails.", message_id="a@x")
    with MaildirBot(tmp_path, projects=(ACME,)) as bot:
        with bot.session() as s:  # queued by an earlier run that was stopped before it noted so
            s.add(
                OutboxMail(
                    kind="ack",
                    dedupe_key=f"ack:{hashlib.sha256(data).hexdigest()}",
                    message_id="earlier@agency.example",
                    mail_from="team@agency.example",
                    rcpt_to=["anna@acme.example"],
                    subject="Re: Issue: login broken",
                    raw=b"earlier",
                )
            )
        bot.deliver_bytes(data)
        bot.deliver("carl@acme.example", "Issue: checkout broken", "Error 500.")
        bot.run()
        decisions = bot.decisions()
        assert "not sent: already queued earlier" in decisions, decisions
        assert sum(d.startswith("queued") for d in decisions) == 1  # carl's
        acks = bot.outbox("ack")
        assert [a.message_id for a in acks][:1] == ["earlier@agency.example"]
        assert len(acks) == 2  # the earlier one and carl's


def test_the_acknowledgement_of_a_mail_rolled_back_is_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = mailbot.pipeline.answer.change_status

    def change_status(item: Item, *args: Any, **kw: Any) -> Any:
        if "poison" in item.title:
            raise RuntimeError("the status change broke after the mail was queued")
        return real(item, *args, **kw)

    monkeypatch.setattr(mailbot.pipeline.answer, "change_status", change_status)
    with MaildirBot(tmp_path, projects=(ACME,), max_attempts=3, retry_delay=3600.0) as bot:
        for subject in ("Issue: one", "Issue: poison", "Issue: two"):
            bot.deliver("anna@acme.example", subject, "It fails.")
        bot.run()
        with bot.session() as s:
            states = dict(s.execute(select(StoredMessage.subject, StoredMessage.state)).all())
        assert states["Issue: poison"] == MessageState.FAILED
        assert states["Issue: one"] == states["Issue: two"] == MessageState.ANSWERED
        subjects = sorted(a.subject for a in bot.outbox("ack"))
        assert subjects == ["Re: Issue: one [ACME-1]", "Re: Issue: two [ACME-3]"]
