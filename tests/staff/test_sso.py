"""Single sign-on against a real OpenID Provider (panva's oidc-provider, started per test):
accounts made and linked by subject, groups mapped to role and offices on every sign-in, an
unmapped person refused, forged state, nonce and PKCE verifier refused, password login off."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from sqlalchemy import select
from starlette.applications import Starlette

from app import csrf
from app.main import create_app
from app.settings import Settings
from core.signing import sign, unsign
from staff.models import StaffIdentity, StaffUser
from tests.conftest import running
from tests.staff.helpers import (
    CLERK_EMAIL,
    PASSWORD,
    add_office,
    add_user,
    audit_events,
    context,
    error_code,
)
from tests.staff.oidc_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    RunningProvider,
    openid_provider,
    provider_dir,
    sign_in_at_provider,
)

__all__ = ["provider_dir"]  # the fixture, used by name

CALLBACK = "http://testserver/staff/sso/callback"
GROUP_MAP = {"buero-admins": "admin", "buero-mitte": {"role": "clerk", "offices": [1]},
             "buero-nord": {"offices": [2]}}
ANNA = {"email": "anna.amt@stadt.example", "email_verified": True, "name": "Anna Amt",
        "groups": ["buero-mitte", "intranet"]}
ACCOUNTS = {"anna": ANNA, "otto": {"email": "otto@stadt.example", "email_verified": True,
                                   "groups": ["kantine"]}}


def sso_settings(factory: Callable[..., Settings], issuer: str, **overrides: Any) -> Settings:
    return factory(oidc_issuer=issuer, oidc_client_id=CLIENT_ID, oidc_client_secret=CLIENT_SECRET,
                   oidc_scopes="openid email profile groups",
                   oidc_group_map=json.dumps(GROUP_MAP), **overrides)


@contextlib.asynccontextmanager
async def sso_app(settings_factory: Callable[..., Settings], provider_dir: Path, tmp_path: Path,
                  **overrides: Any) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient,
                                                           RunningProvider]]:
    async with openid_provider(provider_dir, tmp_path, [CALLBACK], ACCOUNTS) as provider:
        application = create_app(sso_settings(settings_factory, provider.issuer, **overrides))
        async with running(application):
            if not (await httpx_offices(application)):
                for name in ("Bürgerbüro Mitte", "Bürgerbüro Nord"):  # ids 1 and 2
                    await add_office(application, name)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application),
                                         base_url="http://testserver") as client:
                yield application, client, provider


async def httpx_offices(app: Starlette) -> list[Any]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as client:
        offices: list[Any] = (await client.get("/api/v1/offices")).json()
        return offices


async def sso_login(client: httpx.AsyncClient, login: str, next_url: str = "/staff"
                    ) -> httpx.Response:
    """The whole flow: our start, the provider's form, our callback."""
    start = await client.get("/staff/sso/start", params={"next": next_url})
    assert start.status_code == 303, start.text
    back = await sign_in_at_provider(start.headers["location"], login, CALLBACK)
    return await client.get(back)


async def staff_user(app: Starlette, email: str) -> StaffUser:
    async with context(app).db.transaction() as session:
        user = (await session.execute(select(StaffUser).where(StaffUser.email == email))
                ).scalars().one()  # type: ignore[arg-type]
        session.expunge(user)
        return user


