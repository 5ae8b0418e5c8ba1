"""Every text of the clerk's inbox, the request page and the admin's online-service pages has
a German translation (collected from the templates with Jinja's Babel extractor and from the
modules' message ids), in inbox.po, which agrees with the other catalogues."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from babel.messages.pofile import read_po
from jinja2.ext import babel_extract

from core.i18n import I18n
from tests.staff.test_translations import template_msgids

ROOT = Path(__file__).resolve().parents[3]
PY_FILES = [f"app/pages/{name}.py" for name in (
    "inbox", "inbox_views", "inbox_detail", "inbox_forms", "inbox_request", "admin_online",
    "admin_online_forms")]
TEMPLATES = [f"app/templates/{name}.html" for name in (
    "staff/requests", "staff/_requests_list", "staff/request", "staff/request_reject",
    "admin/online_services", "admin/online_service_form", "admin/online_service_delete",
    "admin/_forms")]
# The parts of shared templates that are ours: the navigation link and the admin index card.
SHARED = {"Requests", "Online services", "Requests without an appointment and their forms.",
          "New online service"}
CATALOGUE = ROOT / "core/locales/de/LC_MESSAGES/inbox.po"
SAME_IN_GERMAN = {"Status", "Name", "%(size)s KB", "%(size)s MB"}
# callee -> positions of message-id arguments; keywords that carry message ids
CALLS = {"N_": [0], "gettext": [0], "ngettext": [0, 1], "FormField": [1], "Invalid": [0]}
KEYWORDS = {"hint"}
TABLES = {"NOTICES", "DONE"}


def _strings(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Dict):
        return [s for value in node.values if value is not None for s in _strings(value)]
    return []


def python_msgids(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else \
                getattr(node.func, "id", "")
            for position in CALLS.get(name, []):
                if position < len(node.args):
                    found.update(_strings(node.args[position]))
            if name == "FormField":
                for keyword in node.keywords:
                    if keyword.arg in KEYWORDS:
                        found.update(_strings(keyword.value))
        elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id in TABLES for t in node.targets):
            found.update(_strings(node.value))
    return found


def used_msgids() -> set[str]:
    found = set(SHARED)
    for name in PY_FILES:
        found |= python_msgids(ROOT / name)
    for name in TEMPLATES:
        found |= template_msgids(ROOT / name)
    return found


def plural_pairs() -> set[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for name in TEMPLATES:
        with (ROOT / name).open("rb") as fh:
            for _line, func, message, _c in babel_extract(fh, ["ngettext"], [], {}):
                if func == "ngettext" and isinstance(message, tuple):
                    pairs.add((str(message[0]), str(message[1])))
    for name in PY_FILES:
        for node in ast.walk(ast.parse((ROOT / name).read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "ngettext":
                texts = [s for arg in node.args[:2] for s in _strings(arg)]
                if len(texts) == 2:
                    pairs.add((texts[0], texts[1]))
    return pairs


def test_the_collector_finds_messages() -> None:
    ids = used_msgids()
    assert "Waiting for the citizen" in ids  # a status label (N_ in a table)
    assert "Processing time in days" in ids  # a form field's label
    assert "Reasons for the rejection" in ids  # a template
    assert "The request has been assigned." in ids  # a notice table
    assert ("%(num)s request", "%(num)s requests") in plural_pairs()
    assert len(ids) > 100


def test_every_text_is_translated() -> None:
    german = I18n().translator("de")
    plurals = plural_pairs()
    in_plurals = {text for pair in plurals for text in pair}
    missing = sorted(m for m in used_msgids() - in_plurals - SAME_IN_GERMAN
                     if german.gettext(m) == m)
    assert missing == [], "translate these in inbox.po:\n" + "\n".join(missing)
    for singular, plural in sorted(plurals):
        for n in (1, 2):
            assert german.ngettext(singular, plural, n) not in (
                singular % {"num": n}, plural % {"num": n}), singular


def test_the_catalogue_reads_cleanly_and_keeps_placeholders() -> None:
    with CATALOGUE.open("rb") as fh:
        catalog = read_po(fh, locale="de")
    messages = [m for m in catalog if m.id]
    assert len(messages) > 50
    for message in messages:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), message.id
        wanted = set(re.findall(r"%\([a-z_]+\)s", ids[0]))
        for text in strings:
            assert set(re.findall(r"%\([a-z_]+\)s", text)) <= wanted | {"%(num)s"}, message.id
            assert wanted - {"%(num)s"} <= set(re.findall(r"%\([a-z_]+\)s", text)), message.id


def test_no_conflicting_translations_with_other_catalogues() -> None:
    """The catalogues are merged into one: a message id inbox.po shares with another must read
    the same there, or one area's wording would silently replace the other's."""
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
