"""Every English message id of the privacy area has a German translation."""

from __future__ import annotations

from pathlib import Path

from jinja2.ext import babel_extract

from core.i18n import I18n
from privacy.service import HOLD_REASONS
from tests.staff.test_translations import python_msgids, template_msgids

ROOT = Path(__file__).resolve().parents[2]
PY_FILES = ["app/pages/privacy.py", "app/api/privacy.py", "privacy/actions.py"]
TEMPLATES = [*sorted((ROOT / "app/templates/privacy").glob("*.html")),
             ROOT / "app/templates/citizen/privacy.html"]


def test_every_privacy_msgid_has_a_german_translation() -> None:
    ids: set[str] = set(HOLD_REASONS.values())
    for name in PY_FILES:
        ids |= python_msgids(ROOT / name)
    for path in TEMPLATES:
        ids |= template_msgids(path)
    assert "Imprint" in ids and "Privacy requests" in ids
    german = I18n().translator("de")
    pairs = plural_pairs()
    assert pairs, "the collector finds the plural forms"
    singles = ids - {text for pair in pairs for text in pair}
    assert sorted(m for m in singles if german.gettext(m) == m) == []
    for one, many in pairs:
        assert german.ngettext(one, many, 1) != one % {"num": 1}, one
        assert german.ngettext(one, many, 2) != many % {"num": 2}, many


def plural_pairs() -> set[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for path in TEMPLATES:
        with path.open("rb") as fh:
            for _line, func, message, _c in babel_extract(fh, ["ngettext"], [], {}):
                if func == "ngettext" and isinstance(message, tuple):
                    pairs.add((str(message[0]), str(message[1])))
    return pairs
