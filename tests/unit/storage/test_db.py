"""The database layer: migrations match the models, SQLite is tuned, errors are plain."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from sqlite3 import Connection

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

import mailbot.storage.db
from mailbot.errors import StorageError
from mailbot.storage.db import (
    SQLITE_BUSY_TIMEOUT_MS,
    ChangedMeanwhile,
    Database,
    database_unavailable,
    open_database,
)
from mailbot.storage.models import Base, Cursor, ProjectCounter
from mailbot.storage.search import is_search_table


@pytest.mark.usefixtures("migrate_from_scratch")
def test_migrations_build_exactly_the_models(tmp_path: Path) -> None:
    # Other tests get a copy of a database migrated once per session; this one runs them all.
    db = open_database(f"sqlite:///{tmp_path}/m.sqlite3")
    assert db.is_current()
    with db.engine.connect() as conn:
        # The full-text index is SQL of each database's own (storage/search.py), not a model.
        context = MigrationContext.configure(
            conn, opts={"include_name": lambda name, kind, _p: not is_search_table(name)}
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], "models changed without a migration: add one under storage/migrations"


def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_a_long_log(
    tmp_path: Path, database_backend: str
) -> None:
    if database_backend != "sqlite":
        pytest.skip("SQLite only")
    db = open_database(f"sqlite:///{tmp_path}/m.sqlite3")
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 10_000


def test_opening_twice_is_harmless(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/m.sqlite3"
    open_database(url).dispose()
    assert open_database(url).is_current()


def test_the_head_read_from_the_migration_files_is_alembics() -> None:
    from alembic.script import ScriptDirectory

    from mailbot.storage.db import _alembic_config, written_head

    assert written_head() == ScriptDirectory.from_config(_alembic_config()).get_current_head()


def test_a_current_database_opens_without_alembic_and_an_old_one_is_upgraded(
    tmp_path: Path, database_backend: str
) -> None:
    """Opening a database at the newest migration does not import alembic (and mako); one
    stamped with an older revision is still brought to the newest."""
    if database_backend != "sqlite":
        pytest.skip("SQLite only: the probe process opens the file itself")
    url = f"sqlite:///{tmp_path}/m.sqlite3"
    open_database(url).dispose()
    probe = (
        "import sys\n"
        "from mailbot.storage.db import open_database\n"
        f"open_database({url!r}).dispose()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"

    from alembic import command
    from sqlalchemy import inspect

    from mailbot.storage.db import _alembic_config

    db = open_database(url, migrate=False)
    cfg = _alembic_config()
    with db.engine.begin() as conn:  # back to before the newest migration
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "-1")
    assert not db.is_current()
    db.dispose()
    db = open_database(url)
    assert db.is_current()
    assert "tracker_links" in inspect(db.engine).get_table_names()
    db.dispose()


def test_bad_urls_are_explained(tmp_path: Path, database_backend: str) -> None:
    with pytest.raises(StorageError, match="not a database URL"):
        open_database("not a url")
    if database_backend != "sqlite":
        return  # the SQLite folder case below does not apply
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StorageError, match="cannot create the database folder"):
        open_database(f"sqlite:///{blocker}/sub/m.sqlite3")


def test_a_failed_migration_leaves_no_half_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DDL runs inside the migration's transaction: a crash midway leaves nothing behind."""
    from alembic import command
    from sqlalchemy import inspect

    def killed_midway(cfg: object, _revision: str) -> None:
        conn = cfg.attributes["connection"]  # type: ignore[attr-defined]
        conn.execute(text("CREATE TABLE half_done (id INTEGER)"))
        raise RuntimeError("killed while migrating")

    db = open_database(f"sqlite:///{tmp_path}/half.sqlite3", migrate=False)
    with monkeypatch.context() as patched:
        patched.setattr(command, "upgrade", killed_midway)
        with pytest.raises(RuntimeError):
            db.upgrade()
    assert "half_done" not in inspect(db.engine).get_table_names()
    db.upgrade()  # and the real migrations still run from scratch
    assert "messages" in inspect(db.engine).get_table_names()
    db.dispose()


