"""Logging, configured once at the entry point."""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"

# The libraries mailbot drives. Their DEBUG lines (SQLAlchemy's pool and mapper internals,
# the IMAP protocol, uvicorn's connections) drown mailbot's own, which say what it does.
LIBRARIES = (
    "imapclient",
    "sqlalchemy",
    "alembic",
    "uvicorn",
    "mailparser",
    "charset_normalizer",
    "spacy",
    "schedule",
    "dkim",
    "multipart",
    "python_multipart",
    "httpx",
    "httpcore",
    "asyncio",
)


def setup_logging(level: str | int = "INFO", *, libraries: bool = False) -> None:
    """Log at `level` to stderr; the libraries log WARNING and above unless `libraries`.

    `libraries=True` (`mailbot -vv`) lets them log at `level` too.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    # Never louder than mailbot itself: under a quiet ERROR the libraries' warnings stay out.
    quiet = max(logging.WARNING, root.level)
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(logging.NOTSET if libraries else quiet)
    # A library may have set levels on its own loggers (uvicorn sets "uvicorn.error" when it
    # starts): they follow the library's setting above instead.
    for name, child in list(logging.root.manager.loggerDict.items()):
        if isinstance(child, logging.Logger) and name.split(".", 1)[0] in LIBRARIES and "." in name:
            child.setLevel(logging.NOTSET)
