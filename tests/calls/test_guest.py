"""A third participant through the real server: the clerk's guest link for an interpreter
(``POST /api/v1/clerk/appointments/{reference}/guest-link``), the guest page ``/g/{token}`` and
its one-time binding, and a three-party mesh of aiortc peers over ``WebSocket /ws/call``."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col

from app.calls import hub_of
from calls.models import GuestLink
from tests.calls.conftest import CallSite
from tests.calls.peers import BLUE, RED, MediaPeer, Signal, luma
from tests.calls.test_revocation import checking

pytestmark = pytest.mark.usefixtures("office_hours")

GREEN = (145, 54, 34)  # YUV: the interpreter's camera
CSRF = re.compile(r'data-csrf="([^"]+)"')


async def guest_link(site: CallSite, reference: str, kind: str = "sign_language",
                     name: str = "Frau Sommer") -> str:
    r = await site.http.post(f"/api/v1/clerk/appointments/{reference}/guest-link",
                             json={"kind": kind, "name": name}, headers=site.clerk_headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["kind"] == kind and body["name"] == name
    url = body["url"]
    assert isinstance(url, str) and "/g/" in url
    return url.rsplit("/g/", 1)[1]


async def guest_hello(http: httpx.AsyncClient, token: str) -> httpx.Response:
    """What the guest page's script does: open the page, post for the hello token."""
    page = await http.get(f"/g/{token}")
    assert page.status_code == 200, page.text
    match = CSRF.search(page.text)
    assert match is not None
    return await http.post(f"/g/{token}/token", data={"csrf_token": match.group(1)},
                           headers={"Accept": "application/json"})


async def hello_token(site: CallSite, token: str) -> str:
    async with httpx.AsyncClient(base_url=site.base, timeout=30) as browser:
        r = await guest_hello(browser, token)
        assert r.status_code == 200, r.text
        value = r.json()["token"]
        assert isinstance(value, str)
        return value


async def collect(signal: Signal, n: int) -> list[dict[str, Any]]:
    return [await signal.recv() for _ in range(n)]


async def test_three_aiortc_peers_each_receive_the_two_others(site: CallSite) -> None:
    reference, citizen_token = await site.appointment()
    guest = await hello_token(site, await guest_link(site, reference))
    clerk_s, citizen_s = [await Signal.open(site.base) for _ in range(2)]
    await citizen_s.hello(citizen_token)
    await citizen_s.expect("waiting")
    await clerk_s.hello(await site.call_token(reference))
    await clerk_s.expect("peer-waiting")
    await clerk_s.send({"type": "admit"})
    await clerk_s.expect("start", initiator=True)
    await citizen_s.expect("start", initiator=False)
    # Opened when its hello follows at once: a socket waits at most 5 s for it (else 4408).
    guest_s = await Signal.open(site.base)
    welcome = await guest_s.hello(guest)
    assert welcome["role"] == "guest" and welcome["reference"] == reference
    await guest_s.expect("waiting")
    assert await clerk_s.recv() == {"type": "peer-waiting", "role": "guest"}
    await clerk_s.send({"type": "admit", "role": "guest"})
    assert await clerk_s.recv() == {"type": "peer-joined", "role": "guest", "initiator": True}
    assert await citizen_s.recv() == {"type": "peer-joined", "role": "guest",
                                      "initiator": True}
    assert {(m["role"], m["initiator"]) for m in await collect(guest_s, 2)} == {
        ("clerk", False), ("citizen", False)}

    # One peer connection per pair, each side sending its own colour.
    servers = welcome["ice_servers"]
    clerk_citizen, citizen_clerk = MediaPeer(servers, BLUE), MediaPeer(servers, RED)
    clerk_guest, guest_clerk = MediaPeer(servers, BLUE), MediaPeer(servers, GREEN)
    citizen_guest, guest_citizen = MediaPeer(servers, RED), MediaPeer(servers, GREEN)
    peers = [clerk_citizen, citizen_clerk, clerk_guest, guest_clerk, citizen_guest,
             guest_citizen]
    try:
        # Clerk → citizen: the two-party pair, frames without "to" exactly as CONTRACT §4.
        await clerk_s.send(await clerk_citizen.offer())
        offer = await citizen_s.expect("offer")
        assert set(offer) == {"type", "sdp"}
        await citizen_s.send(await citizen_clerk.answer_to(offer))
        await clerk_citizen.accept(await clerk_s.expect("answer"))
        # Clerk → guest and citizen → guest: addressed frames, relayed with "from".
        await clerk_s.send({**await clerk_guest.offer(), "to": "guest"})
        await citizen_s.send({**await citizen_guest.offer(), "to": "guest"})
        for offer in await collect(guest_s, 2):
            assert offer["type"] == "offer" and "to" not in offer
            answerer = guest_clerk if offer["from"] == "clerk" else guest_citizen
            answer = await answerer.answer_to(offer)
            await guest_s.send({**answer, "to": offer["from"]})
        answer = await clerk_s.expect("answer", **{"from": "guest"})
        await clerk_guest.accept(answer)
        answer = await citizen_s.expect("answer", **{"from": "guest"})
        await citizen_guest.accept(answer)
        await asyncio.gather(*(peer.media_flows() for peer in peers))
        # Each receives the two others' pictures: the clerk red and green, and so on.
        seen = {name: luma(peer.frames[-1]) for name, peer in {
            "clerk<-citizen": clerk_citizen, "clerk<-guest": clerk_guest,
            "citizen<-clerk": citizen_clerk, "citizen<-guest": citizen_guest,
            "guest<-clerk": guest_clerk, "guest<-citizen": guest_citizen}.items()}
        for name, value in seen.items():
            sender = name.split("<-")[1]
            expected = {"citizen": RED, "clerk": BLUE, "guest": GREEN}[sender][0]
            assert abs(value - expected) < 25, (name, seen)

        # The guest leaves alone; the clerk's end ends it for all.
        await guest_s.send({"type": "bye"})
        await guest_s.closed_with(1000)
        assert await clerk_s.recv() == {"type": "peer-left", "role": "guest"}
        assert await citizen_s.recv() == {"type": "peer-left", "role": "guest"}
        await clerk_s.send({"type": "end"})
        await citizen_s.expect("ended")
    finally:
        for peer in peers:
            await peer.close()
        for signal in (clerk_s, citizen_s, guest_s):
            await signal.close()
    audit = [a.action for a in await site.audit("call.guest")]
    assert audit == ["call.guest_invite", "call.guest_bound"]


