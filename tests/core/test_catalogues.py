"""The shipped message catalogues: every entry translated and not fuzzy, the same placeholders
as its message id, plural entries with the language's number of forms, each language with the
same entries per area as German, and every text a citizen sees in a citizen area.

``check_catalogue`` is also run over small catalogues written here, so each rule is shown to
fail on a bad file."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.plurals import get_plural
from jinja2.ext import babel_extract

from core.i18n import (
    CITIZEN_AREAS,
    LANGUAGES,
    LOCALES_DIR,
    STAFF_AREAS,
    I18n,
    base_language,
    read_catalogue,
)

ROOT = Path(__file__).resolve().parents[2]
# Every language but English (the message ids) ships catalogues of all citizen areas.
TRANSLATED = tuple(lang for lang in LANGUAGES if lang != "en")
# ``%(name)s``, ``%s``, ``%d`` ... and the escaped ``%%`` (no space flag: "50 % off" is text).
PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[#0+-]*\d*(?:\.\d+)?([sdifrxX%])")


def shipped_files() -> list[tuple[str, Path]]:
    return [(lang, path) for lang in LANGUAGES
            for path in sorted((LOCALES_DIR / lang / "LC_MESSAGES").glob("*.po"))]


def read(lang: str, path: Path) -> Catalog:
    return read_catalogue(path, lang)


def placeholders(text: str) -> Counter[str]:
    """The placeholders of a text, as ``name:type`` (``:s`` for a positional ``%s``)."""
    return Counter(f"{name}:{kind}" for name, kind in PLACEHOLDER.findall(text) if kind != "%")


def stray_percent(text: str) -> bool:
    """A ``%`` that is neither a placeholder nor ``%%``: formatting the text would fail."""
    return "%" in PLACEHOLDER.sub("", text)


def forms(message: Message) -> list[str]:
    if isinstance(message.string, list | tuple):
        return [str(s or "") for s in message.string]
    return [str(message.string or "")]


def ids(message: Message) -> list[str]:
    return [str(i) for i in message.id] if isinstance(message.id, list | tuple) else [
        str(message.id)]


def check_catalogue(lang: str, catalog: Catalog, name: str) -> list[str]:
    """What is wrong with one catalogue file, one line per fault."""
    faults: list[str] = []
    expected = get_plural(base_language(lang))
    if catalog.num_plurals != expected.num_plurals:
        faults.append(f"{name}: header has {catalog.num_plurals} plural forms, "
                      f"{lang} has {expected.num_plurals}")
    for message in catalog:
        if not message.id:
            continue
        label = f"{name}: {ids(message)[0][:60]!r}"
        texts = forms(message)
        if message.fuzzy:
            faults.append(f"{label} is fuzzy")
        if message.pluralizable and len(texts) != expected.num_plurals:
            faults.append(f"{label} has {len(texts)} plural forms, {lang} needs "
                          f"{expected.num_plurals}")
        if any(not text.strip() for text in texts):
            # Babel fills plural forms a file leaves out with empty ones: caught here too.
            faults.append(f"{label} is not translated (or lacks one of its "
                          f"{expected.num_plurals} plural forms)")
            continue
        sources = ids(message)
        wanted = placeholders(sources[-1]) | placeholders(sources[0])
        # Texts formatted with ``%`` (a placeholder and no stray % in the message id; a text
        # for the browser's script may hold a plain %).
        formatted = any(PLACEHOLDER.search(s) for s in sources) and not any(
            stray_percent(s) for s in sources)
        for text in texts:
            got = placeholders(text)
            # A plural form may leave out the number itself (Arabic "one", "two"), nothing else.
            missing = {p for p in wanted if p not in got}
            if message.pluralizable:
                missing -= {"num:s", "num:d"}
            extra = {p for p in got if p not in wanted}
            if missing or extra:
                faults.append(f"{label}: placeholders {sorted(missing)} missing, "
                              f"{sorted(extra)} not in the message id, in {text[:60]!r}")
            if formatted and stray_percent(text):
                faults.append(f"{label}: a single % in {text[:60]!r} (write %%)")
    return faults


@pytest.mark.parametrize(("lang", "path"), shipped_files(),
                         ids=[f"{lang}/{path.stem}" for lang, path in shipped_files()])
def test_shipped_catalogue_is_complete_and_consistent(lang: str, path: Path) -> None:
    faults = check_catalogue(lang, read(lang, path), f"{lang}/{path.name}")
    assert not faults, "\n".join(faults)


def test_each_language_ships_only_known_areas_with_the_german_entries() -> None:
    """The areas present in a language (until all are written): staff areas in German only,
    and each citizen area with exactly the entries of the German file."""
    faults: list[str] = []
    german = {path.stem: read("de", path) for path in
              (LOCALES_DIR / "de" / "LC_MESSAGES").glob("*.po")}
    assert set(german) <= set(CITIZEN_AREAS) | set(STAFF_AREAS), sorted(german)
    for lang in TRANSLATED:
        if lang == "de":
            continue
        for path in sorted((LOCALES_DIR / lang / "LC_MESSAGES").glob("*.po")):
            if path.stem not in CITIZEN_AREAS:
                faults.append(f"{lang}/{path.name}: not a citizen area")
                continue
            theirs = {(m.context, ids(m)[0]) for m in read(lang, path) if m.id}
            ours = {(m.context, ids(m)[0]) for m in german[path.stem] if m.id}
            if theirs != ours:
                faults.append(f"{lang}/{path.name}: {len(ours - theirs)} entries of the German "
                              f"file missing ({sorted(ours - theirs)[:3]}), "
                              f"{len(theirs - ours)} not in it ({sorted(theirs - ours)[:3]})")
    assert not faults, "\n".join(faults)


def test_every_language_ships_every_citizen_area() -> None:
    """Each shipped language has a catalogue for each citizen area."""
    missing = [f"{lang}/{area}.po" for lang in TRANSLATED for area in CITIZEN_AREAS
               if not (LOCALES_DIR / lang / "LC_MESSAGES" / f"{area}.po").exists()]
    assert not missing, f"{len(missing)} catalogues missing: {missing}"


# --- the rules themselves, on small catalogues written here --------------------------------


def write_catalogue(tmp_path: Path, lang: str, body: str) -> Path:
    plural = get_plural(base_language(lang))
    path = tmp_path / lang / "LC_MESSAGES" / "booking.po"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        'msgid ""\nmsgstr ""\n'
        f'"Language: {lang}\\n"\n'
        f'"Plural-Forms: nplurals={plural.num_plurals}; plural={plural.plural_expr};\\n"\n'
        '"Content-Type: text/plain; charset=utf-8\\n"\n\n' + body, encoding="utf-8")
    return path


GOOD_TR = '''msgid "Book"
msgstr "Randevu al"

#, python-format
msgid "Hello %(name)s,"
msgstr "Merhaba %(name)s,"

#, python-format
msgid "%(num)d minute"
msgid_plural "%(num)d minutes"
msgstr[0] "%(num)d dakika"
msgstr[1] "%(num)d dakika"
'''


def faults_of(tmp_path: Path, lang: str, body: str) -> list[str]:
    return check_catalogue(lang, read(lang, write_catalogue(tmp_path, lang, body)), "t")


def test_a_good_catalogue_passes(tmp_path: Path) -> None:
    assert faults_of(tmp_path, "tr", GOOD_TR) == []


@pytest.mark.parametrize(("lang", "body", "fault"), [
    ("tr", 'msgid "Book"\nmsgstr ""\n', "not translated"),
    ("tr", '#, fuzzy\nmsgid "Book"\nmsgstr "Randevu"\n', "is fuzzy"),
    ("tr", '#, python-format\nmsgid "Hello %(name)s,"\nmsgstr "Merhaba %(nam)s,"\n',
     "placeholders"),
    ("tr", '#, python-format\nmsgid "Hello %(name)s,"\nmsgstr "Merhaba,"\n', "placeholders"),
    ("tr", '#, python-format\nmsgid "%(num)d%% off"\nmsgstr "%(num)d% indirim"\n', "single %"),
    ("ar", '#, python-format\nmsgid "%(num)d minute"\nmsgid_plural "%(num)d minutes"\n'
     'msgstr[0] "%(num)d دقيقة"\nmsgstr[1] "%(num)d دقائق"\n', "plural forms)"),
    ("ru", '#, python-format\nmsgid "%(num)d day in %(town)s"\n'
     'msgid_plural "%(num)d days in %(town)s"\n'
     'msgstr[0] "%(num)d день"\nmsgstr[1] "%(num)d дня в %(town)s"\n'
     'msgstr[2] "%(num)d дней в %(town)s"\n', "placeholders"),
])
def test_a_bad_catalogue_fails(tmp_path: Path, lang: str, body: str, fault: str) -> None:
    found = faults_of(tmp_path, lang, body)
    assert any(fault in f for f in found), found


def test_a_header_with_the_wrong_plural_forms_fails(tmp_path: Path) -> None:
    path = write_catalogue(tmp_path, "pl", 'msgid "Book"\nmsgstr "Zarezerwuj"\n')
    path.write_text(path.read_text().replace("nplurals=3", "nplurals=2"), encoding="utf-8")
    found = check_catalogue("pl", read("pl", path), "t")
    assert any("plural forms" in f for f in found), found


def test_a_missing_area_falls_back_to_english_and_leichte_sprache_to_german(
        tmp_path: Path) -> None:
    for lang in ("de", "tr", "de-x-ls"):
        (tmp_path / lang / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "de" / "LC_MESSAGES" / "booking.po").write_text(
        'msgid ""\nmsgstr ""\n"Language: de\\n"\n\nmsgid "Book"\nmsgstr "Buchen"\n\n'
        'msgid "Cancel"\nmsgstr "Absagen"\n', encoding="utf-8")
    write_catalogue(tmp_path, "tr", 'msgid "Book"\nmsgstr "Randevu al"\n').rename(
        tmp_path / "tr" / "LC_MESSAGES" / "common.po")
    # The Leichte Sprache file names its own tag in the header ("Language: de-x-ls").
    write_catalogue(tmp_path, "de-x-ls", 'msgid "Book"\nmsgstr "Termin machen"\n')
    i18n = I18n(tmp_path)
    assert i18n.translator("tr").gettext("Book") == "Randevu al"
    assert i18n.translator("tr").gettext("Cancel") == "Cancel"
    assert i18n.translator("de-x-ls").gettext("Book") == "Termin machen"
    assert i18n.translator("de-x-ls").gettext("Cancel") == "Absagen"
    assert i18n.translator("ar").gettext("Cancel") == "Cancel"


# --- citizen texts live in citizen areas ------------------------------------------------------

STAFF_TEMPLATES = ("app/templates/staff/", "app/templates/admin/", "app/templates/call/clerk.html",
                   "app/templates/call/_desk_", "app/templates/call/_waiting_message.html",
                   "app/templates/call/_booking_card.html", "app/templates/call/_guest_panel.html",
                   "app/templates/privacy/admin.html", "app/templates/privacy/confirm.html",
                   "app/templates/privacy/result.html", "app/templates/waitlist/admin.html",
                   "app/templates/accessibility/admin", "app/templates/accessibility/reports")


def citizen_templates() -> list[Path]:
    found = [*sorted((ROOT / "app" / "templates").rglob("*.html")),
             *sorted((ROOT / "mail" / "templates").rglob("*.html")),
             *sorted((ROOT / "mail" / "templates").rglob("*.txt"))]
    return [p for p in found
            if not str(p.relative_to(ROOT)).startswith(STAFF_TEMPLATES)]


def template_msgids(path: Path) -> set[str]:
    found: set[str] = set()
    with path.open("rb") as fh:
        for _line, _func, message, _comments in babel_extract(
                fh, ["_", "gettext", "ngettext"], [], {"trimmed": "false"}):
            if isinstance(message, str):
                found.add(message)
            elif isinstance(message, tuple):
                found.update(m for m in message if isinstance(m, str))
    return found


def test_texts_of_citizen_pages_and_mails_are_in_a_citizen_area() -> None:
    """A citizen's language has the citizen areas only: a text of a citizen page or e-mail
    found only in a staff area (staff, desk, inbox, signin) would stay German."""
    citizen: set[str] = set()
    for area in CITIZEN_AREAS:
        path = LOCALES_DIR / "de" / "LC_MESSAGES" / f"{area}.po"
        if path.exists():
            citizen.update(i for m in read("de", path) if m.id for i in ids(m))
    staff: set[str] = set()
    for area in STAFF_AREAS:
        staff.update(i for m in read("de", LOCALES_DIR / "de" / "LC_MESSAGES" / f"{area}.po")
                     if m.id for i in ids(m))
    templates = citizen_templates()
    assert len(templates) > 50
    wrong = sorted(f"{path.relative_to(ROOT)}: {msgid[:60]!r}" for path in templates
                   for msgid in template_msgids(path) if msgid in staff and msgid not in citizen)
    assert not wrong, "\n".join(wrong)
