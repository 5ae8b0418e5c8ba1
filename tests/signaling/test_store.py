"""Room state: the same behaviour in memory and in Redis."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from signaling import MemoryRoomStore, RedisRoomStore, Role
from signaling.store import Holding, JoinResult, Presence, RoomSnapshot, RoomStore
from tests.signaling.conftest import Backend


def later(hours: float = 2) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours)


def hold(room: str, role: Role, conn: str, *, admitted: bool = False,
         keep_until: datetime | None = None) -> Holding:
    return Holding(room, role, conn, keep_until or later(), admitted)


async def forget(store: RoomStore, room: str) -> None:
    """The store loses a room's state, as Redis does when it restarts without persistence."""
    if isinstance(store, RedisRoomStore):
        assert await store.client.delete(store.key(room)) == 1
    else:
        assert isinstance(store, MemoryRoomStore)
        del store._rooms[room]


@pytest.fixture
def store(backend: Backend) -> RoomStore:
    return backend.store()


async def test_join_and_snapshot(store: RoomStore) -> None:
    assert await store.snapshot("r") == RoomSnapshot()
    assert await store.join("r", "citizen", "c1", later()) == JoinResult()
    assert await store.snapshot("r") == RoomSnapshot(citizen=True)
    assert await store.join("r", "clerk", "k1", later()) == JoinResult(peer_present=True)
    assert await store.snapshot("r") == RoomSnapshot(citizen=True, clerk=True)


async def test_second_join_of_a_role_returns_the_previous(store: RoomStore) -> None:
    await store.join("r", "citizen", "c1", later())
    result = await store.join("r", "citizen", "c2", later())
    assert result == JoinResult(previous="c1", previous_live=True)
    # The old connection can no longer release the role: compare-and-delete.
    assert await store.leave("r", "citizen", "c1") is False
    assert (await store.snapshot("r")).citizen
    assert await store.leave("r", "citizen", "c2") is True
    assert not (await store.snapshot("r")).citizen
    assert await store.leave("r", "citizen", "c2") is False


async def test_admit_only_by_the_holding_clerk_and_once(store: RoomStore) -> None:
    assert await store.admit("r", "k1") is None  # no clerk yet
    await store.join("r", "clerk", "k1", later())
    assert await store.admit("r", "someone-else") is None
    first = await store.admit("r", "k1")
    assert first is not None and first.changed and not first.citizen_present
    again = await store.admit("r", "k1")
    assert again is not None and not again.changed
    joined = await store.join("r", "citizen", "c1", later())
    assert joined.admitted and joined.peer_present
    third = await store.admit("r", "k1")
    assert third is not None and third.citizen_present


async def test_admission_survives_reconnects(store: RoomStore) -> None:
    await store.join("r", "clerk", "k1", later())
    await store.admit("r", "k1")
    await store.leave("r", "clerk", "k1")
    await store.join("r", "citizen", "c1", later())
    await store.leave("r", "citizen", "c1")
    assert (await store.join("r", "clerk", "k2", later())).admitted
    assert (await store.join("r", "citizen", "c2", later())).admitted


async def test_end_closes_the_room_to_the_citizen(store: RoomStore) -> None:
    await store.join("r", "clerk", "k1", later())
    await store.join("r", "citizen", "c1", later())
    await store.admit("r", "k1")
    assert await store.end("r", "c1") is False  # not the clerk
    assert await store.end("r", "k1") is True
    assert await store.end("r", "k1") is False  # once
    snap = await store.snapshot("r")
    assert snap.ended and not snap.admitted and not snap.waiting
    assert await store.admit("r", "k1") is None
    assert await store.join("r", "citizen", "c2", later()) == JoinResult(refused=True)
    # A clerk coming back reopens the room, with the citizen not admitted.
    reopened = await store.join("r", "clerk", "k2", later())
    assert not reopened.admitted
    assert not (await store.snapshot("r")).ended
    assert not (await store.join("r", "citizen", "c3", later())).refused


async def test_waiting(store: RoomStore) -> None:
    await store.join("a", "citizen", "ca", later())
    await store.join("b", "citizen", "cb", later())
    await store.join("b", "clerk", "kb", later())
    await store.admit("b", "kb")
    await store.join("c", "clerk", "kc", later())
    assert await store.waiting(["a", "b", "c", "d"]) == {"a"}
    assert await store.waiting([]) == set()
    await store.leave("b", "clerk", "kb")  # admitted, but the clerk is away: waiting again
    assert await store.waiting(["a", "b"]) == {"a", "b"}


async def test_refresh_reports_lost_roles(store: RoomStore) -> None:
    await store.join("r", "citizen", "c1", later())
    await store.join("r", "clerk", "k1", later())
    await store.join("r", "citizen", "c2", later())
    assert await store.refresh([hold("r", "citizen", "c1"), hold("r", "clerk", "k1"),
                                hold("r", "citizen", "c2")]) == [
        Presence("lost", "absent"), Presence("held", "live"), Presence("held", "live")]
    assert await store.refresh([]) == []


