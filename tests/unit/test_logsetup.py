"""Logging levels: mailbot's own lines, and the libraries' only when asked for."""

from __future__ import annotations

import logging

import pytest

from mailbot.logsetup import setup_logging
from tests.support.logging_state import kept_logging  # noqa: F401

pytestmark = [pytest.mark.usefixtures("kept_logging"), pytest.mark.no_database]


def logs(name: str, level: int) -> bool:
    return logging.getLogger(name).isEnabledFor(level)


def test_debug_for_mailbot_keeps_the_libraries_at_warning() -> None:
    setup_logging("DEBUG")
    assert logs("mailbot.pipeline", logging.DEBUG)
    for library in ("sqlalchemy.engine.Engine", "imapclient.imaplib", "alembic", "uvicorn.error"):
        assert not logs(library, logging.INFO), library
        assert logs(library, logging.WARNING), library


def test_libraries_at_debug_when_asked() -> None:
    setup_logging("DEBUG", libraries=True)
    assert logs("mailbot.pipeline", logging.DEBUG)
    assert logs("sqlalchemy.engine.Engine", logging.DEBUG)
    assert logs("uvicorn.error", logging.DEBUG)


def test_a_quiet_level_quiets_the_libraries_too() -> None:
    setup_logging("ERROR")
    assert not logs("mailbot.replay", logging.WARNING)
    assert not logs("sqlalchemy.pool", logging.WARNING)
    assert logs("sqlalchemy.pool", logging.ERROR)


def test_a_level_a_library_set_on_its_own_logger_does_not_stick() -> None:
    # uvicorn sets "uvicorn.error" to its own level when a server starts (the web tests do).
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    setup_logging("DEBUG", libraries=True)
    assert logs("uvicorn.error", logging.DEBUG)
    logging.getLogger("uvicorn.error").setLevel(logging.DEBUG)
    setup_logging("INFO")
    assert not logs("uvicorn.error", logging.INFO)
