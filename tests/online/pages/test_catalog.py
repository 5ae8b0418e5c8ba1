"""Every text of the online request pages (the list, the form, the "sent" page, the request's
link page and its steps) has a German translation, with the same placeholders; the pages'
own catalogue ``online_pages.po`` gives no message another German text than the other
catalogues do (they are merged, so a later file would silently win)."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.pofile import read_po

from core.i18n import I18n

ROOT = Path(__file__).resolve().parents[3]
CATALOGUES = ROOT / "core/locales/de/LC_MESSAGES"
PO = CATALOGUES / "online_pages.po"
PYTHON = [ROOT / "app/pages" / name for name in (
    "apply.py", "apply_form.py", "request_link.py", "request_views.py", "request_files.py")]
TEMPLATES = [
    *sorted((ROOT / "app/templates/online").glob("*.html")),
    ROOT / "app/templates/citizen/_progress.html",
    ROOT / "app/templates/citizen/book_slot.html",
    ROOT / "app/templates/citizen/book_day.html",
    ROOT / "app/templates/citizen/start.html",
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


def test_the_extractor_finds_the_texts() -> None:
    ids = used_msgids()
    assert "Use my position" in ids and "Waiting for your answer" in ids
    assert len(ids) > 100


def german() -> dict[str, str]:
    """Every German catalogue's messages (some read the same in both languages: "Status")."""
    found: dict[str, str] = {}
    for path in sorted(CATALOGUES.glob("*.po")):
        with path.open("rb") as fh:
            found.update({m.id: m.string for m in read_po(fh, locale="de")
                          if isinstance(m.id, str) and m.id and isinstance(m.string, str)})
    return found


def test_every_text_of_the_pages_is_translated() -> None:
    catalogue = german()
    missing = sorted(i for i in used_msgids() if not catalogue.get(i))
    assert missing == [], "translate these in online_pages.po:\n" + "\n".join(missing)
    # The app reads the same catalogues: a page's text really comes out German.
    assert I18n().translator("de").gettext("Use my position") == "Meine Position verwenden"


def test_the_catalogue_keeps_placeholders_and_agrees_with_the_others() -> None:
    with PO.open("rb") as fh:
        mine = {m.id: m.string for m in read_po(fh, locale="de") if m.id}
    assert mine
    for msgid, text in mine.items():
        assert isinstance(msgid, str) and isinstance(text, str) and text, msgid
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(text)), msgid
        assert "%" not in PLACEHOLDER.sub("", text), msgid  # would break %-formatting
    for path in sorted(CATALOGUES.glob("*.po")):
        if path != PO:
            with path.open("rb") as fh:
                for message in read_po(fh, locale="de"):
                    if message.id in mine:
                        assert mine[message.id] == message.string, (path.name, message.id)
