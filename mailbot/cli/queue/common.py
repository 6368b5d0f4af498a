"""Helpers the `queue` sub-commands share: the session, the clock, output."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from mailbot.config import Config


@contextmanager
def session_for(args: argparse.Namespace) -> Iterator[tuple[Config, Session]]:
    """The config and one transaction: committed when the command succeeds, else rolled back."""
    from mailbot.cli.common import database, load

    config = load(args)
    db = database(config)
    try:
        with db.session() as session:
            yield config, session
    finally:
        db.dispose()


def now() -> datetime:
    return datetime.now(UTC)


def emit(args: argparse.Namespace, payload: Any, text: str) -> None:
    """JSON for scripts with --json, else one line for people."""
    if getattr(args, "json", False):
        from mailbot.cli.common import print_json

        print_json(payload)
    else:
        print(text)


def add_reason(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reason", default="", help="why, for the audit trail")
