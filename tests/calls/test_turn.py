"""A real coturn (``turnserver``, ``use-auth-secret``) on loopback: a call forced to relay
connects with the credentials from ``welcome``, and coturn refuses an expired credential."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from aioice import stun
from aioice.turn import create_turn_endpoint

from app.settings import Settings
from signaling.turn import turn_credentials
from tests.calls.conftest import serve_site
from tests.calls.peers import MediaPeer, Signal, call
from tests.conftest import free_port, require

pytestmark = pytest.mark.turn

SECRET = "turn-test-secret-0123456789"


@dataclass
class Turn:
    port: int
    url: str


@pytest.fixture
async def turnserver(tmp_path: Path) -> AsyncIterator[Turn]:
    binary = shutil.which("turnserver")
    require(binary is not None, "turnserver")
    assert binary is not None
    port = free_port()
    log = tmp_path / "turn.log"
    process = subprocess.Popen(
        [
            binary, "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
            f"--listening-port={port}", "--use-auth-secret", f"--static-auth-secret={SECRET}",
            "--realm=buergerbuero.test", "--no-tls", "--no-dtls", "--no-cli",
            "--allow-loopback-peers", "--no-multicast-peers", "--simple-log",
            f"--log-file={log}", f"--pidfile={tmp_path / 'turn.pid'}",
            f"--userdb={tmp_path / 'turndb'}",
        ],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        await _until_listening(port, process)
        yield Turn(port, f"turn:127.0.0.1:{port}?transport=udp")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _until_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        assert process.poll() is None, "turnserver exited"
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise AssertionError("turnserver did not start listening")


async def allocate(turn: Turn, username: str, password: str) -> tuple[str, int]:
    """A TURN allocation over UDP; returns the relayed address."""
    transport, _ = await create_turn_endpoint(
        asyncio.DatagramProtocol, ("127.0.0.1", turn.port), username, password
    )
    try:
        relayed = transport.get_extra_info("sockname")
        assert isinstance(relayed, tuple)
        return relayed[0], relayed[1]
    finally:
        transport.close()


async def test_relay_only_call_through_coturn(
    settings_factory: Callable[..., Settings], turnserver: Turn
) -> None:
    settings = settings_factory(turn_urls=turnserver.url, turn_secret=SECRET,
                                stun_urls=f"stun:127.0.0.1:{turnserver.port}")
    async with serve_site(settings) as site:
        reference, citizen_token = await site.appointment()
        citizen = await Signal.open(site.base)
        citizen_welcome = await citizen.hello(citizen_token)
        await citizen.expect("waiting")
        clerk_token = await site.call_token(reference)
        clerk = await Signal.open(site.base)
        clerk_welcome = await clerk.hello(clerk_token)
        await clerk.expect("peer-waiting")

        stun_entry, turn_entry = clerk_welcome["ice_servers"]
        assert stun_entry == {"urls": [f"stun:127.0.0.1:{turnserver.port}"]}
        assert turn_entry["urls"] == [turnserver.url]
        # Valid until the join window closes: 30 minutes after the end of the 15-minute slot
        # that starts in 5 minutes (the TTL of one hour is longer).
        expiry = int(turn_entry["username"].split(":", 1)[0])
        closes = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5 + 15 + 30)
        assert abs(expiry - closes.timestamp()) < 30
        assert turn_entry["username"].endswith(f":clerk-{reference}")
        assert citizen_welcome["ice_servers"][1]["username"].endswith(f":citizen-{reference}")

        await clerk.send({"type": "admit"})
        await clerk.expect("start", initiator=True)
        await citizen.expect("start", initiator=False)
        citizen_peer = MediaPeer(citizen_welcome["ice_servers"], (81, 90, 240), relay_only=True)
        clerk_peer = MediaPeer(clerk_welcome["ice_servers"], (41, 240, 110), relay_only=True)
        try:
            await call(citizen, clerk, citizen_peer, clerk_peer)
            assert "typ host" not in clerk_peer.pc.localDescription.sdp
            assert "typ relay" in clerk_peer.pc.localDescription.sdp
            assert clerk_peer.selected_types() == ("relay", "relay")
            assert citizen_peer.selected_types() == ("relay", "relay")
        finally:
            await citizen_peer.close()
            await clerk_peer.close()
        await clerk.close()
        await citizen.close()


async def test_coturn_refuses_an_expired_credential(turnserver: Turn) -> None:
    now = dt.datetime.now(dt.UTC)
    valid = turn_credentials(SECRET, "citizen-T-1", now + dt.timedelta(minutes=5))
    host, _ = await allocate(turnserver, valid.username, valid.credential)
    assert host == "127.0.0.1"

    expired = turn_credentials(SECRET, "citizen-T-1", now - dt.timedelta(seconds=5))
    with pytest.raises(stun.TransactionFailed) as info:
        await allocate(turnserver, expired.username, expired.credential)
    assert info.value.response.attributes["ERROR-CODE"][0] == 401

    forged = turn_credentials("another-secret", "citizen-T-1", now + dt.timedelta(minutes=5))
    with pytest.raises(stun.TransactionFailed) as info:
        await allocate(turnserver, forged.username, forged.credential)
    assert info.value.response.attributes["ERROR-CODE"][0] == 401
