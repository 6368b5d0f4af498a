"""What triage reads of a new text: the sign-off's name block and legal disclaimers cut off.

The parser keeps a sender's signature unless it is marked ("-- ", "Sent from my iPhone"), so a
PM sees it; triage does not need it. A name, a job title, "Operations | Acme Ltd" and a phone
number say nothing about whether a mail is an issue, and a disclaimer ("CONFIDENTIALITY
NOTICE … If you are not the intended recipient") only teaches a model the sender's company.

- the closing line itself ("Best regards,", "谢谢", "順頌 商祺") stays: thanks is a signal;
- the short lines after the last closing line go, when there are few of them;
- a disclaimer paragraph near the end goes with everything after it.

Line by line, with anchored patterns on short lines: linear in the size of the text.
"""

from __future__ import annotations

import re

# A line that is only a closing ("Best regards," "Thanks & Regards" "Cheers" "祝好" "此致敬礼").
_CLOSINGS = r"""(?:
        (?:(?:with\s+)?(?:best|kind|warm|warmest|many|kindest|sincere)\s+)?(?:regards|wishes)
        |(?:thanks?|thank\s+you)(?:\s+(?:so|very)\s+much)?(?:\s+(?:again|in\s+advance))?
            (?:\s+(?:everyone|all|team|guys))?
            (?:\s+(?:&|and)\s+(?:(?:best|kind|warm)\s+)?regards)?
        |many\s+thanks|thx|ta|thanks\s+(?:ah|lah)|merci(?:\s+beaucoup)?|cheers|best|warmly|sincerely|greetings(?:\s+from\s+[^\W\d_]{2,30})?
        |yours(?:\s+(?:sincerely|faithfully|truly))?
        |(?:yours\s+)?(?:sincerely|faithfully|truly)(?:\s+yours)?|rgds|br|brgds|saludos.{0,20}
        |(?:with\s+)?best\s+wishes(?:\s+for\s+[^\W\d_]{2,20})?|all\s+the\s+best|talk\s+soon
        |respectfully(?:\s+yours)?
        |(?:mit\s+)?(?:freundlichen|besten|beste|viele|liebe|herzliche)\s+gr[üu](?:ß|ss)e(?:n)?
        |vielen\s+dank(?:\s+und\s+(?:beste|viele)\s+gr[üu](?:ß|ss)e)?
        |met\s+vriendelijke\s+groet(?:en)?|vriendelijke\s+groet(?:en)?|groetjes
        |(?:com\s+os\s+)?(?:melhores\s+)?cumprimentos|atenciosamente|abra[çc]os
        |cordialement|bien\s+(?:à|a)\s+vous|cordiali\s+saluti|distinti\s+saluti|un\s+saludo
        |pozdrawiam|z\s+powa[żz]aniem|s\s+pozdravem|med\s+vennlig\s+hilsen|mvh|med\s+venlig\s+hilsen
        |(?:med\s+vänlig\s+)?hälsning(?:ar)?|vänliga\s+hälsningar|ystävällisin\s+terveisin
        |谢谢|謝謝|多谢|多謝|感谢|感謝|唔该晒|唔該晒|唔该|唔該|祝好|此致|此致敬礼|此致敬禮|敬上|顺颂商祺
        |谢谢您|謝謝您|谢谢你|謝謝你|感谢您|感謝您|多谢你|多謝你|祝工作顺利|祝工作順利|敬请回复|敬請回覆
        |(?:敬祝|顺颂|順頌|顺祝|順祝|祝)\s*(?:商祺|时祺|時祺|商安|平安|安康|顺利|順利|顺心|順心)
        |.{0,20}?(?:敬上|谨上|謹上|敬启|敬啟)
    )"""
