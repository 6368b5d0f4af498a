"""Helpers shared by the sub-commands: loading config, logging, the database."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any

from mailbot.config import Config, load_config
from mailbot.errors import ConfigError
from mailbot.logsetup import setup_logging

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from mailbot.storage.db import Database


def load(args: argparse.Namespace) -> Config:
    config = load_config(args.config)
    log_as_asked(args, config.log_level)
    return config


def log_as_asked(args: argparse.Namespace, level: str) -> None:
    """Log at `level`; -v: mailbot at DEBUG, the libraries at WARNING; -vv: everything at DEBUG."""
    verbose = int(getattr(args, "verbose", 0) or 0)
    setup_logging("DEBUG" if verbose else level, libraries=verbose > 1)


def database(config: Config) -> Database:
    # Imported here: a command's start-up (`run` starting triage ahead) comes first.
    from mailbot.storage.db import open_database

    return open_database(config.database_url)


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")


@contextmanager
def session_for(args: argparse.Namespace) -> Iterator[tuple[Config, Session]]:
    """The config and one transaction: committed when the command succeeds, else rolled back."""
    config = load(args)
    db = database(config)
    try:
        with db.session() as session:
            yield config, session
    finally:
        db.dispose()


def parse_day(text: str, what: str) -> date:
    """A YYYY-MM-DD date from the command line, or an error that says how to write it."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"{what} {text!r} is not a date", "write it as YYYY-MM-DD") from None
