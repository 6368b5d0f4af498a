"""Which variant of a script a client writes: Hong Kong or Taiwan Traditional Chinese.

Triage tells the script (zh-Hans, zh-Hant); the wording of the answer depends on where the
client is. mailbot takes, in this order:

1. Hong Kong when the mail says so: its language headers name zh-HK or zh-MO first among
   the Chinese tags (Content-Language, then Accept-Language as Outlook sends it), a text
   part is in Big5-HKSCS, or it is written in Cantonese (嘅, 咗, 唔, 喺 … several of them);
2. Taiwan when the headers name zh-TW first: a Taiwan client of a Hong Kong project;
3. the variant this client's earlier items were answered in (remembered per address);
4. else the project's language when it is a variant of the same script (see
   `outgoing.send.refine_language`).
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.message import Message
from mailbot.storage.models import Item

HONG_KONG = "zh-Hant-HK"
TAIWAN = "zh-Hant-TW"
TRADITIONAL = "zh-Hant"
# The writer's language as their mail program declares it: the mail's, then what they read.
LANGUAGE_HEADERS = ("content-language", "accept-language", "x-accept-language")
# Language tags (lower-case) that name a region of Traditional Chinese.
REGIONS = {
    "zh-hk": HONG_KONG,
    "zh-mo": HONG_KONG,
    "zh-hant-hk": HONG_KONG,
    "zh-hant-mo": HONG_KONG,
    "yue": HONG_KONG,
    "yue-hk": HONG_KONG,
    "yue-hant-hk": HONG_KONG,
    "zh-yue": HONG_KONG,
    "zh-tw": TAIWAN,
    "zh-hant-tw": TAIWAN,
}
HONG_KONG_CHARSETS = ("big5-hkscs", "big5hkscs")
# Written Cantonese: particles and words Taiwan's Mandarin does not use.
_CANTONESE = re.compile("嘅|咗|唔|喺|啲|冇|嗰|佢|哋|係咪|乜嘢|點解|而家|揾|搵|睇|嚟|畀")
CANTONESE_MIN = 2  # one could be a name or a quotation; two are how the client writes
MAX_TAGS = 20  # of one header: a language list, not a place to hide work


def variant_of(session: Session, message: Message, detected: str | None) -> str | None:
    """The language to file this client's mail under: `detected`, or its regional variant."""
    if detected != TRADITIONAL:
        return detected
    declared = declared_region(message)
    if declared == HONG_KONG or hong_kong_charset(message) or written_in_cantonese(message):
        return HONG_KONG
    if declared:
        return declared
    sender = message.from_.email.lower() if message.from_ else None
    if sender:
        earlier = session.scalars(
            select(Item.language)
            .where(Item.client_email == sender, Item.language.like(detected + "-%"))
            .order_by(Item.id.desc())
            .limit(1)
        ).first()
        if earlier:
            return earlier
    return detected


def declared_region(message: Message) -> str | None:
    """zh-Hant-HK or zh-Hant-TW when the mail's language headers name that region before any
    other Chinese region; None when they name none (`zh`, `zh-Hant`, `en` say nothing)."""
    for name in LANGUAGE_HEADERS:
        for tag in language_tags(message.header(name) or ""):
            if tag in REGIONS:
                return REGIONS[tag]
    return None


def language_tags(value: str) -> list[str]:
    """`zh-HK, en;q=0.8` -> ["zh-hk", "en"]: lower-case, most preferred first."""
    weighted = []
    for position, item in enumerate(value.split(",")[:MAX_TAGS]):
        tag, _, params = item.partition(";")
        tag = tag.strip().lower().replace("_", "-")
        if not tag:
            continue
        quality = 1.0
        match = re.search(r"q\s*=\s*([^\s;]{0,8})", params)
        if match:
            try:
                quality = float(match.group(1))
            except ValueError:
                quality = 0.0
        weighted.append((-quality, position, tag))
    return [tag for _q, _p, tag in sorted(weighted)]


def hong_kong_charset(message: Message) -> bool:
    """A text part in Big5-HKSCS: Hong Kong's character set (Taiwan's mail says big5)."""
    return any(charset in HONG_KONG_CHARSETS for charset in message.charsets)


def written_in_cantonese(message: Message) -> bool:
    return len(_CANTONESE.findall(message.new_text or "")) >= CANTONESE_MIN
