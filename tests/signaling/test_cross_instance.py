"""Two hubs acting as two app instances: a citizen on A and a clerk on B meet.

Runs over the shared in-process backend and over the real Redis (``@pytest.mark.redis``).
"""

from __future__ import annotations

import pytest

from signaling import Hub
from tests.signaling.conftest import Backend, HubFactory
from tests.signaling.helpers import Events, Peer, Tokens, grant

SDP = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"


class Instances:
    def __init__(self, a: Hub, b: Hub, tokens: Tokens, quiet: float) -> None:
        self.a, self.b, self.tokens, self.quiet = a, b, tokens, quiet
        tokens.add("cit", grant("r", "citizen"))
        tokens.add("clk", grant("r", "clerk"))

    async def join(self, hub: Hub, token: str) -> Peer:
        peer = Peer(hub, quiet=self.quiet)
        await peer.hello(token)
        return peer

    async def in_call(self) -> tuple[Peer, Peer]:
        citizen = await self.join(self.a, "cit")
        await citizen.expect("waiting")
        clerk = await self.join(self.b, "clk")
        await clerk.expect("peer-waiting")
        await clerk.send({"type": "admit"})
        await clerk.expect("start", initiator=True)
        await citizen.expect("start", initiator=False)
        return citizen, clerk


@pytest.fixture
async def two(make_hub: HubFactory, backend: Backend) -> tuple[Instances, Events]:
    tokens, events = Tokens(), Events()
    a = await make_hub(tokens, on_event=events)
    b = await make_hub(tokens, on_event=events)
    return Instances(a, b, tokens, backend.quiet), events


async def test_waiting_admit_start_relay_across_instances(two: tuple[Instances, Events]) -> None:
    inst, events = two
    citizen = await inst.join(inst.a, "cit")
    await citizen.expect("waiting")
    assert await inst.b.is_waiting("r")  # the agenda on instance B sees the citizen on A
    clerk = await inst.join(inst.b, "clk")
    await clerk.expect("peer-waiting")
    await clerk.send({"type": "admit"})
    await clerk.expect("start", initiator=True)
    await citizen.expect("start", initiator=False)
    assert not await inst.a.is_waiting("r")
    offer = {"type": "offer", "sdp": SDP}
    await clerk.send(offer)
    assert await citizen.recv() == offer
    answer = {"type": "answer", "sdp": SDP}
    await citizen.send(answer)
    assert await clerk.recv() == answer
    for n in range(30):
        await citizen.send({"type": "candidate", "candidate": {"candidate": f"c{n}",
                                                               "sdpMid": "0"}})
    assert [(await clerk.recv())["candidate"]["candidate"] for _ in range(30)] == [
        f"c{n}" for n in range(30)]
    await citizen.send({"type": "candidate", "candidate": None})
    assert await clerk.recv() == {"type": "candidate", "candidate": None}
    assert [e for _, e, _ in events.items] == ["joined", "joined", "admitted", "connected"]


async def test_clerk_first_on_a_citizen_later_on_b(two: tuple[Instances, Events]) -> None:
    inst, _ = two
    clerk = await inst.join(inst.a, "clk")
    citizen = await inst.join(inst.b, "cit")
    await citizen.expect("waiting")
    await clerk.expect("peer-waiting")
    await clerk.send({"type": "admit"})
    await clerk.expect("start", initiator=True)
    await citizen.expect("start", initiator=False)


async def test_bye_across_instances(two: tuple[Instances, Events]) -> None:
    inst, _ = two
    citizen, clerk = await inst.in_call()
    await clerk.send({"type": "bye"})
    await clerk.expect_closed(1000)
    await citizen.expect("peer-left")
    assert await inst.a.is_waiting("r")
    # The clerk comes back on the other instance: admission held.
    again = await inst.join(inst.a, "clk")
    await again.expect("start", initiator=True)
    await citizen.expect("start", initiator=False)


async def test_end_across_instances(two: tuple[Instances, Events]) -> None:
    inst, events = two
    citizen, clerk = await inst.in_call()
    await clerk.send({"type": "end"})
    assert await citizen.expect_closed(1000) == [{"type": "ended"}]
    await clerk.expect_closed(1000)
    for hub in (inst.a, inst.b):
        late = Peer(hub, quiet=inst.quiet)
        await late.send({"type": "hello", "token": "cit"})
        await late.expect_closed(4403)
    assert events.items[-1][1:] == ("ended", "clerk")


async def test_citizen_moves_to_the_other_instance(two: tuple[Instances, Events]) -> None:
    """A reload lands on instance B while the old socket on A still lives: A's is replaced."""
    inst, _ = two
    old, clerk = await inst.in_call()
    new = await inst.join(inst.b, "cit")
    await old.expect_closed(4409)
    await new.expect("start", initiator=False)
    await clerk.expect("peer-reconnected")
    await clerk.expect("start", initiator=True)
    await clerk.send({"type": "offer", "sdp": SDP})
    assert (await new.recv())["type"] == "offer"
    await new.send({"type": "answer", "sdp": SDP})
    assert (await clerk.recv())["type"] == "answer"


async def test_clerk_moves_to_the_other_instance(two: tuple[Instances, Events]) -> None:
    inst, _ = two
    citizen, old = await inst.in_call()
    new = await inst.join(inst.a, "clk")  # same instance as the citizen now
    await old.expect_closed(4409)
    await new.expect("start", initiator=True)
    await citizen.expect("peer-reconnected")
    await citizen.expect("start", initiator=False)
    await citizen.send({"type": "candidate", "candidate": None})
    assert await new.recv() == {"type": "candidate", "candidate": None}
    await old.nothing()


async def test_replace_in_the_waiting_room_across_instances(
    two: tuple[Instances, Events],
) -> None:
    inst, _ = two
    clerk = await inst.join(inst.b, "clk")
    old = await inst.join(inst.a, "cit")
    await old.expect("waiting")
    await clerk.expect("peer-waiting")
    new = await inst.join(inst.b, "cit")
    await new.expect("waiting")
    await old.expect_closed(4409)
    await clerk.expect("peer-reconnected")
    await clerk.expect("peer-waiting")
    await clerk.send({"type": "admit"})
    await new.expect("start", initiator=False)
    await clerk.expect("start", initiator=True)


async def test_lost_transport_across_instances(two: tuple[Instances, Events]) -> None:
    inst, events = two
    citizen, clerk = await inst.in_call()
    await citizen.leave_transport()
    await clerk.expect("peer-left")
    assert events.items[-1][1:] == ("left", "citizen")
    back = await inst.join(inst.b, "cit")  # now both on B
    await back.expect("start", initiator=False)
    await clerk.expect("start", initiator=True)


async def test_one_instance_shutting_down(two: tuple[Instances, Events]) -> None:
    inst, _ = two
    citizen, clerk = await inst.in_call()
    await inst.a.aclose()  # the citizen's instance goes away (rolling deploy)
    await citizen.expect_closed(1001)
    await clerk.expect("peer-left")
    back = await inst.join(inst.b, "cit")
    await back.expect("start", initiator=False)
    await clerk.expect("start", initiator=True)
