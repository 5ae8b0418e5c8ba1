"""The waiting room's own state (``signaling.waitroom``): the clerk's message reaches the waiting
citizen on another instance, a citizen who arrives later gets the last one, and the time the
citizen began to wait is kept across reconnects (the hub's clock is injected, nothing waits).

Runs over the shared in-process backend and over the real Redis (``@pytest.mark.redis``)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from signaling import Hub
from signaling.errors import ProtocolError
from signaling.protocol import WaitingInfo, decode_server
from signaling.waitroom import (
    MemoryWaitingRoom,
    Note,
    RedisWaitingRoom,
    WaitingRoom,
    tell_citizen,
    waiting_since,
)
from tests.signaling.conftest import Backend, HubFactory
from tests.signaling.helpers import Peer, Tokens, grant

# The hubs' clock stands at a fixed moment, whatever Redis's clock says: the waiting room hands
# Redis lifetimes as durations from the hub's clock, so a skew between the two (here: any
# distance from this date) neither ends a room early nor keeps it too long.
T0 = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
KEEP = dt.timedelta(hours=2)


class Now:
    """The hubs' clock, moved by the test."""

    def __init__(self) -> None:
        self.at = T0

    def __call__(self) -> dt.datetime:
        return self.at


@pytest.fixture
def waitroom(backend: Backend, request: pytest.FixtureRequest) -> WaitingRoom:
    """One waiting room state for both hubs, like the app instances share Redis."""
    if backend.name == "memory":
        return MemoryWaitingRoom()
    client, prefix = request.getfixturevalue("redis_client")
    return RedisWaitingRoom(client, prefix)


class Two:
    def __init__(self, a: Hub, b: Hub, tokens: Tokens, quiet: float, now: Now) -> None:
        self.a, self.b, self.tokens, self.quiet, self.now = a, b, tokens, quiet, now
        # The grant's window follows the wall clock (helpers.grant); the hubs' clock is T0:
        # open wide enough for both.
        tokens.add("cit", grant("r", "citizen", opens=dt.timedelta(days=-3650),
                                closes=dt.timedelta(days=3650)))

    async def citizen(self, hub: Hub) -> Peer:
        peer = Peer(hub, quiet=self.quiet)
        await peer.hello("cit")
        await peer.expect("waiting")
        return peer


@pytest.fixture
async def two(make_hub: HubFactory, backend: Backend, waitroom: WaitingRoom) -> Two:
    tokens, now = Tokens(), Now()
    a = await make_hub(tokens, waitroom=waitroom, now=now)
    b = await make_hub(tokens, waitroom=waitroom, now=now)
    return Two(a, b, tokens, backend.quiet, now)


def info(message: dict[str, Any]) -> WaitingInfo:
    decoded = decode_server(json.dumps(message))
    assert isinstance(decoded, WaitingInfo)
    return decoded


async def test_a_message_reaches_the_citizen_on_another_instance(two: Two) -> None:
    citizen = await two.citizen(two.a)
    two.now.at = T0 + dt.timedelta(minutes=3)
    note = await tell_citizen(two.b, "r", "Wir sind etwa 5 Minuten im Verzug.", T0 + KEEP)
    got = info(await citizen.recv())
    assert got.text == "Wir sind etwa 5 Minuten im Verzug."
    assert dt.datetime.fromisoformat(got.sent_at) == T0 + dt.timedelta(minutes=3) == note.sent_at
    await citizen.nothing()


async def test_a_citizen_arriving_later_gets_the_last_message(two: Two) -> None:
    await tell_citizen(two.b, "r", "first", T0 + KEEP)  # nobody there: kept for later
    await tell_citizen(two.b, "r", "Bitte noch 2 Minuten Geduld.", T0 + KEEP)
    citizen = await two.citizen(two.a)
    assert info(await citizen.recv()).text == "Bitte noch 2 Minuten Geduld."
    await citizen.nothing()
    # Another room knows nothing of it.
    two.tokens.add("other", grant("s", "citizen", opens=dt.timedelta(days=-3650),
                                  closes=dt.timedelta(days=3650)))
    other = Peer(two.b, quiet=two.quiet)
    await other.hello("other")
    await other.expect("waiting")
    await other.nothing()


async def test_waiting_since_is_kept_across_a_reconnect(two: Two) -> None:
    assert await waiting_since(two.b, ["r"]) == {}
    first = await two.citizen(two.a)
    assert await waiting_since(two.b, ["r", "s"]) == {"r": T0}
    await first.send({"type": "bye"})
    two.now.at = T0 + dt.timedelta(minutes=4)
    await two.citizen(two.b)  # back, on the other instance
    assert await waiting_since(two.a, ["r"]) == {"r": T0}  # still since T0: 4 minutes


async def test_redis_keys_expire_with_the_room(redis_client: tuple[Any, str]) -> None:
    client, prefix = redis_client
    room = RedisWaitingRoom(client, prefix)
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=30)
    later = soon + dt.timedelta(minutes=30)
    await room.arrived("r", dt.datetime.now(dt.UTC), soon)
    ttl = await client.pttl(room.key("r"))
    assert 29 * 60_000 < ttl <= 30 * 60_000
    await room.leave_note("r", Note("x", dt.datetime.now(dt.UTC)), later)  # longer: extended
    assert await client.pttl(room.key("r")) > 59 * 60_000
    await room.arrived("r", dt.datetime.now(dt.UTC), soon)  # shorter: never shortened
    assert await client.pttl(room.key("r")) > 59 * 60_000


async def test_memory_state_goes_with_the_room() -> None:
    room = MemoryWaitingRoom()
    await room.arrived("r", T0, T0 + KEEP)
    await room.leave_note("r", Note("x", T0), T0 + KEEP)
    assert await room.since(["r"]) == {"r": T0}
    await room.arrived("s", T0 + KEEP, T0 + 2 * KEEP)  # time moves past r's keep time
    assert room.kept == 1  # r is gone, not only hidden
    assert await room.since(["r"]) == {}
    assert await room.note("r") is None


def test_waiting_info_is_checked_like_every_server_message() -> None:
    ok = {"type": "waiting-info", "text": "Hallo", "sent_at": "2026-12-07T09:00:00+00:00"}
    assert info(ok).to_dict() == ok
    for bad in ({**ok, "extra": 1}, {"type": "waiting-info", "text": "x"},
                {**ok, "text": "x" * 501}, {**ok, "text": 5}):
        with pytest.raises(ProtocolError) as caught:
            decode_server(json.dumps(bad))
        assert caught.value.code == 4400
