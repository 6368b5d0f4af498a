"""Filing a batch writes its new items, their `created` events and the messages' new state
together at the batch's end: item ids are handed out ahead as the database would give
them, so nothing written before or after clashes with them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, select

from mailbot.storage.models import Event, Item
from tests.support.pipeline import ACME, MaildirBot


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
