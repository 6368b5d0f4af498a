"""Subject normalisation: reply and forward prefixes removed, whitespace folded."""

from __future__ import annotations

import re

# One prefix: an English, German or Chinese reply/forward marker, an optional counter
# such as "[2]" or "(3)", then an ASCII or full-width colon.
_PREFIX = re.compile(
    r"""^\s*(?:
        (?:re|fw|fwd|aw|wg|sv|vs|tr|rif|antw|odp|ynt|vá|res|enc)   # Latin-script markers
        \s*(?:\[\d+\]|\(\d+\))?
      | 回复|回覆|答复|答覆|转发|轉發|转寄|轉寄|回信
    )\s*[:：]""",
    re.IGNORECASE | re.VERBOSE,
)
# A mailing-list tag like "[project-x]" sits before or between the prefixes.
_TAG = re.compile(r"^\s*(\[[^\[\]]{1,40}\])\s*")
_SPACE = re.compile(r"\s+")


def normalize_subject(subject: str) -> str:
    """`Re: RE：回复: Fwd: Hello` -> `Hello`; `Re: [list] Re: Hi` -> `[list] Hi`."""
    text = _SPACE.sub(" ", subject).strip()
    tag = ""
    while True:
        match = _PREFIX.match(text)
        if match:
            text = text[match.end() :].lstrip()
            continue
        tagged = _TAG.match(text)
        if tagged and not tag and _PREFIX.match(text[tagged.end() :]):
            tag, text = tagged.group(1), text[tagged.end() :]
            continue
        return f"{tag} {text}" if tag else text
