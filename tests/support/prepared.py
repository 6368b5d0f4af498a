"""Test state built once per session and copied into each test's own folder.

Filing a handful of mails through the real pipeline takes a few tenths of a second (more
on PostgreSQL); copying what it leaves takes milliseconds. A fixture builds the state
once in a session folder, and each test gets its own untouched copy: the folder
(Maildir, outbox, SQLite file) and, on PostgreSQL, its databases, made with
`CREATE DATABASE ... TEMPLATE`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.databases import PostgresDatabases, PostgresServer


@dataclass(frozen=True)
class Prepared:
    """A folder of built state, the number of mails its bot delivered and, on PostgreSQL,
    the server databases behind the folder's SQLite URLs."""

    folder: Path
    mails: int
    server: PostgresServer | None = None
    databases: dict[str, str] = field(default_factory=dict)  # SQLite URL -> template name

    def copy_to(self, target: Path) -> None:
        """Copy the state into `target`; call it from a test, after `database_backend`."""
        shutil.copytree(self.folder, target, dirs_exist_ok=True)
        if self.server is None:
            return
        current = self.server.current
        assert current is not None, "copy prepared state inside a test (database_backend)"
        for url, template in self.databases.items():
            current.clone(url.replace(str(self.folder), str(target)), template)


def prepare_once(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    build: Callable[[Path], int],
    server: PostgresServer | None,
) -> Prepared:
    """Run `build(folder)` in a session folder; it returns how many mails it delivered.

    `build` must close its databases before it returns.
    """
    folder = tmp_path_factory.mktemp(name)
    if server is None:
        mails = build(folder)
        leftovers = sorted(p.name for p in folder.rglob("*-wal"))
        if leftovers:
            raise RuntimeError(f"{name}: close the database before copying; found {leftovers}")
        return Prepared(folder, mails)
    databases = PostgresDatabases(server)
    with databases.installed():
        mails = build(folder)
    kept = {url: server.keep(target) for url, target in databases.mapped.items()}
    return Prepared(folder, mails, server, kept)
