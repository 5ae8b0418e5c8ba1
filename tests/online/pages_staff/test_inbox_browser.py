"""The clerk's inbox, a request's page and the admin's online-service pages in a real Chromium
against uvicorn, on a desk screen (1440 × 900) and a phone (375 × 812): axe-core (WCAG 2.1
AA) finds nothing, in German and English, with errors on the page too; the ask form and the
completion form work with the keyboard alone; the inbox follows a citizen's answer live."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page

from app.pages import inbox as inbox_pages
from app.settings import Settings
from cases.models import Case
from online.models import OnlineRequest
from tests.app.browser.test_citizen_browser import focused_is_visible, tab_to
from tests.axe import axe_violations, describe
from tests.cases.conftest import ADMIN, CLERK_A
from tests.conftest import RENDERED_ONLY
from tests.online.conftest import Portal
from tests.online.pages_staff.test_inbox_live import served
from tests.staff.helpers import PASSWORD

pytestmark = pytest.mark.browser

DESK = {"width": 1440, "height": 900}
PHONE = {"width": 375, "height": 812}


@pytest.fixture
async def browser_page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport=DESK, locale="de-DE",
                                        timezone_id="Europe/Berlin")
    page = await context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        yield page
    finally:
        await context.close()
    # Error pages (403, 422) are expected by the tests and log a failed resource load.
    assert [p for p in problems if "Failed to load resource" not in p] == []


async def check(page: Page, url: str, status: int = 200) -> None:
    response = await page.goto(url)
    assert response is not None and response.status == status, (url, response and response.status)
    await assert_clean(page, url)


async def assert_clean(page: Page, what: str) -> None:
    found = await axe_violations(page)
    assert found == [], f"{what}\n{describe(found)}"
    # Nothing wider than the screen but the tables' own scrolling regions.
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    if overflow > 0:
        wide = await page.evaluate("""() => [...document.querySelectorAll('body *')]
            .filter((e) => e.getBoundingClientRect().right > window.innerWidth)
            .slice(0, 8).map((e) => `${e.tagName}#${e.id}.${e.className}`)""")
        raise AssertionError(f"{what}: {overflow} px too wide: {wide}")


async def log_in(page: Page, base: str, email: str) -> None:
    await page.goto(f"{base}/staff/login")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("#login")
    await page.wait_for_url(f"{base}/staff")


async def requests_of(portal: Portal) -> tuple[str, str, dict[str, str]]:
    """A new request, and one the citizen answered (with its link)."""
    first, _ = await portal.sent()
    second, link = await portal.sent(citizen={"given_name": "Max", "family_name": "Muster",
                                              "email": "max@example.org"})
    r = await portal.client.post(f"/api/v1/clerk/requests/{second}/messages",
                                 json={"text": "Bitte den Nachweis hochladen.",
                                       "documents_requested": ["proof"]},
                                 headers=portal.desk.clerk_a)
    assert r.status_code == 200, r.text
    r = await portal.client.post("/api/v1/me/messages", json={"text": "Kommt gleich."},
                                 headers=link)
    assert r.status_code == 201, r.text
    return first, second, link


@RENDERED_ONLY
async def test_pages_pass_axe_on_a_desk_and_a_phone(settings: Settings,
                                                    browser_page: Page) -> None:
    page = browser_page
    async with served(settings) as portal:
        base = str(portal.client.base_url).rstrip("/")
        first, second, _ = await requests_of(portal)
        await log_in(page, base, CLERK_A)
        for size in (DESK, PHONE):
            await page.set_viewport_size(size)
            for lang in ("de", "en"):
                await check(page, f"{base}/staff/requests?lang={lang}")
                await check(page, f"{base}/staff/requests/{second}")
                await check(page, f"{base}/staff/requests/{first}")
            await check(page, f"{base}/staff/requests?view=closed")  # empty
            await check(page, f"{base}/staff/requests?view=all&status=in_progress")
            # A refused form: its errors beside the fields.
            await page.goto(f"{base}/staff/requests/{first}")
            await page.click("#reject")  # no reasons given: the server says so
            await page.wait_for_selector("#reject-reason-error")
            await assert_clean(page, "reject without reasons")
            await page.fill("#reject-reason", "Nicht zuständig.")
            await page.click("#reject")
            await page.wait_for_selector("#reject-confirm-form")
            await assert_clean(page, "reject confirmation")
        await page.set_viewport_size(DESK)

        # The admin's pages.
        await page.context.clear_cookies()
        await log_in(page, base, ADMIN)
        service = f"{base}/admin/online-services/{portal.service_id}"
        for size in (DESK, PHONE):
            await page.set_viewport_size(size)
            await check(page, f"{base}/admin/online-services")
            await check(page, f"{base}/admin/online-services/new")
            await check(page, service)
            await check(page, f"{service}/delete")
            await page.goto(service)
            await page.fill("#fields-6-key", "Kein Schlüssel")
            await page.fill("#fields-6-label", "Neu")
            await page.fill("#name", "")
            await page.click("#save")
            await page.wait_for_selector("#fields-6-key-error")
            await assert_clean(page, "admin form with errors")
            await page.goto(service)
            await page.click("#move-2-up")
            await page.wait_for_selector("#form-notice")
            assert await page.evaluate("document.activeElement.id") == "move-1-up"
            await assert_clean(page, "admin form after a move")


async def test_ask_and_complete_with_the_keyboard_alone(
        settings: Settings, browser_page: Page, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inbox_pages, "POLL_SECONDS", 0.1)
    page = browser_page
    async with served(settings) as portal:
        base = str(portal.client.base_url).rstrip("/")
        first, second, _ = await requests_of(portal)
        await log_in(page, base, CLERK_A)

        # From the inbox to the request by keyboard: the answered one is first.
        await page.goto(f"{base}/staff/requests")
        await tab_to(page, f'a[href="/staff/requests/{second}"]', limit=80)
        assert await focused_is_visible(page)
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"**/staff/requests/{second}")

        # Ask: the message, a document still needed, send.
        await tab_to(page, "#ask-text", limit=120)
        await page.keyboard.type("Bitte laden Sie auch den Impfpass hoch.")
        await tab_to(page, "#ask-doc-proof")
        await page.keyboard.press("Space")
        await tab_to(page, "#ask-send")
        await page.keyboard.press("Enter")
        await page.wait_for_url("**done=asked**")
        assert "Wartet auf Rückmeldung" in await page.inner_text("#request-status")
        assert "Bitte laden Sie auch den Impfpass hoch." in await page.inner_text(
            "#request-messages")

        # Complete: the item is preset; payment and delivery are radio groups (arrow keys).
        await tab_to(page, "#item-1-service", limit=160)
        await page.keyboard.press("Tab")  # the quantity
        await page.keyboard.press("Control+a")
        await page.keyboard.type("2")
        await tab_to(page, "input[name=payment]")
        await page.keyboard.press("ArrowDown")  # none -> the next method, and back
        await page.keyboard.press("ArrowUp")
        await tab_to(page, "input[name=delivery]")
        await page.keyboard.press("ArrowDown")  # by post -> by e-mail
        await tab_to(page, "#complete")
        await page.keyboard.press("Enter")
        await page.wait_for_url("**done=completed**")
        number = (await page.inner_text("#request-case-number")).strip()
        [case] = await portal.desk.rows(Case, reference=second)
        assert case.case_number == number and case.delivery == "email"
        [request] = await portal.desk.rows(OnlineRequest, case_id=case.id)
        assert request.status == "completed"

        # The inbox follows a citizen's answer without a reload, and says so politely.
        await page.goto(f"{base}/staff/requests")
        # (Selectors, not script predicates: the pages' CSP allows no eval.)
        await page.wait_for_selector("#inbox-list[data-live='on']", state="attached")
        assert await page.locator(f"#row-{first}").count() == 1
        r = await portal.client.post(f"/api/v1/clerk/requests/{first}/messages",
                                     json={"text": "Noch eine Frage."},
                                     headers=portal.desk.clerk_a)
        assert r.status_code == 200
        _, first_link = await link_of(portal, first)
        r = await portal.client.post("/api/v1/me/messages", json={"text": "Antwort."},
                                     headers=first_link)
        assert r.status_code == 201
        await page.wait_for_selector(f"#row-{first}.has-reply")
        await page.wait_for_selector("#inbox-live:has-text('Neue Antwort')", state="attached")
        await assert_clean(page, "inbox after a live update")
        await page.goto("about:blank")  # closes the stream, so the server stops at once


async def link_of(portal: Portal, reference: str) -> tuple[str, dict[str, str]]:
    return reference, {"Authorization": f"Bearer {await portal.token(reference)}"}
