"""A town reached by its path prefix, in a real Chromium against a real uvicorn: the booking
form's script fetches its check from the town's own API under the prefix (static/js/site.js),
the booking goes through and the browser stays in the town."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
import pytest
from playwright.async_api import Page, Response
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from tests.app.browser.test_citizen_browser import browser_page as browser_page
from tests.app.browser.test_proof_browser import fill_details
from tests.app.pages.helpers import walk_to_details
from tests.app.pages.seed import Seed
from tests.chromium import have_chromium
from tests.conftest import live_server, require
from tests.tenants.prefix_support import PREFIX, TOWN_B, addresses, outside, prefixed_world
from tests.tenants.world import TownB

pytestmark = [pytest.mark.browser,
              pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


@dataclass
class Site:
    app: Starlette
    base: str  # the server's address, which is town A's (the default) without the prefix
    town_b: TownB


@pytest.fixture
async def site(settings_factory: Callable[..., Settings]) -> AsyncIterator[Site]:
    require(have_chromium(), "chromium")
    application = create_app(settings_factory(proof_of_work=True))
    async with live_server(application) as base:
        _, b = await prefixed_world(application)
        yield Site(application, base, b)


async def test_the_booking_form_s_check_and_booking_stay_under_the_prefix(
        site: Site, browser_page: Page) -> None:
    page = browser_page
    b = site.town_b
    async with httpx.AsyncClient(base_url=site.base + PREFIX) as client:
        day, slot, _ = await walk_to_details(client, Seed(b.office, b.service, b.service))
    fetched: list[tuple[str, int]] = []

    def record(response: Response) -> None:
        fetched.append((response.url, response.status))

    page.on("response", record)
    await page.goto(str(httpx.URL(f"{site.base}{PREFIX}/book",
                                  params={"service": b.service, "day": day, "slot": slot})))
    assert await page.get_attribute("html", "data-root") == PREFIX
    await fill_details(page)  # while the worker solves
    await page.wait_for_function(
        "() => document.querySelector('input[name=altcha]').value !== ''", timeout=20_000)
    challenge = [(url, status) for url, status in fetched if "/api/v1/challenge" in url]
    assert challenge == [(f"{site.base}{PREFIX}/api/v1/challenge", 200)], fetched
    await page.click("#book")
    await page.wait_for_url(f"{site.base}{PREFIX}/book/done")
    assert f"· {TOWN_B}" in await page.inner_text("header")
    assert outside(addresses(await page.content())) == []
    # Everything the browser fetched is B's (under the prefix) or the installation's files.
    own = [url.removeprefix(site.base) for url, _ in fetched if url.startswith(site.base)]
    assert all(path.startswith((f"{PREFIX}/", "/static/")) for path in own), own
    assert all(status < 400 for _, status in fetched), fetched
