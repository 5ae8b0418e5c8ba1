"""The waiting room that talks, in real Chromium (fake camera and microphone) against a real
uvicorn: the citizen's waiting screen shows the appointment, that the office knows they are
there and the office's phone; the clerk's agenda alerts (tone, tab title), shows how long the
person has waited (the services' clock is moved, nothing waits) and new bookings without a
reload; the clerk's messages from the agenda and from the call page arrive on the waiting
screen, also after a reload. And axe-core on every page touched, at desk and phone width."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.async_api import Page
from sqlalchemy import update
from sqlmodel import col

from booking.models import Office
from core.types import Clock
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
from tests.app.browser.test_desk_browser import clerk_to_agenda, row
from tests.app.pages.call_helpers import add_appointment, quick_hashes
from tests.app.pages.seed import app_ctx
from tests.axe import axe_violations, describe

__all__ = ["browsers", "quick_hashes", "site"]
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("quick_hashes")]

PHONE_NUMBER = "0711 98765-0"

# Counts the tones the page starts (Web Audio oscillators), without changing what they do.
COUNT_TONES = """(() => {
    window.__tones = 0;
    const start = OscillatorNode.prototype.start;
    OscillatorNode.prototype.start = function (...args) {
        window.__tones += 1;
        return start.apply(this, args);
    };
})();"""


# Counts desktop notifications and permission requests (the real ones still happen).
COUNT_NOTIFICATIONS = """(() => {
    window.__notes = [];
    window.__asked = 0;
    const Real = window.Notification;
    if (!Real) return;
    const Counting = function (title, options) {
        window.__notes.push([title, (options && options.body) || '']);
        return new Real(title, options);
    };
    Counting.prototype = Real.prototype;
    Object.defineProperty(Counting, 'permission', { get: () => Real.permission });
    Counting.requestPermission = (...args) => {
        window.__asked += 1;
        return Real.requestPermission(...args);
    };
    window.Notification = Counting;
})();"""


async def text_in(page: Page, selector: str, text: str) -> None:
    await page.wait_for_function(
        "([sel, text]) => (document.querySelector(sel)?.textContent || '').includes(text)",
        arg=[selector, text], timeout=PLAY_TIMEOUT_MS)


async def axe_clean(page: Page, name: str, failures: list[str]) -> None:
    violations = await axe_violations(page)
    if violations:
        failures.append(f"{name}:\n{describe(violations)}")
    if await page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth"):
        failures.append(f"{name}: wider than the screen")


async def test_the_waiting_room_talks(office_hours: dt.datetime, site: Site,
                                      browsers: Browsers) -> None:
    async with app_ctx(site.app).db.transaction(write=True) as session:
        await session.execute(update(Office).where(col(Office.id) == site.seed.office_id)
                              .values(phone=PHONE_NUMBER))
    clerk = await browsers.page("clerk", DESK)
    await clerk.context.add_init_script(COUNT_TONES)
    await clerk.context.add_init_script(COUNT_NOTIFICATIONS)
    await clerk.context.grant_permissions(["notifications"], origin=site.base)
    citizen = await browsers.page("citizen", PHONE)
    failures: list[str] = []

    await clerk_to_agenda(clerk, site.base)
    title = await clerk.title()
    assert not title.startswith("(")
    await clerk.evaluate("() => { window.__sameAgenda = true; }")
    assert await clerk.is_checked("#alert-sound")  # the tone is on unless switched off
    assert await clerk.is_hidden("#alert-notify")  # allowed already: nothing to ask

    # The citizen joins the waiting room: appointment, "the office knows", the phone number.
    await citizen.goto(f"{site.base}/t/{site.token}/call")
    await wait_playing(citizen, "#local-video")
    await citizen.click("#join")
    await wait_state(citizen, "#connection-state", "data-state", "waiting")
    room = await citizen.inner_text("#waiting-room")
    assert "Das Bürgerbüro weiß, dass Sie da sind." in room
    assert "Meldebescheinigung" in await citizen.inner_text("#waiting-appointment")
    assert await citizen.get_attribute("#waiting-phone a", "href") == "tel:0711987650"
    assert PHONE_NUMBER in room
    assert await citizen.is_hidden("#waiting-info")  # no message yet

    # The agenda: highlighted, how long, the tab title, a tone.
    await wait_state(clerk, row(site.reference), "data-waiting", "yes")
    await text_in(clerk, f"{row(site.reference)} [data-waited]", "wartet seit weniger als 1 Min.")
    await clerk.wait_for_function("() => document.title.startsWith('(1) wartet – ')")
    assert await clerk.title() == f"(1) wartet – {title}"
    await clerk.wait_for_function("() => window.__tones > 0")
    assert await clerk.get_attribute("#agenda-root", "data-alerts") == "1"
    assert await clerk.get_attribute("#agenda-root", "data-alert-sound") in ("played", "blocked")
    notes = await clerk.evaluate("() => window.__notes")
    assert notes == [["Jemand wartet", f"Erika Mustermann ({site.reference}) wartet jetzt."]]

    # Four minutes later (the services' clock moves; nothing waits for it).
    Clock.shift(Clock.offset + dt.timedelta(minutes=4))
    await text_in(clerk, f"{row(site.reference)} [data-waited]", "wartet seit 4 Min.")

    # A message from the agenda to this person.
    await clerk.click(f"{row(site.reference)} [data-row-message] summary")
    await clerk.fill(f"#waiting-message-{site.reference}", "Wir sind etwa 5 Minuten im Verzug.")
    await clerk.click(f"{row(site.reference)} [data-row-message] button[type=submit]")
    await text_in(citizen, "#waiting-info", "Wir sind etwa 5 Minuten im Verzug.")
    assert await citizen.get_attribute("#waiting-info", "aria-live") == "polite"
    await text_in(clerk, f"{row(site.reference)} [data-waiting-message-result]",
                  "Gesendet an 1 Termin")
    await axe_clean(citizen, "citizen waiting room with a message (375 px)", failures)
    await citizen.screenshot(path="/tmp/waiting-room-message-375.png", full_page=True)

    # A booking made now appears in the open agenda, without a reload, and is announced.
    new_reference, _ = await add_appointment(site.app, site.seed,
                                             start=office_hours + dt.timedelta(minutes=40))
    await clerk.wait_for_selector(row(new_reference), timeout=PLAY_TIMEOUT_MS)
    assert await clerk.evaluate("() => window.__sameAgenda === true")
    await text_in(clerk, "#agenda-live", f"Neuer Termin: Erika Mustermann ({new_reference})")
    assert await clerk.get_attribute(row(site.reference), "data-waiting") == "yes"
    # The message form the clerk had open is still open after the rows were renewed.
    assert await clerk.evaluate(
        f"() => document.querySelector(\"{row(site.reference)} [data-row-message]\").open")
    await axe_clean(clerk, "agenda with waiting tools", failures)
    await clerk.screenshot(path="/tmp/waiting-agenda.png", full_page=True)
    await clerk.set_viewport_size(PHONE)
    await axe_clean(clerk, "agenda with waiting tools (375 px)", failures)
    await clerk.set_viewport_size(DESK)

    # The tone can be switched off, and stays off.
    await clerk.click("#alert-sound")
    assert await clerk.evaluate("() => localStorage.getItem('agenda-alert-sound')") == "off"

    # From the call page: #waiting-message and #waiting-message-send.
    await clerk.goto(f"{site.base}/staff/call/{site.reference}")
    await wait_state(clerk, "#waiting-indicator", "data-waiting", "yes")
    await clerk.fill("#waiting-message", "Ich bin gleich für Sie da.")
    await clerk.click("#waiting-message-send")
    await text_in(citizen, "#waiting-info", "Ich bin gleich für Sie da.")
    await text_in(clerk, "#waiting-message-result", "Gesendet")
    assert await clerk.input_value("#waiting-message") == ""
    await axe_clean(clerk, "clerk call page with the waiting message", failures)
    infos = await citizen.locator("#waiting-info .waiting-info-text").all_inner_texts()
    assert infos == ["Ich bin gleich für Sie da.", "Wir sind etwa 5 Minuten im Verzug."]

    # A reload (or coming back later): the last message is there again.
    await citizen.reload()
    await wait_state(citizen, "#connection-state", "data-state", "waiting")
    await text_in(citizen, "#waiting-info", "Ich bin gleich für Sie da.")
    assert not failures, "\n\n".join(failures)


async def test_notifications_are_asked_for_only_on_a_click(site: Site, browsers: Browsers) -> None:
    clerk = await browsers.page("clerk", DESK)
    await clerk.context.add_init_script(COUNT_NOTIFICATIONS)
    await clerk_to_agenda(clerk, site.base)
    assert await clerk.evaluate("() => Notification.permission") == "default"
    assert await clerk.evaluate("() => window.__asked") == 0  # never on load
    assert await clerk.is_visible("#alert-notify")
    await clerk.click("#alert-notify")
    await clerk.wait_for_function("() => window.__asked === 1")
