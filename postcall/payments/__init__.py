"""Online payment of case fees through a payment provider (Stripe first).

* ``provider.py``  — the provider interface and its neutral data types and errors
* ``stripe_provider.py`` — Stripe Checkout, refunds and signed webhooks
* ``models.py``    — attempts, processed webhook events, refunds
* ``queries.py``   — reading: attempts, paid and refunded cents, the citizen's view
* ``service.py``   — the rules, inside the caller's transaction
* ``refunds.py``   — refunds, inside the caller's transaction
* ``flows.py``     — the steps that call the provider between transactions

Jobs for the mails that follow: ``RECEIPT_JOB`` ("payment.receipt") and
``CORRECTED_NOTICE_JOB`` ("case.corrected_notice").
"""

from postcall.payments.queries import PaymentTotals, payment_totals, refunds_of
from postcall.payments.service import CORRECTED_NOTICE_JOB, RECEIPT_JOB

__all__ = ["CORRECTED_NOTICE_JOB", "RECEIPT_JOB", "PaymentTotals", "payment_totals",
           "refunds_of"]
