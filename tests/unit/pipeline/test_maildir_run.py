"""The ingest runner over a Maildir: stored once, moved after commit, failures kept."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailbot.cli import main
from mailbot.cli.cmd_run import YOUNG_OBJECTS
from mailbot.config import Config
from mailbot.config_types import AckConfig, Folders, MailboxConfig
from mailbot.sources.maildir import ensure_maildir, maildir_folder
from mailbot.storage.db import open_database
from mailbot.storage.models import Blob, Event, Location, MessageState, StoredMessage
from tests.support.mails import make_mails
from tests.support.pipeline import make_pipeline

NOT_A_MAIL = b"\x00\x01\x02\x03" * 64  # binary noise with no headers


def deliver(root: Path, name: str, data: bytes) -> None:
    (root / "new" / name).write_bytes(data)


@pytest.fixture
def maildir(tmp_path: Path) -> Path:
    root = tmp_path / "Maildir"
    ensure_maildir(root)
    return root


def make_config(tmp_path: Path, root: Path, **kw: object) -> Config:
    box = MailboxConfig(name="local", kind="maildir", path=root, folders=Folders(), batch_size=3)
    kw.setdefault("retry_delay", 0.0)  # each run retries what failed in the last one
    kw.setdefault("acknowledgements", AckConfig(enabled=False))  # intake and storage alone
    return Config(mailboxes=(box,), database_url=f"sqlite:///{tmp_path}/mb.sqlite3", **kw)  # type: ignore[arg-type]


def files(root: Path, folder: str) -> list[Path]:
    base = maildir_folder(root, folder)
    return sorted(p for sub in ("new", "cur") for p in (base / sub).iterdir())


def test_messages_are_stored_once_and_moved(tmp_path: Path, maildir: Path) -> None:
    mails = make_mails(7)
    for i, data in enumerate(mails):
        deliver(maildir, f"17000000{i:02d}.M{i}.host", data)
    config = make_config(tmp_path, maildir)
    db = open_database(config.database_url)
    stats = make_pipeline(config, db).run_once()
    assert (stats.fetched, stats.stored, stats.failed) == (7, 7, 0)
    assert files(maildir, "INBOX") == []
    moved = files(maildir, "mailbot/processed")
    assert sorted(p.read_bytes() for p in moved) == sorted(mails)
    # Running again changes nothing.
    assert make_pipeline(config, db).run_once().fetched == 0
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(StoredMessage)) == 7
        assert s.scalar(select(func.count()).select_from(Location)) == 7
        assert all(loc.server_done for loc in s.scalars(select(Location)))
        assert s.scalar(select(func.count()).select_from(Event).where(Event.kind == "stored")) == 7


def test_same_bytes_delivered_twice_is_one_message(tmp_path: Path, maildir: Path) -> None:
    data = make_mails(1)[0]
    deliver(maildir, "1.M1.host", data)
    deliver(maildir, "2.M2.host", data)
    config = make_config(tmp_path, maildir)
    db = open_database(config.database_url)
    stats = make_pipeline(config, db).run_once()
    assert (stats.stored, stats.duplicates) == (1, 1)
    assert len(files(maildir, "mailbot/processed")) == 2


def test_bad_input_is_kept_and_set_aside_after_max_attempts(tmp_path: Path, maildir: Path) -> None:
    deliver(maildir, "1.M1.host", NOT_A_MAIL)
    deliver(maildir, "2.M2.host", make_mails(1)[0])
    config = make_config(tmp_path, maildir, max_attempts=3)
    db = open_database(config.database_url)
    ingest = make_pipeline(config, db)
    first = ingest.run_once()
    assert (first.stored, first.failed) == (1, 1)
    assert [p.read_bytes() for p in files(maildir, "mailbot/failed")] == [NOT_A_MAIL]
    with db.session() as s:
        bad = s.scalars(select(StoredMessage).where(StoredMessage.state == "failed")).one()
        assert bad.state == MessageState.FAILED and "not an email" in (bad.error or "").lower()
        # The original bytes stay retrievable, byte for byte.
        assert s.get(Blob, bad.sha256).data == NOT_A_MAIL  # type: ignore[union-attr]
    ingest.run_once()  # attempt 2
    with db.session() as s:
        assert s.get(StoredMessage, bad.id).state == MessageState.FAILED  # type: ignore[union-attr]
    assert ingest.run_once().set_aside == 1  # attempt 3 fails: set aside
    assert ingest.run_once().retried == 0  # and never retried again
    with db.session() as s:
        row = s.get(StoredMessage, bad.id)
        assert row is not None and row.state == MessageState.SET_ASIDE and row.attempts == 3
        kinds = [e.kind for e in s.scalars(select(Event).where(Event.message_pk == bad.id))]
        # Persist first: stored as it came, then each parse attempt, then set aside.
        assert kinds == ["stored", "failed", "retry_failed", "retry_failed", "set_aside"]


def test_crash_between_commit_and_move_is_finished_next_run(
    tmp_path: Path, maildir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i, data in enumerate(make_mails(4)):
        deliver(maildir, f"{i}.M{i}.host", data)
    config = make_config(tmp_path, maildir)
    db = open_database(config.database_url)

    from mailbot.sources.maildir import MaildirSource

    def crash(self: MaildirSource, mails: object) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(MaildirSource, "mark_processed", crash)
    with pytest.raises(RuntimeError):
        make_pipeline(config, db).run_once()
    monkeypatch.undo()
    assert len(files(maildir, "INBOX")) == 4  # stored (committed) but not moved
    stats = make_pipeline(config, db).run_once()
    assert (stats.stored, stats.duplicates) == (1, 0)  # only the one never stored; no re-import
    assert files(maildir, "INBOX") == [] and len(files(maildir, "mailbot/processed")) == 4
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(StoredMessage)) == 4


def test_flag_in_place_when_no_processed_folder(tmp_path: Path, maildir: Path) -> None:
    deliver(maildir, "1.M1.host", make_mails(1)[0])
    box = MailboxConfig(name="local", kind="maildir", path=maildir, folders=Folders(processed=None))
    config = Config(mailboxes=(box,), database_url=f"sqlite:///{tmp_path}/mb.sqlite3")
    db = open_database(config.database_url)
    assert make_pipeline(config, db).run_once().stored == 1
    assert [p.name for p in (maildir / "cur").iterdir()] == ["1.M1.host:2,S"]
    assert make_pipeline(config, db).run_once().fetched == 0


def test_run_once_and_messages_commands(
    tmp_path: Path, maildir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mails = make_mails(3)
    for i, data in enumerate(mails):
        deliver(maildir, f"{i}.M{i}.host", data)
    cfg = tmp_path / "mailbot.toml"
    cfg.write_text(
        f'[mailbox]\nname = "local"\nkind = "maildir"\npath = "{maildir}"\n'
        f'[database]\nurl = "sqlite:///mb.sqlite3"\n'
    )
    assert main(["--config", str(cfg), "run", "--once"]) == 0
    # What start-up made is set aside from the collector, which looks less often.
    assert gc.get_freeze_count() > 10_000
    assert gc.get_threshold()[0] == YOUNG_OBJECTS
    capsys.readouterr()
    assert main(["--config", str(cfg), "messages", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 3 and {r["state"] for r in rows} == {"answered"}
    assert {"message_id", "from", "subject", "new_text", "signals", "defects"} <= set(rows[0])
    capsysbinary = rows[0]["id"]
    assert main(["--config", str(cfg), "messages", "--raw", str(capsysbinary)]) == 0


def test_a_file_name_used_again_for_other_mail_is_new_mail(tmp_path: Path, maildir: Path) -> None:
    """No delivery agent reuses a Maildir name, but a copy made by hand may: the mail under
    a known name is new mail when its bytes differ, and the same bytes again are not."""
    first, second = make_mails(2)
    config = make_config(tmp_path, maildir)
    db = open_database(config.database_url)
    deliver(maildir, "1.M1.host", first)
    assert make_pipeline(config, db).run_once().stored == 1
    deliver(maildir, "1.M1.host", second)
    stats = make_pipeline(config, db).run_once()
    assert (stats.stored, stats.duplicates) == (1, 0)
    assert files(maildir, "INBOX") == []
    with db.session() as s:
        rows = s.scalars(select(StoredMessage).order_by(StoredMessage.id)).all()
        assert [r.state for r in rows] == [MessageState.ANSWERED] * 2
        assert rows[1].subject != rows[0].subject
        assert s.scalar(select(func.count()).select_from(Location)) == 1  # one place, moved on
        stored = s.scalars(select(Event).where(Event.message_pk == rows[1].id)).first()
        assert stored is not None and stored.detail["place_held_before"] == rows[0].id
    deliver(maildir, "1.M1.host", second)  # the same bytes under the same name: known
    assert make_pipeline(config, db).run_once().duplicates == 1
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(StoredMessage)) == 2
