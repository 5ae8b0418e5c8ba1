"""The room rules of CONTRACT §4, on one hub, over each backend (memory and Redis)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from signaling import Hub
from tests.signaling.conftest import Backend, HubFactory
from tests.signaling.helpers import Events, Peer, Tokens, grant

SDP = "v=0\r\no=- 46117317 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"


class Room:
    """A room with a citizen token and a clerk token, and helpers to connect them."""

    def __init__(self, hub: Hub, tokens: Tokens, backend: Backend, name: str = "room-1"):
        self.hub, self.tokens, self.name = hub, tokens, name
        self.quiet = backend.quiet
        self.reference = f"REF-{name}"
        self.citizen_token = tokens.add(f"cit-{name}", grant(name, "citizen"))
        self.clerk_token = tokens.add(f"clk-{name}", grant(name, "clerk"))

    def peer(self, hub: Hub | None = None) -> Peer:
        return Peer(hub or self.hub, quiet=self.quiet)

    async def citizen(self, hub: Hub | None = None) -> Peer:
        peer = self.peer(hub)
        welcome = await peer.hello(self.citizen_token)
        assert welcome == {"type": "welcome", "role": "citizen", "reference": self.reference,
                           "ice_servers": []}
        return peer

    async def clerk(self, hub: Hub | None = None) -> Peer:
        peer = self.peer(hub)
        welcome = await peer.hello(self.clerk_token)
        assert welcome["role"] == "clerk"
        return peer

    async def in_call(self) -> tuple[Peer, Peer]:
        citizen = await self.citizen()
        await citizen.expect("waiting")
        clerk = await self.clerk()
        await clerk.expect("peer-waiting")
        await clerk.send({"type": "admit"})
        await clerk.expect("start", initiator=True)
        await citizen.expect("start", initiator=False)
        return citizen, clerk


@pytest.fixture
async def setup(make_hub: HubFactory, backend: Backend) -> tuple[Room, Events]:
    tokens, events = Tokens(), Events()
    hub = await make_hub(tokens, on_event=events)
    return Room(hub, tokens, backend), events


# --- waiting room, admit, start ------------------------------------------------------------


async def test_citizen_waits_then_clerk_admits(setup: tuple[Room, Events]) -> None:
    room, events = setup
    citizen = await room.citizen()
    await citizen.expect("waiting")
    assert await room.hub.is_waiting(room.name)
    clerk = await room.clerk()
    await clerk.expect("peer-waiting")  # the citizen was already there
    await citizen.nothing()  # no news for the citizen until admitted
    await clerk.send({"type": "admit"})
    assert await clerk.expect("start") == {"type": "start", "initiator": True}
    assert await citizen.expect("start") == {"type": "start", "initiator": False}
    assert not await room.hub.is_waiting(room.name)
    assert events.of(room.reference) == [
        ("joined", "citizen"), ("joined", "clerk"), ("admitted", "clerk"),
        ("connected", "clerk"),
    ]


async def test_clerk_first_gets_peer_waiting_when_citizen_arrives(
    setup: tuple[Room, Events],
) -> None:
    room, _ = setup
    clerk = await room.clerk()
    await clerk.nothing()
    citizen = await room.citizen()
    await citizen.expect("waiting")
    await clerk.expect("peer-waiting")
    await clerk.send({"type": "admit"})
    await clerk.expect("start", initiator=True)
    await citizen.expect("start", initiator=False)


async def test_admitting_before_the_citizen_arrives(setup: tuple[Room, Events]) -> None:
    room, events = setup
    clerk = await room.clerk()
    await clerk.send({"type": "admit"})
    await clerk.nothing()
    citizen = await room.citizen()
    await citizen.expect("start", initiator=False)  # no waiting room
    await clerk.expect("start", initiator=True)
    assert ("connected", "citizen") in events.of(room.reference)


async def test_a_second_admit_changes_nothing(setup: tuple[Room, Events]) -> None:
    room, events = setup
    citizen, clerk = await room.in_call()
    await clerk.send({"type": "admit"})
    await clerk.nothing()
    await citizen.nothing()
    assert events.of(room.reference).count(("admitted", "clerk")) == 1


# --- relay -----------------------------------------------------------------------------------


async def test_offer_answer_candidates_are_relayed_unchanged(setup: tuple[Room, Events]) -> None:
    room, _ = setup
    citizen, clerk = await room.in_call()
    offer = {"type": "offer", "sdp": SDP}
    await clerk.send(offer)
    assert await citizen.recv() == offer
    answer = {"type": "answer", "sdp": SDP.replace("46117317", "99")}
    await citizen.send(answer)
    assert await clerk.recv() == answer
    candidate = {"type": "candidate", "candidate": {
        "candidate": "candidate:842163049 1 udp 1677729535 192.0.2.7 43254 typ srflx",
        "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": "Zx9", "futureField": [1, 2]}}
    await citizen.send(candidate)
    assert await clerk.recv() == candidate
    end_of_candidates = {"type": "candidate", "candidate": None}
    await clerk.send(end_of_candidates)
    assert await citizen.recv() == end_of_candidates
    await clerk.nothing()  # nothing echoes back to the sender


async def test_a_burst_of_candidates_arrives_complete_and_in_order(
    setup: tuple[Room, Events],
) -> None:
    room, _ = setup
    citizen, clerk = await room.in_call()
    for n in range(60):
        await clerk.send({"type": "candidate", "candidate": {"candidate": f"candidate:{n}",
                                                             "sdpMLineIndex": 0}})
    received = [await citizen.recv() for _ in range(60)]
    assert [m["candidate"]["candidate"] for m in received] == [f"candidate:{n}" for n in range(60)]
    assert clerk.session.state == "joined"


async def test_relay_goes_through_the_bus_only_when_it_must(
    make_hub: HubFactory, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process, a local peer gets relayed frames directly (the bus would hand them straight
    back); with Redis every frame goes through the bus, in order with start and peer-left."""
    tokens = Tokens()
    hub = await make_hub(tokens, on_event=Events())
    room = Room(hub, tokens, backend)
    citizen, clerk = await room.in_call()
    published: list[dict[str, object]] = []
    real_publish = hub.bus.publish

    async def publish(name: str, envelope: dict[str, object]) -> None:
        published.append(envelope)
        await real_publish(name, envelope)

    monkeypatch.setattr(hub.bus, "publish", publish)
    for n in range(5):
        await clerk.send({"type": "candidate", "candidate": {"candidate": f"candidate:{n}"}})
    received = [await citizen.recv() for _ in range(5)]
    assert [m["candidate"]["candidate"] for m in received] == [f"candidate:{n}" for n in range(5)]
    relayed = [e for e in published if "raw" in e]
    assert len(relayed) == (0 if backend.name == "memory" else 5)
    await clerk.send({"type": "bye"})
    await citizen.expect("peer-left")


