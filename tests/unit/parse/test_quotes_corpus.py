"""Reply stripping against the upstream expectations of five reply parsers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from mailbot.parse import new_text, parse_bytes
from mailbot.parse.html import html_to_text

pytestmark = pytest.mark.no_database

CORPUS = Path(__file__).parents[2] / "fixtures" / "corpus"
FOLDERS = (
    "mailgun-talon",
    "github-email_reply_parser",
    "zapier-email-reply-parser",
    "discourse-email_reply_trimmer",
    "chatmail-core",
)

# Upstream expectations we deliberately do not follow, with the reason.
XFAIL: dict[str, str] = {
    "mailgun-talon/standard_replies/iphone.eml": (
        "talon keeps signatures; we drop 'Sent from my iPhone'"
    ),
    "mailgun-talon/standard_replies/sparrow.eml": "talon keeps signatures; we drop the '-- ' block",
    "discourse-email_reply_trimmer/embedded_email_1.txt": (
        "discourse drops text after an inline 'Name>' quote; we keep inline answers"
    ),
    "discourse-email_reply_trimmer/embedded_email_12.txt": (
        "an attribution split over a blank line and a bare '<' line is not recognised"
    ),
    "chatmail-core/quote_attach.eml": (
        "chatmail moves a leading quote to a separate field; like discourse's"
        " quote_and_text we keep a quote the sender answers below"
    ),
}


def _visible(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".html":
        return new_text(html_to_text(data.decode("utf-8", "replace")))
    if path.suffix == ".eml" and path.name != "gmx-quote-body.eml":
        return parse_bytes(data).new_text
    if path.name == "gmx-quote-body.eml":  # an HTML body without headers
        return new_text(html_to_text(data.decode("utf-8", "replace")))
    return new_text(data.decode("utf-8", "replace"))


def _cases() -> list[Any]:
    cases = []
    for folder in FOLDERS:
        entries = json.loads((CORPUS / folder / "expectations.json").read_text("utf-8"))
        for number, entry in enumerate(entries):
            if "alternative_expectation" in entry:
                continue  # another library's opinion on the same file
            key = f"{folder}/{entry['file']}"
            marks = [pytest.mark.xfail(reason=XFAIL[key], strict=True)] if key in XFAIL else []
            cases.append(pytest.param(folder, entry, id=f"{key}#{number}", marks=marks))
    return cases


@pytest.mark.parametrize(("folder", "entry"), _cases())
def test_upstream_expectation(folder: str, entry: dict[str, Any]) -> None:
    path = CORPUS / folder / entry["file"]
    visible = _visible(path)
    expected = entry.get("visible_exact")
    if expected is None and "expected_file" in entry:
        expected = (CORPUS / folder / entry["expected_file"]).read_text("utf-8")
    if expected is not None:
        if "ALL whitespace" in entry.get("compare", ""):
            assert re.sub(r"\s", "", visible) == re.sub(r"\s", "", expected)
        else:
            assert visible.strip() == expected.strip()
    for text in entry.get("visible_contains", []):
        assert text in visible
    for text in entry.get("visible_not_contains", []):
        assert text not in visible
    for text in entry.get("hidden_contains", []):
        assert text not in visible
    if "visible_startswith" in entry:
        assert visible.startswith(entry["visible_startswith"])
    for pattern in entry.get("visible_regex", []):
        assert re.search(pattern, visible)
    if "top_quote" in entry:
        assert entry["top_quote"] not in visible.split("\n")
    if entry.get("note", "").startswith("must stay ONE fragment"):
        assert visible.strip() == path.read_text("utf-8").strip()
