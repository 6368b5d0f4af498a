"""Running the suite on PostgreSQL: one fresh database per test database the test opens.

Set MAILBOT_TEST_DATABASE_URL to a server URL (e.g.
postgresql+psycopg://postgres@127.0.0.1/postgres); every SQLite URL a test uses
is then mapped to a database of its own on that server, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ENV = "MAILBOT_TEST_DATABASE_URL"


def postgres_url() -> str | None:
    return os.environ.get(ENV) or None


class PostgresDatabases:
    def __init__(self, server_url: str) -> None:
        self.server_url = make_url(server_url)
        self.admin = create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        self.mapped: dict[str, str] = {}

    def rewrite(self, url: str) -> str:
        if not url.startswith("sqlite:"):
            return url
        if url not in self.mapped:
            name = f"mbt_{uuid.uuid4().hex[:12]}"
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            target = self.server_url.set(database=name)
            self.mapped[url] = target.render_as_string(hide_password=False)
        return self.mapped[url]

    def drop_all(self) -> None:
        with self.admin.connect() as conn:
            for url in self.mapped.values():
                name = make_url(url).database
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.mapped.clear()
        self.admin.dispose()
