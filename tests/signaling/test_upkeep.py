"""The hub's upkeep: a store that lost its state, a dead instance, the join window's end,
revoked tokens, and a Redis outage (a real ``redis-server`` of the test's own, killed and
started again empty) that ends no call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from signaling import (
    Hub,
    Limits,
    MemoryBroker,
    MemoryBus,
    MemoryRoomStore,
    RedisBus,
    RedisRoomStore,
    RoomSnapshot,
)
from signaling.store import RoomStore
from tests.services import OwnRedis, own_redis
from tests.signaling.conftest import Backend
from tests.signaling.helpers import Events, Peer, Tokens, grant
from tests.signaling.test_cross_instance import Instances
from tests.signaling.test_session import joined_pair
from tests.signaling.test_store import forget

__all__ = ["own_redis"]  # the fixture

SDP = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
# The tests sweep by hand: the hubs' own loop stays out of the way.
MANUAL = Limits(sweep_interval=3600)


class Clock:
    def __init__(self) -> None:
        self.t = datetime.now(UTC).timestamp()

    def __call__(self) -> float:
        return self.t


@pytest.fixture
async def pair(backend: Backend, request: pytest.FixtureRequest
               ) -> AsyncIterator[tuple[Instances, Clock, Events]]:
    """Two hubs whose leases run on a clock the test moves (10 s leases)."""
    clock, tokens, events = Clock(), Tokens(), Events()
    stores: list[RoomStore]
    if backend.name == "memory":
        shared = MemoryRoomStore(lease_seconds=10, clock=clock)
        broker = MemoryBroker()
        stores, buses = [shared, shared], [MemoryBus(broker), MemoryBus(broker)]
    else:
        client, prefix = request.getfixturevalue("redis_client")
        stores = [RedisRoomStore(client, prefix, lease_seconds=10, clock=clock) for _ in "ab"]
        buses = [RedisBus(client, prefix), RedisBus(client, prefix)]
    hubs = [Hub(tokens, store=s, bus=b, on_event=events, limits=MANUAL)
            for s, b in zip(stores, buses, strict=True)]
    for hub in hubs:
        await hub.start()
    try:
        yield Instances(hubs[0], hubs[1], tokens, backend.quiet), clock, events
    finally:
        for hub in hubs:
            await hub.aclose()


async def test_a_store_that_lost_its_state_is_filled_again(
    pair: tuple[Instances, Clock, Events]
) -> None:
    """Redis restarted without persistence: the next sweep of each instance claims its roles
    again, admitted stays admitted, no one is closed or told anything, and the call relays."""
    p, _, _ = pair
    citizen, clerk = await p.in_call()
    await forget(p.a.store, "r")
    assert await p.b.snapshot("r") == RoomSnapshot()
    await p.a.sweep()
    await p.b.sweep()
    assert await p.b.snapshot("r") == RoomSnapshot(citizen=True, clerk=True, admitted=True)
    await citizen.nothing()
    await clerk.nothing()
    await clerk.send({"type": "offer", "sdp": SDP})
    await citizen.expect("offer", sdp=SDP)
    assert not citizen.conn.closed.is_set() and not clerk.conn.closed.is_set()


async def test_a_dead_instance_is_peer_left_within_a_lease(
    pair: tuple[Instances, Clock, Events]
) -> None:
    """Instance A dies (nothing of it runs any more, nothing is torn down): B's next sweep
    after A's lease lapsed tells the clerk peer-left and records that the citizen left."""
    p, clock, events = pair
    _, clerk = await p.in_call()
    clock.t += 6
    await p.b.sweep()
    await clerk.nothing()  # A's lease (10 s) still runs
    clock.t += 5
    await p.b.sweep()
    await clerk.expect("peer-left")
    assert ("left", "citizen") in events.of("REF-r")
    assert not (await p.b.snapshot("r")).citizen  # the agenda stops showing "waiting"
    await p.b.sweep()
    await clerk.nothing()  # told once


async def test_no_peer_left_while_the_peer_may_still_be_catching_up(
    pair: tuple[Instances, Clock, Events]
) -> None:
    """Right after an outage the peer's instance may not have refreshed its lease yet."""
    p, clock, _ = pair
    _, clerk = await p.in_call()
    p.b.outage.begin(ConnectionError("test"))
    clock.t += 11
    assert p.b.outage.end()  # an outage just ended: the grace period runs
    await clerk.expect("restored")
    await p.b.sweep()
    await clerk.nothing()


async def test_window_end_warns_then_ends_both() -> None:
    tokens = Tokens()
    now = [datetime.now(UTC)]
    closes = now[0] + timedelta(minutes=20)
    async with Hub(tokens, limits=MANUAL, now=lambda: now[0]) as hub:
        citizen, clerk = await joined_pair(hub, tokens, closes=timedelta(minutes=20))
        now[0] = closes - timedelta(minutes=6)
        await hub.sweep()
        await citizen.nothing()
        now[0] = closes - timedelta(minutes=4)
        await hub.sweep()
        for peer, token in ((citizen, "c-r"), (clerk, "k-r")):
            warning = await peer.expect("window-closing")
            assert datetime.fromisoformat(warning["closes_at"]) == grant_closes(tokens, token)
        await hub.sweep()
        await citizen.nothing()  # warned once
        now[0] = closes + timedelta(seconds=1)
        await hub.sweep()
        for peer in (citizen, clerk):
            assert [m["type"] for m in await peer.expect_closed(1000)] == ["ended"]


