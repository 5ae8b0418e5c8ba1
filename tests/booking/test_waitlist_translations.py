"""Every English message id of the waitlist (its modules, pages and e-mails) has a German
translation, with the same placeholders."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from core.i18n import I18n
from tests.staff.test_translations import ROOT, msgids_in

PY_FILES = ["booking/waitlist.py", "cases/waitlist_offers.py", "app/api/waitlist.py",
            "app/pages/waitlist.py", "mail/waitlist.py"]
TEMPLATES = [str(p.relative_to(ROOT)) for d in ("app/templates/waitlist", "mail/templates/waitlist")
             for p in sorted((ROOT / d).glob("*.*"))] + [
    "app/templates/citizen/book_day.html", "app/templates/citizen/book_slot.html"]


def marked(path: Path) -> set[str]:
    """Message ids marked with ``N_()``, and the weekday names the pages translate."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "N_":
            found.update(a.value for a in node.args[:1] if isinstance(a, ast.Constant))
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "WEEKDAYS"
                                                for t in node.targets):
            found.update(e.value for e in getattr(node.value, "elts", [])
                         if isinstance(e, ast.Constant))
    return found


SAME_IN_GERMAN = {"Status"}  # translated as itself (call.po)


def all_msgids() -> set[str]:
    ids = msgids_in(PY_FILES, TEMPLATES)
    for name in PY_FILES:
        ids |= marked(ROOT / name)
    return ids


def test_every_waitlist_message_has_a_german_translation() -> None:
    ids = all_msgids()
    assert "Join the waitlist" in ids and "Please check the time windows." in ids
    assert "A place is free for you: %(service)s" in ids and "Sunday" in ids
    german = I18n().translator("de")
    missing = sorted(m for m in ids if german.gettext(m) == m and m not in SAME_IN_GERMAN)
    assert missing == []
    placeholder = re.compile(r"%\(\w+\)s")
    for msgid in ids:
        assert sorted(placeholder.findall(german.gettext(msgid))) == \
            sorted(placeholder.findall(msgid)), msgid
