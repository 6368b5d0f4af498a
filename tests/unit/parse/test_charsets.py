"""Chinese, Japanese and Korean mail comes out readable, whatever its labels say."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.parse import parse_bytes
from mailbot.parse.charsets import codec_for, decode, decode_header_bytes

pytestmark = pytest.mark.no_database

CORPUS = Path(__file__).parents[2] / "fixtures" / "corpus"
SHARED = Path("/work/shared/corpus/real-world")

MNAKO = sorted((CORPUS / "mnako-letters").glob("test_chinese_*.txt"))

# (file, substrings that must appear in "from name | subject | text"), checked by eye.
CASES = [
    ("apache-spamassassin/nice/cjk/gb2312.1", ["台湾鑫龙商贸集团公司", "全新原装进口", "向您拜年"]),
    ("apache-spamassassin/nice/cjk/gb2312.2", ["李展锋", "装硬碟问题", "假设你的硬碟是IDE介面"]),
    ("apache-spamassassin/nice/cjk/big5-base64.1", ["鉅靡6月17日新片又到", "永久網址"]),
    ("apache-spamassassin/nice/cjk/iso-2022-jp.2", ["心当たりがあります", "同じ問題です"]),
    ("demisto-parse-emails/chinese_big5_encoding.eml", ["圖形碼"]),
    ("demisto-parse-emails/chinese_gb2312_encoding.eml", ["你好，我是程序员，很高兴认识你"]),
    ("demisto-parse-emails/chinese_gbk_encoding.eml", ["你好，中国"]),
    ("demisto-parse-emails/chinese_email_test.eml", ["示例邮件", "可以支持多种语言的字符"]),
    ("jhillyerd-enmime/parts/chardet-success-big-5.raw", ["夫九州之人，言語不同", "音辭第十八"]),
    ("webklex-php-imap/ks_c_5601-1987_headers.eml", ["김 현진", "회원님께"]),
] + [
    (f"mnako-letters/{path.name}", ["发件人", "施氏食狮史", "石室诗士施氏，嗜狮"]) for path in MNAKO
]


def _readable(path: Path) -> str:
    message = parse_bytes(path.read_bytes())
    name = message.from_.name if message.from_ else ""
    return f"{name} | {message.subject} | {message.text}"


@pytest.mark.parametrize(("name", "expected"), CASES, ids=[case[0] for case in CASES])
def test_fixture_reads_as_chinese(name: str, expected: list[str]) -> None:
    text = _readable(CORPUS / name)
    for substring in expected:
        assert substring in text
    assert "\ufffd" not in text.split(" | ", 2)[1]  # the subject decoded cleanly


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("kopano-core/big5.eml", ["養樂多", "養樂多線上訂購"]),
        ("kopano-core/gb2312_18030.eml", ["梁祐晟"]),
    ],
)
def test_shared_corpus_kopano(name: str, expected: list[str]) -> None:
    path = SHARED / name
    if not path.exists():
        pytest.skip("shared corpus not available")
    text = _readable(path)
    for substring in expected:
        assert substring in text


@pytest.mark.parametrize(
    ("declared", "codec"),
    [
        ("GB2312", "gb18030"),
        ("x-gbk", "gb18030"),
        ("cp936", "gb18030"),
        ("Big5", "big5hkscs"),
        ("ks_c_5601-1987", "cp949"),
        ("uft-8", "utf-8"),
        ("unicode-1-1-utf-7", "utf-7"),
        ('"utf-8"', "utf-8"),
        ("no-such-charset", None),
        ("rot13", None),
        ("", None),
        (None, None),
    ],
)
def test_codec_for(declared: str | None, codec: str | None) -> None:
    assert codec_for(declared) == codec


def test_gbk_only_character_declared_gb2312() -> None:
    data = "镕基和喆".encode("gb18030")  # 镕 and 喆 are not in GB2312
    assert decode(data, "gb2312") == ("镕基和喆", None)


def test_undeclared_chinese_is_detected() -> None:
    text, defect = decode("请尽快回复这封邮件，谢谢。".encode("gb2312"), None)
    assert text == "请尽快回复这封邮件，谢谢。"
    assert defect == "undeclared charset, detected gb18030"
    text, defect = decode("請盡快回覆這封郵件，謝謝。".encode("big5"), None)
    assert text == "請盡快回覆這封郵件，謝謝。"
    assert defect and "big5hkscs" in defect


def test_wrong_label_utf8_body() -> None:
    text, defect = decode("你好，世界".encode(), "iso-8859-1")
    assert text == "你好，世界"
    assert defect and "utf-8" in defect


def test_undecodable_bytes_are_replaced_not_raised() -> None:
    text, defect = decode(b"abc \xff\xfe\xfa def", "utf-8")
    assert text.startswith("abc") and text.endswith("def")
    assert defect


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("张伟".encode("gb2312"), "张伟"),
        ("陳大文有限公司".encode("big5"), "陳大文有限公司"),
        ("李娜".encode(), "李娜"),
    ],
)
def test_raw_8bit_header(raw: bytes, expected: str) -> None:
    assert decode_header_bytes(raw)[0] == expected


def test_latin_body_under_utf8_label() -> None:
    text, defect = decode("Café crème, déjà vu".encode("cp1252"), "utf-8")
    assert text == "Café crème, déjà vu"
    assert defect and "does not fit" in defect


def test_mostly_utf8_with_one_bad_byte_keeps_utf8() -> None:
    text, defect = decode("你好 café".encode() + b" \xff end", "utf-8")
    assert text.startswith("你好 café") and text.endswith("end")
    assert defect == "invalid utf-8 bytes replaced"
