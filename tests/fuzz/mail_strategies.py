"""Hypothesis strategies for hostile and broken mail, written byte by byte.

`mails()` draws a whole message: a header soup (real and random headers, RFC 2047
encoded words right and wrong, NUL bytes, 8-bit bytes, bare CR and LF, folding) over a
random MIME tree (nesting, multipart subtypes, boundaries missing, wrong or repeated,
parts in GB2312, GBK, GB18030, Big5, Shift-JIS, ISO-2022-JP, UTF-16 and others, each
transfer encoding, correct or corrupt, RFC 2231 parameters right and wrong, message/rfc822
inside). Nothing goes through the email package on the way out, so every defect survives.

`grown_mails()` draws a mail whose text is a long run of one thing the text extraction
looks at (whitespace, quote markers, attribution lines, HTML comments and tags...), up
to 100 KB, for the time bound.

Used by tests/fuzz/ and benchmarks/fuzz.py.
"""

from __future__ import annotations

import base64
import quopri
from datetime import UTC, datetime
from email.utils import format_datetime

from hypothesis import strategies as st

CHARSETS = (
    "utf-8",
    "gb2312",
    "gbk",
    "gb18030",
    "big5",
    "shift_jis",
    "iso-2022-jp",
    "euc-kr",
    "iso-8859-1",
    "windows-1252",
    "koi8-r",
    "utf-16",
    "us-ascii",
)
BOGUS_CHARSETS = ("x-unknown", "unknown-8bit", "utf-8\x00", "gb2312'", "", "utf-7", "cp65001")
ENCODINGS = ("7bit", "8bit", "binary", "base64", "quoted-printable")
BOGUS_ENCODINGS = ("x-uuencode", "base-64", "QUOTED-PRINTABLE ", "bogus")
LEAF_TYPES = (
    "text/plain",
    "text/html",
    "text/enriched",
    "text/calendar",
    "application/octet-stream",
    "application/pdf",
    "image/png",
    "text",  # no subtype
    "",  # no type at all
)
MULTIPART = ("mixed", "alternative", "related", "signed", "report", "digest", "x-weird")

# Text that each charset can carry, and some that it cannot (encoded with "replace").
_CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
_KANA = st.characters(min_codepoint=0x3040, max_codepoint=0x30FF)
_HANGUL = st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)
_ANY = st.characters(blacklist_categories=("Cs",))
_TEXT_CHARS = st.one_of(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    _CJK,
    _KANA,
    _HANGUL,
    st.sampled_from(list("\u3000\u00a0\t\r\n>|—“”’…，。！？：；")),
    _ANY,
)
TEXT = st.text(_TEXT_CHARS, max_size=300)
WORDS = st.text(_TEXT_CHARS, max_size=40)


def _encode(text: str, charset: str) -> bytes:
    try:
        return text.encode(charset, errors="replace")
    except LookupError:
        return text.encode("utf-8", errors="surrogatepass")


@st.composite
def encoded_words(draw: st.DrawFn) -> str:
    """An RFC 2047 encoded word: right, or wrong in one of the ways seen in the wild."""
    charset = draw(st.sampled_from(CHARSETS + BOGUS_CHARSETS))
    text = draw(WORDS)
    data = _encode(text, charset.strip("\x00'") or "utf-8")
    kind = draw(st.sampled_from(["B", "Q", "b", "q", "X"]))
    if kind in "Bb":
        payload = base64.b64encode(data).decode()
        if draw(st.booleans()):
            payload = payload[: draw(st.integers(0, len(payload)))]  # cut: bad padding
    else:
        payload = quopri.encodestring(data, header=True).decode().replace("\n", "")
        if draw(st.booleans()):
            payload += draw(st.sampled_from(["=", "=G", "=4", "?", " "]))
    language = draw(st.sampled_from(["", "*zh-CN", "*"]))
    word = f"=?{charset}{language}?{kind}?{payload}?="
    return draw(
        st.sampled_from(
            [
                word,
                word + word,  # adjacent, no space
                word + " " + word,
                f'"{word}"',  # inside a quoted string
                word[:-2],  # never closed
                "x" + word + "y",  # glued to other text
                word * draw(st.integers(1, 30)),
            ]
        )
    )


