"""axe-core (WCAG 2.1 AA) in a real Chromium against uvicorn: the admin's audit log (filled,
filtered, empty, with errors, paged; German and English; desk and phone) and the citizen's
appointment page showing a completed case."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Page

from app.main import create_app
from app.settings import Settings
from core.audit import AuditEvent
from tests.axe import axe_violations
from tests.cases.conftest import ADMIN, build_desk
from tests.conftest import RENDERED_ONLY, live_server
from tests.staff import test_accessibility as staff_axe
from tests.staff.helpers import PASSWORD
from tests.staff.test_accessibility import page_passes_axe as check

# The same Chromium page fixture as the staff pages' accessibility test.
browser_page = staff_axe.browser_page

pytestmark = pytest.mark.browser


@RENDERED_ONLY
async def test_audit_log_and_case_pass_axe(settings: Settings, browser_page: Page) -> None:
    application = create_app(settings)
    async with live_server(application) as base, httpx.AsyncClient(base_url=base) as client:
        desk = await build_desk(application, client)
        reference, token = await desk.appointment()
        assert (await desk.verify(reference)).status_code == 200
        r = await desk.complete(reference, {
            "items": [{"service_id": desk.certificate, "quantity": 2},
                      {"service_id": desk.life}],
            "payment": "invoice", "delivery": "post",
            "postal_address": ["Marktplatz 3", "73760 Musterhausen"]})
        assert r.status_code == 200, r.text
        missed, _ = await desk.appointment()
        await client.post(f"/api/v1/clerk/appointments/{missed}/no-show", headers=desk.clerk_a)
        async with desk.state.db.transaction(write=True) as session:
            for n in range(60):
                session.add(AuditEvent(actor_type="system", actor_label="system",
                                       action="appointment.expire", object_type="appointment",
                                       object_id=str(1000 + n),
                                       detail=f'{{"reference": "X-{n:04d}"}}'))

        page = browser_page
        # The citizen's page with the case on it.
        for lang in ("de", "en"):
            await check(page, f"{base}/t/{token}?lang={lang}")
            assert await page.locator("#case-number").inner_text() == \
                r.json()["case"]["case_number"]

        await page.goto(f"{base}/staff/login")
        await page.fill("#email", ADMIN)
        await page.fill("#password", PASSWORD)
        await page.click("#login")
        await page.wait_for_url(f"{base}/staff")

        for lang in ("de", "en"):
            await check(page, f"{base}/admin?lang={lang}")
            await page.click("#audit-link")
            await page.wait_for_selector("#audit-events")
            assert await axe_violations(page) == []
            await check(page, f"{base}/admin/audit?reference={reference}")
            await check(page, f"{base}/admin/audit?from=2001-01-01&to=2001-01-02")
            await check(page, f"{base}/admin/audit?from=gestern&to=2001-01-02", 422)
            await check(page, f"{base}/admin/audit?page=2")

        # The filter form works from the keyboard-operable controls.
        await page.goto(f"{base}/admin/audit?lang=de")
        await page.fill("#reference", missed)
        await page.select_option("#action", "appointment.no_show")
        await page.click("#audit-show")
        await page.wait_for_url(lambda url: "reference=" in url)
        rows = page.locator("#audit-events tbody tr")
        assert await rows.count() == 1
        assert "Als nicht erschienen markiert" in await rows.first.inner_text()
        assert await axe_violations(page) == []
        await page.click("#audit-reset")
        await page.wait_for_url(f"{base}/admin/audit")

        # Paging from the first page to the next.
        await page.click("#audit-next")
        await page.wait_for_url(lambda url: "page=2" in url)
        assert await page.locator("#audit-prev").count() == 1

        # On a phone.
        await page.set_viewport_size({"width": 375, "height": 812})
        await check(page, f"{base}/admin/audit")
        await check(page, f"{base}/t/{token}")
