"""The clerk's desk in real Chromium against a real uvicorn: the clerk logs in and sees the
agenda; the citizen joins the waiting room and the agenda shows it live (no reload); the clerk
joins, admits, both see each other; the clerk records the identity check and completes the
request beside the running call; the citizen's appointment page then shows the case number.
And axe-core on the agenda and on the call page with the panels, in German and English."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page, ViewportSize

from tests.app.browser.test_call_browser import (
    DESK,
    PHONE,
    PLAY_TIMEOUT_MS,
    Browsers,
    Site,
    browsers,
    site,
    wait_playing,
    wait_state,
)
from tests.app.pages.call_helpers import CLERK_EMAIL, PASSWORD, quick_hashes
from tests.app.pages.helpers import load
from tests.axe import axe_violations, describe
from tests.conftest import RENDERED_ONLY

__all__ = ["browsers", "quick_hashes", "site"]
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("quick_hashes")]


async def clerk_to_agenda(page: Page, base: str) -> None:
    await page.goto(f"{base}/staff/login")
    await page.fill("#email", CLERK_EMAIL)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]:not(#logout)")
    await page.wait_for_url(f"{base}/staff")
    # The live status stream is connected.
    await page.wait_for_selector("#agenda[data-live='on']", timeout=PLAY_TIMEOUT_MS)


def row(reference: str) -> str:
    return f"tr[data-reference='{reference}']"


async def fill_identity_check(clerk: Page) -> None:
    """What a clerk ticks for a German ID card held to the camera."""
    await clerk.check("#document_type")  # ID card
    # Only the ID card's security features are shown now (all of them without JavaScript).
    assert await clerk.is_visible("fieldset[data-doc-type='id_card']")
    assert not await clerk.is_visible("fieldset[data-doc-type='passport']")
    for box in ("#photo_matches", "#name_matches", "#birth_date_matches", "#document_valid"):
        await clerk.check(box)
    await clerk.fill("#valid_until", "2031-05-31")
    for feature in ("hologram", "colour_shift", "tactile_relief"):
        await clerk.check(f"#feature-id_card-{feature}")
    assert "3 von mindestens 3" in await clerk.inner_text("#feature-count")
    await clerk.check("#security_questions")
    assert not await clerk.is_visible("#reason_code")  # only for a failed check
    await clerk.check("#outcome")  # verified


async def test_clerk_admits_checks_identity_and_completes(site: Site, browsers: Browsers) -> None:
    clerk = await browsers.page("clerk", DESK)
    citizen = await browsers.page("citizen", PHONE)

    # The clerk starts the day on the agenda: the appointment is there, nobody waits yet.
    await clerk_to_agenda(clerk, site.base)
    assert await clerk.get_attribute(row(site.reference), "data-waiting") == "no"
    assert await clerk.is_visible(f"{row(site.reference)} [data-join]")
    await clerk.evaluate("() => { window.__sameAgenda = true; }")

    # The citizen joins the waiting room ...
    await citizen.goto(f"{site.base}/t/{site.token}/call")
    await wait_playing(citizen, "#local-video")
    await citizen.click("#join")
    await wait_state(citizen, "#connection-state", "data-state", "waiting")

    # ... and the agenda shows it without a reload, and says so politely.
    await wait_state(clerk, row(site.reference), "data-waiting", "yes")
    assert await clerk.evaluate("() => window.__sameAgenda === true")
    assert await clerk.is_visible(f"{row(site.reference)} [data-waiting-badge]")
    assert "Jetzt wartend" in await clerk.inner_text(row(site.reference))
    await clerk.wait_for_function(
        "() => document.querySelector('#agenda-live').textContent.includes('wartet jetzt')",
        timeout=PLAY_TIMEOUT_MS)
    assert await clerk.get_attribute("#agenda-live", "aria-live") == "polite"
    await clerk.screenshot(path="/tmp/desk-agenda-waiting.png", full_page=True)

    # One click joins the call; the clerk admits; both see each other.
    await clerk.click(f"{row(site.reference)} [data-join]")
    await clerk.wait_for_url(f"**/staff/call/{site.reference}")
    await wait_state(clerk, "#waiting-indicator", "data-waiting", "yes")
    await clerk.click("#admit")
    await wait_playing(citizen, "#remote-video")
    await wait_playing(clerk, "#remote-video")
    assert await clerk.evaluate("() => document.querySelector('#remote-video').videoWidth") > 0
    assert await citizen.evaluate("() => document.querySelector('#remote-video').videoWidth") > 0

    # The identity check beside the running call.
    await fill_identity_check(clerk)
    await clerk.screenshot(path="/tmp/desk-call-identity.png", full_page=True)
    await clerk.click("#record-check")
    await clerk.wait_for_selector("#desk-check-result[data-verified='yes']",
                                  timeout=PLAY_TIMEOUT_MS)
    assert await clerk.evaluate("() => document.activeElement.id") == "desk-check-result"
    await clerk.wait_for_function(
        "() => document.querySelector('#desk-announce').textContent.includes('bestätigt')",
        timeout=PLAY_TIMEOUT_MS)

    # The completion: the booked service with its fee, fee notice, delivery by post.
    assert await clerk.input_value("#item-1-service") != ""
    assert "10,00" in await clerk.inner_text("#desk-total")
    assert await clerk.is_checked("#payment")  # fee notice
    await clerk.check("#delivery")  # by post
    assert not await clerk.is_visible("#external_authority")
    # Delivery by post needs the postal address; the citizen spells it out in the call.
    await clerk.fill("#postal_address", "Großer Anger 7\n73760 Musterhausen")
    await clerk.fill("#completion-note", "Bescheinigung für den Arbeitgeber")
    await clerk.click("#complete")
    await clerk.wait_for_selector("#desk-case-number", timeout=PLAY_TIMEOUT_MS)
    case_number = (await clerk.inner_text("#desk-case-number")).strip()
    assert case_number
    assert await clerk.evaluate("() => document.activeElement.id") == "desk-case"
    await clerk.screenshot(path="/tmp/desk-call-completed.png", full_page=True)

    # The call never dropped: both videos still play.
    await wait_playing(clerk, "#remote-video")
    await wait_playing(citizen, "#remote-video")
    appointment = await load(site.app, site.reference)
    assert appointment.status == "completed"

    # The citizen's appointment page shows the case and its number.
    await citizen.goto(f"{site.base}/t/{site.token}")
    await citizen.wait_for_selector("#case-number")
    assert (await citizen.inner_text("#case-number")).strip() == case_number


@RENDERED_ONLY
async def test_desk_pages_pass_axe(site: Site, browsers: Browsers) -> None:
    clerk = await browsers.page("clerk", DESK)
    citizen = await browsers.page("citizen", PHONE)
    await clerk_to_agenda(clerk, site.base)
    await citizen.goto(f"{site.base}/t/{site.token}/call")
    await citizen.click("#join")
    await wait_state(clerk, row(site.reference), "data-waiting", "yes")  # highlighted row
    failures: list[str] = []
    checked: list[str] = []

    async def check(name: str) -> None:
        violations: list[dict[str, Any]] = await axe_violations(clerk)
        checked.append(name)
        if violations:
            failures.append(f"{name}:\n{describe(violations)}")

    for lang in ("de", "en"):
        await clerk.goto(f"{site.base}/staff?lang={lang}")
        await clerk.wait_for_selector("#agenda[data-live='on']")
        await wait_state(clerk, row(site.reference), "data-waiting", "yes")
        await check(f"agenda {lang}")
        await clerk.goto(f"{site.base}/staff/agenda/print?lang={lang}")
        await check(f"day list {lang}")
        await clerk.goto(f"{site.base}/staff/call/{site.reference}?lang={lang}")
        await wait_state(clerk, "#waiting-indicator", "data-waiting", "yes")
        await check(f"call page with panels {lang}")
        # A failed submission: errors beside the fields and a summary with the focus.
        await clerk.check("#outcome")
        await clerk.click("#record-check")
        await clerk.wait_for_selector("#identity-form [data-desk-errors]")
        assert await clerk.evaluate(
            "() => document.activeElement.matches('[data-desk-errors]')")
        await clerk.click("#complete")  # the identity is not verified yet: 409
        await clerk.wait_for_selector("#completion-form [data-desk-errors]")
        await check(f"call page with errors {lang}")
        await clerk.set_viewport_size(ViewportSize(width=PHONE["width"], height=PHONE["height"]))
        await check(f"call page with errors on a phone {lang}")
        await clerk.set_viewport_size(ViewportSize(width=DESK["width"], height=DESK["height"]))
    assert len(checked) == 10, checked
    assert not failures, "\n\n".join(failures)
