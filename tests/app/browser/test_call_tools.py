"""The call's tools in real Chromium (fake camera and microphone) against a real uvicorn: the chat
both ways, never stored or logged; the clerk's view of the citizen that stays in view at a desk;
the still frame that never leaves the clerk's browser; document mode changing the resolution
the clerk sees; screen sharing with its indicator on both pages; the citizen's phone layout in
portrait and landscape; the identity check's result in place of its form and "Let in" gone once
the citizen is in; axe-core on the pages with the tools in use."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from playwright.async_api import Page, Request, WebSocket, async_playwright
from sqlalchemy import text

from tests.app.browser.test_call_browser import (
    DESK,
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
from tests.app.browser.test_desk_browser import fill_identity_check
from tests.app.pages.call_helpers import quick_hashes
from tests.app.pages.seed import app_ctx
from tests.axe import axe_violations, describe
from tests.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import RENDERED_ONLY

__all__ = ["browsers", "quick_hashes", "site"]
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("quick_hashes")]

WIDE_DESK = {"width": 1440, "height": 900}
LANDSCAPE = {"width": 812, "height": 375}


async def in_call(site: Site, browsers: Browsers, *, citizen_view: dict[str, int] = PHONE,
                  clerk_view: dict[str, int] = WIDE_DESK,
                  wire: Wire | None = None, citizen: Page | None = None) -> tuple[Page, Page]:
    """The citizen waits, the clerk admits, both see each other. ``wire`` records what the
    clerk's page sends from its first request on; ``citizen`` is a page of another browser."""
    citizen = citizen or await browsers.page("citizen", citizen_view)
    clerk = await browsers.page("clerk", clerk_view)
    if wire is not None:
        wire.watch(clerk)
    await citizen.goto(f"{site.base}/t/{site.token}/call")
    await citizen.click("#join")
    await wait_state(citizen, "#connection-state", "data-state", "waiting")
    await clerk_login(clerk, site.base, site.reference)
    await wait_state(clerk, "#waiting-indicator", "data-waiting", "yes")
    assert await clerk.is_visible("#admit")
    await clerk.click("#admit")
    await wait_picture(citizen, "#remote-video")
    await wait_picture(clerk, "#remote-video")
    for page in (citizen, clerk):
        await wait_state(page, "#connection-state", "data-state", "connected")
    return citizen, clerk


@dataclass
class Wire:
    """Every request and WebSocket frame a page sends, with its body."""

    requests: list[tuple[str, str, bytes]] = field(default_factory=list)  # method, url, body
    frames: list[str | bytes] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        def on_request(request: Request) -> None:
            self.requests.append((request.method, request.url, request.post_data_buffer or b""))

        def on_websocket(socket: WebSocket) -> None:
            socket.on("framesent", lambda payload: self.frames.append(payload))

        page.on("request", on_request)
        page.on("websocket", on_websocket)

    def image_data(self) -> list[str]:
        """What looks like a picture leaving the page: a data: URL, a binary or big body."""
        found = []
        for method, url, body in self.requests:
            if "data:image" in url or b"data:image" in body or len(body) > 4096:
                found.append(f"{method} {url[:80]} ({len(body)} bytes)")
            elif body and not body.isascii():
                found.append(f"{method} {url[:80]}: binary body")
        for frame in self.frames:
            if isinstance(frame, bytes) or "data:image" in frame:
                found.append(f"websocket frame of {len(frame)}")
                continue
            kind = json.loads(frame).get("type")
            # Offers and answers carry the SDP (a few KiB of text); nothing else is big.
            if len(frame) > 4096 and kind not in ("offer", "answer"):
                found.append(f"websocket frame {kind} of {len(frame)}")
        return found


# --- chat, admit, identity ---------------------------------------------------------------------


