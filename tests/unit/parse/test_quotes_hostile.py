"""new_text on hostile bodies: line patterns stay linear (fixtures: tests/fixtures/hostile/).

The rewritten checks must give the same answers as the backtracking patterns they replace;
those patterns are kept here as the reference, run only on short lines.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from mailbot.parse import parse_bytes, quotes
from mailbot.parse.quotes import new_text

pytestmark = pytest.mark.no_database

HOSTILE = Path(__file__).parents[2] / "fixtures" / "hostile"

# The patterns as they were: right answers, super-linear cost on long hostile lines.
OLD_CJK = re.compile(r"^\W{0,3}(?:在|於|于).{0,200}(?:写道|寫道|寫到|写到)\s*[:：]?\s*$")
OLD_DATED = re.compile(
    r"^\W{0,3}\d{4}[/.-]\d{1,2}[/.-]\d{1,2}\b"
    r"(?:.{0,200}@[^\s>]+>?\s*[:：]?|\s+\d{1,2}:\d{2}\s+GMT[+-]\d{1,2}:?\d{2}\s.{1,100})\s*$"
)
OLD_FROM_KEY = re.compile(
    r"\s*[*>]?\s*(?:from|von|van|de|da|fra|från|od|от|mittente|发件人|發件人|寄件者|寄件人|"
    r"送信者|差出人)\s*\*?\s*[:：]",
    re.IGNORECASE,
)
OLD_FORWARD_INTRO = re.compile(
    r"^\s*(?:begin\s+forwarded\s+message|anfang\s+der\s+weitergeleiteten\s+nachricht|"
    r"début\s+du\s+message\s+réexpédié|以下为转发的邮件|下面是被转发的邮件)\s*[:：]?\s*$",
    re.IGNORECASE,
)

ATOMS = [
    "在", "於", "写道", "寫到", ":", "：", " ", "  ", "\t", "\u3000", "\xa0", "@", "a@b", ">",
    "<", "x", "2013/7/20", "2013-07-20", " 10:00 GMT+08:00 ", "GMT-1:00", "1", "12", "/",
    ".", "-", "*", "Anna", "From", "from", "Begin forwarded message",
]  # fmt: skip


def _lines(seed: int, count: int) -> list[str]:
    rnd = random.Random(seed)
    lines = []
    for _ in range(count):
        line = "".join(rnd.choice(ATOMS) for _ in range(rnd.randint(0, 10)))
        if rnd.random() < 0.1:  # near the 200-character bounds
            line = rnd.choice(["在", "2013/7/20 "]) + "y" * rnd.randint(150, 230)
            line += rnd.choice(["写道", "a@b", "@b:", " 写道 ：", " a@b> :"])
        lines.append(line)
    return lines


def test_linear_attribution_checks_agree_with_the_old_patterns() -> None:
    lines = _lines(seed=7, count=20_000)
    assert sum(1 for line in lines if OLD_DATED.match(line)) > 100  # both answers are tried
    assert sum(1 for line in lines if OLD_CJK.match(line)) > 100
    for line in lines:
        assert quotes._dated_attribution(line) == bool(OLD_DATED.match(line)), line
        assert quotes._cjk_attribution(line) == bool(OLD_CJK.match(line)), line


def test_possessive_header_keys_match_what_the_old_patterns_matched() -> None:
    for line in _lines(seed=11, count=20_000):
        old, new = OLD_FROM_KEY.match(line), quotes._FROM_KEY.match(line)
        assert (old and old.end()) == (new and new.end()), line
        assert bool(OLD_FORWARD_INTRO.match(line)) == bool(quotes._FORWARD_INTRO.match(line))


@pytest.mark.parametrize(
    ("name", "first_line", "filler"),
    [
        ("F1-redos-leading-spaces-12k.eml", "Hello", " "),
        ("F1-redos-ideographic-space-8k.eml", "你好", "\u3000"),
    ],
)
def test_hostile_leading_whitespace_is_text(name: str, first_line: str, filler: str) -> None:
    message = parse_bytes((HOSTILE / name).read_bytes())
    lines = message.new_text.split("\n")
    assert lines[0] == first_line
    assert len(lines) == 2 and set(lines[1][:-1]) == {filler}
    assert message.defects == ()


@pytest.mark.parametrize(
    "line",
    [
        "\t" * 30_000 + "x",  # tabs instead of spaces
        "\u3000" * 30_000 + "x",
        " " * 30_000 + "From" + " " * 30_000 + "x",  # a header key, then no colon
        "Begin forwarded message" + " " * 30_000 + "x",
        " *" + " " * 30_000 + "Subject" + "\t" * 30_000 + "?",  # an Outlook "*Subject*" key
    ],
)
def test_long_whitespace_runs_are_plain_text(line: str) -> None:
    assert new_text(f"Hello\n{line}\n") == f"Hello\n{line}".rstrip()


def test_header_block_after_leading_whitespace_is_still_cut() -> None:
    body = (
        "Fine now.\n\n"
        "   From: Anna <anna@example.com>\n   Sent: Monday\n   To: Support\n   Subject: Re: x\n\n"
        "old text\n"
    )
    assert new_text(body) == "Fine now."


def test_dated_attribution_lines_full_of_at_signs() -> None:
    # F4-redos-dated-attribution-2500-lines.eml (982 KB), rebuilt here: 2,500 lines that
    # start like an old Gmail attribution and never end like one.
    line = "2013/7/20 " + "@" * 380 + " x"
    message = parse_bytes(
        b"From: Anna <anna@acme-retail.example>\nTo: team@agency.example\nSubject: Question\n"
        b"Message-ID: <redos-dated@evil.example>\nDate: Mon, 2 Mar 2026 10:00:00 +0000\n\n"
        + ("Hi\n" + f"{line}\n" * 2500).encode()
    )
    assert message.new_text == "Hi\n" + "\n".join([line] * 2500)


@pytest.mark.parametrize(
    "line",
    [
        "2013/7/20 " + "a@" * 190 + " x",  # "@" everywhere, the last word has none
        "2013/7/20 10:00 GMT+08:00 " + " " * 350 + "x" * 20 + "@",
        "在" + "写道" * 100 + " " * 190 + "x",  # the verb everywhere but at the end
        "在" + "写道 " * 60 + "：" * 20,
    ],
)
def test_lines_that_almost_look_like_attributions_are_text(line: str) -> None:
    assert new_text(f"Hi\n{line}\n" * 2500) == "\n".join([f"Hi\n{line}"] * 2500)


def test_real_attributions_are_still_found() -> None:
    assert quotes._dated_attribution("2013/7/20 Anna <anna@example.com>")
    assert quotes._dated_attribution("2013/7/20 Anna <anna@example.com> :")
    assert quotes._dated_attribution("2013/7/20 10:00 GMT+08:00 Anna <anna@example.com>:")
    assert quotes._cjk_attribution("在 2013年7月20日，Anna <anna@example.com> 写道：")
    assert new_text("Thanks!\n\n2013/7/20 Anna <anna@example.com>\n> old\n") == "Thanks!"
