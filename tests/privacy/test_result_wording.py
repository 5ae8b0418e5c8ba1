"""The erasure's result counts in German as people do: "1 Termin", "2 Termine"."""

from __future__ import annotations

from pathlib import Path

from core.i18n import I18n

TEMPLATE = Path(__file__).resolve().parents[2] / "app/templates/privacy/result.html"
ONE, MANY = "Anonymised: %(num)s appointment.", "Anonymised: %(num)s appointments."


def test_the_count_has_singular_and_plural() -> None:
    assert f'ngettext("{ONE}", "{MANY}"' in TEMPLATE.read_text()
    german = I18n().translator("de")
    assert german.ngettext(ONE, MANY, 1) == "Anonymisiert: 1 Termin."
    assert german.ngettext(ONE, MANY, 3) == "Anonymisiert: 3 Termine."
