"""Every English message id of the clerk's desk, the case views and the audit browser has a
German translation (collected like tests/staff/test_translations.py does)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

from app.pages.admin_audit import ACTION_LABELS
from core.i18n import I18n
from tests.staff.test_translations import msgids_in, plural_pairs_in

ROOT = Path(__file__).resolve().parents[2]
PY_FILES = [
    "postcall/errors.py", "cases/errors.py", "cases/identity.py", "cases/completion.py",
    "core/document_numbers.py", "app/pages/admin_jobs.py",
    "app/api/clerk_cases.py", "app/pages/admin_audit.py", "app/pages/case_views.py",
]
TEMPLATES = ["app/templates/admin/audit.html", "app/templates/citizen/_case.html",
             "app/templates/admin/jobs.html"]
# The audit log's card on the admin index (a template other areas add to as well).
INDEX_CARD = {"Audit log", "Who did what and when."}
CATALOGUE = ROOT / "core/locales/de/LC_MESSAGES/cases.po"


def used_msgids() -> set[str]:
    return set(ACTION_LABELS.values()) | INDEX_CARD | msgids_in(PY_FILES, TEMPLATES)


def plural_pairs() -> set[tuple[str, str]]:
    return plural_pairs_in([], TEMPLATES)


def test_the_collector_finds_messages() -> None:
    ids = used_msgids()
    assert "Please do not write ID document numbers or lines of a document's machine-readable "\
        "zone here." in ids
    assert "Audit log" in ids and "Case number" in ids
    assert ("%(num)s event", "%(num)s events") in plural_pairs()


def test_every_message_is_translated() -> None:
    german = I18n().translator("de")
    plurals = plural_pairs()
    in_plurals = {text for pair in plurals for text in pair}
    missing = sorted(m for m in used_msgids() - in_plurals if german.gettext(m) == m)
    assert missing == [], "translate these in cases.po:\n" + "\n".join(missing)
    for singular, plural in sorted(plurals):
        for n in (1, 2):
            assert german.ngettext(singular, plural, n) not in (
                singular % {"num": n}, plural % {"num": n}), singular


def test_the_catalogue_reads_cleanly_and_keeps_placeholders() -> None:
    with CATALOGUE.open("rb") as fh:
        catalog = read_po(fh, locale="de")
    messages = [m for m in catalog if m.id and isinstance(m.id, str)]
    assert len(messages) > 50
    for message in messages:
        assert isinstance(message.string, str) and message.string, message.id
        for placeholder in ("%(amount)s", "%(date)s", "%(number)s", "%(count)s", "%(name)s",
                            "%(missing)s", "%(max)s", "%(authority)s", "%(office)s",
                            "%(zone)s", "%(page)s", "%(pages)s"):
            assert (placeholder in message.id) == (placeholder in message.string), (
                message.id, placeholder)
