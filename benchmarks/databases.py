"""The database of a benchmark's measure: a SQLite file, or a throw-away database made on a
PostgreSQL server and dropped at the end."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


class Databases:
    """A database for each measure: a SQLite file, or a throw-away one on a PostgreSQL server."""

    def __init__(self, server_url: str | None) -> None:
        self.server_url = server_url
        self.made: list[str] = []

    def new(self, folder: Path) -> str:
        if self.server_url is None:
            return f"sqlite:///{folder}/mb.sqlite3"
        name = f"mailbot_bench_{uuid.uuid4().hex[:12]}"
        with self._admin() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.made.append(name)
        return make_url(self.server_url).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if not self.made:
            return
        with self._admin() as conn:
            for name in self.made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.made.clear()

    @contextmanager
    def _admin(self) -> Iterator:  # type: ignore[type-arg]
        assert self.server_url is not None
        engine = create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()
