"""Turn bytes into text: declared charsets, their aliases, and detection when they lie."""

from __future__ import annotations

import codecs
import logging

log = logging.getLogger("mailbot.parse")

# Declared names mapped to the codec that really decodes such mail. GB2312 and GBK
# mail routinely contains GBK/GB18030-only characters, and Big5 mail HKSCS ones,
# so the superset is always the safer choice.
_ALIASES: dict[str, str] = {
    "gb2312": "gb18030",
    "gb_2312": "gb18030",
    "gb_2312-80": "gb18030",
    "csgb2312": "gb18030",
    "euc-cn": "gb18030",
    "x-euc-cn": "gb18030",
    "chinese": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "windows-936": "gb18030",
    "gb18030": "gb18030",
    "big5": "big5hkscs",
    "big-5": "big5hkscs",
    "x-big5": "big5hkscs",
    "cn-big5": "big5hkscs",
    "csbig5": "big5hkscs",
    "big5-hkscs": "big5hkscs",
    "cp950": "big5hkscs",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "ksc5601": "cp949",
    "ksc_5601": "cp949",
    "euc-kr": "cp949",
    "x-windows-949": "cp949",
    "windows-949": "cp949",
    "uft-8": "utf-8",
    "utf8": "utf-8",
    "x-utf-8": "utf-8",
    "utf-8-sig": "utf-8-sig",
    "unicode-1-1-utf-7": "utf-7",
    "x-unicode-2-0-utf-7": "utf-7",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "x-sjis": "cp932",
    "sjis": "cp932",
    "windows-31j": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "x-mac-cyrillic": "mac-cyrillic",
    "x-mac-roman": "mac-roman",
    "macintosh": "mac-roman",
    "ansi_x3.4-1968": "ascii",
    "us-ascii": "ascii",
    "latin1": "latin-1",
    "iso-8859-1": "cp1252",  # mail clients mean Windows-1252 when they say Latin-1
}

# When a declared charset fails, the other encodings of the same language come first.
_SIBLINGS: dict[str, tuple[str, ...]] = {
    "iso2022_jp_ext": ("euc_jp", "cp932"),
    "iso2022_jp": ("euc_jp", "cp932"),
    "cp932": ("euc_jp", "iso2022_jp_ext"),
    "euc_jp": ("cp932", "iso2022_jp_ext"),
    "cp949": ("utf-8",),
    "gb18030": ("big5hkscs",),
    "big5hkscs": ("gb18030",),
}

_SINGLE_BYTE = frozenset({"cp1252", "iso8859-1", "iso8859-15", "ascii"})

# Python codecs that are text codecs by name but never a real mail charset.
_REFUSED = frozenset(
    {"unicode_escape", "raw_unicode_escape", "idna", "punycode", "undefined", "mbcs", "oem"}
)


def codec_for(declared: str | None) -> str | None:
    """The Python codec for a declared charset, or None when it is unknown."""
    if not declared:
        return None
    name = declared.strip().strip("\"'").lower()
    if not name:
        return None
    name = _ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _REFUSED:
        return None
    return info.name


# Chinese bytes without a trustworthy label: decode as GB18030 and as Big5-HKSCS and keep
# the reading whose characters are mostly the frequent ones of that standard (GB2312
# level 1, Big5 level 1). Latin-1 or Korean bytes read as either give rare characters.
_COMMON_RANGES = (("gb18030", "gb2312", 0xB0, 0xD7), ("big5hkscs", "big5", 0xA4, 0xC6))
_CJK_SAMPLE = 2000


def _common_share(text: str, table: str, low: int, high: int) -> tuple[float, int]:
    cjk = [ch for ch in text[: _CJK_SAMPLE * 4] if "\u4e00" <= ch <= "\u9fff"][:_CJK_SAMPLE]
    if not cjk:
        return 0.0, 0
    common = 0
    for ch in cjk:
        try:
            lead = ch.encode(table)[0]
        except UnicodeEncodeError:
            continue
        common += low <= lead <= high
    return common / len(cjk), len(cjk)


def _cjk_guess(data: bytes) -> tuple[str, str] | None:
    best: tuple[float, str, str] | None = None
    for codec, table, low, high in _COMMON_RANGES:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        share, count = _common_share(text, table, low, high)
        if count >= 2 and share >= 0.7 and (best is None or share > best[0]):
            best = (share, text, codec)
    return (best[1], best[2]) if best else None


