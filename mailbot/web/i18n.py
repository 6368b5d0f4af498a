"""The web pages in English and Simplified Chinese: gettext catalogs (.po, read with Babel).

Strings in templates and page code are written in English inside `_()`; the catalog
`locale/<locale>/LC_MESSAGES/messages.po` gives the translation. `pybabel extract`
(see docs/web.md) finds new strings; tests fail when one has no translation.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
# The user's language setting -> Babel's locale name.
LOCALES = {"en": "en", "zh-Hans": "zh_Hans"}

Gettext = Callable[..., str]


@cache
def catalog(language: str) -> Catalog | None:
    locale = LOCALES.get(language, "en")
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale == "en" or not path.exists():
        return None
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def translations(language: str) -> dict[str, str]:
    """msgid -> translation for `language` (empty for English)."""
    found = catalog(language)
    if found is None:
        return {}
    return {
        str(m.id): str(m.string)
        for m in found
        if m.id and isinstance(m.id, str) and m.string and not m.fuzzy
    }


@cache
def _table(language: str) -> dict[str, str]:
    return translations(language)


def gettext_for(language: str) -> Gettext:
    """`_("text", name=value)`: the translation, with %(name)s filled in."""
    table = _table(language)

    def _(message: str, **values: Any) -> str:
        text = table.get(message, message)
        return text % values if values else text

    return _


def format_moment(
    moment: datetime | None, zone: ZoneInfo, language: str, *, short: bool = True
) -> str:
    if moment is None:
        return ""
    locale = Locale.parse(LOCALES.get(language, "en"))
    local = moment.astimezone(zone)
    return format_datetime(local, "short" if short else "medium", tzinfo=zone, locale=locale)
