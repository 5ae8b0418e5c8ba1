"""Every English message id of the online services has a German translation (collected like
tests/staff/test_translations.py does), and the catalogue keeps each placeholder."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

from core.i18n import I18n
from tests.staff.test_translations import python_msgids

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "core/locales/de/LC_MESSAGES/online.po"


def used_msgids() -> set[str]:
    found: set[str] = set()
    for path in sorted((ROOT / "online").rglob("*.py")):
        found |= python_msgids(path)
    return found


def test_the_collector_finds_messages() -> None:
    ids = used_msgids()
    assert "The file is too large. Files may be at most %(max)s." in ids
    assert "The file cannot be checked for viruses at the moment. Please try again later." in ids


def test_every_message_is_translated() -> None:
    german = I18n().translator("de")
    missing = sorted(m for m in used_msgids() if german.gettext(m) == m)
    assert missing == [], "translate these in online.po:\n" + "\n".join(missing)
    assert german.gettext("The file is too large. Files may be at most %(max)s.",
                          max="10 MB") == "Die Datei ist zu groß. Eine Datei darf höchstens "\
        "10 MB groß sein."


def test_the_catalogue_reads_cleanly_and_keeps_placeholders() -> None:
    with CATALOGUE.open("rb") as fh:
        catalog = read_po(fh, locale="de")
    messages = [m for m in catalog if m.id and isinstance(m.id, str)]
    assert messages
    for message in messages:
        assert isinstance(message.string, str) and message.string, message.id
        placeholders = set(re.findall(r"%\([a-z_]+\)s", message.id))
        assert placeholders == set(re.findall(r"%\([a-z_]+\)s", message.string)), message.id


def test_no_conflicting_translations_with_other_catalogues() -> None:
    with CATALOGUE.open("rb") as fh:
        mine = {m.id: m.string for m in read_po(fh, locale="de") if m.id}
    conflicts = []
    for path in sorted(CATALOGUE.parent.glob("*.po")):
        if path == CATALOGUE:
            continue
        with path.open("rb") as fh:
            for message in read_po(fh, locale="de"):
                if message.id in mine and message.string and mine[message.id] != message.string:
                    conflicts.append((path.name, message.id))
    assert conflicts == []
