"""Failed sign-ins are audited: who tried (the address), when, from which client and why, never
the password; admins see them in the audit log (API and page)."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from tests.staff.helpers import (
    ADMIN_EMAIL,
    CLERK_EMAIL,
    PASSWORD,
    add_user,
    audit_events,
    context,
    page_login,
)

SECRET_TRY = "Falsches-Passwort-mit-Geheimnis-7"


async def test_failed_sign_ins_are_audited_without_the_password(
    app: Starlette, client: httpx.AsyncClient, admin_headers: dict[str, str],
) -> None:
    await add_user(app, CLERK_EMAIL)
    wrong = await client.post("/api/v1/auth/token",
                              json={"email": CLERK_EMAIL, "password": SECRET_TRY})
    assert wrong.status_code == 401
    unknown = await client.post("/api/v1/auth/token",
                                json={"email": "nobody@stadt.example", "password": SECRET_TRY})
    assert unknown.status_code == 401
    page = await page_login(client, CLERK_EMAIL, SECRET_TRY)
    assert page.status_code in (200, 401, 422)

    events = await audit_events(app, "staff.login_failed")
    assert [(e.actor_label, e.actor_type) for e in events] == [
        (CLERK_EMAIL, "anonymous"), ("nobody@stadt.example", "anonymous"),
        (CLERK_EMAIL, "anonymous")]
    assert all('"client": "127.0.0.1"' in e.detail for e in events)
    assert [e.detail.split('"reason": "')[1].split('"')[0] for e in events] == [
        "wrong", "unknown", "wrong"]
    for e in events:
        assert SECRET_TRY not in e.detail and PASSWORD not in e.detail
    # A successful sign-in is no failure.
    before = len(events)
    ok = await client.post("/api/v1/auth/token", json={"email": CLERK_EMAIL, "password": PASSWORD})
    assert ok.status_code == 200
    assert len(await audit_events(app, "staff.login_failed")) == before

    # Admins read them: the API filter by action, and the page in German.
    r = await client.get("/api/v1/admin/audit", params={"action": "staff.login_failed"},
                         headers=admin_headers)
    assert r.status_code == 200, r.text
    assert {item["actor"] for item in r.json()["items"]} >= {CLERK_EMAIL, "nobody@stadt.example"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as browser:
        await page_login(browser, ADMIN_EMAIL)
        page = await browser.get("/admin/audit", params={"action": "staff.login_failed"})
        assert page.status_code == 200 and "Fehlgeschlagene Anmeldung" in page.text
        assert SECRET_TRY not in page.text
    assert context(app).settings.login_max_failures > 2  # no lockout was involved here
