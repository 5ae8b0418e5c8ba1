"""Every message of appointments for several services and people has a German translation in
family.po, with the same placeholders."""

from __future__ import annotations

import ast
from pathlib import Path

from babel.messages.pofile import read_po

from core.i18n import I18n
from tests.staff.test_translations import msgids_in

ROOT = Path(__file__).resolve().parents[2]
PY_FILES = ["booking/composition.py", "cases/persons.py", "app/pages/party_form.py",
            "app/pages/desk_party.py"]
TEMPLATES = ["app/templates/citizen/_party_choice.html",
             "app/templates/citizen/_party_persons.html", "app/templates/call/_desk_persons.html"]
CATALOGUE = ROOT / "core/locales/de/LC_MESSAGES/family.po"


def marked() -> set[str]:
    """Strings marked with ``N_`` (module constants and form errors)."""
    found: set[str] = set()
    for name in PY_FILES:
        for node in ast.walk(ast.parse((ROOT / name).read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "N_":
                found |= {a.value for a in node.args if isinstance(a, ast.Constant)
                          and isinstance(a.value, str)}
    return found


def used() -> set[str]:
    return msgids_in(PY_FILES, TEMPLATES) | marked()


def test_the_collector_finds_messages() -> None:
    ids = used()
    assert "At most %(max)s persons per appointment (you included)." in ids
    assert "People of this appointment" in ids and "Not checked yet" in ids
    assert "Enter the first name of person %(n)s." in ids


def test_every_message_is_translated() -> None:
    german = I18n().translator("de")
    missing = sorted(m for m in used() if german.gettext(m) == m)
    assert missing == []


def test_the_catalogue_keeps_placeholders() -> None:
    with CATALOGUE.open("rb") as fh:
        catalog = read_po(fh, locale="de")
    for message in catalog:
        if not message.id:
            continue
        assert isinstance(message.id, str) and isinstance(message.string, str)
        for placeholder in ("%(max)s", "%(count)s", "%(n)s", "%(num)s", "%(date)s"):
            assert (placeholder in message.id) == (placeholder in message.string), message.id
