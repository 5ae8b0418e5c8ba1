"""Stripe as payment provider: Checkout Sessions, refunds and signed webhook events, through the
official ``stripe`` library (``StripeClient`` with its async httpx transport).

``api_base`` replaces Stripe's address (tests run a fake Stripe on loopback). Every POST carries
an idempotency key derived from our own row, so a retried request never creates a second
session or refund. Nothing from the citizen but the case number reaches Stripe.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NoReturn

import httpx
import stripe

from postcall.payments.provider import (
    CheckoutRequest,
    CheckoutSession,
    InvalidEvent,
    InvalidSignature,
    ProviderRefused,
    ProviderUnavailable,
    RefundResult,
    WebhookEvent,
)

log = logging.getLogger("buergerbuero.payments.stripe")

PAYMENT_METHOD_TYPES = ("card", "sepa_debit", "paypal")
TOLERANCE_SECONDS = 300  # Stripe's own default; also applied to timestamps in the future
TIMEOUT_SECONDS = 20.0
NETWORK_RETRIES = 2
CHECKOUT_LOCALES = ("de", "en")


def _when(value: Any) -> dt.datetime | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    return None


def _plain(obj: Any) -> dict[str, Any]:
    """A library object as plain data (its objects are not dicts)."""
    data = obj.to_dict() if hasattr(obj, "to_dict") else obj
    if not isinstance(data, dict):
        raise ProviderUnavailable()
    return data


def _id_of(value: Any) -> str | None:
    """An id, whether Stripe sent the bare id or the expanded object."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def session_from_object(obj: Mapping[str, Any]) -> CheckoutSession:
    """A ``checkout.session`` object (from the API or an event) in the provider's terms."""
    session_id = obj.get("id")
    if not isinstance(session_id, str) or not 0 < len(session_id) <= 255:
        raise InvalidEvent()
    metadata = obj.get("metadata")
    amount = obj.get("amount_total")
    currency = obj.get("currency")
    return CheckoutSession(
        id=session_id,
        url=obj.get("url") if isinstance(obj.get("url"), str) else None,
        status=str(obj.get("status") or ""),
        payment_status=str(obj.get("payment_status") or ""),
        amount_total=amount if isinstance(amount, int) and not isinstance(amount, bool) else None,
        currency=currency.upper() if isinstance(currency, str) else "",
        payment_intent=_id_of(obj.get("payment_intent")),
        client_reference_id=(obj.get("client_reference_id")
                             if isinstance(obj.get("client_reference_id"), str) else None),
        expires_at=_when(obj.get("expires_at")),
        metadata={str(k): str(v) for k, v in metadata.items()}
        if isinstance(metadata, Mapping) else {},
    )


def checkout_params(request: CheckoutRequest) -> dict[str, Any]:
    """The Checkout Session parameters of one attempt (mode payment, EUR cents)."""
    currency = request.currency.lower()
    line_items = [
        {
            "quantity": item.quantity,
            "price_data": {
                "currency": currency,
                "unit_amount": item.unit_amount_cents,
                "product_data": {"name": item.name[:250]},
            },
        }
        # Stripe wants something to charge on every line; free items stay on our notice.
        for item in request.items if item.unit_amount_cents > 0
    ]
    metadata = {"case_number": request.case_number, "attempt": request.attempt_ref}
    params: dict[str, Any] = {
        "mode": "payment",
        "client_reference_id": request.case_number,
        "line_items": line_items,
        "payment_method_types": list(PAYMENT_METHOD_TYPES),
        "success_url": request.success_url,
        "cancel_url": request.cancel_url,
        "expires_at": int(request.expires_at.timestamp()),
        "locale": request.locale if request.locale in CHECKOUT_LOCALES else "auto",
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
    }
    if request.description:
        params["payment_intent_data"]["description"] = request.description[:1000]
    return params


@functools.cache
def _tls() -> ssl.SSLContext:
    """httpx's default TLS context (certifi's CA bundle), built once per process: reading the
    bundle takes most of a tenth of a second, and a provider with its client is made per
    request."""
    return httpx.create_ssl_context()


class AsyncHttpxClient(stripe.HTTPClient):
    """The library's transport on an ``httpx.AsyncClient`` (the extension point the library
    documents for custom clients). Its bundled httpx client posts the form body as ``data=``,
    which current httpx deprecates; this one sends it as ``content=``."""

    name = "httpx"

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._client = httpx.AsyncClient(timeout=timeout, verify=_tls())

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        try:
            response = await self._client.request(method, url, headers=dict(headers),
                                                   content=post_data)
        except httpx.HTTPError as exc:
            # Retried by the library (with the same idempotency key) before it gives up.
            raise stripe.APIConnectionError(  # type: ignore[no-untyped-call]
                f"Network error talking to Stripe: {type(exc).__name__}", should_retry=True
            ) from exc
        return response.content, response.status_code, response.headers

    def request(self, *_args: Any, **_kwargs: Any) -> NoReturn:
        raise RuntimeError("only asynchronous requests are made")

    def sleep_async(self, secs: float) -> Awaitable[None]:
        return asyncio.sleep(secs)

    async def close_async(self) -> None:
        await self._client.aclose()

    def close(self) -> None:  # the synchronous client the library may close: there is none
        return None


