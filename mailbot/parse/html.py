"""HTML bodies as readable text.

Every step is linear in the size of the HTML. html2text and the stdlib HTML parser under it
are not on every input: the parser rescans to the end of the text for each unclosed "<!--",
"<a " or "</" (quadratic), and nested lists repeat their indentation on every line
(quadratic output). So unclosed constructs are escaped before html2text sees them, and
HTML that is too big or too deeply nested, or whose text grows past a budget, is converted
by a simple tag stripper instead, with a defect saying so.
"""

from __future__ import annotations

import re
from html import unescape

import html2text

from mailbot.text import plural

MAX_HTML_CHARS = 2_000_000  # beyond this a mail is not read by a person anyway
MAX_CONVERTED_CHARS = 512_000  # larger HTML is converted by the tag stripper
# html2text spends ~10-20 µs on each tag, entity and stray "<": more go to the tag stripper.
MAX_MARKUP = 20_000
MAX_NESTING = 64  # lists and quotes nested deeper: the tag stripper
# html2text's text may grow past its input (list indentation, quote marks) but not this far.
TEXT_BUDGET_RATIO = 8
TEXT_BUDGET_SLACK = 256_000

# Style and script contents are never text; html2text would print CSS from some mailers.
_INVISIBLE_OPEN = re.compile(r"<(?:(style|script|head|title)\b|!--)", re.IGNORECASE)
_INVISIBLE_CLOSE = {
    name: re.compile(rf"</{name}\s*>", re.IGNORECASE)
    for name in ("style", "script", "head", "title")
}
_TAG_END = re.compile(">")
_COMMENT_END = re.compile("-->")

_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*){2,}")
_TRAILING = re.compile(r"(?<![ \t])[ \t]+\n")  # only from the start of a run: linear
_HEADING = re.compile(r"^#{1,6} ", re.MULTILINE)  # html2text writes <h1> as Markdown

# What the stdlib parser looks for after "<", and how each construct must end before the
# next "<" for the parser to find its end without scanning the rest of the text.
_HTML_COMMENT_CLOSE = re.compile(r"--\s*>")
_DECLARATION_NAME = re.compile(r"[a-zA-Z][-_.a-zA-Z0-9]*\s*")
_MARKED_SECTION_CLOSE = re.compile(r"]\s*]\s*>")
_MS_MARKED_SECTION_CLOSE = re.compile(r"]\s*>")
_MARKED_SECTIONS = frozenset({"temp", "cdata", "ignore", "include", "rcdata"})
_MS_MARKED_SECTIONS = frozenset({"if", "else", "endif"})

_NESTING_TAG = re.compile(r"<(/?)(?:ul|ol|blockquote)\b", re.IGNORECASE)

# The tag stripper: a tag ends at the first ">" and holds no "<", so each character is
# read once. Block elements end a line; inside <blockquote> lines start with "> ".
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*+)[^<>]*+>|<[!?/][^<>]*+>")
_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "br", "center", "dd", "div", "dl", "dt",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "tfoot", "thead",
    "tr", "ul",
})  # fmt: skip
_CELL_TAGS = frozenset({"td", "th"})
_SPACES = re.compile(r"\s+")
_LEADING_ZEROS = re.compile(r"&#0+(?=[0-9])")
_HUGE_CHARREF = re.compile(r"&#[1-9][0-9]{7,}+;?")  # past U+10FFFF; int() would refuse 5,000 digits


class _OverBudget(Exception):
    """html2text's text grew past its budget."""


class _Converter(html2text.HTML2Text):
    def __init__(self, budget: int) -> None:
        super().__init__(bodywidth=0)
        self.ignore_links = True
        self.ignore_images = True
        self.ignore_emphasis = True
        self.ignore_tables = True
        self.unicode_snob = True
        self.single_line_break = False
        self._budget = budget

    def handle_data(self, data: str, entity_char: bool = False) -> None:
        # As if every piece of text were an entity: html2text then skips its Markdown
        # escaping, which we do not want in plain text ("1\\. first") and whose patterns
        # (`^\s*\d+` per line) take quadratic time on long runs of blank lines.
        super().handle_data(data, entity_char=True)

    def outtextf(self, s: str) -> None:
        self._budget -= len(s)
        if self._budget < 0:
            raise _OverBudget
        super().outtextf(s)


def _first(
    cache: dict[str, tuple[int, re.Match[str] | None]], pattern: re.Pattern[str], text: str, at: int
) -> re.Match[str] | None:
    """The first match at or after `at`, remembered: callers ask with growing positions,
    so each stretch of text is searched once.
    """
    known = cache.get(pattern.pattern)
    if known is not None:
        searched_from, match = known
        if searched_from <= at and (match is None or match.start() >= at):
            return match
    match = pattern.search(text, at)
    cache[pattern.pattern] = (at, match)
    return match


def remove_invisible(html: str) -> str:
    """Style, script, head and title elements and comments, each replaced by a space.

    The same as re.sub(r"<(style|script|head|title)\\b[^>]*>.*?</\\1\\s*>|<!--.*?-->", " ")
    with DOTALL, which restarts its lazy scan at every unclosed "<style" or "<!--".
    """
    cache: dict[str, tuple[int, re.Match[str] | None]] = {}
    out: list[str] = []
    kept = position = 0
    while match := _INVISIBLE_OPEN.search(html, position):
        name = match.group(1)
        if name is None:
            end = _first(cache, _COMMENT_END, html, match.end())
        else:
            tag_end = _first(cache, _TAG_END, html, match.end())
            close = _INVISIBLE_CLOSE[name.lower()]
            end = tag_end and _first(cache, close, html, tag_end.end())
        if end is None:
            position = match.start() + 1
            continue
        out.append(html[kept : match.start()])
        out.append(" ")
        kept = position = end.end()
    out.append(html[kept:])
    return "".join(out)


