"""Calls over real networks (tests/calls/netlab.py): a citizen's Chromium behind a home router
in a network namespace of its own, the app, coturn and the clerk's Chromium in the office's.

* UDP blocked at the citizen's router: the call goes through coturn over TLS (turns:), and over
  plain TCP where that port is open.
* The citizen's cable pulled for 10 seconds: the clerk's page restarts ICE (the same peer
  connection, new ICE credentials) and the video is back within 5 s of the cable's return.
* 5 % random loss on a 500 kbit/s link: the call still shows video.

Real time is waited for here (a network outage takes its seconds); the figures are printed
(``pytest -s``), and bench/network_calls.py prints them for the same scenarios.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, WebSocket, async_playwright
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from tests.app.pages.call_helpers import add_appointment, add_clerk, quick_hashes, seed_offices
from tests.calls.netlab import (
    APP_PORT,
    RECORD_PCS,
    SRV_IP,
    TURN_PORT,
    TURN_SECRET,
    TURN_URLS,
    TURNS_PORT,
    Lab,
    chromium_in,
    coturn,
    lab,
    serve_in,
    stats,
)

__all__ = ["quick_hashes"]
# One worker runs them one after another: two Chromiums encoding video each, and real seconds
# measured, they would disturb each other's figures.
NETWORK = pytest.mark.xdist_group("network")
# The database behind the call does not change the network's effect: SQLite only.
pytestmark = [pytest.mark.browser, pytest.mark.turn, pytest.mark.slow, pytest.mark.network,
              NETWORK,
              pytest.mark.usefixtures("quick_hashes"),
              pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

TIMEOUT_MS = 45_000
PHONE = {"width": 375, "height": 812}
DESK = {"width": 1440, "height": 900}
STATE = "([sel, value]) => document.querySelector(sel)?.dataset.state === value"


@dataclass
class Office:
    net: Lab
    app: Starlette
    base: str
    reference: str
    token: str
    citizen_browser: Browser
    clerk_browser: Browser
    turn_log: Path


@pytest.fixture
async def office(settings_factory: Callable[..., Settings], tmp_path: Path
                 ) -> AsyncIterator[Office]:
    with lab() as net:
        settings = settings_factory(
            base_url=f"http://{SRV_IP}:{APP_PORT}", turn_urls=TURN_URLS,
            turn_secret=TURN_SECRET, stun_urls=f"stun:{SRV_IP}:{TURN_PORT}")
        app = create_app(settings)
        async with (serve_in(app, net.srv) as base, coturn(net.srv, tmp_path) as turn_log,
                    async_playwright() as playwright):
            seeded = await seed_offices(app)
            reference, token = await add_appointment(app, seeded)
            await add_clerk(app, [seeded.office_id])
            clerk_browser = await chromium_in(playwright, net.srv, tmp_path)
            citizen_browser = await chromium_in(playwright, net.cit, tmp_path)
            try:
                yield Office(net, app, base, reference, token, citizen_browser, clerk_browser,
                             turn_log)
            finally:
                await citizen_browser.close()
                await clerk_browser.close()


@dataclass
class Signals:
    """The signalling messages a page received, with the time they came."""

    received: list[tuple[float, dict[str, Any]]] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        def on_socket(socket: WebSocket) -> None:
            def on_frame(payload: str | bytes) -> None:
                try:
                    message = json.loads(payload)
                except ValueError:
                    return
                if isinstance(message, dict):
                    self.received.append((time.monotonic(), message))

            socket.on("framereceived", on_frame)

        page.on("websocket", on_socket)

    def of_type(self, kind: str, since: float = 0.0) -> list[dict[str, Any]]:
        return [m for t, m in self.received if m.get("type") == kind and t >= since]


@dataclass
class Call:
    citizen: Page
    clerk: Page
    citizen_signals: Signals


async def open_call(office: Office) -> Call:
    """The citizen joins from the phone, the clerk logs in and admits; both are connected."""
    citizen_context = await office.citizen_browser.new_context(
        viewport=PHONE, locale="de-DE", timezone_id="Europe/Berlin")
    clerk_context = await office.clerk_browser.new_context(
        viewport=DESK, locale="de-DE", timezone_id="Europe/Berlin")
    for context in (citizen_context, clerk_context):
        await context.add_init_script(RECORD_PCS)
    citizen, clerk = await citizen_context.new_page(), await clerk_context.new_page()
    signals = Signals()
    signals.watch(citizen)
    journal = Journal()
    journal.watch("citizen", citizen)
    journal.watch("clerk", clerk)
    async with journal.shown_on_failure():
        return await _open_call(office, citizen, clerk, signals)


@dataclass
class Journal:
    """What the pages logged, loaded and said over the WebSocket, with the second it came;
    printed when opening the call fails, so that a failure says where it stopped."""

    lines: list[str] = field(default_factory=list)
    start: float = field(default_factory=time.monotonic)

    def add(self, who: str, what: str) -> None:
        self.lines.append(f"{time.monotonic() - self.start:7.2f} {who}: {what[:300]}")

    def watch(self, who: str, page: Page) -> None:
        page.on("console", lambda m: self.add(who, f"console.{m.type} {m.text}"))
        page.on("pageerror", lambda e: self.add(who, f"page error {e}"))
        page.on("requestfailed", lambda r: self.add(who, f"failed {r.url} {r.failure}"))
        page.on("response", lambda r: self.add(who, f"{r.status} {r.url}"))

        def on_socket(socket: WebSocket) -> None:
            self.add(who, f"websocket {socket.url}")
            socket.on("framesent", lambda p: self.add(who, f"sent {p!s}"))
            socket.on("framereceived", lambda p: self.add(who, f"received {p!s}"))
            socket.on("close", lambda _: self.add(who, "websocket closed"))
            socket.on("socketerror", lambda e: self.add(who, f"websocket error {e}"))

        page.on("websocket", on_socket)

    @asynccontextmanager
    async def shown_on_failure(self) -> AsyncIterator[None]:
        try:
            yield
        except BaseException:
            print("\n[network] what the pages did:\n" + "\n".join(self.lines))
            raise


async def _open_call(office: Office, citizen: Page, clerk: Page, signals: Signals) -> Call:
    await citizen.goto(f"{office.base}/t/{office.token}/call")
    await citizen.click("#join")
    await citizen.wait_for_function(STATE, arg=["#connection-state", "waiting"],
                                    timeout=TIMEOUT_MS)

    await clerk.goto(f"{office.base}/staff/login?next=/staff/call/{office.reference}")
    await clerk.fill("#email", "clerk@musterstadt.example")
    await clerk.fill("#password", "Vier-Kerzen-am-Adventskranz")
    await clerk.click("button[type=submit]:not(#logout)")
    await clerk.wait_for_url(f"**/staff/call/{office.reference}")
    await clerk.wait_for_function(
        "() => document.querySelector('#waiting-indicator')?.dataset.waiting === 'yes'",
        timeout=TIMEOUT_MS)
    await clerk.click("#admit")
    for page in (citizen, clerk):
        await page.wait_for_function(STATE, arg=["#connection-state", "connected"],
                                     timeout=TIMEOUT_MS)
    return Call(citizen, clerk, signals)


async def new_frame_at(page: Page, timeout: float = 30.0) -> float:
    """Waits until the page decodes a new video frame; returns that moment (monotonic)."""
    start = time.monotonic()
    before = (await stats(page))["framesDecoded"]
    while time.monotonic() - start < timeout:
        await asyncio.sleep(0.05)
        now = (await stats(page))["framesDecoded"]
        if now > before:
            return time.monotonic()
        before = now
    raise AssertionError(f"no new video frames within {timeout} s")


async def frames_growing(page: Page, timeout: float = 30.0) -> None:
    await new_frame_at(page, timeout)


async def measure(page: Page, seconds: float) -> dict[str, Any]:
    """The video received over ``seconds``: frames per second, kbit/s, packets lost."""
    first = await stats(page)
    await asyncio.sleep(seconds)
    last = await stats(page)
    return {
        "frames": last["framesDecoded"] - first["framesDecoded"],
        "fps": round((last["framesDecoded"] - first["framesDecoded"]) / seconds, 1),
        "kbit_s": round((last["bytesReceived"] - first["bytesReceived"]) * 8 / seconds / 1000),
        "packets": last["packetsReceived"] - first["packetsReceived"],
        "lost": last["packetsLost"] - first["packetsLost"],
        "width": last["frameWidth"], "height": last["frameHeight"],
        "pair": (last["local"], last["remote"]), "rtt_s": last["rtt"],
    }


def report(name: str, figures: dict[str, Any]) -> None:
    print(f"\n[network] {name}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))


# --- UDP blocked: TURN over TLS or TCP ----------------------------------------------------------


@pytest.mark.parametrize(("port", "relay_protocol"), [(TURNS_PORT, "tls"), (TURN_PORT, "tcp")])
async def test_udp_blocked_call_goes_through_coturn_over_tcp(
        office: Office, port: int, relay_protocol: str) -> None:
    office.net.firewall(allow_tcp_port=port)
    call = await open_call(office)
    await frames_growing(call.citizen)
    await frames_growing(call.clerk)
    citizen = await stats(call.citizen)
    assert citizen["pairState"] == "succeeded", citizen
    assert citizen["local"]["type"] == "relay", citizen
    assert citizen["local"]["relayProtocol"] == relay_protocol, citizen
    figures = await measure(call.citizen, 5)
    report(f"UDP blocked, TURN over {relay_protocol}", figures)
    assert figures["frames"] > 0 and figures["width"] > 0
    assert (await measure(call.clerk, 2))["frames"] > 0



# --- the citizen's network gone for 10 seconds ------------------------------------------------


# The citizen's page sends a keepalive `ping` every 15 s and opens a new signalling connection
# when its `pong` does not come within 10 s (static/js/call.js). A ping sent in the first
# half second of a 10-second outage gets its pong (TCP retransmits it once the network is back)
# just after that deadline: the page then reconnects and the server starts the call afresh
# (`start`, new peer connections; video was back 1.7-1.8 s after the network in our runs).
# Otherwise signalling survives the outage and the clerk's page restarts ICE: the case here,
# with the cable pulled just after a keepalive, so that the test does not depend on chance.
KEEPALIVE_S = 15.0


async def after_keepalive(call: Call) -> None:
    """Wait for the citizen's next `pong`."""
    seen = len(call.citizen_signals.of_type("pong"))
    deadline = time.monotonic() + KEEPALIVE_S + 10
    while len(call.citizen_signals.of_type("pong")) == seen:
        assert time.monotonic() < deadline, "no keepalive pong"
        await asyncio.sleep(0.02)


