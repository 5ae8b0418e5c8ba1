"""Real Chromium with a fake camera and microphone against a real uvicorn: the citizen waits, the
clerk admits, both see each other; a reload mid-call resumes it; leave, rejoin and end; the
connection test; the controls by keyboard; axe-core on both call pages in German and English."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page
from sqlalchemy import select
from sqlmodel import col
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from booking.models import Appointment
from calls.models import CallRecord
from core.types import utcnow
from tests.app.pages.call_helpers import (
    CLERK_EMAIL,
    PASSWORD,
    CallSeed,
    add_appointment,
    add_clerk,
    quick_hashes,
    seed_offices,
)
from tests.app.pages.helpers import load
from tests.axe import axe_violations, describe
from tests.chromium import have_chromium
from tests.conftest import RENDERED_ONLY, live_server, require

__all__ = ["quick_hashes"]
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("quick_hashes")]

SCREENSHOTS = Path("/tmp")
PLAY_TIMEOUT_MS = 30_000
PHONE = {"width": 375, "height": 812}
DESK = {"width": 1280, "height": 900}

# A <video> that shows a picture: frames decoded and the element playing.
PLAYING = """(selector) => {
    const v = document.querySelector(selector);
    return !!v && v.videoWidth > 0 && v.readyState >= 2 && !v.paused;
}"""


@dataclass
class Site:
    app: Starlette
    base: str
    seed: CallSeed
    reference: str
    token: str


@pytest.fixture
async def site(settings: Settings) -> AsyncIterator[Site]:
    require(have_chromium(), "chromium")
    application = create_app(settings)
    async with live_server(application) as base:
        seeded = await seed_offices(application)
        reference, token = await add_appointment(application, seeded)
        await add_clerk(application, [seeded.office_id])
        yield Site(application, base, seeded, reference, token)


@dataclass
class Browsers:
    browser: Browser
    contexts: list[BrowserContext] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=lambda: ["Failed to load resource"])
    requests: list[str] = field(default_factory=list)

    async def page(self, name: str, viewport: dict[str, int] = PHONE) -> Page:
        """A new browser context, with cookies and storage of its own (one per person in the
        call), in the worker's Chromium."""
        context = await self.browser.new_context(
            viewport=viewport, locale="de-DE", timezone_id="Europe/Berlin")
        self.contexts.append(context)
        page = await context.new_page()
        # Script errors and Content-Security-Policy violations show up on the console.
        page.on("console", lambda m: self.problems.append(f"{name}: {m.text}")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: self.problems.append(f"{name}: {e}"))
        page.on("request", lambda r: self.requests.append(r.url))
        return page


@pytest.fixture
async def browsers(browser: Browser) -> AsyncIterator[Browsers]:
    found = Browsers(browser)
    try:
        yield found
    finally:
        for context in found.contexts:
            await context.close()
    unexpected = [p for p in found.problems
                  if not any(text in p for text in found.expected)]
    assert unexpected == []
    # Every request goes to our own server: no CDN, no fonts, no third-party anything.
    foreign = [u for u in found.requests
               if not u.startswith(("http://127.0.0.1:", "ws://127.0.0.1:", "data:", "blob:"))]
    assert found.requests and foreign == []


# --- helpers -------------------------------------------------------------------------------------


async def wait_playing(page: Page, selector: str, timeout: int = PLAY_TIMEOUT_MS) -> None:
    await page.wait_for_function(PLAYING, arg=selector, timeout=timeout)


# Chromium's fake camera shows a green picture: the mean green of a frame is high, and clearly
# above red and blue (a black or frozen-empty frame fails).
GREEN = """(selector) => {
    const v = document.querySelector(selector);
    if (!v || v.videoWidth === 0) return false;
    const canvas = document.createElement('canvas');
    canvas.width = 64; canvas.height = 48;
    const g = canvas.getContext('2d');
    g.drawImage(v, 0, 0, 64, 48);
    const data = g.getImageData(0, 0, 64, 48).data;
    let red = 0, green = 0, blue = 0;
    for (let i = 0; i < data.length; i += 4) {
        red += data[i]; green += data[i + 1]; blue += data[i + 2];
    }
    const n = data.length / 4;
    return green / n > 80 && green > 2 * red && green > 2 * blue;
}"""