class StripeProvider:
    name = "stripe"

    def __init__(self, secret_key: str, *, webhook_secret: str | None = None,
                 api_base: str | None = None, timeout: float = TIMEOUT_SECONDS) -> None:
        self._secret_key = secret_key
        self._webhook_secret = webhook_secret
        self._api_base = api_base.rstrip("/") if api_base else None
        self._timeout = timeout
        self._http: Any = None
        self._client: Any = None

    # --- the API client, built on first use and closed by ``aclose`` -------------------------

    def _stripe(self) -> Any:
        if self._client is None:
            self._http = AsyncHttpxClient(self._timeout)
            base: dict[str, str] = {"api": self._api_base} if self._api_base else {}
            self._client = stripe.StripeClient(
                self._secret_key, base_addresses=base,  # type: ignore[arg-type]
                http_client=self._http, max_network_retries=NETWORK_RETRIES,
            )
        return self._client

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close_async()
            self._http = self._client = None

    async def __aenter__(self) -> StripeProvider:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    @staticmethod
    def _fail(exc: Exception, action: str) -> NoReturn:
        # The message may quote parameters; the type and Stripe's error code are enough here.
        code = getattr(exc, "code", None) or ""
        log.warning("stripe %s failed: %s %s", action, type(exc).__name__, code)
        if isinstance(exc, stripe.InvalidRequestError | stripe.CardError
                      | stripe.IdempotencyError | stripe.PermissionError):
            raise ProviderRefused() from exc
        raise ProviderUnavailable() from exc

    async def _call(self, action: str, request: Callable[[Any], Awaitable[Any]]) -> dict[str, Any]:
        """``request`` made with the client's ``v1`` services, its answer as plain data."""
        try:
            obj = await request(self._stripe().v1)
        except stripe.StripeError as exc:
            self._fail(exc, action)
        return _plain(obj)

    # --- checkout sessions and refunds -------------------------------------------------------

    async def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        options = {"idempotency_key": f"checkout-{request.attempt_ref}"}
        return session_from_object(await self._call("checkout", lambda v1: (
            v1.checkout.sessions.create_async(params=checkout_params(request), options=options)
        )))

    async def retrieve_session(self, session_id: str) -> CheckoutSession:
        return session_from_object(await self._call(
            "session retrieval", lambda v1: v1.checkout.sessions.retrieve_async(session_id)
        ))

    async def expire_session(self, session_id: str) -> CheckoutSession:
        return session_from_object(await self._call(
            "session expiry", lambda v1: v1.checkout.sessions.expire_async(session_id)
        ))

    async def refund(self, payment_intent: str, amount_cents: int, *, idempotency_key: str,
                     reason: str = "") -> RefundResult:
        params: dict[str, Any] = {"payment_intent": payment_intent, "amount": amount_cents}
        if reason:
            params["metadata"] = {"reason": reason[:500]}
        data = await self._call("refund", lambda v1: v1.refunds.create_async(
            params=params, options={"idempotency_key": f"refund-{idempotency_key}"},
        ))
        refund_id, amount = data.get("id"), data.get("amount")
        if not isinstance(refund_id, str) or not isinstance(amount, int):
            raise ProviderUnavailable()
        return RefundResult(id=refund_id, status=str(data.get("status") or "pending"),
                            amount_cents=amount)

    # --- webhooks ----------------------------------------------------------------------------

    def verify_webhook(self, raw_body: bytes, signature_header: str | None) -> WebhookEvent:
        """Check ``Stripe-Signature`` (``t=…,v1=HMAC-SHA256(secret, f"{t}.{raw}")``) with the
        library, within 300 s either way, then read the event."""
        if not self._webhook_secret:
            log.warning("stripe webhook refused: BUERO_STRIPE_WEBHOOK_SECRET is not set")
            raise InvalidSignature()
        try:
            stripe.WebhookSignature.verify_header(
                raw_body, signature_header, self._webhook_secret, TOLERANCE_SECONDS
            )
            timestamp = _signed_at(signature_header or "")
        except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as exc:
            raise InvalidSignature() from exc
        if timestamp > time.time() + TOLERANCE_SECONDS:
            raise InvalidSignature()
        return parse_event(raw_body)

    def session_from_event(self, event: WebhookEvent) -> CheckoutSession | None:
        if event.object.get("object") != "checkout.session":
            return None
        return session_from_object(event.object)


def _signed_at(header: str) -> int:
    """The ``t=`` of a signature header (the library checks only that it is not too old)."""
    for part in header.split(","):
        key, _, value = part.partition("=")
        if key.strip() == "t":
            return int(value)
    raise ValueError("no timestamp")


def parse_event(raw_body: bytes) -> WebhookEvent:
    try:
        data = json.loads(raw_body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidEvent() from exc
    if not isinstance(data, dict):
        raise InvalidEvent()
    event_id, event_type = data.get("id"), data.get("type")
    inner = data.get("data")
    obj = inner.get("object") if isinstance(inner, dict) else None
    if (not isinstance(event_id, str) or not event_id or len(event_id) > 255
            or not isinstance(event_type, str) or not event_type or len(event_type) > 100
            or not isinstance(obj, dict)):
        raise InvalidEvent()
    return WebhookEvent(id=event_id, type=event_type, object=obj,
                        created=_when(data.get("created")))
