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


@pytest.mark.parametrize(
    ("closing", "name_block"),
    [
        ("謝謝您", "陳怡君\n行銷部 專員\n電話：(02)2345-6789 分機 123"),
        ("敬祝 商祺", "林志明\n總經理室"),
        ("順頌 時祺", "李大華 謹啟"),
        ("資訊室 蔡明哲 敬上", "分機 8812"),
        ("谢谢您！", "张伟\n采购部"),
    ],
)
def test_taiwan_and_hong_kong_closings(closing: str, name_block: str) -> None:
    text = f"系統已經恢復正常，辛苦了。\n\n{closing}\n{name_block}"
    assert without_signoff(text) == f"系統已經恢復正常，辛苦了。\n\n{closing}"


@pytest.mark.parametrize(
    "disclaimer",
    [
        "本郵件及附件可能含有機密資料，僅供指定收件人使用。",
        "機密聲明：此電郵及其附件可能載有機密資料，如閣下並非指定收件人，請即刪除。",
        "此電郵僅供收件人使用。",
        "本邮件可能包含商业秘密，请勿转发。",
    ],
)
def test_chinese_disclaimers(disclaimer: str) -> None:
    text = f"第一行。\n第二行。\n第三行。\n{disclaimer}"
    assert without_signoff(text) == "第一行。\n第二行。\n第三行。"


def test_a_sentence_starting_like_a_disclaimer_stays() -> None:
    text = "第一行。\n第二行。\n本邮件是想确认下周的会议时间。"
    assert without_signoff(text) == text


@pytest.mark.parametrize(
    "closing",
    [
        "With kind regards / Mit freundlichen Grüßen",
        "Vielen Dank und beste Grüße",
        "Met vriendelijke groet,",
        "Com os melhores cumprimentos,",
        "Thank you and best regards",
        "Thanks so much again,",
        "Greetings from Brno,",
        "Pozdrawiam,",
        "Med vänlig hälsning,",
        "Hälsningar",
    ],
)
def test_closings_of_many_writers(closing: str) -> None:
    text = f"The report works now.\n\n{closing}\nJan Novák\nIT | Brnoplast s.r.o."
    assert without_signoff(text) == f"The report works now.\n\n{closing}"


def test_a_disclaimer_that_starts_with_the_firm_name() -> None:
    text = (
        "Please go ahead.\nWe sign on Friday.\n\nKind regards,\nRuth Ashby\nPartner\n"
        "Dunmore Ashby LLP is a limited liability partnership registered in England and Wales."
        " This email is confidential."
    )
    assert without_signoff(text) == "Please go ahead.\nWe sign on Friday.\n\nKind regards,"


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


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (
            "中文显示正常了，已经好了。\n\n王静\n天猫旗舰店 运营组\n手机：138 1762 4409",
            "中文显示正常了，已经好了。",
        ),
        (
            "同步正常了。\n\n---\n陈国栋 | 信息化部\n精工电子有限公司\n地址：深圳市宝安区A栋",
            "同步正常了。",
        ),
        (
            "The login fails since Monday.\n\nAnna Berg\nHead of Operations\nT +47 22 00 00 00",
            "The login fails since Monday.",
        ),
        ("Works now.\n\nJan\njan@brnoplast.example", "Works now."),
    ],
)
def test_a_contact_block_without_a_closing_goes(text: str, kept: str) -> None:
    assert without_signoff(text) == kept


@pytest.mark.parametrize(
    "text",
    [
        "Please call me at +47 22 00 00 00 when you can.",
        "Hi,\nthe new phone number is\n+1 415 555 0100",  # no text before the block is left
        "Short one.\nSee you on Monday\nAnna",  # no contact line: the sender's own lines
    ],
)
def test_the_senders_own_lines_stay(text: str) -> None:
    assert without_signoff(text) == text


def test_a_line_that_introduces_what_follows_stays() -> None:
    text = "Hi team.\nPlease update the number in the footer to:\n+1 415 555 0100"
    assert without_signoff(text).endswith("Please update the number in the footer to:")


@pytest.mark.parametrize(
    "text",
    [
        "Start your trial here:\nhttps://x.example/trial?id=3\n\nKind regards,",
        "Verify your account:\nhttps://m365.example.info/auth\nIT Helpdesk",  # the lure's link
        "Delivery failed.\nGenerating server: mx.example\n550 5.1.1 User unknown",
        "退税即将到期。\n退税办理入口：http://etax-refund.example.cc\n国家税务总局 电子税务局",
        "[RESOLVED] HighErrorRate\nLabels:\n - alertname = HighErrorRate\n"
        "Started: 2026-12-03 19:42:10\nEnded: 2026-12-03 20:02:10",
    ],
)
def test_links_and_server_answers_are_no_contact_block(text: str) -> None:
    assert without_signoff(text) == text


@pytest.mark.parametrize(
    ("closing", "disclaimer"),
    [
        ("Respectfully,", ""),
        ("Thanks everyone,", ""),
        ("With best wishes for Christmas,", ""),
        ("Yours sincerely,", "This email and any files transmitted with it are confidential."),
        ("Regards,", "This message may contain confidential information."),
    ],
)
def test_more_closings_and_disclaimers(closing: str, disclaimer: str) -> None:
    text = f"Line one.\nLine two.\nLine three.\n\n{closing}\nAnna Berg\nDirector\n{disclaimer}"
    assert without_signoff(text) == f"Line one.\nLine two.\nLine three.\n\n{closing}"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (
            "Two things:\n\n- fix the export\n- add a filter\nAnna Berg\nT +47 22 00 00 00",
            "- add a filter",
        ),
        (
            "恭喜获得补贴。\n申报地址：http://subsidy.example.cc/apply\n咨询：400-123-4567",
            "申报地址：http://subsidy.example.cc/apply",
        ),
    ],
)
def test_list_items_and_links_above_a_phone_stay(text: str, kept: str) -> None:
    assert kept in without_signoff(text)


def test_a_name_block_ends_at_a_blank_line() -> None:
    text = "Please add:\n\n- a filter\n\nAnna Berg\nT +47 22 00 00 00"
    assert without_signoff(text) == "Please add:\n\n- a filter"
