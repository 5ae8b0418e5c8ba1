"""A municipality's own imprint, privacy and accessibility statements in a real Chromium on a
375 px phone: axe-core finds nothing, in German and in Arabic (right to left), the line breaks
show as typed and a long address does not make the page scroll sideways."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser

from app.context import AppContext
from app.main import create_app
from app.settings import Settings
from core.audit import Actor
from core.tenancy import DEFAULT_MUNICIPALITY_ID
from tenants.service import update_municipality
from tests.conftest import RENDERED_ONLY, live_server
from tests.staff.helpers import add_office
from tests.staff.test_accessibility import page_passes_axe

pytestmark = [pytest.mark.browser, RENDERED_ONLY]

LONG = "https://www.zwiebelbach.example/impressum/verantwortlich-fuer-den-inhalt-nach-mstv-18"
TEXTS = {
    "imprint": f"Stadt Zwiebelbach\nZwiebelplatz 1\n99999 Zwiebelbach\n\n{LONG}",
    "privacy_statement": "Verantwortlich: Stadt Zwiebelbach\nDatenschutz: dsb@example.org",
    "accessibility_statement": "Wir prüfen unsere Seiten jährlich.\nKontakt: 0711 0000",
}
PAGES = (("/imprint", "municipality-imprint", "imprint"),
         ("/privacy", "municipality-privacy", "privacy_statement"),
         ("/barrierefreiheit", "municipality-accessibility", "accessibility_statement"))


async def test_the_municipality_s_texts_pass_axe_on_a_phone(
    settings: Settings, browser: Browser
) -> None:
    application = create_app(settings)
    async with live_server(application) as base:
        state = application.state.ctx
        assert isinstance(state, AppContext)
        async with state.db.transaction(write=True) as session:
            await update_municipality(session, Actor.system(), DEFAULT_MUNICIPALITY_ID, TEXTS)
        await add_office(application, "Bürgerbüro Zwiebelbach")
        context = await browser.new_context(viewport={"width": 375, "height": 812},
                                            locale="de-DE", timezone_id="Europe/Berlin")
        try:
            page = await context.new_page()
            for lang in ("de", "ar"):
                for path, element_id, field in PAGES:
                    await page_passes_axe(page, f"{base}{path}?lang={lang}")
                    shown = await page.locator(f"#{element_id}").inner_text()
                    assert shown.strip() == TEXTS[field], (path, lang)
                    wide = await page.evaluate(
                        "document.documentElement.scrollWidth > window.innerWidth")
                    assert not wide, (path, lang)
        finally:
            await context.close()
