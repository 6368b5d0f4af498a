"""Logging, configured once at the entry point."""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def setup_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    # Third-party chatter stays at WARNING even with -v: mailbot's own DEBUG lines say what
    # it does; SQLAlchemy's mapper and pool internals and the IMAP protocol would drown them.
    for noisy in ("imapclient", "sqlalchemy", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
