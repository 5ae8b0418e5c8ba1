"""A real Chromium against a real uvicorn: book with the keyboard only, then check every citizen
page with axe-core in German and English."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page
from sqlalchemy import update
from sqlmodel import col
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from booking.models import Appointment
from core.types import utcnow
from tests.app.pages.helpers import load, token_of
from tests.app.pages.seed import Seed, app_ctx, seed
from tests.axe import axe_violations, describe
from tests.chromium import have_chromium
from tests.conftest import RENDERED_ONLY, live_server, require

pytestmark = pytest.mark.browser

SCREENSHOTS = Path("/tmp")


@dataclass
class Site:
    app: Starlette
    base: str
    seed: Seed


@pytest.fixture
async def site(settings: Settings) -> AsyncIterator[Site]:
    require(have_chromium(), "chromium")
    application = create_app(settings)
    async with live_server(application) as base:
        seeded = await seed(application, two_offices=True)
        yield Site(application, base, seeded)


@pytest.fixture
async def browser_page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(
        viewport={"width": 375, "height": 812}, locale="de-DE", timezone_id="Europe/Berlin")
    page = await context.new_page()
    # Script errors and Content-Security-Policy violations show up on the console.
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        yield page
    finally:
        await context.close()
    # 404 and 409 pages are expected by the tests and log a failed resource load.
    unexpected = [p for p in problems if "Failed to load resource" not in p]
    assert unexpected == []


# --- keyboard helpers ------------------------------------------------------------------------


async def tab_to(page: Page, selector: str, limit: int = 60) -> None:
    """Press Tab until the element matching ``selector`` has the focus."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await page.evaluate(
            "(sel) => document.activeElement !== null && document.activeElement.matches(sel)",
            selector,
        ):
            return
    raise AssertionError(f"Tab never reached {selector}")


async def focused_is_visible(page: Page) -> bool:
    return bool(await page.evaluate("""() => {
        const el = document.activeElement;
        if (!el || el === document.body) return false;
        const box = el.getBoundingClientRect();
        const style = getComputedStyle(el);
        return box.width > 0 && box.height > 0 && style.visibility !== "hidden";
    }"""))


# --- the tests ---------------------------------------------------------------------------------


async def test_book_with_the_keyboard_only(site: Site, browser_page: Page) -> None:
    page = browser_page
    await page.goto(f"{site.base}/")
    await page.screenshot(path=str(SCREENSHOTS / "citizen-start-375.png"), full_page=True)

    # The skip link is the first stop and becomes visible.
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.className") == "skip-link"
    assert await focused_is_visible(page)

    await tab_to(page, "#start-booking")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/book")
    assert "Schritt 1 von 5" in await page.inner_text("main")

    # Service: the first radio, Space selects it, then on to "Weiter".
    await tab_to(page, "#service")
    await page.keyboard.press("Space")
    await tab_to(page, "#continue")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("text=Mit welchem Bürgerbüro möchten Sie sprechen?")

    # Office: arrow keys move within the radio group.
    await tab_to(page, "input[name=office]")
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("ArrowUp")
    await tab_to(page, "#continue")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("text=An welchem Tag passt es Ihnen?")

    await tab_to(page, "#day")
    await page.keyboard.press("Space")
    await tab_to(page, "#continue")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("text=Um wie viel Uhr passt es Ihnen?")
    await page.screenshot(path=str(SCREENSHOTS / "citizen-slot-375.png"), full_page=True)

    await tab_to(page, "#slot")
    await page.keyboard.press("Space")
    assert await page.is_checked("#slot")
    await page.screenshot(path=str(SCREENSHOTS / "citizen-slot-focus-375.png"))
    await tab_to(page, "#continue")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("text=Zu Ihrer Person")

    # Sending the empty form shows the error summary, which takes the focus.
    await tab_to(page, "#book")
    await page.keyboard.press("Enter")
    await page.wait_for_selector(".error-summary")
    assert await page.evaluate("document.activeElement.classList.contains('error-summary')")
    await page.screenshot(path=str(SCREENSHOTS / "citizen-details-errors-375.png"),
                          full_page=True)

    await tab_to(page, "#given_name")
    await page.keyboard.type("Erika")
    await tab_to(page, "#family_name")
    await page.keyboard.type("Mustermann")
    await tab_to(page, "#email")
    await page.keyboard.type("erika@example.org")
    await tab_to(page, "#consent")
    await page.keyboard.press("Space")
    await tab_to(page, "#book")
    assert await focused_is_visible(page)
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/book/done")
    assert "Fast geschafft" in await page.inner_text("h1")
    reference = (await page.inner_text("#appointment-summary dd")).strip()
    assert (await load(site.app, reference)).status == "reserved"

    # The link from the e-mail: confirm with the keyboard.
    token = await token_of(site.app, reference)
    await page.goto(f"{site.base}/t/{token}")
    await tab_to(page, "#confirm")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**?done=confirmed")
    assert (await load(site.app, reference)).status == "confirmed"


