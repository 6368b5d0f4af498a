"""`mailbot demo` runs the real pipeline on the bundled inbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.cli import main
from mailbot.demo import MAILS_DIR


def test_demo_runs_and_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], database_backend: str
) -> None:
    workdir = tmp_path / "demo"
    assert main(["demo", "--dir", str(workdir)]) == 0
    out = capsys.readouterr().out
    bundled = len(list(MAILS_DIR.glob("*.eml")))
    assert f"{bundled} client mails read" in out and f"{bundled} stored, {bundled} filed" in out
    # The queue: items per project, noise not answered.
    for ref in ("ACME-1", "ACME-2", "ACME-3", "HX-1", "HX-2", "HX-3", "FH-1"):
        assert ref in out
    assert out.count("not answered") == 3 + 1  # and once in the heading
    # The Chinese invoice spam is filed as spam; the look-alike "Anna" asking for a payment
    # to a new account is flagged for review and escalated, and never answered.
    assert "spam            not answered" in out and "代开各类增值税发票" in out
    [lookalike] = [line for line in out.splitlines() if "acme-retai1.example" in line]
    assert "!?" in lookalike
    # One acknowledgement per new item, shown in both languages.
    acks = sorted((workdir / "outbox").glob("*-ack.eml"))
    assert len(acks) == 7
    # 紧急 ("urgent") escalates HX-1 to its PM at once.
    assert [p.name for p in (workdir / "outbox").glob("*-escalation.eml")] != []
    # The Chinese PM's digest, and the Chinese client's weekly report with its milestones.
    assert "the PM digest for 周明 <zhou@agency.example>" in out and "紧急 1 项" in out
    assert "weekly progress report for 华信物流运输管理系统, this week so far" in out
    assert "里程碑：\n  - 需求确认：已完成\n  - 系统联调：" in out
    assert "总体情况：存在风险（紧急问题HX-1尚未解决）。" in out
    assert "Subject: Re: Checkout fails with error 500 since this morning [ACME-1]" in out
    assert "Subject: Re: 紧急：后台登录不了 [HX-1]" in out and "4个工作小时内" in out
    assert not any((workdir / "inbox" / "new").iterdir())
    if database_backend != "sqlite":
        return  # the demo starts afresh by deleting its SQLite file; a server database stays
    # Running it again starts afresh.
    assert main(["demo", "--dir", str(workdir)]) == 0
    assert f"{bundled} stored" in capsys.readouterr().out
    assert len(list((workdir / "outbox").glob("*-ack.eml"))) == 7
