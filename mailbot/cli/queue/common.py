"""Helpers the `queue` sub-commands share: the session, the clock, output."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from mailbot.cli.common import session_for

__all__ = ["add_reason", "emit", "now", "session_for"]


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
