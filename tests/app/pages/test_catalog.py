"""Every text of the citizen pages has a German translation with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.pofile import read_po

from core.i18n import I18n

ROOT = Path(__file__).resolve().parents[3]
PO = ROOT / "core/locales/de/LC_MESSAGES/citizen.po"
PYTHON = sorted((ROOT / "app/pages").glob("citizen*.py"))
TEMPLATES = [
    *sorted((ROOT / "app/templates/citizen").glob("*.html")),
    ROOT / "app/templates/base.html",
    ROOT / "app/templates/_partials.html",
    ROOT / "app/templates/error.html",
]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def used_msgids() -> set[str]:
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    found: set[str] = set()
    for path in PYTHON:
        for _, msg, _, _ in extract_from_file("python", str(path), keywords=keywords):
            found.add(msg if isinstance(msg, str) else msg[0])
    for path in TEMPLATES:
        for _, msg, _, _ in extract_from_file(
            "jinja2.ext:babel_extract", str(path), keywords=keywords,
            options={"trim_blocks": "true", "lstrip_blocks": "true"},
        ):
            found.add(msg if isinstance(msg, str) else msg[0])
    return found


def test_every_citizen_text_is_translated() -> None:
    ids = used_msgids()
    assert len(ids) > 150  # the extractor really found the texts
    translator = I18n().translator("de")
    missing = sorted(i for i in ids if translator.gettext(i) == i)
    assert missing == []


def test_catalogue_placeholders_match() -> None:
    with PO.open("rb") as fh:
        catalog = read_po(fh, locale="de")
    for message in catalog:
        if not message.id:
            continue
        assert isinstance(message.id, str) and isinstance(message.string, str)
        assert message.string, f"untranslated: {message.id}"
        assert sorted(PLACEHOLDER.findall(message.id)) == sorted(
            PLACEHOLDER.findall(message.string)), message.id
        # A stray % would break "%"-formatting at run time.
        assert "%" not in PLACEHOLDER.sub("", message.string), message.id

