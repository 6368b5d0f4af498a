"""new_text on replies written for mailbot's clients: Chinese webmail, Outlook, phones."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.parse import new_text
from tests.support.timing import best_of

pytestmark = pytest.mark.no_database

CORPUS = Path(__file__).parents[2] / "fixtures" / "corpus"

QQ_FOXMAIL = """好的，我们明天下午三点开会讨论这个问题。

谢谢！

------------------ 原始邮件 ------------------
发件人: "张伟"<zhangwei@example.com>;
发送时间: 2026年11月20日(星期五) 上午10:15
收件人: "李娜"<lina@example.cn>;
主题: 回复: 项目进度

李娜你好，请问项目进度如何？
"""

NETEASE_163 = """收到，附件已经更新。

王芳

来自网易邮箱大师

在 2026-11-19 16:20:33，"陈明" <chenming@163.com> 写道：

王经理，合同第三条需要修改。
"""

OUTLOOK_ZH_CN = """您好，

问题已经修复，请查收。

此致
敬礼

________________________________
发件人: Zhang Wei <zhangwei@example.com>
发送时间: 2026年11月20日 9:30
收件人: Support <support@example.com>
抄送: Li Na <lina@example.com>
主题: 系统登录失败

登录时提示密码错误。
"""

OUTLOOK_ZH_CN_NO_RULE = """已处理。

发件人：Zhang Wei <zhangwei@example.com>
发送时间：2026年11月20日 9:30
收件人：Support <support@example.com>
主题：系统登录失败

登录时提示密码错误。
"""

GMAIL_ZH = """谢谢，我看一下。

张伟 <zhangwei@example.com> 于2026年11月20日周五 上午10:15写道：

> 请看附件中的报价单。
>
"""

GMAIL_ZH_TW = """謝謝，我會盡快回覆。

陳大文 <chan@example.com.hk> 於 2026年11月20日 週五 上午10:15寫道：

> 請參閱附件。
"""

OUTLOOK_ZH_TW = """您好，

報價單已附上，請參閱。

寄件者: 陳大文 <chan@example.com.hk>
寄件日期: 2026年11月20日 上午 10:15
收件者: 客服 <support@example.com>
主旨: 查詢報價

請問這個型號的價格？
"""

APPLE_MAIL_ZH = """可以，周一见。

发自我的iPhone

> 在 2026年11月20日，上午10:15，张伟 <zhangwei@example.com> 写道：
>
> 周一上午方便吗？
"""

HUAWEI_FOOTER = """没问题，稍后发给你。

发自我的华为手机
-------- 原始邮件 --------
发件人：李娜 <lina@example.cn>
日期：2026年11月20日周五 10:15
收件人：张伟 <zhangwei@example.com>
主题：文件
"""

OUTLOOK_EN = """Thanks, that fixed it.

Best regards,
Anna

________________________________
From: Support <support@example.com>
Sent: Friday, November 20, 2026 10:15 AM
To: Anna Smith <anna@example.org>
Subject: RE: Login fails

Please clear the cache and try again.
"""

OUTLOOK_ORIGINAL_MESSAGE = """Please see my answers below.

-----Original Message-----
From: Support [mailto:support@example.com]
Sent: Friday, November 20, 2026 10:15 AM
To: Anna Smith
Subject: Login fails
"""

GMAIL_WRAPPED = """Works for me.

On Fri, Nov 20, 2026 at 10:15 AM Zhang Wei <
zhangwei@example.com> wrote:

> Can you try the new build?
"""

OUTLOOK_IOS = """Confirmed, thanks!

