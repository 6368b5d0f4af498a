"""Every full message of the shared real-world corpus parses without an unhandled error."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from mailbot.errors import ParseError
from mailbot.parse import parse_bytes

pytestmark = pytest.mark.no_database

SHARED = Path("/work/shared/corpus/real-world")
BODY_ONLY = {
    "discourse-email_reply_trimmer",
    "github-email_reply_parser",
    "zapier-email-reply-parser",
    "alfonsrv-mail-parser-reply",
    "LICENSES",
}
NOT_MESSAGES = {"expectations.json", "SOURCES.md", "gmx-quote-body.eml"}
# Files with no header block and no body: ParseError is the right answer for these.
NOT_EMAIL: set[str] = set()


def _messages() -> list[Path]:
    files = []
    for folder in sorted(SHARED.iterdir()):
        if not folder.is_dir() or folder.name in BODY_ONLY:
            continue
        for path in sorted(folder.rglob("*")):
            if (
                path.is_file()
                and path.name not in NOT_MESSAGES
                and not path.name.endswith(".expected.txt")
                and "html_replies" not in path.parts
            ):
                files.append(path)
    return files


def test_whole_shared_corpus_parses() -> None:
    if not SHARED.is_dir():
        pytest.skip("shared corpus not available")
    logging.getLogger("mailparser").setLevel(logging.CRITICAL)
    files = _messages()
    assert len(files) > 1000
    failures: list[str] = []
    for path in files:
        name = str(path.relative_to(SHARED))
        try:
            message = parse_bytes(path.read_bytes())
        except ParseError:
            if name not in NOT_EMAIL:
                failures.append(f"{name}: unexpected ParseError")
            continue
        except Exception as err:
            failures.append(f"{name}: {type(err).__name__}: {err}")
            continue
        if name in NOT_EMAIL:
            failures.append(f"{name}: parsed, expected ParseError")
        assert message.date.tzinfo is not None, name
        assert "<" not in message.message_id, name
        if message.body_source == "text/html":
            assert "</" not in message.text, name
    assert not failures, "\n".join(failures)
