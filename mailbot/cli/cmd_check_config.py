"""`mailbot check-config`: validate the config file and say what it means."""

from __future__ import annotations

import argparse

from mailbot.cli.common import load
from mailbot.config import check_secrets

NAME = "check-config"
HELP = "validate the config file and exit (0 when valid)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    config = load(args)
    check_secrets(config)
    print(f"{config.path}: valid")
    for box in config.mailboxes:
        if box.kind == "maildir":
            print(f"  mailbox {box.name}: maildir {box.path}")
        else:
            print(
                f"  mailbox {box.name}: imap {box.security} {box.host}:{box.port} as {box.username}"
                f" ({box.auth}; secret from {_secret_source(box)})"
            )
        folders = box.folders
        print(
            f"    folders: inbox={folders.inbox} processed={folders.processed or '(flag in place)'}"
            f" failed={folders.failed}"
        )
    print(f"  database: {_safe_url(config.database_url)}")
    return 0


def _secret_source(box) -> str:  # type: ignore[no-untyped-def]
    s = box.secret
    if s is None:
        return "nowhere"
    if s.env:
        return f"${s.env}"
    return str(s.file) if s.file else "a command"


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