HEADER_TEXT = st.one_of(
    WORDS, encoded_words(), st.binary(max_size=60).map(lambda b: b.decode("latin-1"))
)


@st.composite
def addresses(draw: st.DrawFn) -> str:
    local = draw(st.sampled_from(["anna", "wang.fang", "x", "王芳", "a\x00b", "", '"a b"', "<>"]))
    domain = draw(
        st.sampled_from(["acme.example", "client.example", "", "[127.0.0.1]", "例子.中国"])
    )
    name = draw(st.one_of(st.just(""), HEADER_TEXT))
    address = f"{local}@{domain}" if domain else local
    return draw(
        st.sampled_from(
            [
                f"{name} <{address}>",
                address,
                f'"{name}" <{address}>',
                f"<{address}>",
                f"{name} <{address}",  # never closed
                f"{address}, {name} <{address}>; undisclosed-recipients:;",
            ]
        )
    )


@st.composite
def params(draw: st.DrawFn) -> str:
    """Content-Type/-Disposition parameters, RFC 2231 included, right and wrong."""
    charset = draw(st.sampled_from(CHARSETS + BOGUS_CHARSETS))
    name = draw(WORDS)
    pct = "".join(f"%{b:02X}" for b in _encode(name, charset.strip("\x00'") or "utf-8"))
    forms = [
        f'; name="{name}"',
        f"; filename*={charset}''{pct}",
        f"; filename*={charset}'zh'{pct}",
        f"; filename*0*={charset}''{pct[:9]}; filename*1*={pct[9:]}",
        f"; filename*1*={pct}; filename*0*={charset}''",  # sections out of order
        f"; filename*0={name}; filename*2=x",  # a section missing
        "; filename*=utf-8''%E4%B8%ZZ%",  # bad escapes
        f"; filename*={charset}{pct}",  # no quote marks
        f'; name="{draw(encoded_words())}"',
        "; ;;=; =x; a=",
        f"; p={'v' * draw(st.integers(0, 2000))}",
    ]
    picked = draw(st.lists(st.sampled_from(forms), max_size=4))
    return "".join(picked)


def _transfer(draw: st.DrawFn, data: bytes, encoding: str) -> bytes:
    if encoding == "base64":
        body = base64.encodebytes(data)
        if draw(st.booleans()):  # corrupt: cut, junk, missing padding
            body = body[: draw(st.integers(0, len(body)))] + draw(
                st.sampled_from([b"", b"!!", b"====", b"\x00", b"\xff\xfe"])
            )
        return body
    if encoding == "quoted-printable":
        body = quopri.encodestring(data)
        if draw(st.booleans()):
            body += draw(st.sampled_from([b"=", b"=Z9", b"=\r", b"= \n", b"=0"]))
        return body
    return data


@st.composite
def leaves(draw: st.DrawFn) -> bytes:
    """One non-multipart part: headers and body."""
    ctype = draw(st.sampled_from(LEAF_TYPES))
    charset = draw(st.sampled_from(CHARSETS + BOGUS_CHARSETS))
    text = draw(TEXT)
    if ctype == "text/html" and draw(st.booleans()):
        text = f"<html><head><style>{text}</style></head><body><p>{text}</p><!-- {text}"
    if draw(st.integers(0, 9)) == 0:
        data = draw(st.binary(max_size=400))  # not text at all, whatever it says
    else:
        data = _encode(text, charset.strip("\x00'") or "utf-8")
    if draw(st.integers(0, 7)) == 0:
        data = data.replace(b" ", b"\x00", draw(st.integers(1, 5)))
    encoding = draw(st.sampled_from(ENCODINGS + BOGUS_ENCODINGS))
    head = f"Content-Type: {ctype}; charset={charset}{draw(params())}\r\n"
    if draw(st.booleans()):
        disposition = draw(st.sampled_from(["inline", "attachment", "", "bogus"]))
        head += f"Content-Disposition: {disposition}{draw(params())}\r\n"
    if draw(st.integers(0, 5)):
        head += f"Content-Transfer-Encoding: {encoding}\r\n"
    return head.encode("utf-8", "surrogateescape") + b"\r\n" + _transfer(draw, data, encoding)