async def test_chat_both_ways_never_stored_and_admit_gone(
        site: Site, browsers: Browsers, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    citizen, clerk = await in_call(site, browsers, clerk_view=DESK)
    # Let in has done its work: the citizen is in, the button is gone.
    assert not await clerk.is_visible("#admit")

    # The citizen spells the name (by keyboard: Enter sends); the clerk's log shows it.
    assert await citizen.get_attribute("#chat", "role") == "log"
    assert await citizen.get_attribute("#chat", "aria-live") == "polite"
    await citizen.click("#chat-toggle")  # on the phone the chat is a sheet over the video
    assert await citizen.get_attribute("#chat-toggle", "aria-expanded") == "true"
    await citizen.wait_for_function("() => document.activeElement.id === 'chat-input'")
    await citizen.keyboard.type("Ö-Z-T-Ü-R-K mit Punkten")
    await citizen.keyboard.press("Enter")
    await clerk.wait_for_selector("#chat .chat-line[data-from='other']:has-text('Ö-Z-T-Ü-R-K')",
                                  timeout=PLAY_TIMEOUT_MS)
    assert "Bürger/in: Ö-Z-T-Ü-R-K mit Punkten" in await clerk.inner_text("#chat")
    assert await citizen.input_value("#chat-input") == ""
    assert "Sie: Ö-Z-T-Ü-R-K" in await citizen.inner_text("#chat")

    # And back, with a control character that the server removes.
    await clerk.fill("#chat-input", "Danke,\u0007 notiert: Hauptstraße 5")
    await clerk.click("#chat-send")
    await citizen.wait_for_selector("#chat .chat-line[data-from='other']", timeout=PLAY_TIMEOUT_MS)
    assert "Sachbearbeitung: Danke, notiert: Hauptstraße 5" in await citizen.inner_text("#chat")

    # The identity check: once recorded, its result stands where the form was.
    await fill_identity_check(clerk)
    await clerk.click("#record-check")
    await clerk.wait_for_selector("#desk-check-result[data-verified='yes']",
                                  timeout=PLAY_TIMEOUT_MS)
    assert not await clerk.is_visible("#identity-form")
    assert not await clerk.is_visible("#record-check")
    assert await clerk.is_visible("#identity-recheck summary")  # another check stays possible
    assert await clerk.is_visible("#identity-panel #desk-check-result")

    # Never stored, never logged: no database row and no log record holds a chat line.
    rows = await dump_database(site)
    assert rows and not [r for r in rows if "Ö-Z-T-Ü-R-K" in r or "Hauptstraße 5" in r]
    assert logging.getLogger("signaling.rooms").isEnabledFor(logging.DEBUG)  # all captured
    assert not [r for r in caplog.records
                if "Ö-Z-T-Ü-R-K" in r.getMessage() or "Hauptstraße 5" in r.getMessage()]

    # The call ends: the chat goes with it.
    await clerk.click("#end-call")
    await citizen.wait_for_selector("#call-result:has-text('beendet')", timeout=PLAY_TIMEOUT_MS)
    assert await clerk.inner_text("#chat") == ""
    assert await citizen.inner_text("#chat") == ""


async def dump_database(site: Site) -> list[str]:
    """Every row of every table as text."""
    async with app_ctx(site.app).db.transaction() as session:
        connection = await session.connection()
        names = await connection.run_sync(
            lambda sync: __import__("sqlalchemy").inspect(sync).get_table_names())
        rows: list[str] = []
        for name in names:
            result = await session.execute(text(f'SELECT * FROM "{name}"'))
            rows.extend(f"{name}: {row}" for row in result.all())
        return rows


# --- the clerk's view: sticky video, still frame, zoom -------------------------------------------


REMOTE_BOX = """() => {
    const r = document.querySelector('#remote-video').getBoundingClientRect();
    return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, width: r.width,
            height: r.height, vw: window.innerWidth, vh: window.innerHeight,
            scrollY: window.scrollY};
}"""

# The element is what one sees at its centre (inside the window, not clipped by a scrolled box).
SEEN = """(sel) => {
    const e = document.querySelector(sel);
    const r = e.getBoundingClientRect();
    const x = r.left + r.width / 2, y = r.top + Math.min(r.height / 2, 20);
    if (x < 0 || y < 0 || x >= window.innerWidth || y >= window.innerHeight) return false;
    const hit = document.elementFromPoint(x, y);
    return !!hit && (hit === e || e.contains(hit));
}"""

# The canvas is not blank: many pixels are not black, and they differ from each other.
CANVAS_PIXELS = """() => {
    const c = document.querySelector('#still-canvas');
    if (!c.width || !c.height) return null;
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let lit = 0; const seen = new Set();
    for (let i = 0; i < data.length; i += 4 * 97) {
        if (data[i] + data[i + 1] + data[i + 2] > 60) lit += 1;
        seen.add((data[i] >> 4) + ',' + (data[i + 1] >> 4) + ',' + (data[i + 2] >> 4));
    }
    return {width: c.width, height: c.height, lit, colours: seen.size};
}"""


async def test_clerk_video_stays_in_view_and_the_still_frame_stays_in_the_browser(
        site: Site, browsers: Browsers) -> None:
    wire = Wire()
    citizen, clerk = await in_call(site, browsers, wire=wire)

    before = await clerk.evaluate(REMOTE_BOX)
    assert before["width"] >= 720, before
    # The clerk works through the identity panel to its end: the citizen stays in view.
    await clerk.evaluate(
        "() => document.querySelector('#identity-panel').scrollIntoView({block: 'end'})")
    await clerk.wait_for_timeout(100)  # one frame for the scroll to apply
    box = await clerk.evaluate(REMOTE_BOX)
    assert box["scrollY"] > 0, box  # the page did scroll
    assert box["width"] >= 720, box
    assert box["top"] >= 0 and box["bottom"] <= box["vh"], box
    assert box["left"] >= 0 and box["right"] <= box["vw"], box
    assert await clerk.evaluate(
        "() => getComputedStyle(document.querySelector('#call .call-main')).position"
    ) == "sticky"
    # And to the completion panel at the very end of the page.
    await clerk.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
    await clerk.wait_for_timeout(100)
    box = await clerk.evaluate(REMOTE_BOX)
    assert box["top"] >= 0 and box["bottom"] <= box["vh"], box
    await clerk.screenshot(path="/tmp/call-tools-clerk-scrolled-1440.png")

    # A still frame by keyboard: drawn into the canvas, shown beside the panels.
    await clerk.focus("#still-frame")
    await clerk.keyboard.press("Enter")
    await clerk.wait_for_selector("#still-panel", state="visible")
    pixels = await clerk.evaluate(CANVAS_PIXELS)
    assert pixels is not None and pixels["width"] > 0, pixels
    assert pixels["lit"] > 20 and pixels["colours"] > 3, pixels
    assert await clerk.evaluate("() => document.activeElement.id") == "still-view"
    await clerk.click("#still-zoom-in")
    await clerk.click("#still-zoom-in")
    assert await clerk.get_attribute("#still-canvas", "data-zoom") == "3"
    scroll = await clerk.evaluate(
        "() => { const v = document.querySelector('#still-view');"
        " return [v.scrollWidth, v.clientWidth]; }")
    assert scroll[0] > 2 * scroll[1], scroll  # zoomed: wider than its frame, to scroll around

    # The live video zooms, and offers full screen.
    await clerk.click("#remote-zoom")
    assert await clerk.get_attribute("#remote-zoom", "data-zoom") == "2"
    assert "scale(2)" in await clerk.evaluate(
        "() => document.querySelector('#remote-video').style.transform")
    assert "2×" in await clerk.inner_text("#remote-zoom")
    assert await clerk.is_visible("#remote-fullscreen")

    # Nothing of the picture left the browser: no request or frame carries image data.
    await clerk.wait_for_timeout(500)
    # The recorder sees the page's traffic: its pages, the token request, the signalling.
    assert any("/token" in url for _, url, _ in wire.requests)
    assert any('"admit"' in frame for frame in wire.frames if isinstance(frame, str))
    assert wire.image_data() == []

    # Discarded: gone from the canvas.
    await clerk.click("#still-discard")
    assert not await clerk.is_visible("#still-panel")
    assert await clerk.evaluate(CANVAS_PIXELS) is None
    # A chat line that comes while the clerk's chat is out of sight (below the video on a
    # lower screen) shows on the chat button, which brings the chat into view.
    await clerk.set_viewport_size({"width": 1440, "height": 700})
    await clerk.evaluate("() => { document.querySelector('#call .call-main').scrollTop = 0; }")
    await clerk.wait_for_timeout(100)
    assert not await clerk.evaluate(SEEN, "#chat")
    assert not await clerk.is_visible("#chat-toggle")
    await citizen.click("#chat-toggle")
    await citizen.fill("#chat-input", "Sind Sie noch da?")
    await citizen.press("#chat-input", "Enter")
    await clerk.wait_for_selector("#chat-toggle[data-unread='1']", timeout=PLAY_TIMEOUT_MS)
    assert await clerk.inner_text("#chat-toggle") == "Chat (1 neu)"
    assert await clerk.evaluate(IN_VIEW, "#chat-toggle")
    await clerk.click("#chat-toggle")
    assert await clerk.evaluate("() => document.activeElement.id") == "chat-input"
    await clerk.wait_for_function(SEEN, arg="#chat-input")
    await clerk.wait_for_function(SEEN, arg="#chat")
    assert not await clerk.is_visible("#chat-toggle")
    await clerk.set_viewport_size({"width": 1440, "height": 900})

    # A new still, then the call ends: it goes with the call.
    await clerk.click("#still-frame")
    assert await clerk.evaluate(CANVAS_PIXELS) is not None
    await clerk.click("#end-call")
    await clerk.wait_for_selector("#call-result:has-text('beendet')", timeout=PLAY_TIMEOUT_MS)
    assert await clerk.evaluate(CANVAS_PIXELS) is None
    assert wire.image_data() == []
    assert citizen  # the citizen's page was in the call throughout


async def test_the_privacy_notice_says_still_frames_stay_in_the_browser(
        site: Site, browsers: Browsers) -> None:
    page = await browsers.page("citizen", PHONE)
    await page.goto(f"{site.base}/privacy")
    assert "nie an unseren Server gesendet" in await page.inner_text("#privacy-still-frame")
    assert "nicht gespeichert" in await page.inner_text("#privacy-chat")


# --- document mode -----------------------------------------------------------------------------

CAMERA = """() => {
    const t = document.querySelector('#local-video').srcObject.getVideoTracks()[0];
    const s = t.getSettings();
    return {width: s.width, height: s.height, live: t.readyState === 'live'};
}"""

# The citizen's page sends exactly this track to the clerk.
SENT = """() => {
    const t = document.querySelector('#local-video').srcObject.getVideoTracks()[0];
    return t.id;
}"""


@asynccontextmanager
async def own_chromium() -> AsyncIterator[tuple[Page, list[str]]]:
    """A page in a Chromium of its own, and its script errors. Chromium opens its fake camera
    once for the whole browser, at the size the first page asked for: the clerk's page in the
    shared browser would pin the citizen's camera to that size."""
    problems: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport=PHONE,  # type: ignore[arg-type]
                                                locale="de-DE", timezone_id="Europe/Berlin")
            page = await context.new_page()
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            yield page, problems
        finally:
            await browser.close()


