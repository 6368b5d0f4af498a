"""The snapshot helper: a snapshot is written only when asked, never by a test that passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.snapshots import UPDATE_ENV, Snapshots

pytestmark = pytest.mark.no_database


@pytest.fixture
def not_updating(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(UPDATE_ENV, raising=False)


@pytest.mark.usefixtures("not_updating")
def test_a_missing_snapshot_fails_and_says_how_to_write_it(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match=f"missing: write it with {UPDATE_ENV}=1"):
        Snapshots(tmp_path).check("new.txt", "Hello")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.usefixtures("not_updating")
def test_a_changed_snapshot_fails_and_is_left_as_it_was(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Hello", encoding="utf-8")
    Snapshots(tmp_path).check("a.txt", "Hello")
    with pytest.raises(AssertionError, match=r"a\.txt changed"):
        Snapshots(tmp_path).check("a.txt", "Goodbye")
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "Hello"


@pytest.mark.usefixtures("not_updating")
def test_nothing_rendered_is_a_failure(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text("", encoding="utf-8")
    with pytest.raises(pytest.fail.Exception, match="nothing was rendered"):
        Snapshots(tmp_path).check("a.html", None)


def test_snapshots_are_written_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(UPDATE_ENV, "1")
    Snapshots(tmp_path / "snapshots").check("a.txt", "Hello")
    Snapshots(tmp_path / "snapshots").check("a.txt", "Hello again")
    assert (tmp_path / "snapshots" / "a.txt").read_text(encoding="utf-8") == "Hello again"
