"""The `mailbot classify` and `mailbot model train|evaluate` contracts."""

from __future__ import annotations

import csv
import json

import pytest

from mailbot.cli import main

from .conftest import eml

pytestmark = pytest.mark.no_database

ISSUE = eml(
    "Checkout button not working",
    "Hi team,\n\nSince this morning the checkout button does nothing on mobile and customers"
    " cannot pay. We get an error message. Please fix this urgently!!!\n\nMaria",
)
AUTO = eml(
    "Automatic reply: Homepage",
    "I am out of the office until Monday.",
    "Auto-Submitted: auto-replied\r\n",
)
CHANGE = eml(
    "销售月报能不能加一列毛利",
    "小刘你好，\n\n月报我们看了，整体挺清楚的。销售月报能不能再加一列毛利和毛利率？\n\n周静",
)


@pytest.fixture
def mails(tmp_path):
    paths = []
    for name, data in (("issue.eml", ISSUE), ("auto.eml", AUTO), ("change.eml", CHANGE)):
        path = tmp_path / name
        path.write_bytes(data)
        paths.append(str(path))
    return paths


def test_classify_json_one_line_per_mail(mails, capsys):
    assert main(["classify", "--json", *mails]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["file"] for line in lines] == mails
    for line in lines:
        assert {
            "file",
            "category",
            "confidence",
            "needs_review",
            "escalate",
            "language",
            "explanation",
        } <= set(line)
    issue, auto, change = lines
    assert issue["category"] == "issue" and issue["escalate"] is True and issue["language"] == "en"
    assert auto["category"] == "none" and auto["explanation"]["model"] is None
    assert change["category"] == "change_request" and change["language"] == "zh-Hans"
    assert 0.0 <= change["confidence"] <= 1.0


def test_classify_stdin(monkeypatch, capsys):
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(AUTO)))
    assert main(["classify"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("<stdin>\tnone\t1.00")


def test_classify_explain_shows_hits_misses_and_scores(mails, capsys):
    assert main(["classify", "--explain", mails[0]]) == 0
    out = capsys.readouterr().out
    assert "hit   issue.en.broken" in out
    assert "miss  noise.signal.auto_reply" in out
    assert "ESCALATE: escalate.exclamations" in out
    assert "model raw" in out and "model calibrated" in out


def test_classify_explain_shows_the_sentence_read_apart(tmp_path, capsys):
    path = tmp_path / "two.eml"
    path.write_bytes(
        eml("Two things", "Could you move the logo?\n\nAnd the important one: nobody can log in.")
    )
    assert main(["classify", "--explain", str(path)]) == 0
    out = capsys.readouterr().out
    assert "hit   focus.en.important" in out
    assert "read apart (weight 0.5): 'And the important one: nobody can log in.'" in out


def test_classify_missing_file_fails(tmp_path, capsys):
    assert main(["classify", "--json", str(tmp_path / "nope.eml")]) == 1
    line = json.loads(capsys.readouterr().out)
    assert "cannot read" in line["error"]


def _tiny_rows():
    bug = [
        "app crashes on start",
        "error when saving file",
        "crash after update",
        "save fails with error",
    ]
    feature = [
        "please add dark mode",
        "add export to pdf",
        "support for dark theme",
        "add a pdf export option",
    ]
    question = [
        "how do I configure it",
        "how can I change settings",
        "what does this option do",
        "how to configure proxy",
    ]
    rows = []
    for n in range(3):
        for label, texts in (("bug", bug), ("feature", feature), ("question", question)):
            for text in texts:
                rows.append({"id": f"{label}-{n}-{text}", "text": f"{text} {n}", "label": label})
    return rows


def test_train_and_evaluate_tiny_jsonl(tmp_path, capsys):
    data = tmp_path / "tiny.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in _tiny_rows()) + "\n")
    out = tmp_path / "model"
    assert main(["model", "train", "--data", str(data), "--out", str(out), "--json"]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["labels"] == ["bug", "feature", "question"]
    assert (out / "config.cfg").exists() and (out / "meta.json").exists()
    assert (out / "calibration.json").exists()
    meta = json.loads((out / "meta.json").read_text())
    assert meta["name"] == "mailbot_triage" and meta["mailbot"]["labels"] == trained["labels"]

    assert main(["model", "evaluate", "--model", str(out), "--data", str(data), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == len(_tiny_rows())
    assert set(result["per_class"]) == {"bug", "feature", "question"}
    assert len(result["confusion"]) == 3 and all(len(row) == 3 for row in result["confusion"])
    assert result["macro_f1"] > 0.8  # it has seen these records

    assert main(["model", "evaluate", "--model", str(out), "--data", str(data)]) == 0
    text = capsys.readouterr().out
    assert "macro-F1" in text and "confusion" in text and "precision" in text


def test_train_calibrates_on_records_given_apart(tmp_path, capsys):
    rows = _tiny_rows()
    data, outside = tmp_path / "tiny.jsonl", tmp_path / "outside.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    apart = [{**r, "id": f"apart-{r['id']}", "text": r["text"].upper()} for r in rows[::2]]
    outside.write_text("\n".join(json.dumps(r) for r in apart) + "\n")
    out = tmp_path / "model"
    args = ["model", "train", "--data", str(data), "--out", str(out), "--json"]
    assert main([*args, "--calibrate-on", str(outside)]) == 0
    capsys.readouterr()
    meta = json.loads((out / "meta.json").read_text())
    assert meta["mailbot"]["calibrated_on"] == f"{len(apart)} records given with --calibrate-on"
    assert json.loads((out / "calibration.json").read_text())["dev_size"] == len(apart)


# Past csv's default field limit (128 KiB), in few words: training time grows with words.
HUGE_FIELD = " " + " ".join(["trace" * 1000] * 30)
CSV_DEFAULT_FIELD_LIMIT = 131_072


def test_train_csv_with_huge_fields_and_label_subset(tmp_path, capsys):
    assert len(HUGE_FIELD) > CSV_DEFAULT_FIELD_LIMIT
    data = tmp_path / "issues.csv"
    with data.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "body", "label"])
        for n, row in enumerate(_tiny_rows()):
            huge = HUGE_FIELD if n == 0 else ""
            writer.writerow([row["text"], row["text"] + huge, row["label"]])
        writer.writerow(["other", "something else", "documentation"])
    out = tmp_path / "model"
    args = [
        "model",
        "train",
        "--data",
        str(data),
        "--out",
        str(out),
        "--labels",
        "bug,feature",
        "--json",
    ]
    assert main(args) == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["labels"] == ["bug", "feature"]
    assert trained["dropped"] == {"question": 12, "documentation": 1}


def test_train_refuses_to_overwrite_other_directories(tmp_path, capsys):
    data = tmp_path / "tiny.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in _tiny_rows()) + "\n")
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert main(["model", "train", "--data", str(data), "--out", str(out)]) == 2
    assert "not a model directory" in capsys.readouterr().err
    assert (out / "notes.txt").exists()
