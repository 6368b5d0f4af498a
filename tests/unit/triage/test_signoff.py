"""The sign-off's name block and disclaimers are not read by triage."""

from __future__ import annotations

import pytest

from mailbot.triage.signoff import without_signoff
from tests.support.timing import best_of

pytestmark = pytest.mark.no_database


def test_name_block_after_the_closing_goes_and_the_closing_stays() -> None:
    text = (
        "The export works now, thanks for the quick fix.\n\nBest regards,\nAnna Berg\n"
        "Head of Operations | Nordlys AS\nT +47 22 00 00 00"
    )
    assert without_signoff(text) == (
        "The export works now, thanks for the quick fix.\n\nBest regards,"
    )


def test_chinese_closing_and_disclaimer() -> None:
    text = (
        "报表的问题已经好了。\n\n谢谢\n王磊\n上海某某科技 信息部\n电话：021-0000000\n\n"
        "【保密声明】本邮件及其附件含有保密信息，仅限于发送给上面地址中列出的个人。"
    )
    assert without_signoff(text) == "报表的问题已经好了。\n\n谢谢"


def test_disclaimer_without_a_closing() -> None:
    text = "Line one.\nLine two.\nLine three.\nCONFIDENTIALITY NOTICE: This e-mail is private."
    assert without_signoff(text) == "Line one.\nLine two.\nLine three."


def test_text_after_a_closing_that_is_not_a_signature_stays() -> None:
    long_tail = "\n".join(f"step {n}: the page still shows error 500" for n in range(12))
    text = f"Thanks\n{long_tail}"
    assert without_signoff(text) == text


def test_a_closing_in_the_middle_of_a_long_mail_is_left_alone() -> None:
    body = "\n".join(f"paragraph {n}" for n in range(30))
    text = f"Regards\n{body}"
    assert without_signoff(text) == text


def test_linear_on_a_huge_text() -> None:
    text = ("Regards,\n" + "x" * 50 + "\n") * 20_000 + "Thanks\nBob"
    assert without_signoff(text).endswith("Thanks")
    assert best_of(lambda: without_signoff(text)) < 1.0
