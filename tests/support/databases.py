"""Test databases: migrated once per test session, copied for every test that opens one.

Running the Alembic migrations costs about a tenth of a second, and most tests open a
fresh database. So the first test that needs one migrates a template; every later new
database starts as a copy of it (a file copy on SQLite, `CREATE DATABASE ... TEMPLATE`
on PostgreSQL). `tests/conftest.py` installs this through the `premigrated` hook of
`mailbot.storage.db`; the real migrations still run from scratch in the tests that ask
for `migrate_from_scratch`.

On PostgreSQL, creating a database from the template and dropping it cost about 0.05 s and
0.15 s (the drop waits for the server to flush): a background thread keeps a few copies of
the template ready and drops used databases, so a test waits for neither.

Set MAILBOT_TEST_DATABASE_URL to a server URL (e.g.
postgresql+psycopg://postgres@127.0.0.1/postgres); every SQLite URL a test uses
is then mapped to a database of its own on that server, dropped afterwards.
"""

from __future__ import annotations

import os
import queue
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

import mailbot.storage.db
from mailbot.storage.db import open_database

ENV = "MAILBOT_TEST_DATABASE_URL"


def postgres_url() -> str | None:
    return os.environ.get(ENV) or None


class DatabaseUse:
    """The database URLs the running test opened or wrote into a config, on either backend.

    A test marked `no_database` runs in the SQLite pass only; the SQLite pass checks the
    mark by this record, so a test that starts opening a database loses the mark loudly.
    """

    def __init__(self) -> None:
        self.urls: list[str] = []

    def note(self, url: str) -> None:
        self.urls.append(url)

    def check_none(self) -> None:
        """Fail a test marked `no_database` that used one."""
        if self.urls:
            raise AssertionError(
                f"marked no_database but used {self.urls[0]}: take the mark off, "
                "or the PostgreSQL pass never runs this test"
            )


database_use = DatabaseUse()


def _sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names, or None for other URLs and in-memory databases."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser()


