from __future__ import annotations

import pytest

from mailbot.triage import language

pytestmark = pytest.mark.no_database


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The export stops at 1000 rows, can you check?", "en"),
        ("", "en"),
        ("手机端结算按钮点不了，麻烦尽快看一下，谢谢", "zh-Hans"),
        ("後台又登不上了，輸入密碼之後一直轉圈，麻煩幫忙看一下，謝謝", "zh-Hant"),
        ("销售月报能不能加一列毛利？老板每次开会都要问，现在还得用Excel再算一遍。", "zh-Hans"),
        (
            "After we pushed firmware 2.3.1 to the test batch, 14 of the 40 温湿度传感器 went "
            "offline after around 6 hours. 麻烦尽快看一下，谢谢！",
            "mixed",
        ),
        (
            "Overall very good, the new navigation is much clearer. 大家都觉得比旧版好用很多.",
            "mixed",
        ),
    ],
)
def test_detect(text, expected):
    assert language.detect(text) == expected


def test_script_tables_are_disjoint_and_paired():
    assert not language.SIMPLIFIED & language.TRADITIONAL
    assert len(language.SIMPLIFIED) == len(language.TRADITIONAL) > 100


def test_script_counts_distinct_characters():
    assert language.script("这个问题") == "zh-Hans"
    assert language.script("這個問題") == "zh-Hant"
    assert language.script("中文") == "zh-Hans"  # undecided defaults to Simplified