_CLOSING = re.compile(  # one closing, or two joined ("With kind regards / Mit freundlichen Grüßen")
    rf"^[\s\-–—~]{{0,3}}{_CLOSINGS}(?:[\s,.]*[/|][\s\-–—~]*{_CLOSINGS})?[\s,.!，。！:：]*$",
    re.IGNORECASE | re.VERBOSE,
)
# The first line of a legal disclaimer or a "think before you print" footer.
_DISCLAIMER = re.compile(
    r"""^[\s*_\[【(]{0,3}(?:
        confidentiality(?:\s+notice)?|disclaimer|legal\s+notice|important\s+notice|privileged
        |this\s+(?:e-?mail|message)\s+(?:and\s+(?:any|its)\s+(?:attachments?|files)
            |is\s+confidential|may\s+contain|contains\s+confidential)
        |the\s+information\s+(?:contained\s+)?in\s+this\s+e-?mail
        |please\s+consider\s+the\s+environment|think\s+before\s+you\s+print
        |.{0,80}?\b(?:is\s+a\s+limited\s+liability\s+partnership|authori[sz]ed\s+and\s+regulated\s+by
            |registered\s+in\s+(?:england|scotland|wales|northern\s+ireland|ireland)\b)
        |保密声明|保密聲明|机密声明|機密聲明|免责声明|免責聲明|本电子邮件|本電子郵件
        |本邮件(?:及其?附件|(?:可能)?(?:包含|含有))|本郵件(?:及其?附件|(?:可能)?(?:包含|含有))
        |此电邮(?:及其?附件)?(?:载有|含有|可能|仅供)|此電郵(?:及其?附件)?(?:載有|含有|可能|僅供)
    )""",
    re.IGNORECASE | re.VERBOSE,
)
# A line of a contact block: a phone, an address, a mail or web address, a fax or extension.
_CONTACT = re.compile(
    r"""^[\s*|>-]{0,3}(?:
            手机|手機|电话|電話|座机|座機|传真|傳真|地址|邮箱|郵箱|电邮|電郵|微信|分机|分機
            |tel|phone|mobile|mob|cell|fax|e-?mail|ext|wechat|address|[tmfe]
        )\.?\s*[:：]
        |^[\s*|>-]{0,3}(?:tel|mob|ph|[tm])\.?\s*\+?\d
        |\+?\d[\d\s().-]{7,}\d|[\w.+-]+@[\w-]+\.\w|^\s*(?:https?://)?www\.[\w.-]+/?\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
# A line that only draws a line above a signature ("---", "——").
_SIGNATURE_RULE = re.compile(r"^\s*(?:-{2,}|—{1,}|_{2,})\s*$")
_DATE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}:\d{2}")  # a date or a time, no phone
_LIST_ITEM = re.compile(r"^\s*(?:[-*•·]|\d{1,2}[.)、])\s")
_LINK_WITH_PATH = re.compile(r"https?://\S+/\S")
_SENTENCE_END = re.compile(r"[。！？!?；;]|[.]\s*$")
MAX_LINE = 120  # a closing or signature line is short
MAX_SIGNATURE_LINES = 8  # lines after the closing that may be a name block
TAIL_SHARE = 0.5  # a disclaimer is only looked for in the last half of the lines


def without_signoff(text: str) -> str:
    """`text` without the name block after its closing line and without a disclaimer."""
    lines = text.split("\n")
    start = int(len(lines) * TAIL_SHARE)
    for index in range(start, len(lines)):
        line = lines[index]
        if len(line) <= 400 and _DISCLAIMER.match(line):
            lines = lines[:index]
            break
    for index in range(len(lines) - 1, max(-1, len(lines) - MAX_SIGNATURE_LINES - 2), -1):
        line = lines[index]
        if len(line) <= MAX_LINE and _CLOSING.match(line):
            tail = [x for x in lines[index + 1 :] if x.strip()]
            if len(tail) <= MAX_SIGNATURE_LINES and all(len(x) <= MAX_LINE for x in tail):
                lines = lines[: index + 1]
            break
    lines = _without_contact_block(lines)
    return "\n".join(lines).rstrip()


def _is_contact(line: str) -> bool:
    """A phone (8 digits or more), a mail address, a label ("Tel:", "地址："), a home page."""
    found = _CONTACT.search(line)
    if found is None:
        return False
    match = found.group()
    if match[:1].isdigit() or match.startswith("+"):  # a number alone: a phone's length
        return sum(c.isdigit() for c in match) >= 8 and not _DATE.search(match)
    return True


def _without_contact_block(lines: list[str]) -> list[str]:
    """`lines` without a name block at their end that has no closing above it: one run of
    short lines that are no sentences, list items or links, with a phone, an address or a
    mail address among them."""
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    start, contact = end, False
    while start > 0 and end - start < MAX_SIGNATURE_LINES:
        line = lines[start - 1]
        if _SIGNATURE_RULE.match(line):
            return lines[: start - 1] if start > 1 else lines
        if not line.strip():
            break  # a name block is one run of lines: above a blank line is the mail
        if len(line) > MAX_LINE // 2 or line.rstrip().endswith((":", "：")):
            break  # long, or it introduces what follows: the sender's text
        if _LIST_ITEM.match(line) or _LINK_WITH_PATH.search(line):
            break  # a list's item or a link to follow: what the sender asks or sends
        if _CLOSING.match(line):
            break  # what the closing pass left stays
        is_contact = _is_contact(line)
        if not is_contact and _SENTENCE_END.search(line):
            break
        contact = contact or is_contact
        start -= 1
    if contact and start > 0 and any(x.strip() for x in lines[:start]):
        return lines[:start]
    return lines
