"""`mailbot parse`: readable output, and the JSON contract scripts rely on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailbot.cli import main

pytestmark = pytest.mark.no_database

CORPUS = Path(__file__).parents[2] / "fixtures" / "corpus"
GB2312 = CORPUS / "apache-spamassassin/nice/cjk/gb2312.2"
BOUNCE = CORPUS / "sisimai-set-of-emails/maildir/bsd/lhost-postfix-01.eml"
CONTRACT = {"file", "message_id", "subject", "from", "new_text", "signals", "defects", "error"}


def _json_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_json_one_object_per_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", "--json", str(GB2312), str(BOUNCE)]) == 0
    first, second = _json_lines(capsys)
    assert set(first) >= CONTRACT and set(second) >= CONTRACT
    assert first["file"] == str(GB2312)
    assert first["subject"] == "RE: 装硬碟问题"
    assert first["from"] == "Jason Lee (李展锋) <jason_lee@quantatw.com>"
    assert first["error"] is None
    assert isinstance(first["new_text"], str) and "假设你的硬碟是IDE介面" in first["new_text"]
    assert first["signals"] == {
        "auto_reply": False,
        "bounce": False,
        "bulk": True,
        "reasons": ["header Precedence: list", "header list-unsubscribe"],
    }
    assert second["signals"]["bounce"] is True  # type: ignore[index]


def test_json_errors_are_sentences_and_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    empty = tmp_path / "empty.eml"
    empty.write_bytes(b"")
    missing = tmp_path / "missing.eml"
    assert main(["parse", "--json", str(GB2312), str(empty), str(missing)]) == 1
    ok, bad, absent = _json_lines(capsys)
    assert ok["error"] is None
    for row in (bad, absent):
        assert set(row) >= CONTRACT
        assert isinstance(row["error"], str) and row["error"].endswith(".")
        assert row["message_id"] is None
    assert "empty" in str(bad["error"])
    assert "Cannot read" in str(absent["error"])


def test_readable_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", str(BOUNCE)]) == 0
    out = capsys.readouterr().out
    assert f"== {BOUNCE}" in out
    assert "Subject:     Undelivered Mail Returned to Sender" in out
    assert "Signals:     auto-reply, bounce" in out
    assert "New text:" in out


def test_readable_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01\x02" * 100)
    assert main(["parse", str(junk)]) == 1
    assert "Error: " in capsys.readouterr().out
