"""The new text of a reply: quoted history, forwarded headers and signatures removed.

Works line by line with anchored, bounded patterns, so the cost stays linear in the
size of the body even for pathological quotes.
"""

from __future__ import annotations

import re

# "On <date>, <name> wrote:" and its translations, checked on one line and on up to
# three joined lines because clients wrap long attributions. The verb may sit in the
# middle ("X schrieb am <date>:"), so the test is: short, has a reply verb, ends with a
# colon (or "wrote ----"), and names a date or an address.
_VERB = re.compile(
    r"""(?:\b(?:wrote|writes|schrieb|[ée]crit|escribi[óo]|scritto|schreef|geschreven|skrev|
        pisze|пише|napisał|napisała|escreveu|kirjoitti|írta|yazdı|scris|napsal|написал|написала|
        пишет)\b|写道|寫道|寫到|写到|書きました)""",
    re.IGNORECASE | re.VERBOSE,
)
_WROTE_DASHES = re.compile(r"\b(?:wrote|writes)\s*-{2,}$", re.IGNORECASE)
_ATTRIBUTION_HINT = re.compile(r"\d|@|^\W{0,5}(?:on|am|le|el|il|op|den|em|在|於|于)\b", re.I)
# "在 <date>, <name> 写道:". The ending is checked on the stripped text, not with
# `.{0,200}…\s*$`, which backtracks over every position of every line.
_CJK_START = re.compile(r"\W{0,3}(?:在|於|于)")
_CJK_VERBS = ("写道", "寫道", "寫到", "写到")
# Old Gmail: "2013/7/20 Name <address>" with no verb at all, or
# "2013/7/20 10:00 GMT+08:00 Name <address>".
_DATE_START = re.compile(r"\W{0,3}\d{4}[/.-]\d{1,2}[/.-]\d{1,2}\b")
_GMT_TIME = re.compile(r"\s+\d{1,2}:\d{2}\s+GMT[+-]\d{1,2}:?\d{2}\s")
# The last run of non-space characters, optionally followed by ">" and a colon: it
# starts after a space or ">", so each character is looked at once.
_LAST_WORD = re.compile(r"(?<![^\s>])([^\s>]++)>?\s*+[:：]?\s*+$")
_ATTRIBUTION_START = re.compile(
    r"^\W{0,5}(?:(?:on|am|le|el|il|op|den|em|w\s+dniu)\b|在|於|于|\d)", re.IGNORECASE
)
_TIME = re.compile(r"\b\d{1,2}:\d{2}\b")
_MAX_ATTRIBUTION = 400


def _without_colon(text: str) -> str:
    """The text without trailing space and one final colon (and the space before it)."""
    text = text.rstrip()
    return text[:-1].rstrip() if text.endswith((":", "：")) else text


def _cjk_attribution(text: str) -> bool:
    """Opens with 在/於/于 and ends with 写道 (or a variant) within 200 characters."""
    start = _CJK_START.match(text)
    if not start:
        return False
    rest = _without_colon(text)
    verb = len(rest) - 2
    return rest.endswith(_CJK_VERBS) and start.end() <= verb <= start.end() + 200


def _dated_attribution(text: str) -> bool:
    """A date, then within 200 characters an address ending the line (optionally ">:"),
    or a time with a GMT offset and at most 100 more characters. Linear time.
    """
    start = _DATE_START.match(text)
    if not start:
        return False
    rest = text[start.end() :]
    gmt = _GMT_TIME.match(rest)
    if gmt and len(rest) > gmt.end() and len(rest[gmt.end() :].rstrip()) <= 100:
        return True
    last = _LAST_WORD.search(rest)
    if not last:
        return False
    # The "@" must be inside that last word with something after it.
    at = rest.find("@", last.start(1), last.end(1) - 1)
    return 0 <= at <= 200


def _ends_attribution(text: str) -> bool:
    """Ends with a colon, or Zoho's "wrote ----" (string tests first: this runs per line)."""
    text = text.rstrip()
    return text.endswith((":", "：")) or (text.endswith("--") and bool(_WROTE_DASHES.search(text)))


