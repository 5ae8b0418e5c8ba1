"""Staff bearer tokens: login, failures, lockout, per-IP throttling, expiry, logout, roles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import select, update
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from core.types import utcnow
from staff.models import StaffSession, StaffUser
from staff.sessions import token_hash
from tests.conftest import SHARED_REDIS, require, running
from tests.staff.helpers import (
    ADMIN_EMAIL,
    CLERK_EMAIL,
    PASSWORD,
    add_appointment,
    add_office,
    add_service,
    add_user,
    audit_events,
    bearer,
    context,
    error_code,
    next_weekday_at,
    token_for,
)

TOKEN_URL = "/api/v1/auth/token"


async def test_login_returns_a_bearer_token(app: Starlette, client: httpx.AsyncClient) -> None:
    await add_user(app, ADMIN_EMAIL, "admin")
    before = utcnow()
    r = await client.post(TOKEN_URL, json={"email": " Admin@Stadt.Example ", "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["role"] == "admin"
    assert len(body["access_token"]) >= 43  # 256 random bits
    expires = dt.datetime.fromisoformat(body["expires_at"])
    assert expires.utcoffset() == dt.timedelta(0)
    assert body["expires_at"].endswith("+00:00")
    hours = context(app).settings.api_token_hours
    assert before + dt.timedelta(hours=hours) - dt.timedelta(seconds=5) <= expires
    assert expires <= utcnow() + dt.timedelta(hours=hours)

    # Only a keyed hash of the token is stored.
    async with context(app).db.transaction() as session:
        rows = (await session.execute(select(StaffSession))).scalars().all()
        assert len(rows) == 1
        assert rows[0].kind == "api"
        assert rows[0].token_hash != body["access_token"]
        assert rows[0].token_hash == token_hash(context(app).secret_key, body["access_token"])

    me = await client.get("/api/v1/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["email"] == ADMIN_EMAIL
    assert me.json()["role"] == "admin"


async def test_wrong_password_and_unknown_user_look_the_same(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await add_user(app, CLERK_EMAIL)
    wrong = await client.post(TOKEN_URL, json={"email": CLERK_EMAIL, "password": "x" * 14})
    unknown = await client.post(TOKEN_URL, json={"email": "nobody@stadt.example",
                                                 "password": "x" * 14})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert error_code(wrong) == "invalid_credentials"
    # The message is in the request's language (German by default).
    assert "Passwort" in wrong.json()["error"]["message"]
    english = await client.post(TOKEN_URL + "?lang=en",
                                json={"email": CLERK_EMAIL, "password": "x" * 14})
    assert "password" in english.json()["error"]["message"]


async def test_inactive_account_cannot_log_in(app: Starlette, client: httpx.AsyncClient) -> None:
    user_id = await add_user(app, CLERK_EMAIL)
    async with context(app).db.transaction(write=True) as session:
        await session.execute(update(StaffUser).where(StaffUser.id == user_id)  # type: ignore[arg-type]
                              .values(active=False))
    r = await client.post(TOKEN_URL, json={"email": CLERK_EMAIL, "password": PASSWORD})
    assert r.status_code == 401
    assert error_code(r) == "invalid_credentials"


@pytest.mark.parametrize(
    "body",
    [{}, {"email": "a@b.de"}, {"email": "", "password": "x"}, {"email": 5, "password": "x"}],
)
async def test_bad_login_bodies_are_422(client: httpx.AsyncClient, body: dict[str, object]) -> None:
    r = await client.post(TOKEN_URL, json=body)
    assert r.status_code == 422
    assert error_code(r) == "validation_error"


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    r = await client.post(TOKEN_URL, content=b"{nope", headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert error_code(r) == "malformed_json"


async def test_lockout_after_repeated_failures(app: Starlette, client: httpx.AsyncClient) -> None:
    settings = context(app).settings
    user_id = await add_user(app, CLERK_EMAIL)
    for _ in range(settings.login_max_failures - 1):
        r = await client.post(TOKEN_URL, json={"email": CLERK_EMAIL, "password": "wrong-" * 3})
        assert r.status_code == 401
    r = await client.post(TOKEN_URL, json={"email": CLERK_EMAIL, "password": "wrong-" * 3})
    assert r.status_code == 429
    assert error_code(r) == "login_locked"
    assert "Retry-After" in r.headers
    # Locked: even the right password is refused until the lock ends.
    r = await client.post(TOKEN_URL, json={"email": CLERK_EMAIL, "password": PASSWORD})
    assert r.status_code == 429
    assert error_code(r) == "login_locked"

    async with context(app).db.transaction(write=True) as session:
        user = await session.get(StaffUser, user_id)
        assert user is not None and user.locked_until is not None
        lockout = dt.timedelta(minutes=settings.login_lockout_minutes - 1)
        assert user.locked_until > utcnow() + lockout
        user.locked_until = utcnow() - dt.timedelta(seconds=1)
    r = await client.post(TOKEN_URL, json={"email": CLERK_EMAIL, "password": PASSWORD})
    assert r.status_code == 200
    async with context(app).db.transaction() as session:
        user = await session.get(StaffUser, user_id)
        assert user is not None
        assert user.failed_logins == 0 and user.locked_until is None
        assert user.last_login_at is not None
    assert len(await audit_events(app, "staff.lockout")) == 1
    [login] = await audit_events(app, "staff.login")
    assert login.actor_id == user_id and login.detail == '{"kind": "api"}'


async def test_unknown_addresses_lock_the_same_way(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    limit = context(app).settings.login_max_failures
    codes = []
    for _ in range(limit + 1):
        r = await client.post(TOKEN_URL, json={"email": "ghost@stadt.example",
                                               "password": "wrong-" * 3})
        codes.append(r.status_code)
    assert codes == [401] * (limit - 1) + [429, 429]


async def test_success_resets_the_failure_count(app: Starlette, client: httpx.AsyncClient) -> None:
    limit = context(app).settings.login_max_failures
    user_id = await add_user(app, CLERK_EMAIL)
    for _ in range(limit - 1):
        await client.post(TOKEN_URL, json={"email": CLERK_EMAIL, "password": "wrong-" * 3})
    await token_for(client, CLERK_EMAIL)
    async with context(app).db.transaction() as session:
        user = await session.get(StaffUser, user_id)
        assert user is not None and user.failed_logins == 0
    r = await client.post(TOKEN_URL, json={"email": CLERK_EMAIL, "password": "wrong-" * 3})
    assert r.status_code == 401


async def test_per_ip_throttle(settings_factory: Callable[..., Settings]) -> None:
    settings = settings_factory(rate_limits_enabled=True, rate_limit_login="3/minute")
    application = create_app(settings)
    async with running(application):
        await add_user(application, CLERK_EMAIL)
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            statuses = []
            for i in range(4):
                r = await c.post(TOKEN_URL, json={"email": f"u{i}@stadt.example",
                                                  "password": "wrong-" * 3})
                statuses.append(r.status_code)
            assert statuses == [401, 401, 401, 429]
            assert error_code(r) == "rate_limited"
            # The limit is per IP and applies to right passwords too.
            r = await c.post(TOKEN_URL, json={"email": CLERK_EMAIL, "password": PASSWORD})
            assert r.status_code == 429


async def test_expired_token_is_refused(app: Starlette, client: httpx.AsyncClient) -> None:
    await add_user(app, CLERK_EMAIL)
    token = await token_for(client, CLERK_EMAIL)
    assert (await client.get("/api/v1/auth/me", headers=bearer(token))).status_code == 200
    async with context(app).db.transaction(write=True) as session:
        await session.execute(update(StaffSession).values(
            expires_at=utcnow() - dt.timedelta(seconds=1)))
    r = await client.get("/api/v1/auth/me", headers=bearer(token))
    assert r.status_code == 401
    assert error_code(r) == "unauthorized"


async def test_logout_revokes_the_token(app: Starlette, client: httpx.AsyncClient) -> None:
    await add_user(app, CLERK_EMAIL)
    token = await token_for(client, CLERK_EMAIL)
    r = await client.delete(TOKEN_URL, headers=bearer(token))
    assert r.status_code == 204
    assert (await client.get("/api/v1/auth/me", headers=bearer(token))).status_code == 401
    assert (await client.delete(TOKEN_URL, headers=bearer(token))).status_code == 401


async def test_deactivating_a_user_ends_their_tokens(
    app: Starlette, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    clerk_id = await add_user(app, CLERK_EMAIL)
    token = await token_for(client, CLERK_EMAIL)
    r = await client.patch(f"/api/v1/admin/users/{clerk_id}", json={"active": False},
                           headers=admin_headers)
    assert r.status_code == 200
    assert (await client.get("/api/v1/auth/me", headers=bearer(token))).status_code == 401


ADMIN_PATHS = ["offices", "services", "schedules", "closures", "users"]


@pytest.mark.parametrize("resource", ADMIN_PATHS)
async def test_role_matrix(
    client: httpx.AsyncClient, resource: str, admin_headers: dict[str, str],
    clerk_headers: dict[str, str],
) -> None:
    url = f"/api/v1/admin/{resource}"
    assert (await client.get(url)).status_code == 401
    assert (await client.get(url, headers={"Authorization": "Basic abc"})).status_code == 401
    assert (await client.get(url, headers=bearer("not-a-token"))).status_code == 401
    r = await client.get(url, headers=clerk_headers)
    assert r.status_code == 403
    assert error_code(r) == "forbidden"
    assert (await client.post(url, json={}, headers=clerk_headers)).status_code == 403
    assert (await client.patch(url + "/1", json={}, headers=clerk_headers)).status_code == 403
    assert (await client.delete(url + "/1", headers=clerk_headers)).status_code == 403
    assert (await client.get(url, headers=admin_headers)).status_code == 200


async def test_citizen_link_token_is_not_a_staff_token(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    office_id = await add_office(app)
    service_id = await add_service(app, [office_id])
    _id, citizen_token = await add_appointment(app, office_id=office_id, service_id=service_id,
                                               start=next_weekday_at(9))
    for url in ("/api/v1/auth/me", "/api/v1/admin/offices"):
        r = await client.get(url, headers=bearer(citizen_token))
        assert r.status_code == 401
        assert error_code(r) == "unauthorized"


async def test_web_session_token_is_not_a_bearer_token(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await add_user(app, ADMIN_EMAIL, "admin")
    page = await client.get("/staff/login")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = await client.post("/staff/login", data={"email": ADMIN_EMAIL, "password": PASSWORD,
                                                "csrf_token": csrf})
    assert r.status_code == 303
    cookie = client.cookies.get("buero_staff")
    assert cookie
    client.cookies.clear()
    assert (await client.get("/api/v1/auth/me", headers=bearer(cookie))).status_code == 401


@SHARED_REDIS
@pytest.mark.redis
async def test_throttle_and_lockout_counters_in_redis(
    settings_factory: Callable[..., Settings]
) -> None:
    """With Redis configured, both counters live there (shared by every app instance)."""
    import os
    import secrets

    redis_url = os.environ.get("BUERO_TEST_REDIS_URL")
    require(redis_url is not None, "BUERO_TEST_REDIS_URL")
    settings = settings_factory(rate_limits_enabled=True, rate_limit_login="6/minute",
                                redis_url=redis_url, login_max_failures=5)
    ip = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
    ghost = f"ghost-{secrets.token_hex(6)}@stadt.example"
    codes = []
    for _instance in range(2):  # two app instances share the counters
        application = create_app(settings)
        async with running(application):
            transport = httpx.ASGITransport(app=application, client=(ip, 1234))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                for _ in range(4):
                    r = await c.post(TOKEN_URL, json={"email": ghost, "password": "w" * 14})
                    codes.append((r.status_code, error_code(r)))
    # The fifth failure locks the (unknown) address; the seventh attempt from the IP is over
    # its limit of six a minute.
    assert codes == [(401, "invalid_credentials")] * 4 + [(429, "login_locked")] * 2 \
        + [(429, "rate_limited")] * 2
