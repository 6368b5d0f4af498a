"""Mail templates: files keyed by kind, category and language.

A template is `<dir>/<kind>/<category>.<language>.<txt|html>.j2`, for example
`ack/issue.zh-Hant.txt.j2`. Directories are searched project → site → built-in and the
first file found wins, so a project can override one template and inherit the rest.
Languages are tried requested → project default → English. Adding a language is adding
files; no Python changes (see templates/README.md).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from mailbot.errors import MailbotError
from mailbot.resources import templates_dir

FALLBACK_LANGUAGE = "en"
# How long a template file found (or not) and compiled is used before the folders are looked
# at again: an edited or added template is used from the next mail after this. Looking at
# every mail was a third of rendering a reply (a dozen file lookups for each).
RECHECK_SECONDS = 2.0
FORMATS = ("txt", "html")
# Tags mail clients and detectors use for Chinese, mapped to the script we keep files for.
LANGUAGE_ALIASES = {
    "zh": "zh-Hans",
    "zh-cn": "zh-Hans",
    "zh-sg": "zh-Hans",
    "zh-my": "zh-Hans",
    "zh-tw": "zh-Hant",
    # Hong Kong and Macau: Traditional script with their own wording (項目, 電郵), which
    # falls back to Taiwan's (zh-Hant) where no file of their own exists.
    "zh-hk": "zh-Hant-HK",
    "zh-mo": "zh-Hant-HK",
    "zh-hant-mo": "zh-Hant-HK",
}
# Variables a template may use but a caller may leave out: they render as nothing.
OPTIONAL_CONTEXT: dict[str, Any] = {
    "portal_url": None,
    "note": None,
    # Acknowledgements: the promised first answer on the project's calendar, and urgency.
    "response_due": None,
    "office": None,
    "urgent": False,
    "escalation_contact": None,
    # The digest in observe mode: refs of items acknowledged only in observe mode.
    "would_answer": (),
}
# Kinds, categories and languages become parts of a file path: no dots, slashes or spaces.
_NAME_PART = re.compile(r"^[A-Za-z0-9_-]+$")
# A value left empty on the last line (no team signature when the team signs already):
# the mail ends after the line before it, in the text and in the HTML.
_EMPTY_LAST_LINES = re.compile(r"\n(?:[ \t]*\n)+\Z")
_EMPTY_LAST_LINE_HTML = re.compile(r"<br>\s*(</p>)")
_EN_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_EN_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_ZH_WEEKDAYS = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")


class TemplateNotFound(MailbotError):
    """No template exists for a kind and category in any fallback language."""

    code = "MB800"


class TemplateRenderError(MailbotError):
    """A template exists but cannot be rendered (syntax error, missing variable)."""

    code = "MB801"


@dataclass(frozen=True, slots=True)
class Rendered:
    language_used: str
    text: str
    html: str | None  # None when there is no HTML template in `language_used`
    template_names: tuple[str, ...]  # e.g. ("ack/issue.en.txt.j2", "ack/issue.en.html.j2")


def template_name(kind: str, category: str, language: str, fmt: str) -> str:
    """The relative file name of one template, e.g. `ack/issue.en.txt.j2`."""
    for part in (kind, category, language, fmt):
        if not _NAME_PART.match(part):
            raise ValueError(f"not usable in a template name: {part!r}")
    return f"{kind}/{category}.{language}.{fmt}.j2"


def canonical_language(tag: str) -> str:
    """`ZH-hant-tw` -> `zh-Hant-TW`; Chinese region tags become a script: `zh-TW` -> `zh-Hant`."""
    tag = tag.strip().replace("_", "-")
    if not tag:
        return ""
    alias = LANGUAGE_ALIASES.get(tag.lower())
    if alias:
        return alias
    parts = tag.split("-")
    out = [parts[0].lower()]
    for part in parts[1:]:
        if len(part) == 4 and part.isalpha():
            out.append(part.title())  # script, e.g. Hant
        elif len(part) in (2, 3):
            out.append(part.upper())  # region, e.g. TW or 419
        else:
            out.append(part.lower())
    return "-".join(out)


def _language_chain(tag: str) -> list[str]:
    """One requested tag and its shorter forms: `zh-Hant-TW` -> [zh-Hant-TW, zh-Hant]."""
    tag = canonical_language(tag)
    if not tag or not _NAME_PART.match(tag):
        return []
    parts = tag.split("-")
    chain = [tag]
    # Drop the region but never the script: Traditional readers must not silently get
    # Simplified text (or the reverse); the project default decides that instead.
    keep = 2 if len(parts) >= 2 and len(parts[1]) == 4 else 1
    if len(parts) > keep:
        chain.extend(_language_chain("-".join(parts[:keep])))
    return chain


def language_order(language: str, default_language: str = FALLBACK_LANGUAGE) -> list[str]:
    """Languages to try, best first: requested → project default → English."""
    order: list[str] = []
    for tag in (*_language_chain(language), *_language_chain(default_language), FALLBACK_LANGUAGE):
        if tag not in order:
            order.append(tag)
    return order


@jinja2.pass_context
def _longdate(ctx: jinja2.runtime.Context, value: Any) -> str:
    """A date written out for the template's language; strings pass through unchanged."""
    value = _local(ctx, value)
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        return str(value)
    language = str(ctx.get("language", FALLBACK_LANGUAGE))
    if language.startswith("zh"):
        return f"{value.year}年{value.month}月{value.day}日（{_ZH_WEEKDAYS[value.weekday()]}）"
    if language.startswith("en"):
        weekday, month = _EN_WEEKDAYS[value.weekday()], _EN_MONTHS[value.month - 1]
        return f"{weekday}, {value.day} {month} {value.year}"
    return value.isoformat()  # unambiguous in any language we have no words for yet


