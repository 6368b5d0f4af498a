"""`mailbot demo` runs the real pipeline on the bundled inbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.cli import main
from mailbot.demo import MAILS_DIR


def test_demo_runs_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workdir = tmp_path / "demo"
    assert main(["demo", "--dir", str(workdir)]) == 0
    out = capsys.readouterr().out
    bundled = len(list(MAILS_DIR.glob("*.eml")))
    assert bundled >= 9
    assert f"{bundled} mails read" in out and f"{bundled} stored, 0 failed" in out
    assert "紧急：后台登录不了" in out and "noise: auto_reply" in out
    assert not any((workdir / "inbox" / "new").iterdir())
    # Running it again starts afresh.
    assert main(["demo", "--dir", str(workdir)]) == 0
    assert f"{bundled} stored" in capsys.readouterr().out
