"""Single sign-on pages: ``/staff/sso/start`` sends the browser to the town's provider,
``/staff/sso/callback`` comes back from it (``app/api/sso.py``); a refusal is a page that says
why, in the user's language."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.api.sso import (
    SsoUnavailable,
    begin,
    clear_flow_cookie,
    enabled,
    finish,
    set_flow_cookie,
)
from app.auth import page_logout, set_session_cookie
from app.context import ctx
from app.pages.staff_http import error_message, redirect
from app.templating import render, translator
from core.errors import DomainError, NotFound
from staff.oidc import SsoRefused
from tenants.links import safe_next


def _refused(request: Request, exc: DomainError) -> Response:
    response = render(request, "staff/sso_refused.html", {
        "message": error_message(translator(request), exc), "code": exc.code,
    }, exc.status)
    clear_flow_cookie(request, response)
    return response


async def start(request: Request) -> Response:
    if not enabled(ctx(request)):
        raise NotFound()
    try:
        url, flow = await begin(request, safe_next(request.query_params.get("next")))
    except SsoUnavailable as exc:
        return _refused(request, exc)
    response = redirect(url)
    set_flow_cookie(request, response, flow)
    return response


async def callback(request: Request) -> Response:
    if not enabled(ctx(request)):
        raise NotFound()
    try:
        _user, new, next_url = await finish(request)
    except (SsoRefused, SsoUnavailable) as exc:
        return _refused(request, exc)
    await page_logout(request)  # a login replaces any earlier session of this browser
    response = redirect(safe_next(next_url))
    clear_flow_cookie(request, response)
    set_session_cookie(request, response, new)
    return response


routes: list[BaseRoute] = [
    Route("/staff/sso/start", start, methods=["GET"]),
    Route("/staff/sso/callback", callback, methods=["GET"]),
]
