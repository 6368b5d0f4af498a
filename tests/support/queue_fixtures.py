"""Fixtures for the PM-action and queue tests: a `Bot` and the bot with three items filed.

`filed` is built once per session and copied for each test (see tests/support/prepared.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.databases import PostgresServer
from tests.support.prepared import Prepared
from tests.support.queue_bot import Bot


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Bot]:
    with Bot(tmp_path) as b:
        yield b


def file_three_items(bot: Bot) -> None:
    """ACME-1 an issue (two client messages), ACME-2 a change request, HX-1 a Chinese issue."""
    first = bot.deliver("Anna <anna@acme.example>", "Checkout fails", "Error 500 when we pay.")
    bot.deliver("Anna <anna@acme.example>", "New banner change", "Please add a banner.")
    bot.deliver("王芳 <wangfang@huaxin.example>", "后台登录不了", "你好，后台一直登录不了。")
    bot.run()
    bot.deliver(
        "Anna <anna@acme.example>", "Re: Checkout fails", "Also with PayPal.", reply_to=first
    )
    bot.run()


@pytest.fixture(scope="session")
def filed_once(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer | None
) -> Prepared:
    return Bot.prepare(tmp_path_factory, "filed", file_three_items, postgres_server)


@pytest.fixture
def filed(tmp_path: Path, filed_once: Prepared, database_backend: str) -> Iterator[Bot]:
    """The bot after `file_three_items`: a copy of the one the session filed."""
    with Bot.copied(filed_once, tmp_path) as b:
        yield b
