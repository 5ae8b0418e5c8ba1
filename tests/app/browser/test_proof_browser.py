"""The booking form with the proof of work on, in a real Chromium against a real uvicorn: the
page solves the challenge in a Web Worker, fills the hidden field and books; it says nothing
while it works and an accessible alert with a retry when it fails; and it passes axe-core."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
import pytest
from playwright.async_api import Page, Route
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from tests.app.browser.test_citizen_browser import browser_page as browser_page
from tests.app.pages.helpers import walk_to_details
from tests.app.pages.seed import Seed, seed
from tests.axe import axe_violations, describe
from tests.chromium import have_chromium
from tests.conftest import RENDERED_ONLY, live_server, require

pytestmark = pytest.mark.browser


@dataclass
class Site:
    app: Starlette
    base: str
    seed: Seed


@pytest.fixture
async def site(settings_factory: Callable[..., Settings]) -> AsyncIterator[Site]:
    require(have_chromium(), "chromium")
    application = create_app(settings_factory(proof_of_work=True))  # the default difficulty
    async with live_server(application) as base:
        yield Site(application, base, await seed(application))


async def details_url(site: Site) -> str:
    async with httpx.AsyncClient(base_url=site.base) as client:
        day, slot, _ = await walk_to_details(client, site.seed)
    return str(httpx.URL(f"{site.base}/book", params={
        "service": site.seed.service_id, "day": day, "slot": slot}))


async def fill_details(page: Page) -> None:
    await page.fill("#given_name", "Erika")
    await page.fill("#family_name", "Mustermann")
    await page.fill("#email", "erika@example.org")
    await page.check("#consent")


async def test_the_form_books_with_the_check_and_passes_axe(site: Site,
                                                            browser_page: Page) -> None:
    page = browser_page
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    await page.goto(await details_url(site))
    await fill_details(page)  # while the worker solves
    await page.wait_for_function(
        "() => document.querySelector('input[name=altcha]').value !== ''", timeout=20_000)
    took_ms = int(await page.get_attribute("form[data-proof-of-work]", "data-proof-ms") or "-1")
    print(f"proof of work solved in {took_ms} ms")
    assert 0 <= took_ms < 5_000
    assert await page.is_hidden("[data-proof-failed]")  # nothing said while all is well
    violations = await axe_violations(page)
    assert violations == [], describe(violations)
    assert await page.evaluate(  # a 375 px phone: nothing wider than the screen
        "() => document.documentElement.scrollWidth <= window.innerWidth")
    assert await page.evaluate("() => document.cookie") == ""  # the check set no cookie
    await page.click("#book")
    await page.wait_for_url("**/book/done")
    # Nothing but our own server was asked.
    assert all(url.startswith(site.base) for url in requests), requests


@RENDERED_ONLY
async def test_a_failed_check_is_announced_and_can_be_retried(site: Site,
                                                              browser_page: Page) -> None:
    page = browser_page

    async def refuse(route: Route) -> None:
        await route.fulfill(status=503, body="")

    await page.route("**/api/v1/challenge", refuse)
    await page.goto(await details_url(site))
    alert = page.locator("[data-proof-failed]")
    await alert.wait_for(state="visible")
    assert await alert.get_attribute("role") == "alert"
    assert "konnte nicht abgeschlossen werden" in await alert.inner_text()
    violations = await axe_violations(page)
    assert violations == [], describe(violations)
    assert await page.evaluate(  # a 375 px phone: nothing wider than the screen
        "() => document.documentElement.scrollWidth <= window.innerWidth")
    await fill_details(page)
    await page.click("#book")  # waits for the check instead of sending an empty field
    assert "/book/done" not in page.url
    await page.unroute("**/api/v1/challenge")
    await page.focus("[data-proof-retry]")
    await page.keyboard.press("Enter")
    await alert.wait_for(state="hidden")
    await page.wait_for_function(
        "() => document.querySelector('input[name=altcha]').value !== ''", timeout=20_000)
    await page.click("#book")
    await page.wait_for_url("**/book/done")
