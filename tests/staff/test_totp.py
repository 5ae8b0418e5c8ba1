"""The second factor over HTTP: enrolment (required for admins by default), the code after the
password, recovery codes, no replay, lockout and rate limit, the API's ``otp``, the admin's
reset. Codes are computed with pyotp from the secret at the injected time."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from core.types import Clock
from staff import totp
from staff.models import StaffRecoveryCode, StaffSession, StaffTotp
from tests.conftest import running
from tests.staff.helpers import (
    ADMIN_EMAIL,
    CLERK_EMAIL,
    PASSWORD,
    add_user,
    audit_events,
    bearer,
    context,
    error_code,
    form_token,
    page_login,
    token_for,
)
from tests.staff.totp_support import code, enrol, hidden, secret_on, step_start, submit_code

__all__ = ["step_start"]  # the fixture, used by name

TOKEN_URL = "/api/v1/auth/token"


@pytest.fixture
async def app(settings_factory: Callable[..., Settings]) -> AsyncIterator[Starlette]:
    """The product's default: admins must have a second factor."""
    application = create_app(settings_factory(staff_totp_required="admin"))
    async with running(application):
        yield application


def browser(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                             base_url="http://testserver")


async def enrolled_admin(app: Starlette) -> tuple[str, list[str]]:
    """An admin who has set up the second factor (through the pages): secret, recovery codes."""
    await add_user(app, ADMIN_EMAIL, "admin")
    async with browser(app) as b:
        await page_login(b, ADMIN_EMAIL)
        return await enrol(b)


def test_the_default_policy_is_admins() -> None:
    assert Settings(_env_file=None).staff_totp_required == "admin"  # type: ignore[call-arg]
    assert totp.required("admin", "admin") and not totp.required("clerk", "admin")
    assert totp.required("clerk", "all") and not totp.required("admin", "none")


async def test_an_admin_must_enrol_before_anything_else(
    app: Starlette, step_start: dt.datetime,
) -> None:
    await add_user(app, ADMIN_EMAIL, "admin")
    async with browser(app) as b:
        r = await page_login(b, ADMIN_EMAIL, next_url="/admin/offices")
        assert r.status_code == 303
        assert r.headers["location"] == "/staff/totp?next=%2Fadmin%2Foffices"
        for path in ("/staff", "/admin", "/admin/users", "/staff/dispatch"):
            blocked = await b.get(path)
            assert blocked.status_code == 303 and blocked.headers["location"] == "/staff/totp"
        page = await b.get("/staff/totp")
        assert page.status_code == 200
        assert 'lang="de"' in page.text and "Zwei-Faktor-Anmeldung einrichten" in page.text
        assert 'src="data:image/svg+xml' in page.text
        secret = secret_on(page.text)
        grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
        assert grouped in page.text  # for typing in by hand
        assert 'id="staff-nav"' not in page.text and 'href="/admin"' not in page.text

        # A wrong code: the same secret again, with the error beside the field.
        form = {"csrf_token": form_token(page.text), "secret": hidden(page.text, "secret"),
                "next": "/admin/offices"}
        wrong = await b.post("/staff/totp", data={**form, "otp": code(secret, -3)})
        assert wrong.status_code == 422
        assert "Der Code ist falsch" in wrong.text and secret_on(wrong.text) == secret
        # A secret the page never signed is refused, whatever the code.
        other = totp.new_secret()
        forged = await b.post("/staff/totp", data={**form, "secret": other, "otp": code(other)})
        assert forged.status_code == 400 and "abgelaufen" in forged.text

        done = await b.post("/staff/totp", data={**form, "otp": code(secret)})
        assert done.status_code == 200
        assert "Ihre Wiederherstellungscodes" in done.text
        assert done.headers["cache-control"] == "no-store"
        assert 'href="/admin/offices"' in done.text
        assert (await b.get("/admin/offices")).status_code == 200

    events = await audit_events(app, "staff.totp_enrolled")
    assert len(events) == 1 and events[0].actor_label == ADMIN_EMAIL
    async with context(app).db.transaction() as session:
        stored = (await session.execute(select(StaffTotp))).scalars().one()
        assert secret not in stored.secret_encrypted
        assert totp.decrypt_secret(context(app).secret_key, stored.secret_encrypted) == secret
        assert totp.decrypt_secret(b"another key", stored.secret_encrypted) is None
        hashes = [c.code_hash for c in (await session.execute(select(StaffRecoveryCode)))
                  .scalars()]
    assert len(hashes) == 10
    for recovery in (c for c in done.text.split("<code>")[1:]):
        assert recovery.split("<")[0] not in " ".join(hashes)


async def test_the_api_keeps_working_for_an_account_without_a_factor(
    app: Starlette, client: httpx.AsyncClient,
) -> None:
    # The contract: "otp" is needed once a second factor is enrolled.
    await add_user(app, ADMIN_EMAIL, "admin")
    assert (await client.post(TOKEN_URL, json={"email": ADMIN_EMAIL, "password": PASSWORD})
            ).status_code == 200


