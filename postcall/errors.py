"""Errors after the decision. Like ``core.errors`` each carries its status and a stable code;
the message is an English message id, translated in ``core/locales/de/LC_MESSAGES/cases.po``."""

from __future__ import annotations

from core.errors import Conflict, Invalid


class PaymentInProgress(Conflict):
    code = "payment_in_progress"
    message = (
        "A payment for this case is in progress. The case can be reopened once it has been "
        "completed or has lapsed."
    )


class PostalAddressMissing(Invalid):
    """Delivery by post with no postal address for the letters: refused, never posted blank."""

    code = "postal_address_missing"
    message = (
        "The document is to be sent by post, but there is no postal address. Please enter "
        "the citizen's postal address."
    )
