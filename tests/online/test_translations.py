"""Every English message id of online services has a German translation (collected like
tests/staff/test_translations.py does, with the calls these modules use besides)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from babel.messages.pofile import read_po

from core.i18n import I18n
from tests.staff.test_translations import CALLS, _strings

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "core/locales/de/LC_MESSAGES/online.po"
PY_FILES = sorted([*ROOT.glob("online/*.py"), ROOT / "app/api/links.py",
                   *ROOT.glob("app/api/online*.py")])
# Besides the staff code's calls: problems added to an error, state errors, and the answer
# checks' ValueErrors (online/forms.py turns them into messages beside the field).
EXTRA = {"add": [1], "WrongState": [0], "ValueError": [0], "Conflict": [0]}


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
            targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if "message" in targets:
                found.update(_strings(node.value))
    # "limit:N" is online/forms.py's internal note, turned into "At most %(max)s characters."
    return {m for m in found if m.strip() and not m.startswith(("limit:", "/", "_"))}


def test_the_collector_finds_messages() -> None:
    ids = set().union(*(python_msgids(p) for p in PY_FILES))
    assert "Please give the place as latitude and longitude." in ids
    assert "This online service does not exist." in ids and len(ids) > 40


def test_every_message_is_translated() -> None:
    german = I18n().translator("de")
    ids = set().union(*(python_msgids(p) for p in PY_FILES))
    missing = sorted(m for m in ids if german.gettext(m) == m)
    assert missing == [], "translate these in online.po:\n" + "\n".join(missing)


def test_upload_messages_read_as_german() -> None:
    german = I18n().translator("de")
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