def trees(max_depth: int = 4) -> st.SearchStrategy[bytes]:
    """A MIME tree: leaves, multiparts of trees, and message/rfc822 around a whole mail."""
    return st.recursive(leaves(), _branch, max_leaves=12)


def _branch(children: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    return st.one_of(_multipart(children), _embedded(children))


@st.composite
def _multipart(draw: st.DrawFn, children: st.SearchStrategy[bytes]) -> bytes:
    subtype = draw(st.sampled_from(MULTIPART))
    boundary = draw(
        st.one_of(
            st.just("=_b" + str(draw(st.integers(0, 10**6)))),
            st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=70),
            st.just("x" * 200),  # longer than RFC 2046 allows
            st.just(""),
        )
    )
    parts = draw(st.lists(children, max_size=4))
    style = draw(st.sampled_from(["ok", "no_param", "wrong", "unclosed", "in_content", "no_crlf"]))
    declared = "" if style == "no_param" else f'; boundary="{boundary}"'
    used = boundary + "X" if style == "wrong" else boundary
    out = f"Content-Type: multipart/{subtype}{declared}\r\n\r\npreamble --{used}x\r\n".encode(
        "utf-8", "surrogateescape"
    )
    sep = b"" if style == "no_crlf" else b"\r\n"
    for part in parts:
        if style == "in_content":
            part = part + f"\r\n--{used}\r\n".encode("utf-8", "surrogateescape")
        out += f"--{used}".encode("utf-8", "surrogateescape") + sep + part + b"\r\n"
    if style != "unclosed":
        out += f"--{used}--\r\nepilogue\r\n".encode("utf-8", "surrogateescape")
    return out


@st.composite
def _embedded(draw: st.DrawFn, children: st.SearchStrategy[bytes]) -> bytes:
    inner = draw(headers()) + draw(children)
    return b"Content-Type: message/rfc822\r\n\r\n" + inner


@st.composite
def headers(draw: st.DrawFn) -> bytes:
    """The top of a mail: the usual headers, some broken, in a soup of others."""
    lines: list[bytes] = []

    def add(name: str, value: str) -> None:
        lines.append(f"{name}: {value}".encode("utf-8", "surrogateescape"))

    when = draw(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1)))
    usual = {
        "From": draw(addresses()),
        "To": draw(addresses()),
        "Cc": draw(addresses()),
        "Reply-To": draw(addresses()),
        "Subject": draw(HEADER_TEXT),
        "Date": draw(
            st.sampled_from(
                [format_datetime(when.replace(tzinfo=UTC)), "yesterday", "", "Mon, 32 Foo 99999"]
            )
        ),
        "Message-ID": draw(
            st.sampled_from(["<m@x>", "", "<>", "no-brackets", "<" + "a" * 999 + ">"])
        ),
        "In-Reply-To": draw(st.sampled_from(["<p@x>", "<a@x> <b@x>", "garbage", ""])),
        "References": draw(st.sampled_from(["<p@x>", "<a@x>\r\n <b@x>", "<<>>", ""])),
        "MIME-Version": draw(st.sampled_from(["1.0", "", "2.0 (bogus)"])),
    }
    for name in draw(st.lists(st.sampled_from(sorted(usual)), unique=True, max_size=len(usual))):
        add(name, usual[name])
    for _ in range(draw(st.integers(0, 6))):  # header soup
        name = draw(
            st.one_of(
                st.sampled_from(
                    ["X-Spam", "Received", "DKIM-Signature", "Subject", "From", "Auto-Submitted"]
                ),
                st.text(
                    st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=20
                ).filter(lambda n: ":" not in n),
            )
        )
        value = draw(HEADER_TEXT)
        add(name, value)
    soup = [
        b"no colon on this line",
        b"X-Folded: first\r\n\tsecond\r\n third",
        b"X-Nul: a\x00b",
        b"X-8bit: \xe4\xb8\xad\xff",
        b"X-Bare-CR: a\rb",
        b"X-Bare-LF: a\nb",
        b" leading whitespace continuation",
        b":no name",
        b"X-Long: " + b"y" * draw(st.integers(0, 5000)),
    ]
    lines += draw(st.lists(st.sampled_from(soup), max_size=3))
    order = draw(st.permutations(range(len(lines))))
    return b"\r\n".join(lines[i] for i in order) + (b"\r\n" if lines else b"")


