"""The PM's queue end to end: real Dovecot in, the shipped triage model, real SMTP out.

A reclassification changes the item and becomes a training example; a status
update with --notify reaches a Chinese client once, in Chinese, in their thread.
"""

from __future__ import annotations

import email
import json
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.app import build_pipeline
from mailbot.cli import main
from mailbot.config import Config, load_config
from mailbot.outgoing.delivery import deliver_outbox
from mailbot.storage.db import open_database
from mailbot.storage.models import Correction, Item, OutboxMail
from tests.servers import DovecotAccount
from tests.servers.smtp import SmtpSink
from tests.support.configs import write_config

pytestmark = pytest.mark.integration

HX = {"key": "HX", "name": "华信物流", "client_domains": ["huaxin.example"], "language": "zh-Hans"}
SITE = {"name": "Agency team", "address": "team@agency.example"}
OTHER = {"issue": "change_request", "change_request": "issue", "feedback": "issue"}
NEXT = {"issue": "in_progress", "change_request": "under_review", "feedback": "noted"}


def chinese_mail() -> bytes:
    msg = email.message.EmailMessage(policy=policy.SMTP)
    msg["From"] = "王芳 <wangfang@huaxin.example>"
    msg["To"] = "Agency team <team@agency.example>"
    msg["Subject"] = "后台登录不了"
    msg["Message-ID"] = "<c1@client>"
    msg["Date"] = "Mon, 23 Nov 2026 10:00:00 +0800"
    msg.set_content("你好，从今天上午开始运营后台一直登录不了，提示系统错误，麻烦尽快处理。")
    return bytes(msg)


def setup(tmp_path: Path, account: DovecotAccount, sink: SmtpSink) -> tuple[Path, Config]:
    path = write_config(
        tmp_path / "mailbot.toml",
        account.mailbox_config(),
        "sqlite:///mb.sqlite3",
        projects=[HX],
        smtp_port=sink.port,
        site=SITE,
    )
    config = load_config(path)
    account.append("INBOX", chinese_mail())
    run_once(config)
    return path, config


def run_once(config: Config) -> None:
    db = open_database(config.database_url)
    try:
        build_pipeline(config, db).run_once()
    finally:
        db.dispose()


def item(config: Config) -> Item:
    db = open_database(config.database_url)
    try:
        with db.session() as s:
            return s.scalars(select(Item)).one()
    finally:
        db.dispose()


def cli(capsys: pytest.CaptureFixture[str], path: Path, *argv: str) -> dict[str, object]:
    capsys.readouterr()
    code = main(["--config", str(path), *argv, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def test_a_reclassification_changes_the_item_and_is_exported_for_training(
    imap_account: DovecotAccount,
    smtp_sink: SmtpSink,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, config = setup(tmp_path, imap_account, smtp_sink)
    before = item(config)
    assert before.ref == "HX-1"
    wanted = OTHER[before.category]
    result = cli(capsys, path, "queue", "reclassify", "HX-1", wanted, "--actor", "lena")
    assert result["category"] == wanted
    after = item(config)
    assert (after.category, after.status) == (wanted, result["status"])
    assert after.status in ("new", "submitted", "received")  # the new lifecycle's first status

    out = tmp_path / "corrections.jsonl"
    assert cli(capsys, path, "model", "export-corrections", "--out", str(out))["examples"] == 1
    [example] = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert example["label"] == wanted and example["source"] == "correction"
    assert example["text"].startswith("后台登录不了\n你好，从今天上午开始")
    assert example["lang"] == before.language
    db = open_database(config.database_url)
    try:
        with db.session() as s:
            [correction] = s.scalars(select(Correction))
            assert (correction.old_value, correction.actor) == (before.category, "lena")
    finally:
        db.dispose()


def test_status_notify_sends_one_chinese_threaded_mail(
    imap_account: DovecotAccount,
    smtp_sink: SmtpSink,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, config = setup(tmp_path, imap_account, smtp_sink)
    acks = len(smtp_sink.messages)
    assert acks == 1  # the acknowledgement
    filed = item(config)
    status = NEXT[filed.category]
    result = cli(
        capsys, path, "queue", "status", "HX-1", status, "--notify", "--note", "工程师已在排查"
    )
    assert result["delivered_now"] == 1

    [received] = smtp_sink.messages[acks:]
    assert list(received.rcpt_tos) == ["wangfang@huaxin.example"]
    mail = email.message_from_bytes(received.content, policy=policy.default)  # type: ignore[arg-type]
    assert mail["In-Reply-To"] == "<c1@client>" and "<c1@client>" in mail["References"]
    assert mail["Subject"] == "Re: 后台登录不了 [HX-1]"
    assert mail["Content-Language"] == "zh-Hans"
    body = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "HX-1" in body and "工程师已在排查" in body and "您好" in body
    assert item(config).first_response_at is not None  # the status mail was the first answer

    # Another pipeline run and another drain send nothing more.
    run_once(config)
    db = open_database(config.database_url)
    try:
        assert deliver_outbox(db, config).sent == 0
        with db.session() as s:
            kinds = sorted(m.kind for m in s.scalars(select(OutboxMail)))
    finally:
        db.dispose()
    assert kinds == ["ack", "status"]
    assert len(smtp_sink.messages) == acks + 1