async def test_login_asks_for_the_code_and_refuses_it_twice(
    app: Starlette, step_start: dt.datetime,
) -> None:
    secret, _codes = await enrolled_admin(app)
    async with browser(app) as b:
        r = await page_login(b, ADMIN_EMAIL)
        assert r.headers["location"] == "/staff/login/code?next=%2Fstaff"
        blocked = await b.get("/admin")
        assert blocked.status_code == 303 and blocked.headers["location"] == "/staff/login/code"
        missing = await submit_code(b, "")
        assert missing.status_code == 422 and "Bitte geben Sie den Code" in missing.text
        wrong = await submit_code(b, code(secret, 5))
        assert wrong.status_code == 401 and "Der Code ist falsch" in wrong.text
        # The code of the enrolment's step was used: a fresh login needs the next one.
        used = await submit_code(b, code(secret))
        assert used.status_code == 401 and "bereits verwendet" in used.text
        ok = await submit_code(b, code(secret, 1))
        assert ok.status_code == 303 and ok.headers["location"] == "/staff"
        assert (await b.get("/admin")).status_code == 200
    async with browser(app) as again:
        await page_login(again, ADMIN_EMAIL)
        replay = await submit_code(again, code(secret, 1))
        assert replay.status_code == 401 and "bereits verwendet" in replay.text
        assert (await again.get("/staff")).status_code == 303
    reasons = [e.detail for e in await audit_events(app, "staff.login_failed")]
    assert sum('"reason": "second_factor"' in d for d in reasons) == 1
    assert sum('"reason": "second_factor_reused"' in d for d in reasons) == 2
    logins = await audit_events(app, "staff.login")
    assert '"second_factor": "totp"' in logins[-1].detail


async def test_the_api_takes_otp_and_recovery_codes_once(
    app: Starlette, client: httpx.AsyncClient, step_start: dt.datetime,
) -> None:
    secret, recovery = await enrolled_admin(app)
    body = {"email": ADMIN_EMAIL, "password": PASSWORD}
    no_code = await client.post(TOKEN_URL, json=body)
    assert no_code.status_code == 401 and error_code(no_code) == "otp_required"
    assert "Wiederherstellungscode" in no_code.json()["error"]["message"]
    english = await client.post(TOKEN_URL + "?lang=en", json=body)
    assert "recovery code" in english.json()["error"]["message"]
    wrong = await client.post(TOKEN_URL, json={**body, "otp": "000000"})
    assert wrong.status_code == 401 and error_code(wrong) == "invalid_otp"
    ok = await client.post(TOKEN_URL, json={**body, "otp": code(secret, 1)})
    assert ok.status_code == 200, ok.text
    assert (await client.get("/api/v1/admin/users", headers=bearer(ok.json()["access_token"]))
            ).status_code == 200
    replay = await client.post(TOKEN_URL, json={**body, "otp": code(secret, 1)})
    assert replay.status_code == 401 and error_code(replay) == "otp_reused"
    older = await client.post(TOKEN_URL, json={**body, "otp": code(secret)})
    assert older.status_code == 401 and error_code(older) == "otp_reused"

    spaced = recovery[0].upper().replace("-", " ")  # typed as it comes, case and spaces aside
    by_recovery = await client.post(TOKEN_URL, json={**body, "otp": spaced})
    assert by_recovery.status_code == 200, by_recovery.text
    again = await client.post(TOKEN_URL, json={**body, "otp": recovery[0]})
    assert again.status_code == 401 and error_code(again) == "invalid_otp"
    used = await audit_events(app, "staff.recovery_code_used")
    assert len(used) == 1 and '"left": 9' in used[0].detail


async def test_wrong_codes_lock_the_account_even_with_the_right_password(
    app: Starlette, client: httpx.AsyncClient, step_start: dt.datetime,
) -> None:
    secret, _codes = await enrolled_admin(app)
    body = {"email": ADMIN_EMAIL, "password": PASSWORD}
    limit = context(app).settings.login_max_failures
    answers = [await client.post(TOKEN_URL, json={**body, "otp": "123456"})
               for _ in range(limit)]
    assert [a.status_code for a in answers] == [401] * (limit - 1) + [429]
    assert error_code(answers[-1]) == "login_locked"
    locked = await client.post(TOKEN_URL, json={**body, "otp": code(secret, 1)})
    assert locked.status_code == 429
    assert len(await audit_events(app, "staff.lockout")) == 1


async def test_the_code_step_is_rate_limited_like_the_login(
    settings_factory: Callable[..., Settings], step_start: dt.datetime,
) -> None:
    application = create_app(settings_factory(rate_limits_enabled=True, rate_limit_login="4/minute",
                                              staff_totp_required="admin"))
    async with running(application):
        secret, _codes = await enrolled_admin(application)  # the login, the enrolment: 2
        async with browser(application) as b:
            await page_login(b, ADMIN_EMAIL)  # 3
            assert (await submit_code(b, code(secret, 5))).status_code == 401  # 4
            limited = await submit_code(b, code(secret, 1))  # 5: over the limit, right or not
            assert limited.status_code == 429 and "Zu viele" in limited.text
            assert (await b.get("/staff")).status_code == 303


