"""Every English message id of the after-the-call code and templates has a German translation,
and postcall.po never gives another catalogue's message a different German text (the
catalogues are merged, so the later file would silently win)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po
from jinja2.ext import babel_extract

from app.pages.postcall_staff import STATUS_LABELS
from cases.milestone_texts import EXPLANATIONS, LABELS, ONLINE_EXPLANATIONS
from tests.staff.test_translations import python_msgids, template_msgids

ROOT = Path(__file__).resolve().parents[3]
CATALOGUES = ROOT / "core/locales/de/LC_MESSAGES"
PY_FILES = [
    "postcall/dispatch.py", "postcall/feedback.py", "cases/status_lookup.py",
    "postcall/notices.py", "postcall/dispatch_providers.py", "app/api/dispatch.py",
    "app/api/citizen_docs.py", "app/pages/postcall_pages.py", "app/pages/postcall_staff.py",
    "mail/cases.py", "mail/case_jobs.py", "app/postcall_jobs.py",
]
TEMPLATES = [
    "app/templates/citizen/_status.html", "app/templates/citizen/status_lookup.html",
    "app/templates/staff/dispatch.html", "app/templates/staff/dispatch_address.html",
    "app/templates/admin/feedback.html",
    *(str(p.relative_to(ROOT)) for p in sorted((ROOT / "mail/templates/case").iterdir())),
]
# Messages raised with a custom text (WebhookRejected("...")), which the collector cannot see.
EXTRA = [
    "The hybrid-mail webhook is not configured.", "The webhook signature is not valid.",
    "The webhook body is not a letter event.", "The webhook is too old or from the future.",
]


def german() -> dict[str, object]:
    found: dict[str, object] = {}
    for path in sorted(CATALOGUES.glob("*.po")):
        with path.open("rb") as fh:
            for message in read_po(fh, locale="de"):
                if message.id:
                    key = message.id if isinstance(message.id, str) else message.id[0]
                    found[key] = message.string
    return found


def used_msgids() -> tuple[set[str], set[str]]:
    singles = set(LABELS.values()) | set(EXPLANATIONS.values()) | set(STATUS_LABELS.values())
    singles |= set(ONLINE_EXPLANATIONS.values())
    singles |= set(EXTRA)
    plurals: set[str] = set()
    for name in PY_FILES:
        singles |= python_msgids(ROOT / name)
    for name in TEMPLATES:
        singles |= template_msgids(ROOT / name)
        with (ROOT / name).open("rb") as fh:
            for _line, func, message, _c in babel_extract(fh, ["ngettext"], [], {}):
                if func == "ngettext" and isinstance(message, tuple):
                    plurals.add(str(message[0]))
    return singles, plurals


def test_the_collector_finds_messages() -> None:
    singles, plurals = used_msgids()
    assert "Fee notice sent" in singles and "Letters to post" in singles
    assert "Please transfer the amount soon. The fee notice is attached again, and so is its " \
        "GiroCode as an image: scan it with your banking app. If you have paid in the " \
        "meantime, please ignore this e-mail." in singles
    assert "%(num)s letter in this batch." in plurals


def test_every_message_is_translated() -> None:
    catalogue = german()
    singles, plurals = used_msgids()
    plural_words = {text for text in singles if "%(num)s" in text}
    missing = sorted(m for m in (singles - plural_words) | plurals
                     if not catalogue.get(m))
    assert missing == [], "translate these in postcall.po:\n" + "\n".join(missing)


def test_postcall_po_agrees_with_the_other_catalogues() -> None:
    with (CATALOGUES / "postcall.po").open("rb") as fh:
        mine = {m.id: m.string for m in read_po(fh, locale="de") if m.id}
    for path in sorted(CATALOGUES.glob("*.po")):
        if path.name == "postcall.po":
            continue
        with path.open("rb") as fh:
            for message in read_po(fh, locale="de"):
                if message.id in mine:
                    assert mine[message.id] == message.string, (path.name, message.id)