Get Outlook for iOS<https://aka.ms/o0ukef>
________________________________
From: Support <support@example.com>
"""

CASES = {
    "qq-foxmail": (QQ_FOXMAIL, "好的，我们明天下午三点开会讨论这个问题。\n\n谢谢！"),
    "163": (NETEASE_163, "收到，附件已经更新。\n\n王芳"),
    "outlook-zh-cn": (OUTLOOK_ZH_CN, "您好，\n\n问题已经修复，请查收。\n\n此致\n敬礼"),
    "outlook-zh-cn-full-width": (OUTLOOK_ZH_CN_NO_RULE, "已处理。"),
    "gmail-zh": (GMAIL_ZH, "谢谢，我看一下。"),
    "gmail-zh-tw": (GMAIL_ZH_TW, "謝謝，我會盡快回覆。"),
    "outlook-zh-tw": (OUTLOOK_ZH_TW, "您好，\n\n報價單已附上，請參閱。"),
    "apple-mail-zh": (APPLE_MAIL_ZH, "可以，周一见。"),
    "huawei-footer": (HUAWEI_FOOTER, "没问题，稍后发给你。"),
    "outlook-en": (OUTLOOK_EN, "Thanks, that fixed it.\n\nBest regards,\nAnna"),
    "outlook-original-message": (OUTLOOK_ORIGINAL_MESSAGE, "Please see my answers below."),
    "gmail-wrapped": (GMAIL_WRAPPED, "Works for me."),
    "outlook-ios": (OUTLOOK_IOS, "Confirmed, thanks!"),
}


@pytest.mark.parametrize(("body", "expected"), CASES.values(), ids=CASES.keys())
def test_new_text(body: str, expected: str) -> None:
    assert new_text(body) == expected


def test_qq_separator_with_nbsp_entities() -> None:
    body = (
        "收到，下周一上线没问题。\n\n------------------&nbsp;Original&nbsp;------------------\n"
        'From: "支持"<support@example.com>;\nDate: Mon, Nov 30, 2026 10:00 AM\n\n上线时间定了吗？\n'
    )
    assert new_text(body) == "收到，下周一上线没问题。"


def test_a_sentence_with_an_address_and_a_time_is_not_an_attribution() -> None:
    body = (
        "親愛的使用者 您好：\n\n您的帳戶 tsai@clinic.example.tw 密碼將於今日 23:59 到期。"
        "為避免郵件無法收發，請立即透過以下連結保留目前密碼：\n\nhttps://keep.example.info/auth\n"
    )
    assert new_text(body) == body.strip()


def test_yandex_attribution_without_a_verb() -> None:
    body = 'Да, всё работает.\n\n26.06.2014, 14:41, "Alex" <a@example.com>:\n> Проверьте.\n'
    assert new_text(body) == "Да, всё работает."


def test_crlf_and_signature_delimiter() -> None:
    body = "Short answer.\r\n\r\n-- \r\nAnna Smith\r\nACME Ltd\r\n"
    assert new_text(body) == "Short answer."


def test_inline_answers_keep_their_quotes() -> None:
    body = "> Does it crash?\n\nYes, on start.\n\n> Which version?\n\n2.1\n\n> old history\n"
    assert new_text(body) == "> Does it crash?\n\nYes, on start.\n\n> Which version?\n\n2.1"


def test_sentence_starting_like_a_footer_stays() -> None:
    body = "Sent from my desk, which is much easier than my phone."
    assert new_text(body) == body


def test_forward_without_comment_keeps_the_forwarded_text() -> None:
    body = (
        "---------- Forwarded message ---------\nFrom: Client <c@example.com>\n"
        "Date: Fri, Nov 20, 2026\nSubject: Invoice\nTo: us@example.com\n\n"
        "Please check the invoice.\n"
    )
    assert new_text(body) == "Please check the invoice."


def test_empty() -> None:
    assert new_text("") == ""
    assert new_text("\n\n") == ""


@pytest.mark.parametrize("name", ["pathological.txt", "email_long_quote.txt"])
def test_pathological_inputs_are_fast(name: str) -> None:
    body = (CORPUS / "github-email_reply_parser" / name).read_text("utf-8")
    assert best_of(lambda: new_text(body)) < 0.5


def test_large_synthetic_quote_is_linear() -> None:
    body = "Answer\n\n" + "On Mon, Jan 5, 2026 at 10:00 AM A <a@b.c> wrote:\n> x\n" * 20_000
    body += "> " + "On word " * 100_000 + "\n" + ">" * 100_000 + "\n"
    assert new_text(body) == "Answer"
    assert new_text("On " * 200_000 + "\n" + "-" * 200_000).startswith("On On")
    hostile = "On " * 200_000 + "\n" + "-" * 200_000
    assert best_of(lambda: (new_text(body), new_text(hostile))) < 1.5


def test_outlook_forward_without_comment_keeps_the_forwarded_text() -> None:
    body = (
        "\n________________________________\nFrom: Client <c@example.com>\n"
        "Sent: Friday, November 20, 2026 10:15 AM\nTo: Support <s@example.com>\n"
        "Subject: Broken login\n\nThe login page shows error 500.\n"
    )
    assert new_text(body) == "The login page shows error 500."


def test_comparison_is_not_a_supercite_quote() -> None:
    assert new_text("Check that x>0 holds.\nb>a too") == "Check that x>0 holds.\nb>a too"