def _attribution(text: str) -> bool:
    if len(text) > _MAX_ATTRIBUTION:
        return False
    if _cjk_attribution(text) or _dated_attribution(text):
        return True
    if not _ends_attribution(text):
        return False
    # Without a verb, a time and an address ending the line still make an attribution
    # (Yandex: '26.06.2014, 14:41, "Alex" <a@example.com>:'); an address inside a sentence
    # does not ("您的帳戶 a@b.tw 密碼將於今日 23:59 到期。請…：").
    if _ATTRIBUTION_HINT.search(text) and _VERB.search(text):
        return True
    if "@" not in text or not _TIME.search(text):
        return False
    last = _LAST_WORD.search(text)
    return bool(last and "@" in last.group(1)) and not any(mark in text for mark in "。！？")


# "-----Original Message-----", QQ's "------------------ 原始邮件 ------------------" (and
# "------------------ Original ------------------" in its English interface),
# Gmail's "---------- Forwarded message ---------" and their translations.
_SEPARATOR = re.compile(  # QQ's plain text may spell its spaces "&nbsp;"
    r"""^\s*[-_=*]{2,}(?:\s|&nbsp;)*(?:
        original|original\s+message|forwarded\s+message|original\s+e-?mail|message\s+d'origine|
        message\s+transf[ée]r[ée]|ursprüngliche\s+nachricht|weitergeleitete\s+nachricht|
        mensaje\s+original|mensagem\s+original|messaggio\s+originale|oorspronkelijk\s+bericht|
        originalmeddelande|opprinnelig\s+melding|oprindelig\s+meddelelse|wiadomość\s+oryginalna|
        исходное\s+сообщение|пересылаемое\s+сообщение|
        原始邮件|原始郵件|原始信件|原邮件|原郵件|转发邮件信息|轉寄郵件|转发的邮件|轉發的郵件|
        回复的原邮件|元のメッセージ|転送メッセージ
    )(?:\s|&nbsp;)*[-_=*]{2,}\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
_FORWARD_INTRO = re.compile(
    r"^\s*(?:begin\s+forwarded\s+message|anfang\s+der\s+weitergeleiteten\s+nachricht|"
    r"début\s+du\s+message\s+réexpédié|以下为转发的邮件|下面是被转发的邮件)\s*+[:：]?\s*+$",
    re.IGNORECASE,
)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")

# Outlook-style header blocks: "From: … Sent: … To: … Subject: …" in several languages.
# Possessive whitespace (`\s*+`): `\s*[*>]?\s*` backtracks quadratically on a line of spaces.
_KEY = r"\s*+[*>]?\s*+(?:{})\s*+\*?\s*+[:：]"
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
        r"寄件日期|傳送時間|傳送日期|主旨|送信日時|宛先|件名"
    ),
    re.IGNORECASE,
)

# Phone and webmail footers, short and anchored, so "Sent from my desk, is much …" stays.
_LINK = r"(?:\s*(?:<[^>\s]*>|\([^)\s]*\)|\[[^\]]*\]\([^)\s]*\)))?"
_MOBILE_FOOTER = re.compile(
    r"""^[\s(<*_]*(?:
        (?:sent|envoyé|enviado|inviato|verzonden|sendt|skickat|wysłane|отправлено)\s+
          (?:from|with|via|using|by|depuis|de|desde|do|da|met|vanaf|fra|från|z|с)\s+
          (?:my\s+|mon\s+|ma\s+|mi\s+|meu\s+|mijn\s+|min\s+|mitt\s+|mojego\s+|моего\s+)?
          [\w\-'’]+(?:\s+[\w\-'’.]+){0,6}"""
    + _LINK
    + r"""
          (?:[.,!]?\s*(?:please\s+)?excuse.{0,40})?
      | get\s+outlook\s+for\s+(?:ios|android)"""
    + _LINK
    + r"""
      | (?:von|mit)\s+meinem\s+[\w\-\s]{1,40}\s+gesendet
      | diese\s+nachricht\s+wurde\s+von\s+meinem\s+.{1,60}\s+gesendet
      | from\s+my\s+(?:iphone|ipad|android|mobile|phone|blackberry)[\w\s]{0,12}
      | (?:发自|寄自|發自|来自|來自)\s?我的\s?[\w\s\-]{1,20}
      | (?:从|從)\s?我的\s?[\w\s\-]{1,20}(?:发送|傳送|發送)
      | 来自网易邮箱大师|來自網易郵箱大師|来自\s?[\w]{1,12}邮箱(?:大师)?
      | 获取\s?outlook\s?for\s?(?:ios|android)
      | 发自\s?[\w]{1,12}(?:邮箱|客户端|手机|mail)
    )[\s.)>*_]*$""",
    re.IGNORECASE | re.VERBOSE,
)
_SIGNATURE = re.compile(r"^(?:--|-- |—|__)\s*$")
_INVISIBLE = re.compile(r"[\u1427\u200b\u200c\ufeff]")
# ">" quotes, and supercite "Name>" quotes when a space or the line end follows.
_QUOTED = re.compile(r"^\s{0,3}(?:>|[A-Za-z]{1,10}>(?=\s|$))")
_RULE = re.compile(r"^\s*([-_=*~#+])(?:\s*\1)+\s*$")
_QUOTE_MARKS = re.compile(r"^(?:\s{0,3}(?:>|[A-Za-z]{1,10}>(?=\s|$)))+")
_SHORT_SIGNATURE = re.compile(r"^-[^\W\d][\w .]{0,40}$")  # "-Rick" under the text
_STRONG_HINT = re.compile(r"@|\d{1,4}[/.:-]\d{1,2}|\b\d{4}\b|\d日|年")
_HEADER_LINE = re.compile(
    rf"{_FROM_KEY.pattern}|{_OTHER_KEY.pattern}|\s*+[*>]?\s*+[A-Z][\w-]{{1,20}}\s*+\*?\s*+:\s",
    re.IGNORECASE,
)
_LOOKAHEAD = 6  # header-block lines are close together


def _attribution_lines(lines: list[str], index: int) -> int:
    """Number of lines (1-3) of an attribution ending at index, or 0.

    Wrapped attributions are found from their last line backwards; earlier lines are
    taken only while the text so far does not already start like an attribution and
    the earlier line carries a date, an address or an opening word.
    """
    joined = lines[index].strip()
    if len(joined) > _MAX_ATTRIBUTION or not (
        _ends_attribution(joined)
        or _cjk_attribution(joined)
        or _dated_attribution(joined)
        or "@" in joined
    ):
        return 0
    found = 1 if _attribution(joined) else 0
    for back in (1, 2):
        if index < back or _ATTRIBUTION_START.match(joined):
            break
        previous = lines[index - back].strip()
        if not previous or _QUOTED.match(previous) or not _ATTRIBUTION_HINT.search(previous):
            break
        joined = f"{previous} {joined}"
        if _attribution(joined):
            found = back + 1
    return found


def _is_header_block(lines: list[str], index: int) -> bool:
    """True at the first line of a run of header lines that names a sender.

    Outlook writes From/Sent/To/Subject, Hotmail Date/Subject/From/To: any order counts
    as long as a From-like key and two other keys (one if the sender has an address)
    sit within a few lines.
    """
    if not (_FROM_KEY.match(lines[index]) or _OTHER_KEY.match(lines[index])):
        return False
    has_from = with_address = False
    others = 0
    for line in lines[index : index + _LOOKAHEAD]:
        if _FROM_KEY.match(line):
            has_from, with_address = True, "@" in line
        elif _OTHER_KEY.match(line):
            others += 1
    # Two header lines are enough when the sender line names an address.
    return has_from and (others >= 2 or (others >= 1 and with_address))


def _cut_kind(lines: list[str], index: int) -> tuple[str, int]:
    """What starts or ends at this line.

    ("history", 1): a separator or header block, history follows; ("footer", 1): a
    signature or phone footer; ("attribution", n): the last of n attribution lines.
    """
    line = lines[index]
    stripped = line.strip()
    if not stripped:
        return "", 0
    if _SIGNATURE.match(line) or (len(stripped) < 100 and _MOBILE_FOOTER.match(stripped)):
        return "footer", 1
    if (
        _SEPARATOR.match(line)
        or _FORWARD_INTRO.match(line)
        or _UNDERSCORES.match(line)
        or _is_header_block(lines, index)
    ):
        return "history", 1
    count = _attribution_lines(lines, index)
    return ("attribution", count) if count else ("", 0)


def _next_content(lines: list[str], index: int) -> str:
    for line in lines[index : index + 50]:
        if line.strip():
            return line
    return ""


def _skip_forward_headers(lines: list[str], index: int) -> int:
    """Index after a forwarded mail's header block (it ends at the first blank line)."""
    seen_header = False
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            if seen_header:
                return index + 1
        elif _HEADER_LINE.match(line):
            seen_header = True
        elif not seen_header:
            return index
        index += 1
    return index


