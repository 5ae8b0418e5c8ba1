"""Helpers for the browser tests of the whole product (tests/app/browser/test_full_journey.py): a
uvicorn on a port chosen in advance (so that links in e-mails point to it), keyboard moves, a
recorder of everything the browsers fetch (requests, WebSockets, the pages' own performance
timeline, the ICE servers announced in ``welcome``), offices bookable at any hour, and axe-core
page after page."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from playwright.async_api import Page, Request, WebSocket
from starlette.applications import Starlette

from booking.models import Office, Schedule, ScheduleService, Service, ServiceOffice
from tests.app.browser.test_citizen_browser import focused_is_visible
from tests.app.pages.seed import app_ctx
from tests.axe import axe_violations, describe
from tests.postcall.notices.support import BANK, BIC, IBAN

FOCUSED = "(sel) => document.activeElement !== null && document.activeElement.matches(sel)"
BERLIN = ZoneInfo("Europe/Berlin")
# The slot the citizen picks starts at least this far ahead: the booking still takes it, and
# the video room (open 15 minutes before the start) is open by the time the citizen joins.
LEAD = dt.timedelta(minutes=3)


async def key_to(page: Page, selector: str, key: str = "Tab", limit: int = 80) -> None:
    """Press ``key`` (Tab or Shift+Tab) until the element matching ``selector`` has the focus."""
    for _ in range(limit):
        await page.keyboard.press(key)
        if await page.evaluate(FOCUSED, selector):
            return
    raise AssertionError(f"{key} never reached {selector}")


async def is_focused(page: Page, selector: str) -> bool:
    return bool(await page.evaluate(FOCUSED, selector))


def first_bookable_start(now: dt.datetime) -> dt.datetime:
    """The first 5-minute slot (office time) at least LEAD ahead; the last one of a day starts
    at 23:50, so after that it is tomorrow's first."""
    local = (now + LEAD).astimezone(BERLIN)
    start = local.replace(second=0, microsecond=0)
    if start < local:
        start += dt.timedelta(minutes=1)
    start += dt.timedelta(minutes=-start.minute % 5)
    if start.time() > dt.time(23, 50):
        start = dt.datetime.combine(start.date() + dt.timedelta(days=1), dt.time(0), BERLIN)
    return start


async def radio_values(page: Page, name: str) -> list[str]:
    values: list[str] = await page.eval_on_selector_all(
        f"input[name={name}]", "(els) => els.map((e) => e.value)")
    return values


async def choose_radio(page: Page, first_id: str, name: str, index: int) -> None:
    """Tab into the radio group, select the first option with Space, then arrow down."""
    await key_to(page, f"#{first_id}")
    await page.keyboard.press("Space")
    for _ in range(index):
        await page.keyboard.press("ArrowDown")
    checked = await page.eval_on_selector_all(
        f"input[name={name}]", "(els) => els.findIndex((e) => e.checked)")
    assert checked == index, (name, checked, index)


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


async def press_on(page: Page, selector: str, key: str = "Tab") -> None:
    """Move the focus to ``selector`` by keyboard and press Enter there."""
    await key_to(page, selector, key)
    assert await focused_is_visible(page), selector
    await page.keyboard.press("Enter")


async def space_on(page: Page, selector: str) -> None:
    await key_to(page, selector)
    await page.keyboard.press("Space")


# Every document reports its performance timeline (navigation and resources) as it fills, and
# once more when it is left, so that nothing fetched late on a page goes unseen.
TIMELINE = """(() => {
    const report = (entries) => {
        for (const e of entries) window.__timeline(e.entryType, e.name);
    };
    for (const type of ["navigation", "resource"]) {
        try {
            new PerformanceObserver((list) => report(list.getEntries()))
                .observe({ type, buffered: true });
        } catch (e) { /* an old browser without the type */ }
    }
    window.addEventListener("pagehide", () => report(performance.getEntries()));
})();"""


