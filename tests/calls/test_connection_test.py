"""The pre-call connection test: an aiortc "browser" posts its offer and gets its own camera
back from the server's echo peer; the report says how it connected."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from app.settings import Settings
from tests.calls.conftest import CallSite, serve_site
from tests.calls.peers import MediaPeer, eventually, luma

MAGENTA = (105, 212, 234)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def offer_of(peer: MediaPeer) -> dict[str, Any]:
    # aiortc gathers every candidate before setLocalDescription returns, like a browser that
    # waits for iceGatheringState "complete".
    return await peer.offer()


class Browser:
    """The appointment page's side of the test."""

    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http, self.token = http, token
        self.peer: MediaPeer | None = None

    async def start(self) -> tuple[httpx.Response, MediaPeer]:
        r = await self.http.get("/api/v1/me/ice-servers", headers=bearer(self.token))
        assert r.status_code == 200, r.text
        await self.close()
        self.peer = MediaPeer(r.json()["ice_servers"], MAGENTA)
        response = await self.http.post("/api/v1/me/connection-test", headers=bearer(self.token),
                                        json=await offer_of(self.peer))
        if response.status_code == 201:
            await self.peer.accept(response.json())
        return response, self.peer

    async def report(self, test_id: str) -> dict[str, Any]:
        r = await self.http.get(f"/api/v1/me/connection-test/{test_id}",
                                headers=bearer(self.token))
        assert r.status_code == 200, r.text
        body = r.json()
        assert isinstance(body, dict)
        return body

    async def close(self) -> None:
        if self.peer is not None:
            await self.peer.close()
            self.peer = None


@pytest.fixture
async def browser(site: CallSite) -> AsyncIterator[tuple[CallSite, Browser]]:
    _, token = await site.appointment(start_in=dt.timedelta(days=2))
    page = Browser(site.http, token)
    yield site, page
    await page.close()


async def test_echo_returns_the_own_camera_and_reports(
    browser: tuple[CallSite, Browser],
) -> None:
    site, page = browser
    response, peer = await page.start()
    assert response.status_code == 201, response.text
    started = response.json()
    assert started["type"] == "answer"
    assert "a=candidate:" in started["sdp"]  # aiortc answers with all its candidates
    assert started["report"]["state"] == "connecting"
    await peer.media_flows()
    # Its own picture came back.
    assert abs(luma(peer.frames[-1]) - MAGENTA[0]) < 12

    async def connected() -> dict[str, Any] | None:
        report = await page.report(started["id"])
        return report if report["connected"] and report["video_frames"] > 0 else None

    report = await eventually(connected)
    assert report["state"] == "connected"
    assert report["route"] == "direct"
    assert report["local_candidate"] == "host" and report["remote_candidate"] == "host"
    assert 0 < report["connect_ms"] < 10_000
    assert report["id"] == started["id"]
    assert "reference" not in report

    r = await site.http.delete(f"/api/v1/me/connection-test/{started['id']}",
                               headers=bearer(page.token))
    assert r.status_code == 204
    report = await page.report(started["id"])
    assert report["state"] == "closed" and report["connected"] is True
    assert site.state.extras["connection_tests"].running == 0


