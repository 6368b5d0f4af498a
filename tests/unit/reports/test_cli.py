"""`mailbot summary` and `mailbot digest` on a real config file and database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.cli import main
from mailbot.config import load_config
from mailbot.reports.summary import make_summary
from mailbot.storage.models import OutboxMail, Report
from tests.unit.reports.conftest import Bot

CONFIG = """
[mailbox]
name = "local"
kind = "maildir"
path = "Maildir"

[database]
url = "sqlite:///mb.sqlite3"

[site]
name = "Northwind Digital"
address = "team@agency.example"

[outbox]
directory = "outbox"

[schedules]
timezone = "Asia/Shanghai"
summary_hold = true

[[projects]]
key = "ACME"
name = "ACME web shop"
client_domains = ["acme.example"]
pm = "lena@agency.example"

[[projects]]
key = "HX"
name = "华信物流"
client_domains = ["huaxin.example"]
language = "zh-Hans"
pm = "wang@agency.example"

[[projects]]
key = "TW"
name = "福爾摩沙書店"
client_domains = ["formosa.example"]
language = "zh-Hant"
pm = "lena@agency.example"
"""


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Bot, str]]:
    bot = Bot(tmp_path)  # the same database and Maildir as the config file below
    bot.deliver("张伟 <zhang.wei@huaxin.example>", "运单查询页面打不开")
    bot.deliver("Anna <anna@acme.example>", "Checkout fails")
    bot.run()
    path = tmp_path / "mailbot.toml"
    path.write_text(CONFIG, encoding="utf-8")
    yield bot, str(path)
    bot.db.dispose()


def summaries(bot: Bot) -> list[OutboxMail]:
    with bot.db.session() as s:
        return list(s.scalars(select(OutboxMail).where(OutboxMail.kind == "summary")))


def test_preview_prints_and_records_nothing(
    setup: tuple[Bot, str], capsys: pytest.CaptureFixture[str]
) -> None:
    bot, config = setup
    assert main(["--config", config, "summary", "--project", "HX"]) == 0
    out = capsys.readouterr().out
    assert "To: zhang.wei@huaxin.example" in out
    assert "Subject: 华信物流项目周报" in out and "HX-1  运单查询页面打不开" in out
    assert summaries(bot) == []
    with bot.db.session() as s:
        assert s.scalars(select(Report)).all() == []


def test_preview_as_json(setup: tuple[Bot, str], capsys: pytest.CaptureFixture[str]) -> None:
    _bot, config = setup
    assert main(["--config", config, "summary", "--project", "ACME", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["recipients"] == ["anna@acme.example"]
    assert [x["ref"] for x in found["in_progress"]] == ["ACME-1"]
    assert found["status"] == "on_track" and found["period"].startswith("20")
    assert found["subject"].startswith("ACME web shop: progress report, week ")


def test_send_twice_sends_once(setup: tuple[Bot, str], capsys: pytest.CaptureFixture[str]) -> None:
    bot, config = setup
    args = ["--config", config, "summary", "--project", "TW", "--send", "--period", "2026-W48"]
    assert main(["--config", config, "summary", "--project", "HX", "--send"]) == 0
    assert "was queued to zhang.wei@huaxin.example" in capsys.readouterr().out
    assert main(["--config", config, "summary", "--project", "HX", "--send"]) == 0
    assert "already sent" in capsys.readouterr().out
    assert len(summaries(bot)) == 1
    assert list((bot.folder / "outbox").glob("*-summary.eml"))  # delivered at once
    assert main(args) == 0  # TW has no items at all
    assert "nothing to report" in capsys.readouterr().out


def test_release_a_held_summary(setup: tuple[Bot, str], capsys: pytest.CaptureFixture[str]) -> None:
    bot, config = setup
    held = make_summary(
        bot.db, load_config(config), load_config(config).projects[1], datetime.now(UTC), hold=True
    )
    assert held.result == "held" and summaries(bot) == []
    assert main(["--config", config, "summary", "--release", "HX"]) == 0
    assert "was released to zhang.wei@huaxin.example" in capsys.readouterr().out
    assert len(summaries(bot)) == 1
    assert main(["--config", config, "summary", "--release", "HX", "--period", held.period]) == 0
    assert "already sent" in capsys.readouterr().out
    assert main(["--config", config, "summary", "--release", "ACME"]) == 2
    err = capsys.readouterr().err
    assert "no held summary" in err and "--send" in err


def test_user_errors_say_what_to_do(
    setup: tuple[Bot, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _bot, config = setup
    assert main(["--config", config, "summary", "--project", "NOPE"]) == 2
    assert "use one of the project keys: ACME, HX, TW" in capsys.readouterr().err
    assert main(["--config", config, "summary", "--project", "HX", "--period", "48"]) == 2
    assert "YYYY-Www" in capsys.readouterr().err


def test_digest_preview_and_send(
    setup: tuple[Bot, str], capsys: pytest.CaptureFixture[str]
) -> None:
    bot, config = setup
    assert main(["--config", config, "digest"]) == 0
    out = capsys.readouterr().out
    assert "To: lena@agency.example" in out and "To: wang@agency.example" in out
    assert "ACME-1" in out
    assert main(["--config", config, "digest", "--send"]) == 0
    assert "queued for lena@agency.example" in capsys.readouterr().out
    assert main(["--config", config, "digest", "--send", "--json"]) == 0
    results = [json.loads(line)["result"] for line in capsys.readouterr().out.splitlines()]
    assert results == ["exists", "exists"]
    assert len(list((bot.folder / "outbox").glob("*-digest.eml"))) == 2