async def outage(office: Office, call: Call, seconds: float) -> tuple[float, float]:
    """Pulls the citizen's cable for ``seconds``; returns (moment cut, moment back)."""
    office.net.cable(up=False)
    cut = time.monotonic()
    print(f"\n[network] cable pulled at {time.time() * 1000:.0f} (epoch ms)")
    await asyncio.sleep(3)
    stalled = (await stats(call.citizen))["framesDecoded"]
    await asyncio.sleep(cut + seconds - time.monotonic())
    # The cable was really out: no frame came in the outage's last seconds.
    assert (await stats(call.citizen))["framesDecoded"] == stalled
    office.net.cable(up=True)
    print(f"[network] cable back at {time.time() * 1000:.0f} (epoch ms)")
    return cut, time.monotonic()


async def states_since(page: Page, epoch: float) -> list[tuple[float, str]]:
    """The page's peer-connection states since ``epoch`` (time.time()), in seconds from it."""
    states = await page.evaluate("window.__pcStates || []")
    return [(round(at / 1000 - epoch, 1), state) for at, state in states if at / 1000 >= epoch]


async def restarted(call: Call, clerk_ufrag: str, timeout: float = 20.0) -> float:
    """Waits until both sides use the clerk's new ICE credentials; returns the seconds."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        citizen, clerk = await stats(call.citizen), await stats(call.clerk)
        if clerk["localUfrag"] != clerk_ufrag and citizen["remoteUfrag"] == clerk["localUfrag"] \
                and clerk["remoteUfrag"] == citizen["localUfrag"]:
            return time.monotonic() - start
        await asyncio.sleep(0.1)
    received = [(round(t - start, 1), m["type"]) for t, m in call.citizen_signals.received
                if m["type"] not in ("pong", "candidate")]
    states = {who: await page.evaluate("window.__pcStates || []")
              for who, page in (("citizen", call.citizen), ("clerk", call.clerk))}
    raise AssertionError(f"no ICE restart within {timeout} s: citizen {citizen}, clerk {clerk}, "
                         f"citizen received {received}, connection states (epoch ms) {states}")


async def test_ten_seconds_without_network_end_in_an_ice_restart(office: Office) -> None:
    call = await open_call(office)
    await frames_growing(call.citizen)
    await frames_growing(call.clerk)
    citizen_before, clerk_before = await stats(call.citizen), await stats(call.clerk)
    await after_keepalive(call)

    cut_epoch = time.time()
    cut, back = await outage(office, call, 10)
    # Both sides watched at once, each from the moment the cable is back.
    citizen_at, clerk_at = await asyncio.gather(new_frame_at(call.citizen, timeout=30),
                                                new_frame_at(call.clerk, timeout=30))
    citizen_seconds, clerk_seconds = citizen_at - back, clerk_at - back
    restart_seconds = time.monotonic() - back + await restarted(call, clerk_before["localUfrag"])
    # Video goes on over the new ICE credentials.
    await frames_growing(call.citizen)
    await frames_growing(call.clerk)
    citizen_after, clerk_after = await stats(call.citizen), await stats(call.clerk)
    timeline = [(round(t - cut, 1), m["type"]) for t, m in call.citizen_signals.received
                if t >= cut and m["type"] not in ("pong", "candidate")]
    figures = {
        "citizen_video_again_s": round(citizen_seconds, 1),
        "clerk_video_again_s": round(clerk_seconds, 1),
        "ice_restart_done_s": round(restart_seconds, 1),
        "clerk_ufrag": f"{clerk_before['localUfrag']} -> {clerk_after['localUfrag']}",
        "peer_connections": (citizen_after["pcs"], clerk_after["pcs"]),
        "clerk_states_s": await states_since(call.clerk, cut_epoch),
        "signalling_after_cut_s": timeline}
    report("10 s without network", figures)
    assert citizen_seconds <= 5.0 and clerk_seconds <= 5.0, figures
    # An ICE restart: the same peer connections (no new call was set up), new ICE credentials
    # from an offer the clerk's page sent after the cut.
    assert (citizen_after["pcs"], clerk_after["pcs"]) == (citizen_before["pcs"],
                                                          clerk_before["pcs"])
    assert call.citizen_signals.of_type("offer", since=cut)
    assert not call.citizen_signals.of_type("start", since=cut)


# --- a poor link: 500 kbit/s and 5 % loss -------------------------------------------------------


async def test_five_percent_loss_on_500_kbit_still_gives_video(office: Office) -> None:
    office.net.bandwidth(500)
    office.net.lossy(5)
    call = await open_call(office)
    await frames_growing(call.citizen)
    await frames_growing(call.clerk)
    seen, dropped = office.net.loss_counts()
    citizen = await measure(call.citizen, 10)
    clerk = await measure(call.clerk, 5)
    seen, dropped = (a - b for a, b in zip(office.net.loss_counts(), (seen, dropped),
                                           strict=True))
    report("500 kbit/s, 5 % loss, the router", {
        "packets": seen, "dropped": dropped, "percent": round(100 * dropped / seen, 1)})
    report("500 kbit/s, 5 % loss, citizen receives", citizen)
    report("500 kbit/s, 5 % loss, clerk receives", clerk)
    # Video all along: frames every second, a picture, within the link's rate.
    assert citizen["width"] > 0 and clerk["width"] > 0
    assert citizen["fps"] >= 5 and clerk["fps"] >= 5
    assert citizen["kbit_s"] <= 500
    # The loss was real: the router dropped about 5 % of the call's packets.
    assert 2 <= 100 * dropped / seen <= 9
