"""The third participant (``signaling.meeting``): a guest interpreter in a three-party mesh, over
each backend; the guest is on a second hub (another app instance) so every pair crosses it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from signaling import Hub
from tests.signaling.conftest import Backend, HubFactory
from tests.signaling.helpers import Events, Peer, Tokens, grant

SDP = "v=0\r\no=- 46117317 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
CANDIDATE = {"candidate": "candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host",
             "sdpMid": "0", "sdpMLineIndex": 0}


class Meeting:
    def __init__(self, a: Hub, b: Hub, tokens: Tokens, quiet: float) -> None:
        self.a, self.b, self.quiet = a, b, quiet
        self.name = "room-g"
        self.reference = f"REF-{self.name}"
        self.tokens = {role: tokens.add(f"{role}-tok", grant(self.name, role))
                       for role in ("citizen", "clerk", "guest")}

    async def join(self, role: str, hub: Hub | None = None) -> Peer:
        peer = Peer(hub or (self.b if role == "guest" else self.a), quiet=self.quiet)
        welcome = await peer.hello(self.tokens[role])
        assert welcome["role"] == role
        return peer

    async def in_call(self) -> tuple[Peer, Peer]:
        citizen = await self.join("citizen")
        await citizen.expect("waiting")
        clerk = await self.join("clerk")
        await clerk.expect("peer-waiting")
        await clerk.send({"type": "admit"})
        await clerk.expect("start", initiator=True)
        await citizen.expect("start", initiator=False)
        return citizen, clerk

    async def three(self) -> tuple[Peer, Peer, Peer]:
        """Citizen and clerk in the call, then the guest admitted: every pair running."""
        citizen, clerk = await self.in_call()
        guest = await self.join("guest")
        assert await guest.expect("waiting") == {"type": "waiting"}
        assert await clerk.recv() == {"type": "peer-waiting", "role": "guest"}
        await citizen.nothing()  # the citizen hears of the guest only once admitted
        await clerk.send({"type": "admit", "role": "guest"})
        assert await clerk.recv() == {"type": "peer-joined", "role": "guest", "initiator": True}
        assert await citizen.recv() == {"type": "peer-joined", "role": "guest",
                                        "initiator": True}
        assert sorted(await collect(guest, 2), key=lambda m: m["role"]) == [
            {"type": "peer-joined", "role": "citizen", "initiator": False},
            {"type": "peer-joined", "role": "clerk", "initiator": False},
        ]
        return citizen, clerk, guest


async def collect(peer: Peer, n: int) -> list[dict[str, Any]]:
    return [await peer.recv() for _ in range(n)]


@pytest.fixture
async def setup(make_hub: HubFactory, backend: Backend) -> tuple[Meeting, Events]:
    tokens, events = Tokens(), Events()
    a = await make_hub(tokens, on_event=events)
    b = await make_hub(tokens, on_event=events)
    return Meeting(a, b, tokens, backend.quiet), events


async def test_admitted_guest_gets_a_pair_with_each_and_frames_carry_from(
    setup: tuple[Meeting, Events],
) -> None:
    m, events = setup
    citizen, clerk, guest = await m.three()
    assert ("admitted", "guest") in events.of(m.reference)
    # Each pair relays addressed frames; the server names the sender instead of the receiver.
    await clerk.send({"type": "offer", "sdp": SDP, "to": "guest"})
    assert await guest.recv() == {"type": "offer", "sdp": SDP, "from": "clerk"}
    await guest.send({"type": "answer", "sdp": SDP, "to": "clerk"})
    assert await clerk.recv() == {"type": "answer", "sdp": SDP, "from": "guest"}
    await citizen.send({"type": "offer", "sdp": SDP, "to": "guest"})
    assert await guest.recv() == {"type": "offer", "sdp": SDP, "from": "citizen"}
    await guest.send({"type": "candidate", "candidate": CANDIDATE, "to": "citizen"})
    assert await citizen.recv() == {"type": "candidate", "candidate": CANDIDATE,
                                    "from": "guest"}
    # The two-party pair is untouched: frames without "to" go on exactly as they came.
    frame = json.dumps({"type": "candidate", "candidate": {**CANDIDATE, "x-extra": 1}})
    await clerk.send(frame)
    assert await citizen.recv() == json.loads(frame)
    await guest.nothing()


async def test_guest_bye_leaves_only_the_guest_and_rejoins_without_waiting(
    setup: tuple[Meeting, Events],
) -> None:
    m, events = setup
    citizen, clerk, guest = await m.three()
    await guest.send({"type": "bye"})
    await guest.expect_closed(1000)
    assert await clerk.recv() == {"type": "peer-left", "role": "guest"}
    assert await citizen.recv() == {"type": "peer-left", "role": "guest"}
    assert ("left", "guest") in events.of(m.reference)
    # The clerk and the citizen go on; relays to the gone guest are dropped.
    await clerk.send({"type": "candidate", "candidate": CANDIDATE})
    assert await citizen.recv() == {"type": "candidate", "candidate": CANDIDATE}
    await clerk.send({"type": "offer", "sdp": SDP, "to": "guest"})
    await clerk.nothing()
    # Admission holds: back in, the guest's pairs start again at once.
    guest = await m.join("guest")
    assert await clerk.recv() == {"type": "peer-joined", "role": "guest", "initiator": True}
    assert await citizen.recv() == {"type": "peer-joined", "role": "guest", "initiator": True}
    assert {msg["role"] for msg in await collect(guest, 2)} == {"clerk", "citizen"}


async def test_citizen_leaving_is_plain_for_the_clerk_and_named_for_the_guest(
    setup: tuple[Meeting, Events],
) -> None:
    m, _ = setup
    citizen, clerk, guest = await m.three()
    await citizen.send({"type": "bye"})
    await citizen.expect_closed(1000)
    assert await clerk.recv() == {"type": "peer-left"}
    assert await guest.recv() == {"type": "peer-left", "role": "citizen"}
    # Clerk and guest go on.
    await clerk.send({"type": "offer", "sdp": SDP, "to": "guest"})
    assert (await guest.recv())["from"] == "clerk"


async def test_clerk_end_ends_it_for_the_guest_too(setup: tuple[Meeting, Events]) -> None:
    m, _ = setup
    citizen, clerk, guest = await m.three()
    await clerk.send({"type": "end"})
    assert await citizen.expect_closed(1000) == [{"type": "ended"}]
    assert await guest.expect_closed(1000) == [{"type": "ended"}]
    again = Peer(m.b, quiet=m.quiet)
    await again.send({"type": "hello", "token": m.tokens["guest"]})
    await again.expect_closed(4403)  # the ended room is closed to the guest


async def test_guest_may_not_admit_or_end(setup: tuple[Meeting, Events]) -> None:
    m, _ = setup
    guest = await m.join("guest")
    await guest.expect("waiting")
    await guest.send({"type": "admit", "role": "guest"})
    await guest.expect_closed(4403)


async def test_waiting_guest_cannot_reach_anyone(setup: tuple[Meeting, Events]) -> None:
    m, _ = setup
    citizen, clerk = await m.in_call()
    guest = await m.join("guest")
    await guest.expect("waiting")
    await clerk.expect("peer-waiting", role="guest")
    await guest.send({"type": "offer", "sdp": SDP, "to": "clerk"})
    await guest.send({"type": "offer", "sdp": SDP, "to": "citizen"})
    await clerk.nothing()
    await citizen.nothing()
    # A guest's frame without "to" has no two-party counterpart: dropped too.
    await guest.send({"type": "offer", "sdp": SDP})
    await clerk.nothing()


async def test_guest_first_then_clerk_sees_the_guest_waiting(
    setup: tuple[Meeting, Events],
) -> None:
    m, _ = setup
    guest = await m.join("guest")
    await guest.expect("waiting")
    clerk = await m.join("clerk")
    assert await clerk.recv() == {"type": "peer-waiting", "role": "guest"}
    await clerk.send({"type": "admit", "role": "guest"})
    await clerk.expect("peer-joined", role="guest", initiator=True)
    await guest.expect("peer-joined", role="clerk", initiator=False)
    # The citizen arrives later, waits, and meets the guest once admitted.
    citizen = await m.join("citizen")
    await citizen.expect("waiting")
    await clerk.expect("peer-waiting")
    await guest.nothing()
    await clerk.send({"type": "admit"})
    await clerk.expect("start", initiator=True)
    await citizen.expect("start", initiator=False)
    await citizen.expect("peer-joined", role="guest", initiator=True)
    await guest.expect("peer-joined", role="citizen", initiator=False)


async def test_clerk_reconnecting_rebuilds_the_guest_pair(setup: tuple[Meeting, Events]) -> None:
    m, _ = setup
    citizen, clerk, guest = await m.three()
    await clerk.leave_transport()
    assert await citizen.recv() == {"type": "peer-left"}
    assert await guest.recv() == {"type": "peer-left", "role": "clerk"}
    clerk = await m.join("clerk", m.b)
    await clerk.expect("start", initiator=True)
    await citizen.expect("start", initiator=False)
    await clerk.expect("peer-joined", role="guest", initiator=True)
    await guest.expect("peer-joined", role="clerk", initiator=False)


async def test_two_parties_see_nothing_of_the_guest_machinery(
    setup: tuple[Meeting, Events],
) -> None:
    """Without a guest, the two-party call is exactly CONTRACT §4."""
    m, _ = setup
    citizen, clerk = await m.in_call()
    await clerk.send({"type": "offer", "sdp": SDP})
    assert await citizen.recv() == {"type": "offer", "sdp": SDP}
    await citizen.send({"type": "bye"})
    await citizen.expect_closed(1000)
    assert await clerk.recv() == {"type": "peer-left"}
    await clerk.nothing()