def grant_closes(tokens: Tokens, token: str) -> datetime:
    return tokens.grants[token].closes_at


class Revocable(Tokens):
    """The app's authorizer and revalidator: tokens can be revoked while their calls run."""

    def __init__(self) -> None:
        super().__init__()
        self.revoked: set[str] = set()
        self.checked: list[list[str]] = []

    async def still_valid(self, tokens: Sequence[str]) -> list[bool]:
        self.checked.append(list(tokens))
        return [t not in self.revoked for t in tokens]


async def test_a_revoked_token_closes_its_call_with_4401() -> None:
    tokens, mono = Revocable(), [100.0]
    async with Hub(tokens, limits=MANUAL, monotonic=lambda: mono[0],
                   revalidate=tokens.still_valid) as hub:
        citizen, clerk = await joined_pair(hub, tokens)
        tokens.revoked.add("k-r")
        mono[0] += 4
        await hub.sweep()
        assert tokens.checked == []  # not due yet (every 5 s)
        mono[0] += 1
        await hub.sweep()
        assert sorted(tokens.checked[-1]) == ["c-r", "k-r"]
        await clerk.expect_closed(4401)
        await citizen.expect("peer-left")
        assert not citizen.conn.closed.is_set()


async def test_a_failing_revalidation_keeps_the_calls() -> None:
    mono = [100.0]

    async def database_down(tokens: Sequence[str]) -> list[bool]:
        raise OSError("connection refused")

    tokens = Tokens()
    tokens.add("cit", grant("r", "citizen"))
    async with Hub(tokens, limits=MANUAL, monotonic=lambda: mono[0],
                   revalidate=database_down) as hub:
        citizen = Peer(hub)
        await citizen.hello("cit")
        await citizen.expect("waiting")
        mono[0] += 10
        await hub.sweep()
        await citizen.nothing()
        assert not citizen.conn.closed.is_set()


# --- a real Redis outage ---------------------------------------------------------------------


async def hub_on(url: str, tokens: Tokens, events: Events) -> tuple[Hub, Any]:
    client: Any = Redis.from_url(url, socket_connect_timeout=0.5)
    hub = Hub(tokens, store=RedisRoomStore(client), bus=RedisBus(client), on_event=events,
              limits=MANUAL)
    await hub.start()
    return hub, client


async def subscribers(url: str, room: str) -> int:
    client: Any = Redis.from_url(url)
    try:
        [(_, count)] = await client.pubsub_numsub(f"buero:room:{room}")
        return int(count)
    finally:
        await client.aclose()


@pytest.mark.redis
@pytest.mark.xdist_group("own-redis")
async def test_a_redis_restart_ends_no_call(caplog: pytest.LogCaptureFixture,
                                            own_redis: OwnRedis) -> None:
    """Redis is killed during a call across two instances and comes back empty: both sides are
    told "interrupted" and "restored" and nothing else, no socket closes, a candidate sent
    during the outage arrives afterwards, admission holds, and a new connection during the
    outage is asked to try again (1013, not final)."""
    tokens, events = Tokens(), Events()
    server = own_redis
    a, client_a = await hub_on(server.url, tokens, events)
    b, client_b = await hub_on(server.url, tokens, events)
    try:
        p = Instances(a, b, tokens, quiet=0.2)
        citizen, clerk = await p.in_call()
        server.kill()
        candidate = {"type": "candidate", "candidate": None}
        await citizen.send(candidate)  # the bus is away: kept for later
        await citizen.expect("interrupted")
        await b.sweep()
        await clerk.expect("interrupted")
        tokens.add("late", grant("other", "citizen"))
        late = Peer(a)
        await late.send({"type": "hello", "token": "late"})
        await late.expect_closed(1013)
        await a.sweep()  # still away: nothing changes
        await citizen.nothing()

        server.start()
        await b.sweep()
        await clerk.expect("restored")
        for _ in range(100):  # both instances' pub/sub connections are back
            if await subscribers(server.url, "r") == 2:
                break
            await asyncio.sleep(0.05)
        await a.sweep()
        await citizen.expect("restored")
        await clerk.expect("candidate", candidate=None)
        assert await b.snapshot("r") == RoomSnapshot(citizen=True, clerk=True,
                                                     admitted=True)
        for peer in (citizen, clerk):
            await peer.nothing()
            assert not peer.conn.closed.is_set()
        await clerk.send({"type": "offer", "sdp": SDP})
        await citizen.expect("offer", sdp=SDP)
    finally:
        for hub, client in ((a, client_a), (b, client_b)):
            await hub.aclose()
            await client.aclose()
    outage_lines = [r for r in caplog.records if "signalling store" in r.getMessage()]
    assert len(outage_lines) == 4, [r.getMessage() for r in outage_lines]  # 2 per instance
    assert all(r.exc_info is None for r in outage_lines)
