"""Two app instances (two uvicorns) sharing one database and the real Redis: the citizen on A,
the clerk on B; the agenda on B sees the citizen waiting on A, and the aiortc call connects."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from app.settings import Settings
from tests.calls.conftest import seed_site, two_instances
from tests.calls.peers import MediaPeer, Signal, call, eventually
from tests.conftest import REDIS_URL, SHARED_REDIS, require

# They read "today's" agenda: run at 11:00 Berlin time, whenever they run (tests/conftest.py).
pytestmark = [pytest.mark.redis, pytest.mark.usefixtures("office_hours")]


@SHARED_REDIS
async def test_call_across_two_instances(settings: Settings) -> None:
    require(REDIS_URL is not None, "BUERO_TEST_REDIS_URL")
    assert REDIS_URL is not None
    async with two_instances(settings, REDIS_URL) as two:
        base_a, base_b = two.base_a, two.base_b
        site_b = await seed_site(two.app_b, base_b, two.http_b)  # the clerk works on B
        reference, citizen_token = await site_b.appointment()

        citizen = await Signal.open(base_a)
        await citizen.hello(citizen_token)
        await citizen.expect("waiting")
        [item] = await site_b.agenda()
        assert item["waiting"] is True

        clerk_token = await site_b.call_token(reference)
        clerk = await Signal.open(base_b)
        welcome = await clerk.hello(clerk_token)
        await clerk.expect("peer-waiting")
        await clerk.send({"type": "admit"})
        await clerk.expect("start", initiator=True)
        await citizen.expect("start", initiator=False)

        citizen_peer = MediaPeer(welcome["ice_servers"], (81, 90, 240))
        clerk_peer = MediaPeer(welcome["ice_servers"], (41, 240, 110))
        try:
            await call(citizen, clerk, citizen_peer, clerk_peer)
        finally:
            await citizen_peer.close()
            await clerk_peer.close()

        async def in_call() -> bool:
            return await site_b.status(reference) == "in_call"

        assert await eventually(in_call)
        assert (await site_b.agenda())[0]["waiting"] is False

        await citizen.send({"type": "bye"})
        await citizen.closed_with(1000)
        await clerk.expect("peer-left")
        await clerk.close()

        # Both instances answered ready, each with its Redis connection.
        for base in (base_a, base_b):
            async with httpx.AsyncClient(base_url=base) as http:
                ready = (await http.get("/readyz")).json()
            assert ready["checks"]["redis"] == "ok"

    assert REDIS_URL is not None
    client: Any = Redis.from_url(REDIS_URL)  # Any: the redis stubs predate aclose()
    try:  # the room state lives in Redis, under the app's prefix
        assert await client.exists(f"{settings.redis_prefix}room:{reference}")
    finally:
        await client.aclose()


@SHARED_REDIS
async def test_connection_test_report_from_another_instance(settings: Settings) -> None:
    """The test runs where the offer landed; its report is readable on every instance."""
    require(REDIS_URL is not None, "BUERO_TEST_REDIS_URL")
    assert REDIS_URL is not None
    async with two_instances(settings, REDIS_URL) as two:
        http_a, http_b = two.http_a, two.http_b
        site = await seed_site(two.app_a, two.base_a, http_a)
        _, token = await site.appointment()
        headers = {"Authorization": f"Bearer {token}"}
        peer = MediaPeer([], (105, 212, 234))
        try:
            r = await http_a.post("/api/v1/me/connection-test", headers=headers,
                                  json=await peer.offer())
            assert r.status_code == 201, r.text
            await peer.accept(r.json())
            await peer.media_flows()
            test_id = r.json()["id"]

            async def connected_on_b() -> bool:
                report = await http_b.get(f"/api/v1/me/connection-test/{test_id}",
                                          headers=headers)
                assert report.status_code == 200, report.text
                return bool(report.json()["connected"])

            assert await eventually(connected_on_b)
            # Not for another link, on any instance.
            _, other = await site.appointment()
            r = await http_b.get(f"/api/v1/me/connection-test/{test_id}",
                                 headers={"Authorization": f"Bearer {other}"})
            assert r.status_code == 404
        finally:
            await peer.close()
