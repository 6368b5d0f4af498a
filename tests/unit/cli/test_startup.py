"""A command starts without importing what it does not use."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.no_database


def test_the_command_line_web_and_pipeline_modules_start_without_spacy() -> None:
    """spaCy (with thinc) takes over half a second to import: only what classifies brings it,
    not `mailbot --help`, `mailbot queue` or the web workspace. Nor numpy (60 ms), which
    only making a verdict needs, nor alembic (with mako, 60 ms), which only a migration
    needs (`tests/unit/storage/test_db.py`)."""
    probe = (
        "import sys, mailbot.app, mailbot.web.app, mailbot.cli\n"
        "mailbot.cli.build_parser()\n"
        "heavy = ('spacy', 'thinc', 'numpy', 'alembic')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_classifying_still_finds_spacy_where_it_is_needed() -> None:
    from mailbot.triage import Triage

    assert Triage.__module__ == "mailbot.triage.triage"
    assert "spacy" in sys.modules
