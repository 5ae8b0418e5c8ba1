"""The waitlist's pages in a real Chromium against uvicorn, with axe-core (WCAG 2.1 AA): the
booking's day step points to the waitlist when no day is free, the form (in German, with a bad
entry, and in English), the entry's link page while waiting and with an offer (accepted from the
keyboard), a 375 px phone, and the admin's length per service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time

import httpx
import pytest
from playwright.async_api import Page
from sqlalchemy import select

from app.api.waitlist import match_offices, settled
from app.context import AppContext
from app.main import create_app
from app.settings import Settings
from booking.waitlist import WaitlistWish
from tests.app.api.waitlist_support import DAY
from tests.axe import axe_violations, describe
from tests.booking.factories import world
from tests.conftest import RENDERED_ONLY, live_server
from tests.staff import test_accessibility as staff_axe
from tests.staff.helpers import ADMIN_EMAIL, PASSWORD, add_user

browser_page = staff_axe.browser_page

pytestmark = pytest.mark.browser


async def check(page: Page, url: str | None = None, status: int = 200) -> None:
    if url is not None:
        response = await page.goto(url)
        assert response is not None and response.status == status, (url, response.status
                                                                       if response else None)
    found = await axe_violations(page)
    assert found == [], f"{page.url}\n{describe(found)}"


@RENDERED_ONLY
async def test_waitlist_pages_pass_axe(settings_factory: Callable[..., Settings],
                                       browser_page: Page, db_url: str) -> None:
    # With the proof of work, as installations run: the form's script solves it.
    settings = settings_factory(proof_of_work=True, proof_of_work_max_number=2_000)
    from app.db import Database

    db = Database(db_url)
    w = await world(db, end=time(9, 15))  # one place a day
    application = create_app(settings)
    page = browser_page
    async with live_server(application) as base, httpx.AsyncClient(base_url=base) as client:
        state = application.state.ctx
        assert isinstance(state, AppContext)
        # Every place of the booking window taken: the day step offers the waitlist.
        async with db.transaction(write=True) as session:
            from sqlalchemy import update

            from booking.models import Office, Schedule
            await session.execute(update(Office).values(horizon_days=3))
        for offset in range(0, 4):
            day = DAY.fromordinal(DAY.toordinal() - 3 + offset)
            r = await client.post("/api/v1/appointments", json={
                "service_id": w.service_id, "office_id": w.office_id,
                "start": f"{day.isoformat()}T09:00:00+01:00",
                "citizen": {"given_name": "Anna", "family_name": "Muster",
                            "email": f"anna{offset}@example.org"}})
            assert r.status_code in (201, 422), r.text  # today's may be past
        await check(page, f"{base}/book?service={w.service_id}&office={w.office_id}")
        await page.click("#waitlist-link")
        await page.wait_for_selector("#waitlist-form")
        await check(page)
        assert "Warteliste" in await page.locator("h1").inner_text()

        # A bad entry: the error summary and the fields say what is wrong.
        await page.fill("#from_date", DAY.isoformat())
        await page.fill("#to_date", DAY.isoformat())
        await page.fill("#from_time", "10:00")
        await page.fill("#to_time", "09:00")
        await page.fill("#given_name", "Berta")
        await page.fill("#family_name", "Muster")
        await page.fill("#email", "berta@example.org")
        await page.click("#waitlist-submit")
        await page.wait_for_selector(".error-summary")
        await check(page)
        assert "Uhrzeit" in await page.locator(".error-summary").inner_text()
        await page.fill("#from_time", "08:00")
        await page.fill("#to_time", "12:00")
        await page.check("#weekday-" + str(DAY.weekday()))
        await page.click("#waitlist-submit")
        await page.wait_for_selector("#waitlist-done")
        await check(page)

        async with db.transaction() as session:
            nonce = (await session.execute(select(WaitlistWish.link_nonce))).scalar_one()  # type: ignore[call-overload]
        token = state.links.token_for(nonce)
        await check(page, f"{base}/t/{token}")
        assert await page.locator("#offer").count() == 0
        await check(page, f"{base}/waitlist?service={w.service_id}&office={w.office_id}&lang=en")

        # More capacity frees a place: the page shows the offer; it is accepted by keyboard.
        async with db.transaction(write=True) as session:
            await session.execute(update(Schedule).values(capacity=2))
        await settled(state)
        assert await match_offices(state, None) == 1
        await page.set_viewport_size({"width": 375, "height": 800})
        await check(page, f"{base}/t/{token}")
        await page.focus("#accept")
        await page.keyboard.press("Enter")
        await page.wait_for_selector("#appointment-link")
        await check(page)
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375

        await page.set_viewport_size({"width": 1280, "height": 900})
        await add_user(application, ADMIN_EMAIL, role="admin")
        await page.goto(f"{base}/staff/login")
        await page.fill("#email", ADMIN_EMAIL)
        await page.fill("#password", PASSWORD)
        await page.click("#login")
        await page.wait_for_url(f"{base}/staff")
        await check(page, f"{base}/admin/waitlist")
        assert await page.locator("#waitlist-table tbody tr").count() == 1
    await db.dispose()
