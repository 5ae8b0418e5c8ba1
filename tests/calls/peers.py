"""Outside clients of the call server, by the CONTRACT alone: a signalling client over a real
WebSocket, and an aiortc peer that sends a coloured test picture and checks what arrives."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

import av
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import MediaStreamError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

TIMEOUT = 10.0


class Signal:
    """One WebSocket to ``/ws/call``."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, base_url: str) -> Signal:
        url = base_url.replace("http://", "ws://", 1) + "/ws/call"
        return cls(await connect(url, open_timeout=TIMEOUT))

    async def send(self, message: dict[str, Any] | str | bytes) -> None:
        frame = json.dumps(message) if isinstance(message, dict) else message
        await self.ws.send(frame)

    async def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        frame = await asyncio.wait_for(self.ws.recv(), timeout)
        message = json.loads(frame)
        assert isinstance(message, dict)
        return message

    async def expect(self, kind: str, timeout: float = TIMEOUT, **fields: Any) -> dict[str, Any]:
        message = await self.recv(timeout)
        assert message["type"] == kind, f"expected {kind}, got {message}"
        for key, value in fields.items():
            assert message[key] == value, message
        return message

    async def hello(self, token: str) -> dict[str, Any]:
        await self.send({"type": "hello", "token": token})
        return await self.expect("welcome")

    async def nothing(self, quiet: float = 0.3) -> None:
        """No message and no close for a while."""
        try:
            message = await asyncio.wait_for(self.ws.recv(), quiet)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected {message!r}")

    async def closed_with(self, code: int, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
        """Read until the server closes; the close code and the ``error`` message before it
        must both be ``code``. Returns the messages read on the way."""
        seen: list[dict[str, Any]] = []
        async with asyncio.timeout(timeout):
            while True:
                try:
                    seen.append(json.loads(await self.ws.recv()))
                except ConnectionClosed:
                    break
        assert self.ws.close_code == code, (self.ws.close_code, seen)
        if code >= 4000:
            assert seen and seen[-1] == {"type": "error", "code": code}, seen
        return seen

    async def close(self) -> None:
        await self.ws.close()


class ColourTrack(VideoStreamTrack):
    """A plain picture in one colour (YUV), so the receiver can tell whose frames it got."""

    def __init__(self, yuv: tuple[int, int, int], size: tuple[int, int] = (320, 240)) -> None:
        super().__init__()
        self.yuv = yuv
        self.size = size

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(self.size[0], self.size[1], "yuv420p")
        for plane, value in zip(frame.planes, self.yuv, strict=True):
            plane.update(bytes([value]) * plane.buffer_size)
        frame.pts = pts
        frame.time_base = time_base
        return frame


def luma(frame: av.VideoFrame) -> int:
    """The Y value in the middle of a frame."""
    plane = frame.planes[0]
    row = bytes(plane)[(frame.height // 2) * plane.line_size:][: frame.width]
    return row[frame.width // 2]


def ice_config(servers: list[dict[str, Any]], *, relay_only: bool = False) -> RTCConfiguration:
    return RTCConfiguration(
        iceServers=[RTCIceServer(urls=s["urls"], username=s.get("username"),
                                 credential=s.get("credential")) for s in servers],
        iceTransportPolicy=RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL,
    )


class MediaPeer:
    """An aiortc peer: sends a ``ColourTrack``, collects the first frames it receives."""

    def __init__(self, servers: list[dict[str, Any]], yuv: tuple[int, int, int], *,
                 relay_only: bool = False, frames_wanted: int = 5) -> None:
        self.pc = RTCPeerConnection(ice_config(servers, relay_only=relay_only))
        self.pc.addTrack(ColourTrack(yuv))
        self.frames: list[av.VideoFrame] = []
        self.received = 0  # every video frame that arrived
        self.got_frames = asyncio.Event()
        self.connected = asyncio.Event()
        self._wanted = frames_wanted
        self._tasks: set[asyncio.Task[None]] = set()
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_state)

    def _on_track(self, track: Any) -> None:
        if track.kind == "video":
            task = asyncio.ensure_future(self._read(track))
            self._tasks.add(task)

    async def _on_state(self) -> None:
        if self.pc.connectionState == "connected":
            self.connected.set()

    async def _read(self, track: Any) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                self.received += 1
                if len(self.frames) < self._wanted:
                    self.frames.append(frame)
                if len(self.frames) >= self._wanted:
                    self.got_frames.set()

    async def offer(self) -> dict[str, Any]:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return {"type": "offer", "sdp": self.pc.localDescription.sdp}

    async def answer_to(self, offer: dict[str, Any]) -> dict[str, Any]:
        await self.pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return {"type": "answer", "sdp": self.pc.localDescription.sdp}

    async def accept(self, answer: dict[str, Any]) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))

    async def media_flows(self, timeout: float = 30.0) -> None:
        async with asyncio.timeout(timeout):
            await self.connected.wait()
            await self.got_frames.wait()

    def selected_types(self) -> tuple[str, str] | None:
        from calls.echo import selected_candidates

        return selected_candidates(self.pc)

    async def close(self) -> None:
        await self.pc.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def call(citizen: Signal, clerk: Signal, citizen_peer: MediaPeer,
               clerk_peer: MediaPeer) -> None:
    """After ``start``: the clerk offers, the citizen answers (SDP carries all candidates)."""
    await clerk.send(await clerk_peer.offer())
    offer = await citizen.expect("offer")
    await citizen.send(await citizen_peer.answer_to(offer))
    await clerk_peer.accept(await clerk.expect("answer"))
    await asyncio.gather(citizen_peer.media_flows(), clerk_peer.media_flows())


RED = (81, 90, 240)  # YUV: the citizen's camera
BLUE = (41, 240, 110)  # the clerk's


async def call_and_see_each_other(citizen: Signal, clerk: Signal,
                                  ice_servers: list[dict[str, Any]]) -> None:
    """After ``start``: a red citizen and a blue clerk connect, and each receives the other's
    picture (VP8 keeps a flat colour close)."""
    citizen_peer = MediaPeer(ice_servers, RED)
    clerk_peer = MediaPeer(ice_servers, BLUE)
    try:
        await call(citizen, clerk, citizen_peer, clerk_peer)
        assert citizen_peer.pc.connectionState == "connected"
        assert clerk_peer.pc.connectionState == "connected"
        assert abs(luma(citizen_peer.frames[-1]) - BLUE[0]) < 12
        assert abs(luma(clerk_peer.frames[-1]) - RED[0]) < 12
    finally:
        await citizen_peer.close()
        await clerk_peer.close()


async def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll an async ``check`` until it returns something truthy."""
    async with asyncio.timeout(timeout):
        while True:
            result = await check()
            if result:
                return result
            await asyncio.sleep(0.05)
