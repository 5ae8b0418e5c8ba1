"""Every action the product writes into the audit trail, and every kind of object, reads in
words on the admins' audit page (no "closure 28", no raw action codes)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from app.pages.admin_audit import ACTION_LABELS, OBJECT_LABELS, action_label, object_label
from core.i18n import I18n
from tests.test_architecture import NOT_PRODUCT, packages

ROOT = Path(__file__).resolve().parents[2]
ACTION = re.compile(r"^[a-z_]+\.[a-z_]+$")


def written() -> tuple[set[str], set[str]]:
    """(actions, object types) given as literals to the audit's writers (``record``,
    ``record_now``, ``event_values``, the modules' own ``_audit`` wrappers)."""
    actions: set[str] = set()
    objects: set[str] = set()
    for package in packages():
        assert package not in NOT_PRODUCT
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if "record" not in name and "audit" not in name and name != "event_values":
                    continue
                texts = [a.value for a in node.args
                         if isinstance(a, ast.Constant) and isinstance(a.value, str)]
                for index, text in enumerate(texts):
                    if ACTION.match(text):
                        actions.add(text)
                        if index + 1 < len(texts) and re.match(r"^[a-z_]+$", texts[index + 1]):
                            objects.add(texts[index + 1])
    return actions, objects


def test_the_collector_finds_the_writers() -> None:
    actions, objects = written()
    assert {"appointment.book", "request.submit", "closure.create"} <= actions
    assert {"appointment", "case", "closure"} <= objects


def test_every_action_and_object_has_words() -> None:
    actions, objects = written()
    assert sorted(actions - set(ACTION_LABELS)) == []
    assert sorted(objects - set(OBJECT_LABELS)) == []
    german = I18n().translator("de")
    assert action_label(german, "request.submit") == "Online-Antrag gesendet"
    assert object_label(german, "closure", 28) == "Schließung #28"
    assert object_label(german, "subject", "") == "Betroffene Person"
    for label in [*ACTION_LABELS.values(), *OBJECT_LABELS.values()]:
        assert german.gettext(label) != label, f"translate {label!r} in cases.po"
