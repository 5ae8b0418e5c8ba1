"""A real Chromium: from the appointment page to (fake) Stripe's checkout and back. Browsers
apply the page's ``form-action`` policy to the pay button's redirect as well, so this proves the
pay page lets the form lead to the checkout — and nothing else breaks its policy."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from playwright.async_api import Browser

from app.main import create_app
from app.settings import Settings
from tests.conftest import live_server
from tests.postcall.payments.conftest import World
from tests.postcall.payments.fake_stripe import FakeStripe

pytestmark = pytest.mark.browser


async def test_pay_in_the_browser(settings_factory: Callable[..., Settings],
                                  fake_stripe: FakeStripe, browser: Browser) -> None:
    app = create_app(settings_factory(
        stripe_secret_key=fake_stripe.secret_key, stripe_webhook_secret=fake_stripe.webhook_secret,
        stripe_api_base=fake_stripe.base_url))
    async with live_server(app) as base, httpx.AsyncClient(base_url=base) as client:
        world = World(app, client, fake_stripe)
        ref = await world.case()
        context = await browser.new_context(locale="de-DE")
        page = await context.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        try:
            await page.goto(f"{base}/t/{ref.token}")
            await page.click("#pay-now")
            await page.wait_for_url(f"{base}/t/{ref.token}/payment")
            await page.click("#pay-online")
            await page.wait_for_url(re.compile(re.escape(fake_stripe.base_url) + "/c/pay/"))
            assert "Pay 23,45 EUR" in await page.content()

            session_id = page.url.rsplit("/", 1)[1]
            fake_stripe.complete(session_id)
            back = fake_stripe.success_url(session_id).replace("http://testserver", base)
            await page.goto(back)
            assert "Vielen Dank – Zahlung eingegangen" in await page.inner_text("h1")
        finally:
            await context.close()
        assert (await world.case_row(ref)).payment_status == "paid"
        assert [p for p in problems if "Failed to load resource" not in p] == []
