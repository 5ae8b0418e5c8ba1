"""The schedule form in Chromium: choosing an office hides (and unticks) the services of other
offices; the form passes axe-core."""

from __future__ import annotations

import pytest

from tests.app.browser.test_call_browser import (
    DESK,
    Browsers,
    Site,
    browsers,
    site,
)
from tests.app.pages.call_helpers import PASSWORD, add_clerk, quick_hashes
from tests.axe import axe_violations, describe
from tests.staff.helpers import add_service

__all__ = ["browsers", "quick_hashes", "site"]
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("quick_hashes")]

ADMIN = "admin.schedules@musterstadt.example"


async def test_choosing_the_office_shows_only_its_services(
    site: Site, browsers: Browsers
) -> None:
    other = await add_service(site.app, [site.seed.other_office_id], name="Führungszeugnis")
    await add_clerk(site.app, [], email=ADMIN, role="admin")
    page = await browsers.page("admin", DESK)
    await page.goto(f"{site.base}/staff/login")
    await page.fill("#email", ADMIN)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]:not(#logout)")
    await page.wait_for_load_state()
    await page.goto(f"{site.base}/admin/schedules/new")
    box = f'.choice[data-offices] input[value="{other}"]'
    mine = f'.choice[data-offices] input[value="{site.seed.service_id}"]'
    # The server lists every service, named with its offices; the script shows only those of
    # the office the list starts with.
    assert "Führungszeugnis (Bürgerbüro Nordstadt)" in await page.content()
    assert await page.input_value("#office_id") == str(site.seed.office_id)
    assert await page.is_hidden(box) and await page.is_visible(mine)
    await page.select_option("#office_id", str(site.seed.other_office_id))
    assert await page.is_visible(box) and await page.is_hidden(mine)
    await page.check(box)
    await page.select_option("#office_id", str(site.seed.office_id))
    assert await page.is_hidden(box) and await page.is_visible(mine)
    assert not await page.is_checked(box)  # hidden means not sent
    violations = await axe_violations(page)
    assert violations == [], describe(violations)
