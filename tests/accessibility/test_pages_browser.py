"""Real Chromium against a real uvicorn: every citizen page in German, Leichte Sprache, Arabic
and Turkish passes both engines (axe-core and HTML_CodeSniffer, WCAG 2.1 AA) with nothing
reported; reflows at 320 CSS px (400 % zoom) without sideways scrolling; keeps its controls
visible in forced colours (Windows high contrast); Arabic mirrors the whole layout; and a
booking completes by keyboard in Arabic."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from tests.accessibility.engines import describe_htmlcs, htmlcs_errors, htmlcs_source
from tests.app.browser.test_citizen_browser import focused_is_visible
from tests.app.pages.call_helpers import CallSeed, add_appointment, add_clerk, form_token, login
from tests.app.pages.helpers import book_via_pages, load, token_of
from tests.app.pages.seed import Seed, seed
from tests.axe import axe_violations, describe
from tests.chromium import have_chromium
from tests.conftest import RENDERED_ONLY, live_server, require

pytestmark = [pytest.mark.browser, RENDERED_ONLY]
__all__ = ["htmlcs_source"]  # the fixture, used by the tests below

LANGS = ("de", "de-x-ls", "ar", "tr")
CONTROLS = ("button, .btn, summary, select, textarea, "
            "input:not([type=hidden]):not([type=radio]):not([type=checkbox])")


@dataclass
class Site:
    app: Starlette
    base: str
    seed: Seed
    link: str  # an appointment's page
    call: str  # the call page of an appointment starting in 5 minutes (its waiting room)
    guest: str  # an interpreter's page for that call


@pytest.fixture
async def site(settings: Settings) -> AsyncIterator[Site]:
    require(have_chromium(), "chromium")
    application = create_app(settings)
    async with live_server(application) as base:
        seeded = await seed(application)
        async with httpx.AsyncClient(base_url=base) as client:
            reference = await book_via_pages(client, seeded)
            soon, token = await add_appointment(
                application, CallSeed(seeded.office_id, seeded.office_id, seeded.service_id))
            await add_clerk(application, [seeded.office_id])
            await login(client)
            page = await client.get(f"/staff/call/{soon}")
            r = await client.post(f"/staff/call/{soon}/guest-link", data={
                "kind": "sign_language", "csrf_token": form_token(page.text)})
            assert r.status_code == 201, r.text
        link = f"{base}/t/{await token_of(application, reference)}"
        yield Site(application, base, seeded, link, f"/t/{token}/call", r.json()["path"])


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 375, "height": 812},
                                        locale="de-DE", timezone_id="Europe/Berlin")
    opened = await context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda e: problems.append(str(e)))
    try:
        yield opened
    finally:
        await context.close()
    assert problems == []


async def citizen_urls(site: Site, page: Page) -> list[tuple[str, str]]:
    """(name, path) of the citizen pages, the booking's steps with real choices."""
    s = site.seed
    flow = f"/book?service={s.service_id}&office={s.office_id}"
    await page.goto(f"{site.base}{flow}")
    day = await page.get_attribute("input[name=day]", "value") or ""
    await page.goto(f"{site.base}{flow}&day={day}")
    slot = (await page.get_attribute("input[name=slot]", "value") or "").replace("+", "%2B")
    link = site.link.removeprefix(site.base)
    return [
        ("start", "/"), ("privacy", "/privacy"), ("imprint", "/imprint"),
        ("accessibility statement", "/barrierefreiheit"),
        ("service step", "/book"), ("service step with error", "/book?step=service"),
        ("day step", flow), ("slot step", f"{flow}&day={day}"),
        ("details step", f"{flow}&day={day}&slot={slot}"),
        ("appointment", link), ("cancel step", f"{link}/cancel"),
        ("reschedule", f"{link}/reschedule"), ("call not open yet", f"{link}/call"),
        ("call", site.call), ("guest call", site.guest),
        ("invalid link", f"/t/{'A' * 43}"), ("invalid guest link", f"/g/{'A' * 43}"),
        ("status lookup", "/status"), ("document status", "/document-status"),
        ("online services", "/apply"), ("lost link", "/links/resend"),
        ("error page", "/no-such-page"),
    ]


