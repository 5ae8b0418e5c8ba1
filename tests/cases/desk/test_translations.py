"""Every English message id of the clerk's desk (the agenda, the day list, the panels beside the
call) has a German translation, and desk.po agrees with the other catalogues."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from babel.messages.pofile import read_po

from core.i18n import I18n
from tests.staff.test_translations import template_msgids

ROOT = Path(__file__).resolve().parents[3]
PY_FILES = ["app/pages/desk.py", "app/pages/desk_views.py", "app/pages/desk_forms.py",
            "app/pages/staff.py"]
TEMPLATES = ["app/templates/staff/agenda.html", "app/templates/staff/agenda_print.html",
             "app/templates/call/_desk_macros.html", "app/templates/call/_desk_panels.html",
             "app/templates/call/_desk_fragment.html"]
CATALOGUE = ROOT / "core/locales/de/LC_MESSAGES/desk.po"
# The same in German.
SAME_IN_GERMAN = {"Status"}


def python_msgids(path: Path) -> set[str]:
    """Strings passed to N_() or gettext(), and the values of the agenda's notice table."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else \
                getattr(node.func, "id", "")
            if name in ("N_", "gettext") and node.args and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str):
                found.add(node.args[0].value)
        elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id in ("AGENDA_NOTICES", "_QUESTIONS")
                for t in node.targets):
            if isinstance(node.value, ast.Dict):
                found.update(v.value for v in node.value.values
                             if isinstance(v, ast.Constant) and isinstance(v.value, str))
            elif isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                found.add(node.value.value)
    return found


def all_msgids() -> set[str]:
    ids: set[str] = set()
    for name in PY_FILES:
        ids |= python_msgids(ROOT / name)
    for name in TEMPLATES:
        ids |= template_msgids(ROOT / name)
    return ids


def test_collector_finds_messages() -> None:
    ids = all_msgids()
    for known in ("Waiting now", "Abort: poor image quality", "Hologram (Identigram)",
                  "The appointment has been marked as missed.", "Please confirm: %(checks)s",
                  "Security questions asked and answered correctly"):
        assert known in ids
    assert len(ids) > 100


def test_every_msgid_has_a_german_translation() -> None:
    german = I18n().translator("de")
    plurals = {"%(num)s appointment", "%(num)s appointments"}
    missing = sorted(m for m in all_msgids() - plurals - SAME_IN_GERMAN
                     if german.gettext(m) == m)
    assert missing == []


def test_desk_catalogue_is_well_formed_and_agrees_with_the_others() -> None:
    with CATALOGUE.open("rb") as fh:
        mine = {m.id: m.string for m in read_po(fh, locale="de") if m.id}
    assert mine
    for msgid, text in mine.items():
        assert isinstance(msgid, str) and isinstance(text, str) and text, msgid
        assert set(re.findall(r"%\([a-z_]+\)s", msgid)) == \
            set(re.findall(r"%\([a-z_]+\)s", text)), msgid
    conflicts = []
    for path in sorted(CATALOGUE.parent.glob("*.po")):
        if path == CATALOGUE:
            continue
        with path.open("rb") as fh:
            for message in read_po(fh, locale="de"):
                if message.id in mine and message.string and mine[message.id] != message.string:
                    conflicts.append((path.name, message.id))
    assert conflicts == []
