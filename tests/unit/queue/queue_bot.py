"""A Maildir inbox filed by the real pipeline (SubjectTriage), and the `mailbot` command."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.cli import main
from mailbot.config import load_config
from mailbot.outgoing.delivery import deliver_outbox
from mailbot.sources.maildir import ensure_maildir
from mailbot.storage.db import open_database
from mailbot.storage.models import Item
from tests.support.fake_triage import SubjectTriage
from tests.support.pipeline import make_pipeline

CONFIG = """
[mailbox]
kind = "maildir"
path = "Maildir"

[database]
url = "sqlite:///mb.sqlite3"

[site]
name = "Agency"
address = "team@agency.example"

[outbox]
directory = "outbox"

[sla]
issue_hours = 4
change_request_hours = 24
feedback_hours = 48

[[projects]]
key = "ACME"
name = "ACME web shop"
client_domains = ["acme.example"]
pm = "pm@agency.example"
pm_name = "Lena Wu"

[[projects]]
key = "HX"
name = "华信物流"
client_domains = ["huaxin.example"]
language = "zh-Hans"
pm = "pm.hx@agency.example"
"""


class Bot:
    """Mail in through a Maildir, filed by the real pipeline; actions and CLI on its database."""

    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path
        self.root = tmp_path / "Maildir"
        ensure_maildir(self.root)
        self.config_path = tmp_path / "mailbot.toml"
        self.config_path.write_text(CONFIG, encoding="utf-8")
        self.config = load_config(self.config_path)
        self.db = open_database(self.config.database_url)
        self.n = 0

    def deliver(
        self, sender: str, subject: str, body: str = "Text.", *, reply_to: str | None = None
    ) -> str:
        """Drop one mail in the inbox; returns its Message-ID (no brackets)."""
        self.n += 1
        message_id = f"m{self.n}@client"
        thread = f"In-Reply-To: <{reply_to}>\r\nReferences: <{reply_to}>\r\n" if reply_to else ""
        raw = (
            f"From: {sender}\r\nTo: team@agency.example\r\nSubject: {subject}\r\n"
            f"Message-ID: <{message_id}>\r\n{thread}"
            "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
        ).encode()
        (self.root / "new" / f"{self.n}.M{self.n}.host").write_bytes(raw)
        return message_id

    def run(self) -> None:

        make_pipeline(
            self.config,
            self.db,
            triage=SubjectTriage(),
            deliver=lambda: deliver_outbox(self.db, self.config),
        ).run_once()

    def outbox(self) -> list[Path]:
        return sorted((self.dir / "outbox").glob("*.eml"))

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.db.session() as session:
            yield session

    def item(self, session: Session, ref: str) -> Item:
        return session.scalars(select(Item).where(Item.ref == ref)).one()

    def cli(self, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
        """Run `mailbot --config ... ARGV`; returns (exit code, stdout, stderr)."""
        capsys.readouterr()
        code = main(["--config", str(self.config_path), *argv])
        out, err = capsys.readouterr()
        return code, out, err

    def cli_json(self, capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
        code, out, err = self.cli(capsys, *argv, "--json")
        assert code == 0, err
        return json.loads(out)
