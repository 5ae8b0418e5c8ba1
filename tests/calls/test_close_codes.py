"""Every close code of CONTRACT §4, provoked over a real socket while another room keeps
working."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from sqlalchemy import update

from app.settings import Settings
from calls.models import CallToken
from core.types import utcnow
from staff.models import StaffOffice, StaffUser
from tests.calls.conftest import CLERK, CallSite, serve_site
from tests.calls.peers import Signal

SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


# They read "today's" agenda: run at 11:00 Berlin time, whenever they run (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("office_hours")


class Room:
    """A room with a call running, to show abuse elsewhere does not disturb it."""

    def __init__(self, reference: str, citizen: Signal, clerk: Signal,
                 welcome: dict[str, Any]) -> None:
        self.reference, self.citizen, self.clerk = reference, citizen, clerk
        self.welcome = welcome  # the clerk's (with the ICE servers)

    @classmethod
    async def open(cls, site: CallSite, *, citizen_base: str | None = None,
                   headers: dict[str, str] | None = None) -> Room:
        """A new appointment's call: the citizen (on ``citizen_base``, default the site's
        instance) admitted by the site's clerk (with the login ``headers``)."""
        reference, token = await site.appointment()
        citizen = await Signal.open(citizen_base or site.base)
        await citizen.hello(token)
        await citizen.expect("waiting")
        clerk_token = await site.call_token(reference, headers)  # before the 1 s hello timer
        clerk = await Signal.open(site.base)
        welcome = await clerk.hello(clerk_token)
        await clerk.expect("peer-waiting")
        await clerk.send({"type": "admit"})
        await clerk.expect("start", initiator=True)
        await citizen.expect("start", initiator=False)
        return cls(reference, citizen, clerk, welcome)

    async def still_works(self) -> None:
        offer = {"type": "offer", "sdp": SDP}
        await self.clerk.send(offer)
        assert await self.citizen.recv() == offer
        candidate = {"type": "candidate", "candidate": None}
        await self.citizen.send(candidate)
        assert await self.clerk.recv() == candidate


@pytest.fixture
async def room(site: CallSite) -> AsyncIterator[Room]:
    opened = await Room.open(site)
    yield opened
    await opened.still_works()
    await opened.citizen.close()
    await opened.clerk.close()


async def joined_citizen(site: CallSite) -> Signal:
    _, token = await site.appointment()
    sig = await Signal.open(site.base)
    await sig.hello(token)
    await sig.expect("waiting")
    return sig


async def test_4400_malformed_json(site: CallSite, room: Room) -> None:
    sig = await Signal.open(site.base)
    await sig.send("{not json")
    await sig.closed_with(4400)
    await room.still_works()


async def test_4400_unknown_type_after_hello(site: CallSite, room: Room) -> None:
    sig = await joined_citizen(site)
    await sig.send({"type": "teleport"})
    await sig.closed_with(4400)


async def test_4400_message_before_hello_and_binary_frame(site: CallSite, room: Room) -> None:
    sig = await Signal.open(site.base)
    await sig.send({"type": "admit"})
    await sig.closed_with(4400)
    sig = await Signal.open(site.base)
    await sig.send(b"\x00\x01")
    await sig.closed_with(4400)


@pytest.mark.parametrize("token", ["x" * 43, "ct-" + "y" * 43, "", "z" * 1000])
async def test_4401_unknown_token(site: CallSite, room: Room, token: str) -> None:
    sig = await Signal.open(site.base)
    await sig.send({"type": "hello", "token": token})
    seen = await sig.closed_with(4401 if token else 4400)
    assert [m["type"] for m in seen] == ["error"]  # nothing that helps guessing


async def test_4401_expired_or_revoked_call_token(site: CallSite, room: Room) -> None:
    reference, _ = await site.appointment()
    expired = await site.call_token(reference)
    async with site.state.db.transaction(write=True) as session:
        await session.execute(update(CallToken).values(
            expires_at=utcnow() - dt.timedelta(seconds=1)))
    sig = await Signal.open(site.base)
    await sig.send({"type": "hello", "token": expired})
    await sig.closed_with(4401)

    revoked = await site.call_token(reference)
    async with site.state.db.transaction(write=True) as session:
        await session.execute(update(StaffUser).where(StaffUser.email == CLERK)  # type: ignore[arg-type]
                              .values(active=False))
    sig = await Signal.open(site.base)
    await sig.send({"type": "hello", "token": revoked})
    await sig.closed_with(4401)