async def test_document_mode_changes_the_resolution_the_clerk_sees(
        site: Site, browsers: Browsers) -> None:
    async with own_chromium() as (page, problems):
        await document_mode(site, browsers, page)
    assert [p for p in problems if "Failed to load resource" not in p] == []


async def document_mode(site: Site, browsers: Browsers, page: Page) -> None:
    citizen, clerk = await in_call(site, browsers, citizen=page)
    before = await citizen.evaluate(CAMERA)

    # The citizen refuses first: the clerk is told.
    await clerk.click("#document-mode")
    await citizen.wait_for_selector("#document-mode-dialog[open]", timeout=PLAY_TIMEOUT_MS)
    assert await citizen.evaluate("() => document.activeElement.id") == "document-mode-accept"
    assert "Rückkamera" in await citizen.inner_text("#document-mode-dialog")
    await citizen.click("#document-mode-refuse")
    await clerk.wait_for_selector("#document-mode-text:has-text('abgelehnt')",
                                  timeout=PLAY_TIMEOUT_MS)
    assert await citizen.evaluate(CAMERA) == before

    # Asked again, the citizen accepts: the rear camera at its highest resolution.
    await clerk.click("#document-mode")
    await citizen.wait_for_selector("#document-mode-dialog[open]", timeout=PLAY_TIMEOUT_MS)
    await citizen.keyboard.press("Enter")  # the focused "switch" button
    await clerk.wait_for_function(
        "() => document.querySelector('#document-resolution').dataset.width !== ''",
        timeout=PLAY_TIMEOUT_MS)
    after = await citizen.evaluate(CAMERA)
    shown = await clerk.get_attribute("#document-resolution", "data-width"), \
        await clerk.get_attribute("#document-resolution", "data-height")
    assert shown == (str(after["width"]), str(after["height"])), (shown, after)
    assert (after["width"], after["height"]) != (before["width"], before["height"])
    assert after["width"] * after["height"] > before["width"] * before["height"]
    assert await clerk.inner_text("#document-resolution") == f"{after['width']} × {after['height']}"
    # The peer connection sends the new track (replaceTrack: no new offer), and it arrives.
    sent = await citizen.evaluate(
        "() => window.__sent = [...document.querySelector('#local-video').srcObject"
        ".getVideoTracks()].map((t) => t.id)")
    assert len(sent) == 1
    await clerk.wait_for_function(
        "([w]) => document.querySelector('#remote-video').videoWidth > 0", arg=[after["width"]],
        timeout=PLAY_TIMEOUT_MS)
    assert await citizen.is_visible("#document-mode-stop")
    await clerk.screenshot(path="/tmp/call-tools-document-mode-1440.png")

    # Back to the usual camera, asked by the clerk.
    assert "Zurück" in await clerk.inner_text("#document-mode")
    await clerk.click("#document-mode")
    await clerk.wait_for_selector("#document-mode-text:has-text('Übliche Kamera')",
                                  timeout=PLAY_TIMEOUT_MS)
    back = await citizen.evaluate(CAMERA)
    assert (back["width"], back["height"]) == (before["width"], before["height"])
    assert await clerk.get_attribute("#document-resolution", "data-width") == str(back["width"])
    assert not await citizen.is_visible("#document-mode-stop")
    await wait_picture(clerk, "#remote-video")


