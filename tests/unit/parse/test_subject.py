"""Subject normalisation."""

from __future__ import annotations

import pytest

from mailbot.parse.subject import normalize_subject

pytestmark = pytest.mark.no_database


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: Hello", "Hello"),
        ("RE: re: Fwd: FW: Hello", "Hello"),
        ("Re[2]: Hello", "Hello"),
        ("AW: WG: Angebot", "Angebot"),
        ("回复: 项目进度", "项目进度"),
        ("回复：转发：项目进度", "项目进度"),
        ("答复: 回覆: 轉寄: 報價", "報價"),
        ("Re： 全角冒号", "全角冒号"),
        ("  Re:   spaced \t\n  out  ", "spaced out"),
        ("Reply needed: invoice", "Reply needed: invoice"),
        ("Regarding: invoice", "Regarding: invoice"),
        ("Re:", ""),
        ("[proj-x] Re: RE: crash on start", "[proj-x] crash on start"),
        ("Re: [proj-x] Re: crash", "[proj-x] crash"),
        ("[proj-x] crash", "[proj-x] crash"),
        ("", ""),
    ],
)
def test_normalize_subject(subject: str, expected: str) -> None:
    assert normalize_subject(subject) == expected