async def test_4401_expired_link(site: CallSite, room: Room) -> None:
    from booking.models import Appointment

    reference, token = await site.appointment()
    async with site.state.db.transaction(write=True) as session:
        await session.execute(
            update(Appointment).where(Appointment.reference == reference)  # type: ignore[arg-type]
            .values(link_expires_at=utcnow() - dt.timedelta(seconds=1)))
    sig = await Signal.open(site.base)
    await sig.send({"type": "hello", "token": token})
    await sig.closed_with(4401)


@pytest.mark.parametrize("start_in", [dt.timedelta(minutes=16), dt.timedelta(minutes=-46)])
async def test_4403_outside_the_join_window(
    site: CallSite, room: Room, start_in: dt.timedelta
) -> None:
    # 15 minutes before the start opens it; 30 minutes after the 15-minute slot closes it.
    reference, token = await site.appointment(start_in=start_in)
    sig = await Signal.open(site.base)
    await sig.send({"type": "hello", "token": token})
    await sig.closed_with(4403)
    if start_in > dt.timedelta(0):  # the clerk too: the window is the appointment's
        clerk_token = await site.call_token(reference)
        clerk = await Signal.open(site.base)
        await clerk.send({"type": "hello", "token": clerk_token})
        await clerk.closed_with(4403)


@pytest.mark.parametrize("status", ["reserved", "cancelled", "completed", "no_show", "expired"])
async def test_4403_not_confirmed(site: CallSite, room: Room, status: str) -> None:
    _, token = await site.appointment(status=status)
    sig = await Signal.open(site.base)
    await sig.send({"type": "hello", "token": token})
    await sig.closed_with(4403)


async def test_4403_clerk_lost_the_office(site: CallSite, room: Room) -> None:
    from sqlalchemy import delete

    reference, _ = await site.appointment()
    token = await site.call_token(reference)
    async with site.state.db.transaction(write=True) as session:
        await session.execute(delete(StaffOffice))
    sig = await Signal.open(site.base)
    await sig.send({"type": "hello", "token": token})
    await sig.closed_with(4403)


async def test_4403_citizen_may_not_admit_or_end(site: CallSite, room: Room) -> None:
    for kind in ("admit", "end"):
        sig = await joined_citizen(site)
        await sig.send({"type": kind})
        await sig.closed_with(4403)


async def test_4408_no_hello_in_time(site: CallSite, room: Room) -> None:
    sig = await Signal.open(site.base)
    started = asyncio.get_running_loop().time()
    await sig.closed_with(4408, timeout=5)
    waited = asyncio.get_running_loop().time() - started
    assert 0.8 < waited < 3  # BUERO_CALL_HELLO_TIMEOUT_SECONDS=1 in these tests


async def test_4409_replaced_by_a_newer_connection(site: CallSite, room: Room) -> None:
    reference, token = await site.appointment()
    first = await Signal.open(site.base)
    await first.hello(token)
    await first.expect("waiting")
    second = await Signal.open(site.base)
    await second.hello(token)
    await second.expect("waiting")
    await first.closed_with(4409)
    [item] = [i for i in await site.agenda() if i["reference"] == reference]
    assert item["waiting"] is True  # the newer connection holds the place
    await second.close()


async def test_4413_message_too_big(site: CallSite, room: Room) -> None:
    sig = await joined_citizen(site)
    await sig.send(json.dumps({"type": "offer", "sdp": "a" * (64 * 1024)}))
    await sig.closed_with(4413)


async def test_4429_message_flood(site: CallSite, room: Room) -> None:
    sig = await joined_citizen(site)
    for _ in range(400):
        try:
            await sig.send({"type": "ping"})
        except Exception:
            break  # closed while flooding
    seen = await sig.closed_with(4429)
    assert any(m["type"] == "pong" for m in seen)


async def test_4429_too_many_connections_from_one_address(
    settings_factory: Callable[..., Settings],
) -> None:
    settings = settings_factory(rate_limits_enabled=True, rate_limit_token="3/minute",
                                rate_limit_login="100/minute")
    async with serve_site(settings) as site:
        for _ in range(3):
            sig = await Signal.open(site.base)
            await sig.send("{")
            await sig.closed_with(4400)
        sig = await Signal.open(site.base)
        await sig.closed_with(4429)