async def test_nothing_is_relayed_outside_a_running_call(setup: tuple[Room, Events]) -> None:
    room, _ = setup
    citizen = await room.citizen()
    await citizen.expect("waiting")
    clerk = await room.clerk()
    await clerk.expect("peer-waiting")
    await citizen.send({"type": "offer", "sdp": SDP})  # not admitted yet
    await clerk.send({"type": "candidate", "candidate": None})
    await clerk.nothing()
    await citizen.nothing()
    assert citizen.session.state == clerk.session.state == "joined"


async def test_ping_gets_pong(setup: tuple[Room, Events]) -> None:
    room, _ = setup
    citizen = await room.citizen()
    await citizen.expect("waiting")
    await citizen.send({"type": "ping"})
    await citizen.expect("pong")


# --- leaving, ending -------------------------------------------------------------------------


async def test_bye_tells_the_other_peer_left(setup: tuple[Room, Events]) -> None:
    room, events = setup
    citizen, clerk = await room.in_call()
    await citizen.send({"type": "bye"})
    assert await citizen.expect_closed(1000) == []
    await clerk.expect("peer-left")
    assert ("left", "citizen") in events.of(room.reference)
    await clerk.send({"type": "offer", "sdp": SDP})  # no one to relay to: dropped
    await clerk.nothing()
    assert not await room.hub.is_waiting(room.name)


