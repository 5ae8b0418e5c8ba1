"""``/document-status`` and the staff upload in a real Chromium against uvicorn: the lookup and
the e-mail form with the keyboard only on a 375 px phone, the same without JavaScript, and
axe-core (WCAG 2.1 AA) on every state of the pages, in German and English."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from playwright.async_api import Browser, Page
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from booking.models import Office
from core.audit import Actor
from idstatus.serials import SerialKeys
from idstatus.service import Report, store
from tests.app.browser.test_citizen_browser import (
    focused_is_visible,
    tab_to,
)
from tests.app.pages.seed import app_ctx
from tests.axe import axe_violations, describe
from tests.chromium import have_chromium
from tests.conftest import RENDERED_ONLY, live_server, require
from tests.staff.helpers import (
    ADMIN_EMAIL,
    PASSWORD,
    add_office,
    add_schedule,
    add_service,
    add_user,
)

pytestmark = pytest.mark.browser

# One document per state; the numbers are the page's input, never stored.
NUMBERS = {"in_production": "L01X00T47", "shipped": "C01X00T48", "ready": "C01X00T49",
           "collected": "C01X00T50"}


@dataclass
class Site:
    app: Starlette
    base: str


async def seed(app: Starlette) -> None:
    office_id = await add_office(app, "Bürgerservice im Rathaus Meschede")
    service = await add_service(app, [office_id])
    await add_schedule(app, office_id, [service], start=dt.time(8), end=dt.time(12),
                       weekdays="0,1,2,3,4")
    await add_schedule(app, office_id, [service], start=dt.time(14), end=dt.time(18),
                       weekdays="3")
    await add_user(app, ADMIN_EMAIL, "admin")
    state = app_ctx(app)
    keys = SerialKeys(state.secret_key)
    at = dt.datetime(2026, 11, 12, 9, tzinfo=dt.UTC)
    async with state.db.transaction(write=True) as session:
        office = await session.get(Office, office_id)
        assert office is not None
        office.address = "Franz-Stahlmecke-Platz 2\n59872 Meschede"
        await store(session, office_id, [Report("id_card", keys.hash(number), status, at)
                                         for status, number in NUMBERS.items()],
                    actor=Actor.system(), source="api")


@pytest.fixture
async def site(settings: Settings) -> AsyncIterator[Site]:
    require(have_chromium(), "chromium")
    application = create_app(settings)
    async with live_server(application) as base:
        await seed(application)
        yield Site(application, base)


@pytest.fixture
async def phone(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 375, "height": 812}, locale="de-DE",
                                        timezone_id="Europe/Berlin")
    page = await context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        yield page
    finally:
        await context.close()
    assert [p for p in problems if "Failed to load resource" not in p] == []


async def test_lookup_and_notify_with_the_keyboard_on_a_phone(site: Site, phone: Page) -> None:
    page = phone
    await page.goto(f"{site.base}/")
    await tab_to(page, "#document-status-link")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/document-status")

    # Sent empty: the error summary takes the focus.
    await tab_to(page, "#document-status-submit")
    await page.keyboard.press("Enter")
    await page.wait_for_selector(".error-summary")
    assert await page.evaluate("document.activeElement.classList.contains('error-summary')")

    await tab_to(page, "#document_type")
    await page.keyboard.press("Space")
    assert await page.is_checked("#document_type")
    await tab_to(page, "#serial")
    await page.keyboard.press("Control+a")
    await page.keyboard.type("l01x 00t47")
    await tab_to(page, "#document-status-submit")
    assert await focused_is_visible(page)
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#document-status-result")
    assert await page.inner_text("#result-title") == \
        "Ihr Ausweis wird in der Bundesdruckerei hergestellt."
    assert "Montag" in await page.inner_text("#opening-hours")

    await tab_to(page, "#email")
    await page.keyboard.type("erika@example.org")
    await tab_to(page, "#notify-submit")
    assert await focused_is_visible(page)
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#notify-saved")
    assert not await page.evaluate("document.documentElement.scrollWidth > window.innerWidth")


async def test_works_without_javascript(site: Site, browser: Browser) -> None:
    context = await browser.new_context(java_script_enabled=False, locale="de-DE",
                                        viewport={"width": 375, "height": 812})
    try:
        page = await context.new_page()
        await page.goto(f"{site.base}/document-status")
        await page.check("#document_type")
        await page.fill("#serial", NUMBERS["ready"])
        await page.click("#document-status-submit")
        await page.wait_for_selector("#document-status-result")
        assert await page.inner_text("#result-title") == "Ihr Ausweis liegt zur Abholung bereit."
        assert await page.get_attribute("#book-pickup", "href") == "/book"
        await page.goto(f"{site.base}/")
        await page.fill("#email", "erika@example.org")
        await page.click("#resend-submit")
        await page.wait_for_selector("#resend-sent")
    finally:
        await context.close()


async def _lookup(page: Page, base: str, serial: str, kind: str = "id_card") -> None:
    await page.goto(f"{base}/document-status")
    await page.check(f"input[name=document_type][value={kind}]")
    await page.fill("#serial", serial)
    await page.click("#document-status-submit")
    await page.wait_for_load_state()


@RENDERED_ONLY
async def test_every_state_passes_axe(site: Site, browser: Browser) -> None:
    failures: list[str] = []
    checked: list[str] = []

    async def audit(page: Page, name: str) -> None:
        checked.append(name)
        violations = await axe_violations(page)
        if violations:
            failures.append(f"{name}:\n{describe(violations)}")
        if await page.evaluate("document.documentElement.scrollWidth > window.innerWidth"):
            failures.append(f"{name}: wider than the screen")

    for width, lang in ((320, "de"), (1280, "en")):
        context = await browser.new_context(viewport={"width": width, "height": 800},
                                            locale="de-DE")
        page = await context.new_page()
        base = site.base
        await page.goto(f"{base}/document-status?lang={lang}")
        await audit(page, f"form {width} {lang}")
        await _lookup(page, base, "")
        await audit(page, f"errors {width} {lang}")
        await _lookup(page, base, "T22000129")
        await audit(page, f"not found {width} {lang}")
        for status, number in NUMBERS.items():
            await _lookup(page, base, number)
            await audit(page, f"{status} {width} {lang}")
        await _lookup(page, base, NUMBERS["shipped"])
        await page.fill("#email", "erika")
        await page.click("#notify-submit")
        await audit(page, f"e-mail error {width} {lang}")
        await page.fill("#email", "erika@example.org")
        await page.click("#notify-submit")
        await page.wait_for_selector("#notify-saved")
        await audit(page, f"told {width} {lang}")
        await page.goto(f"{base}/links/resend")
        await audit(page, f"lost link {width} {lang}")
        await page.click("#resend-submit")
        await audit(page, f"lost link error {width} {lang}")
        await page.fill("#email", "erika@example.org")
        await page.click("#resend-submit")
        await page.wait_for_selector("#resend-sent")
        await audit(page, f"lost link sent {width} {lang}")

        # The staff pages, signed in as the admin.
        await page.goto(f"{base}/staff/login")
        await page.fill("#email", ADMIN_EMAIL)
        await page.fill("#password", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url("**/staff")
        await page.goto(f"{base}/staff/document-status")
        await audit(page, f"upload {width} {lang}")
        await page.set_input_files("#file", files=[{
            "name": "export.csv", "mimeType": "text/csv",
            "buffer": b"Dokumentart;Seriennummer;Status;Datum\nPersonalausweis;L01X00T47;"
                      b"Abholbereit;13.11.2026\nReisepass;L01X00T4O;Abholbereit;x\n"}])
        await page.click("#upload-submit")
        await page.wait_for_selector("#upload-summary")
        await audit(page, f"upload result {width} {lang}")
        await page.click("#mapping-links a")
        await audit(page, f"mapping {width} {lang}")
        await page.fill("#statuses", "Abholbereit = fertig")
        await page.click("#mapping-submit")
        await page.wait_for_selector(".error-summary")
        await audit(page, f"mapping errors {width} {lang}")
        await context.close()
    assert failures == [], "\n\n".join(failures)
    assert len(checked) == 2 * 16