async def test_first_sign_in_creates_the_account_and_groups_decide_role_and_offices(
    settings_factory: Callable[..., Settings], provider_dir: Path, tmp_path: Path,
) -> None:
    async with sso_app(settings_factory, provider_dir, tmp_path) as (app, client, provider):
        page = await client.get("/staff/login")
        assert 'id="sso-login"' in page.text and 'name="password"' in page.text

        r = await sso_login(client, "anna", "/staff?date=2030-01-01")
        assert r.status_code == 303 and r.headers["location"] == "/staff?date=2030-01-01"
        me = await client.get("/staff")
        assert me.status_code == 200 and "Anna Amt" in me.text and 'href="/admin"' not in me.text
        user = await staff_user(app, "anna.amt@stadt.example")
        assert user.role == "clerk" and user.password_hash == ""
        office_ids = (await client.get("/api/v1/offices")).json()
        assert [o["id"] for o in office_ids][:1] == [1]
        async with context(app).db.transaction() as session:
            identity = (await session.execute(select(StaffIdentity))).scalars().one()
        assert (identity.issuer, identity.subject, identity.user_id) == (
            provider.issuer, "anna", user.id)
        events = [e.action for e in await audit_events(app)]
        assert "staff.sso_account_created" in events and "staff.sso_sync" in events
        logins = await audit_events(app, "staff.login")
        assert '"method": "sso"' in logins[-1].detail

        # The provider moves Anna into the admins and the north office: the next sign-in
        # follows, with the same account (by subject, though the address changed too).
        provider.set_accounts({**ACCOUNTS, "anna": {
            **ANNA, "email": "anna.neu@stadt.example", "groups": ["buero-admins", "buero-nord"]}})
        await client.post("/staff/logout", data={"csrf_token": _csrf(me.text)})
        assert (await client.get("/staff")).status_code == 303
        again = await sso_login(client, "anna")
        assert again.status_code == 303
        assert 'href="/admin"' in (await client.get("/staff")).text
        updated = await staff_user(app, "anna.amt@stadt.example")
        assert updated.id == user.id and updated.role == "admin"
        sync = (await audit_events(app, "staff.sso_sync"))[-1]
        assert '"office_ids": [2]' in sync.detail and '"role": "admin"' in sync.detail
        # A person without a password cannot sign in with one.
        token = await client.post("/api/v1/auth/token", json={
            "email": "anna.amt@stadt.example", "password": "not a password of hers"})
        assert token.status_code == 401


def _csrf(html: str) -> str:
    return html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


async def test_a_person_in_no_mapped_group_is_refused(
    settings_factory: Callable[..., Settings], provider_dir: Path, tmp_path: Path,
) -> None:
    async with sso_app(settings_factory, provider_dir, tmp_path) as (app, client, _provider):
        r = await sso_login(client, "otto")
        assert r.status_code == 403
        assert "Anmeldung nicht möglich" in r.text and "keiner Gruppe" in r.text
        assert "sso_no_role" in r.text
        assert (await client.get("/staff")).status_code == 303
        async with context(app).db.transaction() as session:
            assert (await session.execute(select(StaffUser))).scalars().all() == []
        refused = await audit_events(app, "staff.login_failed")
        assert len(refused) == 1 and '"reason": "sso_no_role"' in refused[0].detail


async def test_forged_state_nonce_and_verifier_are_refused(
    settings_factory: Callable[..., Settings], provider_dir: Path, tmp_path: Path,
) -> None:
    async with sso_app(settings_factory, provider_dir, tmp_path) as (app, client, _provider):
        key = context(app).secret_key

        async def callback_with(change: dict[str, str] | None = None,
                                state: str | None = None) -> httpx.Response:
            start = await client.get("/staff/sso/start")
            back = await sign_in_at_provider(start.headers["location"], "anna", CALLBACK)
            if change:
                flow = next(c for c in client.cookies.jar if c.name == "buero_sso")
                kept = json.loads(unsign(key, "sso-flow", flow.value, 600) or "{}")
                client.cookies.set("buero_sso", sign(key, "sso-flow",
                                                     json.dumps({**kept, **change})),
                                   domain=flow.domain, path=flow.path)
            if state is not None:
                query = parse_qs(urlsplit(back).query)
                query["state"] = [state]
                back = CALLBACK + "?" + urlencode({k: v[0] for k, v in query.items()})
            return await client.get(back)

        forged_state = await callback_with(state="a-state-of-someone-else")
        nonce = await callback_with({"nonce": "another-nonce"})
        verifier = await callback_with({"verifier": "x" * 64})
        for r in (forged_state, nonce, verifier):
            assert r.status_code == 403 and "Anmeldung nicht möglich" in r.text
        # Without the flow's cookie (another browser, or it expired) nothing signs in either.
        start = await client.get("/staff/sso/start")
        back = await sign_in_at_provider(start.headers["location"], "anna", CALLBACK)
        client.cookies.delete("buero_sso")
        assert (await client.get(back)).status_code == 403
        assert (await client.get("/staff")).status_code == 303
        async with context(app).db.transaction() as session:
            assert (await session.execute(select(StaffUser))).scalars().all() == []
        reasons = [json.loads(e.detail)["reason"]
                   for e in await audit_events(app, "staff.login_failed")]
        assert reasons == ["sso_state", "sso_id_token", "sso_code_refused", "sso_state"]

        # The untouched flow works, so it was the forgeries that were refused.
        assert (await sso_login(client, "anna")).status_code == 303


