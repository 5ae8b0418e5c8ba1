"""axe-core (WCAG 2.1 AA) in a real Chromium against uvicorn, on a desk screen and on a 375 px
phone, for what the appointment channels add or change: the booking flow's channel step (and
its error), the details step of a phone appointment, the link pages on site and by phone, the
call page's refusal, the agenda with every channel and the desk page; German and English. The
channel step works by keyboard."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from playwright.async_api import Page
from sqlalchemy import update
from sqlmodel import col

from app.main import create_app
from app.settings import Settings
from booking.models import Appointment, Service
from tests.axe import axe_violations, describe
from tests.cases.conftest import CLERK_A, Desk, build_desk
from tests.conftest import RENDERED_ONLY, live_server
from tests.staff import test_accessibility as staff_axe
from tests.staff.helpers import PASSWORD

browser_page = staff_axe.browser_page

pytestmark = pytest.mark.browser

SIZES = ({"width": 1280, "height": 900}, {"width": 375, "height": 740})


async def check(page: Page, url: str, status: int = 200) -> None:
    response = await page.goto(url)
    assert response is not None and response.status == status, (url, response and response.status)
    found = await axe_violations(page)
    assert found == [], f"{url}\n{describe(found)}"
    # Nothing wider than the screen (a 375 px phone scrolls only up and down).
    wide = await page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth")
    assert not wide, url


async def as_channel(desk: Desk, channel: str) -> tuple[str, str]:
    reference, token = await desk.appointment(start_in=dt.timedelta(hours=2))
    async with desk.state.db.transaction(write=True) as session:
        await session.execute(update(Appointment).where(col(Appointment.reference) == reference)
                              .values(channel=channel, phone="0711 1234567"))
    return reference, token


@RENDERED_ONLY
@pytest.mark.usefixtures("office_hours")  # the appointments in 2 hours are on today's agenda
async def test_channel_pages_pass_axe(settings: Settings, browser_page: Page) -> None:
    application = create_app(settings)
    async with live_server(application) as base, httpx.AsyncClient(base_url=base) as client:
        desk = await build_desk(application, client)
        async with desk.state.db.transaction(write=True) as session:
            await session.execute(update(Service).where(col(Service.id) == desk.certificate)
                                  .values(onsite=True, phone=True,
                                          bring="Ihre alte Meldebescheinigung"))
        await as_channel(desk, "video")
        onsite, onsite_token = await as_channel(desk, "onsite")
        phone, phone_token = await as_channel(desk, "phone")
        page = browser_page
        step = f"{base}/book?service={desk.certificate}&office={desk.office_a}"

        for size in SIZES:
            await page.set_viewport_size(size)  # type: ignore[arg-type]
            for lang in ("de", "en"):
                await check(page, f"{step}&lang={lang}")
                await check(page, f"{step}&step=channel&lang={lang}", 422)
                await check(page, f"{base}/t/{onsite_token}?lang={lang}")
                await check(page, f"{base}/t/{phone_token}?lang={lang}")
                await check(page, f"{base}/t/{onsite_token}/call?lang={lang}", 409)

        # The channel step by keyboard: Tab to the radios, arrows to choose, Enter to go on.
        await page.set_viewport_size(SIZES[0])  # type: ignore[arg-type]
        await page.goto(step)
        for _ in range(40):
            await page.keyboard.press("Tab")
            if await page.evaluate("() => document.activeElement?.name === 'channel'"):
                break
        else:
            raise AssertionError("Tab never reached the channel radios")
        await page.keyboard.press("ArrowDown")
        await page.keyboard.press("ArrowDown")
        await page.keyboard.press("Enter")
        await page.wait_for_url("**channel=phone**")  # on to the day step (no hours here)
        assert "channel=phone" in page.url and "step=channel" in page.url
        assert await page.locator("input[name=channel]").count() == 0
        assert await axe_violations(page) == []

        await page.goto(f"{base}/staff/login")
        await page.fill("#email", CLERK_A)
        await page.fill("#password", PASSWORD)
        await page.click("#login")
        await page.wait_for_url(f"{base}/staff")
        for size in SIZES:
            await page.set_viewport_size(size)  # type: ignore[arg-type]
            for lang in ("de", "en"):
                await check(page, f"{base}/staff?lang={lang}")
                assert await page.locator(f"#row-{onsite} .channel-cell").inner_text() in (
                    "Vor Ort im Bürgerbüro", "On site at the office")
                await check(page, f"{base}/staff/desk/{onsite}?lang={lang}")
                await check(page, f"{base}/staff/desk/{phone}?lang={lang}")
