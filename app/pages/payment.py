"""Paying online from the citizen's pages.

``/t/{token}/payment`` is the stable pay link (e-mails and the appointment page point here): a
GET shows the fee and a "pay now" button and changes nothing; the button POSTs (CSRF-checked),
a checkout session is created for this attempt and the browser is sent to the provider with a
303. Provider URLs expire, so they are never shown or mailed.

The provider sends the citizen back to ``/pay/return/{attempt}`` or ``/pay/cancel/{attempt}``,
named by the attempt's random id: the link token never travels to the provider. The return
page re-reads the session from the provider and records a payment it reports (idempotent, like
the webhook; it only writes down what the provider says, so a repeated or scanned GET does no
harm). It does not know the citizen's link, so it points to the e-mail instead.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.api.links import open_link
from app.context import ctx
from app.middleware import CSP
from app.pages.citizen_http import limit, prefer_language
from app.pages.forms import read_form
from app.pages.staff_http import redirect
from app.payments import online_payment_offered, provider_for, start_online_payment
from app.settings import Settings
from app.templating import render, translator
from core.errors import Conflict, DomainError, Unauthorized
from postcall.payments.errors import NoCase
from postcall.payments.flows import check_return
from postcall.payments.provider import ProviderUnavailable
from postcall.payments.queries import PaymentState, attempt_by_public_id, payment_state

STRIPE_CHECKOUT = "https://checkout.stripe.com"


def _checkout_origins(settings: Settings) -> str:
    """Where the pay form may lead (browsers apply ``form-action`` to the redirect too)."""
    origins = [STRIPE_CHECKOUT]
    if settings.stripe_api_base:
        parts = urlsplit(settings.stripe_api_base)
        if parts.scheme in ("http", "https") and parts.netloc:
            origins.append(f"{parts.scheme}://{parts.netloc}")
    return " ".join(origins)


def _with_checkout_csp(request: Request, response: Response) -> Response:
    origins = _checkout_origins(ctx(request).settings)
    response.headers["Content-Security-Policy"] = CSP.replace(
        "form-action 'self'", f"form-action 'self' {origins}")
    return response


async def _state(request: Request) -> tuple[str, PaymentState | None] | None:
    """(base path, payment state) of the link's appointment; None for an invalid link."""
    token = request.path_params["token"]
    async with ctx(request).db.transaction() as session:
        try:
            link = await open_link(session, ctx(request), token)
        except Unauthorized:
            return None
        locale = link.appointment.locale if link.appointment else (
            link.request.case.locale if link.request else "de")
        prefer_language(request, locale)
        return f"/t/{token}", await payment_state(session, link.case)


def _page(request: Request, base: str, state: PaymentState | None, *, error: str = "",
          status: int = 200) -> Response:
    t = translator(request)
    context: dict[str, Any] = {
        "base": base,
        "payment": state,
        "amount": t.money(state.amount_cents, state.currency) if state else "",
        "offered": online_payment_offered(ctx(request).settings),
        "error": error,
        "switch_url": f"{base}/payment",
    }
    return _with_checkout_csp(request, render(request, "citizen/payment_start.html", context,
                                              status))


async def payment_page(request: Request) -> Response:
    await limit(request, "token")
    found = await _state(request)
    if found is None:
        return render(request, "citizen/link_invalid.html", {}, 404)
    return _page(request, *found)


async def pay(request: Request) -> Response:
    await read_form(request)
    await limit(request, "token")
    state = ctx(request)
    token = request.path_params["token"]
    async with state.db.transaction() as session:
        try:
            link = await open_link(session, state, token)
        except Unauthorized:
            return render(request, "citizen/link_invalid.html", {}, 404)
    try:
        if link.completed is None or link.completed.id is None:
            raise NoCase()
        url = await start_online_payment(state, link.completed.id)
    except (Conflict, ProviderUnavailable) as exc:
        return await _page_error(request, exc)
    return redirect(url)


async def _page_error(request: Request, exc: DomainError) -> Response:
    message = translator(request).gettext(exc.msgid, **exc.params)
    found = await _state(request)
    if found is None:
        return render(request, "citizen/link_invalid.html", {}, 404)
    return _page(request, *found, error=message, status=exc.status)


async def payment_return(request: Request) -> Response:
    await limit(request, "token")
    public_id = request.path_params["attempt"]
    provider = provider_for(ctx(request).settings)
    status: str | None
    if provider is None:
        async with ctx(request).db.transaction() as session:
            attempt = await attempt_by_public_id(session, public_id)
            status = attempt.status if attempt is not None else None
    else:
        async with provider:
            status = await check_return(ctx(request).db, provider, public_id)
    if status is None:
        return render(request, "citizen/payment_return.html", {"status": "unknown"}, 404)
    return render(request, "citizen/payment_return.html", {"status": status})


async def payment_cancel(request: Request) -> Response:
    """Back from the provider without paying: nothing changes (the session simply lapses)."""
    await limit(request, "token")
    async with ctx(request).db.transaction() as session:
        attempt = await attempt_by_public_id(session, request.path_params["attempt"])
    if attempt is None:
        return render(request, "citizen/payment_return.html", {"status": "unknown"}, 404)
    return render(request, "citizen/payment_cancel.html", {"status": attempt.status})


routes: list[BaseRoute] = [
    Route("/t/{token}/payment", payment_page, methods=["GET"]),
    Route("/t/{token}/payment", pay, methods=["POST"]),
    Route("/pay/return/{attempt}", payment_return, methods=["GET"]),
    Route("/pay/cancel/{attempt}", payment_cancel, methods=["GET"]),
]