@jinja2.pass_context
def _shortdate(ctx: jinja2.runtime.Context, value: Any) -> str:
    """A date in a list: "Wed 2 Dec" / "12月2日（周三）"."""
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        return str(value)
    language = str(ctx.get("language", FALLBACK_LANGUAGE))
    if language.startswith("zh"):
        week = "週" if canonical_language(language).startswith("zh-Hant") else "周"
        return f"{value.month}月{value.day}日（{week}{_ZH_WEEKDAYS[value.weekday()][-1]}）"
    weekday, month = _EN_WEEKDAYS[value.weekday()][:3], _EN_MONTHS[value.month - 1][:3]
    return f"{weekday} {value.day} {month}"


@jinja2.pass_context
def _weekrange(ctx: jinja2.runtime.Context, first: Any, last: Any) -> str:
    """Monday to Sunday of a week: "23–29 November 2026" / "2026年11月23日至29日"."""
    language = str(ctx.get("language", FALLBACK_LANGUAGE))
    if not (isinstance(first, date) and isinstance(last, date)):
        return f"{first} – {last}"
    if language.startswith("zh"):
        end = f"{last.day}日" if last.month == first.month else f"{last.month}月{last.day}日"
        if last.year != first.year:
            end = f"{last.year}年{last.month}月{last.day}日"
        return f"{first.year}年{first.month}月{first.day}日至{end}"
    month = _EN_MONTHS[first.month - 1]
    if first.month == last.month:
        return f"{first.day}–{last.day} {month} {first.year}"
    start = f"{first.day} {month}" + (f" {first.year}" if first.year != last.year else "")
    return f"{start} – {last.day} {_EN_MONTHS[last.month - 1]} {last.year}"


@jinja2.pass_context
def _local(ctx: jinja2.runtime.Context, value: Any) -> Any:
    """Pick the template's language from a {language: text} mapping (else English)."""
    if not isinstance(value, Mapping):
        return value
    for tag in language_order(str(ctx.get("language", FALLBACK_LANGUAGE))):
        if tag in value:
            return value[tag]
    return next(iter(value.values()), "")


_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\U00020000-\U0002fa1f]")


def is_cjk(char: str) -> bool:
    """A Chinese (or Japanese, Korean) character or full-width punctuation."""
    return bool(char) and bool(_CJK.match(char))


def _spaced(value: Any, sides: str = "both") -> str:
    """A name set into Chinese text: a space on a side only where the name's own first or
    last character is Latin ("登记到 ACME Portal 项目中", "登记到华信物流项目中")."""
    text = str(value)
    if not text:
        return text
    left = " " if sides in ("both", "left") and not is_cjk(text[0]) else ""
    right = " " if sides in ("both", "right") and not is_cjk(text[-1]) else ""
    return f"{left}{text}{right}"


def _autoescape(name: str | None) -> bool:
    # Only HTML is escaped: in plain text "<b>" or "&" from a client must stay as written.
    return bool(name) and name.endswith(".html.j2")  # type: ignore[union-attr]


class _Loader(jinja2.FileSystemLoader):
    """Jinja's file loader, looking whether a compiled template's file changed at most once
    in `RECHECK_SECONDS` (Jinja looks at each use)."""

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        looked = time.monotonic()

        def still_current() -> bool:
            nonlocal looked
            now = time.monotonic()
            if now - looked < RECHECK_SECONDS:
                return True
            looked = now
            return uptodate()

        return source, filename, still_current


