"""A fake Stripe API on loopback: the few endpoints we use, answering with objects shaped like
Stripe's documented ones and refusing requests the real API would refuse.

Served by a real uvicorn (``tests.conftest.live_server``); the app under test reaches it through
``BUERO_STRIPE_API_BASE`` with the official ``stripe`` library. The test drives the "customer"
side directly (``complete``, ``succeed``, ``fail``, ``expire``) and builds webhook deliveries
signed with the library's own ``stripe.WebhookSignature.generate_signature_header``.

Endpoints: ``POST /v1/checkout/sessions``, ``GET /v1/checkout/sessions/{id}``,
``POST /v1/checkout/sessions/{id}/expire``, ``POST /v1/refunds``, and ``GET /c/pay/{id}`` (the
hosted payment page, a stub). Errors have Stripe's shape ``{"error": {"type", "message", ...}}``.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

SECRET_KEY = "sk_test_fake_0123456789abcdef"
WEBHOOK_SECRET = "whsec_test_fake_0123456789abcdef"
API_VERSION = "2025-09-30.clover"
METHODS = {"card", "sepa_debit", "paypal", "giropay", "sofort", "klarna", "link"}
LOCALES = {"auto", "de", "en", "fr", "it", "nl", "es", "pl"}
KEY_PART = re.compile(r"\[([^\]]*)\]")


class StripeFail(Exception):
    def __init__(self, status: int, type_: str, message: str, *, code: str | None = None,
                 param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.type, self.message, self.code, self.param = (
            status, type_, message, code, param)

    def response(self) -> JSONResponse:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
        if self.param:
            error["param"] = self.param
        return JSONResponse({"error": error}, status_code=self.status,
                            headers={"Stripe-Should-Retry": "false"})


def invalid(message: str, param: str | None = None, code: str | None = None) -> StripeFail:
    return StripeFail(400, "invalid_request_error", message, param=param, code=code)


def decode_form(body: bytes) -> dict[str, Any]:
    """Stripe's form encoding (``a[b][0][c]=v``) back into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body.decode(), keep_blank_values=True):
        head = key.split("[", 1)[0]
        parts = [head, *KEY_PART.findall(key[len(head):])]
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    decoded: dict[str, Any] = _lists(root)
    return decoded


def _lists(node: Any) -> Any:
    if isinstance(node, dict):
        converted = {k: _lists(v) for k, v in node.items()}
        if converted and all(k.isdigit() for k in converted):
            return [converted[k] for k in sorted(converted, key=int)]
        return converted
    return node


def _int(value: Any, param: str) -> int:
    if not isinstance(value, str) or not re.fullmatch(r"-?\d+", value):
        raise invalid(f"Invalid integer: {value!r}", param)
    return int(value)


def _url(value: Any, param: str) -> str:
    if not isinstance(value, str) or urlsplit(value).scheme not in ("http", "https") \
            or not urlsplit(value).netloc:
        raise invalid("Not a valid URL", param, "url_invalid")
    return value


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, Any]
    headers: dict[str, str]