def _trim_tail(kept: list[tuple[str, bool]]) -> list[str]:
    """Drop what trails the new text: quote blocks, blanks, rules, a dangling attribution."""
    end = len(kept)
    while end:
        line, quoted = kept[end - 1]
        trailing = quoted or not line.strip() or _RULE.match(line)
        if not trailing and not _dangling_attribution(line):
            break
        end -= 1
    start = 0
    while start < end and not kept[start][0].strip():
        start += 1
    lines = [line for line, _ in kept[start:end]]
    if lines and _SHORT_SIGNATURE.match(lines[-1]):
        lines.pop()
    return lines


def _dangling_attribution(line: str) -> bool:
    # "Am 21.04.2016 schrieb X <x@example.org" whose ">:" ended up on a quoted line.
    return bool(_ATTRIBUTION_START.match(line) and _VERB.search(line) and _STRONG_HINT.search(line))


def new_text(body: str) -> str:
    """The text the sender wrote now, without quoted history or signature.

    Quote blocks followed by new text (inline replies) stay as context; quote blocks at
    the end, attributions, reply headers and signatures go. A forward with nothing
    written above it keeps the forwarded text, and a mail that is only a quote keeps it.
    """
    if not body:
        return ""
    lines = _INVISIBLE.sub("", body.replace("\r\n", "\n").replace("\r", "\n")).split("\n")
    kept: list[tuple[str, bool]] = []  # (line, is quoted)
    wrote = False  # whether the sender's own text has started
    first_written = 0  # index in kept of the sender's first line, valid when wrote
    answered = False  # a leading quote introduced by an attribution: the mail answered
    index = 0
    while index < len(lines):
        line = lines[index]
        if _QUOTED.match(line):
            if not wrote and _attribution(_QUOTE_MARKS.sub("", line).strip()):
                answered = True
            if wrote or not answered:
                kept.append((line.rstrip(), True))
            index += 1
            continue
        kind, count = _cut_kind(lines, index)
        if kind == "history" and not wrote:
            # Nothing written above a forwarded or re-sent mail: its text is what to read.
            start = index if _HEADER_LINE.match(line) else index + 1
            index = _skip_forward_headers(lines, start)
            continue
        if kind == "history" or (kind == "footer" and (wrote or not _SIGNATURE.match(line))):
            break
        if kind == "attribution":
            del kept[len(kept) - (count - 1) :]  # its first lines were taken as text
            wrote = wrote and first_written < len(kept)
            answered = not wrote
            # Followed by plain text it starts unprefixed history, unless nothing new
            # came before it (a list re-posting a reply under the original's header).
            attribution = " ".join(lines[index - count + 1 : index + 1])
            following = _next_content(lines, index + 1)
            if wrote and not _QUOTED.match(following) and _STRONG_HINT.search(attribution):
                break
            index += 1
            continue
        if line.strip() and not wrote:
            wrote, first_written = True, len(kept)
        kept.append((line.rstrip(), False))
        index += 1
    if not wrote:  # nothing but a quote: the quote is all there is to read
        return "\n".join(line for line, _ in kept).strip("\n")
    return "\n".join(_trim_tail(kept))
