"""`mailbot replay`: the real pipeline over an archive, in a throw-away workspace."""

from __future__ import annotations

import hashlib
import json
import mailbox
from datetime import date
from pathlib import Path

import pytest

from mailbot.cli import main
from mailbot.config import load_config
from mailbot.demo import MAILS_DIR, demo_config
from mailbot.replay import (
    ReplayError,
    apply_labels,
    read_labels,
    read_maildir,
    read_mbox,
    replay,
)

# The demo mails and what a PM would say they are (08 and 09 are an auto-reply and a bounce).
TRUE_LABELS = {
    "01-issue-en.eml": "issue",
    "02-change-en.eml": "change_request",
    "03-feedback-en.eml": "feedback",
    "04-issue-zh.eml": "issue",
    "05-change-zh.eml": "change_request",
    "06-feedback-zh.eml": "feedback",
    "07-issue-zh-hant.eml": "issue",
    "08-auto-reply.eml": "none",
    "09-bounce.eml": "none",
    "10-lookalike-en.eml": "none",  # phishing is not client correspondence
    "11-spam-zh.eml": "none",
}


def snapshot(root: Path) -> dict[str, str]:
    """Every file under root (path relative to root) with its SHA-256."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    """The demo's projects, plus a database, an outbox and an SMTP server that must stay unused."""
    folder = tmp_path / "etc"
    folder.mkdir()
    path = folder / "mailbot.toml"
    smtp = '\n[smtp]\nhost = "127.0.0.1"\nport = 9\nsecurity = "none"\n'
    path.write_text(demo_config(date.today()) + smtp, encoding="utf-8")
    return path


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """A Maildir holding the demo mails; one mislabelled on purpose via the header."""
    root = tmp_path / "archive"
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    for mail in sorted(MAILS_DIR.glob("*.eml")):
        label = TRUE_LABELS[mail.name]
        if mail.name == "03-feedback-en.eml":
            label = "change_request"  # a PM disagrees with the model: shows in the confusion
        data = f"X-Mailbot-Label: {label}\r\n".encode() + mail.read_bytes()
        (root / "cur" / f"{mail.name}:2,S").write_bytes(data)
    return root


def test_replay_reports_and_leaves_everything_untouched(
    archive: Path, config_path: Path, tmp_path: Path
) -> None:
    before, config_before = snapshot(archive), snapshot(config_path.parent)
    config = load_config(config_path)
    report = replay(read_maildir(archive), config)
    assert snapshot(archive) == before
    # The real database and outbox were never created; only the config is there.
    assert (
        snapshot(config_path.parent)
        == config_before
        == {"mailbot.toml": config_before["mailbot.toml"]}
    )

    rows = {r.source.split(":")[0]: r for r in report.rows}
    issue = rows["01-issue-en.eml"]
    assert (issue.category, issue.project, issue.item, issue.new_item) == (
        "issue",
        "ACME",
        "ACME-1",
        True,
    )
    assert issue.ack and issue.ack_language == "en"
    assert rows["04-issue-zh.eml"].ack_language == "zh-Hans"
    assert rows["08-auto-reply.eml"].outcome == "noise" and not rows["08-auto-reply.eml"].ack

    totals = report.totals()
    assert totals["messages"] == 11 and totals["failed"] == 0
    assert totals["acknowledgements"] == 7
    assert totals["ack_languages"] == {"en": 3, "zh-Hans": 3, "zh-Hant": 1}

    confusion = report.confusion()
    assert confusion["change_request"] == {"change_request": 2, "feedback": 1}
    # Triage reads the look-alike's payment request as not client mail; because the sender
    # check flags the sender, it is still filed for the PM's review (never answered), under
    # the likeliest client category (which one is the model's guess).
    assert confusion["none"]["none"] == 3
    ((filed_as, times),) = [(k, v) for k, v in confusion["none"].items() if k != "none"]
    assert times == 1 and filed_as in {"issue", "change_request", "feedback"}
    lookalike = rows["10-lookalike-en.eml"]
    assert lookalike.category == filed_as and not lookalike.ack
    assert report.accuracy() == pytest.approx(9 / 11)


def test_mbox_with_a_labels_file(tmp_path: Path, config_path: Path) -> None:
    path = tmp_path / "archive.mbox"
    box = mailbox.mbox(str(path))
    for mail in sorted(MAILS_DIR.glob("*.eml"))[:3]:
        box.add(mail.read_bytes())
    box.add((MAILS_DIR / "01-issue-en.eml").read_bytes())  # the same mail twice
    box.flush()
    box.close()
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "message_id,label\n<demo-1@acme-retail.example>,issue\ndemo-2@acme-retail.example,feedback\n",
        encoding="utf-8",
    )
    before = snapshot(tmp_path)
    mails = apply_labels(read_mbox(path), read_labels(labels))
    report = replay(mails, load_config(config_path))
    assert snapshot(tmp_path) == before
    assert [r.outcome for r in report.rows] == ["filed", "filed", "filed", "duplicate"]
    assert [r.label for r in report.rows] == ["issue", "feedback", None, "issue"]
    # Duplicates and unlabelled mail do not count in the evaluation.
    assert len(report.labelled) == 2
    assert report.confusion() == {"issue": {"issue": 1}, "feedback": {"change_request": 1}}
    assert report.accuracy() == 0.5


def test_bad_archives_and_labels_are_explained(tmp_path: Path) -> None:
    with pytest.raises(ReplayError, match="not a Maildir"):
        read_maildir(tmp_path)
    with pytest.raises(ReplayError, match="not a file"):
        read_mbox(tmp_path / "missing.mbox")
    assert not (tmp_path / "missing.mbox").exists()
    bad = tmp_path / "labels.csv"
    bad.write_text("<x@y>,bug\n", encoding="utf-8")
    with pytest.raises(ReplayError, match="not one of issue, change_request"):
        read_labels(bad)


def test_cli_json_and_table(
    archive: Path, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config_path), "replay", "--maildir", str(archive), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["messages"]) == 11
    assert report["totals"]["acknowledgements"] == 7
    assert report["evaluation"]["labelled"] == 11
    assert report["evaluation"]["confusion"]["issue"] == {"issue": 3}

    assert main(["--config", str(config_path), "replay", "--maildir", str(archive)]) == 0
    text = capsys.readouterr().out
    assert "nothing was sent or changed" in text
    assert "7 acknowledgements would be sent" in text
    assert "Confusion (rows: true label, columns: predicted)" in text
    assert "accuracy 81.8% on 11 labelled messages" in text
