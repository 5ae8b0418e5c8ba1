"""An aiortc citizen and an aiortc clerk hold a video call through the real server, by the
CONTRACT alone: tokens from the API, signalling over ``WebSocket /ws/call``, media peer to peer."""

from __future__ import annotations

import pytest

from tests.calls.conftest import CallSite
from tests.calls.peers import Signal, call_and_see_each_other, eventually

# They read "today's" agenda: run at 11:00 Berlin time, whenever they run (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("office_hours")


async def test_citizen_and_clerk_see_each_other(site: CallSite) -> None:
    reference, citizen_token = await site.appointment()
    clerk_token = await site.call_token(reference)

    citizen = await Signal.open(site.base)
    welcome = await citizen.hello(citizen_token)
    assert welcome["role"] == "citizen"
    assert welcome["reference"] == reference
    assert welcome["ice_servers"] == []  # no STUN or TURN configured
    await citizen.expect("waiting")

    # The clerk's agenda shows the citizen waiting.
    [item] = await site.agenda()
    assert item["reference"] == reference
    assert item["waiting"] is True

    clerk = await Signal.open(site.base)
    welcome = await clerk.hello(clerk_token)
    assert welcome["role"] == "clerk"
    assert welcome["reference"] == reference
    await clerk.expect("peer-waiting")
    await clerk.send({"type": "admit"})
    await clerk.expect("start", initiator=True)
    await citizen.expect("start", initiator=False)

    await call_and_see_each_other(citizen, clerk, welcome["ice_servers"])

    assert await eventually(lambda: _status_is(site, reference, "in_call"))
    [item] = await site.agenda()
    assert item["waiting"] is False
    assert item["status"] == "in_call"

    await clerk.send({"type": "end"})
    await citizen.expect("ended")
    await citizen.closed_with(1000)
    await clerk.closed_with(1000)

    events = await eventually(lambda: _events_until(site, reference, "ended"))
    clerk_id = await _clerk_id(site)
    assert [(e, r) for e, r, _ in events] == [
        ("joined", "citizen"), ("joined", "clerk"), ("admitted", "clerk"),
        ("connected", "clerk"), ("ended", "clerk"),
    ]
    assert {u for _, r, u in events if r == "clerk"} == {clerk_id}
    assert {u for _, r, u in events if r == "citizen"} == {None}
    audit = [(a.action, a.actor_type, a.actor_id) for a in await site.audit("call.")]
    assert ("call.join", "staff", clerk_id) in audit
    assert ("call.admit", "staff", clerk_id) in audit
    assert ("call.end", "staff", clerk_id) in audit
    assert len(await site.audit("appointment.in_call")) == 1

    # The ended room refuses the citizen; the clerk may come back (reopens it).
    again = await Signal.open(site.base)
    await again.send({"type": "hello", "token": citizen_token})
    await again.closed_with(4403)


async def test_citizen_reconnect_gets_a_fresh_start(site: CallSite) -> None:
    """Admission holds across reconnects: a replacing citizen connection goes straight to
    ``start``, the old one gets 4409, the clerk hears ``peer-reconnected``."""
    reference, citizen_token = await site.appointment()
    clerk_token = await site.call_token(reference)
    clerk = await Signal.open(site.base)
    await clerk.hello(clerk_token)
    citizen = await Signal.open(site.base)
    await citizen.hello(citizen_token)
    await citizen.expect("waiting")
    await clerk.expect("peer-waiting")
    await clerk.send({"type": "admit"})
    await clerk.expect("start", initiator=True)
    await citizen.expect("start", initiator=False)

    reloaded = await Signal.open(site.base)
    await reloaded.hello(citizen_token)
    await reloaded.expect("start", initiator=False)
    await citizen.closed_with(4409)
    await clerk.expect("peer-reconnected")
    await clerk.expect("start", initiator=True)
    assert (await site.agenda())[0]["waiting"] is False
    await reloaded.close()
    await clerk.expect("peer-left")
    await clerk.close()


async def _status_is(site: CallSite, reference: str, status: str) -> bool:
    return await site.status(reference) == status


async def _events_until(
    site: CallSite, reference: str, last: str
) -> list[tuple[str, str, int | None]] | None:
    events = await site.events(reference)
    return events if events and events[-1][0] == last else None


async def _clerk_id(site: CallSite) -> int:
    from tests.calls.conftest import CLERK

    async with site.state.db.transaction() as session:
        from staff.service import find_user_by_email

        user = await find_user_by_email(session, CLERK)
        assert user is not None and user.id is not None
        return user.id
