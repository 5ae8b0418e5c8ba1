"""Languages: German is the default; English, Turkish, Arabic, Ukrainian, Russian, Polish and
Leichte Sprache (``de-x-ls``) beside it.

Message catalogues are Babel ``.po`` files under ``core/locales/<lang>/LC_MESSAGES/``, one per
area; message ids are English. They are compiled in memory at start-up, so the repository holds
no binary ``.mo`` files. A message missing from a language's catalogues (an area not translated)
is shown in English, the message id; in Leichte Sprache it is shown in German. Staff pages speak
German or English only (``STAFF_LANGUAGES``).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent
from babel.support import NullTranslations, Translations

LANGUAGES = ("de", "en", "tr", "ar", "uk", "ru", "pl", "de-x-ls")
# The same codes as a type, for the API's schemas.
Language = Literal["de", "en", "tr", "ar", "uk", "ru", "pl", "de-x-ls"]
DEFAULT_LANGUAGE = "de"
EASY_GERMAN = "de-x-ls"
STAFF_LANGUAGES = ("de", "en")
# Pages and API calls for staff only: these speak German or English.
STAFF_PREFIXES = ("/staff", "/admin", "/api/v1/clerk", "/api/v1/admin")
RIGHT_TO_LEFT = frozenset({"ar"})
# Each language named in itself, in the order of the language menu.
LANGUAGE_NAMES = {
    "de": "Deutsch", "de-x-ls": "Leichte Sprache", "en": "English", "tr": "Türkçe",
    "ar": "العربية", "uk": "Українська", "ru": "Русский", "pl": "Polski",
}
# The areas (catalogue files) a citizen sees: every shipped language has each of them.
# (call_tools holds the citizen's side of the call's chat, rear camera and still frame too.)
CITIZEN_AREAS = (
    "booking", "calls_api", "call", "call_tools", "cases", "channels", "citizen", "common",
    "document_status", "family", "guest", "mail", "online", "online_pages", "payments",
    "postcall", "privacy", "release", "request_mail", "waiting", "waitlist",
)
STAFF_AREAS = ("staff", "desk", "inbox", "signin", "insights", "tenants")


def base_language(lang: str) -> str:
    """The language a page declares (``lang="…"``), formats dates and numbers in, and whose
    catalogue grammar (plural forms) applies: German for Leichte Sprache."""
    return "de" if lang == EASY_GERMAN else lang


def text_direction(lang: str) -> str:
    return "rtl" if lang in RIGHT_TO_LEFT else "ltr"


def uses_english_data(lang: str) -> bool:
    """Texts entered by the office (service names, form labels) exist in German and, optionally,
    English: every language but German and Leichte Sprache shows the English one when given."""
    return base_language(lang) != "de"
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
            catalog = read_catalogue(po_path, lang)
            buf = io.BytesIO()
            write_mo(buf, catalog)
            buf.seek(0)
            part = Translations(fp=buf)
            if isinstance(merged, Translations):
                merged.merge(part)
            else:
                merged = part
        result[lang] = merged
    # Leichte Sprache: a message without its own text is shown in standard German.
    result[EASY_GERMAN].add_fallback(result[DEFAULT_LANGUAGE])
    return result


def read_catalogue(path: Path, lang: str) -> Catalog:
    """One ``.po`` file of ``lang``. Babel knows no private-use tag: a Leichte Sprache file
    may say ``Language: de-x-ls`` in its header, and is read as German (its plural forms)."""
    data = path.read_bytes()
    if lang == EASY_GERMAN:
        data = data.replace(b'"Language: de-x-ls\\n"', b'"Language: de\\n"', 1)
    return read_po(io.BytesIO(data), locale=base_language(lang))


def pick_language(value: str | None) -> str | None:
    """One of ``LANGUAGES`` for a code as given (``tr``, ``tr-TR``, ``de_x_ls``), or None."""
    if not value:
        return None
    value = value.strip().lower().replace("_", "-")
    if value in LANGUAGES:
        return value
    primary = value.split("-")[0]
    return primary if primary in LANGUAGES else None


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
        self.locale = Locale.parse(base_language(lang))
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
            "html_lang": base_language(self.lang),
            "text_dir": text_direction(self.lang),
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


def is_staff_path(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in STAFF_PREFIXES)


def staff_language(lang: str) -> str:
    """The language of a staff page asked for in ``lang``: German or English only."""
    return lang if lang in STAFF_LANGUAGES else DEFAULT_LANGUAGE