async def test_a_report_belongs_to_its_link(browser: tuple[CallSite, Browser]) -> None:
    site, page = browser
    response, _ = await page.start()
    test_id = response.json()["id"]
    _, other_token = await site.appointment(start_in=dt.timedelta(days=3))
    for method in ("GET", "DELETE"):
        r = await site.http.request(method, f"/api/v1/me/connection-test/{test_id}",
                                    headers=bearer(other_token))
        assert r.status_code == 404, r.text
    r = await site.http.get(f"/api/v1/me/connection-test/{test_id}")
    assert r.status_code == 401
    r = await site.http.get("/api/v1/me/connection-test/nope", headers=bearer(page.token))
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"type": "offer", "sdp": "this is not SDP"}, 422, "invalid_offer"),
        ({"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"}, 422,
         "invalid_offer"),
        ({"type": "answer", "sdp": "v=0"}, 422, "validation_error"),
        ({"sdp": "v=0"}, 422, "validation_error"),
        ([], 422, "validation_error"),
    ],
)
async def test_bad_offers(site: CallSite, body: Any, status: int, code: str) -> None:
    _, token = await site.appointment(start_in=dt.timedelta(days=2))
    r = await site.http.post("/api/v1/me/connection-test", headers=bearer(token), json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    assert site.state.extras["connection_tests"].running == 0


async def test_malformed_body_and_no_token(site: CallSite) -> None:
    _, token = await site.appointment(start_in=dt.timedelta(days=2))
    r = await site.http.post("/api/v1/me/connection-test", headers=bearer(token), content=b"{")
    assert (r.status_code, r.json()["error"]["code"]) == (400, "malformed_json")
    r = await site.http.post("/api/v1/me/connection-test", content=b"{")
    assert r.status_code == 401
    r = await site.http.post("/api/v1/me/connection-test", headers=bearer("x" * 43),
                             json={"type": "offer", "sdp": "v=0"})
    assert r.status_code == 401
    r = await site.http.get("/api/v1/me/ice-servers")
    assert r.status_code == 401


async def start_for(site: CallSite, status: str) -> httpx.Response:
    """A connection test started with a real offer for an appointment in ``status``."""
    _, token = await site.appointment(start_in=dt.timedelta(days=2), status=status)
    peer = MediaPeer([], MAGENTA)
    try:
        return await site.http.post("/api/v1/me/connection-test", headers=bearer(token),
                                    json=await peer.offer())
    finally:
        await peer.close()


async def test_not_before_the_appointment_is_confirmed(site: CallSite) -> None:
    r = await start_for(site, "reserved")
    assert (r.status_code, r.json()["error"]["code"]) == (409, "wrong_state")
    assert "bestätigen Sie zuerst Ihren Termin" in r.json()["error"]["message"]
    assert site.state.extras["connection_tests"].running == 0


@pytest.mark.parametrize("status", ["cancelled", "completed", "expired"])
async def test_not_after_the_appointment(site: CallSite, status: str) -> None:
    r = await start_for(site, status)
    assert (r.status_code, r.json()["error"]["code"]) == (409, "wrong_state")


@pytest.fixture
async def limited(settings_factory: Callable[..., Settings]) -> AsyncIterator[CallSite]:
    settings = settings_factory(
        rate_limits_enabled=True, rate_limit_token="100/minute", rate_limit_login="100/minute",
        rate_limit_connection_test="2/hour", connection_test_max_concurrent=1,
        connection_test_seconds=1.5,
    )
    async with serve_site(settings) as served:
        yield served


async def test_limits_per_link_and_per_instance_and_lifetime(limited: CallSite) -> None:
    site = limited
    _, token = await site.appointment(start_in=dt.timedelta(days=2))
    _, other = await site.appointment(start_in=dt.timedelta(days=3))
    first = Browser(site.http, token)
    second = Browser(site.http, other)
    try:
        response, peer = await first.start()
        assert response.status_code == 201, response.text
        test_id = response.json()["id"]
        # One test at a time on this instance: the next one is told to come back, and the try
        # counts against that link's limit (two an hour here).
        busy, _ = await second.start()
        assert (busy.status_code, busy.json()["error"]["code"]) == (503, "connection_test_busy")
        await peer.media_flows()

        # The peer closes itself after BUERO_CONNECTION_TEST_SECONDS.
        async def over() -> dict[str, Any] | None:
            report = await first.report(test_id)
            return report if report["state"] == "closed" else None

        report = await eventually(over, timeout=10)
        assert report["connected"] is True and report["video_frames"] > 0
        await first.close()

        again, _ = await first.start()  # the second of two per hour
        assert again.status_code == 201, again.text
        await first.close()
        await eventually(lambda: _idle(site))
        third, _ = await first.start()
        assert (third.status_code, third.json()["error"]["code"]) == (429, "rate_limited")
        # The limit is per link: the other appointment may still test, once: its busy try
        # counted.
        other_response, _ = await second.start()
        assert other_response.status_code == 201, other_response.text
        await second.close()
        await eventually(lambda: _idle(site))
        last, _ = await second.start()
        assert (last.status_code, last.json()["error"]["code"]) == (429, "rate_limited")
    finally:
        await first.close()
        await second.close()


async def _idle(site: CallSite) -> bool:
    await asyncio.sleep(0)
    return bool(site.state.extras["connection_tests"].running == 0)


async def test_ice_servers_for_the_page(settings_factory: Callable[..., Settings]) -> None:
    settings = settings_factory(stun_urls="stun:stun.example.org:3478",
                                turn_urls="turn:turn.example.org:3478?transport=udp",
                                turn_secret="s3cret", turn_ttl_seconds=300)
    async with serve_site(settings) as site:
        reference, token = await site.appointment(start_in=dt.timedelta(days=2))
        r = await site.http.get("/api/v1/me/ice-servers", headers=bearer(token))
    assert r.status_code == 200
    body = r.json()
    stun_entry, turn_entry = body["ice_servers"]
    assert stun_entry == {"urls": ["stun:stun.example.org:3478"]}
    assert turn_entry["urls"] == ["turn:turn.example.org:3478?transport=udp"]
    expiry = int(turn_entry["username"].split(":", 1)[0])
    assert expiry == int(dt.datetime.fromisoformat(body["expires_at"]).timestamp())
    assert 0 < expiry - dt.datetime.now(dt.UTC).timestamp() <= 300  # the TTL caps it
    assert turn_entry["username"].endswith(f":test-{reference}")