def test_a_database_with_mail_upgrades_from_before_the_stage_machine(tmp_path: Path) -> None:
    """Old rows get their stage and arrival; SQLite's foreign keys never block the upgrade."""
    from datetime import UTC, datetime

    from alembic import command
    from sqlalchemy import select

    from mailbot.storage.db import _alembic_config
    from mailbot.storage.models import Item, MessageState, StoredMessage

    db = open_database(f"sqlite:///{tmp_path}/old.sqlite3", migrate=False)
    cfg = _alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
    at = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    with db.engine.begin() as conn:
        for sha in ("a", "b"):
            conn.execute(
                text("INSERT INTO blobs (sha256, size, data) VALUES (:sha, 1, :data)"),
                {"sha": sha, "data": b"\x00"},
            )
        conn.execute(
            text(
                "INSERT INTO items (id, ref, project_key, number, category, status, title, "
                "needs_review, escalate, created_at, updated_at) VALUES (1, 'ACME-1', 'ACME', 1, "
                "'issue', 'new', 't', :no, :no, :at, :at)"
            ),
            {"no": False, "at": at},
        )
        for pk, sha, state, mid in ((1, "a", "filed", "m1"), (2, "b", "failed", None)):
            conn.execute(
                text(
                    "INSERT INTO messages (id, sha256, message_id, message_id_synthetic, "
                    '"references", recipients, attachments, signals, defects, state, attempts, '
                    "account, folder, received_at, updated_at, item_id) VALUES "
                    "(:pk, :sha, :mid, :no, '[]', '{}', '[]', '{}', '[]', :state, 1, "
                    "'a', 'INBOX', :at, :at, 1)"
                ),
                {"pk": pk, "sha": sha, "mid": mid, "no": False, "state": state, "at": at},
            )
        conn.execute(
            text(
                "INSERT INTO locations (message_pk, account, folder, uidvalidity, uid, key, "
                "server_target, server_done, seen_at) VALUES "
                "(1, 'a', 'INBOX', 1, 1, '1', 'processed', :yes, :at)"
            ),
            {"yes": True, "at": at},
        )
    db.upgrade()
    with db.session() as s:
        done, failed = s.scalars(select(StoredMessage).order_by(StoredMessage.id)).all()
        assert (done.state, failed.state, failed.failed_stage) == (
            MessageState.ANSWERED,
            MessageState.FAILED,
            "parse",
        )
        assert done.arrived_at == done.received_at and done.arrived_at.tzinfo is not None
        assert s.get(Item, 1) is not None
    db.dispose()


def test_a_new_sqlite_database_is_readable_by_mailbot_alone(
    tmp_path: Path, database_backend: str
) -> None:
    import os
    import stat

    from mailbot.storage import db as db_module

    if database_backend != "sqlite":
        pytest.skip("on a PostgreSQL run every database URL is a server database")
    old = os.umask(0o022)  # the usual umask outside systemd
    saved, db_module.premigrated = db_module.premigrated, None  # a real new file, not a copy
    try:
        path = tmp_path / "new" / "mb.sqlite3"
        db = open_database(f"sqlite:///{path}")
        db.dispose()
    finally:
        os.umask(old)
        db_module.premigrated = saved
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_batch_is_one_transaction_with_a_savepoint_per_piece(tmp_path: Path) -> None:
    from sqlalchemy import select

    from mailbot.storage.models import ProjectCounter

    db = open_database(f"sqlite:///{tmp_path}/m.sqlite3")
    with db.batch() as session:
        with session.begin_nested():
            session.add(ProjectCounter(project_key="A", last_number=1))
        with pytest.raises(RuntimeError), session.begin_nested():
            session.add(ProjectCounter(project_key="B", last_number=1))
            session.flush()
            raise RuntimeError("this piece is rolled back alone")
    with pytest.raises(RuntimeError), db.batch() as session:
        with session.begin_nested():  # released, but the batch itself fails: not kept
            session.add(ProjectCounter(project_key="C", last_number=1))
        raise RuntimeError("the whole batch is rolled back")
    with db.session() as session:
        keys = session.scalars(select(ProjectCounter.project_key)).all()
    assert keys == ["A"]


@pytest.fixture
def two_writers(tmp_path: Path, database_backend: str) -> Iterator[tuple[Database, Connection]]:
    """An SQLite database, and another process's connection to it that does not wait for
    the write lock: a write it cannot make at once is refused ("database is locked")."""
    if database_backend != "sqlite":
        pytest.skip("SQLite's write lock")
    path = tmp_path / "m.sqlite3"
    db = open_database(f"sqlite:///{path}")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    yield db, other
    other.close()


