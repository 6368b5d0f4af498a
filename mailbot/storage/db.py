"""Opening the database: engine, sessions, migrations, SQLite tuning."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, select, text, tuple_
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.orm import Session, sessionmaker

from mailbot.errors import StorageError

if TYPE_CHECKING:  # alembic (with mako) is imported only when the schema needs a migration
    from alembic.config import Config as AlembicConfig

log = logging.getLogger("mailbot.storage")

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000  # several processes may write; wait instead of failing
SQLITE_CHECKPOINT_PAGES = 10_000
LOCK_POLL = 0.001  # seconds between two asks for SQLite's write lock (`begin_writing`)
# Any constant works; all mailbot processes must agree on it.
MIGRATION_LOCK_KEY = 0x6D61696C626F74


_REVISION = re.compile(r"^revision = [\"'](?P<id>[^\"']+)[\"']", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision = [\"'](?P<id>[^\"']+)[\"']", re.MULTILINE)


@cache
def written_head() -> str | None:
    """The newest migration's revision, read from the migration files; None unless they
    form one line (alembic then decides). A test checks it is alembic's own head."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found = _REVISION.search(source)
        if found is None:
            return None
        revisions.add(found["id"])
        parents.update(m["id"] for m in _DOWN_REVISION.finditer(source))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _alembic_config() -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def _tune_sqlite(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
    cur.execute("PRAGMA foreign_keys=ON")
    # The log is copied into the database once it holds this many pages (40 MB), not the
    # default 1,000: a backlog's rows are written several times in a few seconds (stored,
    # parsed, classified, filed, answered), and each copy then takes the latest version of
    # a page once instead of every version, with a tenth of the syncs.
    cur.execute(f"PRAGMA wal_autocheckpoint={SQLITE_CHECKPOINT_PAGES}")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.close()


# Statements that make SQLite's sqlite3 module open a transaction (it does before a write).
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def begin_writing(dbapi_conn: Any) -> None:
    """SQLite: open a transaction holding the write lock (BEGIN IMMEDIATE), unless one is
    open; asked for every millisecond until it is free (at most the busy timeout).

    SQLite's own wait for a busy lock sleeps longer and longer, up to a tenth of a second
    at a time: several writers (the stages, the intake beside them, the courier marking
    mail sent) each sleep through the others' short gaps, and all wait longer than they
    hold the lock. Asked for this often, the lock goes from one to the next as it is freed.
    """
    if dbapi_conn.in_transaction:
        return
    cur = dbapi_conn.cursor()
    try:
        cur.execute("PRAGMA busy_timeout=0")
        deadline: float | None = None
        while True:
            try:
                cur.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.Error as err:
                now = time.monotonic()
                deadline = deadline or now + SQLITE_BUSY_TIMEOUT_MS / 1000
                if "locked" not in str(err) or now > deadline:
                    # As SQLAlchemy raises it (so a database that cannot take the work
                    # just now is told apart from a bug), as when SQLite gives up waiting.
                    raise DBAPIError.instance("BEGIN IMMEDIATE", None, err, sqlite3.Error) from err
            time.sleep(LOCK_POLL)
    finally:
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.close()


def _begin_before_a_write(  # type: ignore[no-untyped-def]
    conn, _cursor, statement: str, _parameters, _context, _executemany
) -> None:
    if statement.lstrip()[:7].upper().startswith(_WRITES):
        begin_writing(conn.connection.driver_connection)


class Database:
    """An engine plus a session factory; the one way code reaches storage."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def batch(self) -> Iterator[Session]:
        """A session whose transaction is open from the start, for work in savepoints.

        Each `begin_nested()` in it is then a savepoint inside the one transaction: the
        sqlite3 module opens a transaction only before a write, so a first savepoint would
        otherwise be a transaction of its own and commit when released. On SQLite the write
        lock is taken at once, so the batch never finds a writer in its way half-way.
        """
        with self.session() as session:
            if self.dialect == "sqlite":
                self._hold_write_lock(session)
            yield session

    @contextmanager
    def read_then_write(self) -> Iterator[Session]:
        """A session for a batch that reads and works things out first, then writes at its
        end; no `begin_nested()` in it.

        On SQLite the write lock is taken by the batch's first write, not at its start:
        while the batch reads and works (renders and composes its mails, say), others
        write meanwhile, the courier marking mail sent among them. What the batch read
        before the lock is then checked under it: should another writer have changed a
        row the batch changes (a PM set the item's status meanwhile), the batch raises
        `ChangedMeanwhile` and is rolled back whole, to be worked again under the lock
        from its start (`batch`). On PostgreSQL this is `session`, as `batch` is there.
        """
        if self.dialect != "sqlite":
            with self.session() as session:
                yield session
            return
        changed: list[str] = []

        def check(session: Session, _flush: object, _instances: object) -> None:
            self._hold_write_lock(session)
            changed.extend(changed_meanwhile(session))

        with self.session() as session:
            event.listen(session, "before_flush", check)
            try:
                yield session
                session.flush()  # what the ORM holds unwritten is checked now
            finally:
                event.remove(session, "before_flush", check)
            if changed:
                raise ChangedMeanwhile(changed)

    def _hold_write_lock(self, session: Session) -> None:
        """SQLite: take the write lock now, unless a write in this transaction holds it."""
        begin_writing(session.connection().connection.driver_connection)

    @contextmanager
    def scratch(self) -> Iterator[Session]:
        """A session whose work is always rolled back: "what would happen if …"."""
        with self._sessions() as session:
            session.begin()
            try:
                yield session
            finally:
                session.rollback()

    def upgrade(self) -> None:
        """Bring the schema to the newest migration (safe with several processes)."""
        if self._at_written_head():
            return  # every start but the first after an upgrade: no alembic to load
        with self._sqlite_migration_lock():
            self._upgrade()

    def _at_written_head(self) -> bool:
        head = written_head()
        if head is None:
            return False
        try:
            with self.engine.connect() as conn:
                stamped = conn.execute(text("SELECT version_num FROM alembic_version")).all()
        except DBAPIError:  # a new database (no such table), or none to reach: alembic says
            return False
        return [row[0] for row in stamped] == [head]

    @contextmanager
    def _sqlite_migration_lock(self) -> Iterator[None]:
        # Two processes starting on a fresh SQLite file must not both create the tables;
        # SQLite has no advisory locks, so a lock file next to the database serves.
        path = self.engine.url.database if self.dialect == "sqlite" else None
        if not path or path == ":memory:":
            yield
            return
        with open(f"{path}.migrate.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _upgrade(self) -> None:
        from alembic import command

        cfg = _alembic_config()
        with self.engine.begin() as conn:
            if self.dialect == "sqlite":
                # The sqlite3 module runs DDL outside any transaction unless one is open:
                # a process killed while migrating a new database would leave half a
                # schema behind that no later start could migrate. Open one, and take the
                # write lock at once.
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            if self.dialect == "postgresql":
                # Two daemons starting together must not both run the migrations.
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    @contextmanager
    def mailbox_lock(self, account: str, folder: str) -> Iterator[bool]:
        """Hold the right to drain one mailbox folder; yields False if another process has it.

        On PostgreSQL this is a session advisory lock, so two daemons sharing a
        database never drain the same folder at once. SQLite serves one machine;
        there the unique keys alone keep re-processing harmless.
        """
        if self.dialect != "postgresql":
            yield True
            return
        key = int.from_bytes(
            hashlib.sha256(f"{account}\0{folder}".encode()).digest()[:8], "big", signed=True
        )
        with self.engine.connect() as conn:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            try:
                yield got
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()

    def is_current(self) -> bool:
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision() == head

    def dispose(self) -> None:
        self.engine.dispose()


class ChangedMeanwhile(Exception):
    """Rows a batch changed were changed by another writer after the batch read them."""

    def __init__(self, rows: list[str]) -> None:
        super().__init__(f"changed meanwhile by another writer: {', '.join(rows)}")
        self.rows = rows


def changed_meanwhile(session: Session) -> list[str]:
    """The rows this session changed whose changed columns no longer hold, in the database,
    what the session read there ("Item 7"); [] when every one still does. Only sound with
    the write lock held, so that nobody changes them between this look and the write."""
    # (class, changed columns) -> {primary key: the values read}: one query for each
    read: dict[tuple[type, tuple[str, ...]], dict[tuple[Any, ...], tuple[Any, ...]]] = {}
    for obj in list(session.dirty):
        state = inspect(obj)
        if state.identity is None:
            continue
        changed = {
            prop.key: state.attrs[prop.key].history.deleted[0]
            for prop in state.mapper.column_attrs
            if state.attrs[prop.key].history.deleted
        }
        if changed:
            group = read.setdefault((type(obj), tuple(changed)), {})
            group[tuple(state.identity)] = tuple(changed.values())
    found: list[str] = []
    with session.no_autoflush:
        for (model, names), rows in read.items():
            keys = inspect(model).primary_key
            columns = [getattr(model, name) for name in names]
            now = {
                tuple(found_row[: len(keys)]): tuple(found_row[len(keys) :])
                for found_row in session.execute(
                    select(*keys, *columns).where(
                        keys[0].in_([i for (i,) in rows])
                        if len(keys) == 1
                        else tuple_(*keys).in_(list(rows))
                    )
                )
            }
            for identity, values in rows.items():
                if now.get(identity) != values:
                    shown = "/".join(str(value) for value in identity)
                    found.append(f"{model.__name__} {shown}")
    return found


# Tests that run the whole suite on PostgreSQL install a function here that maps
# each test's SQLite URL to a database of its own on the server.
url_rewriter: Callable[[str], str] | None = None
# Tests install a function here that, given a URL about to be opened and migrated, puts
# an already migrated database there when none exists yet and returns True; the
# migrations are then not run again for every test. Production leaves it None.
premigrated: Callable[[str], bool] | None = None


def resolve_url(url: str) -> str:
    """The database a configured URL really means (the same URL, except under the tests)."""
    return url_rewriter(url) if url_rewriter is not None else url


def open_database(url: str, *, migrate: bool = True) -> Database:
    """Connect to `url` (SQLAlchemy form) and, by default, migrate it."""
    if migrate and premigrated is not None and premigrated(url):
        migrate = False
    url = resolve_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StorageError(
            f"database.url {url!r} is not a database URL",
            "use e.g. sqlite:////var/lib/mailbot/mailbot.sqlite3 or "
            "postgresql+psycopg://mailbot@localhost/mailbot",
        ) from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            path = Path(parsed.database).expanduser()
            folder = path.parent
            try:
                # All client mail is in this file: readable by mailbot alone, whatever the
                # umask (outside systemd it is often 022).
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            except OSError as err:
                raise StorageError(
                    f"cannot create the database folder {folder}: {err.strerror}",
                    "check database.url and that mailbot may write there",
                ) from None
        engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _tune_sqlite)
        event.listen(engine, "before_cursor_execute", _begin_before_a_write)
    else:
        engine = create_engine(parsed, pool_pre_ping=True)
    db = Database(engine)
    if migrate:
        try:
            db.upgrade()
        except OperationalError as err:
            raise StorageError(
                f"cannot open the database {parsed.render_as_string(hide_password=True)}: "
                f"{err.orig}",
                "check database.url, that the server runs and that mailbot may write there",
            ) from None
    return db


# SQLite's words for a database that cannot take the work just now (it has no SQLSTATE).
SQLITE_TRANSIENT = (
    "database is locked",
    "database table is locked",
    "database or disk is full",
    "disk i/o error",
    "unable to open database file",
    "attempt to write a readonly database",
)


def database_unavailable(err: BaseException) -> bool:
    """The database could not be reached or could not take the work just now (a restart, a
    killed session, a deadlock, SQLite's "database is locked", a full disk): no bug and no
    fault of the data at hand, worth trying again soon. A statement the database refuses
    for what it says (a value too long, an index row too large) is not this."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, DisconnectionError | InterfaceError):
            return True
        if isinstance(seen, DBAPIError) and seen.connection_invalidated:
            return True
        if isinstance(seen, OperationalError):
            # PostgreSQL's classes: 08 connection, 40 rollback (deadlock, serialization),
            # 53 resources (disk, memory, connections), 57 operator (shutdown, cancel).
            state = str(getattr(seen.orig, "sqlstate", "") or "")
            if state[:2] in ("08", "40", "53", "57"):
                return True
            words = str(seen.orig).lower()
            if any(phrase in words for phrase in SQLITE_TRANSIENT):
                return True
        seen = seen.__cause__
    return False
