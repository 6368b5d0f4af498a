"""The new text of a reply: quoted history, forwarded headers and signatures removed.

Works line by line with anchored, bounded patterns, so the cost stays linear in the
size of the body even for pathological quotes.
"""

from __future__ import annotations

import re

# "On <date>, <name> wrote:" and its translations. Checked on one line and on up to
# three joined lines, because clients wrap long attributions.
_ATTRIBUTION = re.compile(
    r"""^\W{0,3}(?:
        (?:on|am|le|el|il|op|den|em|w\sdniu|dne|el\sdía|pe)\b.{0,300}?
          (?:wrote|schrieb|a\s[ée]crit|escribi[óo]|ha\sscritto|schreef|skrev|pisze|napisał\(a\)|
             napisał|napisała|escreveu|kirjoitti|írta|yazdı|a\sscris|napsal)\s?:
      | .{0,300}?(?:написал|написала|написал\(а\)|пишет)\s?:
      | (?:在|於|于).{0,300}?(?:写道|寫道|寫到|写到)\s?[:：]?
      | .{0,300}?(?:に書きました|さんは書きました|wrote)\s?[:：]
    )\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
_ATTRIBUTION_START = re.compile(
    r"^\W{0,3}(?:on|am|le|el|il|op|den|em|w\sdniu|dne|pe|在|於|于)\b", re.IGNORECASE
)

# "-----Original Message-----", QQ's "------------------ 原始邮件 ------------------",
# Gmail's "---------- Forwarded message ---------" and their translations.
_SEPARATOR = re.compile(
    r"""^\s*[-_=*]{2,}\s*(?:
        original\s+message|forwarded\s+message|original\s+e-?mail|message\s+d'origine|
        message\s+transf[ée]r[ée]|ursprüngliche\s+nachricht|weitergeleitete\s+nachricht|
        mensaje\s+original|mensagem\s+original|messaggio\s+originale|oorspronkelijk\s+bericht|
        originalmeddelande|opprinnelig\s+melding|oprindelig\s+meddelelse|wiadomość\s+oryginalna|
        исходное\s+сообщение|пересылаемое\s+сообщение|
        原始邮件|原始郵件|原始信件|原邮件|原郵件|转发邮件信息|轉寄郵件|转发的邮件|轉發的郵件|
        回复的原邮件|元のメッセージ|転送メッセージ
    )\s*[-_=*]{2,}\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
_FORWARD_INTRO = re.compile(
    r"^\s*(?:begin\s+forwarded\s+message|anfang\s+der\s+weitergeleiteten\s+nachricht|"
    r"début\s+du\s+message\s+réexpédié|以下为转发的邮件|下面是被转发的邮件)\s*[:：]?\s*$",
    re.IGNORECASE,
)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")

# Outlook-style header blocks: "From: … Sent: … To: … Subject: …" in several languages.
_KEY = r"\s*[*>]?\s*(?:{})\s*\*?\s*[:：]"
_FROM_KEY = re.compile(
    _KEY.format(
        r"from|von|van|de|da|fra|från|od|от|mittente|发件人|發件人|寄件者|寄件人|送信者|差出人"
    ),
    re.IGNORECASE,
)
_OTHER_KEY = re.compile(
    _KEY.format(
        r"sent|date|to|cc|subject|gesendet|datum|an|betreff|envoyé|objet|à|enviado|enviada|"
        r"fecha|para|asunto|assunto|verzonden|aan|onderwerp|sendt|til|emne|skickat|till|ämne|"
        r"wysłane|do|temat|отправлено|кому|тема|data|inviato|oggetto|a|"
        r"发送时间|發送時間|发送日期|發送日期|时间|時間|日期|收件人|收件者|抄送|副本|主题|主題|"
        r"寄件日期|送信日時|宛先|件名"
    ),
    re.IGNORECASE,
)

# Phone and webmail footers. Anchored and short, so "Sent from my desk, is much …" stays.
_MOBILE_FOOTER = re.compile(
    r"""^\s*(?:
        sent\s+from\s+my\s+[\w\s.'’-]{1,40}
      | sent\s+from\s+(?:mail|outlook|yahoo\s+mail|gmail|my\s+mobile)\b[\w\s.'’-]{0,40}
      | sent\s+(?:via|with)\s+(?:blackberry|superhuman|spark|airmail)\b[\w\s.'’-]{0,40}
      | get\s+outlook\s+for\s+(?:ios|android)
      | von\s+meinem\s+[\w\s-]{1,30}\s+gesendet
      | envoyé\s+de\s+mon\s+[\w\s-]{1,30}
      | enviado\s+desde\s+mi\s+[\w\s-]{1,30}
      | (?:发自|寄自|發自|来自|來自)我的[\w\s\u4e00-\u9fff-]{1,20}
      | 来自网易邮箱大师|來自網易郵箱大師|来自\s?[\w\u4e00-\u9fff]{1,12}邮箱
      | 从我的[\w\s\u4e00-\u9fff-]{1,20}发送
      | 发自\s?[\w\u4e00-\u9fff]{1,12}(?:邮箱|客户端|手机)
    )\s*\.?\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
_SIGNATURE = re.compile(r"^(?:--|-- |—|__)\s*$")
_INVISIBLE = re.compile(r"[\u1427\u200b\u200c\ufeff]")
_QUOTED = re.compile(r"^\s{0,3}>")
_LOOKAHEAD = 6  # header-block lines are close together


def _is_attribution(lines: list[str], index: int) -> int:
    """Number of lines (1-3) forming an attribution at index, or 0."""
    line = lines[index]
    if len(line) > 400:
        return 0
    if _ATTRIBUTION.match(line):
        return 1
    if not _ATTRIBUTION_START.match(line):
        return 0
    joined = line
    for extra in (1, 2):
        if index + extra >= len(lines) or not lines[index + extra].strip():
            return 0
        joined = f"{joined} {lines[index + extra].strip()}"
        if _ATTRIBUTION.match(joined):
            return extra + 1
    return 0


def _is_header_block(lines: list[str], index: int) -> bool:
    """True when a From-like line is followed closely by other header-like lines."""
    if not _FROM_KEY.match(lines[index]):
        return False
    seen = 0
    for line in lines[index + 1 : index + 1 + _LOOKAHEAD]:
        if _OTHER_KEY.match(line):
            seen += 1
            if seen >= 2:
                return True
    return False


def _cut_kind(lines: list[str], index: int) -> tuple[str, int]:
    """What starts at this line: ("attribution", n), ("cut", 1) or ("", 0)."""
    line = lines[index]
    stripped = line.strip()
    if not stripped:
        return "", 0
    if (
        _SEPARATOR.match(line)
        or _FORWARD_INTRO.match(line)
        or _UNDERSCORES.match(line)
        or _SIGNATURE.match(line)
        or (len(stripped) < 80 and _MOBILE_FOOTER.match(stripped))
        or _is_header_block(lines, index)
    ):
        return "cut", 1
    count = _is_attribution(lines, index)
    return ("attribution", count) if count else ("", 0)


def _next_content(lines: list[str], index: int) -> str:
    for line in lines[index:]:
        if line.strip():
            return line
    return ""


def new_text(body: str) -> str:
    """The text the sender wrote now, without quoted history or signature."""
    if not body:
        return ""
    lines = _INVISIBLE.sub("", body.replace("\r\n", "\n").replace("\r", "\n")).split("\n")
    kept: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if _QUOTED.match(line):
            index += 1
            continue
        kind, count = _cut_kind(lines, index)
        if kind == "cut":
            break
        if kind == "attribution":
            # Followed by a ">" block: drop both and go on, replies may be interleaved.
            # Followed by plain text: the rest is the unprefixed history.
            if not _QUOTED.match(_next_content(lines, index + count)):
                break
            index += count
            continue
        kept.append(line.rstrip())
        index += 1
    return "\n".join(kept).strip("\n")