def _counters(db: Database) -> dict[str, int]:
    with db.session() as session:
        return dict(
            session.execute(select(ProjectCounter.project_key, ProjectCounter.last_number)).all()
        )


def test_a_read_then_write_batch_leaves_the_lock_to_others_until_it_writes(
    two_writers: tuple[Database, Connection],
) -> None:
    db, other = two_writers
    with db.session() as session:
        session.add(ProjectCounter(project_key="A", last_number=1))
    with db.read_then_write() as session:
        counter = session.get(ProjectCounter, "A")
        assert counter is not None
        other.execute("INSERT INTO project_counters VALUES ('B', 1)")  # not refused
        counter.last_number = 2
    assert _counters(db) == {"A": 2, "B": 1}
    with db.batch() as session:  # the lock from the start, as a batch with savepoints needs
        session.get(ProjectCounter, "A")
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("INSERT INTO project_counters VALUES ('C', 1)")


def test_a_row_another_writer_changed_meanwhile_is_not_overwritten(
    two_writers: tuple[Database, Connection],
) -> None:
    db, other = two_writers
    with db.session() as session:
        session.add_all([ProjectCounter(project_key=k, last_number=1) for k in "AB"])
    with pytest.raises(ChangedMeanwhile, match="ProjectCounter A"), db.read_then_write() as s:
        a, b = s.get(ProjectCounter, "A"), s.get(ProjectCounter, "B")
        assert a is not None and b is not None
        other.execute("UPDATE project_counters SET last_number = 7 WHERE project_key = 'A'")
        a.last_number, b.last_number = 2, 2
    assert _counters(db) == {"A": 7, "B": 1}  # the other's change stands; ours is all undone
    # A row the other writer changed that the batch only read is no conflict.
    with db.read_then_write() as s:
        a, b = s.get(ProjectCounter, "A"), s.get(ProjectCounter, "B")
        assert a is not None and b is not None
        other.execute("UPDATE project_counters SET last_number = 8 WHERE project_key = 'A'")
        b.last_number = 3
    assert _counters(db) == {"A": 8, "B": 3}


def test_a_row_with_a_key_of_two_columns_changed_meanwhile_is_found(
    two_writers: tuple[Database, Connection],
) -> None:
    db, other = two_writers
    with db.session() as session:
        session.add_all(
            [Cursor(account="a", folder=f, uidvalidity=1, last_uid=1) for f in ("INBOX", "Old")]
        )
    with pytest.raises(ChangedMeanwhile, match="Cursor a/INBOX"), db.read_then_write() as s:
        cursors = s.scalars(select(Cursor)).all()
        other.execute("UPDATE cursors SET last_uid = 9 WHERE folder = 'INBOX'")
        for cursor in cursors:
            cursor.last_uid = 5


def test_a_write_waits_for_the_lock_another_holds_then_takes_it(
    two_writers: tuple[Database, Connection],
) -> None:
    db, other = two_writers
    other.execute("BEGIN IMMEDIATE")
    written = threading.Event()

    def write() -> None:
        with db.session() as session:  # an implicit transaction: begun by the write
            session.add(ProjectCounter(project_key="A", last_number=1))
        written.set()

    writer = threading.Thread(target=write)
    writer.start()
    assert not written.wait(0.2)  # waiting for the lock, not refused
    other.execute("COMMIT")
    writer.join(30)
    assert written.is_set() and _counters(db) == {"A": 1}
    # What it asked while it waited is undone: the connection waits as long as ever.
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == SQLITE_BUSY_TIMEOUT_MS


def test_a_lock_held_past_the_busy_timeout_is_said_as_sqlite_says_it(
    two_writers: tuple[Database, Connection], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, other = two_writers
    monkeypatch.setattr(mailbot.storage.db, "SQLITE_BUSY_TIMEOUT_MS", 100)
    other.execute("BEGIN IMMEDIATE")
    for opened in (db.batch, db.session):  # the lock taken at once, or by the first write
        with pytest.raises(OperationalError, match="locked") as raised, opened() as session:
            session.add(ProjectCounter(project_key="A", last_number=1))
            session.flush()
        assert database_unavailable(raised.value)  # no bug: the work loop tries again
    other.execute("COMMIT")
    assert _counters(db) == {}
    with db.batch() as session:  # the lock free again: taken at once
        session.add(ProjectCounter(project_key="A", last_number=1))
    assert _counters(db) == {"A": 1}
