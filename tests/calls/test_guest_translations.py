"""Every message id of the guest's pages, the clerk's invitation and the guest link's errors has
a German translation (collected like tests/staff/test_translations.py does)."""

from __future__ import annotations

from pathlib import Path

from core.i18n import I18n
from tests.staff.test_translations import msgids_in

ROOT = Path(__file__).resolve().parents[2]
PY_FILES = ["calls/guests.py", "app/pages/guest.py"]
TEMPLATES = ["app/templates/call/guest.html", "app/templates/call/guest_invalid.html",
             "app/templates/call/_guest_panel.html", "app/templates/call/_guest_large.html",
             "app/templates/call/_guest_texts.html"]


def used_msgids() -> set[str]:
    return msgids_in(PY_FILES, TEMPLATES)


def test_the_collector_finds_messages() -> None:
    ids = used_msgids()
    assert "Sign-language interpreter" in ids  # a constant table
    assert "This guest link has been withdrawn by the office. Please ask for a new link." in ids
    assert "Let the interpreter in" in ids  # a template
    assert "Video of the interpreter" in ids  # inside a tojson block


def test_every_message_is_translated() -> None:
    german = I18n().translator("de")
    missing = sorted(m for m in used_msgids() if german.gettext(m) == m
               and m not in ("Video", "%(date)s, %(time)s"))  # the same in German
    assert missing == [], "translate these in guest.po:\n" + "\n".join(missing)
    assert german.gettext("Let the interpreter in") == "Dolmetscher/in hereinlassen"
