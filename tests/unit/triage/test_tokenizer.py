from __future__ import annotations

import pytest

from mailbot.triage.tokenizer import MixedTokenizer, blank_nlp

pytestmark = pytest.mark.no_database


@pytest.mark.parametrize(
    "text",
    [
        "系统无法登录，请尽快处理！ The login page says ERROR 500.  谢谢",
        "  lead 中文  tail  ",
        "中文\n\nNext",
        "",
    ],
)
def test_text_round_trips(text):
    assert blank_nlp()(text).text == text


def test_han_per_character_latin_per_word():
    tokens = [t.text for t in blank_nlp()("无法登录 login page")]
    assert tokens == ["无", "法", "登", "录", "login", "page"]


def test_jieba_segmenter_groups_words():
    pytest.importorskip("jieba")
    tokens = [t.text for t in blank_nlp("jieba")("系统无法登录")]
    assert "无法" in tokens


def test_unknown_segmenter():
    with pytest.raises(ValueError, match="segmenter"):
        MixedTokenizer(blank_nlp().vocab, "pkuseg")