# --- screen sharing ----------------------------------------------------------------------------



# A red test card with a moving square stands in for the screen (Chromium's fake screen is as
# green as its fake camera): the citizen then sees which of the two the clerk sends.
RED_SCREEN = """() => {
    navigator.mediaDevices.getDisplayMedia = async () => {
        const c = document.createElement('canvas');
        c.width = 640; c.height = 360;
        const g = c.getContext('2d');
        const draw = () => {
            g.fillStyle = '#d00000'; g.fillRect(0, 0, 640, 360);
            g.fillStyle = '#ffffff'; g.fillRect((Date.now() / 10) % 600, 160, 40, 40);
        };
        draw();
        setInterval(draw, 100);
        return c.captureStream(10);
    };
}"""
RED = """(selector) => {
    const v = document.querySelector(selector);
    if (!v || v.videoWidth === 0) return false;
    const c = document.createElement('canvas'); c.width = 64; c.height = 48;
    const g = c.getContext('2d'); g.drawImage(v, 0, 0, 64, 48);
    const d = g.getImageData(0, 0, 64, 48).data; let r = 0, gr = 0;
    for (let i = 0; i < d.length; i += 4) { r += d[i]; gr += d[i + 1]; }
    const n = d.length / 4;
    return r / n > 100 && r > 2 * gr;
}"""