def _closed(html: str, start: int, limit: int) -> bool:
    """Whether the construct at html[start] == "<" ends before `limit` (the next "<") in
    the stdlib parser's reading, or is no construct at all.
    """
    following = html[start + 1 : start + 2]
    if not following or not (following.isascii() and (following.isalpha() or following in "/!?")):
        return True  # a lone "<" is text to the parser
    if following != "!":
        return html.find(">", start + 1, limit) != -1
    if html.startswith("<!--", start):
        return _HTML_COMMENT_CLOSE.search(html, start + 4, limit) is not None
    if html.startswith("<![", start):
        name = _DECLARATION_NAME.match(html, start + 3, limit)
        keyword = name.group().strip().lower() if name else ""
        if keyword in _MARKED_SECTIONS:
            return _MARKED_SECTION_CLOSE.search(html, start + 3, limit) is not None
        if keyword in _MS_MARKED_SECTIONS:
            return _MS_MARKED_SECTION_CLOSE.search(html, start + 3, limit) is not None
        return False  # the parser raises on any other keyword
    if html[start : start + 9].lower() == "<!doctype":
        return html.find(">", start + 9, limit) != -1
    return html.find(">", start + 2, limit) != -1


def escape_unclosed(html: str) -> tuple[str, int]:
    """The HTML with every "<" that opens a construct not closed before the next "<"
    written as "&lt;" (so shown as text), and how many there were.
    """
    out: list[str] = []
    kept = escaped = 0
    start = html.find("<")
    while start != -1:
        following = html.find("<", start + 1)
        if not _closed(html, start, len(html) if following == -1 else following):
            out.append(html[kept:start])
            out.append("&lt;")
            kept = start + 1
            escaped += 1
        start = following
    if not escaped:
        return html, 0
    out.append(html[kept:])
    return "".join(out), escaped


def nesting_depth(html: str) -> int:
    """How deep lists and quotes nest (unclosed ones count as open)."""
    depth = deepest = 0
    for tag in _NESTING_TAG.finditer(html):
        if tag.group(1):
            depth = max(depth - 1, 0)
        else:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


def _unescape(text: str) -> str:
    return unescape(_HUGE_CHARREF.sub("\ufffd", _LEADING_ZEROS.sub("&#", text)))


def strip_tags(html: str) -> str:
    """Text without html2text: tags dropped, block elements on their own lines, quoted
    lines marked "> ". Linear in the size of the HTML.
    """
    lines: list[str] = []
    line: list[str] = []
    depth = 0

    def end_line() -> None:
        text = _SPACES.sub(" ", _unescape("".join(line))).strip()
        line.clear()
        if text:
            lines.append(f"> {text}" if depth else text)
        elif lines and lines[-1]:
            lines.append("")

    position = 0
    for tag in _TAG.finditer(html):
        line.append(html[position : tag.start()])
        position = tag.end()
        name = (tag.group(2) or "").lower()
        if name in _BLOCK_TAGS:
            end_line()
            if name == "blockquote":
                depth = max(depth - 1, 0) if tag.group(1) else depth + 1
        elif name in _CELL_TAGS:
            line.append(" ")
    line.append(html[position:])
    end_line()
    return "\n".join(lines).strip("\n")


def _convert(html: str, defects: list[str]) -> str:
    """html2text's Markdown-like text, or the tag stripper's when html2text would be slow."""
    if len(html) > MAX_CONVERTED_CHARS:
        defects.append(f"HTML body over {MAX_CONVERTED_CHARS // 1000} KB; converted without layout")
        return strip_tags(html)
    if html.count("<") + html.count("&") > MAX_MARKUP:
        defects.append(f"HTML body with over {MAX_MARKUP:,} tags; converted without layout")
        return strip_tags(html)
    depth = nesting_depth(html)
    if depth > MAX_NESTING:
        defects.append(f"HTML lists or quotes nested {depth} deep; converted without layout")
        return strip_tags(html)
    safe, escaped = escape_unclosed(html)
    if escaped:
        defects.append(
            f"{plural(escaped, 'unclosed HTML tag or comment', 'unclosed HTML tags or comments')} "
            "shown as text"
        )
    try:
        return _Converter(TEXT_BUDGET_RATIO * len(html) + TEXT_BUDGET_SLACK).handle(safe)
    except _OverBudget:
        defects.append("HTML layout too large to convert; converted without layout")
    except Exception:  # html2text trips on some broken markup; fall back to stripping tags
        pass
    return strip_tags(html)


def html_to_text(html: str, defects: list[str] | None = None) -> str:
    """Readable text: links shown as their text, no images, no tags."""
    sink: list[str] = [] if defects is None else defects
    if len(html) > MAX_HTML_CHARS:
        sink.append(f"HTML body cut at {MAX_HTML_CHARS:,} characters")
    text = _convert(remove_invisible(html[:MAX_HTML_CHARS]), sink)
    text = _HEADING.sub("", _TRAILING.sub("\n", text.replace("\xa0", " ")))
    return _BLANK_LINES.sub("\n\n", text).strip()
