"""Corrections teach the model: reclassifications become training examples, moves do not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailbot.items import actions as qa
from mailbot.items.corrections import correction_records, export_corrections
from mailbot.triage.data import read_records, split_of
from tests.support.queue_bot import Bot


def lines(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_reclassification_is_exported_in_the_training_format(filed: Bot, tmp_path: Path) -> None:
    with filed.session() as s:
        qa.reclassify(s, filed.config, "HX-1", "change_request", actor="lena")
    out = tmp_path / "corrections.jsonl"
    with filed.session() as s:
        assert export_corrections(s, out) == 1
    [example] = lines(out)
    assert set(example) == {"text", "label", "lang", "source", "id"}
    assert example["text"] == "后台登录不了\n你好，后台一直登录不了。"
    assert (example["label"], example["lang"], example["source"]) == (
        "change_request",
        "zh-Hans",
        "correction",
    )
    # `mailbot model train --data` reads it as it is.
    [record] = read_records(out)
    assert (record.label, record.body, record.id) == (
        "change_request",
        example["text"],
        example["id"],
    )


def test_the_latest_correction_of_a_message_wins(filed: Bot, tmp_path: Path) -> None:
    with filed.session() as s:
        qa.reclassify(s, filed.config, "ACME-1", "change_request", actor="lena")
    with filed.session() as s:
        qa.reclassify(s, filed.config, "ACME-1", "feedback", actor="lena")
        records = correction_records(s)
    assert [r.label for r in records] == ["feedback", "feedback"]  # two client messages
    assert len({r.id for r in records}) == 2
    assert all(split_of(r.id) in ("train", "dev", "test") for r in records)


def test_ids_are_stable_between_exports(filed: Bot, tmp_path: Path) -> None:
    with filed.session() as s:
        qa.reclassify(s, filed.config, "ACME-2", "issue", actor="lena")
        export_corrections(s, tmp_path / "a.jsonl")
    with filed.session() as s:
        qa.reclassify(s, filed.config, "HX-1", "feedback", actor="lena")
        export_corrections(s, tmp_path / "b.jsonl")
    first = {e["id"]: e for e in lines(tmp_path / "a.jsonl")}
    second = {e["id"]: e for e in lines(tmp_path / "b.jsonl")}
    assert set(first) < set(second) and all(second[k] == v for k, v in first.items())


def test_project_moves_are_recorded_but_not_exported(filed: Bot, tmp_path: Path) -> None:
    with filed.session() as s:
        qa.move(s, filed.config, "ACME-2", "HX", actor="lena")
        assert export_corrections(s, tmp_path / "c.jsonl") == 0
    assert (tmp_path / "c.jsonl").read_text() == ""


def test_the_export_sub_command(
    filed: Bot, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    filed.cli_json(capsys, "queue", "reclassify", "ACME-2", "feedback")
    out = tmp_path / "sub" / "corr.jsonl"
    result = filed.cli_json(capsys, "model", "export-corrections", "--out", str(out))
    assert result == {"out": str(out), "examples": 1}
    assert lines(out)[0]["label"] == "feedback" and not out.with_name("corr.jsonl.tmp").exists()


def test_model_commands_export_and_train_with_corrections(
    filed: Bot, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mailbot.cli import main

    with filed.session() as s:
        qa.reclassify(s, filed.config, "HX-1", "change_request", actor="lena")
    out = tmp_path / "exported.jsonl"
    config = str(filed.config_path)
    assert main(["--config", config, "model", "export-corrections", "--out", str(out)]) == 0
    assert [row["label"] for row in lines(out)] == ["change_request"]
    # Training with the corrections: mailbot's --config finds the database; the spaCy config
    # has its own option, so the two never clash.
    data = tmp_path / "tiny.jsonl"
    rows = [{"text": f"the export fails with error {i}", "label": "issue"} for i in range(6)]
    rows += [
        {"text": f"please add a filter number {i}", "label": "change_request"} for i in range(6)
    ]
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    capsys.readouterr()
    code = main(
        [
            "--config",
            config,
            "model",
            "train",
            "--data",
            str(data),
            "--out",
            str(tmp_path / "model"),
            "--include-corrections",
            "--no-holdout",
            "--json",
        ]
    )
    assert code == 0
    output = capsys.readouterr().out
    assert "including 1 corrections" in output
    result = json.loads(output.splitlines()[-1])
    assert sum(result["sizes"].values()) == len(rows) + 1