async def test_screen_sharing_shows_on_both_pages(site: Site, browsers: Browsers) -> None:
    citizen, clerk = await in_call(site, browsers)
    # Headless Chromium shares a (fake) screen: --use-fake-ui-for-media-stream picks it.
    assert await clerk.is_visible("#screen-share")
    await clerk.click("#screen-share")
    await citizen.wait_for_selector("#screen-share-indicator[data-sharing='yes']",
                                    timeout=PLAY_TIMEOUT_MS)
    assert await citizen.inner_text("#screen-share-indicator") == "Bildschirm wird geteilt"
    assert await citizen.is_visible("#screen-share-indicator")
    assert await clerk.inner_text("#screen-share-indicator") == "Bildschirm wird geteilt"
    assert await clerk.get_attribute("#screen-share", "aria-pressed") == "true"
    assert "nicht mehr teilen" in await clerk.inner_text("#screen-share")
    await clerk.click("#screen-share")  # stop
    await citizen.wait_for_selector("#screen-share-indicator[data-sharing='no']",
                                    state="attached", timeout=PLAY_TIMEOUT_MS)
    assert await citizen.inner_text("#screen-share-indicator") == ""
    assert await clerk.get_attribute("#screen-share", "aria-pressed") == "false"

    # What is shared reaches the citizen in place of the camera, and the camera comes back.
    await clerk.evaluate(RED_SCREEN)
    await clerk.click("#screen-share")
    await citizen.wait_for_function(RED, arg="#remote-video", timeout=PLAY_TIMEOUT_MS)
    assert await citizen.is_visible("#screen-share-indicator")
    await clerk.click("#screen-share")
    await wait_picture(citizen, "#remote-video")
    assert not await citizen.evaluate(RED, "#remote-video")
    await citizen.wait_for_selector("#screen-share-indicator[data-sharing='no']",
                                    state="attached", timeout=PLAY_TIMEOUT_MS)


