"""Languages: German is the default, English the second.

Message catalogues are Babel ``.po`` files under ``core/locales/<lang>/LC_MESSAGES/``, one per
area; message ids are English. They are compiled in memory at start-up, so the repository holds
no binary ``.mo`` files.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent
from babel.support import NullTranslations, Translations

LANGUAGES = ("de", "en")
DEFAULT_LANGUAGE = "de"
LOCALES_DIR = Path(__file__).parent / "locales"


def load_translations(directory: Path = LOCALES_DIR) -> dict[str, NullTranslations]:
    """The compiled catalogues (read only: they are shared). Compiling takes a tenth of a second
    or so; each process does it once per state of the files, not once per app it starts."""
    files = [path for lang in LANGUAGES
             # One catalogue file per area (booking.po, mail.po, ...), merged in name order.
             for path in sorted((directory / lang / "LC_MESSAGES").glob("*.po"))]
    stamps = tuple((str(path), path.stat().st_mtime_ns, path.stat().st_size) for path in files)
    return _compiled(directory, stamps)


@functools.cache
def _compiled(directory: Path, stamps: tuple[tuple[str, int, int], ...]
              ) -> dict[str, NullTranslations]:
    """``stamps`` (path, modification time, size of each file) are only the cache's key."""
    result: dict[str, NullTranslations] = {}
    for lang in LANGUAGES:
        merged: NullTranslations = NullTranslations()
        for po_path in sorted((directory / lang / "LC_MESSAGES").glob("*.po")):
            with po_path.open("rb") as fh:
                catalog = read_po(fh, locale=lang)
            buf = io.BytesIO()
            write_mo(buf, catalog)
            buf.seek(0)
            part = Translations(fp=buf)
            if isinstance(merged, Translations):
                merged.merge(part)
            else:
                merged = part
        result[lang] = merged
    return result


def pick_language(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().lower()[:2]
    return value if value in LANGUAGES else None


def from_accept_language(header: str | None) -> str:
    """The best of our languages for an Accept-Language header; German when none fits."""
    if not header:
        return DEFAULT_LANGUAGE
    best: tuple[float, str] | None = None
    for part in header.split(","):
        pieces = part.strip().split(";")
        lang = pick_language(pieces[0])
        if lang is None:
            continue
        quality = 1.0
        for param in pieces[1:]:
            if param.strip().startswith("q="):
                try:
                    quality = float(param.strip()[2:])
                except ValueError:
                    quality = 0.0
        if best is None or quality > best[0]:
            best = (quality, lang)
    return best[1] if best else DEFAULT_LANGUAGE


class Translator:
    """Everything language-dependent for one request or one e-mail."""

    def __init__(self, lang: str, translations: NullTranslations) -> None:
        self.lang = lang
        self.locale = Locale.parse(lang)
        self._t = translations

    def gettext(self, msgid: str, **params: Any) -> str:
        text = self._t.gettext(msgid)
        return text % params if params else text

    def ngettext(self, singular: str, plural: str, n: int, **params: Any) -> str:
        text = self._t.ngettext(singular, plural, n)
        return text % {"num": n, **params}

    def date(self, value: date, fmt: str = "full") -> str:
        return format_date(value, format=fmt, locale=self.locale)

    def time(self, value: datetime, tz: str, fmt: str = "short") -> str:
        return format_time(value, format=fmt, tzinfo=_zone(tz), locale=self.locale)

    def datetime(self, value: datetime, tz: str, fmt: str = "medium") -> str:
        return format_datetime(value, format=fmt, tzinfo=_zone(tz), locale=self.locale)

    def money(self, cents: int, currency: str = "EUR") -> str:
        # Integer cents to a decimal string without float arithmetic.
        from decimal import Decimal

        return format_currency(Decimal(cents) / 100, currency, locale=self.locale)

    def number(self, value: float | int, decimals: int = 0) -> str:
        """A number with the language's grouping and decimal signs (``1.234,5`` in German)."""
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        return format_decimal(value, format=pattern, locale=self.locale)

    def percent(self, fraction: float, decimals: int = 1) -> str:
        """A fraction as a percentage (0.125 → ``12,5 %`` in German)."""
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "") + "\u00a0%"
        return format_percent(fraction, format=pattern, locale=self.locale)

    def as_context(self) -> dict[str, Callable[..., str] | str]:
        return {
            "_": self.gettext,
            "gettext": self.gettext,
            "ngettext": self.ngettext,
            "lang": self.lang,
        }


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


class I18n:
    def __init__(self, directory: Path = LOCALES_DIR) -> None:
        self._translations = load_translations(directory)

    def translator(self, lang: str | None) -> Translator:
        lang = pick_language(lang) or DEFAULT_LANGUAGE
        return Translator(lang, self._translations[lang])
