"""The second factor in a real Chromium against uvicorn: an admin sets it up with the secret
read off the page, signs in again with the code, and every page of it passes axe-core (on a
desk screen and on a 375 px phone), by keyboard."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from playwright.async_api import Browser, Page

from app.main import create_app
from app.settings import Settings
from tests.axe import axe_violations, describe
from tests.conftest import RENDERED_ONLY, live_server
from tests.staff.helpers import ADMIN_EMAIL, CLERK_EMAIL, PASSWORD, add_user
from tests.staff.totp_support import code, step_start

__all__ = ["step_start"]  # the fixture, used by name

pytestmark = pytest.mark.browser


async def no_violations(page: Page, seen: list[str]) -> None:
    found = await axe_violations(page)
    assert found == [], f"{page.url}\n{describe(found)}"
    seen.append(page.url)


async def sign_in(page: Page, base: str) -> None:
    await page.goto(f"{base}/staff/login")
    await page.fill("#email", ADMIN_EMAIL)
    await page.fill("#password", PASSWORD)
    await page.click("#login")


@RENDERED_ONLY
@pytest.mark.parametrize("width", [1280, 375])
async def test_enrolment_and_login_with_codes_from_the_page(
    settings_factory: Callable[..., Settings], browser: Browser, step_start: dt.datetime,
    width: int,
) -> None:
    application = create_app(settings_factory(staff_totp_required="admin"))
    async with live_server(application) as base:
        await add_user(application, ADMIN_EMAIL, "admin")
        clerk_id = await add_user(application, CLERK_EMAIL)
        context = await browser.new_context(viewport={"width": width, "height": 900},
                                            locale="de-DE", timezone_id="Europe/Berlin")
        page = await context.new_page()
        seen: list[str] = []

        await sign_in(page, base)
        await page.wait_for_url(f"{base}/staff/totp?next=%2Fstaff")
        await no_violations(page, seen)
        # The QR code is shown whole, also on a phone.
        box = await page.locator("#totp-qr").bounding_box()
        assert box is not None and box["width"] >= 200 and box["x"] + box["width"] <= width
        secret = await page.get_attribute("#totp-secret", "data-secret")
        assert secret is not None and len(secret) == 32

        await page.fill("#otp", code(secret, -3))  # too old
        await page.click("#confirm-enrolment")
        await page.wait_for_selector("#otp-error")
        await no_violations(page, seen)

        # By keyboard: focus the field, type, Enter.
        await page.focus("#otp")
        await page.keyboard.type(code(secret))
        await page.keyboard.press("Enter")
        await page.wait_for_selector("#recovery-codes")
        await no_violations(page, seen)
        recovery = await page.locator("#recovery-codes code").all_inner_texts()
        assert len(recovery) == 10
        await page.click("#continue")
        await page.wait_for_url(f"{base}/staff")

        await page.goto(f"{base}/staff/totp")
        assert "10 unbenutzte" in await page.inner_text("#codes-left")
        await no_violations(page, seen)
        await page.goto(f"{base}/admin/users/{clerk_id}/second-factor")
        await no_violations(page, seen)

        await page.click("#logout")
        await page.wait_for_url(f"{base}/staff/login?logged_out=1")
        await sign_in(page, base)
        await page.wait_for_url(f"{base}/staff/login/code?next=%2Fstaff")
        await no_violations(page, seen)
        await page.fill("#otp", code(secret))  # the enrolment's code: used already
        await page.click("#confirm-code")
        await page.wait_for_selector("#otp-error")
        assert "bereits verwendet" in await page.inner_text("#otp-error")
        await no_violations(page, seen)
        await page.fill("#otp", code(secret, 1))
        await page.click("#confirm-code")
        await page.wait_for_url(f"{base}/staff")

        # English, and a recovery code instead of the app.
        await page.click("#logout")
        await page.wait_for_url(f"{base}/staff/login?logged_out=1")
        await sign_in(page, base)
        await page.goto(f"{base}/staff/login/code?lang=en")
        assert "Second step" in await page.inner_text("h1")
        await no_violations(page, seen)
        await page.fill("#otp", recovery[3])
        await page.click("#confirm-code")
        await page.wait_for_url(f"{base}/staff")
        await context.close()
        assert len(seen) == 8
