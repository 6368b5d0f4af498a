"""The web pages in English and Simplified Chinese: gettext catalogs (.po, read with Babel).

Strings in templates and page code are written in English inside `_()`; the catalog
`locale/<locale>/LC_MESSAGES/messages.po` gives the translation. `pybabel extract`
(see docs/web.md) finds new strings; tests fail when one has no translation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

log = logging.getLogger("mailbot.web")

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
    """`_("text", name=value)`: the translation, with %(name)s filled in.

    A message without a translation is shown in English; so is one whose translation
    does not fit its values (a mistyped placeholder), rather than failing the page.
    """
    table = _table(language)

    def _(message: str, **values: Any) -> str:
        text = table.get(message, message)
        if not values:
            return text
        try:
            return text % values
        except (KeyError, ValueError, TypeError):
            log.warning("the %s translation of %r does not fit its values", language, message)
            return message % values

    return _


def format_moment(
    moment: datetime | None, zone: ZoneInfo, language: str, *, short: bool = True
) -> str:
    """`moment` in `zone`, written the way the language writes dates.

    Short: the date with the month's name, and hours and minutes ("Nov 23, 2026, 8:05 PM",
    "2026年11月23日 20:05"): numeric dates are read differently in different countries.
    Long: seconds and the time zone too ("Nov 23, 2026, 8:05:00 PM Asia/Shanghai").
    """
    if moment is None:
        return ""
    locale = Locale.parse(LOCALES.get(language, "en"))
    if moment.tzinfo is None:  # stored times are UTC
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(zone)
    day = format_date(local, "medium", locale=locale)
    time = format_time(local, "short" if short else "medium", tzinfo=zone, locale=locale)
    text = str(locale.datetime_formats["medium"]).format(time, day)
    return text if short else f"{text} {zone.key}"
