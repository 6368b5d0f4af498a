"""`mailbot demo`: run the real pipeline on a bundled demo inbox; no configuration needed."""

from __future__ import annotations

import argparse
import shutil
import sys
from email import message_from_bytes, policy
from pathlib import Path

from sqlalchemy import select

from mailbot.text import cut

NAME = "demo"
HELP = "run mailbot once on a demo inbox (English and Chinese client mail) and show the result"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path("mailbot-demo"),
        help="workspace folder, recreated on every run (default: ./mailbot-demo)",
    )


def _text_part(raw: bytes) -> tuple[str, str, str]:
    mail = message_from_bytes(raw, policy=policy.default)
    body = mail.get_body(("plain",))
    return str(mail["To"]), str(mail["Subject"]), body.get_content() if body else ""


def _print_reports(workspace) -> None:  # type: ignore[no-untyped-def]
    """The Chinese PM's digest and the weekly report of this week so far, as previews."""
    from datetime import UTC, datetime

    from mailbot.config import load_config
    from mailbot.reports.digest import preview_digests, render_digest
    from mailbot.reports.periods import local_date, week_period
    from mailbot.reports.summary import preview_summary, render_summary
    from mailbot.storage.db import open_database

    config = load_config(workspace.config)
    db = open_database(config.database_url)
    now = datetime.now(UTC)
    try:
        project = next(p for p in config.projects if p.language == "zh-Hans")
        digests = [d for d in preview_digests(db, config, now) if d.recipient == project.pm]
        this_week = week_period(local_date(config.schedules, now))
        summary = preview_summary(db, config, project, now, period=this_week)
        subject, body = render_summary(config, summary)
    finally:
        db.dispose()
    if digests:
        digest_subject, digest_body = render_digest(config, digests[0])
        print(
            f"\n--- the PM digest for {project.pm_name} <{project.pm}> (preview) ---\n"
            f"Subject: {digest_subject}\n\n{digest_body.text.strip()}"
        )
    print(
        f"\n--- the weekly progress report for {project.name}, this week so far (preview; "
        f"sent on {config.schedules.summary_day.title()}s for the week before) ---\n"
        f"To: {', '.join(summary.recipients)}\nSubject: {subject}\n\n{body.text.strip()}"
    )


def run(args: argparse.Namespace) -> int:
    from mailbot.cli.common import log_as_asked
    from mailbot.demo import run_demo
    from mailbot.storage.db import open_database
    from mailbot.storage.models import Item, StoredMessage

    log_as_asked(args, "WARNING")
    workspace, stats = run_demo(args.dir)
    print(
        f"mailbot demo: {stats.fetched} client mails read from {workspace.inbox}: "
        f"{stats.stored} stored, {stats.filed} filed, {stats.failed} failed\n"
    )
    db = open_database(f"sqlite:///{workspace.database}")
    with db.session() as session:
        print("The triaged queue (! escalated, ? needs review; noise and spam are not answered):")
        print(
            f"  {'ref':<8} {'':2} {'category':<15} {'status':<13} {'conf':>4}  {'client':<34} title"
        )
        for item in session.scalars(select(Item).order_by(Item.id)):
            flags = ("!" if item.escalate else " ") + ("?" if item.needs_review else " ")
            conf = f"{item.confidence:.2f}" if item.confidence is not None else "  - "
            print(
                f"  {item.ref:<8} {flags} {item.category:<15} {item.status:<13} {conf:>4}  "
                f"{cut(item.client_email or '-', 34):<34} {cut(item.title, 44)}"
            )
        noise = session.scalars(select(StoredMessage).where(StoredMessage.category == "none"))
        for row in noise:
            kind = "spam" if row.spam_status == "spam" else "noise"
            print(
                f"  {'-':<8}    {kind:<15} {'not answered':<13} {'':>4}  "
                f"{cut(row.from_email or '-', 34):<34} {cut(row.subject or '', 44)}"
            )
    db.dispose()

    acks = sorted(workspace.outbox.glob("*-ack.eml"))
    others = sorted(set(workspace.outbox.glob("*.eml")) - set(acks))
    notices = (
        f", and {len(others)} notice{'s' if len(others) != 1 else ''} to the PMs" if others else ""
    )
    print(
        f"\n{len(acks)} acknowledgements written to {workspace.outbox}/ "
        f"(one per new client item){notices}."
    )
    shown: set[str] = set()
    for path in acks:
        to, subject, text = _text_part(path.read_bytes())
        language = "Chinese" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "English"
        if language in shown:
            continue
        shown.add(language)
        print(f"\n--- {path.name} ({language}) ---\nTo: {to}\nSubject: {subject}\n\n{text.strip()}")
    _print_reports(workspace)
    mb = command_name()
    processed = sorted((workspace.inbox / ".mailbot.processed" / "cur").glob("*"))
    first = processed[0] if processed else f"{workspace.inbox}/.mailbot.processed/cur/FILE"
    print(f"""
Files:
  config     {workspace.config}
  inbox      {workspace.inbox}  (processed mail is moved to .mailbot.processed/)
  outbox     {workspace.outbox}
  database   {workspace.database}

Try next:
  {mb} --config {workspace.config} queue list
  {mb} --config {workspace.config} queue show HX-1
  {mb} --config {workspace.config} explain {first}   # every decision
  {mb} --config {workspace.config} messages --json
  {mb} --config {workspace.config} project show HX   # where the project stands, its milestones
  {mb} classify --explain {workspace.inbox}/.mailbot.processed/cur/*   # why each verdict

The queue in a browser (the web workspace):
  {mb} --config {workspace.config} user add demo --role admin   # asks for a password
  {mb} --config {workspace.config} web   # then open http://127.0.0.1:8025/

Your own inbox:
  {mb} init   # asks for IMAP, SMTP and your projects, tests them, writes mailbot.toml""")
    return 0


def command_name() -> str:
    """How to type `mailbot` here: on PATH, else the script next to this Python (.venv/bin)."""
    beside = Path(sys.executable).parent / "mailbot"
    found = shutil.which("mailbot")
    if found and Path(found).resolve() == beside.resolve():
        return "mailbot"
    if beside.exists():
        try:
            return str(beside.relative_to(Path.cwd()))
        except ValueError:
            return str(beside)
    return f"{sys.executable} -m mailbot"