class SqliteTemplate:
    """A migrated SQLite file, made on first use; new database files start as copies of it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._path: Path | None = None

    def path(self) -> Path:
        if self._path is None:
            path = self.folder / "migrated.sqlite3"
            database = open_database(f"sqlite:///{path}", migrate=False)
            database.upgrade()
            database.dispose()  # the last connection folds the WAL into the file
            if path.with_name(path.name + "-wal").exists():
                raise RuntimeError(f"{path} still has a write-ahead log; a copy would lose it")
            self._path = path
        return self._path

    def premigrated(self, url: str) -> bool:
        """Copy the template to a SQLite file that does not exist yet; True if it did."""
        database_use.note(url)
        target = _sqlite_file(url)
        if target is None or target.exists():
            return False
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            return False  # open_database explains this to the test that expects it
        shutil.copyfile(self.path(), target)
        return True


class PostgresServer:
    """The server named by $MAILBOT_TEST_DATABASE_URL, with a migrated template made on first use.

    The template's name is unique to the test session, so two sessions on one server do not
    meet; it is dropped when the session ends.
    """

    READY = 3  # copies of the template kept ready

    def __init__(self, server_url: str) -> None:
        self.url = make_url(server_url)
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT")
        self._template: str | None = None
        self._kept: list[str] = []  # databases other tests' databases are copied from
        self.current: PostgresDatabases | None = None  # the running test's databases
        self._ready: queue.Queue[str] = queue.Queue()  # names of fresh template copies
        self._chores: queue.Queue[tuple[str, str] | None] = queue.Queue()  # ("make"|"drop", name)
        self._failure: BaseException | None = None
        self._worker: threading.Thread | None = None

    def url_of(self, name: str) -> str:
        """The URL of a test database. Its sessions commit without waiting for the server's
        disk (`synchronous_commit=off`): a commit is as visible to other connections as
        ever and is lost only if the server itself crashes, which no test does."""
        target: URL = self.url.set(database=name).update_query_dict(
            {"options": "-csynchronous_commit=off"}
        )
        return target.render_as_string(hide_password=False)

    def create(self, *, migrated: bool = False, template: str | None = None) -> str:
        """A new database: empty, a copy of the migrated template or of `template`; its URL."""
        if migrated and template is None:
            return self.url_of(self._ready_copy())
        name = f"mbt_{uuid.uuid4().hex[:12]}"
        clause = f' TEMPLATE "{template}"' if template else ""
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        return self.url_of(name)

    def _ready_copy(self) -> str:
        """A copy of the migrated template made in the background; another is ordered."""
        template = self._template_name()
        self._start_worker()
        self._chores.put(("make", template))
        while True:
            try:
                return self._ready.get(timeout=1)
            except queue.Empty:
                if self._failure is not None:
                    raise RuntimeError("making a test database failed") from self._failure
                if self._worker is None or not self._worker.is_alive():
                    raise RuntimeError("the thread making test databases has stopped") from None

    def _start_worker(self) -> None:
        if self._worker is not None:
            return
        for _ in range(self.READY - 1):  # the first call orders one more itself
            self._chores.put(("make", self._template_name()))
        self._worker = threading.Thread(target=self._work, name="test-databases", daemon=True)
        self._worker.start()

    def _work(self) -> None:
        """Make and drop databases in order, on a connection of this thread's own."""
        engine = create_engine(self.url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                while (chore := self._chores.get()) is not None:
                    kind, name = chore
                    if kind == "drop":
                        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                        continue
                    copy = f"mbt_{uuid.uuid4().hex[:12]}"
                    conn.execute(text(f'CREATE DATABASE "{copy}" TEMPLATE "{name}"'))
                    self._ready.put(copy)
        except BaseException as error:  # reported to the test that waits for a copy
            self._failure = error
        finally:
            engine.dispose()

    def keep(self, url: str) -> str:
        """Keep a test database until the session ends, to copy others from; its name."""
        name = make_url(url).database
        assert name is not None
        with self.admin.connect() as conn:  # a template must have no connections when copied
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
        self._kept.append(name)
        return name

    def _template_name(self) -> str:
        if self._template is None:
            name = f"mbt_template_{uuid.uuid4().hex[:12]}"
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            self._template = name  # dropped in close() even if the migrations fail
            database = open_database(self.url_of(name), migrate=False)
            database.upgrade()
            database.dispose()  # a template must have no connections when it is copied
        return self._template

    def drop(self, urls: list[str]) -> None:
        """Drop databases: in the background once it runs, else now."""
        for url in urls:
            name = make_url(url).database
            if self._worker is not None and self._worker.is_alive():
                self._chores.put(("drop", name))
                continue
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        if self._worker is not None:
            self._chores.put(None)
            self._worker.join()
            self._worker = None
        leftovers = []
        while not self._ready.empty():
            leftovers.append(self._ready.get())
        names = leftovers + self._kept + ([self._template] if self._template else [])
        self.drop([self.url_of(name) for name in names])
        self._kept.clear()
        self._template = None
        self.admin.dispose()


class PostgresDatabases:
    """One test's databases: each SQLite URL it uses maps to a database of its own."""

    def __init__(self, server: PostgresServer) -> None:
        self.server = server
        self.mapped: dict[str, str] = {}

    def rewrite(self, url: str) -> str:
        database_use.note(url)
        if not url.startswith("sqlite:"):
            return url
        if url not in self.mapped:
            self.mapped[url] = self.server.create(migrated=False)
        return self.mapped[url]

    def premigrated(self, url: str) -> bool:
        """Map a SQLite URL seen for the first time to a copy of the template; True if it did."""
        if not url.startswith("sqlite:") or url in self.mapped:
            return False
        self.mapped[url] = self.server.create(migrated=True)
        return True

    def clone(self, url: str, template: str) -> None:
        """Map a SQLite URL not used yet to a copy of the server database `template`."""
        assert url not in self.mapped, f"{url} is already in use"
        self.mapped[url] = self.server.create(template=template)

    @contextmanager
    def installed(self) -> Iterator[None]:
        """Route the SQLite URLs opened meanwhile to these databases."""
        saved = mailbot.storage.db.url_rewriter, mailbot.storage.db.premigrated
        mailbot.storage.db.url_rewriter = self.rewrite
        mailbot.storage.db.premigrated = self.premigrated
        try:
            yield
        finally:
            mailbot.storage.db.url_rewriter, mailbot.storage.db.premigrated = saved

    def drop_all(self) -> None:
        self.server.drop(list(self.mapped.values()))
        self.mapped.clear()
