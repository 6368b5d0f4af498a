"""Labelled records: the bundled corpus (with its fixed held-out split), JSONL and CSV files.

The held-out test split is decided by a stable hash of each record's id, so it never changes as
the corpus grows and no training run ever sees it:

    h = int(sha1(id)), test when h % 5 == 0, dev when (h // 5) % 6 == 0, else train

(≈20 % test, ≈13 % dev for early stopping and calibration, ≈67 % train).
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mailbot.errors import ModelError
from mailbot.triage.mail import Mail
from mailbot.triage.signoff import without_signoff
from mailbot.triage.textprep import new_text

SPLITS = ("train", "dev", "test")
EML_LABELS = "labels.jsonl"
TEST_MODULO = 5
DEV_MODULO = 6


@dataclass(frozen=True, slots=True)
class Record:
    id: str
    label: str
    subject: str  # subject or title; "" when the source only has a text
    body: str
    lang: str = ""
    source: str = ""  # file:line, for error messages
    family: str = ""  # the hard family it belongs to (docs/triage.md), "" when not known
    style: str = ""  # how it was written (Outlook reply, HTML table, ...), "" when not known
    raw: bytes = b""  # the original mail when the record is a .eml file

    def mail(self) -> Mail:
        """What triage reads of this record: the parsed .eml, or the subject and new text."""
        if self.raw:
            from mailbot.parse import parse_bytes

            return Mail.from_message(parse_bytes(self.raw))
        return Mail(subject=self.subject, text=without_signoff(new_text(self.body)))


def split_of(record_id: str) -> str:
    h = int.from_bytes(hashlib.sha1(record_id.encode("utf-8")).digest()[:8], "big")
    if h % TEST_MODULO == 0:
        return "test"
    if (h // TEST_MODULO) % DEV_MODULO == 0:
        return "dev"
    return "train"


def split(records: Iterable[Record]) -> dict[str, list[Record]]:
    out: dict[str, list[Record]] = {name: [] for name in SPLITS}
    for record in records:
        out[split_of(record.id)].append(record)
    return out


def _from_mapping(row: dict, source: str, fallback_id: str) -> Record:
    label = row.get("label")
    if not isinstance(label, str) or not label.strip():
        raise ModelError(f"{source}: no label", "every record needs a non-empty 'label'")
    if "text" in row and row["text"] is not None:
        subject, body = "", str(row["text"])
    elif "body" in row or "subject" in row or "title" in row:
        subject = str(row.get("subject") or row.get("title") or "")
        body = str(row.get("body") or "")
    else:
        raise ModelError(
            f"{source}: no text", "give each record 'text', or 'subject'/'title' and 'body'"
        )
    record_id = str(row.get("id") or fallback_id)
    return Record(
        record_id,
        label.strip(),
        subject,
        body,
        str(row.get("lang") or ""),
        source,
        family=str(row.get("family") or ""),
        style=str(row.get("style") or ""),
    )


def read_jsonl(path: Path) -> Iterator[Record]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            source = f"{path}:{number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise ModelError(f"{source}: not valid JSON: {err}", "fix that line") from None
            if not isinstance(row, dict):
                raise ModelError(f"{source}: not a JSON object", "one object per line")
            yield _from_mapping(row, source, f"{path.name}:{number}")


def read_csv(path: Path) -> Iterator[Record]:
    csv.field_size_limit(sys.maxsize)  # issue bodies and mails can be very large
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        fields = set(reader.fieldnames or ())
        if "label" not in fields or not ({"text"} <= fields or {"title", "body"} <= fields):
            raise ModelError(
                f"{path}: CSV columns are {sorted(fields)}",
                "use columns text,label or title,body,label",
            )
        for number, row in enumerate(reader, 2):
            yield _from_mapping(row, f"{path}:{number}", f"{path.name}:{number}")


def read_eml_set(labels: Path) -> Iterator[Record]:
    """The .eml files listed by a labels.jsonl (id, file, label, lang, family, style): each
    is parsed as a mail, so the parser's new-text extraction is part of what is read."""
    from mailbot.parse import parse_bytes

    with labels.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            source = f"{labels}:{number}"
            row = json.loads(line)
            path = labels.parent / row["file"]
            if not path.is_file():
                raise ModelError(f"{source}: {path} is missing", "regenerate or restore the set")
            raw = path.read_bytes()
            message = parse_bytes(raw)
            yield Record(
                id=str(row["id"]),
                label=str(row["label"]),
                subject=message.subject,
                body=message.text,
                lang=str(row.get("lang") or ""),
                source=source,
                family=str(row.get("family") or ""),
                style=str(row.get("style") or ""),
                raw=raw,
            )


def read_records(path: Path) -> list[Record]:
    """A JSONL or CSV file, or a directory of *.jsonl files (searched recursively), where a
    file named labels.jsonl describes the .eml files beside it (read_eml_set)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.rglob("*.jsonl"))
        if not files:
            raise ModelError(f"{path}: no *.jsonl files", "point --data at a file or corpus folder")
        records: list[Record] = []
        for file in files:
            reader = read_eml_set if file.name == EML_LABELS else read_jsonl
            records.extend(reader(file))
        return records
    if not path.exists():
        raise ModelError(f"{path}: no such file", "check the --data path")
    if path.suffix.lower() == ".csv":
        return list(read_csv(path))
    return list(read_jsonl(path))


def corpus_dir() -> Path:
    from mailbot.resources import data_dir

    return data_dir() / "corpus"


def dev_dir() -> Path:
    """The independent dev set: written apart from the corpus, never trained on."""
    from mailbot.resources import data_dir

    return data_dir() / "dev"
