"""Every English message id the staff and admin code uses has a German translation.

Message ids are collected from the templates (``_()``/``gettext``/``ngettext`` calls, with
Jinja's Babel extractor) and from the Python modules (error messages, form labels, status
names), then looked up in the merged German catalogue.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

from babel.messages.pofile import read_po
from jinja2.ext import babel_extract

from core.i18n import I18n

ROOT = Path(__file__).resolve().parents[2]
PY_FILES = [
    "app/auth.py", "staff/sessions.py", "staff/passwords.py", "staff/service.py", "app/api/auth.py",
    "app/api/admin.py", "booking/admin.py", "booking/admin_schedules.py",
    "booking/admin_validation.py", "app/pages/staff.py", "app/pages/staff_http.py",
    "app/pages/admin.py", "app/pages/admin_forms.py", "app/csrf.py", "app/pages/forms.py",
    "staff/totp.py", "app/api/login.py", "app/pages/second_factor.py", "staff/oidc.py",
    "app/api/sso.py", "app/pages/sso.py", "app/pages/accessibility.py",
    "accessibility/service.py", "accessibility/videos.py",
    "postcall/letter_templates.py",
    "app/pages/admin_letters.py",
]
TEMPLATE_DIRS = ["app/templates/staff", "app/templates/admin", "app/templates/accessibility"]

# callee name -> positions of message-id arguments
CALLS = {
    "BadValue": [0], "InUse": [0], "Duplicate": [0], "NotFound": [0], "Forbidden": [0],
    "Invalid": [0], "Unauthorized": [0], "Weakness": [0], "FieldError": [1], "one": [1],
    "gettext": [0], "ngettext": [0, 1], "FormField": [1],
}
KEYWORDS = {"hint", "title", "new_title", "edit_title", "delete_title", "delete_text",
            "label"}
CONSTANT_TABLES = {"STATUS_LABELS", "DONE_MESSAGES", "WEEKDAYS", "WEEKDAYS_SHORT", "REQUIRED"}


def _strings(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.List | ast.Tuple):
        return [s for item in node.elts for s in _strings(item)]
    if isinstance(node, ast.Dict):
        return [s for value in node.values for s in _strings(value)]
    return []


def python_msgids(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            for position in CALLS.get(name, []):
                if position < len(node.args):
                    found.update(_strings(node.args[position]))
            for keyword in node.keywords:
                if keyword.arg in KEYWORDS or (keyword.arg == "columns"):
                    found.update(_strings(keyword.value))
        elif isinstance(node, ast.Assign):
            targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if "message" in targets or set(targets) & CONSTANT_TABLES:
                found.update(_strings(node.value))
    return {m for m in found if m.strip() and not m.startswith(("/", "_"))}


def template_msgids(path: Path) -> set[str]:
    found: set[str] = set()
    with path.open("rb") as fh:
        for _line, _func, message, _comments in babel_extract(
            fh, ["_", "gettext", "ngettext"], [], {"trimmed": "false"}
        ):
            if isinstance(message, str):
                found.add(message)
            elif isinstance(message, tuple):
                found.update(m for m in message if isinstance(m, str))
    return found


def msgids_in(py_files: Iterable[str], templates: Iterable[str]) -> set[str]:
    """The message ids of these modules and templates (paths from the project's root): what
    each area's translation test collects."""
    found: set[str] = set()
    for name in py_files:
        found |= python_msgids(ROOT / name)
    for name in templates:
        found |= template_msgids(ROOT / name)
    return found


def plural_pairs_in(py_files: Iterable[str],
                    templates: Iterable[Path | str]) -> set[tuple[str, str]]:
    """(singular, plural) of every ngettext call in these modules and templates."""
    pairs: set[tuple[str, str]] = set()
    for name in py_files:
        for node in ast.walk(ast.parse((ROOT / name).read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "ngettext":
                texts = [s for arg in node.args[:2] for s in _strings(arg)]
                if len(texts) == 2:
                    pairs.add((texts[0], texts[1]))
    for name in templates:
        with (ROOT / name).open("rb") as fh:
            for _line, func, message, _c in babel_extract(fh, ["ngettext"], [], {}):
                if func == "ngettext" and isinstance(message, tuple):
                    pairs.add((str(message[0]), str(message[1])))
    return pairs


def plural_pairs() -> set[tuple[str, str]]:
    """(singular, plural) of every ngettext call in the staff templates and modules."""
    templates = [path for directory in TEMPLATE_DIRS
                 for path in sorted((ROOT / directory).glob("*.html"))]
    return plural_pairs_in(PY_FILES, templates)


def all_msgids() -> set[str]:
    ids: set[str] = set()
    for name in PY_FILES:
        ids |= python_msgids(ROOT / name)
    for directory in TEMPLATE_DIRS:
        for path in (ROOT / directory).glob("*.html"):
            ids |= template_msgids(path)
    return ids


def test_collector_finds_messages() -> None:
    ids = all_msgids()
    # A few known ones, so a broken collector cannot pass silently.
    assert "The e-mail address or the password is wrong." in ids
    assert "Please enter a valid IANA time zone such as Europe/Berlin." in ids
    assert "Staff login" in ids
    assert "Parallel clerks" in ids
    assert len(ids) > 150


def test_every_msgid_has_a_german_translation() -> None:
    german = I18n().translator("de")
    plurals = plural_pairs()
    assert plurals, "the collector found no plural messages"
    in_plurals = {text for pair in plurals for text in pair}
    missing = sorted(
        m for m in all_msgids() - in_plurals if german.gettext(m) == m and m not in SAME_IN_GERMAN
    )
    assert missing == []
    for singular, plural in sorted(plurals):
        for n in (1, 2):
            text = german.ngettext(singular, plural, n)
            assert text not in (singular % {"num": n}, plural % {"num": n}), singular


def test_staff_catalogue_is_well_formed() -> None:
    with (ROOT / "core/locales/de/LC_MESSAGES/staff.po").open("rb") as fh:
        catalog = read_po(fh, locale="de")
    for message in catalog:
        if not message.id:
            continue
        assert message.string, f"empty translation for {message.id!r}"
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for msgid in ids:
            for placeholder in _placeholders(msgid):
                assert all(placeholder in s for s in strings), (msgid, placeholder)


def _placeholders(text: str) -> set[str]:
    import re

    return set(re.findall(r"%\([a-z_]+\)s", text))


# Words that are the same in German (ids and brands).
SAME_IN_GERMAN = {"IBAN", "BIC", "Status", "Bank", "Name", "Code"}


def test_no_conflicting_translations_with_other_catalogues() -> None:
    """The catalogues are merged into one; a message id shared with another area must read the
    same there, or one area's wording would silently replace the other's."""
    directory = ROOT / "core/locales/de/LC_MESSAGES"
    with (directory / "staff.po").open("rb") as fh:
        mine = {m.id: m.string for m in read_po(fh, locale="de") if m.id}
    conflicts = []
    for path in sorted(directory.glob("*.po")):
        if path.name == "staff.po":
            continue
        with path.open("rb") as fh:
            for message in read_po(fh, locale="de"):
                if message.id in mine and message.string and mine[message.id] != message.string:
                    conflicts.append((path.name, message.id))
    assert conflicts == []
