"""Suite-wide set-up: the database backend every test runs on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import mailbot.storage.db
from tests.support.databases import ENV, PostgresDatabases, postgres_url


def pytest_report_header() -> str:
    url = postgres_url()
    return f"database backend: {'PostgreSQL (' + ENV + ')' if url else 'SQLite'}"


@pytest.fixture(autouse=True)
def database_backend() -> Iterator[str]:
    """ "sqlite", or "postgresql" when $MAILBOT_TEST_DATABASE_URL names a server."""
    url = postgres_url()
    if url is None:
        yield "sqlite"
        return
    databases = PostgresDatabases(url)
    mailbot.storage.db.url_rewriter = databases.rewrite
    try:
        yield "postgresql"
    finally:
        mailbot.storage.db.url_rewriter = None
        databases.drop_all()