async def test_admission_holds_when_the_citizen_reconnects(setup: tuple[Room, Events]) -> None:
    room, _ = setup
    citizen, clerk = await room.in_call()
    await citizen.leave_transport()  # page reload: the socket closes without bye
    await clerk.expect("peer-left")
    again = await room.citizen()
    await again.expect("start", initiator=False)  # no second admit needed
    await clerk.expect("start", initiator=True)
    await clerk.send({"type": "offer", "sdp": SDP})
    assert (await again.recv())["sdp"] == SDP


async def test_admission_holds_when_the_clerk_reconnects(setup: tuple[Room, Events]) -> None:
    room, _ = setup
    citizen, clerk = await room.in_call()
    await clerk.send({"type": "bye"})
    await clerk.expect_closed(1000)
    await citizen.expect("peer-left")
    assert await room.hub.is_waiting(room.name)  # admitted, but no clerk: waiting again
    again = await room.clerk()
    await again.expect("start", initiator=True)
    await citizen.expect("start", initiator=False)


async def test_end_gives_ended_and_closes_the_room(setup: tuple[Room, Events]) -> None:
    room, events = setup
    citizen, clerk = await room.in_call()
    await clerk.send({"type": "end"})
    assert await citizen.expect_closed(1000) == [{"type": "ended"}]
    assert await clerk.expect_closed(1000) == []
    assert events.of(room.reference)[-1] == ("ended", "clerk")
    assert ("left", "citizen") not in events.of(room.reference)
    assert not await room.hub.is_waiting(room.name)
    assert (await room.hub.snapshot(room.name)).ended
    # The citizen may not come back into an ended room.
    late = room.peer()
    await late.send({"type": "hello", "token": room.citizen_token})
    assert await late.expect_closed(4403) == []


async def test_clerk_can_reopen_an_ended_room(setup: tuple[Room, Events]) -> None:
    room, _ = setup
    citizen, clerk = await room.in_call()
    await clerk.send({"type": "end"})
    await citizen.expect_closed(1000)
    await clerk.expect_closed(1000)
    clerk = await room.clerk()
    citizen = await room.citizen()
    await citizen.expect("waiting")  # reopened, not admitted
    await clerk.expect("peer-waiting")


async def test_end_without_a_citizen(setup: tuple[Room, Events]) -> None:
    room, _ = setup
    clerk = await room.clerk()
    await clerk.send({"type": "end"})
    await clerk.expect_closed(1000)
    late = room.peer()
    await late.send({"type": "hello", "token": room.citizen_token})
    await late.expect_closed(4403)


# --- replacing -------------------------------------------------------------------------------


async def test_newer_citizen_replaces_older_during_a_call(setup: tuple[Room, Events]) -> None:
    room, events = setup
    old, clerk = await room.in_call()
    new = await room.citizen()
    assert await old.expect_closed(4409) == []
    await new.expect("start", initiator=False)
    await clerk.expect("peer-reconnected")
    await clerk.expect("start", initiator=True)
    await clerk.send({"type": "offer", "sdp": SDP})
    assert (await new.recv())["type"] == "offer"
    assert old.conn.inbox.empty()
    assert ("left", "citizen") not in events.of(room.reference)


async def test_newer_citizen_replaces_older_in_the_waiting_room(
    setup: tuple[Room, Events],
) -> None:
    room, _ = setup
    clerk = await room.clerk()
    old = await room.citizen()
    await old.expect("waiting")
    await clerk.expect("peer-waiting")
    new = await room.citizen()
    await new.expect("waiting")
    await old.expect_closed(4409)
    await clerk.expect("peer-reconnected")
    await clerk.expect("peer-waiting")
    await clerk.send({"type": "admit"})
    await new.expect("start", initiator=False)
    await clerk.expect("start", initiator=True)


async def test_newer_clerk_replaces_older(setup: tuple[Room, Events]) -> None:
    room, _ = setup
    citizen, old = await room.in_call()
    new = await room.clerk()
    await old.expect_closed(4409)
    await new.expect("start", initiator=True)
    await citizen.expect("peer-reconnected")
    await citizen.expect("start", initiator=False)
    # The replaced clerk's connection can no longer end or admit anything.
    await old.send({"type": "end"})
    await citizen.nothing()


