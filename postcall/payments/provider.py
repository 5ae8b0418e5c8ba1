"""The payment-provider interface: what the payment service needs from a provider, in the
provider's neutral terms. Stripe is the first implementation (``stripe_provider.py``).

A provider hosts the checkout page (card, SEPA debit, PayPal ...), tells us the outcome by
signed webhook events, lets us re-read a checkout session (success page, reconciliation) and
refunds. Amounts are integer cents throughout.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.errors import Conflict, DomainError

# The checkout session's own state, and whether its money arrived (Stripe's vocabulary, which
# other providers map onto).
SESSION_OPEN, SESSION_COMPLETE, SESSION_EXPIRED = "open", "complete", "expired"
PAID, UNPAID, NO_PAYMENT_REQUIRED = "paid", "unpaid", "no_payment_required"


class ProviderUnavailable(DomainError):
    """The provider could not be reached or had an internal error; trying later may help."""

    status = 503
    code = "payment_provider_unavailable"
    message = (
        "Online payment is not available at the moment. Please try again later or pay by "
        "bank transfer."
    )


class ProviderRefused(Conflict):
    """The provider refused the request (e.g. a refund larger than what is left)."""

    code = "payment_provider_refused"
    message = "The payment provider refused this request."


class InvalidSignature(DomainError):
    status = 400
    code = "invalid_signature"
    message = "The webhook signature is missing, invalid or too old."


class InvalidEvent(DomainError):
    status = 400
    code = "invalid_event"
    message = "The webhook event cannot be read."


@dataclass(frozen=True)
class LineItem:
    name: str
    unit_amount_cents: int
    quantity: int


@dataclass(frozen=True)
class CheckoutRequest:
    """One payment attempt for one case."""

    case_number: str  # the provider's client reference: shows in its dashboard and reports
    attempt_ref: str  # our attempt's public id (metadata, idempotency key)
    currency: str  # ISO 4217, e.g. "EUR"
    items: tuple[LineItem, ...]
    success_url: str  # may contain {CHECKOUT_SESSION_ID}
    cancel_url: str
    expires_at: dt.datetime
    locale: str = "de"
    description: str = ""

    @property
    def amount_cents(self) -> int:
        return sum(item.unit_amount_cents * item.quantity for item in self.items)


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str | None  # only while open
    status: str  # SESSION_OPEN | SESSION_COMPLETE | SESSION_EXPIRED
    payment_status: str  # PAID | UNPAID | NO_PAYMENT_REQUIRED
    amount_total: int | None
    currency: str  # upper case
    payment_intent: str | None
    client_reference_id: str | None
    expires_at: dt.datetime | None
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundResult:
    id: str
    status: str  # "pending" | "succeeded" | "failed" | "requires_action" | "canceled"
    amount_cents: int


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    object: Mapping[str, Any]  # the event's data.object
    created: dt.datetime | None = None


class PaymentProvider(Protocol):
    name: str

    async def create_checkout(self, request: CheckoutRequest) -> CheckoutSession: ...

    async def retrieve_session(self, session_id: str) -> CheckoutSession: ...

    async def expire_session(self, session_id: str) -> CheckoutSession: ...

    async def refund(self, payment_intent: str, amount_cents: int, *, idempotency_key: str,
                     reason: str = "") -> RefundResult: ...

    def verify_webhook(self, raw_body: bytes, signature_header: str | None) -> WebhookEvent:
        """The event of a webhook delivery, after checking its signature over ``raw_body``;
        ``InvalidSignature`` or ``InvalidEvent`` (both 400) otherwise."""
        ...

    def session_from_event(self, event: WebhookEvent) -> CheckoutSession | None:
        """The checkout session an event is about (None for other objects)."""
        ...

    async def aclose(self) -> None: ...
