"""`mailbot replay`: dry-run the whole pipeline over an archive; nothing is sent or changed."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

NAME = "replay"
HELP = "show what mailbot would do with an archive (Maildir or mbox); sends and changes nothing"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--maildir", type=Path, metavar="DIR", help="a Maildir (cur/, new/)")
    source.add_argument("--mbox", type=Path, metavar="FILE", help="an mbox file")
    parser.add_argument(
        "--labels",
        type=Path,
        metavar="FILE",
        help="CSV of message_id,label (issue, change_request, feedback, none) to evaluate against",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def _config(explicit: str | None) -> tuple[Any, str]:
    """The real config (its projects, site, templates, triage), or defaults without one."""
    from mailbot.config import Config, find_config_path, load_config

    path = find_config_path(explicit)
    if explicit is None and not path.exists():
        # No config at all: built-in rules and model, no projects (all mail goes to TRIAGE).
        return Config(mailboxes=()), "no config found: built-in defaults, no projects"
    return load_config(path), f"config {path}"


def run(args: argparse.Namespace) -> int:
    from mailbot.cli.common import log_as_asked, print_json
    from mailbot.replay import apply_labels, read_labels, read_maildir, read_mbox, replay

    log_as_asked(args, "ERROR")
    config, where = _config(args.config)
    mails = read_maildir(args.maildir) if args.maildir else read_mbox(args.mbox)
    if args.labels:
        mails = apply_labels(mails, read_labels(args.labels))
    report = replay(mails, config)
    if args.json:
        print_json(report.to_dict())
    else:
        print(render(report, where))
    return 0


def _cell(value: object, width: int) -> str:
    text = "-" if value is None or value == "" else str(value)
    return text[:width].ljust(width)


def render(report: Any, where: str) -> str:
    """The report as plain text: one line per message, totals, then the evaluation."""
    lines = [f"mailbot replay (dry run; {where}; nothing was sent or changed)", ""]
    lines.append(
        f"{'message':<22} {'category':<15} {'conf':>4}  {'item':<10} {'ack':<13} "
        f"{'label':<15} subject"
    )
    for r in report.rows:
        conf = f"{r.confidence:.2f}" if r.confidence is not None else "   -"
        if r.outcome in ("failed", "duplicate"):
            category = r.outcome
        else:
            category = r.category or ("noise" if r.outcome == "noise" else "-")
        item = r.item + ("*" if r.new_item else "") if r.item else None
        ack = f"yes ({r.ack_language})" if r.ack else "no"
        lines.append(
            f"{_cell(r.source, 22)} {_cell(category, 15)} {conf:>4}  {_cell(item, 10)} "
            f"{_cell(ack, 13)} {_cell(r.label, 15)} {(r.subject or r.error or '')[:50]}"
        )
    t = report.totals()
    cats = ", ".join(f"{k} {v}" for k, v in sorted(t["categories"].items())) or "-"
    langs = ", ".join(f"{k} {v}" for k, v in sorted(t["ack_languages"].items()))
    lines += [
        "",
        "* a new item",
        f"{t['messages']} messages: {cats}; {t['failed']} failed, {t['duplicates']} duplicates",
        f"{t['new_items']} new items, {t['follow_ups']} follow-ups; "
        f"{t['acknowledgements']} acknowledgements would be sent"
        + (f" ({langs})" if langs else ""),
    ]
    confusion = report.confusion()
    if confusion:
        columns = sorted({c for cells in confusion.values() for c in cells} | set(confusion))
        width = max(len(c) for c in columns) + 1
        lines += ["", "Confusion (rows: true label, columns: predicted)"]
        lines.append(" " * width + "".join(f"{c:>{width}}" for c in columns))
        for label in sorted(confusion):
            cells = confusion[label]
            lines.append(
                f"{label:<{width}}" + "".join(f"{cells.get(c, 0):>{width}}" for c in columns)
            )
        accuracy = report.accuracy()
        lines.append(f"\naccuracy {accuracy:.1%} on {len(report.labelled)} labelled messages")
    return "\n".join(lines)