async def test_replacing_when_the_peer_is_absent(setup: tuple[Room, Events]) -> None:
    room, _ = setup
    old = await room.citizen()
    await old.expect("waiting")
    new = await room.citizen()
    await new.expect("waiting")
    await old.expect_closed(4409)
    clerk = await room.clerk()
    await clerk.expect("peer-waiting")  # exactly one waiting citizen
    await clerk.nothing()


# --- who may do what -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["admit", "end"])
async def test_citizen_may_not_admit_or_end(setup: tuple[Room, Events], kind: str) -> None:
    room, _ = setup
    citizen = await room.citizen()
    await citizen.expect("waiting")
    await citizen.send({"type": kind})
    await citizen.expect_closed(4403)
    assert not (await room.hub.snapshot(room.name)).admitted


async def test_unknown_token_is_4401(setup: tuple[Room, Events]) -> None:
    room, events = setup
    peer = room.peer()
    await peer.send({"type": "hello", "token": "no-such-token"})
    assert await peer.expect_closed(4401) == []
    assert events.items == []


@pytest.mark.parametrize(("opens", "closes"), [
    (timedelta(minutes=5), timedelta(minutes=50)),  # not open yet
    (timedelta(hours=-2), timedelta(seconds=-1)),  # closed already
])
async def test_outside_the_join_window_is_4403(
    setup: tuple[Room, Events], opens: timedelta, closes: timedelta
) -> None:
    room, _ = setup
    token = room.tokens.add("early-or-late", grant("other-room", "citizen", opens=opens,
                                                    closes=closes))
    peer = room.peer()
    await peer.send({"type": "hello", "token": token})
    await peer.expect_closed(4403)
    assert not await room.hub.is_waiting("other-room")


async def test_rooms_are_separate(setup: tuple[Room, Events], backend: Backend) -> None:
    room, _ = setup
    other = Room(room.hub, room.tokens, backend, "room-2")
    a_citizen, a_clerk = await room.in_call()
    b_citizen = await other.citizen()
    await b_citizen.expect("waiting")
    await a_clerk.send({"type": "offer", "sdp": SDP})
    assert (await a_citizen.recv())["type"] == "offer"
    await b_citizen.nothing()
    assert await room.hub.waiting_rooms([room.name, other.name]) == {other.name}


async def test_a_failing_event_sink_does_not_break_the_room(
    make_hub: HubFactory, backend: Backend,
) -> None:
    async def broken(reference: str, event: str, role: str) -> None:
        raise RuntimeError("database down")

    tokens = Tokens()
    room = Room(await make_hub(tokens, on_event=broken), tokens, backend)
    citizen, clerk = await room.in_call()
    await clerk.send({"type": "offer", "sdp": SDP})
    assert (await citizen.recv())["type"] == "offer"


async def test_welcome_carries_the_ice_servers(make_hub: HubFactory, backend: Backend) -> None:
    tokens = Tokens()
    seen = []

    def ice(g):  # type: ignore[no-untyped-def]
        seen.append(g)
        return [{"urls": ["stun:stun.example.org"]}]

    hub = await make_hub(tokens, ice_servers=ice)
    tokens.add("t", grant("r", "citizen"))
    welcome = await Peer(hub, quiet=backend.quiet).hello("t")
    assert welcome["ice_servers"] == [{"urls": ["stun:stun.example.org"]}]
    assert seen == [tokens.grants["t"]]


async def test_welcome_survives_a_broken_ice_builder(make_hub: HubFactory) -> None:
    tokens = Tokens()

    def broken(g):  # type: ignore[no-untyped-def]
        raise ValueError("bad TURN config")

    hub = await make_hub(tokens, ice_servers=broken)
    tokens.add("t", grant("r", "citizen"))
    assert (await Peer(hub).hello("t"))["ice_servers"] == []


async def test_connections_are_counted_and_released(setup: tuple[Room, Events]) -> None:
    room, _ = setup
    citizen, clerk = await room.in_call()
    assert room.hub.connections == 2
    await citizen.send({"type": "bye"})
    await citizen.expect_closed(1000)
    await clerk.leave_transport()
    for _ in range(100):
        if room.hub.connections == 0:
            break
        await asyncio.sleep(0.01)
    assert room.hub.connections == 0
    assert room.hub._rooms == {}
    snapshot = await room.hub.snapshot(room.name)
    assert not snapshot.citizen and not snapshot.clerk and snapshot.admitted
