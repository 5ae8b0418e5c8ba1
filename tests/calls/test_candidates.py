"""The connection test's echo peer contacts only public addresses and announces only the public
ones of the server: by the SDP rules, and over real HTTP with a UDP socket on loopback that
watches for the peer's STUN checks."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from collections.abc import AsyncIterator

import pytest

from app.settings import Settings
from calls.candidates import is_public, screen_answer, screen_offer
from tests.calls.conftest import CallSite, serve_site
from tests.calls.peers import MediaPeer
from tests.calls.test_connection_test import MAGENTA, bearer

PRIVATE = [
    "127.0.0.1", "10.1.2.3", "172.16.5.4", "192.168.178.20", "169.254.1.1", "100.64.0.9",
    "0.0.0.0", "224.0.0.251", "192.0.2.10", "::1", "fe80::1", "fd12:3456::1", "2001:db8::5",
    "3f1c2a9e-0b7d-4c1e-9f7a-2d4e5b6c7a8b.local",
]
PUBLIC = ["8.8.8.8", "193.99.144.80", "2a00:1450:4001:82b::200e"]


def candidate(address: str, kind: str = "host", *, raddr: str | None = None) -> str:
    related = f" raddr {raddr} rport 51000" if raddr else ""
    return f"a=candidate:1 1 udp 2122260223 {address} 54321 typ {kind}{related}"


SDP_HEAD = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96"


def sdp(*lines: str) -> str:
    return "\r\n".join([SDP_HEAD, *lines, "a=end-of-candidates", ""])


def candidates_in(text: str) -> list[str]:
    return [line for line in text.split("\r\n") if line.startswith("a=candidate:")]


def test_public_means_globally_routable() -> None:
    assert [a for a in PRIVATE if is_public(a)] == []
    assert all(is_public(a) for a in PUBLIC)


def test_offer_keeps_only_public_candidates() -> None:
    offer = sdp(*(candidate(a) for a in PRIVATE + PUBLIC), "a=candidate:broken")
    screened = screen_offer(offer, allow_private=False)
    assert candidates_in(screened) == [candidate(a) for a in PUBLIC]
    assert screened.startswith(SDP_HEAD) and screened.endswith("a=end-of-candidates\r\n")
    assert screen_offer(offer, allow_private=True) == offer


def test_answer_announces_relay_reflexive_and_configured_hosts_only() -> None:
    answer = sdp(candidate("10.0.0.5"), candidate("203.0.113.7"), candidate("198.51.100.1"),
                 candidate("198.51.100.2", "srflx", raddr="10.0.0.5"),
                 candidate("198.51.100.3", "relay", raddr="198.51.100.2"),
                 candidate("fd00::5"))
    screened = screen_answer(answer, public_addresses=["203.0.113.7"], allow_private=False)
    assert candidates_in(screened) == [
        candidate("203.0.113.7"),
        candidate("198.51.100.2", "srflx", raddr="0.0.0.0").replace("51000", "0"),
        candidate("198.51.100.3", "relay", raddr="0.0.0.0").replace("51000", "0"),
    ]
    assert "10.0.0.5" not in screened
    assert screen_answer(answer, public_addresses=[], allow_private=True) == answer


class StunWatch(asyncio.DatagramProtocol):
    """A UDP socket on loopback that records what arrives (STUN binding requests)."""

    def __init__(self) -> None:
        self.packets: list[bytes] = []

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.packets.append(data)


@pytest.fixture
async def watch() -> AsyncIterator[tuple[StunWatch, int]]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        StunWatch, local_addr=("127.0.0.1", 0), family=socket.AF_INET)
    port = transport.get_extra_info("sockname")[1]
    try:
        yield protocol, port
    finally:
        transport.close()


async def offer_towards(site: CallSite, port: int) -> tuple[int, str]:
    """A real aiortc offer whose only candidate is the watching socket on loopback."""
    _, token = await site.appointment(start_in=dt.timedelta(days=2))
    peer = MediaPeer([], MAGENTA)
    try:
        offer = await peer.offer()
    finally:
        await peer.close()
    lines = [line for line in offer["sdp"].split("\r\n") if not line.startswith("a=candidate:")]
    at = next(i for i, line in enumerate(lines) if line.startswith("a=ice-ufrag"))
    lines.insert(at, candidate("127.0.0.1").replace("54321", str(port)))
    r = await site.http.post("/api/v1/me/connection-test", headers=bearer(token),
                             json={"type": "offer", "sdp": "\r\n".join(lines)})
    assert r.status_code == 201, r.text
    return r.status_code, r.json()["sdp"]


STUN_BINDING_REQUEST = b"\x00\x01"


@pytest.mark.parametrize("allowed", [False, True], ids=["private-refused", "private-allowed"])
async def test_the_echo_peer_contacts_loopback_only_when_allowed(
    settings: Settings, watch: tuple[StunWatch, int], allowed: bool,
) -> None:
    protocol, port = watch
    configured = settings.model_copy(update={"connection_test_private_candidates": allowed})
    async with serve_site(configured) as site:
        _, answer = await offer_towards(site, port)
        for _ in range(40):  # aiortc checks within milliseconds; 2 s is plenty
            if protocol.packets:
                break
            await asyncio.sleep(0.05)
    reached = any(p.startswith(STUN_BINDING_REQUEST) for p in protocol.packets)
    assert reached is allowed
    announced = [line.split()[4] for line in candidates_in(answer)]
    if allowed:  # the server's own private addresses (aiortc gathers no loopback ones)
        assert [a for a in announced if not is_public(a)] != []
    else:
        assert [a for a in announced if not is_public(a)] == []
