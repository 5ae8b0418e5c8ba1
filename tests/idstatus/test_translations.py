"""Every English message id of the ID card / passport status and of lost links has a German
translation (collected like tests/staff/test_translations.py, with this area's calls and
tables), and the catalogue agrees with the other areas' where they share an id."""

from __future__ import annotations

import ast
from pathlib import Path

from babel.messages.pofile import read_po
from jinja2.ext import babel_extract

from core.i18n import I18n
from tests.staff.test_translations import (
    CALLS,
    SAME_IN_GERMAN,
    _strings,
    template_msgids,
)

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "core/locales/de/LC_MESSAGES/document_status.po"
PY_FILES = sorted([
    *ROOT.glob("idstatus/*.py"), ROOT / "online/lost_links.py", ROOT / "mail/lost_links.py",
    ROOT / "mail/document_status.py", ROOT / "app/api/document_status.py",
    ROOT / "app/api/lost_links.py", ROOT / "app/pages/document_status.py",
    ROOT / "app/pages/document_status_staff.py", ROOT / "app/pages/lost_links.py",
    ROOT / "app/auth.py", ROOT / "app/pages/admin_forms.py",
])
TEMPLATES = [
    *(ROOT / "app/templates/citizen").glob("document_status*.html"),
    *(ROOT / "app/templates/citizen").glob("*resend*.html"),
    ROOT / "app/templates/citizen/lost_links.html", ROOT / "app/templates/citizen/start.html",
    ROOT / "app/templates/citizen/link_invalid.html", ROOT / "app/templates/base.html",
    *(ROOT / "app/templates/staff").glob("document_status*.html"),
    ROOT / "app/templates/staff/_layout.html",
    *(ROOT / "mail/templates/links").iterdir(), *(ROOT / "mail/templates/document").iterdir(),
    ROOT / "mail/templates/appointment/_frame.html",
]
EXTRA = {"add": [1], "LineError": [2], "Conflict": [0]}
TABLES = {"HEADLINES", "STEP_LABELS", "TYPE_LABELS", "COLUMN_LABELS", "WEEKDAYS", "ROLE_LABELS",
          "NEUTRAL", "SERIAL_MESSAGE", "TYPE_MESSAGE", "STATUS_MESSAGE", "TIME_MESSAGE",
          "FUTURE_MESSAGE"}


def python_msgids(path: Path) -> set[str]:
    found: set[str] = set()
    calls = {**CALLS, **EXTRA}
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            for position in calls.get(name, []):
                if position < len(node.args):
                    found.update(_strings(node.args[position]))
        elif isinstance(node, ast.Assign):
            targets = {t.id for t in node.targets if isinstance(t, ast.Name)}
            if "message" in targets or targets & TABLES:
                found.update(_strings(node.value))
    return {m for m in found if m.strip() and not m.startswith(("/", "_", "mail.", "links"))}


def all_msgids() -> set[str]:
    ids: set[str] = set()
    for path in PY_FILES:
        ids |= python_msgids(path)
    for path in TEMPLATES:
        if path.suffix in (".html", ".txt"):
            ids |= template_msgids(path)
    return ids


def plural_pairs() -> set[tuple[str, str]]:
    """(singular, plural) of every ngettext call in this area's templates."""
    pairs: set[tuple[str, str]] = set()
    for path in TEMPLATES:
        with path.open("rb") as fh:
            for _line, func, message, _c in babel_extract(fh, ["ngettext"], [], {}):
                if func == "ngettext" and isinstance(message, tuple):
                    pairs.add((str(message[0]), str(message[1])))
    return pairs


def test_the_collector_finds_messages() -> None:
    ids = all_msgids()
    assert "Your ID card is on its way to us." in ids
    assert "Send my link again" in ids
    assert "Line %(line)s: write a word, an equals sign and one of %(codes)s." in ids
    assert len(ids) > 80


def test_every_message_is_translated() -> None:
    german = I18n().translator("de")
    plurals = {text for pair in plural_pairs() for text in pair}
    missing = sorted(m for m in all_msgids() - plurals if german.gettext(m) == m
                     and m not in SAME_IN_GERMAN)
    assert missing == [], "translate these in document_status.po:\n" + "\n".join(missing)


def test_plurals_are_translated() -> None:
    german = I18n().translator("de")
    pairs = plural_pairs()
    assert ("%(num)s line stored.", "%(num)s lines stored.") in pairs
    for singular, plural in pairs:
        for n in (1, 2):
            assert german.ngettext(singular, plural, n) not in (singular % {"num": n},
                                                               plural % {"num": n})


def test_catalogue_agrees_with_the_others() -> None:
    directory = CATALOGUE.parent
    with CATALOGUE.open("rb") as fh:
        mine = {m.id: m.string for m in read_po(fh, locale="de") if m.id}
    assert all(mine.values()), "empty translations"
    conflicts = []
    for path in sorted(directory.glob("*.po")):
        if path == CATALOGUE:
            continue
        with path.open("rb") as fh:
            for message in read_po(fh, locale="de"):
                if message.id in mine and message.string and mine[message.id] != message.string:
                    conflicts.append((path.name, message.id))
    assert conflicts == []


def test_the_status_reads_as_plain_german() -> None:
    german = I18n().translator("de")
    assert german.gettext("Your ID card is being made at the Bundesdruckerei.") == \
        "Ihr Ausweis wird in der Bundesdruckerei hergestellt."
    assert german.gettext("Your passport is ready for you to pick up.") == \
        "Ihr Reisepass liegt zur Abholung bereit."
