"""Suite-wide set-up: the database backend every test runs on."""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator

import pytest

import mailbot.storage.db
from tests.support.databases import (
    ENV,
    PostgresDatabases,
    PostgresServer,
    SqliteTemplate,
    database_use,
    postgres_url,
)


def pytest_report_header() -> str:
    url = postgres_url()
    return f"database backend: {'PostgreSQL (' + ENV + ')' if url else 'SQLite'}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On a PostgreSQL pass, leave out the tests marked `no_database`: they ran in the
    SQLite pass, and the database behind them is the only thing the second pass changes."""
    if postgres_url() is None:
        return
    left_out = [item for item in items if item.get_closest_marker("no_database")]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not item.get_closest_marker("no_database")]


@pytest.fixture(autouse=True)
def no_database_is_true(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test marked `no_database` must open none (checked in the SQLite pass)."""
    database_use.urls.clear()
    yield
    if request.node.get_closest_marker("no_database"):
        database_use.check_none()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    """The migrated SQLite file new test databases are copied from (made on first use)."""
    return SqliteTemplate(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer | None]:
    """The server of $MAILBOT_TEST_DATABASE_URL with its migrated template, or None."""
    url = postgres_url()
    if url is None:
        yield None
        return
    server = PostgresServer(url)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(autouse=True)
def database_backend(
    sqlite_template: SqliteTemplate, postgres_server: PostgresServer | None
) -> Iterator[str]:
    """ "sqlite", or "postgresql" when $MAILBOT_TEST_DATABASE_URL names a server.

    Either way a database a test opens for the first time is already migrated.
    """
    if postgres_server is None:
        mailbot.storage.db.premigrated = sqlite_template.premigrated
        try:
            yield "sqlite"
        finally:
            mailbot.storage.db.premigrated = None
        return
    databases = PostgresDatabases(postgres_server)
    postgres_server.current = databases
    try:
        with databases.installed():
            yield "postgresql"
    finally:
        postgres_server.current = None
        databases.drop_all()


@pytest.fixture
def migrate_from_scratch(database_backend: str) -> Iterator[None]:
    """Databases this test opens run every migration on an empty database, as in production."""
    hook = mailbot.storage.db.premigrated
    mailbot.storage.db.premigrated = None
    try:
        yield
    finally:
        mailbot.storage.db.premigrated = hook


@pytest.fixture(autouse=True, scope="session")
def dkim_keys_offline() -> Iterator[None]:
    """DKIM keys are looked up in DNS; tests talk to loopback only, so no key is found
    (a test that needs keys passes its own `dkim_verify`)."""
    import dkim.dnsplug

    original = dkim.dnsplug.get_txt
    dkim.dnsplug.get_txt = lambda name, timeout=5: None
    try:
        yield
    finally:
        dkim.dnsplug.get_txt = original


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashes() -> Iterator[None]:
    """argon2 at its real cost takes ~0.1 s a hash, on purpose; the web tests hash and check
    hundreds of passwords. `mailbot` processes the tests start keep the real cost."""
    from argon2 import PasswordHasher

    from mailbot.accounts import passwords

    real = passwords.use_hasher(PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    try:
        yield
    finally:
        passwords.use_hasher(real)


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """`mailbot` commands run in a test set logging up on the stderr pytest captured for that
    test, which is closed after it: put the handlers back, or every later log line is a
    "--- Logging error ---" traceback in the output."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(autouse=True)
def restore_collector() -> Iterator[None]:
    """`mailbot run` sets start-up objects aside from the garbage collector and lets it look
    less often (`cmd_run.settle_collector`): not for the tests that follow one run here."""
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)
