"""The guest's pairs when an instance dies: the lapsed lease is told as ``peer-left`` with the
role, once (memory and Redis, leases on a clock the test moves)."""

from __future__ import annotations

from tests.signaling.helpers import Events, grant
from tests.signaling.test_cross_instance import Instances
from tests.signaling.test_upkeep import Clock, pair

__all__ = ["pair"]  # the fixture


async def test_a_dead_instance_with_citizen_and_guest(
    pair: tuple[Instances, Clock, Events],
) -> None:
    p, clock, _ = pair
    p.tokens.add("gst", grant("r", "guest"))
    citizen, clerk = await p.in_call()  # the citizen on A, the clerk on B
    guest = await p.join(p.a, "gst")
    await guest.expect("waiting")
    await clerk.expect("peer-waiting", role="guest")
    await clerk.send({"type": "admit", "role": "guest"})
    await clerk.expect("peer-joined", role="guest", initiator=True)
    await citizen.expect("peer-joined", role="guest", initiator=True)
    assert {(await guest.recv())["role"] for _ in range(2)} == {"clerk", "citizen"}
    clock.t += 6
    await p.b.sweep()
    await clerk.nothing()  # A's leases still run
    clock.t += 5
    await p.b.sweep()  # A is gone: the clerk hears of both
    assert await clerk.recv() == {"type": "peer-left"}
    assert await clerk.recv() == {"type": "peer-left", "role": "guest"}
    await p.b.sweep()
    await clerk.nothing()  # told once
    assert not (await p.b.snapshot("r")).guest
