"""The booking pages for several matters and people in real Chromium: axe-core on the service
step with its further matters and persons, the times for the whole length, and the details
step with a fieldset per further person (also with its errors), in German and English, on a
small phone; and the service step by keyboard."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page

from tests.app.browser.test_citizen_browser import Site, browser_page, site, tab_to
from tests.axe import axe_violations, describe
from tests.conftest import RENDERED_ONLY

__all__ = ["browser_page", "site"]
pytestmark = pytest.mark.browser


@RENDERED_ONLY
async def test_the_family_booking_pages_pass_axe(site: Site, browser_page: Page) -> None:
    page = browser_page
    s = site.seed
    failures: list[str] = []
    checked: list[str] = []
    await page.set_viewport_size({"width": 320, "height": 640})

    async def check(name: str) -> None:
        violations: list[dict[str, Any]] = await axe_violations(page)
        checked.append(name)
        if violations:
            failures.append(f"{name}:\n{describe(violations)}")
        if await page.evaluate("document.documentElement.scrollWidth > window.innerWidth"):
            failures.append(f"{name}: wider than the 320 px screen")

    for lang in ("de", "en"):
        await page.goto(f"{site.base}/book?lang={lang}")
        await check(f"service step {lang}")
        query = (f"service={s.service_id}&also={s.free_service_id}&persons=3"
                 f"&office={s.office_id}")
        await page.goto(f"{site.base}/book?{query}&lang={lang}")
        day = await page.get_attribute("input[name=day]", "value")
        assert day
        await page.goto(f"{site.base}/book?{query}&day={day}&lang={lang}")
        await check(f"times {lang}")
        slot = await page.get_attribute("input[name=slot]", "value")
        assert slot
        await page.goto(f"{site.base}/book?{query}&day={day}&slot={slot}&lang={lang}")
        assert await page.is_visible("#person-3")
        await check(f"details with persons {lang}")
        await page.fill("#given_name", "Erika")
        await page.click("#book")
        await page.wait_for_selector("#p2_given_name[aria-invalid=true]")
        await check(f"details with errors {lang}")
    assert len(checked) == 8, checked
    assert not failures, "\n\n".join(failures)


@RENDERED_ONLY
async def test_further_matters_and_persons_by_keyboard(site: Site, browser_page: Page) -> None:
    page = browser_page
    s = site.seed
    await page.goto(f"{site.base}/book")
    await tab_to(page, "input[name=service]")
    await page.keyboard.press("Space")
    await tab_to(page, f"input[name=also][value='{s.free_service_id}']")
    await page.keyboard.press("Space")
    await tab_to(page, "#persons")
    await page.select_option("#persons", "2")
    await tab_to(page, "#continue")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**persons=2**")
    assert f"also={s.free_service_id}" in page.url
