"""Every English message id of online payment has a German translation in payments.po."""

from __future__ import annotations

from pathlib import Path

from core.i18n import I18n
from tests.staff.test_translations import msgids_in

ROOT = Path(__file__).resolve().parents[3]
PY_FILES = ["postcall/payments/errors.py", "postcall/payments/provider.py",
            "app/api/payments.py", "app/pages/payment.py"]
TEMPLATES = ["app/templates/citizen/payment_start.html",
             "app/templates/citizen/payment_return.html",
             "app/templates/citizen/payment_cancel.html", "app/templates/citizen/_payment.html"]


def used_msgids() -> set[str]:
    return msgids_in(PY_FILES, TEMPLATES)


def test_the_collector_finds_messages() -> None:
    ids = used_msgids()
    assert "The webhook signature is missing, invalid or too old." in ids
    assert "Pay %(amount)s now" in ids and "Thank you – your payment has arrived" in ids


def test_every_message_is_translated() -> None:
    german = I18n().translator("de")
    missing = sorted(m for m in used_msgids() if german.gettext(m) == m)
    assert missing == [], "translate these in payments.po:\n" + "\n".join(missing)