@RENDERED_ONLY
async def test_every_citizen_page_passes_axe(site: Site, browser_page: Page) -> None:
    page = browser_page
    base = site.base
    s = site.seed
    failures: list[str] = []
    checked: list[str] = []

    async def check(url: str, name: str) -> None:
        response = await page.goto(url)
        assert response is not None
        violations = await axe_violations(page)
        checked.append(f"{name} {response.status}")
        if violations:
            failures.append(f"{name} ({url}):\n{describe(violations)}")
        # The smallest phones: nothing may need sideways scrolling at 320 px.
        if await page.evaluate("document.documentElement.scrollWidth > window.innerWidth"):
            failures.append(f"{name} ({url}): wider than the 320 px screen")

    await page.set_viewport_size({"width": 320, "height": 640})
    # Canary: axe runs under our Content-Security-Policy and does find a planted violation.
    await page.goto(f"{base}/")
    await page.evaluate("""() => {
        const img = document.createElement("img");
        img.src = "/static/css/app.css";
        document.querySelector("main").appendChild(img);
    }""")
    assert "image-alt" in {v["id"] for v in await axe_violations(page)}

    async def first_value(name: str) -> str:
        value: str | None = await page.get_attribute(f"input[name={name}]", "value")
        assert value
        return value

    # Appointments in every state the link page can show.
    async def book_one(email: str, pick: int) -> str:
        await page.goto(f"{base}/book?service={s.service_id}&office={s.office_id}")
        days = [await day.get_attribute("value") or ""
                for day in await page.locator("input[name=day]").all()]
        # The first day may be nearly over (late in the afternoon): take one with enough slots.
        for day in days:
            await page.goto(f"{base}/book?service={s.service_id}&office={s.office_id}&day={day}")
            if await page.locator("input[name=slot]").count() > pick:
                break
        slot = (await page.locator("input[name=slot]").nth(pick).get_attribute("value")) or ""
        await page.goto(f"{base}/book?service={s.service_id}&office={s.office_id}&day={day}"
                        f"&slot={slot.replace('+', '%2B')}")
        await page.fill("#given_name", "Erika")
        await page.fill("#family_name", "Mustermann")
        await page.fill("#email", email)
        await page.check("#consent")
        await page.click("#book")
        await page.wait_for_url("**/book/done")
        return (await page.inner_text("#appointment-summary dd")).strip()

    reserved = await book_one("a@example.org", 0)
    confirmed = await book_one("b@example.org", 1)
    cancelled = await book_one("c@example.org", 2)
    expired = await book_one("d@example.org", 3)
    links = {name: f"{base}/t/{await token_of(site.app, ref)}" for name, ref in
             (("reserved", reserved), ("confirmed", confirmed), ("cancelled", cancelled),
              ("expired", expired))}
    await page.goto(links["confirmed"])
    await page.click("#confirm")
    await page.wait_for_url("**?done=confirmed")
    await page.goto(f"{links['cancelled']}/cancel")
    await page.click("#cancel-confirm")
    await page.wait_for_url("**?done=cancelled")
    async with app_ctx(site.app).db.transaction(write=True) as session:
        await session.execute(update(Appointment).where(col(Appointment.reference) == expired)
                              .values(hold_expires_at=utcnow() - timedelta(minutes=1)))

    await page.goto(f"{base}/book?service={s.service_id}&office={s.office_id}")
    day = await first_value("day")
    await page.goto(f"{base}/book?service={s.service_id}&office={s.office_id}&day={day}")
    slot = (await first_value("slot")).replace("+", "%2B")
    flow = f"{base}/book?service={s.service_id}&office={s.office_id}"

    for lang in ("de", "en"):
        q = f"lang={lang}"
        await check(f"{base}/?{q}", f"start {lang}")
        await check(f"{base}/privacy?{q}", f"privacy {lang}")
        await check(f"{base}/book?{q}", f"service step {lang}")
        await check(f"{base}/book?step=service&{q}", f"service step with error {lang}")
        await check(f"{base}/book?service={s.service_id}&{q}", f"office step {lang}")
        await check(f"{flow}&{q}", f"day step {lang}")
        await check(f"{flow}&step=day&{q}", f"day step with error {lang}")
        await check(f"{flow}&day={day}&{q}", f"slot step {lang}")
        await check(f"{flow}&day={day}&slot={slot}&{q}", f"details step {lang}")
        await page.click("#book")  # empty form: the page with the error summary
        await page.wait_for_selector(".error-summary")
        violations = await axe_violations(page)
        checked.append(f"details with errors {lang}")
        if violations:
            failures.append(f"details with errors {lang}:\n{describe(violations)}")
        await check(f"{base}/book/done?{q}", f"done {lang}")
        for state, link in links.items():
            await check(f"{link}?{q}", f"appointment {state} {lang}")
        await check(f"{links['confirmed']}?done=confirmed&{q}", f"confirmed notice {lang}")
        await check(f"{links['reserved']}/cancel?{q}", f"cancel step {lang}")
        await check(f"{links['reserved']}/reschedule?{q}", f"reschedule day {lang}")
        await check(f"{links['reserved']}/reschedule?day={day}&{q}", f"reschedule time {lang}")
        await check(f"{base}/t/{'A' * 43}?{q}", f"invalid link {lang}")
        await check(f"{base}/no-such-page?{q}", f"error page {lang}")

    assert len(checked) == 2 * 21, checked
    assert not failures, "\n\n".join(failures)
