"""`mailbot parse`: show what mailbot sees in .eml files (fields, new text, signals, defects)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from mailbot.errors import ParseError
from mailbot.message import Message

NAME = "parse"
HELP = "parse .eml files and show what mailbot sees (--json: one object per line)"

log = logging.getLogger("mailbot.cli")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE.eml", help="raw RFC 5322 message files")
    parser.add_argument("--json", action="store_true", help="one JSON object per line per file")


def message_dict(name: str, message: Message) -> dict[str, Any]:
    """The JSON contract: stable keys, plain types, `error` null when parsed."""
    signals = message.signals
    return {
        "file": name,
        "message_id": message.message_id,
        "message_id_synthetic": message.message_id_synthetic,
        "in_reply_to": message.in_reply_to,
        "references": list(message.references),
        "from": str(message.from_) if message.from_ else None,
        "to": [str(a) for a in message.to],
        "cc": [str(a) for a in message.cc],
        "reply_to": [str(a) for a in message.reply_to],
        "subject": message.subject,
        "subject_normalized": message.subject_normalized,
        "date": message.date.isoformat(),
        "body_source": message.body_source,
        "new_text": message.new_text,
        "attachments": [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size}
            for a in message.attachments
        ],
        "signals": {
            "auto_reply": signals.auto_reply,
            "bounce": signals.bounce,
            "bulk": signals.bulk,
            "reasons": list(signals.reasons),
        },
        "defects": list(message.defects),
        "raw_sha256": message.raw_sha256,
        "error": None,
    }


def error_dict(name: str, error: str) -> dict[str, Any]:
    return {
        "file": name,
        "message_id": None,
        "subject": None,
        "from": None,
        "new_text": None,
        "signals": None,
        "defects": [],
        "error": error,
    }


def _read_and_parse(name: str) -> Message | str:
    """The parsed message, or a sentence saying why there is none."""
    from mailbot.parse import parse_bytes  # keeps `mailbot --help` fast

    try:
        with open(name, "rb") as handle:
            data = handle.read()
    except OSError as err:
        return f"Cannot read {name}: {err.strerror or err}."
    try:
        return parse_bytes(data)
    except ParseError as err:
        return err.message
    except (
        Exception
    ) as err:  # parse_bytes should never raise this; one bad file must not stop the rest
        log.debug("unexpected parser failure on %s", name, exc_info=True)
        return f"The parser failed unexpectedly ({type(err).__name__}); please report this file."


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines()) or "    (empty)"


def render(name: str, message: Message) -> str:
    """A readable summary for people."""
    signals = message.signals
    flags = [f for f, on in (("auto-reply", signals.auto_reply), ("bounce", signals.bounce),
                             ("bulk", signals.bulk)) if on]  # fmt: skip
    lines = [
        f"== {name}",
        f"Message-ID:  {message.message_id}"
        + ("  (synthetic)" if message.message_id_synthetic else ""),
        f"From:        {message.from_ or '-'}",
        f"To:          {', '.join(map(str, message.to)) or '-'}",
    ]
    if message.cc:
        lines.append(f"Cc:          {', '.join(map(str, message.cc))}")
    if message.in_reply_to:
        lines.append(f"In-Reply-To: {message.in_reply_to}")
    lines += [
        f"Subject:     {message.subject}",
        f"Normalized:  {message.subject_normalized}",
        f"Date:        {message.date.isoformat()}",
        f"Body:        {message.body_source}, {len(message.text)} characters",
    ]
    for attachment in message.attachments:
        lines.append(
            f"Attachment:  {attachment.filename or '(no name)'} "
            f"({attachment.content_type}, {attachment.size} bytes)"
        )
    lines.append(f"Signals:     {', '.join(flags) or 'none'}")
    lines += [f"             - {reason}" for reason in signals.reasons]
    lines.append(f"Defects:     {len(message.defects) or 'none'}")
    lines += [f"             - {defect}" for defect in message.defects]
    lines += ["New text:", _indent(message.new_text), ""]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if not getattr(args, "verbose", False):
        # mail-parser logs a warning per odd header; we report those as defects instead.
        logging.getLogger("mailparser").setLevel(logging.CRITICAL)
    failed = 0
    for name in args.files:
        result = _read_and_parse(name)
        if isinstance(result, str):
            failed += 1
            if args.json:
                sys.stdout.write(json.dumps(error_dict(name, result), ensure_ascii=False) + "\n")
            else:
                sys.stdout.write(f"== {name}\nError: {result}\n\n")
            continue
        if args.json:
            sys.stdout.write(json.dumps(message_dict(name, result), ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(render(name, result) + "\n")
    return 1 if failed else 0
