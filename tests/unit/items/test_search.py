"""The queue's search on the real index (SQLite FTS5 here; PostgreSQL's tsvector in the
PostgreSQL pass): subject, client and new text, Chinese by characters, words by prefix,
kept up to date by filing, move, merge and split."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mailbot.items import actions
from mailbot.items.views import QueueFilter, list_items
from tests.support.queue_bot import Bot

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def found(bot: Bot, text: str, *, everything: bool = True) -> list[str]:
    with bot.session() as s:
        filters = QueueFilter(search=text, include_closed=everything)
        items = list_items(s, bot.config, filters, NOW)
        return [i.ref for i in items]


@pytest.mark.parametrize(
    ("text", "refs"),
    [
        ("登录", ["HX-1"]),  # a word inside 后台登录不了
        ("后台", ["HX-1"]),
        ("登不", []),  # characters that are not next to each other
        ("checkout", ["ACME-1"]),  # the subject
        ("check", ["ACME-1"]),  # a prefix
        ("paypal", ["ACME-1"]),  # the new text of the follow-up
        ("banner", ["ACME-2"]),
        ("anna", ["ACME-1", "ACME-2"]),  # the client
        ("ACME-2", ["ACME-2"]),
        ("wangfang", ["HX-1"]),
        ("error paypal", ["ACME-1"]),  # every word
        ("error banner", []),
        ("!!!", []),
    ],
)
def test_the_queue_search(filed: Bot, text: str, refs: list[str]) -> None:
    assert found(filed, text) == refs


def test_the_index_follows_moves_merges_and_splits(filed: Bot) -> None:
    with filed.session() as s:
        actions.move(s, filed.config, "ACME-2", "HX", actor="lena")
    assert found(filed, "banner") == ["HX-2"]
    with filed.session() as s:
        actions.merge(s, "HX-2", "ACME-1", actor="lena")
    # The merged item keeps its title; its mail is searched under the item it joined.
    assert found(filed, "banner", everything=False) == ["ACME-1"]
    assert found(filed, "paypal") == ["ACME-1"]
    with filed.session() as s:
        row = next(
            r
            for r in actions.item_messages(s, actions.find_item(s, "ACME-1"))
            if "banner" in (r.new_text or "").lower()
        )
        new = actions.split(s, row.id, actor="lena")
        new_ref = new.ref
    assert found(filed, "banner", everything=False) == [new_ref]
    assert "ACME-1" not in found(filed, "banner")


def test_what_filing_indexes_is_what_a_full_reindex_writes(filed: Bot) -> None:
    from sqlalchemy import select, text

    from mailbot.storage.models import Item
    from mailbot.storage.search import reindex_items

    def documents() -> dict[int, str]:
        with filed.session() as s:
            if s.get_bind().dialect.name == "postgresql":
                rows = s.execute(text("SELECT item_id, tsv::text FROM item_search"))
            else:
                rows = s.execute(text("SELECT rowid, doc FROM item_search"))
            return {item_id: doc for item_id, doc in rows}

    by_filing = documents()
    with filed.session() as s:
        reindex_items(s, s.scalars(select(Item.id)).all())
    assert by_filing and by_filing == documents()
