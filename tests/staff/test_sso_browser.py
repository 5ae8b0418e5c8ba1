"""Single sign-on in a real Chromium: from our login page through the real provider's login
form and back to /staff with the role its groups map to; the login page with the button and
the refusal page pass axe-core, on a desk screen and a 375 px phone."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from app.main import create_app
from app.settings import Settings
from tests.axe import axe_violations, describe
from tests.conftest import RENDERED_ONLY, bound_socket, serve_on
from tests.staff.helpers import add_office
from tests.staff.oidc_support import CLIENT_ID, CLIENT_SECRET, openid_provider, provider_dir

__all__ = ["provider_dir"]  # the fixture, used by name

pytestmark = pytest.mark.browser

ACCOUNTS = {
    "anna": {"email": "anna.amt@stadt.example", "email_verified": True, "name": "Anna Amt",
             "groups": ["buero-admins"]},
    "otto": {"email": "otto@stadt.example", "email_verified": True, "groups": ["kantine"]},
}


async def no_violations(page: Page) -> None:
    found = await axe_violations(page)
    assert found == [], f"{page.url}\n{describe(found)}"


async def provider_form(page: Page, login: str) -> None:
    """The provider's own sign-in form, typed into as a person does."""
    await page.wait_for_selector('input[name="login"]')
    await page.fill('input[name="login"]', login)
    await page.fill('input[name="password"]', "any password")
    await page.press('input[name="password"]', "Enter")


@RENDERED_ONLY
@pytest.mark.parametrize("width", [1280, 375])
async def test_sign_in_through_the_provider_lands_on_the_agenda_with_the_mapped_role(
    settings_factory: Callable[..., Settings], browser: Browser, provider_dir: Path,
    tmp_path: Path, width: int,
) -> None:
    sock = bound_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    async with openid_provider(provider_dir, tmp_path, [f"{base}/staff/sso/callback"],
                               ACCOUNTS) as provider:
        settings = settings_factory(
            base_url=base, oidc_issuer=provider.issuer, oidc_client_id=CLIENT_ID,
            oidc_client_secret=CLIENT_SECRET, oidc_scopes="openid email profile groups",
            oidc_group_map=json.dumps({"buero-admins": {"role": "admin", "offices": [1]}}))
        application = create_app(settings)
        async with serve_on(application, sock):
            await add_office(application)
            context = await browser.new_context(viewport={"width": width, "height": 900},
                                                locale="de-DE", timezone_id="Europe/Berlin")
            page = await context.new_page()
            await page.goto(f"{base}/staff/login")
            await no_violations(page)
            await page.focus("#sso-login")  # by keyboard
            await page.keyboard.press("Enter")
            await provider_form(page, "anna")
            await page.wait_for_url(f"{base}/staff")
            assert "Anna Amt" in await page.inner_text(".staff-user")
            await page.goto(f"{base}/admin/users")  # the mapped role: admin
            assert "anna.amt@stadt.example" in await page.inner_text("main")

            await page.click("#logout")
            await page.wait_for_url(f"{base}/staff/login?logged_out=1")
            assert (await page.goto(f"{base}/staff")) is not None
            assert page.url.startswith(f"{base}/staff/login")

            # Otto's groups give no access: a clear page, in German, that passes axe.
            other = await browser.new_context(viewport={"width": width, "height": 900},
                                              locale="de-DE")
            page = await other.new_page()
            await page.goto(f"{base}/staff/login")
            await page.click("#sso-login")
            await provider_form(page, "otto")
            await page.wait_for_selector("#sso-refused")
            assert "keiner Gruppe" in await page.inner_text("#sso-refused")
            await no_violations(page)
            await context.close()
            await other.close()
