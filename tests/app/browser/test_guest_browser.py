"""A guest interpreter joins a three-way call in real Chromium (three browser contexts with fake
cameras): the clerk creates the one-time link on the call page, the interpreter opens it, waits,
is let in, and every page then plays two remote videos; "show large" puts the interpreter and the
citizen side by side; a second device is refused; axe-core on the guest page."""

from __future__ import annotations

import pytest
from playwright.async_api import Page

from tests.app.browser.test_call_browser import (
    DESK,
    PHONE,
    PLAY_TIMEOUT_MS,
    SCREENSHOTS,
    Browsers,
    Site,
    browsers,
    clerk_login,
    site,
    wait_playing,
    wait_state,
)
from tests.app.pages.call_helpers import quick_hashes
from tests.axe import axe_violations, describe

__all__ = ["browsers", "quick_hashes", "site"]
# Three (four) browser contexts with fake cameras each: one such test at a time per run.
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("quick_hashes"),
              pytest.mark.xdist_group("three-way-call")]

REMOTES = {
    "citizen": ("#remote-video", "#guest-video"),
    "clerk": ("#remote-video", "#guest-video"),
    "guest": ("#clerk-video", "#citizen-video"),
}


async def two_remote_videos_playing(page: Page, who: str) -> None:
    """Both of the page's remote videos play at the same moment (a pair rebuilt after a
    reconnect under load plays again a moment later)."""
    await page.wait_for_function("""(ids) => {
        const playing = [...document.querySelectorAll('#stage video')]
            .filter((v) => v.id !== 'local-video' && v.videoWidth > 0 && !v.paused);
        return playing.length === 2 && ids.every((id) => playing.some((v) => '#' + v.id === id));
    }""", arg=list(REMOTES[who]), timeout=PLAY_TIMEOUT_MS * 2)


async def no_axe_problems(page: Page, name: str) -> None:
    violations = await axe_violations(page)
    assert not violations, f"{name}:\n{describe(violations)}"
    assert not await page.evaluate(
        "() => document.documentElement.scrollWidth > window.innerWidth"), name


async def test_guest_interpreter_joins_a_three_way_call(site: Site, browsers: Browsers) -> None:
    citizen = await browsers.page("citizen", PHONE)
    clerk = await browsers.page("clerk", DESK)
    guest = await browsers.page("guest", DESK)

    await citizen.goto(f"{site.base}/t/{site.token}/call")
    await wait_playing(citizen, "#local-video")
    await citizen.click("#join")
    await wait_state(citizen, "#connection-state", "data-state", "waiting")
    await clerk_login(clerk, site.base, site.reference)
    await wait_state(clerk, "#waiting-indicator", "data-waiting", "yes")
    await clerk.click("#admit")
    await wait_playing(clerk, "#remote-video")
    await wait_playing(citizen, "#remote-video")

    # The clerk invites a sign-language interpreter: the link appears, with a copy button.
    await clerk.check("input[name=kind][value=sign_language]")
    await clerk.fill("#guest-name", "Frau Sommer")
    await clerk.click("#invite-guest")
    await clerk.wait_for_function("() => document.querySelector('#guest-link').value !== ''",
                                  timeout=PLAY_TIMEOUT_MS)
    link = await clerk.input_value("#guest-link")
    assert link.startswith(f"{site.base}/g/")
    assert "Gebärdensprachdolmetscher/in" in await clerk.inner_text("#guest-state")
    assert await clerk.is_visible("#copy-guest-link")

    # The interpreter's page: German, the device check, then the waiting room.
    await guest.goto(link)
    assert await guest.get_attribute("html", "lang") == "de"
    assert "Videogespräch als Gebärdensprachdolmetscher/in" in await guest.inner_text("h1")
    await wait_playing(guest, "#local-video")
    await no_axe_problems(guest, "guest page")
    await guest.click("#join")
    await wait_state(guest, "#connection-state", "data-state", "waiting")
    await no_axe_problems(guest, "guest waiting room")

    # The clerk sees "Dolmetscher/in wartet" and lets them in (the citizen's admission is
    # another one).
    await wait_state(clerk, "#guest-state", "data-state", "waiting")
    assert "Dolmetscher/in wartet" in await clerk.inner_text("#guest-state")
    await clerk.click("#admit-guest")

    # All three see the two others.
    await two_remote_videos_playing(clerk, "clerk")
    await two_remote_videos_playing(citizen, "citizen")
    await two_remote_videos_playing(guest, "guest")
    await wait_state(guest, "#connection-state", "data-state", "in-call")
    await wait_state(clerk, "#guest-state", "data-state", "in-call")

    # "Show large": the interpreter's and the citizen's video side by side, both large.
    await two_remote_videos_playing(clerk, "clerk")
    tiles = """() => ['#remote-tile', '#guest-tile'].map((s) => {
        const r = document.querySelector(s).getBoundingClientRect();
        return [r.left, r.top, r.width];
    })"""
    (_, _, citizen_width), (_, _, guest_width) = await clerk.evaluate(tiles)
    assert guest_width < citizen_width * 0.75  # before: the citizen large, the guest beside
    await clerk.click("#show-large")
    assert await clerk.get_attribute("#show-large", "aria-pressed") == "true"
    await two_remote_videos_playing(clerk, "clerk")
    sizes = await clerk.evaluate(tiles)
    (left_a, top_a, width_a), (left_b, top_b, width_b) = sizes
    assert abs(top_a - top_b) < 2 and left_a != left_b, sizes  # side by side
    assert abs(width_a - width_b) < 2, sizes  # the same size
    assert min(width_a, width_b) > DESK["width"] * 0.2, sizes  # both large
    await clerk.screenshot(path=str(SCREENSHOTS / "call-clerk-three-large.png"))
    await no_axe_problems(clerk, "clerk call page with a guest")

    # The link works on one device only: a second browser is refused, in plain German.
    other = await browsers.page("second device", PHONE)
    await other.goto(link)
    await wait_playing(other, "#local-video")
    await no_axe_problems(other, "guest page on a phone")
    await other.click("#join")
    await other.wait_for_selector("#call-result:not([hidden])", timeout=PLAY_TIMEOUT_MS)
    assert "bereits auf einem anderen Gerät" in await other.inner_text("#call-result")

    # The interpreter leaves: the others go back to one remote video.
    await guest.click("#leave")
    await clerk.wait_for_selector("#guest-video", state="detached", timeout=PLAY_TIMEOUT_MS)
    await citizen.wait_for_selector("#guest-video", state="detached", timeout=PLAY_TIMEOUT_MS)
    await wait_playing(clerk, "#remote-video")
    assert await clerk.is_hidden("#show-large")
