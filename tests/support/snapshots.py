"""Snapshot files: rendered output compared with a reviewed copy kept in git.

A snapshot is only ever written on purpose: a missing or changed one fails the test.
After a deliberate change, run the tests with MAILBOT_UPDATE_SNAPSHOTS=1, read the
difference (`git diff`) and commit the files with the change.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

UPDATE_ENV = "MAILBOT_UPDATE_SNAPSHOTS"


def updating() -> bool:
    """True when this run was asked to write the snapshots."""
    return os.environ.get(UPDATE_ENV) == "1"


class Snapshots:
    """The snapshot files of one test folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def check(self, name: str, actual: str | None) -> None:
        """Compare `actual` with the file `name`; MAILBOT_UPDATE_SNAPSHOTS=1 writes it instead."""
        path = self.folder / name
        if actual is None:
            pytest.fail(f"nothing was rendered for the snapshot {name}", pytrace=False)
        if updating():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(actual, encoding="utf-8")
            return
        if not path.exists():
            pytest.fail(
                f"snapshot {path} is missing: write it with {UPDATE_ENV}=1, "
                "read it and commit it with the test",
                pytrace=False,
            )
        assert actual == path.read_text(encoding="utf-8"), (
            f"{name} changed; review the difference and rerun with {UPDATE_ENV}=1"
        )
