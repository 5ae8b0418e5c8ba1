"""axe-core (WCAG 2.1 AA) on every staff and admin page, in a real Chromium against uvicorn:
empty and filled lists, forms, forms with errors, the delete confirmation, in German and
English, on a desk screen and a phone."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, Page

from app.main import create_app
from app.settings import Settings
from tests.app.admin.test_jobs_page import add_failed_job
from tests.axe import axe_violations, describe
from tests.conftest import RENDERED_ONLY, live_server
from tests.staff.helpers import (
    ADMIN_EMAIL,
    PASSWORD,
    add_appointment,
    add_office,
    add_schedule,
    add_service,
    add_user,
)

pytestmark = pytest.mark.browser

@pytest.fixture
async def browser_page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="de-DE", timezone_id="Europe/Berlin")
    try:
        yield await context.new_page()
    finally:
        await context.close()


async def page_passes_axe(page: Page, url: str, status: int = 200) -> None:
    """Open ``url`` (expecting ``status``) and assert that axe-core finds nothing."""
    response = await page.goto(url)
    assert response is not None and response.status == status, (url, response and response.status)
    found = await axe_violations(page)
    assert found == [], f"{url}\n{describe(found)}"


async def check(page: Page, url: str, seen: list[str]) -> None:
    response = await page.goto(url)
    assert response is not None and response.status < 400, (url, response and response.status)
    found = await axe_violations(page)
    assert found == [], f"{url}\n{describe(found)}"
    seen.append(url)


@RENDERED_ONLY
async def test_staff_and_admin_pages_pass_axe(
    settings: Settings, browser_page: Page
) -> None:
    application = create_app(settings)
    async with live_server(application) as base:
        office_id = await add_office(application, "Bürgerbüro Mitte")
        service_id = await add_service(application, [office_id])
        schedule_id = await add_schedule(application, office_id, [service_id])
        await add_user(application, ADMIN_EMAIL, "admin", office_ids=[office_id])
        zone = ZoneInfo("Europe/Berlin")
        today = dt.datetime.now(zone).date()
        for hour, status in ((9, "confirmed"), (10, "reserved"), (11, "cancelled")):
            await add_appointment(application, office_id=office_id, service_id=service_id,
                                  schedule_id=schedule_id, status=status,
                                  start=dt.datetime.combine(today, dt.time(hour), zone))
        page = browser_page
        seen: list[str] = []

        await check(page, f"{base}/staff/login", seen)
        # A failed login shows errors beside the fields.
        await page.fill("#email", ADMIN_EMAIL)
        await page.fill("#password", "not the password")
        await page.click("#login")
        await page.wait_for_selector("#password-error")
        assert await axe_violations(page) == []

        await page.goto(f"{base}/staff/login")
        await page.fill("#email", ADMIN_EMAIL)
        await page.fill("#password", PASSWORD)
        await page.click("#login")
        await page.wait_for_url(f"{base}/staff")

        for lang in ("de", "en"):
            await check(page, f"{base}/staff?lang={lang}", seen)
            await check(page, f"{base}/staff?date=2001-01-01", seen)  # an empty day
            await check(page, f"{base}/admin", seen)
            for resource in ("offices", "services", "schedules", "closures", "users"):
                await check(page, f"{base}/admin/{resource}", seen)
                await check(page, f"{base}/admin/{resource}/new", seen)
            await check(page, f"{base}/admin/offices/{office_id}", seen)
            await check(page, f"{base}/admin/services/{service_id}", seen)
            await check(page, f"{base}/admin/schedules/{schedule_id}", seen)
            await check(page, f"{base}/admin/offices/{office_id}/delete", seen)
            await check(page, f"{base}/admin/jobs?lang={lang}", seen)  # nothing failed
        await add_failed_job(application)
        await check(page, f"{base}/admin/jobs", seen)  # a failed job with its retry button

        # A form with errors beside several fields.
        await page.goto(f"{base}/admin/offices/new")
        await page.fill("#name", "Bürgerbüro Nord")
        await page.fill("#timezone", "Mars/Olympus")
        await page.fill("#iban", "DE00 0000")
        await page.click("#save")
        await page.wait_for_selector("#timezone-error")
        found = await axe_violations(page)
        assert found == [], describe(found)

        # A refused delete shows its reason.
        await page.goto(f"{base}/admin/services/{service_id}/delete")
        await page.click("#confirm-delete")
        await page.wait_for_selector("#delete-alert")
        found = await axe_violations(page)
        assert found == [], describe(found)

        # The same on a phone.
        await page.set_viewport_size({"width": 375, "height": 812})
        for url in (f"{base}/staff", f"{base}/admin/services",
                    f"{base}/admin/schedules/new"):
            await check(page, url, seen)
        assert len(seen) > 30
