"""Counts with the right plural."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest

import mailbot
from mailbot.text import plural

pytestmark = pytest.mark.no_database

ROOT = Path(mailbot.__file__).parent
HEDGED = re.compile(r"[a-z]\((?:s|es)\)")


def test_one_and_many() -> None:
    assert plural(1, "mail") == "1 mail"
    assert plural(0, "mail") == "0 mails"
    assert plural(3, "mail") == "3 mails"
    assert plural(1, "mailbox", "mailboxes") == "1 mailbox"
    assert plural(2, "mailbox", "mailboxes") == "2 mailboxes"


def hedged_strings(source: str) -> list[tuple[int, str]]:
    """(line, text) of each string literal with a "mail(s)" or "mailbox(es)" in it."""
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        text_token = token.type == tokenize.STRING or (
            tokenize.tok_name[token.type] == "FSTRING_MIDDLE"
        )
        if text_token and HEDGED.search(token.string):
            found.append((token.start[0], token.string))
    return found


def test_the_check_sees_strings_only() -> None:
    source = 'n = len(s)\nlog.info("moved %d mail(s)", n)\nx = f"{n} box(es)"\n'
    assert [line for line, _ in hedged_strings(source)] == [2, 3]


def test_no_message_hedges_its_plural_with_brackets() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {text}"
        for path in sorted(ROOT.rglob("*.py"))
        for line, text in hedged_strings(path.read_text(encoding="utf-8"))
    ]
    assert not found, "say '1 mail' / '3 mails' with mailbot.text.plural:\n" + "\n".join(found)


def test_cut_text_says_it_was_cut() -> None:
    from mailbot.text import cut

    assert cut("Checkout fails with error 500 since this morning", 30) == (
        "Checkout fails with error 500…"
    )
    assert cut("short", 30) == "short"
    assert len(cut("紧急：后台登录不了，订单都处理不了", 8)) == 8