async def test_refresh_claims_a_role_the_store_lost(store: RoomStore) -> None:
    """Redis restarted without persistence: the holders take their roles back, admitted stays
    admitted, and no one is told they were replaced."""
    await store.join("r", "citizen", "c1", later())
    await store.join("r", "clerk", "k1", later())
    await store.admit("r", "k1")
    await forget(store, "r")
    assert await store.snapshot("r") == RoomSnapshot()
    assert await store.refresh([hold("r", "citizen", "c1", admitted=True)]) == [
        Presence("reclaimed", "absent")]
    assert await store.refresh([hold("r", "clerk", "k1", admitted=True)]) == [
        Presence("reclaimed", "live")]
    assert await store.snapshot("r") == RoomSnapshot(citizen=True, clerk=True, admitted=True)
    assert await store.refresh([hold("r", "citizen", "c1"), hold("r", "clerk", "k1")]) == [
        Presence("held", "live"), Presence("held", "live")]
    # A claim that knew of no admission restores none; an ended room is not reopened by one.
    await store.join("q", "clerk", "k2", later())
    await forget(store, "q")
    await store.refresh([hold("q", "citizen", "c3")])
    assert await store.snapshot("q") == RoomSnapshot(citizen=True)
    await store.join("e", "clerk", "k4", later())
    await store.admit("e", "k4")
    await store.end("e", "k4")
    await store.refresh([hold("e", "clerk", "k4", admitted=True)])
    assert await store.snapshot("e") == RoomSnapshot(clerk=True, ended=True)


async def test_rooms_are_independent(store: RoomStore) -> None:
    await store.join("r1", "citizen", "c1", later())
    assert (await store.join("r2", "citizen", "c2", later())).previous is None
    assert await store.snapshot("r2") == RoomSnapshot(citizen=True)


# --- leases and expiry -----------------------------------------------------------------------


async def test_memory_leases_expire_without_refresh() -> None:
    clock = [1000.0]
    store = MemoryRoomStore(lease_seconds=30, clock=lambda: clock[0])
    await store.join("r", "citizen", "c1", datetime.fromtimestamp(5000, UTC))
    clock[0] += 20
    assert await store.refresh([hold("r", "citizen", "c1")]) == [Presence("held", "absent")]
    clock[0] += 25  # 45 s after joining, 25 s after the refresh: still present
    assert (await store.snapshot("r")).citizen
    clock[0] += 10
    assert not (await store.snapshot("r")).citizen
    # A new citizen connection sees the stale holder, but not as live.
    result = await store.join("r", "citizen", "c2", datetime.fromtimestamp(5000, UTC))
    assert result == JoinResult(previous="c1", previous_live=False)


async def test_memory_rooms_are_dropped_after_keep_until() -> None:
    clock = [1000.0]
    store = MemoryRoomStore(lease_seconds=600, clock=lambda: clock[0])
    await store.join("r", "clerk", "k1", datetime.fromtimestamp(1100, UTC))
    await store.end("r", "k1")
    clock[0] = 1101
    assert await store.snapshot("r") == RoomSnapshot()
    assert await store.refresh([]) == []
    assert store._rooms == {}


@pytest.mark.redis
async def test_redis_leases_expire(redis_client: tuple[Redis, str]) -> None:
    client, prefix = redis_client
    clock = [datetime.now(UTC).timestamp()]
    store = RedisRoomStore(client, prefix, lease_seconds=30, clock=lambda: clock[0])
    await store.join("r", "citizen", "c1", later())
    assert (await store.snapshot("r")).citizen
    clock[0] += 20
    assert await store.refresh([hold("r", "citizen", "c1")]) == [Presence("held", "absent")]
    clock[0] += 25  # 45 s after joining, 25 s after the refresh: still present
    assert (await store.snapshot("r")).citizen
    assert await store.waiting(["r"]) == {"r"}
    clock[0] += 10
    assert not (await store.snapshot("r")).citizen
    assert await store.waiting(["r"]) == set()
    result = await store.join("r", "citizen", "c2", later())
    assert result == JoinResult(previous="c1", previous_live=False)


@pytest.mark.redis
async def test_redis_leases_run_on_redis_clock_by_default(
    redis_client: tuple[Redis, str]
) -> None:
    """Without a clock of its own the store counts leases in Redis' time (TIME), which every
    instance shares."""
    client, prefix = redis_client
    store = RedisRoomStore(client, prefix, lease_seconds=30)
    await store.join("r", "citizen", "c1", later())
    seconds, micros = await client.time()
    redis_now = seconds * 1000 + micros // 1000
    until = int(await client.hget(store.key("r"), "citizen:until"))
    assert redis_now < until <= redis_now + 30_000
    await store.join("r", "clerk", "k1", later())
    await store.admit("r", "k1")
    assert await store.refresh([hold("r", "clerk", "k1")]) == [Presence("held", "live")]
    seconds, micros = await client.time()
    redis_now = seconds * 1000 + micros // 1000
    until = int(await client.hget(store.key("r"), "clerk:until"))
    assert redis_now < until <= redis_now + 30_000
    assert await store.snapshot("r") == RoomSnapshot(citizen=True, clerk=True, admitted=True)


