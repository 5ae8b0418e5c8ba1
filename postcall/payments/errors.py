"""Errors of online payment, each with its status and a stable code; the English message ids
are translated in ``core/locales/de/LC_MESSAGES/payments.po``."""

from __future__ import annotations

from core.errors import Conflict, NotFound


class NoCase(Conflict):
    code = "no_case"
    message = "There is nothing to pay for this appointment yet."


class NothingToPay(Conflict):
    code = "nothing_to_pay"
    message = "There is no fee to pay for this request."


class AlreadyPaid(Conflict):
    code = "already_paid"
    message = "This fee has already been paid. Thank you!"


class NotPayable(Conflict):
    code = "not_payable"
    message = "This fee cannot be paid online any more."


class PaymentPending(Conflict):
    code = "payment_pending"
    message = (
        "Your payment is being processed (a direct debit can take a few days). Please do not "
        "pay again: we will tell you by e-mail when it has arrived."
    )


class OnlinePaymentUnavailable(Conflict):
    code = "online_payment_unavailable"
    message = (
        "Online payment is not offered. Please pay by bank transfer with the details in your "
        "fee notice."
    )


class NotRefundable(Conflict):
    code = "not_refundable"
    message = "Only a fee paid online can be refunded here, and only while it is paid."


class RefundTooLarge(Conflict):
    code = "refund_too_large"
    message = "At most %(amount)s cents can still be refunded."


class CaseNotFound(NotFound):
    code = "case_not_found"
    message = "There is no case with this number."


class AttemptNotFound(NotFound):
    code = "payment_not_found"
    message = "This payment is unknown."
