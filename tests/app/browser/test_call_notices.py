"""The server's notices during a call, in real Chromium on both call pages: the office's store
is interrupted and back (the call goes on, the pages say so and then stop saying so), and the
video room closes soon, then ends the call on both pages."""

from __future__ import annotations

import asyncio
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from app.calls import hub_of
from signaling.errors import BackendUnavailable
from tests.app.browser.test_call_browser import (
    PHONE,
    PLAY_TIMEOUT_MS,
    Browsers,
    Site,
    browsers,
    clerk_login,
    site,
    wait_picture,
    wait_state,
)
from tests.app.pages.call_helpers import quick_hashes
from tests.calls.conftest import state_of
from tests.conftest import RENDERED_ONLY

__all__ = ["browsers", "quick_hashes", "site"]
pytestmark = [pytest.mark.browser]

DESK = {"width": 1440, "height": 900}
INTERRUPTED = "Die Verbindung zum Server der Behörde ist unterbrochen"
# Each text #call-notice shows, recorded as it is shown: the hub's own sweep (every 3 s) may
# find the store back within milliseconds of the interruption, so the notice can come and go
# between two looks of a waiting test.
RECORD_NOTICES = """() => {
  const notice = document.getElementById("call-notice");
  window.shownNotices = [];
  new MutationObserver(() => {
    if (!notice.hidden) window.shownNotices.push(notice.textContent);
  }).observe(notice, {attributes: true, childList: true, characterData: true, subtree: true});
}"""
SHOWN = "text => window.shownNotices.some(shown => shown.includes(text))"


@RENDERED_ONLY  # what the pages do does not depend on the database behind them
async def test_interruption_and_closing_room_are_shown(site: Site, browsers: Browsers) -> None:
    citizen = await browsers.page("citizen", PHONE)
    clerk = await browsers.page("clerk", DESK)
    await citizen.goto(f"{site.base}/t/{site.token}/call")
    await citizen.click("#join")
    await wait_state(citizen, "#connection-state", "data-state", "waiting")
    await clerk_login(clerk, site.base, site.reference)
    await wait_state(clerk, "#waiting-indicator", "data-waiting", "yes")
    await clerk.click("#admit")
    await wait_picture(citizen, "#remote-video")
    await wait_picture(clerk, "#remote-video")
    for page in (citizen, clerk):
        assert await page.is_hidden("#call-notice")

    for page in (citizen, clerk):
        await page.evaluate(RECORD_NOTICES)
    hub = hub_of(state_of(site.app))
    hub.outage.failed(BackendUnavailable("connection refused"))
    for page in (citizen, clerk):
        await page.wait_for_function(SHOWN, arg=INTERRUPTED, timeout=PLAY_TIMEOUT_MS)
        assert await page.get_attribute("#call-notice", "role") == "status"
        assert await page.get_attribute("#connection-state", "data-state") == "connected"
    await citizen.screenshot(path="/tmp/call-citizen-interrupted-375.png", full_page=True)
    hub.outage.end()  # (or the hub's own sweep, every 3 s, found the store back already)
    for page in (citizen, clerk):
        await page.wait_for_selector("#call-notice", state="hidden", timeout=PLAY_TIMEOUT_MS)
        assert await page.get_attribute("#connection-state", "data-state") == "connected"

    [closes_at] = {s.grant.closes_at for s in hub.sessions() if s.grant is not None}
    hub.now = lambda: closes_at - dt.timedelta(minutes=4)
    await hub.sweep()
    local = closes_at.astimezone(ZoneInfo("Europe/Berlin"))  # the pages' zone
    text = f"Der Videoraum schließt um {local:%H:%M}."
    for page in (citizen, clerk):
        await page.wait_for_selector(f"#call-notice:has-text('{text}')", timeout=PLAY_TIMEOUT_MS)
    hub.now = lambda: closes_at + dt.timedelta(seconds=1)
    await hub.sweep()
    for page in (citizen, clerk):
        await wait_state(page, "#connection-state", "data-state", "ended")
    async with asyncio.timeout(10):
        while hub.sessions():  # both connections closed on the server too
            await asyncio.sleep(0.05)
