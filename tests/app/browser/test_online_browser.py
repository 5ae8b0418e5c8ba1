"""The online request pages in a real Chromium on a 375 px phone against a real uvicorn, with the
demo's online services: the dog-tax form sent by keyboard alone (Tab, typing, Space, Enter),
errors first, then the request's page confirmed and answered; and axe-core (WCAG 2.1 AA) on
every online page: the list, each demo form (also with its errors shown, also in English) and
the request page in each state the office can bring it to."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page
from sqlalchemy import select
from sqlmodel import col
from starlette.applications import Starlette

from app.demo import DemoResult, load_demo
from app.main import create_app
from app.settings import Settings
from booking.models import Service
from cases.models import Case
from online.models import OnlineRequest
from tests.app.browser.support import Axe, is_focused, key_to, press_on
from tests.app.browser.test_citizen_browser import focused_is_visible
from tests.app.pages.seed import app_ctx
from tests.chromium import have_chromium
from tests.conftest import RENDERED_ONLY, live_server, require

pytestmark = [pytest.mark.browser, RENDERED_ONLY]

SCREENSHOTS = Path("/tmp")


@dataclass
class Site:
    app: Starlette
    base: str
    demo: DemoResult

    async def service_id(self, name: str) -> int:
        async with app_ctx(self.app).db.transaction() as session:
            found = await session.scalar(select(col(Service.id)).where(col(Service.name) == name))
        assert found is not None
        return int(found)

    async def link(self, reference: str) -> str:
        async with app_ctx(self.app).db.transaction() as session:
            case = (await session.execute(select(Case).where(
                col(Case.reference) == reference))).scalar_one()
            request = await session.get(OnlineRequest, case.id)
            assert request is not None
            return f"/t/{app_ctx(self.app).links.token_for(request.link_nonce)}"


@pytest.fixture
async def site(settings: Settings) -> AsyncIterator[Site]:
    require(have_chromium(), "chromium")
    application = create_app(settings)
    async with live_server(application) as base:
        yield Site(application, base, await load_demo(settings))


@pytest.fixture
async def phone(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(
        viewport={"width": 375, "height": 812}, locale="de-DE", timezone_id="Europe/Berlin")
    page = await context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        yield page
    finally:
        await context.close()
    # Pages answered 4xx on purpose (a form with errors) log a failed resource load.
    assert [p for p in problems if "Failed to load resource" not in p] == []


async def test_the_dog_tax_form_by_keyboard_alone(site: Site, phone: Page) -> None:
    page, axe = phone, Axe()
    dog_tax = await site.service_id("Hundesteuer-Anmeldung")
    await page.goto(f"{site.base}/")
    await press_on(page, "#start-apply")
    await page.wait_for_url("**/apply")
    await axe.check(page, "online services")
    await press_on(page, f'a[href="/apply/{dog_tax}"]')
    await page.wait_for_url(f"**/apply/{dog_tax}")
    await axe.check(page, "dog tax form")
    await page.screenshot(path=str(SCREENSHOTS / "online-form-375.png"), full_page=True)

    # Sent empty: the errors are summarised at the top, which takes the focus.
    await press_on(page, "#send")
    await page.wait_for_selector(".error-summary")
    assert await is_focused(page, ".error-summary")
    assert "Bitte füllen Sie dieses Feld aus." in await page.inner_text("#answer-breed-error")
    await axe.check(page, "dog tax form with errors")
    await page.screenshot(path=str(SCREENSHOTS / "online-form-errors-375.png"), full_page=True)

    # The date field's order of day and month follows the browser's own language: 1 January
    # reads the same either way.
    for selector, text in (("#answer-breed", "Dackel"), ("#answer-acquired_on", "01012026"),
                           ("#answer-chip", "276098106543210"),
                           ("#citizen-given-name", "Erika"),
                           ("#citizen-family-name", "Mustermann"),
                           ("#citizen-email", "erika@example.org")):
        await key_to(page, selector)
        assert await focused_is_visible(page), selector
        await page.keyboard.type(text)
    await press_on(page, "#send")
    await page.wait_for_url("**/apply/sent")
    assert "Fast geschafft" in await page.inner_text("h1")
    await axe.check(page, "sent")
    reference = (await page.inner_text("#request-summary dd")).strip()
    async with app_ctx(site.app).db.transaction() as session:
        [request] = list((await session.execute(select(OnlineRequest))).scalars())
    assert json.loads(request.answers) == {"breed": "Dackel", "acquired_on": "2026-01-01",
                                           "chip": "276098106543210"}

    # The link from the e-mail: confirm, then write to the office, by keyboard.
    await page.goto(site.base + await site.link(reference))
    await axe.check(page, "request sent, to confirm")
    await press_on(page, "#confirm")
    await page.wait_for_url("**?done=confirmed")
    await axe.check(page, "request received")
    await key_to(page, "#message-text")
    await page.keyboard.type("Der Hund heißt Waldi.")
    await press_on(page, "#message-send")
    await page.wait_for_url("**?done=message#messages")
    assert "Der Hund heißt Waldi." in await page.inner_text("#messages")
    await page.screenshot(path=str(SCREENSHOTS / "online-request-375.png"), full_page=True)
    await axe.check(page, "request with a message")
    assert axe.failures == [], "\n\n".join(axe.failures)


async def _clerk(client: httpx.AsyncClient, site: Site) -> dict[str, str]:
    [login] = [x for x in site.demo.logins if x.role == "clerk"]
    r = await client.post("/api/v1/auth/token", json={"email": login.email,
                                                      "password": login.password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def _request(client: httpx.AsyncClient, site: Site, service: str,
                   answers: dict[str, Any], email: str) -> tuple[str, str]:
    """A request sent through the API and confirmed through its link: (reference, link)."""
    r = await client.post("/api/v1/requests", json={
        "service_id": await site.service_id(service), "office_id": site.demo.office_id,
        "citizen": {"given_name": "Erika", "family_name": "Mustermann", "email": email},
        "answers": answers})
    assert r.status_code == 201, r.text
    reference = r.json()["reference"]
    link = await site.link(reference)
    r = await client.post("/api/v1/me/confirm",
                          headers={"Authorization": f"Bearer {link.rsplit('/', 1)[1]}"})
    assert r.status_code == 200, r.text
    return reference, link


async def test_every_online_page_passes_axe(site: Site, phone: Page) -> None:
    page, axe = phone, Axe()
    await axe.check(page, "online services", f"{site.base}/apply")
    async with httpx.AsyncClient(base_url=site.base, timeout=30) as client:
        r = await client.get("/api/v1/online-services")
        services = {s["name"]: s["id"] for s in r.json()}
        assert len(services) == 6
        for name, service_id in services.items():
            await axe.check(page, f"form {name}", f"{site.base}/apply/{service_id}")
            await page.click("#send")
            await page.wait_for_selector(".error-summary")
            await axe.check(page, f"form {name} with errors")
        await axe.check(page, "form in English",
                        f"{site.base}/apply/{services['Gewerbe-Anmeldung']}?lang=en")
        await page.goto(f"{site.base}/apply?lang=de")

        clerk = await _clerk(client, site)
        permit = {"place": "Hauptstraße 1", "from_date": "2026-12-01",
                  "until_date": "2026-12-02", "purpose": "Umzugswagen"}
        waiting, waiting_link = await _request(client, site, "Sondernutzungserlaubnis", permit,
                                               "a@example.org")
        r = await client.post(f"/api/v1/clerk/requests/{waiting}/messages", headers=clerk, json={
            "text": "Bitte laden Sie eine Lageskizze hoch.", "documents_requested": ["sketch"]})
        assert r.status_code == 200, r.text
        await axe.check(page, "request waiting for an upload", site.base + waiting_link)
        await page.click("#upload-submit")
        await page.wait_for_selector("#answer-sketch-error")
        await axe.check(page, "upload without a file")
        await page.click("#message-send")
        await page.wait_for_selector("#message-text-error")
        await axe.check(page, "empty message")

        dog = {"breed": "Dackel", "acquired_on": "2026-11-01"}
        done, done_link = await _request(client, site, "Hundesteuer-Anmeldung", dog,
                                         "b@example.org")
        r = await client.post(f"/api/v1/clerk/requests/{done}/complete", headers=clerk, json={
            "items": [{"service_id": await site.service_id("Meldebescheinigung")}],
            "payment": "invoice", "delivery": "email"})
        assert r.status_code == 200, r.text
        await axe.check(page, "request completed", site.base + done_link)

        rejected, rejected_link = await _request(client, site, "Hundesteuer-Anmeldung", dog,
                                                 "c@example.org")
        r = await client.post(f"/api/v1/clerk/requests/{rejected}/reject", headers=clerk,
                              json={"reason": "Der Hund ist bereits angemeldet."})
        assert r.status_code == 200, r.text
        await axe.check(page, "request rejected", site.base + rejected_link)

        _, open_link = await _request(client, site, "Lob, Kritik oder Anregung",
                                      {"message": "Danke für den schnellen Termin!"},
                                      "d@example.org")
        await axe.check(page, "withdraw?", f"{site.base}{open_link}/withdraw")
        await page.click("#withdraw-confirm")
        await page.wait_for_url("**?done=withdrawn")
        await axe.check(page, "request withdrawn")

        business = {"activity": "Einzelhandel mit Fahrrädern", "start_on": "2027-01-04",
                    "premises": {"street": "Hauptstraße 1", "postcode": "73760",
                                 "city": "Ostfildern"}}
        invited, invited_link = await _request(client, site, "Gewerbe-Anmeldung", business,
                                               "e@example.org")
        r = await client.post(f"/api/v1/clerk/requests/{invited}/invite-video", headers=clerk)
        assert r.status_code == 200, r.text
        await axe.check(page, "request invited to a video call", site.base + invited_link)
        await axe.check(page, "video days", f"{site.base}{invited_link}/video-appointment")
        await page.click("input[name=day]")
        await page.click("#continue")
        await page.wait_for_selector("input[name=slot]")
        await axe.check(page, "video times")
        await page.click("input[name=slot]")
        await page.click("#continue")
        await page.wait_for_url("**?done=booked#video")
        await axe.check(page, "request with its video appointment")
        await page.screenshot(path=str(SCREENSHOTS / "online-request-video-375.png"),
                              full_page=True)
    assert len(axe.checked) >= 25
    assert axe.failures == [], "\n\n".join(axe.failures)