@pytest.mark.redis
async def test_redis_room_key_expires_after_keep_until(redis_client: tuple[Redis, str]) -> None:
    client, prefix = redis_client
    store = RedisRoomStore(client, prefix)
    await store.join("r", "citizen", "c1", later(hours=2))
    ttl = await client.pttl(store.key("r"))
    assert 2 * 3600_000 - 5000 < ttl <= 2 * 3600_000
    # A later grant extends it, an earlier one does not shorten it.
    await store.join("r", "clerk", "k1", later(hours=3))
    await store.join("r", "clerk", "k2", later(hours=1))
    assert await client.pttl(store.key("r")) > 2.9 * 3600_000
    # Redis drops the key at keep_until (PEXPIRETIME, Redis 7), so nothing here waits for it.
    # The store hands Redis a duration from the hub's clock: on this one machine both clocks
    # agree, up to the few milliseconds between reading the one and the other.
    soon = datetime.now(UTC) + timedelta(milliseconds=300)
    await store.join("soon", "citizen", "c1", soon)
    expires = await client.execute_command("PEXPIRETIME", store.key("soon"))
    assert abs(expires - int(soon.timestamp() * 1000)) <= 50


@pytest.mark.redis
async def test_redis_room_lives_its_time_whatever_the_hubs_clock_says(
        redis_client: tuple[Redis, str]) -> None:
    """The hub's clock three hours behind Redis's (as the tests' product clock may stand): a
    room kept for two hours by that clock still lives two hours, not none at all."""
    client, prefix = redis_client
    behind = timedelta(hours=3)
    store = RedisRoomStore(client, prefix,
                           wall=lambda: (datetime.now(UTC) - behind).timestamp())
    await store.join("r", "citizen", "c1", datetime.now(UTC) - behind + timedelta(hours=2))
    ttl = await client.pttl(store.key("r"))
    assert 2 * 3600_000 - 5000 < ttl <= 2 * 3600_000
    assert (await store.snapshot("r")).citizen


@pytest.mark.redis
async def test_redis_racing_joins_elect_one_holder(redis_client: tuple[Redis, str]) -> None:
    """Two instances claim the clerk at once: exactly one replaces the other."""
    client, prefix = redis_client
    a = RedisRoomStore(client, prefix)
    b = RedisRoomStore(client, prefix)
    for attempt in range(20):
        room = f"race{attempt}"
        ra, rb = await asyncio.gather(a.join(room, "clerk", "ka", later()),
                                      b.join(room, "clerk", "kb", later()))
        previous = {ra.previous, rb.previous}
        assert previous in ({None, "ka"}, {None, "kb"})
        winner = "kb" if ra.previous is None else "ka"
        assert await a.refresh([hold(room, "clerk", winner)]) == [Presence("held", "absent")]
        loser = "ka" if winner == "kb" else "kb"
        assert await a.refresh([hold(room, "clerk", loser)]) == [Presence("lost", "absent")]


@pytest.mark.redis
async def test_redis_store_works_with_decoded_responses(redis_client: tuple[Redis, str]) -> None:
    _, prefix = redis_client
    from tests.conftest import REDIS_URL

    assert REDIS_URL is not None
    client = Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        store = RedisRoomStore(client, prefix)
        await store.join("r", "citizen", "c1", later())
        result = await store.join("r", "citizen", "c2", later())
        assert result.previous == "c1"
        assert await store.waiting(["r"]) == {"r"}
    finally:
        await client.aclose()


@pytest.fixture
def clocked(backend: Backend, request: pytest.FixtureRequest) -> tuple[RoomStore, list[float]]:
    """A store of the backend whose leases run on a clock the test moves (10 s leases)."""
    clock = [datetime.now(UTC).timestamp()]
    if backend.name == "memory":
        return MemoryRoomStore(lease_seconds=10, clock=lambda: clock[0]), clock
    client, prefix = request.getfixturevalue("redis_client")
    return RedisRoomStore(client, prefix, lease_seconds=10, clock=lambda: clock[0]), clock


async def test_refresh_tells_a_lapsed_peer_from_a_missing_one(
    clocked: tuple[RoomStore, list[float]]
) -> None:
    """The peer's instance died: its entry stays with a lapsed lease (``expired``: the hub
    says peer-left). A peer that left has no entry (``absent``: it said so itself)."""
    store, clock = clocked
    await store.join("r", "citizen", "c1", later())
    await store.join("r", "clerk", "k1", later())
    clock[0] += 6
    assert await store.refresh([hold("r", "clerk", "k1")]) == [Presence("held", "live")]
    clock[0] += 6  # the citizen's lease (10 s) lapsed 2 s ago; the clerk's runs
    assert await store.refresh([hold("r", "clerk", "k1")]) == [Presence("held", "expired")]
    assert await store.snapshot("r") == RoomSnapshot(clerk=True)
    assert await store.leave("r", "citizen", "c1")
    assert await store.refresh([hold("r", "clerk", "k1")]) == [Presence("held", "absent")]
