"""Single sign-on over HTTP: the authorization code flow with PKCE against the town's OpenID
Connect provider, through Authlib's Starlette client (its public API: ``create_authorization_url``,
``fetch_access_token``, ``parse_id_token``, ``userinfo``). Who the claims are here is
``staff/oidc.py``; the pages are ``app/pages/sso.py``.

The provider's address and keys come from its discovery document (``BUERO_OIDC_ISSUER`` +
``/.well-known/openid-configuration``), read on first use and kept by Authlib. What the
callback must compare, state, nonce and the PKCE verifier, stays in the browser in a cookie
signed with the secret key (``buero_sso``, ten minutes, only sent to ``/staff/sso``): no server
state, any instance can finish a sign-in. The callback refuses a state that is not the
cookie's; Authlib checks the ID token's signature, issuer, audience, expiry and nonce; the
provider checks the verifier against the challenge. Claims the ID token lacks (many providers
put groups and e-mail only into the userinfo answer) are taken from the userinfo endpoint,
for the same subject only.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
from typing import Any

import httpx2
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from joserfc.errors import JoseError
from starlette.requests import Request
from starlette.responses import Response

from app.api.http import client_key, cookie_secure
from app.context import AppContext, ctx
from core.audit import Actor, record
from core.errors import DomainError
from core.signing import sign, unsign
from core.tenancy import DEFAULT_MUNICIPALITY_ID, current_municipality
from core.types import utcnow
from staff import oidc
from staff.models import StaffUser
from staff.service import record_login_success, staff_actor
from staff.sessions import NewSession, open_session

COOKIE = "buero_sso"
COOKIE_PATH = "/staff/sso"
FLOW_SECONDS = 600
_PURPOSE = "sso-flow"


class SsoUnavailable(DomainError):
    status = 502
    code = "sso_unavailable"
    message = "The town's sign-in service cannot be reached. Please try again in a moment."


class SsoNotConfigured(DomainError):
    status = 404
    code = "not_found"
    message = "Single sign-on is not set up here."


class StateMismatch(oidc.SsoRefused):
    code = "sso_state"  # a stale or forged callback, or another tab's flow


class CodeRefused(oidc.SsoRefused):
    code = "sso_code_refused"  # the provider refused the code or the PKCE verifier


class BadIdToken(oidc.SsoRefused):
    code = "sso_id_token"  # signature, issuer, audience, expiry or nonce do not fit


def enabled(state: AppContext) -> bool:
    """Configured, and on the installation's first municipality: the provider and its group map
    are the installation's, so on another town's host it would make and sign in accounts of
    that town for anyone the provider knows; that town's staff sign in with their password."""
    return bool(state.settings.oidc_issuer) and current_municipality() in (
        None, DEFAULT_MUNICIPALITY_ID)


def _client(state: AppContext) -> StarletteOAuth2App:
    """The provider's client, made on first use and kept with the app's state."""
    client = state.extras.get("oidc_client")
    if client is None:
        settings = state.settings
        if not settings.oidc_issuer:
            raise SsoNotConfigured()
        registry = OAuth()
        client = registry.register(
            "town", client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret,
            server_metadata_url=settings.oidc_issuer.rstrip("/")
            + "/.well-known/openid-configuration",
            client_kwargs={"scope": settings.oidc_scopes, "code_challenge_method": "S256",
                           "timeout": 15.0},
        )
        state.extras["oidc_client"] = client
    assert isinstance(client, StarletteOAuth2App)
    return client


def _redirect_uri(state: AppContext) -> str:
    return f"{state.settings.base_url}/staff/sso/callback"


async def begin(request: Request, next_url: str) -> tuple[str, str]:
    """The provider's authorization URL to send the browser to, and the signed cookie value
    that the callback checks."""
    state = ctx(request)
    try:
        flow = await _client(state).create_authorization_url(_redirect_uri(state))
    except (httpx2.HTTPError, ValueError) as exc:  # no answer, or not a discovery document
        raise SsoUnavailable() from exc
    kept = {"state": flow["state"], "nonce": flow["nonce"], "verifier": flow["code_verifier"],
            "next": next_url}
    return str(flow["url"]), sign(state.secret_key, _PURPOSE, json.dumps(kept))


