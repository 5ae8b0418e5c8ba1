"""Errors after the decision. Like ``core.errors`` each carries its status and a stable code;
the message is an English message id, translated in ``core/locales/de/LC_MESSAGES/cases.po``."""

from __future__ import annotations

from core.errors import Conflict


class PaymentInProgress(Conflict):
    code = "payment_in_progress"
    message = (
        "A payment for this case is in progress. The case can be reopened once it has been "
        "completed or has lapsed."
    )