_DETECT_SAMPLE = 64 * 1024
_DETECT_MIN = 64  # on fewer bytes the statistical detector guesses wildly


def _detect(data: bytes) -> str | None:
    """Ask charset-normalizer; only called when cheap guesses failed."""
    from charset_normalizer import from_bytes  # imported lazily: slow to import, rarely needed

    sample = data
    if len(sample) > _DETECT_SAMPLE:
        cut = sample.rfind(b"\n", 0, _DETECT_SAMPLE)
        sample = sample[: cut if cut > 0 else _DETECT_SAMPLE]
    try:
        best = from_bytes(sample).best()
    except Exception:  # the detector is a heuristic; never let it take the parse down
        log.debug("charset detection failed", exc_info=True)
        return None
    if best is None:
        return None
    return codec_for(best.encoding)


def guess(data: bytes) -> tuple[str, str]:
    """Decode bytes of unknown charset; return (text, codec used)."""
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    found = _cjk_guess(data)
    if found:
        return found
    detected = _detect(data) if len(data) >= _DETECT_MIN else None
    if detected:
        try:
            return data.decode(detected), detected
        except (UnicodeDecodeError, LookupError):
            pass
    return data.decode("cp1252", "replace"), "cp1252"


def decode(data: bytes, declared: str | None) -> tuple[str, str | None]:
    """Decode a body part; return (text, defect or None). Never raises."""
    text, defect = _decode(data, declared)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # Some codecs (utf-7, utf-16 on bad input) yield lone surrogates, which no
        # UTF-8 sink (JSON, the database, a terminal) accepts.
        text = text.encode("utf-8", "replace").decode("utf-8")
        defect = defect or f"invalid {declared} sequences replaced"
    return text, defect


def _decode(data: bytes, declared: str | None) -> tuple[str, str | None]:
    if not data:
        return "", None
    codec = codec_for(declared)
    if codec is None:
        if data.isascii():
            return data.decode("ascii"), None
        text, used = guess(data)
        what = f"unknown charset {declared!r}" if declared else "undeclared charset"
        return text, f"{what}, detected {used}"
    if codec in _SINGLE_BYTE and not data.isascii():
        # Valid multibyte UTF-8 is almost never real Latin text: a mislabelled body.
        try:
            text = data.decode("utf-8")
            return text, f"charset {declared!r} does not fit the bytes, detected utf-8"
        except UnicodeDecodeError:
            pass
    try:
        return data.decode(codec), None
    except UnicodeDecodeError:
        pass
    # A wrong label: UTF-8 or Chinese text labelled otherwise is common, trust it only
    # when the bytes fit cleanly; else keep the label and replace what does not fit.
    if codec != "utf-8":
        try:
            text = data.decode("utf-8")
            return text, f"charset {declared!r} does not fit the bytes, detected utf-8"
        except UnicodeDecodeError:
            pass
    for sibling in _SIBLINGS.get(codec, ()):
        try:
            text = data.decode(sibling)
        except UnicodeDecodeError:
            continue
        return text, f"charset {declared!r} does not fit the bytes, decoded as {sibling}"
    found = _cjk_guess(data)
    if found and found[1] != codec:
        return found[0], f"charset {declared!r} does not fit the bytes, detected {found[1]}"
    loose = data.decode(codec, "replace")
    if codec in ("utf-8", "ascii") and not _has_real_non_ascii(loose):
        # Not one valid UTF-8 sequence: a legacy 8-bit body (often Windows-1252) under
        # a UTF-8 or ASCII label. Ask the detector rather than show replacement marks.
        detected = (_detect(data) if len(data) >= _DETECT_MIN else None) or "cp1252"
        try:
            text = data.decode(detected)
            return text, f"charset {declared!r} does not fit the bytes, detected {detected}"
        except (UnicodeDecodeError, LookupError):
            pass
    return loose, f"invalid {declared} bytes replaced"


def _has_real_non_ascii(text: str) -> bool:
    return any(ord(ch) > 127 and ch != "\ufffd" for ch in text)


def decode_header_bytes(data: bytes) -> tuple[str, str | None]:
    """Decode a raw 8-bit header value; return (text, defect or None)."""
    if data.isascii():
        return data.decode("ascii"), None
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    found = _cjk_guess(data)
    if found:
        return found[0], f"raw 8-bit header, detected {found[1]}"
    return data.decode("cp1252", "replace"), "raw 8-bit header, read as windows-1252"
