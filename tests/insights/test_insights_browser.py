"""axe-core (WCAG 2.1 AA) in a real Chromium against uvicorn: the insights page of a seeded
month (German and English, with a bad period), worked by keyboard alone, and on a 375 px
phone, where the charts stay within the screen and their text stays readable."""

from __future__ import annotations

import pytest
from playwright.async_api import Page

from app.main import create_app
from app.settings import Settings
from tests.axe import axe_violations
from tests.conftest import RENDERED_ONLY, live_server
from tests.insights.seed import seed_month
from tests.staff import test_accessibility as staff_axe
from tests.staff.helpers import ADMIN_EMAIL, PASSWORD, add_user
from tests.staff.test_accessibility import page_passes_axe as check

browser_page = staff_axe.browser_page

pytestmark = pytest.mark.browser


@RENDERED_ONLY
async def test_insights_pass_axe_by_keyboard_and_on_a_phone(settings: Settings,
                                                           browser_page: Page) -> None:
    application = create_app(settings)
    async with live_server(application) as base:
        seeded = await seed_month(application)
        await add_user(application, ADMIN_EMAIL, "admin")
        page = browser_page
        await page.goto(f"{base}/staff/login")
        await page.fill("#email", ADMIN_EMAIL)
        await page.fill("#password", PASSWORD)
        await page.click("#login")
        await page.wait_for_url(f"{base}/staff")

        march = f"office_id={seeded.office}&from=2026-03-01&to=2026-03-31"
        for lang in ("de", "en"):
            await check(page, f"{base}/admin/insights?{march}&lang={lang}")
            assert await page.locator("svg.insights-chart[role=img]").count() == 7
        await check(page, f"{base}/admin/insights?from=2026-03-31&to=2026-03-01", 400)
        await check(page, f"{base}/admin/insights?office_id=999999", 404)

        # By keyboard: from the administration's overview to the page, then the form.
        await page.goto(f"{base}/admin?lang=de")
        await page.focus("#insights-link")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{base}/admin/insights")
        await page.focus("#office_id")
        await page.select_option("#office_id", str(seeded.other_office))
        await page.keyboard.press("Tab")  # to "from"
        assert await page.evaluate("document.activeElement.id") == "from"
        await page.fill("#from", "2026-03-01")
        await page.focus("#to")  # Tab walks through the date control's day, month and year
        await page.fill("#to", "2026-03-31")
        await page.focus("#insights-show")
        await page.keyboard.press("Enter")
        await page.wait_for_url(lambda url: "from=2026-03-01" in url and "to=2026-03-31" in url)
        assert f"office_id={seeded.other_office}" in page.url
        rows = page.locator("#insights-key_figures tbody tr")
        first = await rows.first.inner_text()
        assert "Termine" in first and "1" in first
        # The scrollable tables are reachable by Tab; the CSV link by keyboard too.
        await page.focus("#csv-fees")
        assert await page.evaluate("document.activeElement.id") == "csv-fees"
        assert await axe_violations(page) == []

        # On a phone: nothing wider than the screen, chart text at least 10 px.
        await page.set_viewport_size({"width": 375, "height": 812})
        await check(page, f"{base}/admin/insights?{march}")
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0
        sizes = await page.evaluate("""() => [...document.querySelectorAll(
            'svg.insights-chart')].map(svg => {
              const box = svg.getBoundingClientRect();
              const text = svg.querySelector('text').getBoundingClientRect();
              return [box.right, text.height];
            })""")
        assert sizes and all(right <= 375 and height >= 10 for right, height in sizes), sizes