class TemplateLibrary:
    """Finds and renders templates; one instance per set of directories, reused."""

    def __init__(self, dirs: Sequence[Path] = (), *, builtin: bool = True) -> None:
        """`dirs` in priority order (project, then site); the built-in set is searched last."""
        search = [Path(d) for d in dirs]
        if builtin:
            search.append(templates_dir())
        self.dirs: tuple[Path, ...] = tuple(search)
        # Sandboxed: templates are edited per project by people who are not developers,
        # and a template must never reach Python internals through a context value.
        self._env = SandboxedEnvironment(
            loader=_Loader([str(d) for d in self.dirs]),
            undefined=jinja2.StrictUndefined,
            autoescape=_autoescape,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters["longdate"] = _longdate
        self._env.filters["shortdate"] = _shortdate
        self._env.filters["weekrange"] = _weekrange
        self._env.filters["local"] = _local
        self._env.filters["spaced"] = _spaced
        self._found: dict[str, tuple[float, Path | None]] = {}  # name -> (when, file)

    def find(self, kind: str, category: str, language: str, fmt: str = "txt") -> Path | None:
        """The file that would be used for exactly this language, or None."""
        name = template_name(kind, category, language, fmt)
        now = time.monotonic()
        known = self._found.get(name)
        if known is not None and now - known[0] < RECHECK_SECONDS:
            return known[1]
        found = next((d / name for d in self.dirs if (d / name).is_file()), None)
        self._found[name] = (now, found)
        return found

    def language_for(
        self, kind: str, category: str, language: str, default_language: str = FALLBACK_LANGUAGE
    ) -> str:
        """The language `render` will use, so callers can localise context values first."""
        tried = []
        for lang in language_order(language, default_language):
            tried.append(template_name(kind, category, lang, "txt"))
            if self.find(kind, category, lang) is not None:
                return lang
        raise TemplateNotFound(
            f"no {kind} template for {category!r}: looked for {', '.join(tried)} in "
            f"{', '.join(str(d) for d in self.dirs)}",
            f"add {tried[-1]} to one of these folders (see templates/README.md)",
        )

    def render(
        self,
        kind: str,
        category: str,
        language: str,
        context: Mapping[str, Any],
        default_language: str = FALLBACK_LANGUAGE,
    ) -> Rendered:
        """Render the text template (and the HTML one, if present) in the best language."""
        lang = self.language_for(kind, category, language, default_language)
        values = {**OPTIONAL_CONTEXT, "category": category, **context, "language": lang}
        text_name = template_name(kind, category, lang, "txt")
        text = _EMPTY_LAST_LINES.sub("\n", self._render_one(text_name, values))
        html_name = template_name(kind, category, lang, "html")
        text_file = self.find(kind, category, lang, "txt")
        html_file = self.find(kind, category, lang, "html")
        # Both parts from the same folder: a project that rewrote the text but has no HTML
        # sends text only, rather than an HTML part with the built-in wording.
        if html_file is None or text_file is None or html_file.parent != text_file.parent:
            return Rendered(lang, text, None, (text_name,))
        html = _EMPTY_LAST_LINE_HTML.sub(r"\1", self._render_one(html_name, values))
        return Rendered(lang, text, html, (text_name, html_name))

    def _render_one(self, name: str, values: Mapping[str, Any]) -> str:
        try:
            return self._env.get_template(name).render(values)
        except jinja2.TemplateSyntaxError as err:
            raise TemplateRenderError(
                f"{err.filename or name}, line {err.lineno}: {err.message}",
                "fix the template; the tests in tests/unit/outgoing render every template",
            ) from None
        except jinja2.UndefinedError as err:
            raise TemplateRenderError(
                f"{name}: {err.message}",
                "pass the variable in the context or remove it from the template "
                "(templates/README.md lists the variables every template receives)",
            ) from None
        except jinja2.TemplateNotFound as err:  # an {% extends %} or {% include %} target
            raise TemplateNotFound(
                f"{name} needs {err.name}, which is in none of "
                f"{', '.join(str(d) for d in self.dirs)}",
                "add the missing file or fix the name in the template",
            ) from None
        except jinja2.TemplateError as err:  # e.g. the sandbox refused an attribute
            raise TemplateRenderError(
                f"{name}: {err}", "fix the template; it may only use the context values"
            ) from None
