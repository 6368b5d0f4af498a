"""A Maildir inbox filed by the real pipeline (SubjectTriage), and the `mailbot` command."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mailbot.cli import main
from mailbot.config import load_config
from tests.support.pipeline import MaildirBot

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


class Bot(MaildirBot):
    """The bot on the config file above, which the `mailbot` command reads too."""

    def __init__(self, tmp_path: Path) -> None:
        self.config_path = tmp_path / "mailbot.toml"
        self.config_path.write_text(CONFIG, encoding="utf-8")
        super().__init__(
            tmp_path,
            config=load_config(self.config_path),
            date=datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
        )

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