@st.composite
def mails(draw: st.DrawFn) -> bytes:
    """A whole hostile mail: header soup over a MIME tree (whose own headers follow)."""
    mail = draw(headers()) + draw(trees())
    ending = draw(st.sampled_from(["crlf", "lf", "cr", "mixed"]))
    if ending == "lf":
        mail = mail.replace(b"\r\n", b"\n")
    elif ending == "cr":
        mail = mail.replace(b"\r\n", b"\r")
    elif ending == "mixed":
        mail = mail.replace(b"\r\n\r\n", b"\n\r\n", 1)
    return mail


# --- mails grown for the time bound -------------------------------------------------------

GROWN_MAX = 100_000
UNITS = {
    "spaces": " ",
    "tabs": "\t \t",
    "ideographic": "\u3000",
    "nbsp": "\u00a0 ",
    "newlines": "\r\n",
    "quotes": "> ",
    "deep_quote": ">",
    "quote_lines": "> > > quoted text\r\n",
    "attribution_en": "On Mon, 30 Nov 2026 at 09:00, Anna <anna@acme.example> wrote:\r\n",
    "attribution_zh": "在 2026年11月30日 09:00，王芳 <wang@client.example> 写道：\r\n",
    "attribution_date": "2013/7/20 @@@@@@@@@@ x\r\n",
    "outlook": "-----Original Message-----\r\nFrom: a\r\nSent: b\r\n",
    "signature": "-- \r\n",
    "html_comment": "<!--",
    "html_comment_closed": "<!-- x -->",
    "html_tags": "<div><span>",
    "html_unclosed": "<a href='",
    "html_lists": "<ul><li>",
    "html_blockquote": "<blockquote>",
    "html_style": "<style>",
    "html_entities": "&nbsp;&#12288;&amp;",
    "punctuation": "!?.,;:-_=*~",
    "underscores": "_" * 10 + "\r\n",
}


@st.composite
def grown_mails(draw: st.DrawFn) -> tuple[str, int, bytes]:
    """(shape, body size, mail): one unit, or a mix of two, repeated up to 100 KB."""
    first = draw(st.sampled_from(sorted(UNITS)))
    second = draw(st.sampled_from(sorted(UNITS)))
    size = draw(st.one_of(st.integers(0, GROWN_MAX), st.sampled_from([GROWN_MAX, GROWN_MAX // 2])))
    mixed = draw(st.booleans())
    unit = UNITS[first] + (UNITS[second] if mixed else "")
    body = (unit * (size // max(1, len(unit)) + 1))[:size] + "\r\nReal text at the end.\r\n"
    html = draw(st.booleans()) or first.startswith("html")
    if html:
        ctype, payload = "text/html", f"<html><body>{body}</body></html>"
    else:
        ctype, payload = "text/plain", body
    shape = first + ("+" + second if mixed else "")
    head = (
        "From: Anna <anna@acme.example>\r\nTo: team@agency.example\r\n"
        f"Subject: grown {shape}\r\nMessage-ID: <g@acme.example>\r\nMIME-Version: 1.0\r\n"
    )
    wrap = draw(st.sampled_from(["plain", "alternative", "base64"]))
    if wrap == "alternative":
        mail = (
            head + 'Content-Type: multipart/alternative; boundary="b"\r\n\r\n--b\r\n'
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n--b\r\n"
            f"Content-Type: text/html; charset=utf-8\r\n\r\n<html>{body}</html>\r\n--b--\r\n"
        ).encode()
    elif wrap == "base64":
        encoded = base64.encodebytes(payload.encode()).decode()
        mail = (
            head + f"Content-Type: {ctype}; charset=utf-8\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n{encoded}"
        ).encode()
    else:
        mail = (head + f"Content-Type: {ctype}; charset=utf-8\r\n\r\n{payload}").encode()
    return shape, size, mail