def with_lang(path: str, lang: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}lang={lang}"


async def test_every_citizen_page_passes_both_engines(site: Site, page: Page,
                                                      htmlcs_source: str) -> None:
    failures: list[str] = []
    checked: list[str] = []
    urls = await citizen_urls(site, page)

    async def check(name: str) -> None:
        axe = await axe_violations(page)
        sniffed = await htmlcs_errors(page, htmlcs_source)
        checked.append(name)
        if axe:
            failures.append(f"axe, {name}:\n{describe(axe)}")
        if sniffed:
            failures.append(f"HTML_CodeSniffer, {name}:\n{describe_htmlcs(sniffed)}")

    # Canary: HTML_CodeSniffer runs under the pages' Content-Security-Policy and finds a
    # planted fault (an image without a text alternative).
    await page.goto(f"{site.base}/")
    await page.evaluate("""() => {
        const img = document.createElement("img");
        img.src = "/static/img/favicon.svg";
        document.querySelector("main").appendChild(img);
    }""")
    planted = await htmlcs_errors(page, htmlcs_source)
    assert any("H37" in e["code"] for e in planted), planted

    for lang in LANGS:
        for name, path in urls:
            response = await page.goto(site.base + with_lang(path, lang))
            assert response is not None and response.status in (200, 404, 422), (name, lang)
            await check(f"{name} [{lang}]")
        # The details form sent empty: its error summary.
        await page.goto(site.base + with_lang(dict(urls)["details step"], lang))
        await page.click("#book")
        await page.wait_for_selector(".error-summary")
        await check(f"details with errors [{lang}]")
        # The barrier report sent empty.
        await page.goto(site.base + with_lang("/barrierefreiheit", lang))
        await page.click("#barrier-send")
        await page.wait_for_selector(".error-summary")
        await check(f"barrier report with errors [{lang}]")
    assert len(checked) == len(LANGS) * (len(urls) + 2)
    assert not failures, "\n\n".join(failures)


async def overflow(page: Page) -> bool:
    return bool(await page.evaluate(
        "() => document.documentElement.scrollWidth > window.innerWidth"))


async def test_pages_reflow_at_320_pixels(site: Site, page: Page) -> None:
    """400 % zoom of a 1280 px window: 320 CSS px, nothing needs sideways scrolling."""
    await page.set_viewport_size({"width": 320, "height": 256})
    wide: list[str] = []
    urls = await citizen_urls(site, page)
    for lang in LANGS:
        for name, path in urls:
            await page.goto(site.base + with_lang(path, lang))
            if await overflow(page):
                wide.append(f"{name} [{lang}]")
        # The language menu opened.
        await page.goto(site.base + with_lang("/", lang))
        await page.click("#lang-menu summary")
        if await overflow(page):
            wide.append(f"language menu [{lang}]")
    assert wide == []


UNSEEN = """(selector) => {
    const unseen = [];
    for (const el of document.querySelectorAll(selector)) {
        const box = el.getBoundingClientRect();
        const style = getComputedStyle(el);
        if (box.width === 0 || box.height === 0 || style.visibility === "hidden") continue;
        const bordered = ["Top", "Right", "Bottom", "Left"].some((side) =>
            parseFloat(style[`border${side}Width`]) > 0 && style[`border${side}Style`] !== "none");
        const outlined = parseFloat(style.outlineWidth) > 0 && style.outlineStyle !== "none";
        if (!bordered && !outlined) unseen.push(el.outerHTML.slice(0, 160));
    }
    return unseen;
}"""


