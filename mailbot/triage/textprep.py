"""Turn a record (subject/title + body) into the text a model reads.

A model remembers which preparation it was trained with (meta.json, "mailbot" -> "prep"), so
evaluation and classification prepare text the same way.

- "email":  subject + newline + the new text of the body (quoted history and signature removed)
- "github": title repeated `title_repeat` times + the body with GitHub issue-template boilerplate
            removed (HTML comments, template headings, check-boxes, code fences, URLs)
- "plain":  subject + newline + body, untouched
Any of them with "lower": true lower-cases the result.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

try:
    from mailbot.parse.quotes import new_text as _new_text
except ImportError:  # FALLBACK: parser not installed yet; the raw body is used as the new text.
    _new_text = None


def new_text(body: str) -> str:
    """What the sender wrote now. Uses the parser's quote stripper."""
    return _new_text(body) if _new_text is not None else body


def join(subject: str, text: str) -> str:
    subject, text = subject.strip(), text.strip()
    return f"{subject}\n{text}" if subject else text


def prep_email(subject: str, body: str) -> str:
    return join(subject, new_text(body))


def prep_plain(subject: str, body: str) -> str:
    return join(subject, body)


_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_CODE_FENCE = re.compile(r"```.*?(```|$)", re.S)
_URL = re.compile(r"https?://\S+")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s.*$", re.M)
_CHECKBOX = re.compile(r"^\s*[-*]\s*\[[ xX]\]\s*", re.M)
_NO_RESPONSE = re.compile(r"^\s*_?no response_?\s*$", re.M | re.I)
_HEX = re.compile(r"\b(0x)?[0-9a-f]{8,}\b", re.I)
_SPACES = re.compile(r"[ \t]+")
_BLANKS = re.compile(r"\n{3,}")


def clean_github(body: str, *, keep_code: bool = False, keep_headings: bool = True) -> str:
    text = _HTML_COMMENT.sub(" ", body)
    if not keep_code:
        text = _CODE_FENCE.sub(" code ", text)
    text = _URL.sub(" url ", text)
    if not keep_headings:
        text = _HEADING.sub(" ", text)
    text = _CHECKBOX.sub("", text)
    text = _NO_RESPONSE.sub(" ", text)
    text = _HEX.sub(" hexid ", text)
    text = _SPACES.sub(" ", text)
    return _BLANKS.sub("\n\n", text).strip()


def make_prep(
    spec: Mapping[str, Any] | str, *, body_is_new_text: bool = False
) -> Callable[[str, str], str]:
    """The preparation named by `spec`; with `lower`, the text is lower-cased (spaCy's
    bag-of-n-grams model hashes the exact token text, so case splits features on small data).
    `body_is_new_text`: for "email", the body has already had its quoted history removed."""
    spec = {"name": spec} if isinstance(spec, str) else dict(spec)
    base = _base_prep(spec, body_is_new_text)
    if spec.get("lower"):
        return lambda subject, body: base(subject, body).lower()
    return base


def _base_prep(spec: dict[str, Any], body_is_new_text: bool) -> Callable[[str, str], str]:
    name = spec.get("name", "email")
    if name == "email":
        return prep_plain if body_is_new_text else prep_email
    if name == "plain":
        return prep_plain
    if name == "github":
        repeat = int(spec.get("title_repeat", 1))
        keep_code = bool(spec.get("keep_code", False))
        keep_headings = bool(spec.get("keep_headings", True))
        max_chars = int(spec.get("max_chars", 0))

        def prep_github(subject: str, body: str) -> str:
            text = clean_github(body, keep_code=keep_code, keep_headings=keep_headings)
            if max_chars:
                text = text[:max_chars]
            return join("\n".join([subject.strip()] * repeat), text)

        return prep_github
    raise ValueError(f"unknown text preparation {name!r} (known: email, github, plain)")


def model_inputs(
    spec: Mapping[str, Any] | str, records: Sequence[Any]
) -> tuple[list[str], list[Any] | None]:
    """What a model with preparation `spec` reads of each labelled record (`data.Record`), and
    for "email" the `Mail` each text came from (the rules read that same Mail).

    For "email" that is exactly what the daemon reads: the subject and the parser's new text (of
    the .eml itself when the record is a raw mail, parsed once here), so training, evaluation
    and classification see the same text. Other preparations read the subject and body.
    """
    spec = {"name": spec} if isinstance(spec, str) else dict(spec)
    if spec.get("name", "email") != "email":
        prep = make_prep(spec)
        return [prep(record.subject, record.body) for record in records], None
    prep_new = make_prep(spec, body_is_new_text=True)
    mails = [record.mail() for record in records]
    return [prep_new(mail.subject, mail.text) for mail in mails], mails
