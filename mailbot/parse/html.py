"""HTML bodies as readable text."""

from __future__ import annotations

import re

import html2text

# Style and script contents are never text; html2text would print CSS from some mailers.
_INVISIBLE = re.compile(
    r"<(style|script|head|title)\b[^>]*>.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL
)
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*){2,}")
_TRAILING = re.compile(r"[ \t]+\n")
_HEADING = re.compile(r"^#{1,6} ", re.MULTILINE)  # html2text writes <h1> as Markdown
MAX_HTML_CHARS = 2_000_000  # beyond this a mail is not read by a person anyway


def html_to_text(html: str) -> str:
    """Readable text: links shown as their text, no images, no tags."""
    html = _INVISIBLE.sub(" ", html[:MAX_HTML_CHARS])
    converter = html2text.HTML2Text(bodywidth=0)
    converter.ignore_links = True
    converter.ignore_images = True
    converter.ignore_emphasis = True
    converter.ignore_tables = True
    converter.unicode_snob = True
    converter.single_line_break = False
    try:
        text = converter.handle(html)
    except Exception:  # html2text trips on some broken markup; fall back to stripping tags
        text = re.sub(r"<[^>]+>", " ", html)
    text = _HEADING.sub("", _TRAILING.sub("\n", text.replace("\xa0", " ")))
    return _BLANK_LINES.sub("\n\n", text).strip()
