"""Online payment over the API: the citizen starts a checkout, Stripe reports outcomes by
webhook, and admins refund.

The webhook answers 400 (and changes nothing) unless ``Stripe-Signature`` verifies over the raw
body; a verified event is handled once per event id, so Stripe's redeliveries get 200 and no
effect. No rate limit there: the signature check comes first and costs one HMAC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.api.http import bearer_token, client_key, read_body, read_json
from app.api.links import open_link
from app.api.openapi import operation
from app.auth import require_api_user
from app.context import ctx
from app.payments import provider_for, start_online_payment
from postcall.payments.errors import NoCase, OnlinePaymentUnavailable
from postcall.payments.flows import refund
from postcall.payments.service import handle_event
from postcall.payments.stripe_provider import StripeProvider
from staff.service import staff_actor

WEBHOOK_MAX_BYTES = 1024 * 1024


class PaymentRedirectOut(BaseModel):
    redirect_url: str = Field(description="The provider's checkout page for this attempt. "
                              "Redirect at once: it expires. Never e-mail it.")


class WebhookOut(BaseModel):
    received: bool
    outcome: str = Field(description="What the event did: `paid`, `pending`, `failed`, "
                         "`expired`, `unchanged`, `duplicate` (seen before), `ignored` ...")


class RefundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount_cents: StrictInt | None = Field(
        default=None, gt=0, le=100_000_000,
        description="Integer cents; leave out to refund everything not yet refunded.",
    )
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                             max_length=300)]


class RefundRowOut(BaseModel):
    id: str
    amount_cents: int
    currency: str
    status: str = Field(description="`pending` (the provider is sending it), `succeeded`.")
    reason: str
    created_at: datetime


class RefundOut(BaseModel):
    case_number: str
    payment_status: str = Field(description="`refunded` after a full refund; a partial "
                                "refund leaves it `paid`.")
    amount_cents: int = Field(description="The case's fee.")
    currency: str
    paid_cents: int
    refunded_cents: int = Field(description="All refunds so far, this one included.")
    refund: RefundRowOut


@operation(
    "Pay my fee online", tag="citizen", auth="citizen",
    responses={200: PaymentRedirectOut, 401: None, 409: None, 429: None, 503: None},
)
async def pay_me(request: Request) -> Response:
    """Creates a checkout session (card, SEPA direct debit, PayPal) for the case's open fee and
    returns its address. 409 when there is nothing (left) to pay, a debit is still being
    processed, or online payment is not offered."""
    state = ctx(request)
    await state.limiter.hit("token", client_key(request))
    token = bearer_token(request)
    async with state.db.transaction() as session:
        link = await open_link(session, state, token)
    if link.completed is None or link.completed.id is None:
        raise NoCase()
    url = await start_online_payment(state, link.completed.id)
    return JSONResponse(PaymentRedirectOut(redirect_url=url).model_dump())


@operation(
    "Stripe webhook", tag="payments", auth="stripe",
    responses={200: WebhookOut, 400: None, 413: None},
)
async def stripe_webhook(request: Request) -> Response:
    """Checkout Session events: `checkout.session.completed`, `.async_payment_succeeded`,
    `.async_payment_failed`, `.expired`. Other events are acknowledged and ignored."""
    state = ctx(request)
    raw = await read_body(request, WEBHOOK_MAX_BYTES)
    settings = state.settings
    provider = StripeProvider(settings.stripe_secret_key or "",
                              webhook_secret=settings.stripe_webhook_secret)
    event = provider.verify_webhook(raw, request.headers.get("stripe-signature"))
    async with state.db.transaction(write=True) as session:
        outcome = await handle_event(session, provider, event)
    return JSONResponse(WebhookOut(received=True, outcome=outcome).model_dump())


@operation(
    "Refund a case paid online", tag="admin", auth="admin", request=RefundIn,
    responses={201: RefundOut, 400: None, 401: None, 403: None, 404: None, 409: None,
               422: None, 503: None},
)
async def refund_case(request: Request) -> Response:
    """Refunds the whole payment (or `amount_cents` of it) through the payment provider,
    audited. A full refund sets `payment_status` to `refunded`; a corrected fee notice follows
    by e-mail."""
    user = await require_api_user(request, role="admin")
    body = await read_json(request, RefundIn)
    state = ctx(request)
    provider = provider_for(state.settings)
    if provider is None:
        raise OnlinePaymentUnavailable()
    async with provider:
        case, row, totals = await refund(
            state.db, provider, request.path_params["case_number"],
            amount_cents=body.amount_cents, reason=body.reason, actor=staff_actor(user),
        )
    out = RefundOut(
        case_number=case.case_number, payment_status=case.payment_status,
        amount_cents=case.amount_cents, currency=case.currency, paid_cents=totals.paid_cents,
        refunded_cents=totals.refunded_cents,
        refund=RefundRowOut(id=row.public_id, amount_cents=row.amount_cents,
                            currency=row.currency, status=row.status, reason=row.reason,
                            created_at=row.created_at),
    )
    return JSONResponse(out.model_dump(mode="json"), status_code=201)


routes: list[BaseRoute] = [
    Route("/api/v1/me/payment", pay_me, methods=["POST"]),
    Route("/api/v1/webhooks/stripe", stripe_webhook, methods=["POST"]),
    Route("/api/v1/admin/cases/{case_number:path}/refund", refund_case, methods=["POST"]),
]
