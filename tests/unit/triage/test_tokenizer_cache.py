"""The mixed tokenizer leaves out spaCy's whitespace special cases (so spaCy's cache serves a
mail's words after its first line break): the tokens are still those of spaCy's own tokenizer,
with every base exception, on each Latin-script run, and one token per Han character."""

from __future__ import annotations

import re

import pytest
import spacy

from mailbot.triage.tokenizer import MixedTokenizer
from tests.support.mails import make_mails

pytestmark = pytest.mark.no_database
HAN = re.compile("[\u4e00-\u9fff]")
PLAIN = spacy.blank("xx").tokenizer  # spaCy's own, with every base exception

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
def test_latin_tokens_are_spacys_own(text: str) -> None:
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


def reference(text: str) -> list[tuple[str, bool]]:
    """spaCy's own tokenizer (every base exception) on each Latin run; a token per Han
    character, one space after a Han run its trailing whitespace."""
    from mailbot.triage.tokenizer import _CJK_RUN

    plain = PLAIN
    tokens: list[tuple[str, bool]] = []

    def latin(chunk: str) -> None:
        if chunk[:1] == " " and tokens and not tokens[-1][1]:
            tokens[-1] = (tokens[-1][0], True)
            chunk = chunk[1:]
        if chunk:
            tokens.extend((t.text, bool(t.whitespace_)) for t in plain(chunk))

    pos = 0
    for match in _CJK_RUN.finditer(text):
        latin(text[pos : match.start()])
        tokens.extend((char, False) for char in match.group())
        pos = match.end()
    latin(text[pos:])
    return tokens


def corpus_texts() -> list[str]:
    from pathlib import Path

    from mailbot.parse import parse_bytes
    from mailbot.triage.data import dev_dir, read_records

    texts = [record.mail().full_text for record in read_records(dev_dir())]
    texts += [parse_bytes(m).new_text for m in make_mails(200)]
    fixtures = Path(__file__).parents[2] / "fixtures" / "corpus"
    texts += [parse_bytes(p.read_bytes()).text for p in sorted(fixtures.rglob("*.eml"))]
    return [t for t in texts if t]


def test_every_corpus_text_has_the_tokens_of_spacys_own_tokenizer() -> None:
    texts = corpus_texts()
    assert len(texts) > 1500
    assert sum(bool(HAN.search(t)) for t in texts) > 300  # Chinese and mixed mails too
    mixed = MixedTokenizer(spacy.blank("xx").vocab)
    for text in texts:
        doc = mixed(text)
        assert [(t.text, bool(t.whitespace_)) for t in doc] == reference(text), text[:200]
        assert doc.text == text


def test_the_whitespace_special_cases_are_the_only_ones_left_out() -> None:
    mixed = MixedTokenizer(spacy.blank("xx").vocab)
    own = spacy.blank("xx").tokenizer.rules or {}
    kept = mixed._latin.rules or {}
    assert set(own) - set(kept) == {" ", "\t", "\n", "\xa0"}
    assert all(kept[k] == own[k] for k in kept)


def test_latin_chunks_between_han_runs_are_kept_and_give_the_same_tokens(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import mailbot.triage.tokenizer as tokenizer
    from mailbot.parse import parse_bytes

    texts = [f"{m.subject}\n{m.new_text}" for m in map(parse_bytes, make_mails(40))]
    texts += ["您好，\n导出失败 ACME-42\n谢谢", "价格 10MB 的 APP\n\n好的,\n收到"]
    assert sum(bool(HAN.search(t)) for t in texts) > 10  # Chinese mails among them
    fresh = [
        [(t.text, t.whitespace_) for t in MixedTokenizer(spacy.blank("xx").vocab)(text)]
        for text in texts
    ]
    monkeypatch.setattr(tokenizer, "CACHED_CHUNKS", 5)  # full, emptied, filled again
    kept = MixedTokenizer(spacy.blank("xx").vocab)
    for _ in range(2):  # the second time from what was kept
        assert [[(t.text, t.whitespace_) for t in kept(text)] for text in texts] == fresh
    assert 0 < len(kept._chunks) <= 5
    once = MixedTokenizer(spacy.blank("xx").vocab)
    once("谢谢\n好的\n收到")
    assert set(once._chunks) == {"\n"}  # one line break between Han runs, tokenized once
