"""Test state built once per session and copied into each test's own folder.

Filing a handful of mails through the real pipeline takes a few tenths of a second;
copying the folder it leaves (Maildir, outbox, SQLite file) takes milliseconds. A
fixture builds the state once in a session folder and copies it per test, so every
test still starts from its own untouched copy.

On PostgreSQL the database is not a file in the folder, so there the fixtures build
the state for each test, as before.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.databases import postgres_url


@dataclass(frozen=True)
class Prepared:
    """A folder of built state and the number of mails its bot delivered."""

    folder: Path
    mails: int

    def copy_to(self, target: Path) -> None:
        shutil.copytree(self.folder, target, dirs_exist_ok=True)


def prepare_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], int]
) -> Prepared | None:
    """Run `build(folder)` (it returns how many mails it delivered) in a session folder.

    None on PostgreSQL: there each test builds its own state.
    """
    if postgres_url() is not None:
        return None
    folder = tmp_path_factory.mktemp(name)
    mails = build(folder)
    leftovers = sorted(p.name for p in folder.rglob("*-wal"))
    if leftovers:
        raise RuntimeError(f"{name}: close the database before copying; found {leftovers}")
    return Prepared(folder, mails)