async def test_controls_stay_visible_in_forced_colors(site: Site, page: Page) -> None:
    await page.emulate_media(forced_colors="active")
    assert await page.evaluate("() => matchMedia('(forced-colors: active)').matches")
    urls = dict(await citizen_urls(site, page))
    unseen: list[str] = []
    counted = 0
    for lang in ("de", "ar"):
        for name in ("start", "details step", "appointment", "accessibility statement",
                     "status lookup", "call", "guest call"):
            await page.goto(site.base + with_lang(urls[name], lang))
            await page.click("#lang-menu summary")  # its links shown too
            counted += await page.locator(CONTROLS).count()
            unseen += [f"{name} [{lang}]: {html}"
                       for html in await page.evaluate(UNSEEN, CONTROLS)]
            # The focus stays visible: an outline on whatever has it.
            await page.keyboard.press("Tab")
            await page.keyboard.press("Tab")
            assert await focused_is_visible(page)
            style = await page.evaluate("""() => {
                const s = getComputedStyle(document.activeElement);
                return [s.outlineStyle, parseFloat(s.outlineWidth)];
            }""")
            assert style[0] != "none" and style[1] >= 2, (name, lang, style)
    assert counted > 20
    assert unseen == []


async def box(page: Page, selector: str) -> dict[str, Any]:
    found = await page.locator(selector).first.bounding_box()
    assert found is not None, selector
    return dict(found)


async def test_arabic_mirrors_the_layout(site: Site, page: Page) -> None:
    width = 375
    await page.goto(f"{site.base}/barrierefreiheit?lang=de")
    brand, label = await box(page, ".brand"), await box(page, "label[for=description]")
    assert brand["x"] < width / 4 and label["x"] < width / 4
    await page.goto(f"{site.base}/barrierefreiheit?lang=ar")
    assert await page.get_attribute("html", "dir") == "rtl"
    brand, label = await box(page, ".brand"), await box(page, "label[for=description]")
    assert brand["x"] + brand["width"] > width * 3 / 4
    assert label["x"] + label["width"] > width * 3 / 4
    # The appointment's reference and time keep their own (left-to-right) order.
    await page.goto(f"{site.link}?lang=ar")
    reference = await page.inner_text("#appointment-summary dd")
    assert reference.startswith("BB-")
    direction = await page.evaluate("""() => getComputedStyle(
        document.querySelector('#appointment-summary dd')).unicodeBidi""")
    assert direction == "plaintext"
    # The call pages mirror too.
    for path in (site.call, site.guest):
        await page.goto(f"{site.base}{path}?lang=ar")
        assert await page.get_attribute("html", "dir") == "rtl"
        heading = await box(page, "main h1")
        assert heading["x"] + heading["width"] > width * 3 / 4, path


async def tab_to(page: Page, selector: str, limit: int = 80) -> None:
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await page.evaluate(
                "(sel) => document.activeElement !== null && document.activeElement.matches(sel)",
                selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


async def test_a_booking_completes_by_keyboard_in_arabic(site: Site, page: Page) -> None:
    await page.goto(f"{site.base}/?lang=ar")
    # The language menu opens with the keyboard and names each language in itself.
    await tab_to(page, "#lang-menu summary")
    await page.keyboard.press("Enter")
    assert await page.is_visible("#lang-menu a[hreflang=tr]")
    assert await page.inner_text("#lang-menu a[hreflang=tr]") == "Türkçe"
    await page.keyboard.press("Enter")  # closes it again

    await tab_to(page, "#start-booking")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/book")
    await tab_to(page, "#service")
    await page.keyboard.press("Space")
    await tab_to(page, "#continue")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#day")
    await tab_to(page, "#day")
    await page.keyboard.press("Space")
    await tab_to(page, "#continue")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#slot")
    await tab_to(page, "#slot")
    await page.keyboard.press("Space")
    await tab_to(page, "#continue")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#given_name")
    await tab_to(page, "#given_name")
    await page.keyboard.type("Amira")
    await tab_to(page, "#family_name")
    await page.keyboard.type("Haddad")
    await tab_to(page, "#email")
    await page.keyboard.type("amira@example.org")
    await tab_to(page, "#consent")
    await page.keyboard.press("Space")
    await tab_to(page, "#book")
    assert await focused_is_visible(page)
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/book/done")
    assert await page.get_attribute("html", "dir") == "rtl"
    reference = (await page.inner_text("#appointment-summary dd")).strip()
    stored = await load(site.app, reference)
    assert stored.status == "reserved" and stored.locale == "ar"