# --- the phone ----------------------------------------------------------------------------------

IN_VIEW = """(sel) => {
    const r = document.querySelector(sel).getBoundingClientRect();
    return r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0
        && r.bottom <= window.innerHeight && r.right <= window.innerWidth;
}"""
FITS = """() => document.documentElement.scrollHeight <= window.innerHeight
    && document.documentElement.scrollWidth <= window.innerWidth"""


async def test_the_phone_layout_in_portrait_and_landscape(site: Site, browsers: Browsers) -> None:
    citizen, clerk = await in_call(site, browsers, clerk_view=DESK)
    failures: list[str] = []
    for name, view in (("portrait", PHONE), ("landscape", LANDSCAPE)):
        await citizen.set_viewport_size(view)  # type: ignore[arg-type]
        await citizen.wait_for_timeout(100)
        for selector in ("#leave", "#remote-video", "#mute", "#camera-off", "#chat-toggle",
                         "#local-video"):
            assert await citizen.evaluate(IN_VIEW, selector), (name, selector)
        assert await citizen.evaluate(FITS), name
        assert not await citizen.is_visible(".site-header")
        remote = await citizen.evaluate(
            "() => document.querySelector('#remote-video').getBoundingClientRect().height")
        assert remote > view["height"] * 0.6, (name, remote)
        # The own picture is a small overlay.
        local = await citizen.evaluate(
            "() => document.querySelector('#local-video').getBoundingClientRect().width")
        assert local < view["width"] * 0.35, (name, local)
        await citizen.screenshot(path=f"/tmp/call-tools-phone-{name}.png")
        violations = await axe_violations(citizen)
        if violations:
            failures.append(f"{name}:\n{describe(violations)}")
        # The chat opens over the video, with its input and button in view.
        await citizen.click("#chat-toggle")
        for selector in ("#chat-input", "#chat-send", "#leave"):
            assert await citizen.evaluate(IN_VIEW, selector), (name, "chat", selector)
        assert await citizen.evaluate(FITS), (name, "chat")
        violations = await axe_violations(citizen)
        if violations:
            failures.append(f"{name} with the chat:\n{describe(violations)}")
        await citizen.screenshot(path=f"/tmp/call-tools-phone-{name}-chat.png")
        await citizen.click("#chat-toggle")
    assert not failures, "\n\n".join(failures)
    assert clerk


# --- accessibility of the tools ------------------------------------------------------------------


@RENDERED_ONLY
async def test_call_pages_with_the_tools_pass_axe(site: Site, browsers: Browsers) -> None:
    citizen, clerk = await in_call(site, browsers)
    await citizen.click("#chat-toggle")
    await citizen.fill("#chat-input", "Guten Tag")
    await citizen.press("#chat-input", "Enter")
    await clerk.wait_for_selector("#chat .chat-line", timeout=PLAY_TIMEOUT_MS)
    await clerk.click("#still-frame")
    await clerk.click("#document-mode")
    await citizen.wait_for_selector("#document-mode-dialog[open]", timeout=PLAY_TIMEOUT_MS)
    failures: list[str] = []
    for name, page in (("clerk in the call with a still frame", clerk),
                       ("citizen asked for the rear camera", citizen)):
        violations = await axe_violations(page)
        if violations:
            failures.append(f"{name}:\n{describe(violations)}")
    await citizen.click("#document-mode-accept")
    await clerk.wait_for_function(
        "() => document.querySelector('#document-resolution').dataset.width !== ''",
        timeout=PLAY_TIMEOUT_MS)
    for name, page in (("clerk with the document camera", clerk),
                       ("citizen with the document camera", citizen)):
        violations = await axe_violations(page)
        if violations:
            failures.append(f"{name}:\n{describe(violations)}")
    assert not failures, "\n\n".join(failures)
