"""The Stripe adapter's pure parts: what it sends for an attempt, how it reads Stripe's
objects and events, and that its signature check is the library's (300 s, either way)."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
import stripe

from postcall.payments.provider import CheckoutRequest, InvalidEvent, InvalidSignature, LineItem
from postcall.payments.stripe_provider import (
    StripeProvider,
    checkout_params,
    parse_event,
    session_from_object,
)

SECRET = "whsec_unit"


def request(**changes: object) -> CheckoutRequest:
    values: dict[str, object] = dict(
        case_number="2026-000042", attempt_ref="attempt-ref-000000000", currency="EUR",
        items=(LineItem("Reisepass", 7000, 1), LineItem("Gratis", 0, 1)),
        success_url="https://b.example/pay/return/a?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="https://b.example/pay/cancel/a",
        expires_at=dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC), locale="fr",
    )
    values.update(changes)
    return CheckoutRequest(**values)  # type: ignore[arg-type]


def test_checkout_params() -> None:
    params = checkout_params(request())
    assert params["line_items"] == [{"quantity": 1, "price_data": {
        "currency": "eur", "unit_amount": 7000, "product_data": {"name": "Reisepass"}}}]
    assert params["expires_at"] == 1795428000
    assert params["locale"] == "auto"  # neither of ours: Stripe picks the browser's
    assert params["payment_intent_data"] == {"metadata": params["metadata"]}
    assert request().amount_cents == 7000


def test_sessions_are_read_from_stripe_objects() -> None:
    session = session_from_object({
        "id": "cs_test_1", "object": "checkout.session", "status": "complete",
        "payment_status": "paid", "amount_total": 2345, "currency": "eur",
        "payment_intent": {"id": "pi_1", "object": "payment_intent"},
        "client_reference_id": "2026-1", "expires_at": 1795428000,
        "metadata": {"attempt": "a", "n": 5}, "url": None,
    })
    assert (session.payment_intent, session.currency, session.amount_total) == (
        "pi_1", "EUR", 2345)
    assert session.metadata == {"attempt": "a", "n": "5"}
    assert session.expires_at == dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
    odd = session_from_object({"id": "cs_2", "amount_total": True, "currency": 5})
    assert (odd.amount_total, odd.currency, odd.payment_intent) == (None, "", None)
    with pytest.raises(InvalidEvent):
        session_from_object({"object": "checkout.session"})


def test_events_are_parsed_strictly() -> None:
    event = parse_event(json.dumps({"id": "evt_1", "type": "t", "created": 1795428000,
                                    "data": {"object": {"id": "x"}}}).encode())
    assert (event.id, event.type, event.object) == ("evt_1", "t", {"id": "x"})
    for bad in (b"\xff", b"1", b'{"id": "evt_1", "type": "t", "data": []}',
                json.dumps({"id": "e" * 256, "type": "t", "data": {"object": {}}}).encode()):
        with pytest.raises(InvalidEvent):
            parse_event(bad)


def test_signatures_are_checked_with_the_library() -> None:
    provider = StripeProvider("sk_test_x", webhook_secret=SECRET)
    body = json.dumps({"id": "evt_1", "type": "t", "data": {"object": {}}}).encode()

    def header(timestamp: int, secret: str = SECRET) -> str:
        value: str = stripe.WebhookSignature.generate_signature_header(
            body.decode(), secret, timestamp=timestamp)
        return value

    now = int(time.time())
    assert provider.verify_webhook(body, header(now)).id == "evt_1"
    assert provider.verify_webhook(body, header(now - 290)).id == "evt_1"
    # Several signatures (during a secret rotation) are fine when one matches.
    rotated = header(now, "whsec_old") + "," + header(now).split(",")[1]
    assert provider.verify_webhook(body, rotated).id == "evt_1"
    for bad in (header(now - 310), header(now + 310), header(now, "whsec_other"), None, "",
                "t=,v1=", "v1=abc"):
        with pytest.raises(InvalidSignature):
            provider.verify_webhook(body, bad)
    with pytest.raises(InvalidSignature):
        StripeProvider("sk_test_x").verify_webhook(body, header(now))


async def test_the_provider_closes_its_connections() -> None:
    provider = StripeProvider("sk_test_x", api_base="http://127.0.0.1:9")
    async with provider:
        provider._stripe()
        assert provider._http is not None
    assert provider._http is None
