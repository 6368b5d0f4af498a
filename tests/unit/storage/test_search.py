"""Full-text search: the tokens both engines index, and the queries made of a search box."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbot.storage.search import _TOKEN, document, fts5_query, has_words, tokens, tsquery

pytestmark = pytest.mark.no_database


def test_latin_words_stay_whole_and_chinese_goes_by_character() -> None:
    assert tokens("Checkout fails: error 500 — 后台登录不了！") == [
        "checkout", "fails", "error", "500", "后", "台", "登", "录", "不", "了",
    ]  # fmt: skip
    assert tokens("Müller’s Café") == ["müller", "s", "café"]
    assert document(["ACME-1", None, "订单 无法 处理"]) == "acme 1 订 单 无 法 处 理"


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_ascii_text_has_the_words_the_general_pattern_finds(text: str) -> None:
    # ASCII text takes a shorter way; its words must be those of every other text's way.
    assert tokens(text) == _TOKEN.findall(text.casefold())


@pytest.mark.parametrize(
    ("query", "fts5", "pg"),
    [
        ("登录", '"登 录"', "('登' <-> '录')"),
        ("check", '"check"*', "'check':*"),
        (
            "后台 登录 error",
            '"后 台" AND "登 录" AND "error"*',
            "('后' <-> '台') & ('登' <-> '录') & 'error':*",
        ),
        ("ACME-12", '"acme"* AND "12"*', "'acme':* & '12':*"),
        (
            "it's \"x\" OR 1=1; DROP",
            '"it"* AND "s"* AND "x"* AND "or"* AND "1"* AND "1"* AND "drop"*',
            "'it':* & 's':* & 'x':* & 'or':* & '1':* & '1':* & 'drop':*",
        ),
    ],
)  # fmt: skip
def test_a_search_box_becomes_a_safe_query_for_each_engine(query: str, fts5: str, pg: str) -> None:
    assert fts5_query(query) == fts5
    assert tsquery(query) == pg


def test_text_without_words_is_no_query() -> None:
    assert not has_words("!!! ？？")
    assert fts5_query("!!!") is None and tsquery("—") is None