async def test_password_login_off_leaves_only_single_sign_on(
    settings_factory: Callable[..., Settings], provider_dir: Path, tmp_path: Path,
) -> None:
    async with sso_app(settings_factory, provider_dir, tmp_path,
                       staff_password_login=False) as (app, client, _provider):
        await add_user(app, CLERK_EMAIL)
        page = await client.get("/staff/login")
        assert 'id="sso-login"' in page.text and 'name="password"' not in page.text
        # The form is gone; a hand-made post of it is refused all the same.
        await client.get("/staff/login")
        form_token = csrf.token(context(app).secret_key, client.cookies["buero_csrf"])
        refused = await client.post("/staff/login", data={
            "email": CLERK_EMAIL, "password": PASSWORD, "csrf_token": form_token})
        assert refused.status_code == 403 and "Passwort ist hier abgeschaltet" in refused.text
        token = await client.post("/api/v1/auth/token",
                                  json={"email": CLERK_EMAIL, "password": PASSWORD})
        assert token.status_code == 403 and error_code(token) == "password_login_disabled"
        assert (await sso_login(client, "anna")).status_code == 303


async def test_an_existing_local_account_is_linked_only_when_configured(
    settings_factory: Callable[..., Settings], provider_dir: Path, tmp_path: Path,
) -> None:
    async with sso_app(settings_factory, provider_dir, tmp_path) as (app, client, _provider):
        await add_user(app, "anna.amt@stadt.example")
        r = await sso_login(client, "anna")
        assert r.status_code == 409 and "nicht mit Single Sign-on verbunden" in r.text
    # The same database again, now linking by a verified address: Berta's local account.
    async with sso_app(settings_factory, provider_dir, tmp_path,
                       oidc_link_by_email=True) as (app, client, provider):
        local_id = await add_user(app, "berta@stadt.example")
        berta = {**ANNA, "email": "berta@stadt.example"}
        provider.set_accounts({"berta": {**berta, "email_verified": False}})
        assert (await sso_login(client, "berta")).status_code == 409  # not verified: no link
        provider.set_accounts({"berta": berta})
        assert (await sso_login(client, "berta")).status_code == 303
        assert (await staff_user(app, "berta@stadt.example")).id == local_id
        assert len(await audit_events(app, "staff.sso_linked")) == 1


async def test_without_an_issuer_there_is_no_single_sign_on(
    app: Starlette, client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/staff/sso/start")).status_code == 404
    assert (await client.get("/staff/sso/callback?code=x&state=y")).status_code == 404
    assert 'id="sso-login"' not in (await client.get("/staff/login")).text


def test_the_group_map_is_checked_at_start(settings_factory: Callable[..., Settings]) -> None:
    import pytest

    from app.settings import SettingsError

    for bad in ("not json", "[]", '{"g": {"role": "boss"}}', '{"g": {"offices": ["x"]}}'):
        with pytest.raises(ValueError, match="BUERO_OIDC_GROUP_MAP"):
            settings_factory(oidc_group_map=bad)
    with pytest.raises(ValueError, match="BUERO_OIDC_CLIENT_ID"):
        settings_factory(oidc_issuer="https://login.stadt.example")
    assert issubclass(SettingsError, ValueError)
