"""`mailbot queue export-corrections`: a hidden old name for `mailbot model export-corrections`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.queue_bot import Bot


def test_the_old_name_still_exports_and_says_where_the_command_is_now(
    filed: Bot, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    filed.cli_json(capsys, "queue", "reclassify", "ACME-2", "feedback")
    out = tmp_path / "corrections.jsonl"
    code, stdout, stderr = filed.cli(
        capsys, "queue", "export-corrections", "--out", str(out), "--json"
    )
    assert code == 0
    assert json.loads(stdout) == {"out": str(out), "examples": 1}
    assert "`mailbot queue export-corrections` is now `mailbot model export-corrections`" in stderr
    code, stdout, stderr = filed.cli(capsys, "model", "export-corrections", "--out", str(out))
    assert (code, stdout, stderr) == (0, f"wrote 1 correction to {out}\n", "")


def test_only_the_model_command_is_listed(capsys: pytest.CaptureFixture[str]) -> None:
    from mailbot.cli import main

    with pytest.raises(SystemExit):
        main(["queue", "--help"])
    assert "export-corrections" not in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["model", "--help"])
    assert "export-corrections" in capsys.readouterr().out
