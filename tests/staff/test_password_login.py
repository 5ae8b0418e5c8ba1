"""``BUERO_STAFF_PASSWORD_LOGIN=false``: password sign-in is refused with a clear error, at the
API's token endpoint and on the login page (with single sign-on: tests/staff/test_sso.py)."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from app import csrf
from app.main import create_app
from app.settings import Settings
from tests.conftest import running
from tests.staff.helpers import CLERK_EMAIL, PASSWORD, add_user, context, error_code


async def test_password_login_can_be_switched_off(
    settings_factory: Callable[..., Settings],
) -> None:
    application = create_app(settings_factory(staff_password_login=False))
    async with running(application):
        await add_user(application, CLERK_EMAIL)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application),
                                     base_url="http://testserver") as client:
            r = await client.post("/api/v1/auth/token",
                                  json={"email": CLERK_EMAIL, "password": PASSWORD})
            assert r.status_code == 403 and error_code(r) == "password_login_disabled"
            assert "Single Sign-on" in r.json()["error"]["message"]
            english = await client.post("/api/v1/auth/token?lang=en",
                                        json={"email": CLERK_EMAIL, "password": PASSWORD})
            assert "single sign-on" in english.json()["error"]["message"]
            # The page offers no form (and here no single sign-on either: it says so) ...
            page = await client.get("/staff/login")
            assert 'name="password"' not in page.text
            assert "keine Anmeldung eingerichtet" in page.text
            # ... and a hand-made post of the form is refused.
            token = csrf.token(context(application).secret_key, client.cookies["buero_csrf"])
            posted = await client.post("/staff/login", data={
                "email": CLERK_EMAIL, "password": PASSWORD, "csrf_token": token})
            assert posted.status_code == 403 and "Passwort ist hier abgeschaltet" in posted.text
            assert (await client.get("/staff")).status_code == 303
