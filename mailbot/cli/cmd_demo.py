"""`mailbot demo`: run the real pipeline on a bundled demo inbox; no configuration needed."""

from __future__ import annotations

import argparse
from pathlib import Path

from sqlalchemy import select

from mailbot.logsetup import setup_logging

NAME = "demo"
HELP = "run mailbot once on a demo inbox (English and Chinese client mail) and show the result"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path("mailbot-demo"),
        help="workspace folder, recreated on every run (default: ./mailbot-demo)",
    )


def run(args: argparse.Namespace) -> int:
    from mailbot.demo import run_demo
    from mailbot.storage.db import open_database
    from mailbot.storage.models import StoredMessage

    setup_logging("DEBUG" if args.verbose else "WARNING")
    workspace, stats = run_demo(args.dir)
    print(
        f"mailbot demo: {stats.fetched} mails read from {workspace.inbox}, "
        f"{stats.stored} stored, {stats.failed} failed\n"
    )
    db = open_database(f"sqlite:///{workspace.database}")
    with db.session() as session:
        rows = session.scalars(select(StoredMessage).order_by(StoredMessage.id)).all()
        print(f"{'id':>3}  {'state':<8} {'category':<15} {'from':<36} subject")
        for row in rows:
            signals = row.signals or {}
            noise = [k for k in ("auto_reply", "bounce", "bulk") if signals.get(k)]
            category = row.category or ("noise: " + ",".join(noise) if noise else "-")
            print(
                f"{row.id:>3}  {row.state:<8} {category:<15} {(row.from_email or '-')[:36]:<36} "
                f"{(row.subject or '')[:50]}"
            )
    db.dispose()
    print(f"""
Files:
  config     {workspace.config}
  inbox      {workspace.inbox}  (processed mail moved to .mailbot.processed/)
  database   {workspace.database}

Try next:
  mailbot --config {workspace.config} messages --json
  mailbot parse {workspace.inbox}/.mailbot.processed/cur/*   # what mailbot sees in each mail
  cp mailbot.example.toml mailbot.toml   # point it at your IMAP server, then: mailbot run""")
    return 0