@dataclass
class FakeStripe:
    secret_key: str = SECRET_KEY
    webhook_secret: str = WEBHOOK_SECRET
    base_url: str = ""
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    idempotent: dict[str, tuple[dict[str, Any], int, Any]] = field(default_factory=dict)
    failures: list[StripeFail] = field(default_factory=list)  # answered before the next call
    retryable_failures: int = 0  # 500s that ask the client to retry

    # --- HTTP --------------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/v1/checkout/sessions", self._create_session, methods=["POST"]),
            Route("/v1/checkout/sessions/{id}", self._get_session, methods=["GET"]),
            Route("/v1/checkout/sessions/{id}/expire", self._expire_session, methods=["POST"]),
            Route("/v1/refunds", self._create_refund, methods=["POST"]),
            Route("/c/pay/{id}", self._hosted_page, methods=["GET"]),
        ])

    @asynccontextmanager
    async def running(self) -> AsyncIterator[FakeStripe]:
        from tests.conftest import live_server

        async with live_server(self.app()) as base:
            self.base_url = base
            yield self

    async def _call(self, request: Request, handler: Any) -> Response:
        params: dict[str, Any] = {}
        try:
            auth = request.headers.get("authorization", "")
            if auth != f"Bearer {self.secret_key}":
                raise StripeFail(401, "invalid_request_error",
                                 "Invalid API Key provided: sk_test_****")
            if not request.headers.get("stripe-version"):
                raise invalid("Stripe-Version header missing")
            if request.method == "POST":
                ctype = request.headers.get("content-type", "").split(";")[0]
                if ctype != "application/x-www-form-urlencoded":
                    raise invalid("Unsupported content type")
                params = decode_form(await request.body())
            else:
                params = dict(request.query_params)
            self.requests.append(Recorded(request.method, request.url.path, params,
                                          dict(request.headers)))
            if self.retryable_failures:
                self.retryable_failures -= 1
                return JSONResponse(
                    {"error": {"type": "api_error", "message": "Something went wrong."}},
                    status_code=500, headers={"Stripe-Should-Retry": "true"})
            if self.failures:
                raise self.failures.pop(0)
            key = request.headers.get("idempotency-key")
            if request.method == "POST":
                if not key:
                    raise invalid("An idempotency key is expected on every POST here")
                scoped = f"{request.url.path}:{key}"
                if scoped in self.idempotent:
                    earlier, status, body = self.idempotent[scoped]
                    if earlier != params:
                        raise StripeFail(400, "idempotency_error",
                                         "Keys for idempotent requests can only be used with "
                                         "the same parameters they were first used with.")
                    return JSONResponse(body, status_code=status,
                                        headers={"Idempotent-Replayed": "true"})
            body = handler(request, params)
            if request.method == "POST" and key:
                self.idempotent[f"{request.url.path}:{key}"] = (params, 200, body)
            return JSONResponse(body)
        except StripeFail as fail:
            return fail.response()

    async def _create_session(self, request: Request) -> Response:
        return await self._call(request, self._session_from_params)

    async def _get_session(self, request: Request) -> Response:
        return await self._call(request, lambda r, _p: copy.deepcopy(
            self._session(r.path_params["id"])))

    async def _expire_session(self, request: Request) -> Response:
        def expire(r: Request, _p: dict[str, Any]) -> dict[str, Any]:
            session = self._session(r.path_params["id"])
            if session["status"] != "open":
                raise invalid('Only Checkout Sessions with a status in ["open"] can be '
                              f"expired. This Checkout Session has a status of "
                              f"\"{session['status']}\".")
            self.expire(session["id"])
            return copy.deepcopy(session)

        return await self._call(request, expire)

    async def _create_refund(self, request: Request) -> Response:
        return await self._call(request, self._refund_from_params)

    async def _hosted_page(self, request: Request) -> Response:
        session = self.sessions.get(request.path_params["id"])
        if session is None or session["status"] != "open":
            return HTMLResponse("<h1>This page has expired</h1>", status_code=404)
        total = session["amount_total"]
        return HTMLResponse(f"<h1>Pay {total // 100},{total % 100:02d} EUR</h1>")

    # --- the objects -------------------------------------------------------------------------

    def _session(self, session_id: str) -> dict[str, Any]:
        if session_id not in self.sessions:
            raise StripeFail(404, "invalid_request_error",
                             f"No such checkout.session: '{session_id}'",
                             code="resource_missing", param="session")
        return self.sessions[session_id]

    def _session_from_params(self, _request: Request, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("mode") != "payment":
            raise invalid("This fake expects mode=payment", "mode")
        success_url = _url(p.get("success_url"), "success_url")
        cancel_url = _url(p.get("cancel_url"), "cancel_url")
        items = p.get("line_items")
        if not isinstance(items, list) or not items:
            raise invalid("line_items is required in payment mode", "line_items")
        total, currency = 0, None
        for i, item in enumerate(items):
            quantity = _int(item.get("quantity"), f"line_items[{i}][quantity]")
            price = item.get("price_data") or {}
            unit = _int(price.get("unit_amount"), f"line_items[{i}][price_data][unit_amount]")
            name = (price.get("product_data") or {}).get("name")
            if quantity < 1 or unit < 0 or not name:
                raise invalid("Invalid line item", f"line_items[{i}]")
            if currency not in (None, price.get("currency")):
                raise invalid("All line items must have the same currency", "line_items")
            currency = price.get("currency")
            total += unit * quantity
        if currency != "eur":
            raise invalid("This fake account only charges eur", "line_items")
        if total < 50:
            raise invalid("The Checkout Session's total amount due must add up to at least "
                          "€0.50 eur", "line_items", "amount_too_small")
        methods = p.get("payment_method_types") or ["card"]
        if not isinstance(methods, list) or not set(methods) <= METHODS:
            raise invalid("Invalid payment_method_types", "payment_method_types")
        metadata = p.get("metadata") or {}
        if any(len(k) > 40 or len(v) > 500 for k, v in metadata.items()):
            raise invalid("Invalid metadata", "metadata")
        now = int(time.time())
        expires_at = _int(p["expires_at"], "expires_at") if "expires_at" in p else now + 86400
        if not now + 1800 - 120 <= expires_at <= now + 86400 + 120:
            raise invalid("The `expires_at` timestamp must be between 30 minutes and 24 hours "
                          "from Checkout Session creation.", "expires_at")
        locale = p.get("locale", "auto")
        if locale not in LOCALES:
            raise invalid("Invalid locale", "locale")
        session_id = "cs_test_" + secrets.token_hex(24)
        session = {
            "id": session_id, "object": "checkout.session", "mode": "payment",
            "amount_subtotal": total, "amount_total": total, "currency": "eur",
            "client_reference_id": p.get("client_reference_id"), "created": now,
            "customer": None, "customer_details": None, "customer_email": None,
            "expires_at": expires_at, "livemode": False, "locale": locale,
            "metadata": metadata, "payment_intent": None, "payment_method_types": methods,
            "payment_status": "unpaid", "status": "open", "success_url": success_url,
            "cancel_url": cancel_url, "url": f"{self.base_url}/c/pay/{session_id}",
            "submit_type": None, "total_details": {"amount_discount": 0, "amount_tax": 0},
        }
        self.sessions[session_id] = session
        return copy.deepcopy(session)

    def _refund_from_params(self, _request: Request, p: dict[str, Any]) -> dict[str, Any]:
        intent_id = p.get("payment_intent")
        intent = self.intents.get(intent_id or "")
        if intent is None:
            raise invalid(f"No such payment_intent: '{intent_id}'", "payment_intent",
                          "resource_missing")
        if intent["status"] != "succeeded":
            raise invalid("This PaymentIntent has not been paid", "payment_intent")
        left = intent["amount_received"] - intent["amount_refunded"]
        amount = _int(p["amount"], "amount") if "amount" in p else left
        if left <= 0:
            raise invalid(f"Charge for payment_intent {intent_id} has already been refunded.",
                          code="charge_already_refunded")
        if not 0 < amount <= left:
            raise invalid(f"Refund amount ({amount}) is greater than unrefunded amount on "
                          f"charge ({left})", "amount", "amount_too_large")
        intent["amount_refunded"] += amount
        refund_id = "re_" + secrets.token_hex(12)
        refund = {
            "id": refund_id, "object": "refund", "amount": amount, "currency": "eur",
            "created": int(time.time()), "metadata": p.get("metadata") or {},
            "payment_intent": intent_id, "reason": None, "status": "succeeded",
        }
        self.refunds[refund_id] = refund
        return copy.deepcopy(refund)

    # --- the customer's side, driven by the test ---------------------------------------------

    def complete(self, session_id: str, *, method: str = "card") -> dict[str, Any]:
        """The customer pays on the hosted page. Cards and PayPal are paid at once; a SEPA
        debit completes the session ``unpaid`` and is settled later (``succeed``/``fail``)."""
        session = self.sessions[session_id]
        assert session["status"] == "open", session["status"]
        intent_id = "pi_" + secrets.token_hex(12)
        delayed = method == "sepa_debit"
        self.intents[intent_id] = {
            "id": intent_id, "object": "payment_intent", "amount": session["amount_total"],
            "amount_received": 0 if delayed else session["amount_total"],
            "amount_refunded": 0, "currency": "eur",
            "status": "processing" if delayed else "succeeded",
            "payment_method_types": [method],
        }
        session.update(status="complete", payment_intent=intent_id, url=None,
                       payment_status="unpaid" if delayed else "paid",
                       customer_details={"email": "erika@example.org", "name": None})
        return copy.deepcopy(session)

    def succeed(self, session_id: str) -> dict[str, Any]:
        session = self.sessions[session_id]
        intent = self.intents[session["payment_intent"]]
        intent.update(status="succeeded", amount_received=intent["amount"])
        session["payment_status"] = "paid"
        return copy.deepcopy(session)

    def fail(self, session_id: str) -> dict[str, Any]:
        session = self.sessions[session_id]
        self.intents[session["payment_intent"]]["status"] = "requires_payment_method"
        return copy.deepcopy(session)

    def expire(self, session_id: str) -> dict[str, Any]:
        session = self.sessions[session_id]
        session.update(status="expired", url=None)
        return copy.deepcopy(session)

    def success_url(self, session_id: str) -> str:
        """Where Stripe sends the customer after paying (the template filled in)."""
        return str(self.sessions[session_id]["success_url"]).replace(
            "{CHECKOUT_SESSION_ID}", session_id)

    # --- webhooks ----------------------------------------------------------------------------

    def event(self, event_type: str, session_id: str, *, event_id: str | None = None,
              session: dict[str, Any] | None = None) -> bytes:
        """A webhook body for ``event_type`` about the session (as it is now, or as given)."""
        payload = {
            "id": event_id or "evt_" + secrets.token_hex(12),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "data": {"object": copy.deepcopy(session or self.sessions[session_id])},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        return json.dumps(payload, indent=2).encode()

    def sign(self, payload: bytes, *, secret: str | None = None,
             timestamp: int | None = None) -> str:
        header: str = stripe.WebhookSignature.generate_signature_header(
            payload.decode(), secret or self.webhook_secret, timestamp=timestamp)
        return header

    def created_sessions(self) -> list[Recorded]:
        return [r for r in self.requests
                if r.method == "POST" and r.path == "/v1/checkout/sessions"]
