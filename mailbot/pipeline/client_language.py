"""Which variant of a script a client writes: Hong Kong or Taiwan Traditional Chinese.

Triage tells the script (zh-Hans, zh-Hant); the wording of the answer depends on where the
client is. mailbot takes, in this order: the mail's own Content-Language (zh-HK, zh-MO),
Cantonese in the writing (嘅, 咗, 唔, 喺 … several of them), the variant this client's earlier
items were answered in (remembered per address), and else the project's language when it is
a variant of the same script (see `outgoing.send.refine_language`).
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.message import Message
from mailbot.storage.models import Item

HONG_KONG = "zh-Hant-HK"
# Written Cantonese: particles and words Taiwan's Mandarin does not use.
_CANTONESE = re.compile("嘅|咗|唔|喺|啲|冇|嗰|佢|哋|係咪|乜嘢|點解|而家|揾|搵|睇|嚟|畀")
CANTONESE_MIN = 2  # one could be a name or a quotation; two are how the client writes


def variant_of(session: Session, message: Message, detected: str | None) -> str | None:
    """The language to file this client's mail under: `detected`, or its regional variant."""
    if detected != "zh-Hant":
        return detected
    tag = (message.header("content-language") or "").strip().lower()
    if tag.startswith(("zh-hk", "zh-mo", "zh-hant-hk", "zh-hant-mo")):
        return HONG_KONG
    if len(_CANTONESE.findall(message.new_text or "")) >= CANTONESE_MIN:
        return HONG_KONG
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
