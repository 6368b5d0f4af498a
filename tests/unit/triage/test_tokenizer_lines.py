"""Latin-script text is tokenized a line at a time (so spaCy's cache serves a mail's words
after its first line): the tokens are those of spaCy's tokenizer given the whole text."""

from __future__ import annotations

import pytest
import spacy

from mailbot.triage.tokenizer import MixedTokenizer
from tests.support.mails import make_mails

pytestmark = pytest.mark.no_database

TEXTS = [
    "one line only",
    "Hello team,\n\nThe export fails.\nThanks,\nMaria (#7)\n",
    "a\n",
    "\n\nleading breaks",
    "a \n b",
    "a \n\t b\n",
    "a\r\nb\r\n",
    "a\n\u00a0b",
    "line.\n  indented: e-mail foo@bar.com, http://x.example/y?z=1\n:)\n:(",
    "trailing space \n",
    "  \n  \n",
    "x\u2028y\nz",
]


@pytest.mark.parametrize("text", TEXTS + [m.decode("utf-8", "replace") for m in make_mails(6)[::2]])
def test_line_by_line_tokens_are_the_whole_texts(text: str) -> None:
    whole = spacy.blank("xx").tokenizer(text)
    mixed = MixedTokenizer(spacy.blank("xx").vocab)
    lines = mixed(text)
    assert [(t.text, t.whitespace_) for t in lines] == [(t.text, t.whitespace_) for t in whole]
    assert lines.text == text
    again = mixed(text)  # served from the cache now: the same again
    assert [t.text for t in again] == [t.text for t in lines]


def test_han_runs_between_lines_keep_their_tokens() -> None:
    mixed = MixedTokenizer(spacy.blank("xx").vocab)
    doc = mixed("您好，\n导出失败 ACME-42\n谢谢")
    assert [t.text for t in doc] == [
        "您",
        "好",
        "，",
        "\n",
        "导",
        "出",
        "失",
        "败",
        "ACME-42",
        "\n",
        "谢",
        "谢",
    ]
    assert doc.text == "您好，\n导出失败 ACME-42\n谢谢"