async def test_half_done_logins_expire(app: Starlette, step_start: dt.datetime) -> None:
    await enrolled_admin(app)
    async with browser(app) as b:
        await page_login(b, ADMIN_EMAIL)
        async with context(app).db.transaction() as session:
            stages = [s.stage for s in (await session.execute(select(StaffSession))).scalars()]
        assert "otp" in stages
        Clock.shift(Clock.offset + dt.timedelta(minutes=11))
        r = await b.get("/staff/login/code")
        assert r.status_code == 303 and r.headers["location"].startswith("/staff/login?next=")


async def test_the_policy_decides_who_must_enrol(
    settings_factory: Callable[..., Settings], step_start: dt.datetime,
) -> None:
    for policy, role, target in (("all", "clerk", "/staff/totp?next=%2Fstaff"),
                                 ("none", "admin", "/staff"), ("admin", "clerk", "/staff")):
        application = create_app(settings_factory(staff_totp_required=policy))
        async with running(application):
            address = f"{policy}-{role}@stadt.example"  # one database for all three
            await add_user(application, address, role)
            async with browser(application) as b:
                r = await page_login(b, address)
                assert r.headers["location"] == target, (policy, role)
    # Under "none" an account that has a factor still uses it, and may set one up itself.
    application = create_app(settings_factory(staff_totp_required="none"))
    async with running(application):
        await add_user(application, CLERK_EMAIL)
        async with browser(application) as b:
            await page_login(b, CLERK_EMAIL)
            secret, _codes = await enrol(b)
            status = await b.get("/staff/totp")
            assert "Sie haben 10 unbenutzte Wiederherstellungscodes" in status.text
            renewed = await b.post("/staff/totp/recovery-codes",
                                   data={"csrf_token": form_token(status.text)})
            assert renewed.status_code == 200 and "Ihre Wiederherstellungscodes" in renewed.text
        async with browser(application) as b:
            r = await page_login(b, CLERK_EMAIL)
            assert r.headers["location"].startswith("/staff/login/code")
            assert (await submit_code(b, code(secret, 1))).status_code == 303
        assert len(await audit_events(application, "staff.recovery_codes_renewed")) == 1


async def test_an_admin_resets_a_second_factor(
    app: Starlette, client: httpx.AsyncClient, step_start: dt.datetime,
) -> None:
    secret, _codes = await enrolled_admin(app)
    clerk_id = await add_user(app, CLERK_EMAIL)
    clerk = bearer(await token_for(client, CLERK_EMAIL))
    admin_id = await add_user(app, "zweite@stadt.example", "admin")
    other = bearer(await token_for(client, "zweite@stadt.example"))  # not enrolled yet
    async with context(app).db.transaction() as session:
        first_admin = (await session.execute(select(StaffTotp))).scalars().one().user_id

    assert (await client.delete(f"/api/v1/admin/users/{first_admin}/totp", headers=clerk)
            ).status_code == 403
    assert (await client.delete("/api/v1/admin/users/999999/totp", headers=other)
            ).status_code == 404
    r = await client.delete(f"/api/v1/admin/users/{first_admin}/totp", headers=other)
    assert r.status_code == 204
    events = await audit_events(app, "staff.totp_reset")
    assert [(e.object_id, e.actor_label) for e in events] == [
        (str(first_admin), "zweite@stadt.example")]
    # The factor is gone: the admin's next web login goes to the enrolment again.
    async with browser(app) as b:
        r = await page_login(b, ADMIN_EMAIL)
        assert r.headers["location"].startswith("/staff/totp")

    # The same through the admin pages, for the clerk (who has none): nothing to remove.
    async with browser(app) as b:
        await page_login(b, "zweite@stadt.example")
        await enrol(b)
        page = await b.get(f"/admin/users/{clerk_id}/second-factor")
        assert page.status_code == 200 and "Es ist kein zweiter Faktor" in page.text
        own = await b.get(f"/admin/users/{admin_id}/second-factor")
        assert "ist eingerichtet" in own.text
        done = await b.post(f"/admin/users/{admin_id}/second-factor",
                            data={"csrf_token": form_token(own.text)})
        assert done.status_code == 303
        # Removing one's own factor ends one's own logins too.
        assert (await b.get("/staff")).status_code == 303
    assert len(await audit_events(app, "staff.totp_reset")) == 2
    assert secret  # the old secret no longer matters


def test_codes_fit_one_step_either_side(step_start: dt.datetime) -> None:
    secret = totp.new_secret()
    now = step_start
    current = pyotp_step(now)
    assert totp.matching_step(secret, code(secret), now) == current
    assert totp.matching_step(secret, code(secret, -1), now) == current - 1
    assert totp.matching_step(secret, code(secret, 1), now) == current + 1
    assert totp.matching_step(secret, code(secret, 2), now) is None
    assert totp.matching_step(secret, "12345", now) is None
    assert totp.matching_step(secret, "abcdef", now) is None


def pyotp_step(now: dt.datetime) -> int:
    return int(now.timestamp()) // 30