def set_flow_cookie(request: Request, response: Response, value: str) -> None:
    response.set_cookie(COOKIE, value, max_age=FLOW_SECONDS, path=COOKIE_PATH, httponly=True,
                        samesite="lax", secure=cookie_secure(request))


def clear_flow_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="lax",
                           secure=cookie_secure(request))


def _flow(request: Request) -> dict[str, str]:
    value = unsign(ctx(request).secret_key, _PURPOSE, request.cookies.get(COOKIE),
                   FLOW_SECONDS)
    kept = json.loads(value) if value else None
    return kept if isinstance(kept, dict) else {}


async def finish(request: Request) -> tuple[StaffUser, NewSession, str]:
    """The callback: check state, exchange the code (with the PKCE verifier), verify the ID
    token (with the nonce), find or make the staff account, open a web session. Returns the
    user, the session and where to go; raises an ``SsoRefused`` (audited) or
    ``SsoUnavailable``."""
    state = ctx(request)
    params = request.query_params
    flow = _flow(request)
    try:
        if not flow or not hmac.compare_digest(flow["state"], params.get("state", "")):
            raise StateMismatch()
        if "error" in params or "code" not in params:
            raise oidc.SsoRefused()  # the provider said no (e.g. access_denied)
        claims = await _verified_claims(state, params["code"], flow)
        provider = oidc.Provider(
            issuer=str(state.settings.oidc_issuer).rstrip("/"),
            groups_claim=state.settings.oidc_groups_claim,
            rules=oidc.parse_group_map(state.settings.oidc_group_map),
            link_by_email=state.settings.oidc_link_by_email)
        now = utcnow()
        async with state.db.transaction(write=True) as session:
            user = await oidc.sign_in(session, provider, claims, now)
            assert user.id is not None
            await record_login_success(session, user.id, now=now, new_hash=None)
            record(session, staff_actor(user), "staff.login", "staff_user", user.id,
                   {"kind": "web", "method": "sso"})
            new = await open_session(
                session, state.secret_key, user.id, kind="web", now=now,
                lifetime=dt.timedelta(hours=state.settings.staff_session_hours))
    except oidc.SsoRefused as exc:
        await _audit_refusal(request, exc)
        raise
    return user, new, flow["next"]


async def _verified_claims(state: AppContext, code: str, flow: dict[str, str]) -> dict[str, Any]:
    client = _client(state)
    try:
        metadata = await client.load_server_metadata()
        if str(metadata.get("issuer", "")).rstrip("/") != str(state.settings.oidc_issuer
                                                                ).rstrip("/"):
            raise oidc.SsoRefused()  # the discovery document is of another issuer
        try:
            token = await client.fetch_access_token(
                redirect_uri=_redirect_uri(state), code=code, code_verifier=flow["verifier"])
        except AuthlibBaseError as exc:
            raise CodeRefused() from exc
        try:
            id_claims = await client.parse_id_token(token, nonce=flow["nonce"])
        except (AuthlibBaseError, JoseError) as exc:
            raise BadIdToken() from exc
        if id_claims is None:
            raise BadIdToken()  # no ID token: not OpenID Connect
        claims: dict[str, Any] = dict(id_claims)
        if metadata.get("userinfo_endpoint"):
            extra = dict(await client.userinfo(token=token))
            if extra.get("sub") == claims.get("sub"):
                claims = {**extra, **claims}
    except httpx2.HTTPError as exc:
        raise SsoUnavailable() from exc
    return claims


async def _audit_refusal(request: Request, exc: oidc.SsoRefused) -> None:
    """A refused single sign-on, as failed sign-ins are (``staff.login_failed``)."""
    async with ctx(request).db.transaction(write=True) as session:
        record(session, Actor("anonymous", None, "single sign-on"), "staff.login_failed",
               "staff_user", "", {"client": client_key(request), "reason": exc.code})