async def wait_picture(page: Page, selector: str) -> None:
    """The video shows the (fake) camera's picture, not just black frames."""
    await wait_playing(page, selector)
    await page.wait_for_function(GREEN, arg=selector, timeout=PLAY_TIMEOUT_MS)


async def wait_state(page: Page, selector: str, attribute: str, value: str) -> None:
    await page.wait_for_function(
        "([sel, attr, value]) => document.querySelector(sel)?.getAttribute(attr) === value",
        arg=[selector, attribute, value], timeout=PLAY_TIMEOUT_MS,
    )


async def tab_to(page: Page, selector: str, limit: int = 60) -> None:
    """Press Tab until the element matching ``selector`` has the focus."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await page.evaluate(
            "(sel) => document.activeElement !== null && document.activeElement.matches(sel)",
            selector,
        ):
            return
    raise AssertionError(f"Tab never reached {selector}")


async def clerk_login(page: Page, base: str, reference: str) -> None:
    await page.goto(f"{base}/staff/login?next=/staff/call/{reference}")
    await page.fill("#email", CLERK_EMAIL)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]:not(#logout)")
    await page.wait_for_url(f"**/staff/call/{reference}")


async def remember_remote(page: Page) -> None:
    await page.evaluate(
        "() => { window.__remote = document.querySelector('#remote-video').srcObject; }")


async def wait_new_remote(page: Page) -> None:
    """The remote video plays a stream other than the one remembered: the call was rebuilt."""
    await page.wait_for_function("""() => {
        const v = document.querySelector('#remote-video');
        return !!v.srcObject && v.srcObject !== window.__remote && v.videoWidth > 0
            && !v.paused;
    }""", timeout=PLAY_TIMEOUT_MS)


# --- the call ------------------------------------------------------------------------------------


async def test_wait_admit_call_reload_leave_and_end(site: Site, browsers: Browsers) -> None:
    citizen = await browsers.page("citizen", PHONE)
    clerk = await browsers.page("clerk", DESK)
    call_url = f"{site.base}/t/{site.token}/call"

    # The citizen: device check first (the preview plays), then join by keyboard.
    await citizen.goto(call_url)
    await wait_playing(citizen, "#local-video")
    assert await citizen.get_attribute("#connection-state", "aria-live") == "polite"
    await tab_to(citizen, "#join")
    await citizen.keyboard.press("Enter")
    await wait_state(citizen, "#connection-state", "data-state", "waiting")
    assert await citizen.is_visible("#waiting-room")
    assert "Bitte warten Sie, die Sachbearbeitung lässt Sie gleich herein." in \
        await citizen.inner_text("#waiting-room")
    assert await citizen.is_visible("#leave")
    await citizen.screenshot(path=str(SCREENSHOTS / "call-citizen-waiting-375.png"),
                             full_page=True)

    # The clerk logs in and lands on the call page: the citizen is waiting.
    await clerk_login(clerk, site.base, site.reference)
    await wait_state(clerk, "#waiting-indicator", "data-waiting", "yes")
    assert await clerk.is_enabled("#admit")
    await tab_to(clerk, "#admit")
    await clerk.keyboard.press("Enter")

    # Both see each other.
    await wait_picture(citizen, "#remote-video")
    await wait_picture(clerk, "#remote-video")
    await wait_state(citizen, "#connection-state", "data-state", "connected")
    await wait_state(clerk, "#connection-state", "data-state", "connected")
    assert not await citizen.is_visible("#waiting-room")
    assert (await load(site.app, site.reference)).status == "in_call"
    # The clerk's page measures the connection.
    await clerk.wait_for_function(
        "() => ['good', 'fair', 'poor'].includes("
        "document.querySelector('#quality').dataset.rating)",
        timeout=PLAY_TIMEOUT_MS)
    assert "ms" in await clerk.inner_text("#quality-details")
    await citizen.screenshot(path=str(SCREENSHOTS / "call-citizen-connected-375.png"),
                             full_page=True)
    await clerk.screenshot(path=str(SCREENSHOTS / "call-clerk-connected.png"), full_page=True)

    # Mute and camera off are toggle buttons.
    await citizen.click("#mute")
    assert await citizen.get_attribute("#mute", "aria-pressed") == "true"
    await citizen.click("#camera-off")
    assert await citizen.get_attribute("#camera-off", "aria-pressed") == "true"
    await citizen.click("#camera-off")
    await citizen.click("#mute")
    assert await citizen.get_attribute("#mute", "aria-pressed") == "false"

    # A reload in the middle of the call: the page joins again, and the call resumes.
    await remember_remote(clerk)
    await citizen.reload()
    await wait_playing(citizen, "#remote-video")
    await wait_new_remote(clerk)
    await wait_state(citizen, "#connection-state", "data-state", "connected")

    # The clerk's page reloads too: same again from the other side.
    await remember_remote(citizen)
    await clerk.reload()
    await wait_playing(clerk, "#remote-video")
    await wait_new_remote(citizen)

    # The citizen leaves: the clerk is told; the citizen may come back (admission holds).
    await citizen.click("#leave")
    await wait_state(clerk, "#connection-state", "data-state", "peer-left")
    await citizen.wait_for_selector("#join", state="visible")
    assert "verlassen" in await citizen.inner_text("#call-result")
    await remember_remote(clerk)
    await citizen.click("#join")
    await wait_playing(citizen, "#remote-video")
    await wait_new_remote(clerk)

    # The clerk ends the call by keyboard: both pages say so.
    await tab_to(clerk, "#end-call")
    await clerk.keyboard.press("Enter")
    await citizen.wait_for_selector("#call-result:has-text('beendet')", timeout=PLAY_TIMEOUT_MS)
    await clerk.wait_for_selector("#call-result:has-text('beendet')", timeout=PLAY_TIMEOUT_MS)
    assert not await citizen.is_visible("#leave")
    assert not await citizen.is_visible("#join")
    await citizen.screenshot(path=str(SCREENSHOTS / "call-citizen-ended-375.png"),
                             full_page=True)

    # After the end, a reload does not get back in: the page says the call took place.
    await citizen.reload()
    assert "Dieser Termin ist beendet" in await citizen.inner_text("#phase-notice")
    assert await citizen.locator("#join").count() == 0

    # The office's figures got the call's moments and the media route the clerk's page saw
    # (two peers on loopback connect directly).
    record = await call_record(site.app, site.reference)
    assert record is not None and record.route == "direct", record
    assert record.waiting_at and record.admitted_at and record.started_at and record.ended_at
    assert record.wait_seconds is not None and record.call_seconds is not None
    assert record.setup_ms is not None and record.setup_ms >= 0
    assert record.setup_failures == 0


async def call_record(app: Starlette, reference: str) -> CallRecord | None:
    """The appointment's call record once the clerk's page has reported a connected route (the
    report is the page's own request, sent after the connection; a few seconds at most)."""
    found = None
    for _ in range(100):
        async with app.state.ctx.db.transaction() as session:
            found = (await session.execute(
                select(CallRecord).join(Appointment, col(Appointment.id) == col(
                    CallRecord.appointment_id)).where(col(Appointment.reference) == reference)
            )).scalar_one_or_none()
        if found is not None and found.route is not None:
            return found
        await asyncio.sleep(0.1)
    return found


async def test_connection_test_echoes_the_camera(site: Site, browsers: Browsers) -> None:
    page = await browsers.page("citizen", PHONE)
    await page.goto(f"{site.base}/t/{site.token}")
    await tab_to(page, "#connection-test-start")
    await page.keyboard.press("Enter")
    await wait_playing(page, "#test-local-video")
    await wait_picture(page, "#test-echo-video")
    await page.wait_for_function(
        "() => (document.querySelector('#connection-test-status').dataset.state || '')"
        ".startsWith('connected-')", timeout=PLAY_TIMEOUT_MS)
    text = await page.inner_text("#connection-test-status")
    assert "verbunden" in text and "Sekunden" in text, text
    await page.screenshot(path=str(SCREENSHOTS / "call-connection-test-375.png"), full_page=True)
    await page.click("#connection-test-stop")
    await page.wait_for_selector("#connection-test-start", state="visible")
    assert "Der Test ist beendet." in await page.inner_text("#connection-test-status")


# --- accessibility -------------------------------------------------------------------------------


@RENDERED_ONLY
async def test_call_pages_pass_axe(site: Site, browsers: Browsers) -> None:
    citizen = await browsers.page("citizen", PHONE)
    clerk = await browsers.page("clerk", DESK)
    await clerk_login(clerk, site.base, site.reference)
    _, early = await add_appointment(site.app, site.seed, start=utcnow() + dt.timedelta(days=2))
    failures: list[str] = []
    checked: list[str] = []

    async def check(page: Page, name: str, ready: Callable[[], Awaitable[None]] | None = None,
                    url: str | None = None) -> None:
        if url is not None:
            response = await page.goto(url)
            assert response is not None and response.status == 200, url
        if ready is not None:
            await ready()
        violations = await axe_violations(page)
        checked.append(name)
        if violations:
            failures.append(f"{name}:\n{describe(violations)}")
        if await page.evaluate(
                "() => document.documentElement.scrollWidth > window.innerWidth"):
            failures.append(f"{name}: wider than the screen")

    for lang in ("de", "en"):
        await check(citizen, f"citizen call page {lang}",
                    lambda: wait_playing(citizen, "#local-video"),
                    f"{site.base}/t/{site.token}/call?lang={lang}")
        await citizen.click("#join")
        await wait_state(citizen, "#connection-state", "data-state", "waiting")
        await check(citizen, f"citizen waiting room {lang}")
        await check(clerk, f"clerk call page {lang}",
                    lambda: wait_state(clerk, "#waiting-indicator", "data-waiting", "yes"),
                    f"{site.base}/staff/call/{site.reference}?lang={lang}")
        await clerk.screenshot(path=str(SCREENSHOTS / f"call-clerk-waiting-{lang}.png"),
                               full_page=True)
        await clerk.set_viewport_size(PHONE)  # clerks use a desk PC, but a phone must work too
        await check(clerk, f"clerk call page on a phone {lang}")
        await clerk.screenshot(path=str(SCREENSHOTS / f"call-clerk-waiting-375-{lang}.png"),
                               full_page=True)
        await clerk.set_viewport_size(DESK)
        await citizen.click("#leave")
        await check(citizen, f"citizen call page early {lang}",
                    lambda: wait_playing(citizen, "#local-video"),
                    f"{site.base}/t/{early}/call?lang={lang}")
        await citizen.screenshot(path=str(SCREENSHOTS / f"call-citizen-early-375-{lang}.png"),
                                 full_page=True)
        await check(citizen, f"appointment page with connection test {lang}", None,
                    f"{site.base}/t/{site.token}?lang={lang}")
        await check(clerk, f"agenda with call links {lang}", None, f"{site.base}/staff?lang={lang}")
    assert len(checked) == 14, checked
    assert not failures, "\n\n".join(failures)



class Cable:
    """A TCP proxy in front of the server that can be unplugged: while unplugged, open
    connections are cut and new ones refused (like a phone that lost its network)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.plugged = True
        self.port = 0
        self.refused = 0  # connections refused while unplugged
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def __aenter__(self) -> Cable:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.unplug()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def unplug(self) -> None:
        self.plugged = False
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def plug(self) -> None:
        self.plugged = True

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.plugged:
            self.refused += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update({writer, up_writer})

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers.difference_update({writer, up_writer})


async def test_signalling_reconnects_after_network_loss(site: Site, browsers: Browsers) -> None:
    """The citizen's connection to the server drops for a few seconds: the page reconnects
    with backoff, the server sends `start` again and the call is rebuilt."""
    citizen = await browsers.page("citizen", PHONE)
    clerk = await browsers.page("clerk", DESK)
    port = int(site.base.rsplit(":", 1)[1])
    async with Cable(port) as cable:
        await citizen.goto(f"http://127.0.0.1:{cable.port}/t/{site.token}/call")
        await citizen.click("#join")
        await clerk_login(clerk, site.base, site.reference)
        await clerk.click("#admit")
        await wait_picture(citizen, "#remote-video")
        await wait_picture(clerk, "#remote-video")
        await remember_remote(clerk)
        await remember_remote(citizen)

        # The browser reports each refused reconnect on the console; that is the point here.
        browsers.expected.append(
            f"WebSocket connection to 'ws://127.0.0.1:{cable.port}/ws/call' failed")
        cable.unplug()
        await wait_state(citizen, "#connection-state", "data-state", "reconnecting")
        await wait_state(clerk, "#connection-state", "data-state", "peer-left")
        # Down until two of the page's attempts to reconnect were refused (its backoff: after
        # about 0.5 s, then 1 s more), not for a fixed time.
        async with asyncio.timeout(PLAY_TIMEOUT_MS / 1000):
            while cable.refused < 2:
                await asyncio.sleep(0.05)
        cable.plug()
        await wait_new_remote(citizen)
        await wait_new_remote(clerk)
        await wait_state(citizen, "#connection-state", "data-state", "connected")
        await wait_picture(clerk, "#remote-video")


# --- the signalling client against a plain peer, in the browser -----------------------------------

# Drives static/js/call.js's CallClient as the answering side (the citizen), with a plain
# RTCPeerConnection as the offering clerk and the messages handed over directly.
# `trickle`: the offerer's candidates arrive *before* the offer (which carries none), so they
# must be queued; otherwise the offer carries every candidate, as aiortc sends it.
CLIENT_AS_ANSWERER = """async ({ trickle }) => {
    const { CallClient } = await import('/static/js/call.js');
    const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    const offerer = new RTCPeerConnection();
    stream.getTracks().forEach((t) => offerer.addTrack(t, stream));
    const early = [];
    offerer.onicecandidate = (e) => { if (e.candidate) early.push(e.candidate.toJSON()); };
    const gathered = (pc) => new Promise((resolve) => {
        if (pc.iceGatheringState === 'complete') return resolve();
        pc.addEventListener('icegatheringstatechange', () => {
            if (pc.iceGatheringState === 'complete') resolve();
        });
    });
    const client = new CallClient({ token: async () => 'unused', localStream: () => stream });
    const sent = [];
    client._send = (message) => { sent.push(message); return true; };
    await client._onMessage({ type: 'welcome', role: 'citizen', reference: 'R', ice_servers: [] });
    await client._onMessage({ type: 'start', initiator: false });
    await offerer.setLocalDescription(await offerer.createOffer());
    await gathered(offerer);
    let sdp = offerer.localDescription.sdp;
    let queued = 0;
    if (trickle) {
        sdp = sdp.split('\\r\\n').filter((l) => !l.startsWith('a=candidate')).join('\\r\\n');
        for (const candidate of early) {
            await client._onMessage({ type: 'candidate', candidate });
        }
        await client._onMessage({ type: 'candidate', candidate: null });
        queued = client._pending.length;
    }
    await client._onMessage({ type: 'offer', sdp });
    const answer = sent.find((m) => m.type === 'answer');
    await gathered(client.pc);
    if (trickle) {
        // The offerer learns nothing of the client's addresses: only the queued candidates
        // let the client reach it, so a connection proves they were applied.
        const bare = answer.sdp.split('\\r\\n').filter((l) => !l.startsWith('a=candidate'));
        await offerer.setRemoteDescription({ type: 'answer', sdp: bare.join('\\r\\n') });
    } else {
        await offerer.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
        for (const m of sent) {
            if (m.type === 'candidate' && m.candidate) await offerer.addIceCandidate(m.candidate);
        }
    }
    const deadline = Date.now() + 20000;
    while (client.status !== 'connected' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
    }
    const result = { status: client.status, queued, candidates: early.length,
                     offerer: offerer.connectionState };
    client._finish('left', 1000, 'test');
    offerer.close();
    stream.getTracks().forEach((t) => t.stop());
    return result;
}"""


async def test_call_client_queues_early_candidates_and_takes_full_sdp(
    site: Site, browsers: Browsers
) -> None:
    page = await browsers.page("unit", PHONE)
    await page.goto(f"{site.base}/")
    trickled = await page.evaluate(CLIENT_AS_ANSWERER, {"trickle": True})
    assert trickled["candidates"] > 0
    assert trickled["queued"] == trickled["candidates"]  # all held until the offer came
    assert trickled["status"] == "connected", trickled
    full = await page.evaluate(CLIENT_AS_ANSWERER, {"trickle": False})
    assert full["status"] == "connected", full


async def test_quality_rating_and_media_errors(site: Site, browsers: Browsers) -> None:
    page = await browsers.page("unit", PHONE)
    await page.goto(f"{site.base}/")
    result = await page.evaluate("""async () => {
        const m = await import('/static/js/call.js');
        const rate = (rtt, loss, bitrate) => m.rateQuality({ rtt, loss, bitrate });
        const kind = (name) => m.mediaErrorKind(new DOMException('x', name));
        return {
            good: rate(0.05, 0, 800000), fairRtt: rate(0.2, 0, 800000),
            fairLoss: rate(0.05, 0.05, 800000), poorLoss: rate(0.05, 0.2, 800000),
            poorRtt: rate(0.6, 0, 800000), poorRate: rate(0.05, 0, 20000),
            unknown: rate(null, null, null),
            denied: kind('NotAllowedError'), missing: kind('NotFoundError'),
            busy: kind('NotReadableError'), odd: kind('SomethingElse'),
            text: m.format('%(a)s und %(b)s', { a: 1, b: 'zwei' }),
        };
    }""")
    assert result == {
        "good": "good", "fairRtt": "fair", "fairLoss": "fair", "poorLoss": "poor",
        "poorRtt": "poor", "poorRate": "poor", "unknown": "good",
        "denied": "denied", "missing": "not-found", "busy": "in-use", "odd": "other",
        "text": "1 und zwei",
    }


# --- what the citizen is told when camera or microphone fail -------------------------------------

# Replaces getUserMedia before the page's scripts run: requests for `video` and/or `audio` fail
# with the given DOMException name, the rest go to the fake devices.
FAIL_MEDIA = """(() => {
    const failures = %s;
    const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = async (constraints) => {
        for (const [kind, name] of Object.entries(failures)) {
            if (constraints[kind]) throw new DOMException('simulated', name);
        }
        return real(constraints);
    };
})();"""


@pytest.mark.parametrize(("failures", "message", "retry"), [
    ({"video": "NotAllowedError", "audio": "NotAllowedError"},
     "Sie haben den Zugriff auf Kamera und Mikrofon nicht erlaubt", False),
    ({"video": "NotFoundError"}, "Wir finden keine Kamera.", False),
    ({"audio": "NotFoundError"}, "Wir finden kein Mikrofon.", False),
    ({"video": "NotFoundError", "audio": "NotFoundError"},
     "Wir finden weder eine Kamera noch ein Mikrofon.", False),
    ({"video": "NotReadableError"}, "Ihre Kamera wird gerade von einem anderen Programm", True),
])
async def test_media_problems_are_explained(
    site: Site, browsers: Browsers, failures: dict[str, str], message: str, retry: bool
) -> None:
    page = await browsers.page("citizen", PHONE)
    await page.add_init_script(FAIL_MEDIA % json.dumps(failures))
    await page.goto(f"{site.base}/t/{site.token}/call")
    problem = page.locator("#media-problem")
    await problem.wait_for(state="visible")
    assert message in await problem.inner_text()
    assert await problem.get_attribute("role") == "alert"
    assert await page.is_visible("#retry-media") is retry
    # Whatever works is still used: the citizen can join and talk (or at least listen).
    await page.click("#join")
    await wait_state(page, "#connection-state", "data-state", "waiting")
