"""The suite's database passes: what a test opens is seen, so `no_database` marks hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.config_types import MailboxConfig, Secret
from mailbot.storage.db import open_database
from tests.support.configs import write_config
from tests.support.databases import DatabaseUse, database_use


def test_a_database_opened_in_the_test_is_noted(tmp_path: Path, database_backend: str) -> None:
    url = f"sqlite:///{tmp_path}/seen.sqlite3"
    db = open_database(url)
    db.dispose()
    assert url in database_use.urls


def test_a_database_written_into_a_config_is_noted(tmp_path: Path) -> None:
    # A daemon started by the test opens it in another process; the config is what we see.
    secret = Secret("mailbox.password", file=tmp_path / "password")
    box = MailboxConfig(name="box", host="127.0.0.1", username="u", secret=secret)
    write_config(tmp_path / "mailbot.toml", box, "sqlite:///mb.sqlite3")
    assert any(url.endswith("mb.sqlite3") for url in database_use.urls)


def test_a_marked_test_that_used_a_database_fails_with_what_to_do() -> None:
    use = DatabaseUse()
    use.check_none()  # nothing used: fine
    use.note("sqlite:///x.sqlite3")
    with pytest.raises(AssertionError, match="take the mark off"):
        use.check_none()