async def test_the_link_binds_to_the_first_browser(site: CallSite) -> None:
    reference, _ = await site.appointment()
    token = await guest_link(site, reference)
    async with httpx.AsyncClient(base_url=site.base, timeout=30) as first, \
            httpx.AsyncClient(base_url=site.base, timeout=30) as second:
        a = await guest_hello(first, token)
        assert a.status_code == 200, a.text
        # The same browser again (its cookie): a hello token of the same binding.
        again = await guest_hello(first, token)
        assert again.status_code == 200 and again.json()["token"] == a.json()["token"]
        # Another device: refused, in German, in the one error shape.
        r = await guest_hello(second, token)
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "guest_link_in_use"
        assert "bereits auf einem anderen Gerät" in r.json()["error"]["message"]
        # Its forged hello token (the link's token with another secret) opens nothing.
        signal = await Signal.open(site.base)
        await signal.send({"type": "hello", "token": f"gt-{token}.not-the-secret"})
        await signal.closed_with(4401)


async def test_bad_revoked_and_expired_links_are_refused_clearly(site: CallSite) -> None:
    r = await site.http.get("/g/" + "x" * 43)
    assert r.status_code == 404
    assert "Dieser Gästelink ist ungültig" in r.text
    assert (await site.http.get("/g/short")).status_code == 404

    reference, _ = await site.appointment()
    token = await guest_link(site, reference)
    hello = await hello_token(site, token)
    hub = checking(hub_of(site.state))
    guest = await Signal.open(site.base)
    await guest.hello(hello)
    await guest.expect("waiting")
    # A new link replaces the old: the old one is withdrawn, its open connection closed.
    newer = await guest_link(site, reference, kind="interpreter", name="")
    await hub.sweep()
    await guest.closed_with(4401)
    r = await site.http.get(f"/g/{token}")
    assert r.status_code == 410
    assert "zurückgezogen" in r.text
    again = await Signal.open(site.base)
    await again.send({"type": "hello", "token": hello})
    await again.closed_with(4401)
    # The clerk withdraws the newer one too.
    r = await site.http.delete(f"/api/v1/clerk/appointments/{reference}/guest-link",
                               headers=site.clerk_headers)
    assert r.status_code == 200 and r.json() == {"revoked": 1}
    assert (await site.http.get(f"/g/{newer}")).status_code == 410
    assert [a.action for a in await site.audit("call.guest_revoke")] == ["call.guest_revoke"]

    # A link whose call is over.
    reference, _ = await site.appointment()
    token = await guest_link(site, reference)
    async with site.state.db.transaction(write=True) as session:
        await session.execute(update(GuestLink).where(col(GuestLink.revoked_at).is_(None))
                              .values(expires_at=GuestLink.created_at))
    r = await site.http.get(f"/g/{token}")
    assert r.status_code == 410
    assert "ist vorbei" in r.text
    r = await site.http.get(f"/g/{token}?lang=en")
    assert "is over" in r.text


async def test_the_api_checks_its_input_and_the_office(site: CallSite) -> None:
    reference, _ = await site.appointment()
    url = f"/api/v1/clerk/appointments/{reference}/guest-link"
    r = await site.http.post(url, json={"kind": "lawyer"}, headers=site.clerk_headers)
    assert r.status_code == 422
    assert r.json()["error"]["code"]
    r = await site.http.post(url, json={"kind": "interpreter", "name": "x" * 101},
                             headers=site.clerk_headers)
    assert r.status_code == 422
    assert (await site.http.post(url, json={"kind": "interpreter"})).status_code == 401
    r = await site.http.post("/api/v1/clerk/appointments/NOPE-0000/guest-link",
                             json={"kind": "interpreter"}, headers=site.clerk_headers)
    assert r.status_code == 404
    # A cancelled appointment has no call to invite to.
    cancelled, _ = await site.appointment(status="cancelled")
    r = await site.http.post(f"/api/v1/clerk/appointments/{cancelled}/guest-link",
                             json={"kind": "interpreter"}, headers=site.clerk_headers)
    assert r.status_code == 409