@dataclass
class Traffic:
    """What the browsers of one test fetched, by person."""

    requests: list[tuple[str, str, str]] = field(default_factory=list)  # (who, method, url)
    websockets: list[tuple[str, str]] = field(default_factory=list)  # (who, url)
    timeline: list[tuple[str, str, str]] = field(default_factory=list)  # (who, type, url)
    welcomes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (who, message)

    async def watch(self, who: str, page: Page) -> None:
        """Record everything ``page``'s browser context fetches from now on."""
        context = page.context

        def on_request(request: Request) -> None:
            self.requests.append((who, request.method, request.url))

        def on_websocket(socket: WebSocket) -> None:
            self.websockets.append((who, socket.url))

            def on_frame(payload: str | bytes) -> None:
                try:
                    message = json.loads(payload)
                except ValueError:
                    return
                if isinstance(message, dict) and message.get("type") == "welcome":
                    self.welcomes.append((who, message))

            socket.on("framereceived", on_frame)

        context.on("request", on_request)
        page.on("websocket", on_websocket)
        await context.expose_function(
            "__timeline", lambda kind, url: self.timeline.append((who, str(kind), str(url))))
        await context.add_init_script(TIMELINE)

    async def snapshot(self, who: str, page: Page) -> None:
        """The timeline of the page open now (its last resources may not be reported yet)."""
        for kind, url in await page.evaluate(
                "() => performance.getEntries()"
                ".filter((e) => e.entryType === 'navigation' || e.entryType === 'resource')"
                ".map((e) => [e.entryType, e.name])"):
            self.timeline.append((who, kind, url))

    def urls(self) -> list[str]:
        return ([url for _, _, url in self.requests] + [url for _, url in self.websockets]
                + [url for _, _, url in self.timeline])

    def foreign(self, base: str) -> list[str]:
        """Every recorded URL that is not the site's own origin (nor data: or blob: of it)."""
        return sorted({url for url in self.urls() if not own_origin(url, base)})


def own_origin(url: str, base: str) -> bool:
    host = urlsplit(base).netloc
    parts = urlsplit(url)
    if parts.scheme == "data" or url == "about:blank":
        return True
    if parts.scheme == "blob":
        return own_origin(url[len("blob:"):], base)
    return parts.scheme in ("http", "ws") and parts.netloc == host


# --- seed data and axe-core ------------------------------------------------------------------


async def seed_open_offices(app: Starlette) -> list[int]:
    """Two offices open around the clock in 5-minute slots, bookable without notice: whenever
    the test runs, a slot starts within a few minutes."""
    today = dt.datetime.now(BERLIN).date()
    async with app_ctx(app).db.transaction(write=True) as session:
        # Letterhead and bank details: the fee notice after the call is written at once.
        offices = [Office(name=name, timezone="Europe/Berlin", min_notice_minutes=0,
                          horizon_days=30, authority="Stadt Musterstadt",
                          address="Rathausplatz 1\n12345 Musterstadt",
                          email="buergerbuero@musterstadt.example", iban=IBAN, bic=BIC,
                          bank_name=BANK)
                   for name in ("Bürgerbüro Musterstadt", "Bürgerbüro Nordstadt")]
        services = [
            Service(name="Meldebescheinigung", name_en="Registration certificate",
                    duration_minutes=5, fee_cents=1000, sort_order=1),
            Service(name="Lebensbescheinigung", name_en="Life certificate",
                    duration_minutes=5, fee_cents=0, sort_order=2),
        ]
        session.add_all([*offices, *services])
        await session.flush()
        for office in offices:
            assert office.id is not None
            schedule = Schedule(office_id=office.id, weekdays="0,1,2,3,4,5,6",
                                start_time=dt.time(0), end_time=dt.time(23, 59), slot_minutes=5,
                                capacity=1, valid_from=today - dt.timedelta(days=2))
            session.add(schedule)
            await session.flush()
            assert schedule.id is not None
            for service in services:
                assert service.id is not None
                session.add(ServiceOffice(service_id=service.id, office_id=office.id))
                session.add(ScheduleService(schedule_id=schedule.id, service_id=service.id))
        return [o.id for o in offices if o.id is not None]


@dataclass
class Axe:
    """axe-core on page after page; the failures are collected and reported together."""

    failures: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    async def check(self, page: Page, name: str, url: str | None = None,
                    status: int = 200) -> None:
        if url is not None:
            response = await page.goto(url)
            assert response is not None and response.status == status, (
                name, url, response and response.status)
        violations = await axe_violations(page)
        self.checked.append(name)
        if violations:
            self.failures.append(f"{name} ({page.url}):\n{describe(violations)}")
        if await page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth"):
            self.failures.append(f"{name} ({page.url}): wider than the screen")

    async def after_click(self, page: Page, name: str, button: str, shows: str) -> None:
        await page.click(button)
        await page.wait_for_selector(shows)
        await self.check(page, name)
